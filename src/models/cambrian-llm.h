// models/cambrian-llm.h: Cambrian's aggregator blocks inside the LLM (cambrian_llama.py L168-253), applied to an
// unmodified libllama LLaMA during the prefill by writing the image rows back from the evaluation callback
// (issue 13, the "write-back" option; docs/cambrian.md section 3):
//
//   after decoder layer il = start + k * stride (k < n_llm_blocks), libllama's "l_out-<il>" (the layer output,
//   ne [n_embd, n_tokens of the ubatch]) is read; its rows at positions image_position + j, j < h'(w'+1), whose
//   column j % (w'+1) is not the newline column, are replaced by vision_sampler_layers[k] of those rows
//   (cambrian_run_llm_block, on our compute backend); the scheduler then continues the graph with them, so layer
//   il + 1 and the KV cache of the later layers see the rewritten rows, as in the official forward.
//
// The rows depend only on themselves (cross-attention to their own tower windows), so any split of the prompt into
// llama_decode calls and ubatches gives the official result: each ubatch rewrites the rows it holds. The position
// is the configured image_position (91 for cambrian-8b), not where the image really is (spec B6: a double BOS puts
// the image at 92 and the official code still reads 91); arm() logs a warning when they differ.
//
// Requirements: flash attention may be on or off (the hook reads no attention); "l_out-<il>" must hold every
// token of the ubatch (true except for the last layer with n_outputs < n_tokens: a block after the last layer is
// refused then, unless the ubatch asks for no output at all: it has nothing to change then, and is skipped). One hook per llama_context, not thread-safe; the callback chains to another (the attention tap).
#pragma once

#include "models/cambrian.h"

#include "ggml-backend.h"

#include <functional>

namespace glm {

class cambrian_llm_hook {
public:
    cambrian_llm_hook(const cambrian_model & m, compute_backend & compute);

    // Prefill of one image: the connector output (projected towers and context; it must outlive the armed
    // period: the hook keeps a pointer) and the original image size.
    // real_image_start: the position of the first image token in the prompt (for the image_position check).
    void arm(const cambrian_connector_out & conn, int w, int h, int real_image_start);
    void disarm();  // decode steps: no block runs (the official generate passes no features after the prefill)
    bool armed() const { return conn_ != nullptr; }
    const cambrian_model & model() const { return m_; }

    // Before each llama_decode while armed: the position of the batch's first token.
    void begin_decode(int first_pos);

    // Another eval callback called for every tensor (ask and observe), e.g. attention_tap::eval_callback.
    void chain(ggml_backend_sched_eval_callback next, void * next_user_data);

    // Called after each l_out of an armed decode (after the write-back where a block ran), for tests and dumps:
    // layer, rows [n_embd x n_tokens] (host copy), the ubatch's first position.
    std::function<void(int il, const std::vector<float> & rows, int n_tokens, int first_pos)> on_layer_out;

    int n_blocks_applied() const { return n_applied_; }  // (layer, ubatch) write-backs since arm()

    // llama_context_params.cb_eval; user_data = the hook
    static bool eval_callback(ggml_tensor * t, bool ask, void * user_data);

private:
    const cambrian_model &         m_;
    compute_backend &              compute_;
    const cambrian_connector_out * conn_ = nullptr;
    int                            w_ = 0, h_ = 0;
    cambrian_span                  span_;
    int                            ubatch_pos_ = 0, prev_n_ = 0;
    bool                           seen_first_ = false;
    int                            n_applied_  = 0;
    ggml_backend_sched_eval_callback next_      = nullptr;
    void *                           next_ud_   = nullptr;
    bool                             next_wants_ = false;

    int  block_of_layer(int il) const;  // k, or -1
    void on_l_out(ggml_tensor * t, int il);
};

}  // namespace glm
