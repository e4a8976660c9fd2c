#include "cli-common.h"

#include "common.h"
#include "rle.h"

#include <algorithm>
#include <cstdio>

void cli_model_opts::add(CLI::App & app, bool require_model) {
    auto * m = app.add_option("-m,--model", model, "LLM GGUF (llama.cpp format)");
    if (require_model) {
        m->required();
    }
    auto * v = app.add_option("--mmproj,--vision", vision,
                              "vision GGUF: a LLaVA-1.5 or LLaVA-NeXT (1.6) mmproj, a Qwen2/2.5/3-VL or Gemma 3 mmproj "
                              "(libmtmd), a Cambrian-1 GGUF (convert-cambrian), a DiffLMM encoder or the toy encoder");
    if (require_model) {
        v->required();
    }
    app.add_option("--anyres-rule", anyres_rule,
                   "LLaVA-NeXT tile grid and unpadding: original (LLaVA-NeXT repository, the paper's run) or hf "
                   "(transformers: pinpoints read as (h, w), unpad rounded to 7 decimals)")
        ->capture_default_str()
        ->check(CLI::IsMember({ "original", "hf" }));
    app.add_option("--lora", lora, "LoRA adapter GGUF applied to the LLM (e.g. DiffLMM)");
    app.add_option("--lora-scale", lora_scale, "LoRA scale")->capture_default_str();
    app.add_option("-t,--threads", n_threads, "CPU threads (0 = all)")->capture_default_str()->check(CLI::Range(0, 1024));
    app.add_option("--n-gpu-layers", n_gpu_layers, "LLM layers on the GPU (-1 = all; -ngl works too)")->capture_default_str();
    app.add_option("-c,--ctx-size", n_ctx, "context length in tokens")->capture_default_str()->check(CLI::Range(64, 1 << 20));
    app.add_option("-b,--batch-size", n_batch, "tokens per decode call")->capture_default_str()->check(CLI::Range(1, 1 << 16));
    app.add_option("--image-min-tokens", image_min_tokens,
                   "libmtmd models with a dynamic resolution (Qwen-VL): at least this many image tokens (0 = the "
                   "model's default; grounding wants >= 1024)")
        ->capture_default_str()
        ->check(CLI::Range(0, 1 << 20));
    app.add_option("--image-max-tokens", image_max_tokens,
                   "libmtmd models with a dynamic resolution: at most this many image tokens (0 = default)")
        ->capture_default_str()
        ->check(CLI::Range(0, 1 << 20));
    app.add_flag("--kv-f32", kv_f32, "F32 KV cache (exact attention maps; default F16)");
    app.add_flag("--cpu", cpu_only, "run everything on the CPU even when a GPU is available");
    app.add_flag("--no-extra-bufts", no_extra_bufts,
                 "keep the LLM's weights out of ggml's extra CPU buffers (AMX, repacked quants): works around the "
                 "pinned ggml's crash in its AMX Q4_K matrix multiply on AMX CPUs, at some CPU speed");
    app.add_flag("-v,--verbose", verbose, "show ggml/libllama logs");
}

void cli_model_opts::add_refiner(CLI::App & app) {
    app.add_option("--sam", sam_path, "SAM GGUF (groundlmm convert-sam)");
    app.add_option("--refiner", refiner, "sam (default with --sam), region (colour region growing) or none (points only)")
        ->check(CLI::IsMember(glm::refiner_names()));
}

glm::pipeline_model_params cli_model_opts::model_params() const {
    glm::pipeline_model_params p;
    p.llm              = model;
    p.vision           = vision;
    p.lora             = lora;
    p.lora_scale       = lora_scale;
    p.refiner.name     = refiner;
    p.refiner.sam_path = sam_path;
    p.n_threads        = n_threads;
    p.n_gpu_layers     = n_gpu_layers;
    p.use_gpu          = !cpu_only;
    p.extra_bufts      = !no_extra_bufts;
    p.anyres_rule      = anyres_rule;
    p.image_min_tokens = image_min_tokens;
    p.image_max_tokens = image_max_tokens;
    return p;
}

