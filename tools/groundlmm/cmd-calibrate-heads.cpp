// groundlmm calibrate-heads: chooses a model's localization heads without labels (Kang et al., CVPR 2025; see
// src/head-calibrate.h) and writes a head-set file for --attn-heads. Samples are the noun phrases of the model's
// answers on a set of images: its own generated answers (--images), or given texts teacher-forced (--captions, the
// "image<TAB>text" lines toy-world writes). No mask, box or point is read.
#include "cli-common.h"
#include "common.h"
#include "head-calibrate.h"
#include "maps.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

// (image path, text) pairs: every image file of a folder (sorted, no text), or the lines of a captions file.
static std::vector<std::pair<std::string, std::string>> list_inputs(const std::string & images, const std::string & captions) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!captions.empty()) {
        std::ifstream f(captions);
        if (!f) {
            glm::fail("%s: cannot open", captions.c_str());
        }
        const std::string base = fs::path(captions).parent_path().string();
        std::string       line;
        int               ln = 0;
        while (std::getline(f, line)) {
            ++ln;
            if (line.empty()) {
                continue;
            }
            const size_t tab = line.find('\t');
            if (tab == std::string::npos || tab == 0 || tab + 1 >= line.size()) {
                glm::fail("%s:%d: expected \"<image path><TAB><text>\", got \"%s\"", captions.c_str(), ln, line.c_str());
            }
            const std::string img = line.substr(0, tab);
            out.push_back({ fs::path(img).is_absolute() || base.empty() ? img : base + "/" + img, line.substr(tab + 1) });
        }
        return out;
    }
    if (!fs::is_directory(images)) {
        glm::fail("--images %s: not a folder", images.c_str());
    }
    for (const auto & e : fs::directory_iterator(images)) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
        if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) {
            out.push_back({ e.path().string(), "" });
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

int cmd_calibrate_heads(int argc, char ** argv) {
    CLI::App       app("Choose localization heads without labels (Kang et al., CVPR 2025) and write a head-set file", argv[0]);
    cli_model_opts mo;
    cli_settings   so;
    std::string    images, captions, out;
    int            limit = 200;
    glm::head_calib_params cp;
    mo.add(app);
    so.add(app, /*stage1=*/true, /*stage2=*/false, { "attn_heads", "answer" });
    app.add_option("--images", images, "folder of images: the model answers the prompt on each (its own texts)");
    app.add_option("--captions", captions,
                   "or a file of \"<image path><TAB><text>\" lines (paths relative to the file; toy-world's "
                   "captions.txt): each text is teacher-forced");
    app.add_option("--limit", limit, "use at most this many images (0 = all)")->capture_default_str()
        ->check(CLI::Range(0, 1 << 30));
    app.add_option("--skip-layers", cp.skip_layers, "never choose heads of the first layers (Kang: 2)")->capture_default_str();
    app.add_option("--per-sample", cp.per_sample, "lowest-entropy passing heads counted per sample (Kang: 10)")
        ->capture_default_str();
    app.add_option("--k", cp.k, "heads kept (Kang: 3)")->capture_default_str();
    app.add_option("-o,--output", out, "head-set file to write (.json)")->required();
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    if (images.empty() == captions.empty()) {
        glm::fail("give --images or --captions (one of them)");
    }
    const auto inputs = list_inputs(images, captions);
    if (inputs.empty()) {
        glm::fail("no images found in %s", (captions.empty() ? images : captions).c_str());
    }
    const size_t n = limit > 0 ? std::min(inputs.size(), (size_t) limit) : inputs.size();

    glm::run_settings s = so.get();
    s.heads             = glm::attn_heads::dump;  // every layer and head, for this run only
    s.head_sel          = glm::head_set(glm::attn_heads::dump);
    glm::pipeline              ctx(mo.load(), mo.context_params());
    const glm::lmm_model &     lm = ctx.model().llm();
    glm::head_calibrator       cal(lm.n_layer(), lm.n_head(), cp);
    const glm::phrase_chunker & chunker = ctx.model().chunker();
    const double               t0 = glm::now_s();
    int64_t                    n_phrases = 0, n_fallback = 0, n_sentences = 0;
    for (size_t i = 0; i < n; ++i) {
        const glm::image_u8 img = glm::image_load(inputs[i].first);
        s.gen.answer            = inputs[i].second;
        const glm::attend_result att = ctx.attend(img, s, inputs[i].first);
        const glm::phrase_result ph  = chunker.chunk(att.out.answer);
        n_sentences += (int64_t) ph.sentences.size();
        n_fallback += ph.n_fallback;
        std::vector<glm::char_span> spans;
        for (const glm::gen_token & t : att.out.tokens) {
            spans.push_back({ t.begin, t.end });
        }
        for (const glm::noun_phrase & np : ph.phrases) {
            const std::vector<int> rows = glm::tokens_overlapping(spans, np.head);
            if (!rows.empty()) {
                cal.add(att, rows);
                ++n_phrases;
            }
        }
        if ((i + 1) % 25 == 0 || i + 1 == n) {
            fprintf(stderr, "\r%zu/%zu images, %lld phrases, %.0fs", i + 1, n, (long long) n_phrases, glm::now_s() - t0);
            fflush(stderr);
        }
    }
    fprintf(stderr, "\n");
    const glm::head_calib_result r = cal.finish();
    nlohmann::json crit = r.criteria(cp);
    crit["images"]             = n;
    crit["texts"]              = captions.empty() ? "the model's own answers to the prompt" : "teacher-forced: " + captions;
    crit["prompt"]             = s.gen.prompt;
    crit["query"]              = "the rows of each noun phrase's head-noun tokens (the rows stage 2 points from)";
    crit["fallback_sentences"] = n_fallback;
    crit["sentences"]          = n_sentences;
    const nlohmann::json j = glm::head_set_file_json(lm.path(), lm.n_layer(), lm.n_head(), r.heads, crit, r.counts_json());
    glm::write_file(out, j.dump(1) + "\n");
    printf("heads: %s (tau %.4f; %lld samples from %zu images)\n", glm::head_pairs_text(r.heads).c_str(), r.tau,
           (long long) r.n_samples, n);
    printf("| layer.head | count | frequency | mean mass | mean entropy | passes tau |\n|---|---|---|---|---|---|\n");
    for (const auto & c : j.at("counts")) {
        printf("| %d.%d | %lld | %.3f | %.4f | %s | %s |\n", c.at("layer").get<int>(), c.at("head").get<int>(),
               (long long) c.at("count").get<int64_t>(), c.at("frequency").get<double>(), c.at("mean_mass").get<double>(),
               c.at("mean_entropy").is_null() ? "-" : glm::strfmt("%.3f", c.at("mean_entropy").get<double>()).c_str(),
               c.at("passes_tau").get<bool>() ? "yes" : "no");
    }
    fprintf(stderr, "wrote %s (use it with --attn-heads %s)\n", out.c_str(), out.c_str());
    return 0;
}
