// cli-common.h: option groups shared by the subcommands. The model options (-m, --mmproj, -t, -ngl, ... as
// llama.cpp users know them) build a glm::pipeline_model; the run settings come from the one settings table
// (src/settings.h): every setting is --name-with-dashes, booleans also --no-name, old spellings are aliases.
#pragma once

#include "pipeline.h"
#include "settings.h"

#include <CLI/CLI.hpp>

#include <deque>
#include <memory>
#include <string>

// The LMM: LLM GGUF, vision GGUF (LLaVA mmproj, DiffLMM or toy encoder), optional LoRA, the refiner, where it runs.
struct cli_model_opts {
    std::string model;
    std::string vision;
    std::string lora;
    float       lora_scale   = 1.0f;
    std::string sam_path;
    std::string refiner;      // sam | region | none ("" = sam with --sam, else none)
    int         n_threads    = 0;
    int         n_gpu_layers = -1;
    int         image_min_tokens = 0;  // libmtmd dynamic-resolution models (Qwen-VL); 0 = the model's default
    int         image_max_tokens = 0;
    int         n_ctx        = 4096;
    int         n_batch      = 512;
    bool        kv_f32       = false;
    bool        cpu_only     = false;
    bool        no_extra_bufts = false;
    bool        verbose      = false;
    std::string anyres_rule  = "original";

    void add(CLI::App & app, bool require_model = true);
    // --sam and --refiner (every command that refines)
    void add_refiner(CLI::App & app);
    glm::pipeline_model_params   model_params() const;
    glm::pipeline_context_params context_params() const;
    // Routes the logs (-v) and loads nothing: parts load on first use.
    std::shared_ptr<glm::pipeline_model> load() const;
};

// The run settings of the table, stage 1 and/or stage 2.
class cli_settings {
public:
    glm::run_settings defaults;  // change before add() to change the defaults shown and used

    void              add(CLI::App & app, bool stage1, bool stage2, const std::vector<std::string> & skip = {});
    glm::run_settings get() const;                    // defaults + what was given on the command line
    bool              given(const std::string & name) const;  // canonical name

private:
    struct slot {
        const glm::setting_def * def;
        std::string              name;   // as given (an alias is applied through its own name)
        CLI::Option *            opt   = nullptr;
        CLI::Option *            neg   = nullptr;  // --no-name
        std::string              text;
        bool                     flag  = false;
        bool                     neg_flag = false;
    };
    std::deque<slot> slots_;
};

// Prints the answer and one line per phrase (point, mask area, score, status) to stdout.
void cli_print_grounded(const glm::ground_result & g);

// Parses argv with CLI11; returns -1 to continue, or the exit code (help printed, or a parse error).
int cli_parse(CLI::App & app, int argc, char ** argv);
