// models/sd-unet.h: Stable Diffusion's UNet2DConditionModel (diffusers) in ggml, run once as a feature
// extractor: sinusoidal timestep embedding and time MLP, conv_in, the down blocks (CrossAttnDownBlock2D /
// DownBlock2D with ResNet blocks, spatial transformers and stride-2 downsamplers), the cross-attention mid
// block, and the up blocks (skip concatenations, nearest-2x upsamplers) whose outputs are returned. The final
// conv_norm_out/conv_out (noise prediction) are never needed and not stored.
//
// Every width and count comes from the file (written from the diffusers config.json): block_out_channels,
// layers_per_block, the block types, the number of heads per block (diffusers' num_attention_heads, which
// SD-1.5's config spells `attention_head_dim: 8`), transformer_layers_per_block, cross_attention_dim,
// norm_num_groups, norm_eps, flip_sin_to_cos, freq_shift, downsample_padding. proj_in/proj_out are stored as
// linear maps whether the model uses 1x1 convolutions or linear projections (the same map on the tokens).
//
// sd_unet_model is immutable after load() and may be shared between threads; the builder only adds nodes to
// the caller's graph context.
#pragma once

#include "models/sd-blocks.h"

#include <vector>

namespace glm {

struct sd_unet_hparams {
    int              in_channels = 4;
    std::vector<int> block_out;           // block_out_channels (down order)
    std::vector<int> layers_per_block;    // ResNets per down block (up blocks have one more)
    std::vector<int> down_attn;           // 1 where the down block is CrossAttnDownBlock2D
    std::vector<int> up_attn;             // 1 where the up block is CrossAttnUpBlock2D (up order)
    std::vector<int> n_head;              // attention heads per down block
    std::vector<int> transformer_layers;  // BasicTransformerBlocks per spatial transformer, per down block
    int              cross_dim          = 768;   // cross_attention_dim (width of the context tokens)
    int              groups             = 32;    // norm_num_groups
    float            eps                = 1e-5f; // norm_eps (ResNet GroupNorms)
    bool             flip_sin_to_cos    = true;
    float            freq_shift         = 0.0f;
    int              downsample_padding = 1;
    bool             mid_attention      = true;  // UNetMidBlock2DCrossAttn (else no mid attention)
    int              n_up_stored        = 0;     // up blocks present in the file (the first n in up order)

    int n_blocks() const { return (int) block_out.size(); }
    int temb_dim() const { return block_out.empty() ? 0 : 4 * block_out[0]; }
    // latent pixels per feature pixel at the bottom of the UNet
    int downscale() const { return 1 << (n_blocks() - 1); }
};

// Transformer2DModel with its BasicTransformerBlocks (self-attention, cross-attention, GEGLU feed-forward).
struct sd_transformer {
    struct block {
        sd_norm   norm1, norm2, norm3;
        ggml_tensor *q1 = nullptr, *k1 = nullptr, *v1 = nullptr;
        sd_linear o1;
        ggml_tensor *q2 = nullptr, *k2 = nullptr, *v2 = nullptr;
        sd_linear o2;
        sd_linear ff_in, ff_out;  // GEGLU projection [C -> 2 * inner] and [inner -> C]
    };
    sd_norm            norm;
    sd_linear          proj_in, proj_out;
    std::vector<block> blocks;
    int                n_head = 1;
};

struct sd_unet_model {
    struct unet_block {
        std::vector<sd_resnet>      res;
        std::vector<sd_transformer> attn;     // empty for plain blocks
        sd_conv                     resample; // downsampler / upsampler conv; w == nullptr when absent
    };

    sd_unet_hparams         hp;
    sd_linear               time_l1, time_l2;
    sd_conv                 conv_in;
    std::vector<unet_block> down, up;
    unet_block              mid;  // res[0], attn[0] (if mid_attention), res[1]

    // Reads hparams from keys "<key_prefix>.*" and tensors "<tensor_prefix>.*" of a load()ed loader.
    void load(const gguf_loader & ml, const std::string & key_prefix, const std::string & tensor_prefix);
};

// diffusers get_timestep_embedding for one timestep, in float32 as PyTorch computes it: [dim] values.
std::vector<float> sd_timestep_embedding(int dim, float t, bool flip_sin_to_cos, float freq_shift);

// latent: [w, h, in_channels, N]; t_emb: [block_out[0]] (sd_timestep_embedding); context: [cross_dim, T, 1 or N].
// Returns the outputs of up blocks 0..n_up-1 (n_up <= hp.n_up_stored), each [w_i, h_i, C_i, N].
// w and h must be multiples of hp.downscale().
std::vector<ggml_tensor *> sd_unet_build(ggml_context * ctx, const sd_unet_model & m, ggml_tensor * latent,
                                         ggml_tensor * t_emb, ggml_tensor * context, int n_up);

}  // namespace glm
