// models/cambrian-towers.h: Cambrian-1's ViT towers besides CLIP, in ggml (docs/cambrian.md section 1):
//   - SigLIP SO400M (timm VisionTransformer as open_clip wraps it): conv patches with bias, no CLS, position
//     embeddings, pre-LN blocks (fused qkv with bias, erf GELU MLP), final LayerNorm = trunk.forward_features;
//   - DINOv2 (HF Dinov2Model): conv patches, CLS first, position embeddings already interpolated to the input grid
//     by the converter (transformers 4.37's bicubic with scale_factor (g + 0.1) / sqrt(n)), pre-LN blocks with layer
//     scale and a SwiGLU MLP, final LayerNorm, CLS dropped.
// Both end with Cambrian's `interpolate`: the g x g tokens bilinearly resized (align_corners=False, no antialias)
// to out_side x out_side when g != out_side.
//
// cambrian_vit is immutable after load and may be shared; graphs are built per call.
#pragma once

#include "gguf-loader.h"
#include "image.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct cambrian_vit_hparams {
    int     image_size = 0;     // input side (384 SigLIP, 378 DINOv2)
    int     patch_size = 0;     // 14
    int     n_embd     = 0;
    int     n_ff       = 0;     // MLP hidden width (SwiGLU: the width of each half)
    int     n_head     = 0;
    int     n_layer    = 0;
    float   eps        = 1e-6f;
    bool    cls        = false;  // a CLS token first (DINOv2), dropped from the output
    bool    swiglu     = false;  // SwiGLU MLP (DINOv2-giant) instead of fc1-GELU-fc2
    bool    layer_scale = false; // per-channel scales on both residual branches (DINOv2)
    int     out_side   = 0;      // Cambrian's interpolate target (24)
    float   mean[3]    = { 0, 0, 0 };
    float   std_[3]    = { 1, 1, 1 };
    uint8_t fill[3]    = { 0, 0, 0 };  // expand2square colour: int(255 * the processor's image_mean)

    int grid() const { return image_size / patch_size; }  // as the stride-P conv: SigLIP 384 / 14 -> 27
};

struct cambrian_vit_layer {
    ggml_tensor *ln1_w, *ln1_b, *qkv_w, *qkv_b, *o_w, *o_b, *ln2_w, *ln2_b;
    ggml_tensor *fc1_w, *fc1_b, *fc2_w, *fc2_b;  // SwiGLU: fc1 = weights_in (2 * n_ff), fc2 = weights_out
    ggml_tensor *ls1 = nullptr, *ls2 = nullptr;
};

struct cambrian_vit {
    cambrian_vit_hparams            hp;
    ggml_tensor *                   patch_w = nullptr, *patch_b = nullptr, *cls = nullptr, *pos = nullptr;
    ggml_tensor *                   norm_w = nullptr, *norm_b = nullptr;
    std::vector<cambrian_vit_layer> layers;

    // tensors "<tp>.*", keys "<kp>.*" (src/convert/cambrian-convert.cpp writes them)
    void load(const gguf_loader & ml, const std::string & tp, const std::string & kp);
};

// pixels [S, S, 3, 1] planar -> the tower's features [n_embd, out_side^2] (token y * out_side + x)
ggml_tensor * cambrian_vit_build(ggml_context * ctx, const cambrian_vit & m, ggml_tensor * pixels);

// The ConvNeXt tower (timm ConvNeXt as open_clip wraps convnext_xxlarge; clip_convnext_encoder.py _forward):
// stem (4x4/4 conv + LayerNorm2d), 4 stages (stages 1-3 start with LayerNorm2d + 2x2/2 conv), blocks of
// depthwise 7x7 conv (pad 3), LayerNorm over channels, Linear-GELU(erf)-Linear, layer scale `gamma`, residual.
// Features: the 4 stage outputs, each bilinear to out_side x out_side, concatenated on channels.
struct cambrian_convnext_block {
    ggml_tensor *dw_w, *dw_b, *ln_w, *ln_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b, *gamma;
};
struct cambrian_convnext_stage {
    ggml_tensor *                       down_ln_w = nullptr, *down_ln_b = nullptr, *down_w = nullptr, *down_b = nullptr;
    std::vector<cambrian_convnext_block> blocks;
};
struct cambrian_convnext {
    int     image_size = 0, out_side = 0;
    float   eps        = 1e-5f;
    float   mean[3]    = { 0, 0, 0 }, std_[3] = { 1, 1, 1 };
    uint8_t fill[3]    = { 0, 0, 0 };
    std::vector<int> dims;
    ggml_tensor *    stem_w = nullptr, *stem_b = nullptr, *stem_ln_w = nullptr, *stem_ln_b = nullptr;
    std::vector<cambrian_convnext_stage> stages;

    int n_embd() const;  // sum of dims
    void load(const gguf_loader & ml, const std::string & tp, const std::string & kp);
};

// pixels [S, S, 3, 1] planar -> [sum(dims), out_side^2]
ggml_tensor * cambrian_convnext_build(ggml_context * ctx, const cambrian_convnext & m, ggml_tensor * pixels);

// tokens [C, g*g] (row-major grid) -> [C, side*side]: PyTorch bilinear, align_corners=False, no antialias
ggml_tensor * cambrian_resize_tokens(ggml_context * ctx, ggml_tensor * tokens, int g, int side);

// process_images for one tower: expand2square with `fill`, PIL bicubic resize to `size`, x/255, (x - mean) / std.
std::vector<float> cambrian_tower_preprocess(const image_u8 & img, int size, const uint8_t fill[3],
                                             const float mean[3], const float std_[3]);

}  // namespace glm
