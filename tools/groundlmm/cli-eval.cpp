#include "cli-eval.h"

#include "common.h"

#include <cstdio>

std::string cli_base_name(const std::string & path) {
    const size_t s = path.find_last_of('/');
    return s == std::string::npos ? path : path.substr(s + 1);
}

void cli_eval_opts::add(CLI::App & app) {
    app.add_option("-o,--output", out, "run folder (eval.json, images/<id>.json, attend/)")->required();
    app.add_option("--attend-dir", attend_dir, "stage-1 folder (default <output>/attend); share it between runs "
                                               "that vary only stage-2 settings");
    app.add_option("--stage", stage, "1 (describe + attention maps), 2 (masks + matching, needs stage 1), all")
        ->capture_default_str()
        ->check(CLI::IsMember({ "1", "2", "all" }));
    app.add_option("--num-chunks", num_chunks, "split the image list into this many contiguous chunks")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--chunk-idx", chunk_idx, "which chunk this process runs (0-based)")->capture_default_str()->check(CLI::Range(0, 1 << 20));
    app.add_option("--limit", limit, "stop after computing this many images (-1 = all); rerun to resume")->capture_default_str();
    app.add_flag("--no-progress", no_progress, "no progress bar on stderr");
    app.add_option("--wordnet", wordnet_dir, "WordNet 3.0 dict folder (Debian wordnet-base)")->capture_default_str();
}

int cli_eval_opts::stage_number() const { return stage == "all" ? 0 : std::stoi(stage); }

glm::eval_run_params cli_eval_opts::run_params(const cli_model_opts & mo, const glm::run_settings & s) const {
    glm::eval_run_params p;
    p.images_dir         = images;
    p.out_dir            = out;
    p.attend_dir         = attend_dir;
    p.stage              = stage_number();
    p.shard              = { num_chunks, chunk_idx };
    p.max_images         = limit;
    p.stage1.gen         = s.gen;
    p.stage1.heads       = s.heads == glm::attn_heads::set ? s.head_sel : glm::head_set(s.heads);
    p.stage1.llm_name    = cli_base_name(mo.model);
    p.stage1.vision_name = cli_base_name(mo.vision);
    p.stage1.lora_name   = cli_base_name(mo.lora);
    p.ground             = s.ground;
    p.ground.heads       = s.heads;
    p.ground.head_sel    = s.head_sel;
    p.refiner_name       = refiner_label(mo);
    p.progress.enabled   = !no_progress;
    return p;
}

std::string cli_eval_opts::refiner_label(const cli_model_opts & mo) {
    if (mo.refiner == "region") {
        return "region";
    }
    return "sam:" + cli_base_name(mo.sam_path);
}

void cli_eval_opts::check(bool needs_lmm, int st, const cli_model_opts & mo) const {
    if (chunk_idx >= num_chunks) {
        glm::fail("--chunk-idx %d must be below --num-chunks %d", chunk_idx, num_chunks);
    }
    if (st != 1 && mo.refiner != "region" && mo.sam_path.empty()) {
        glm::fail("stage 2 needs a refiner: --sam sam.gguf (or --refiner region for the toy world)");
    }
    if (needs_lmm && st != 2 && (mo.model.empty() || mo.vision.empty())) {
        glm::fail("stage 1 needs the LMM: -m model.gguf --mmproj mmproj.gguf (or --stage 2 on saved stage-1 outputs)");
    }
}

cli_eval_models::cli_eval_models(const cli_model_opts & mo, const cli_eval_opts & eo) : mo_(mo), eo_(eo) {
    if (mo_.refiner.empty()) {
        mo_.refiner = "sam";  // evaluation refines with SAM unless told otherwise (region: the toy world)
    }
    if (mo_.refiner == "none") {
        glm::fail("evaluation needs masks: --refiner sam (with --sam) or region");
    }
    glm::pipeline_model_params mp = mo_.model_params();
    // a stage-2 run may have no LMM files: the pipeline is built all the same and never loads them
    mp.llm    = mp.llm.empty() ? "(not given)" : mp.llm;
    mp.vision = mp.vision.empty() ? "(not given)" : mp.vision;
    if (mo_.refiner == "sam" && mo_.sam_path.empty()) {
        mp.refiner.name = "region";  // stage 1 only (checked by cli_eval_opts::check); never used
    }
    glm::log_route_ggml(mo_.verbose);
    if (mo_.verbose) {
        glm::log_set_level(glm::log_level::debug);
    }
    pipeline_ = std::make_unique<glm::pipeline>(glm::pipeline_model::load(mp), mo_.context_params());
}

cli_eval_models::~cli_eval_models() = default;

glm::vision_encoder & cli_eval_models::encoder() { glm::fail("cli_eval_models: stage 1 runs through attend()"); }

glm::lmm_session & cli_eval_models::lmm() { return pipeline_->session(); }

glm::attend_result cli_eval_models::attend(const glm::image_u8 & img, const glm::gen_params & gp, const glm::head_set & heads) {
    glm::run_settings s;
    s.gen      = gp;
    s.heads    = heads.kind;
    s.head_sel = heads;
    return pipeline_->attend(img, s);
}

glm::refiner & cli_eval_models::refine() {
    glm::refiner * r = pipeline_->get_refiner();
    if (!r) {
        glm::fail("evaluation needs a refiner");
    }
    return *r;
}

const glm::phrase_chunker & cli_eval_models::chunker() { return pipeline_->model().chunker(); }

const glm::word_similarity & cli_eval_models::words() {
    if (!words_) {
        words_ = word_vectors.empty() ? glm::word_similarity_wordnet(eo_.wordnet_dir)
                                      : glm::word_similarity_vectors(word_vectors);
    }
    return *words_;
}

glm::text_similarity & cli_eval_models::text() {
    if (!text_) {
        if (!bert_path.empty()) {
            glm::bert_params bp;
            bp.n_threads    = mo_.n_threads;
            bp.n_gpu_layers = mo_.n_gpu_layers;
            bp.cpu_only     = mo_.cpu_only;
            text_           = std::make_unique<glm::bert_similarity>(bert_path, bp);
        } else {
            text_ = std::make_unique<glm::head_noun_similarity>(words(), chunker());
        }
    }
    return *text_;
}

std::string cli_eval_models::words_name() const {
    return word_vectors.empty() ? "wordnet-wup" : "vectors:" + cli_base_name(word_vectors);
}

std::string cli_eval_models::text_name() const {
    return bert_path.empty() ? "fallback:" + words_name() + " of head nouns (not BERT)" : "bert:" + cli_base_name(bert_path);
}

void cli_print_summary(const char * what, const glm::eval_run_summary & s, const cli_eval_opts & eo) {
    fprintf(stderr,
            "%s: chunk of %lld/%lld images: %lld computed now (%lld LMM runs), %lld already done, %lld missing image "
            "files, %lld of %lld answer sentences chunked by the fallback rules%s; %.1fs. Results in %s\n",
            what, (long long) s.n_chunk, (long long) s.n_total, (long long) s.n_computed, (long long) s.n_stage1,
            (long long) s.n_skipped, (long long) s.n_missing_images, (long long) s.n_fallback_sentences,
            (long long) s.n_sentences,
            s.stopped_early ? " (stopped at --limit; rerun to continue)" : "", s.seconds, eo.out.c_str());
    if (eo.stage_number() != 1) {
        fprintf(stderr, "merge and print the table with: groundlmm eval-merge %s\n", eo.out.c_str());
    }
}
