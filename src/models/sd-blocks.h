// models/sd-blocks.h: the building blocks that the Stable Diffusion VAE encoder and UNet share (diffusers
// semantics): 2-D convolutions, GroupNorm, linear layers, the ResNet block, multi-head attention.
//
// Feature maps are ggml tensors [W, H, C, N] (PyTorch NCHW seen from ggml); token sequences are [C, T, N]
// with token t = y * W + x (PyTorch's flatten(2).transpose(1, 2)). Weights are immutable after load; the
// builders only add nodes to a graph context, so they are thread-safe as long as each thread builds its own
// graph.
#pragma once

#include "gguf-loader.h"

#include "ggml.h"

#include <string>

namespace glm {

// nn.Conv2d: w [KW, KH, Cin, Cout] (F32 or F16), b [Cout] (optional).
struct sd_conv {
    ggml_tensor * w = nullptr;
    ggml_tensor * b = nullptr;
};

// nn.Linear: w [in, out], b [out] (optional).
struct sd_linear {
    ggml_tensor * w = nullptr;
    ggml_tensor * b = nullptr;
};

// GroupNorm / LayerNorm affine parameters: [C] each.
struct sd_norm {
    ggml_tensor * w = nullptr;
    ggml_tensor * b = nullptr;
};

// diffusers ResnetBlock2D with time_embedding_norm="default" and output_scale_factor 1.
struct sd_resnet {
    sd_norm   norm1, norm2;
    sd_conv   conv1, conv2;
    sd_linear temb;   // time_emb_proj; w == nullptr in the VAE (no time embedding)
    sd_conv   skip;   // conv_shortcut (1x1); w == nullptr when in == out channels
};

// --- loading (names are "<prefix>.weight" / "<prefix>.bias"; shapes checked by the loader)
sd_conv   sd_load_conv(const gguf_loader & ml, const std::string & prefix, int64_t cin, int64_t cout, int64_t k,
                       bool bias = true);
sd_linear sd_load_linear(const gguf_loader & ml, const std::string & prefix, int64_t in, int64_t out,
                         bool bias = true);
sd_norm   sd_load_norm(const gguf_loader & ml, const std::string & prefix, int64_t c);
// Tensors <prefix>.{norm1,conv1,norm2,conv2,temb,skip}; temb only when temb_dim > 0, skip when cin != cout.
sd_resnet sd_load_resnet(const gguf_loader & ml, const std::string & prefix, int64_t cin, int64_t cout,
                         int64_t temb_dim);

// --- graph builders
// Conv2d with symmetric zero padding `pad`: im2col (in the kernel's type: F32 models stay F32) and one
// matrix product, generic ops that every backend has.
ggml_tensor * sd_conv2d(ggml_context * ctx, const sd_conv & c, ggml_tensor * x, int stride, int pad);
// nn.GroupNorm(groups, C, eps) on [W, H, C, N].
ggml_tensor * sd_group_norm(ggml_context * ctx, ggml_tensor * x, const sd_norm & n, int groups, float eps);
// nn.LayerNorm(C, eps) over ne0.
ggml_tensor * sd_layer_norm(ggml_context * ctx, ggml_tensor * x, const sd_norm & n, float eps);
ggml_tensor * sd_linear_fwd(ggml_context * ctx, const sd_linear & l, ggml_tensor * x);
// ResnetBlock2D: x [W, H, Cin, N]; temb_act = silu(temb) as [Ct, N] or nullptr.
ggml_tensor * sd_resnet_fwd(ggml_context * ctx, const sd_resnet & r, ggml_tensor * x, ggml_tensor * temb_act,
                            int groups, float eps);
// (attention: blocks::attention in models/blocks.h)

// [W, H, C, N] <-> [C, W*H, N] (token t = y * W + x).
ggml_tensor * sd_map_to_tokens(ggml_context * ctx, ggml_tensor * x);
ggml_tensor * sd_tokens_to_map(ggml_context * ctx, ggml_tensor * t, int64_t w, int64_t h);

}  // namespace glm
