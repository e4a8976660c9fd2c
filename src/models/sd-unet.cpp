#include "models/sd-unet.h"

#include "backend.h"
#include "models/blocks.h"
#include "common.h"

#include <algorithm>
#include <cmath>

namespace glm {

static std::vector<int> get_ints(const gguf_loader & ml, const std::string & key, size_t n) {
    std::vector<int> out;
    for (int64_t v : ml.get_arr_int(key)) {
        out.push_back((int) v);
    }
    if (out.size() != n) {
        fail("%s: %s has %zu entries, expected %zu (one per block)", ml.path().c_str(), key.c_str(), out.size(), n);
    }
    return out;
}

static sd_transformer load_transformer(const gguf_loader & ml, const std::string & p, int64_t C, int n_head,
                                       int n_layers, int64_t cross_dim) {
    if (n_head <= 0 || C % n_head != 0) {
        fail("%s: %s: %lld channels are not divisible by %d heads", ml.path().c_str(), p.c_str(), (long long) C,
             n_head);
    }
    sd_transformer t;
    t.n_head   = n_head;
    t.norm     = sd_load_norm(ml, p + ".norm", C);
    t.proj_in  = sd_load_linear(ml, p + ".proj_in", C, C);
    t.proj_out = sd_load_linear(ml, p + ".proj_out", C, C);
    // GEGLU inner width: diffusers FeedForward with its default mult=4 (UNet2DConditionModel has no option)
    const int64_t inner = 4 * C;
    for (int k = 0; k < n_layers; ++k) {
        const std::string     b = p + ".tb" + std::to_string(k);
        sd_transformer::block B;
        B.norm1  = sd_load_norm(ml, b + ".norm1", C);
        B.norm2  = sd_load_norm(ml, b + ".norm2", C);
        B.norm3  = sd_load_norm(ml, b + ".norm3", C);
        B.q1     = ml.get(b + ".attn1.q.weight", { C, C });
        B.k1     = ml.get(b + ".attn1.k.weight", { C, C });
        B.v1     = ml.get(b + ".attn1.v.weight", { C, C });
        B.o1     = sd_load_linear(ml, b + ".attn1.out", C, C);
        B.q2     = ml.get(b + ".attn2.q.weight", { C, C });
        B.k2     = ml.get(b + ".attn2.k.weight", { cross_dim, C });
        B.v2     = ml.get(b + ".attn2.v.weight", { cross_dim, C });
        B.o2     = sd_load_linear(ml, b + ".attn2.out", C, C);
        B.ff_in  = sd_load_linear(ml, b + ".ff_in", C, 2 * inner);
        B.ff_out = sd_load_linear(ml, b + ".ff_out", inner, C);
        t.blocks.push_back(B);
    }
    return t;
}

void sd_unet_model::load(const gguf_loader & ml, const std::string & kp, const std::string & tp) {
    const std::string & f = ml.path();
    hp.in_channels        = (int) ml.get_int(kp + ".in_channels");
    for (int64_t c : ml.get_arr_int(kp + ".block_out_channels")) {
        hp.block_out.push_back((int) c);
    }
    const size_t nb = hp.block_out.size();
    if (nb == 0) {
        fail("%s: %s.block_out_channels is empty", f.c_str(), kp.c_str());
    }
    hp.layers_per_block   = get_ints(ml, kp + ".layers_per_block", nb);
    hp.down_attn          = get_ints(ml, kp + ".down_block_attention", nb);
    hp.up_attn            = get_ints(ml, kp + ".up_block_attention", nb);
    hp.n_head             = get_ints(ml, kp + ".attention.head_count", nb);
    hp.transformer_layers = get_ints(ml, kp + ".transformer_layers_per_block", nb);
    hp.cross_dim          = (int) ml.get_int(kp + ".cross_attention_dim");
    hp.groups             = (int) ml.get_int(kp + ".norm_num_groups");
    hp.eps                = (float) ml.get_float(kp + ".norm_eps");
    hp.flip_sin_to_cos    = ml.get_bool(kp + ".flip_sin_to_cos");
    hp.freq_shift         = (float) ml.get_float(kp + ".freq_shift");
    hp.downsample_padding = (int) ml.get_int(kp + ".downsample_padding");
    hp.mid_attention      = ml.get_bool(kp + ".mid_block_attention");
    hp.n_up_stored        = (int) ml.get_int(kp + ".up_block_count");
    if (hp.n_up_stored < 0 || hp.n_up_stored > (int) nb) {
        fail("%s: %s.up_block_count %d out of range 0..%zu", f.c_str(), kp.c_str(), hp.n_up_stored, nb);
    }
    for (int c : hp.block_out) {
        if (c <= 0 || c % hp.groups != 0) {
            fail("%s: UNet width %d is not a positive multiple of norm_num_groups %d", f.c_str(), c, hp.groups);
        }
    }
    const int64_t C0 = hp.block_out[0], TE = hp.temb_dim(), X = hp.cross_dim;

    // diffusers UNet2DConditionModel.__init__ (unets/unet_2d_condition.py)
    time_l1 = sd_load_linear(ml, tp + ".time_l1", C0, TE);
    time_l2 = sd_load_linear(ml, tp + ".time_l2", TE, TE);
    conv_in = sd_load_conv(ml, tp + ".conv_in", hp.in_channels, C0, 3);

    down.resize(nb);
    int64_t out_ch = C0;
    for (size_t i = 0; i < nb; ++i) {
        const int64_t     in_ch = out_ch;
        out_ch                  = hp.block_out[i];
        const std::string b     = tp + ".d" + std::to_string(i);
        for (int j = 0; j < hp.layers_per_block[i]; ++j) {
            const std::string s = std::to_string(j);
            down[i].res.push_back(sd_load_resnet(ml, b + ".res" + s, j == 0 ? in_ch : out_ch, out_ch, TE));
            if (hp.down_attn[i]) {
                down[i].attn.push_back(
                    load_transformer(ml, b + ".attn" + s, out_ch, hp.n_head[i], hp.transformer_layers[i], X));
            }
        }
        if (i + 1 < nb) {
            down[i].resample = sd_load_conv(ml, b + ".down", out_ch, out_ch, 3);
        }
    }

    const int64_t CL = hp.block_out.back();
    mid.res.push_back(sd_load_resnet(ml, tp + ".mid.res0", CL, CL, TE));
    if (hp.mid_attention) {
        mid.attn.push_back(load_transformer(ml, tp + ".mid.attn", CL, hp.n_head.back(), hp.transformer_layers.back(), X));
    }
    mid.res.push_back(sd_load_resnet(ml, tp + ".mid.res1", CL, CL, TE));

    up.resize(hp.n_up_stored);
    int64_t prev_out = hp.block_out.back();
    for (int i = 0; i < hp.n_up_stored; ++i) {
        const size_t      r      = nb - 1 - (size_t) i;  // the down block this up block mirrors
        const int64_t     o      = hp.block_out[r];
        const int64_t     in_ch  = hp.block_out[r == 0 ? 0 : r - 1];
        const int         layers = hp.layers_per_block[r] + 1;
        const std::string b      = tp + ".u" + std::to_string(i);
        for (int j = 0; j < layers; ++j) {
            const std::string s         = std::to_string(j);
            const int64_t     skip_ch   = j == layers - 1 ? in_ch : o;
            const int64_t     res_in_ch = j == 0 ? prev_out : o;
            up[i].res.push_back(sd_load_resnet(ml, b + ".res" + s, res_in_ch + skip_ch, o, TE));
            if (hp.up_attn[i]) {
                up[i].attn.push_back(load_transformer(ml, b + ".attn" + s, o, hp.n_head[r], hp.transformer_layers[r], X));
            }
        }
        if (i + 1 < (int) nb) {
            up[i].resample = sd_load_conv(ml, b + ".up", o, o, 3);
        }
        prev_out = o;
    }
    // blocks past n_up_stored are not in the file: converters keep only what the encoder needs
}

std::vector<float> sd_timestep_embedding(int dim, float t, bool flip_sin_to_cos, float freq_shift) {
    // diffusers embeddings.get_timestep_embedding (max_period 10000, scale 1), float32 throughout
    const int          half = dim / 2;
    const float        lmp  = (float) -std::log(10000.0);
    const float        den  = (float) half - freq_shift;
    std::vector<float> out((size_t) dim, 0.0f);
    for (int i = 0; i < half; ++i) {
        const float e   = (lmp * (float) i) / den;
        const float arg = t * std::exp(e);
        const float s = std::sin(arg), c = std::cos(arg);
        out[(size_t) i]        = flip_sin_to_cos ? c : s;
        out[(size_t) (half + i)] = flip_sin_to_cos ? s : c;
    }
    return out;  // odd dim: the last entry stays 0 (diffusers pads with one zero)
}

// diffusers BasicTransformerBlock (attention.py): pre-LN self-attention, cross-attention, GEGLU feed-forward.
static ggml_tensor * transformer_block(ggml_context * ctx, const sd_transformer::block & B, int n_head,
                                       ggml_tensor * x, ggml_tensor * context) {
    const float   e = 1e-5f;  // nn.LayerNorm default (BasicTransformerBlock norm_eps)
    ggml_tensor * n = sd_layer_norm(ctx, x, B.norm1, e);
    ggml_tensor * a = blocks::attention(ctx, ggml_mul_mat(ctx, B.q1, n), ggml_mul_mat(ctx, B.k1, n),
                                   ggml_mul_mat(ctx, B.v1, n), n_head);
    x               = ggml_add(ctx, sd_linear_fwd(ctx, B.o1, a), x);
    n               = sd_layer_norm(ctx, x, B.norm2, e);
    a = blocks::attention(ctx, ggml_mul_mat(ctx, B.q2, n), ggml_mul_mat(ctx, B.k2, context),
                     ggml_mul_mat(ctx, B.v2, context), n_head);
    x = ggml_add(ctx, sd_linear_fwd(ctx, B.o2, a), x);
    n = sd_layer_norm(ctx, x, B.norm3, e);
    // GEGLU: proj(x).chunk(2) = (hidden, gate); hidden * gelu(gate) (erf GELU)
    ggml_tensor * h = ggml_geglu_erf_swapped(ctx, sd_linear_fwd(ctx, B.ff_in, n));
    return ggml_add(ctx, sd_linear_fwd(ctx, B.ff_out, h), x);
}

// diffusers Transformer2DModel (continuous input): GroupNorm(eps 1e-6), proj_in, blocks, proj_out, residual.
static ggml_tensor * spatial_transformer(ggml_context * ctx, const sd_transformer & T, int groups, ggml_tensor * x,
                                         ggml_tensor * context) {
    const int64_t W = x->ne[0], H = x->ne[1];
    ggml_tensor * h = sd_group_norm(ctx, x, T.norm, groups, 1e-6f);
    h               = sd_linear_fwd(ctx, T.proj_in, sd_map_to_tokens(ctx, h));  // [C, W*H, N]
    for (const sd_transformer::block & B : T.blocks) {
        h = transformer_block(ctx, B, T.n_head, h, context);
    }
    h = sd_linear_fwd(ctx, T.proj_out, h);
    return ggml_add(ctx, sd_tokens_to_map(ctx, h, W, H), x);
}

std::vector<ggml_tensor *> sd_unet_build(ggml_context * ctx, const sd_unet_model & m, ggml_tensor * latent,
                                         ggml_tensor * t_emb, ggml_tensor * context, int n_up) {
    const sd_unet_hparams & hp = m.hp;
    const int               G  = hp.groups;
    const float             e  = hp.eps;
    GGML_ASSERT(n_up >= 0 && n_up <= hp.n_up_stored);

    // 1. time: TimestepEmbedding(linear_1, SiLU, linear_2); every ResNet applies SiLU before time_emb_proj
    ggml_tensor * temb = sd_linear_fwd(ctx, m.time_l2, ggml_silu(ctx, sd_linear_fwd(ctx, m.time_l1, t_emb)));
    temb               = tname(ggml_silu(ctx, temb), "unet_temb_act");  // [TE, 1]

    // 2. conv_in, 3. down blocks, collecting the skip tensors
    ggml_tensor *              x = tname(sd_conv2d(ctx, m.conv_in, latent, 1, 1), "unet_conv_in");
    std::vector<ggml_tensor *> skips{ x };
    for (size_t i = 0; i < m.down.size(); ++i) {
        const auto & B = m.down[i];
        for (size_t j = 0; j < B.res.size(); ++j) {
            x = sd_resnet_fwd(ctx, B.res[j], x, temb, G, e);
            if (!B.attn.empty()) {
                x = spatial_transformer(ctx, B.attn[j], G, x, context);
            }
            skips.push_back(x);
        }
        if (B.resample.w) {
            // Downsample2D: a stride-2 conv with padding downsample_padding (0 means F.pad (0, 1, 0, 1))
            if (hp.downsample_padding == 0) {
                x = sd_conv2d(ctx, B.resample, ggml_pad_ext(ctx, x, 0, 1, 0, 1, 0, 0, 0, 0), 2, 0);
            } else {
                x = sd_conv2d(ctx, B.resample, x, 2, hp.downsample_padding);
            }
            skips.push_back(x);
        }
        tname(x, "unet_down", (int) i);
    }

    // 4. mid block
    x = sd_resnet_fwd(ctx, m.mid.res[0], x, temb, G, e);
    if (!m.mid.attn.empty()) {
        x = spatial_transformer(ctx, m.mid.attn[0], G, x, context);
    }
    x = tname(sd_resnet_fwd(ctx, m.mid.res[1], x, temb, G, e), "unet_mid");

    // 5. up blocks: each ResNet takes cat([x, skip], channels), skips popped from the end
    std::vector<ggml_tensor *> outs;
    for (int i = 0; i < n_up; ++i) {
        const auto & B = m.up[(size_t) i];
        for (size_t j = 0; j < B.res.size(); ++j) {
            ggml_tensor * s = skips.back();
            skips.pop_back();
            x = sd_resnet_fwd(ctx, B.res[j], ggml_concat(ctx, x, s, 2), temb, G, e);
            if (!B.attn.empty()) {
                x = spatial_transformer(ctx, B.attn[j], G, x, context);
            }
        }
        if (B.resample.w) {
            // Upsample2D: nearest 2x, then a 3x3 conv
            x = sd_conv2d(ctx, B.resample, ggml_upscale(ctx, x, 2, GGML_SCALE_MODE_NEAREST), 1, 1);
        }
        outs.push_back(tname(x, "unet_up", i));
    }
    return outs;
}

}  // namespace glm
