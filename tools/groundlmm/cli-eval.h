// cli-eval.h: what eval-coco and eval-gcg share on the command line: the stage, shard, stage-2 and refiner options,
// and eval_models built from them, each model loaded on first use (a resumed run that has nothing left to compute,
// or a stage-2 run, never loads the LMM; a stage-1 run never loads SAM).
#pragma once

#include "cli-common.h"
#include "eval/category-match.h"
#include "eval/progress.h"
#include "eval/run-common.h"
#include "eval/text-sim.h"
#include "ground.h"
#include "phrases.h"

#include <memory>
#include <string>

struct cli_eval_opts {
    std::string out;
    std::string images;
    std::string attend_dir;
    std::string stage = "all";
    int         num_chunks = 1;
    int         chunk_idx  = 0;
    int64_t     limit      = -1;
    bool        no_progress   = false;
    std::string wordnet_dir   = "/usr/share/wordnet";

    void add(CLI::App & app);
    int  stage_number() const;            // 0 = all, 1, 2
    // The settings every run has (folders, stage, shard, limit, the LMM run, ground and refiner settings, progress).
    glm::eval_run_params run_params(const cli_model_opts & mo, const glm::run_settings & s) const;
    static std::string   refiner_label(const cli_model_opts & mo);  // "sam:<file>" | "region"
    void                 check(bool needs_lmm, int stage, const cli_model_opts & mo) const;
};

class cli_eval_models : public glm::eval_models {
public:
    cli_eval_models(const cli_model_opts & mo, const cli_eval_opts & eo);
    ~cli_eval_models() override;

    glm::vision_encoder &        encoder() override;
    glm::lmm_session &           lmm() override;
    glm::refiner &               refine() override;
    const glm::phrase_chunker &  chunker() override;
    const glm::word_similarity & words() override;
    glm::text_similarity &       text() override;
    glm::attend_result           attend(const glm::image_u8 & img, const glm::gen_params & gp, const glm::head_set & heads) override;

    // what words() / text() will be, without loading them (for manifests); set before use
    std::string word_vectors;   // GloVe / fastText file ("" = WordNet)
    std::string bert_path;      // BERT GGUF ("" = fallback)
    std::string words_name() const;
    std::string text_name() const;

private:
    cli_model_opts                             mo_;
    cli_eval_opts                              eo_;
    std::unique_ptr<glm::pipeline>             pipeline_;  // its parts load on first use
    std::unique_ptr<glm::word_similarity>      words_;
    std::unique_ptr<glm::text_similarity>      text_;
};

// "name" of a path (the file name) for manifests.
std::string cli_base_name(const std::string & path);
// Prints the run summary line to stderr, and how to merge the results unless the run was stage 1 only.
void cli_print_summary(const char * what, const glm::eval_run_summary & s, const cli_eval_opts & eo);
