// cli-common.h: option groups shared by the subcommands (one definition of -m, --mmproj, -t, -ngl, ... as
// llama.cpp users know them) and the objects they build.
#pragma once

#include "attend.h"
#include "ground.h"
#include "backend.h"
#include "lmm.h"
#include "vision.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

// The LMM: LLM GGUF, vision GGUF (LLaVA mmproj, DiffLMM or toy encoder), optional LoRA, and where it runs.
struct cli_model_opts {
    std::string model;
    std::string vision;
    std::string lora;
    float       lora_scale   = 1.0f;
    int         n_threads    = 0;
    int         n_gpu_layers = -1;
    int         n_ctx        = 4096;
    int         n_batch      = 512;
    bool        kv_f32       = false;
    bool        cpu_only     = false;
    bool        verbose      = false;

    void add(CLI::App & app, bool require_model = true);
    glm::lmm_params     lmm_params(bool tap_dump) const;
    glm::backend_params backend_params() const;
};

// Generation and attention settings.
struct cli_gen_opts {
    std::string prompt    = "Describe the image in detail.";
    std::string templ;
    int         n_predict = 512;
    float       temp      = 0.0f;
    int         top_k     = 0;
    float       top_p     = 1.0f;
    uint32_t    seed      = 0;
    std::string heads     = "all";
    std::string answer;

    void add(CLI::App & app);
    glm::gen_params  gen_params() const;
    glm::attn_heads  attn_heads() const { return glm::attn_heads_from_name(heads); }
};

// Everything attend needs, built from the options (models loaded once, reused for every image).
struct cli_lmm {
    std::unique_ptr<glm::compute_backend> backend;
    std::unique_ptr<glm::vision_encoder>  encoder;
    std::unique_ptr<glm::lmm_model>       model;
    std::unique_ptr<glm::lmm_session>     session;

    cli_lmm(const cli_model_opts & mo, bool tap_dump);
};

// Prints the answer and one line per phrase (point, mask area, score, status) to stdout.
void cli_print_grounded(const glm::ground_result & g);

// Parses argv with CLI11; returns -1 to continue, or the exit code (help printed, or a parse error).
int cli_parse(CLI::App & app, int argc, char ** argv);
