// models/clip.h: our CLIP-ViT vision tower and LLaVA-1.5 MLP projector in ggml.
//
// Reads llama.cpp LLaVA-1.5 mmproj GGUF files as the legacy converter writes them (clip.* keys, v.* / mm.*
// tensors) and computes what HF CLIPVisionModel + LLaVA compute:
//   patches (14x14 conv as im2col + matmul, F32 activations) with CLS FIRST, position embeddings 0..N,
//   pre-LN, the encoder layers up to the feature layer (HF hidden_states[-2]; the file keeps exactly those
//   layers unless clip.vision.feature_layer says otherwise), CLS dropped, projector Linear-GELU(erf)-Linear.
// (mtmd's LLaVA graph in the pinned tree appends CLS after the patches, runs one layer short and uses tanh
// GELU: llama.cpp issues 25814, 25817. We do not use it.)
//
// clip_model is immutable after load and may be shared; clip_encoder runs on one compute_backend, one
// thread at a time.
#pragma once

#include "gguf-loader.h"
#include "vision.h"

#include <memory>
#include <string>
#include <vector>

namespace glm {

struct clip_hparams {
    int   image_size  = 0;      // encoder input side (pixels), 336 for LLaVA-1.5
    int   patch_size  = 0;      // 14
    int   n_embd      = 0;      // ViT width
    int   n_ff        = 0;      // MLP width
    int   n_head      = 0;
    int   n_layer     = 0;      // layers to run (the feature layer)
    float eps         = 1e-5f;  // LayerNorm epsilon
    bool  quick_gelu  = true;   // encoder activation: quick_gelu (CLIP) or erf GELU (clip.use_gelu)
    float mean[3]     = { 0, 0, 0 };
    float std_[3]     = { 1, 1, 1 };
    int   n_proj_out  = 0;      // projector output width (= LLM n_embd); 0 when the file has no projector

    int grid() const { return image_size / patch_size; }
    int n_patches() const { return grid() * grid(); }
};

struct clip_layer {
    ggml_tensor *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    ggml_tensor *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b;
    ggml_tensor *fc1_w, *fc1_b, *fc2_w, *fc2_b;  // HF fc1 (n_embd -> n_ff) and fc2 (n_ff -> n_embd)
};

struct clip_model {
    clip_hparams            hp;
    ggml_tensor *           patch_w   = nullptr;  // [p, p, 3, n_embd]
    ggml_tensor *           patch_b   = nullptr;  // optional [n_embd]
    ggml_tensor *           cls       = nullptr;  // [n_embd]
    ggml_tensor *           pos       = nullptr;  // [n_embd, n_patches + 1]
    ggml_tensor *           pre_ln_w  = nullptr, *pre_ln_b = nullptr;
    std::vector<clip_layer> layers;
    ggml_tensor *           mm0_w = nullptr, *mm0_b = nullptr, *mm2_w = nullptr, *mm2_b = nullptr;  // projector

    // Reads hparams and tensors from an already load()ed loader. `tensor_prefix` and `key_prefix` let other
    // files embed a CLIP tower (DiffLMM writes the same names). With require_projector the mm.* tensors must
    // exist (LLaVA-1.5); otherwise they are optional.
    void load(const gguf_loader & ml, bool require_projector, const std::string & tensor_prefix = "v",
              const std::string & key_prefix = "clip.vision");
};

// pixels: [S, S, 3, B] F32 (planar CHW as ggml sees it; B images, e.g. LLaVA-NeXT's crops, run as one batch).
// Returns the feature layer's patch tokens without CLS: [n_embd, n_patches, B], patch index = y * grid + x.
ggml_tensor * clip_build_features(ggml_context * ctx, const clip_model & m, ggml_tensor * pixels);

// LLaVA-1.5 'mlp' projector: Linear -> GELU (erf) -> Linear. [n_embd, N] -> [n_proj_out, N].
ggml_tensor * clip_build_projector(ggml_context * ctx, const clip_model & m, ggml_tensor * features);

// CLIP + projector on n preprocessed images (CHW each, [n, 3, S, S]) in one batch on `compute`: [n, g*g, n_proj_out];
// optionally the features [n, g*g, C]. LLaVA-1.5 runs one image, LLaVA-NeXT its crops.
std::vector<float> clip_run(const clip_model & m, compute_backend & compute, const std::vector<float> & chw, int n,
                            std::vector<float> * features = nullptr);

// LLaVA-1.5 preprocessing (image_aspect_ratio=pad): expand to a square filled with int(mean*255) per channel,
// PIL-bicubic resize to image_size, /255, CLIP mean/std. Returns CHW floats and the geometry.
std::vector<float> clip_preprocess(const clip_hparams & hp, const image_u8 & img, pad_geometry * geom);

// The LLaVA-1.5 vision encoder (CLIP tower + projector) behind the vision_encoder interface.
class clip_encoder : public vision_encoder {
public:
    clip_encoder(const std::string & path, compute_backend & backend);

    std::string name() const override;
    int         n_embd() const override { return model_.hp.n_proj_out; }
    int         grid_w() const override { return model_.hp.grid(); }
    int         grid_h() const override { return model_.hp.grid(); }
    vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const override;
    vision_output encode(const image_u8 & img) override { return encode(img, backend_, 0); }

    // Runs the tower on already preprocessed pixels (CHW, image_size^2 * 3); optionally returns the features.
    std::vector<float> encode_pixels(const std::vector<float> & chw, std::vector<float> * features = nullptr) {
        return encode_pixels(chw, backend_, features);
    }
    std::vector<float> encode_pixels(const std::vector<float> & chw, compute_backend & compute,
                                     std::vector<float> * features = nullptr) const;

    const clip_model & model() const { return model_; }

private:
    gguf_loader       loader_;
    clip_model        model_;
    compute_backend & backend_;
};

}  // namespace glm
