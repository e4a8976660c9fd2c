// eval/vqa-judge.h: a local LLM judge for LLaVA-Bench (the paper used GPT-4): a text-only chat with a llama.cpp GGUF,
// through the model's own chat template (or a llama.cpp built-in template named by the caller), greedy by default.
// LLaVA's script asks GPT-4 with temperature 0.2 and up to 1024 tokens; any local judge gives other numbers than
// GPT-4, so a score made with it must name the judge.
//
// Model (weights) and context are owned by one llm_judge; ask() is not thread-safe.
#pragma once

#include "lmm.h"

#include <cstdint>
#include <memory>
#include <string>

struct llama_context;

namespace glm {

struct llm_judge_params {
    std::string model;               // judge LLM GGUF
    std::string chat_template;       // "" = the GGUF's tokenizer.chat_template; else a llama.cpp built-in name
                                     // ("chatml", "llama3", "vicuna", ...) or a template text
    int         n_ctx        = 4096; // context (tokens): request + reply must fit
    int         n_threads    = 0;    // 0 = all hardware threads
    int         n_gpu_layers = -1;   // -1 = all
    int         max_tokens   = 1024; // reply length limit (LLaVA's --max-tokens default)
    float       temperature  = 0.0f; // <= 0: greedy; LLaVA used 0.2 with GPT-4
    uint32_t    seed         = 0;    // sampling seed when temperature > 0
};

class llm_judge {
public:
    explicit llm_judge(const llm_judge_params & p);
    ~llm_judge();
    llm_judge(const llm_judge &)             = delete;
    llm_judge & operator=(const llm_judge &) = delete;

    // One system + one user message; returns the reply (special tokens not rendered, surrounding whitespace removed
    // as a chat API returns it).
    std::string ask(const std::string & system, const std::string & user);

    std::string name() const;  // the judge's file name, for reports

private:
    llm_judge_params           p_;
    std::unique_ptr<lmm_model> model_;
    llama_context *            ctx_ = nullptr;
    std::string                templ_;
};

}  // namespace glm
