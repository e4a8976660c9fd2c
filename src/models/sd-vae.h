// models/sd-vae.h: the encoder half of Stable Diffusion's AutoencoderKL (diffusers) in ggml: conv_in, the
// DownEncoderBlock2D stack (ResNet blocks, stride-2 downsamplers with the asymmetric (0,1,0,1) padding), the
// mid block (ResNet, single-head attention, ResNet), GroupNorm-SiLU-conv_out, quant_conv, then the diagonal
// Gaussian's mean and std (logvar clamped to [-30, 20] as DiagonalGaussianDistribution does).
//
// sd_vae_model is immutable after load() and may be shared between threads; the builder only adds nodes to
// the caller's graph context.
#pragma once

#include "models/sd-blocks.h"

#include <vector>

namespace glm {

struct sd_vae_hparams {
    int              in_channels     = 3;
    int              latent_channels = 4;
    std::vector<int> block_out;             // block_out_channels, one per down block
    int              layers_per_block = 2;  // ResNet blocks per down block
    int              groups           = 32; // norm_num_groups
    float            eps              = 1e-6f;  // GroupNorm epsilon (diffusers hard-codes 1e-6 in the VAE)
    bool             mid_attention    = true;   // mid_block_add_attention
    bool             quant_conv       = true;   // use_quant_conv
    float            scaling_factor   = 0.18215f;  // latent = sample * scaling_factor

    // input pixels per latent pixel along each axis
    int downscale() const { return 1 << (block_out.empty() ? 0 : (int) block_out.size() - 1); }
};

struct sd_vae_model {
    struct down_block {
        std::vector<sd_resnet> res;
        sd_conv                down;  // w == nullptr in the last block
    };
    struct mid_attention {
        sd_norm   norm;
        sd_linear q, k, v, out;
    };

    sd_vae_hparams          hp;
    sd_conv                 conv_in;
    std::vector<down_block> down;
    sd_resnet               mid_res[2];
    mid_attention           mid_attn;
    sd_norm                 norm_out;
    sd_conv                 conv_out;
    sd_conv                 quant;  // w == nullptr without quant_conv

    // Reads hparams from keys "<key_prefix>.*" and tensors "<tensor_prefix>.*" of a load()ed loader.
    void load(const gguf_loader & ml, const std::string & key_prefix, const std::string & tensor_prefix);
};

struct sd_vae_output {
    ggml_tensor * mean = nullptr;  // [w, h, latent_channels, N]
    ggml_tensor * std_ = nullptr;  // exp(0.5 * clamp(logvar, -30, 20)), same shape
};

// img: [W, H, in_channels, N] in [-1, 1]; W and H multiples of hp.downscale().
sd_vae_output sd_vae_build_encoder(ggml_context * ctx, const sd_vae_model & m, ggml_tensor * img);

}  // namespace glm