glm::pipeline_context_params cli_model_opts::context_params() const {
    glm::pipeline_context_params p;
    p.n_ctx   = n_ctx;
    p.n_batch = n_batch;
    p.kv_f32  = kv_f32;
    return p;
}

std::shared_ptr<glm::pipeline_model> cli_model_opts::load() const {
    glm::log_route_ggml(verbose);
    if (verbose) {
        glm::log_set_level(glm::log_level::debug);
    }
    return glm::pipeline_model::load(model_params());
}

static std::string cli_flag(const std::string & name) {
    std::string f = "--" + name;
    for (char & c : f) {
        c = c == '_' ? '-' : c;
    }
    return f;
}

void cli_settings::add(CLI::App & app, bool stage1, bool stage2, const std::vector<std::string> & skip) {
    for (const glm::setting_def & d : glm::settings_table()) {
        if ((d.stage == glm::setting_stage::stage1 && !stage1) || (d.stage == glm::setting_stage::stage2 && !stage2) ||
            std::find(skip.begin(), skip.end(), d.name) != skip.end()) {
            continue;
        }
        const std::string def_text = [&] {
            const nlohmann::json v = d.get(defaults);
            return v.is_string() ? v.get<std::string>() : v.dump();
        }();
        std::vector<std::pair<std::string, bool>> names = { { d.name, false } };
        for (const glm::setting_alias & a : d.aliases) {
            names.emplace_back(a.name, a.invert);
        }
        for (const auto & [name, invert] : names) {
            slots_.push_back({ &d, name });
            slot &            s     = slots_.back();
            const bool        alias = name != d.name;
            const std::string help  = alias ? glm::strfmt("deprecated: use %s%s", invert ? "--no-" : "--",
                                                     cli_flag(d.name).substr(2).c_str())
                                            : std::string(d.help);
            if (d.type == glm::setting_type::boolean) {
                s.opt = app.add_flag(cli_flag(name), s.flag, alias ? help : help + " (default: " + def_text + ")");
                if (!alias) {
                    s.neg = app.add_flag("--no-" + cli_flag(name).substr(2), s.neg_flag, "the opposite of " + cli_flag(name));
                }
            } else {
                std::string flags = cli_flag(name);
                if (!alias && d.cli_short) {
                    flags = std::string(d.cli_short) + "," + flags;
                }
                s.opt = app.add_option(flags, s.text, alias ? help : help);
                if (!alias) {
                    s.opt->default_str(def_text);
                }
                if (d.type == glm::setting_type::choice && !alias) {
                    std::vector<std::string> allowed = d.choices;
                    for (const auto & va : d.value_aliases) {
                        allowed.push_back(va.first);
                    }
                    s.opt->check(CLI::IsMember(allowed));
                }
            }
            if (alias) {
                s.opt->group("Deprecated");
            }
        }
    }
}

glm::run_settings cli_settings::get() const {
    glm::run_settings r = defaults;
    for (const slot & s : slots_) {
        if (s.def->type == glm::setting_type::boolean) {
            if (s.opt->count() > 0) {
                glm::settings_set(r, s.name, true, "option");
            }
            if (s.neg && s.neg->count() > 0) {
                glm::settings_set(r, s.name, false, "option");
            }
        } else if (s.opt->count() > 0) {
            glm::settings_set(r, s.name, s.text, "option");
        }
    }
    return r;
}

bool cli_settings::given(const std::string & name) const {
    for (const slot & s : slots_) {
        if (s.def->name == name && ((s.opt && s.opt->count() > 0) || (s.neg && s.neg->count() > 0))) {
            return true;
        }
    }
    return false;
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
    if (g.n_fallback_sentences > 0) {  // each one is logged at debug level only (-v says why)
        printf("  (%d of %d sentences chunked by the fallback rules)\n", g.n_fallback_sentences, g.n_sentences);
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
