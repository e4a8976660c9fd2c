#include "cli-common.h"

#include "common.h"

#include <cstdio>

void cli_model_opts::add(CLI::App & app, bool require_model) {
    auto * m = app.add_option("-m,--model", model, "LLM GGUF (llama.cpp format)");
    if (require_model) {
        m->required();
    }
    auto * v = app.add_option("--mmproj,--vision", vision,
                              "vision GGUF: a LLaVA-1.5 mmproj, a DiffLMM encoder or the toy encoder");
    if (require_model) {
        v->required();
    }
    app.add_option("--lora", lora, "LoRA adapter GGUF applied to the LLM (e.g. DiffLMM)");
    app.add_option("--lora-scale", lora_scale, "LoRA scale")->capture_default_str();
    app.add_option("-t,--threads", n_threads, "CPU threads (0 = all)")->capture_default_str()->check(CLI::Range(0, 1024));
    app.add_option("--n-gpu-layers", n_gpu_layers, "LLM layers on the GPU (-1 = all; -ngl works too)")->capture_default_str();
    app.add_option("-c,--ctx-size", n_ctx, "context length in tokens")->capture_default_str()->check(CLI::Range(64, 1 << 20));
    app.add_option("-b,--batch-size", n_batch, "tokens per decode call")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    app.add_flag("--kv-f32", kv_f32, "F32 KV cache (exact attention maps; default F16)");
    app.add_flag("--cpu", cpu_only, "run everything on the CPU even when a GPU is available");
    app.add_flag("-v,--verbose", verbose, "show ggml/libllama logs");
}

glm::lmm_params cli_model_opts::lmm_params(bool tap_dump) const {
    glm::lmm_params p;
    p.model        = model;
    p.lora         = lora;
    p.lora_scale   = lora_scale;
    p.n_ctx        = n_ctx;
    p.n_batch      = n_batch;
    p.n_threads    = n_threads;
    p.n_gpu_layers = cpu_only ? 0 : n_gpu_layers;
    p.kv_f32       = kv_f32;
    p.tap          = true;
    p.tap_dump     = tap_dump;
    return p;
}

glm::backend_params cli_model_opts::backend_params() const {
    glm::backend_params b;
    b.n_threads = n_threads;
    b.use_gpu   = !cpu_only;
    return b;
}

void cli_gen_opts::add(CLI::App & app) {
    app.add_option("-p,--prompt", prompt, "the question about the image")->capture_default_str();
    app.add_option("--template", templ, "prompt template with <image> and {prompt} (default: the model's, else llava_v1)");
    app.add_option("-n,--n-predict", n_predict, "max tokens to generate")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--temp", temp, "sampling temperature (0 = greedy)")->capture_default_str()->check(CLI::Range(0.0f, 100.0f));
    app.add_option("--top-k", top_k, "top-k sampling (0 = off)")->capture_default_str()->check(CLI::Range(0, 1 << 20));
    app.add_option("--top-p", top_p, "top-p sampling (1 = off)")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
    app.add_option("--answer", answer, "ground this answer instead of generating one (teacher forcing)");
    app.add_option("-s,--seed", seed, "seed of sampling and of encoder noise (DiffLMM)")->capture_default_str();
    app.add_option("--attn-heads", heads,
                   "map used downstream: all (mean over layers and heads, the paper), official (head H-2 averaged "
                   "over layers, the released code), dump (also save every layer and head)")
        ->capture_default_str()
        ->check(CLI::IsMember({ "all", "official", "dump" }));
}

glm::gen_params cli_gen_opts::gen_params() const {
    glm::gen_params g;
    g.prompt    = prompt;
    g.templ     = templ;
    g.n_predict = n_predict;
    g.temp      = temp;
    g.top_k     = top_k;
    g.top_p     = top_p;
    g.seed      = seed;
    g.answer    = answer;
    return g;
}

cli_lmm::cli_lmm(const cli_model_opts & mo, bool tap_dump) {
    glm::log_route_ggml(mo.verbose);
    if (mo.verbose) {
        glm::log_set_level(glm::log_level::debug);
    }
    backend = std::make_unique<glm::compute_backend>(mo.backend_params());
    encoder = glm::vision_encoder_load(mo.vision, *backend);
    const glm::lmm_params lp = mo.lmm_params(tap_dump);
    model   = std::make_unique<glm::lmm_model>(lp);
    if (encoder->n_embd() != model->n_embd()) {
        glm::fail("mismatched model pair: %s outputs embeddings of width %d, the LLM %s expects %d", mo.vision.c_str(),
                  encoder->n_embd(), mo.model.c_str(), model->n_embd());
    }
    session = std::make_unique<glm::lmm_session>(*model, lp);
}

void cli_print_grounded(const glm::ground_result & g) {
    printf("%s\n", g.answer.c_str());
    for (size_t i = 0; i < g.phrases.size(); ++i) {
        const glm::ground_phrase & p = g.phrases[i];
        printf("  %2zu. %-32s head %-12s", i + 1, ("\"" + p.np.text + "\"").c_str(), p.np.head_text.c_str());
        if (p.x >= 0) {
            printf(" point (%d, %d)", p.x, p.y);
        }
        if (p.has_mask) {
            printf("  mask %llu px  score %.3f", (unsigned long long) glm::rle_area(p.mask), p.score);
        }
        if (p.status == "low-score") {
            printf("  score %.3f", p.score);
        }
        if (p.status != "ok") {
            printf("  [%s]", p.status.c_str());
        }
        printf("\n");
    }
    if (g.phrases.empty()) {
        printf("  (no noun phrases in the answer)\n");
    }
    fflush(stdout);
}

int cli_parse(CLI::App & app, int argc, char ** argv) {
    // llama.cpp's multi-letter single-dash flags, which CLI11 does not accept as names
    static const std::pair<const char *, const char *> aliases[] = { { "-ngl", "--n-gpu-layers" } };
    std::vector<std::string> args(argv, argv + argc);
    for (auto & a : args) {
        for (const auto & al : aliases) {
            if (a == al.first) {
                a = al.second;
            }
        }
    }
    std::vector<char *> av;
    for (auto & a : args) {
        av.push_back(a.data());
    }
    try {
        app.parse((int) av.size(), av.data());
    } catch (const CLI::ParseError & e) {
        return app.exit(e);
    }
    return -1;
}
