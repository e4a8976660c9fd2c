// toy/model.h: the toy LMM with LLaVA's meta-architecture, as trainable ggml tensors:
//   toy ViT + MLP projector (models/toy-vit.h)  ->  image embeddings
//   LLaMA-architecture decoder (RMSNorm, RoPE in ggml's NORM mode, SwiGLU, causal attention, no biases,
//   untied output) over the word-level vocabulary of toy/vocab.h.
// The sequence is LLaVA's: BOS + prompt text before the image + one embedding per image patch + prompt text
// after the image + caption + EOS (k_toy_template). The training graph computes exactly what libllama's
// llama graph computes for the same weights (same op order: RMSNorm * weight, ggml_rope_ext NORM with
// freq_base, soft_max_ext with 1/sqrt(head_dim) and an additive causal mask), so the exported GGUF needs no
// permutation of q/k: tests/test-toy-consistency.cpp checks the logits.
//
// A toy_model owns its weights in one CPU buffer; the trainer mutates them, everything else reads them. It
// is not thread-safe; graph building (toy_build_graph) only reads the model.
#pragma once

#include "models/toy-vit.h"
#include "toy/vocab.h"
#include "toy/world.h"

#include "ggml-backend.h"
#include "ggml.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace glm {
class gguf_loader;
}

namespace glm::toy {

// The conversation template of the toy model: <image> marks the image embeddings. Written to the decoder
// GGUF as groundlmm.prompt_template.
extern const char * const k_toy_template;

// File names inside a model folder.
extern const char * const k_toy_llm_file;  // "toy-llm.gguf": the decoder (llama architecture + tokenizer)
extern const char * const k_toy_vit_file;  // "toy-vit.gguf": the vision encoder + projector (toyvit)

// The caption style a decoder GGUF was trained on (groundlmm.toy.caption_order; mixed when absent).
caption_order toy_read_caption_order(const gguf_loader & llm);

struct decoder_hparams {
    int   n_vocab   = 0;         // set from the vocabulary
    int   n_embd    = 128;
    int   n_ff      = 384;       // SwiGLU hidden width
    int   n_head    = 4;         // query heads = key/value heads
    int   n_layer   = 2;
    int   n_ctx     = 256;       // llama.context_length: longest sequence the model is meant for (tokens)
    float eps       = 1e-5f;     // RMSNorm epsilon
    float rope_base = 10000.0f;  // RoPE frequency base

    int head_dim() const { return n_embd / n_head; }
};

struct decoder_layer {
    ggml_tensor *attn_norm = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
    ggml_tensor *ffn_norm = nullptr, *ffn_gate = nullptr, *ffn_up = nullptr, *ffn_down = nullptr;
};

struct decoder_weights {
    ggml_tensor *              tok_embd = nullptr;  // [n_embd, n_vocab]
    std::vector<decoder_layer> layers;
    ggml_tensor *              out_norm = nullptr;  // [n_embd]
    ggml_tensor *              output   = nullptr;  // [n_embd, n_vocab]
};

// The sizes of a new model (the decoder's n_vocab comes from the vocabulary; vit.n_proj_out is set to
// dec.n_embd).
struct toy_arch {
    toyvit_hparams  vit;
    decoder_hparams dec;
};

class toy_model {
public:
    // A new model with random weights (deterministic in seed).
    toy_model(const toy_arch & arch, uint64_t seed);
    // Loads the two GGUFs of a model folder (k_toy_llm_file, k_toy_vit_file).
    explicit toy_model(const std::string & dir);
    ~toy_model();
    toy_model(const toy_model &)             = delete;
    toy_model & operator=(const toy_model &) = delete;

    // Writes the folder: the decoder as a standard llama GGUF, the encoder as a toyvit GGUF. `recipe` (the
    // command that trained the weights) is stored as groundlmm.recipe in both.
    void save(const std::string & dir, const std::string & recipe = "") const;

