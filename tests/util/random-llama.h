// random-llama.h: writes a llama-architecture GGUF with random weights of any shape, borrowing the tokenizer
// (tokenizer.ggml.* keys) of an existing GGUF. For tests (mismatched model pairs) and benchmarks (a 1B-shaped
// LLaMA at Q4_K/Q8_0) without downloading anything. Also the LLMs of two libmtmd families, with the keys and
// tensors llama.cpp's loader requires for them: qwen2vl (Qwen2-VL / Qwen2.5-VL: QKV biases, M-RoPE sections) and
// gemma3 (Gemma 3: head dim apart from n_embd / n_head, q/k norms, post-attention/FFN norms, sliding window,
// output tied to the embedding).
#pragma once

#include "ggml.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct random_llama_shape {
    int       n_embd    = 64;
    int       n_layer   = 1;
    int       n_head    = 4;
    int       n_head_kv = 4;
    int       n_ff      = 128;
    int       n_ctx     = 4096;
    ggml_type type      = GGML_TYPE_F32;  // matrices; norms stay F32
    uint32_t  seed      = 0;
    std::string arch    = "llama";  // "llama", "qwen2vl" or "gemma3"
    int       head_dim  = 0;        // 0 = n_embd / n_head (gemma3: its key_length / value_length)
    std::vector<int32_t> rope_sections;  // qwen2vl: the 4 M-RoPE sections (Qwen2.5-VL: 16, 24, 24, 0)
    int       n_swa       = 0;      // gemma3: sliding window (tokens); 0 = every layer global
    int       swa_pattern = 6;      // gemma3: every swa_pattern-th layer is global (llama.cpp's default 6)
};

// vocab_from: a llama GGUF whose tokenizer is copied (the vocabulary size follows it).
void write_random_llama(const std::string & path, const std::string & vocab_from, const random_llama_shape & s);

// A LoRA adapter (llama.cpp's adapter GGUF: general.type "adapter", adapter.type "lora", lora_a [n_in, rank],
// lora_b [rank, n_out]) on the q and v projections of every layer of a model of shape s.
void write_random_lora(const std::string & path, const random_llama_shape & s, int rank, float alpha);

}  // namespace glm
