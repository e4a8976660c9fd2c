// models/toy-vit.h: the toy world's vision encoder: a small ViT trained from scratch plus a LLaVA-style MLP
// projector, built only from ops that have a backward pass in ggml (so the same graph builder serves the
// C++ trainer in src/toy/ and inference):
//   patches (host-side flattening of p x p x 3 pixels) -> Linear -> + learned position embeddings
//   -> n_layer x [RMSNorm -> MHSA (soft_max_ext, no mask) -> residual; RMSNorm -> SwiGLU MLP -> residual]
//   -> RMSNorm -> projector Linear -> SiLU -> Linear  ==> one LLM embedding per patch.
//
// GGUF layout (general.architecture "toyvit"): keys toyvit.{image_size, patch_size, embedding_length,
// feed_forward_length, attention.head_count, block_count, attention.layer_norm_rms_epsilon,
// projector.hidden_size, projection_dim, image_mean, image_std}; tensors v.patch_embd.{weight,bias},
// v.position_embd.weight, v.blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_out,ffn_norm,ffn_gate,ffn_up,
// ffn_down}.weight, v.post_norm.weight, mm.0.{weight,bias}, mm.2.{weight,bias}.
//
// toyvit_weights/hparams are plain data; toyvit_encoder owns its weights (immutable after load) and runs on
// one compute_backend, one thread at a time.
#pragma once

#include "gguf-loader.h"
#include "vision.h"

#include <functional>
#include <string>
#include <vector>

namespace glm {

struct toyvit_hparams {
    int   image_size    = 64;     // encoder input side (pixels)
    int   patch_size    = 8;      // patch side (pixels); image_size must be a multiple
    int   n_embd        = 128;    // ViT width
    int   n_ff          = 256;    // SwiGLU hidden width
    int   n_head        = 4;
    int   n_layer       = 3;
    float eps           = 1e-5f;  // RMSNorm epsilon
    int   n_proj_hidden = 128;    // projector hidden width
    int   n_proj_out    = 128;    // projector output width (= the LLM's n_embd)
    float mean[3]       = { 0.5f, 0.5f, 0.5f };    // pixel normalisation: (x/255 - mean) / std
    float std_[3]       = { 0.25f, 0.25f, 0.25f };

    int grid() const { return image_size / patch_size; }
    int n_patches() const { return grid() * grid(); }
    int patch_dim() const { return patch_size * patch_size * 3; }
    void validate(const std::string & what) const;  // throws naming `what` on inconsistent values
};

struct toyvit_layer {
    ggml_tensor *attn_norm = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
    ggml_tensor *ffn_norm = nullptr, *ffn_gate = nullptr, *ffn_up = nullptr, *ffn_down = nullptr;
};

struct toyvit_weights {
    ggml_tensor *             patch_w = nullptr;  // [patch_dim, n_embd]
    ggml_tensor *             patch_b = nullptr;  // [n_embd]
    ggml_tensor *             pos     = nullptr;  // [n_embd, n_patches]
    std::vector<toyvit_layer> layers;
    ggml_tensor *             post_norm = nullptr;  // [n_embd]
    ggml_tensor *mm0_w = nullptr, *mm0_b = nullptr, *mm2_w = nullptr, *mm2_b = nullptr;  // projector
};

// Calls fn(name, ne, slot) for every tensor of the encoder in a fixed order, so that random init, export and
// load share one list of names and shapes (ne in ggml order).
void toyvit_for_each_tensor(const toyvit_hparams & hp, toyvit_weights & w,
                            const std::function<void(const std::string &, const std::vector<int64_t> &,
                                                     ggml_tensor *&)> & fn);

void toyvit_write_hparams(gguf_writer & gw, const toyvit_hparams & hp);
toyvit_hparams toyvit_read_hparams(const gguf_loader & ml);

// The graph: patches [patch_dim, n_patches, B] (F32, normalised) -> embeddings [n_proj_out, n_patches, B].
// With attn != nullptr the per-layer attention probabilities [n_patches, n_patches, n_head, B] are appended.
ggml_tensor * toyvit_build(ggml_context * ctx, const toyvit_hparams & hp, const toyvit_weights & w,
                           ggml_tensor * patches, std::vector<ggml_tensor *> * attn = nullptr);

// Preprocessing: pad to a square with the mean colour (LLaVA's expand2square), PIL-bicubic resize to
// image_size when the size differs, normalise, and flatten each patch in (row, column, channel) order.
// Returns patch_dim x n_patches floats, patch index = gy * grid + gx.
std::vector<float> toyvit_preprocess(const toyvit_hparams & hp, const image_u8 & img, pad_geometry * geom);

class toyvit_encoder : public vision_encoder {
public:
    toyvit_encoder(const std::string & path, compute_backend & backend);

    std::string name() const override;
    int         n_embd() const override { return hp_.n_proj_out; }
    int         grid_w() const override { return hp_.grid(); }
    int         grid_h() const override { return hp_.grid(); }
    vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const override;
    vision_output encode(const image_u8 & img) override { return encode(img, backend_, 0); }

    // Runs the encoder on preprocessed patches (toyvit_preprocess layout); n_proj_out x n_patches floats.
    std::vector<float> encode_patches(const std::vector<float> & patches) { return encode_patches(patches, backend_); }
    std::vector<float> encode_patches(const std::vector<float> & patches, compute_backend & compute) const;

    const toyvit_hparams & hparams() const { return hp_; }

private:
    gguf_loader       loader_;
    toyvit_hparams    hp_;
    toyvit_weights    w_;
    compute_backend & backend_;
};

}  // namespace glm