    const toy_vocab &       vocab() const { return vocab_; }
    const toyvit_hparams &  vit_hp() const { return vit_hp_; }
    const toyvit_weights &  vit() const { return vit_; }
    const decoder_hparams & dec_hp() const { return dec_hp_; }
    const decoder_weights & dec() const { return dec_; }
    // Prompt tokens around the image: BOS + text before <image>, and the text after it.
    const std::vector<int> & prompt_pre() const { return pre_; }
    const std::vector<int> & prompt_post() const { return post_; }
    // Position of the first caption token in every sequence: pre + image patches + post.
    int caption_start() const { return (int) (pre_.size() + vit_hp_.n_patches() + post_.size()); }

    // All weight tensors (CPU buffer), in file order.
    const std::vector<ggml_tensor *> & tensors() const { return tensors_; }
    int64_t                            n_params() const;
    ggml_backend_t                     backend() const { return cpu_; }
    void                               set_n_threads(int n);  // CPU threads of backend(); 0 = all

    // The caption style the model was last trained on (groundlmm.toy.caption_order in the decoder GGUF, "mixed"
    // when absent): the order of mention its own captions follow and the one forced captions should use.
    caption_order captions() const { return captions_; }
    void          set_captions(caption_order o) { captions_ = o; }

private:
    caption_order              captions_ = caption_order::mixed;
    toy_vocab                  vocab_;
    toyvit_hparams             vit_hp_;
    toyvit_weights             vit_;
    decoder_hparams            dec_hp_;
    decoder_weights            dec_;
    std::vector<int>           pre_, post_;
    std::vector<ggml_tensor *> tensors_;
    ggml_context *             ctx_ = nullptr;
    ggml_backend_buffer_t      buf_ = nullptr;
    ggml_backend_t             cpu_ = nullptr;

    void allocate();  // creates the tensors for vit_hp_/dec_hp_ and their buffer
    void split_template();
};

// A copy of `src` that sees images of another size through the same patches (a finer or coarser token grid):
// every weight is copied, the learned position embeddings are resampled bilinearly from src's grid to the new
// one (half-pixel centres, edges clamped), and the decoder's context grows by the added image tokens, so that
// captions keep the room they had. image_size must be a multiple of src's patch size.
std::unique_ptr<toy_model> toy_regrid(const toy_model & src, int image_size);

// Calls fn(name, ne, slot) for every decoder tensor in a fixed order (llama.cpp tensor names).
void decoder_for_each_tensor(const decoder_hparams & hp, decoder_weights & w,
                             const std::function<void(const std::string &, const std::vector<int64_t> &,
                                                      ggml_tensor *&)> & fn);

// The inputs of one training / evaluation graph over B sequences of T positions.
struct toy_graph {
    ggml_tensor * patches = nullptr;  // [patch_dim, n_patches, B] F32
    ggml_tensor * tokens  = nullptr;  // [T * B] I32, token ids (any valid id at image positions)
    ggml_tensor * keep    = nullptr;  // [1, T] F32: 1 for text positions, 0 for image positions
    ggml_tensor * pos     = nullptr;  // [T] I32: 0..T-1
    ggml_tensor * mask    = nullptr;  // [T, T] F32: 0 where key <= query, -inf after
    ggml_tensor * rows    = nullptr;  // [R] I32: flat positions (b * T + t) whose logits are wanted
    ggml_tensor * logits  = nullptr;  // [n_vocab, R]
    std::vector<ggml_tensor *> attn;  // with keep_attn: decoder attention [T, T, n_head, B] per layer
};

// Builds the forward graph (ops with backward passes only). The inputs are flagged ggml_set_input.
toy_graph toy_build_graph(ggml_context * ctx, const toy_model & m, int B, int T, int R, bool keep_attn);

// Host data for the constant inputs of a graph.
std::vector<float>   toy_keep_data(const toy_model & m, int T);
std::vector<float>   toy_mask_data(int T);
std::vector<int32_t> toy_pos_data(int T);

}  // namespace glm::toy
