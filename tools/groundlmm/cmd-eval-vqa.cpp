// groundlmm eval-vqa: answers a general VQA benchmark (VQAv2, GQA, VizWiz, TextVQA, POPE, ScienceQA, MMBench,
// LLaVA-Bench) with LLaVA-1.5's prompts and settings, resumable and shardable like eval-coco; --merge writes LLaVA's
// answers JSONL of the run (all shards), which vqa-score scores. See src/eval/run-vqa.h and docs/vqa.md.
#include "cli-eval.h"
#include "common.h"
#include "eval/run-vqa.h"

#include <cstdio>

int cmd_eval_vqa(int argc, char ** argv) {
    CLI::App                 app("General VQA benchmarks with LLaVA-1.5's prompts: answers JSONL for vqa-score", argv[0]);
    cli_model_opts           mo;
    cli_eval_opts            eo;  // only the folders, shard, limit and progress are used
    std::string              bench, questions, model_id, templ, merge;
    int                      max_new_tokens = 0;
    bool                     partial        = false;
    std::vector<std::string> runs;
    mo.add(app, /*require_model=*/false);
    app.add_option("--bench", bench, "benchmark: " + glm::vqa_bench_names())->required();
    app.add_option("--questions", questions,
                   "LLaVA's question file: llava_vqav2_mscoco_test-dev2015.jsonl, llava_gqa_testdev_balanced.jsonl, "
                   "llava_test.jsonl (VizWiz), llava_textvqa_val_v051_ocr.jsonl, llava_pope_test.jsonl, "
                   "llava_test_CQM-A.json (ScienceQA), mmbench_dev_20230712.tsv, questions.jsonl (LLaVA-Bench)");
    app.add_option("--images", eo.images, "image folder (the question file's image paths are relative to it)");
    app.add_option("-o,--output", eo.out, "run folder (eval.json, images/<question position>.json)");
    app.add_option("--num-chunks", eo.num_chunks, "split the question list into this many contiguous chunks")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--chunk-idx", eo.chunk_idx, "which chunk this process runs (0-based)")
        ->capture_default_str()
        ->check(CLI::Range(0, 1 << 20));
    app.add_option("--limit", eo.limit, "stop after answering this many questions (-1 = all); rerun to resume")
        ->capture_default_str();
    app.add_flag("--no-progress", eo.no_progress, "no progress bar on stderr");
    app.add_option("--model-id", model_id, "the answers' model_id (default: the LLM file's name)");
    app.add_option("--template", templ, "prompt template with <image> and {prompt} (default: LLaVA's vicuna_v1)");
    app.add_option("-n,--max-new-tokens", max_new_tokens,
                   "max generated tokens (0 = the benchmark's: 128, or 1024 for scienceqa, mmbench, llava-bench)")
        ->capture_default_str()
        ->check(CLI::Range(0, 1 << 20));
    app.add_option("--merge", merge, "write the answers JSONL of the run folders (no model runs) to this file");
    app.add_option("runs", runs, "--merge: the run folders (the shards of one run; default -o)");
    app.add_flag("--partial", partial, "--merge: leave out questions without a result instead of failing");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    glm::vqa_bench_from_name(bench);
    if (!merge.empty()) {
        if (runs.empty() && !eo.out.empty()) {
            runs.push_back(eo.out);
        }
        int64_t       n_missing = 0;
        const int64_t n         = glm::vqa_merge_answers(runs, merge, partial, &n_missing);
        fprintf(stderr, "eval-vqa: %lld answers written to %s%s\n", (long long) n, merge.c_str(),
                n_missing ? glm::strfmt(" (PARTIAL: %lld questions without result)", (long long) n_missing).c_str() : "");
        return 0;
    }
    if (eo.out.empty() || questions.empty()) {
        glm::fail("give --questions and -o (or --merge answers.jsonl with the run folders)");
    }
    if (eo.chunk_idx >= eo.num_chunks) {
        glm::fail("--chunk-idx %d must be below --num-chunks %d", eo.chunk_idx, eo.num_chunks);
    }
    if (mo.model.empty() || mo.vision.empty()) {
        glm::fail("eval-vqa needs the LMM: -m model.gguf --mmproj mmproj.gguf");
    }
    cli_eval_models      models(mo, eo);
    glm::vqa_run_params  p;
    p.run                = eo.run_params(mo, glm::run_settings());
    p.run.stage          = 0;
    p.bench              = glm::vqa_bench_from_name(bench);
    p.questions_path     = questions;
    p.model_id           = model_id.empty() ? cli_base_name(mo.model) : model_id;
    p.templ              = templ;
    p.max_new_tokens     = max_new_tokens;
    const glm::vqa_run_summary s = glm::vqa_run(models, p);
    fprintf(stderr, "eval-vqa: %lld of %lld questions in this chunk answered now, %lld already done%s%s (%.1f s); "
                    "merge with: groundlmm eval-vqa --bench %s --merge answers.jsonl %s\n",
            (long long) s.run.n_computed, (long long) s.run.n_chunk, (long long) s.run.n_skipped,
            s.run.stopped_early ? ", stopped at --limit" : "",
            s.n_text_only ? glm::strfmt(", %lld text-only not run", (long long) s.n_text_only).c_str() : "",
            s.run.seconds, bench.c_str(), eo.out.c_str());
    return 0;
}
