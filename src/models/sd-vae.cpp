#include "models/sd-vae.h"

#include "backend.h"
#include "models/blocks.h"
#include "common.h"

namespace glm {

void sd_vae_model::load(const gguf_loader & ml, const std::string & kp, const std::string & tp) {
    const std::string & f = ml.path();
    hp.in_channels        = (int) ml.get_int(kp + ".in_channels");
    hp.latent_channels    = (int) ml.get_int(kp + ".latent_channels");
    for (int64_t c : ml.get_arr_int(kp + ".block_out_channels")) {
        hp.block_out.push_back((int) c);
    }
    hp.layers_per_block = (int) ml.get_int(kp + ".layers_per_block");
    hp.groups           = (int) ml.get_int(kp + ".norm_num_groups");
    hp.eps              = (float) ml.get_float(kp + ".norm_eps", 1e-6);
    hp.mid_attention    = ml.get_bool(kp + ".mid_block_add_attention", true);
    hp.quant_conv       = ml.get_bool(kp + ".use_quant_conv", true);
    hp.scaling_factor   = (float) ml.get_float(kp + ".scaling_factor");
    if (hp.block_out.empty() || hp.layers_per_block <= 0 || hp.groups <= 0 || hp.latent_channels <= 0) {
        fail("%s: invalid VAE hyperparameters under %s", f.c_str(), kp.c_str());
    }
    for (int c : hp.block_out) {
        if (c <= 0 || c % hp.groups != 0) {
            fail("%s: VAE width %d is not a positive multiple of norm_num_groups %d", f.c_str(), c, hp.groups);
        }
    }

    // diffusers Encoder.__init__ (autoencoders/vae.py)
    conv_in      = sd_load_conv(ml, tp + ".conv_in", hp.in_channels, hp.block_out[0], 3);
    int64_t prev = hp.block_out[0];
    down.resize(hp.block_out.size());
    for (size_t i = 0; i < hp.block_out.size(); ++i) {
        const int64_t     out = hp.block_out[i];
        const std::string b   = tp + ".d" + std::to_string(i);
        for (int j = 0; j < hp.layers_per_block; ++j) {
            down[i].res.push_back(sd_load_resnet(ml, b + ".res" + std::to_string(j), j == 0 ? prev : out, out, 0));
        }
        if (i + 1 < hp.block_out.size()) {
            down[i].down = sd_load_conv(ml, b + ".down", out, out, 3);
        }
        prev = out;
    }
    const int64_t C = hp.block_out.back();
    mid_res[0]      = sd_load_resnet(ml, tp + ".mid.res0", C, C, 0);
    mid_res[1]      = sd_load_resnet(ml, tp + ".mid.res1", C, C, 0);
    if (hp.mid_attention) {
        mid_attn.norm = sd_load_norm(ml, tp + ".mid.attn.norm", C);
        mid_attn.q    = sd_load_linear(ml, tp + ".mid.attn.q", C, C);
        mid_attn.k    = sd_load_linear(ml, tp + ".mid.attn.k", C, C);
        mid_attn.v    = sd_load_linear(ml, tp + ".mid.attn.v", C, C);
        mid_attn.out  = sd_load_linear(ml, tp + ".mid.attn.out", C, C);
    }
    const int64_t Z = 2 * (int64_t) hp.latent_channels;  // double_z: mean and logvar
    norm_out        = sd_load_norm(ml, tp + ".norm_out", C);
    conv_out        = sd_load_conv(ml, tp + ".conv_out", C, Z, 3);
    if (hp.quant_conv) {
        quant = sd_load_conv(ml, tp + ".quant_conv", Z, Z, 1);
    }
}

// diffusers Attention with group_norm, one head (the VAE mid block: heads = C / attention_head_dim = 1),
// residual connection, via AttnProcessor2_0.
static ggml_tensor * mid_attention_fwd(ggml_context * ctx, const sd_vae_model & m, ggml_tensor * x) {
    const int64_t W = x->ne[0], H = x->ne[1];
    ggml_tensor * h = sd_group_norm(ctx, x, m.mid_attn.norm, m.hp.groups, m.hp.eps);
    h               = sd_map_to_tokens(ctx, h);  // [C, W*H, N]
    ggml_tensor * q = sd_linear_fwd(ctx, m.mid_attn.q, h);
    ggml_tensor * k = sd_linear_fwd(ctx, m.mid_attn.k, h);
    ggml_tensor * v = sd_linear_fwd(ctx, m.mid_attn.v, h);
    h               = blocks::attention(ctx, q, k, v, 1);
    h               = sd_linear_fwd(ctx, m.mid_attn.out, h);
    return ggml_add(ctx, sd_tokens_to_map(ctx, h, W, H), x);
}

sd_vae_output sd_vae_build_encoder(ggml_context * ctx, const sd_vae_model & m, ggml_tensor * img) {
    const sd_vae_hparams & hp = m.hp;
    const int              G  = hp.groups;
    const float            e  = hp.eps;
    ggml_tensor *          x  = tname(sd_conv2d(ctx, m.conv_in, img, 1, 1), "vae_conv_in");
    for (size_t i = 0; i < m.down.size(); ++i) {
        for (const sd_resnet & r : m.down[i].res) {
            x = sd_resnet_fwd(ctx, r, x, nullptr, G, e);
        }
        if (m.down[i].down.w) {
            // Downsample2D(padding=0): F.pad(x, (0, 1, 0, 1)) then a stride-2 3x3 conv
            x = ggml_pad_ext(ctx, x, 0, 1, 0, 1, 0, 0, 0, 0);
            x = sd_conv2d(ctx, m.down[i].down, x, 2, 0);
        }
        tname(x, "vae_down", (int) i);
    }
    x = sd_resnet_fwd(ctx, m.mid_res[0], x, nullptr, G, e);
    if (hp.mid_attention) {
        x = mid_attention_fwd(ctx, m, x);
    }
    x = tname(sd_resnet_fwd(ctx, m.mid_res[1], x, nullptr, G, e), "vae_mid");
    x = ggml_silu(ctx, sd_group_norm(ctx, x, m.norm_out, G, e));
    x = sd_conv2d(ctx, m.conv_out, x, 1, 1);
    if (m.quant.w) {
        x = sd_conv2d(ctx, m.quant, x, 1, 0);
    }
    tname(x, "vae_moments");  // [w, h, 2 * latent, N]: mean channels first, then logvar
    const int64_t Z = hp.latent_channels;
    sd_vae_output out;
    out.mean = ggml_cont(ctx, ggml_view_4d(ctx, x, x->ne[0], x->ne[1], Z, x->ne[3], x->nb[1], x->nb[2], x->nb[3], 0));
    ggml_tensor * logvar =
        ggml_view_4d(ctx, x, x->ne[0], x->ne[1], Z, x->ne[3], x->nb[1], x->nb[2], x->nb[3], Z * x->nb[2]);
    logvar   = ggml_clamp(ctx, ggml_cont(ctx, logvar), -30.0f, 20.0f);
    out.std_ = ggml_exp(ctx, ggml_scale(ctx, logvar, 0.5f));
    tname(out.mean, "vae_mean");
    tname(out.std_, "vae_std");
    return out;
}

}  // namespace glm
