#include "models/cambrian-towers.h"

#include "backend.h"
#include "common.h"
#include "models/blocks.h"

#include <algorithm>

namespace glm {

using blocks::layer_norm;
using blocks::linear;

void cambrian_vit::load(const gguf_loader & ml, const std::string & tp, const std::string & kp) {
    const std::string & f = ml.path();
    hp.image_size         = (int) ml.get_int(kp + ".image_size");
    hp.patch_size         = (int) ml.get_int(kp + ".patch_size");
    hp.n_embd             = (int) ml.get_int(kp + ".embedding_length");
    hp.n_ff               = (int) ml.get_int(kp + ".feed_forward_length");
    hp.n_head             = (int) ml.get_int(kp + ".attention.head_count");
    hp.n_layer            = (int) ml.get_int(kp + ".block_count");
    hp.eps                = (float) ml.get_float(kp + ".attention.layer_norm_epsilon");
    hp.cls                = ml.get_bool(kp + ".cls");
    hp.swiglu             = ml.get_bool(kp + ".swiglu");
    hp.layer_scale        = ml.get_bool(kp + ".layer_scale");
    hp.out_side           = (int) ml.get_int(kp + ".out_side");
    const std::vector<float>   mean = ml.get_arr_f32(kp + ".image_mean");
    const std::vector<float>   sd   = ml.get_arr_f32(kp + ".image_std");
    const std::vector<int64_t> fill = ml.get_arr_int(kp + ".pad_fill");
    if (mean.size() != 3 || sd.size() != 3 || fill.size() != 3) {
        fail("%s: %s.image_mean / image_std / pad_fill must have 3 values each", f.c_str(), kp.c_str());
    }
    for (int c = 0; c < 3; ++c) {
        hp.mean[c] = mean[c];
        hp.std_[c] = sd[c];
        if (fill[c] < 0 || fill[c] > 255) {
            fail("%s: %s.pad_fill[%d] = %lld is not a byte", f.c_str(), kp.c_str(), c, (long long) fill[c]);
        }
        hp.fill[c] = (uint8_t) fill[c];
    }
    // the patch conv drops the remainder: SigLIP-384 with patch 14 sees a 27 x 27 grid (378 pixels)
    if (hp.patch_size <= 0 || hp.image_size < hp.patch_size || hp.n_head <= 0 || hp.n_embd % hp.n_head != 0 ||
        hp.out_side <= 0) {
        fail("%s: %s: image_size %d / patch_size %d / embedding_length %d / head_count %d / out_side %d are not "
             "consistent", f.c_str(), kp.c_str(), hp.image_size, hp.patch_size, hp.n_embd, hp.n_head, hp.out_side);
    }
    const int64_t C = hp.n_embd, P = hp.patch_size, N = (int64_t) hp.grid() * hp.grid() + (hp.cls ? 1 : 0);
    patch_w = ml.get(tp + ".patch_embd.weight", { P, P, 3, C });
    patch_b = ml.get(tp + ".patch_embd.bias", { C });
    cls     = hp.cls ? ml.get(tp + ".class_embd", { C }) : nullptr;
    pos     = ml.get(tp + ".position_embd.weight", { C, N });
    norm_w  = ml.get(tp + ".post_ln.weight", { C });
    norm_b  = ml.get(tp + ".post_ln.bias", { C });
    layers.resize(hp.n_layer);
    for (int il = 0; il < hp.n_layer; ++il) {
        const std::string    b = tp + ".blk." + std::to_string(il) + ".";
        cambrian_vit_layer & L = layers[il];
        L.ln1_w = ml.get(b + "ln1.weight", { C });
        L.ln1_b = ml.get(b + "ln1.bias", { C });
        L.qkv_w = ml.get(b + "attn_qkv.weight", { C, 3 * C });
        L.qkv_b = ml.get(b + "attn_qkv.bias", { 3 * C });
        L.o_w   = ml.get(b + "attn_out.weight", { C, C });
        L.o_b   = ml.get(b + "attn_out.bias", { C });
        L.ln2_w = ml.get(b + "ln2.weight", { C });
        L.ln2_b = ml.get(b + "ln2.bias", { C });
        const int64_t F = hp.n_ff;
        L.fc1_w = ml.get(b + "ffn_up.weight", { C, hp.swiglu ? 2 * F : F });
        L.fc1_b = ml.get(b + "ffn_up.bias", { hp.swiglu ? 2 * F : F });
        L.fc2_w = ml.get(b + "ffn_down.weight", { F, C });
        L.fc2_b = ml.get(b + "ffn_down.bias", { C });
        if (hp.layer_scale) {
            L.ls1 = ml.get(b + "ls1", { C });
            L.ls2 = ml.get(b + "ls2", { C });
        }
    }
}

ggml_tensor * cambrian_resize_tokens(ggml_context * ctx, ggml_tensor * tokens, int g, int side) {
    const int64_t C = tokens->ne[0];
    if (g == side) {
        return tokens;
    }
    ggml_tensor * x = ggml_reshape_3d(ctx, tokens, C, g, g);     // [C, x, y]
    x               = ggml_cont(ctx, ggml_permute(ctx, x, 2, 0, 1, 3));  // [x, y, C]
    x               = ggml_interpolate(ctx, x, side, side, C, 1, GGML_SCALE_MODE_BILINEAR);
    x               = ggml_cont(ctx, ggml_permute(ctx, x, 1, 2, 0, 3));  // [C, x, y]
    return ggml_reshape_2d(ctx, x, C, (int64_t) side * side);
}

ggml_tensor * cambrian_vit_build(ggml_context * ctx, const cambrian_vit & m, ggml_tensor * pixels) {
    const cambrian_vit_hparams & hp = m.hp;
    const int64_t                C = hp.n_embd, G = hp.grid(), P = hp.patch_size;
    ggml_tensor *                cur = blocks::conv2d(ctx, m.patch_w, pixels, (int) P, 0);  // [C, G, G, 1]
    cur                              = ggml_add(ctx, ggml_reshape_2d(ctx, cur, C, G * G), m.patch_b);
    if (m.cls) {
        cur = ggml_concat(ctx, ggml_reshape_2d(ctx, m.cls, C, 1), cur, 1);  // CLS first
    }
    cur             = ggml_add(ctx, cur, m.pos);
    const int64_t N = cur->ne[1];
    for (int il = 0; il < hp.n_layer; ++il) {
        const cambrian_vit_layer & L   = m.layers[il];
        ggml_tensor *              x   = layer_norm(ctx, cur, L.ln1_w, L.ln1_b, hp.eps);
        ggml_tensor *              qkv = linear(ctx, x, L.qkv_w, L.qkv_b);  // [3C, N]: q, k, v
        ggml_tensor *              q   = ggml_view_2d(ctx, qkv, C, N, qkv->nb[1], 0);
        ggml_tensor *              k   = ggml_view_2d(ctx, qkv, C, N, qkv->nb[1], C * ggml_element_size(qkv));
        ggml_tensor *              v   = ggml_view_2d(ctx, qkv, C, N, qkv->nb[1], 2 * C * ggml_element_size(qkv));
        x = blocks::attention(ctx, ggml_cont(ctx, q), ggml_cont(ctx, k), ggml_cont(ctx, v), hp.n_head);
        x = linear(ctx, ggml_reshape_2d(ctx, x, C, N), L.o_w, L.o_b);
        if (L.ls1) {
            x = ggml_mul(ctx, x, L.ls1);
        }
        cur = ggml_add(ctx, cur, x);
        x   = layer_norm(ctx, cur, L.ln2_w, L.ln2_b, hp.eps);
        x   = linear(ctx, x, L.fc1_w, L.fc1_b);
        if (hp.swiglu) {  // x1, x2 = chunk(2); silu(x1) * x2
            const int64_t F  = hp.n_ff;
            ggml_tensor * x1 = ggml_view_2d(ctx, x, F, N, x->nb[1], 0);
            ggml_tensor * x2 = ggml_view_2d(ctx, x, F, N, x->nb[1], F * ggml_element_size(x));
            x                = ggml_mul(ctx, ggml_silu(ctx, ggml_cont(ctx, x1)), ggml_cont(ctx, x2));
        } else {
            x = ggml_gelu_erf(ctx, x);
        }
        x = linear(ctx, x, L.fc2_w, L.fc2_b);
        if (L.ls2) {
            x = ggml_mul(ctx, x, L.ls2);
        }
        cur = tname(ggml_add(ctx, cur, x), "vit_layer", il);
    }
    cur = layer_norm(ctx, cur, m.norm_w, m.norm_b, hp.eps);
    if (m.cls) {  // drop CLS
        cur = ggml_cont(ctx, ggml_view_2d(ctx, cur, C, G * G, cur->nb[1], cur->nb[1]));
    }
    return cambrian_resize_tokens(ctx, cur, (int) G, hp.out_side);
}

int cambrian_convnext::n_embd() const {
    int n = 0;
    for (int d : dims) {
        n += d;
    }
    return n;
}

void cambrian_convnext::load(const gguf_loader & ml, const std::string & tp, const std::string & kp) {
    const std::string & f = ml.path();
    image_size            = (int) ml.get_int(kp + ".image_size");
    out_side              = (int) ml.get_int(kp + ".out_side");
    eps                   = (float) ml.get_float(kp + ".layer_norm_epsilon");
    const std::vector<int64_t> d    = ml.get_arr_int(kp + ".dims");
    const std::vector<int64_t> dep  = ml.get_arr_int(kp + ".depths");
    const std::vector<float>   mn   = ml.get_arr_f32(kp + ".image_mean");
    const std::vector<float>   sd   = ml.get_arr_f32(kp + ".image_std");
    const std::vector<int64_t> fill_ = ml.get_arr_int(kp + ".pad_fill");
    if (d.empty() || d.size() != dep.size() || mn.size() != 3 || sd.size() != 3 || fill_.size() != 3) {
        fail("%s: %s: dims (%zu) and depths (%zu) must have the same non-zero length; image_mean / image_std / "
             "pad_fill 3 values", f.c_str(), kp.c_str(), d.size(), dep.size());
    }
    if (image_size <= 0 || out_side <= 0 || image_size % (4 << (d.size() - 1)) != 0) {
        fail("%s: %s.image_size %d must be a positive multiple of %d (stem 4, then %zu halvings)", f.c_str(),
             kp.c_str(), image_size, 4 << (d.size() - 1), d.size() - 1);
    }
    for (int c = 0; c < 3; ++c) {
        mean[c] = mn[c];
        std_[c] = sd[c];
        fill[c] = (uint8_t) std::min<int64_t>(255, std::max<int64_t>(0, fill_[c]));
    }
    dims.assign(d.begin(), d.end());
    stem_w    = ml.get(tp + ".stem.weight", { 4, 4, 3, dims[0] });
    stem_b    = ml.get(tp + ".stem.bias", { dims[0] });
    stem_ln_w = ml.get(tp + ".stem_ln.weight", { dims[0] });
    stem_ln_b = ml.get(tp + ".stem_ln.bias", { dims[0] });
    stages.resize(dims.size());
    for (size_t s = 0; s < dims.size(); ++s) {
        const std::string        p = tp + ".s" + std::to_string(s) + ".";
        const int64_t            C = dims[s];
        cambrian_convnext_stage & S = stages[s];
        if (s > 0) {
            S.down_ln_w = ml.get(p + "down_ln.weight", { dims[s - 1] });
            S.down_ln_b = ml.get(p + "down_ln.bias", { dims[s - 1] });
            S.down_w    = ml.get(p + "down.weight", { 2, 2, dims[s - 1], C });
            S.down_b    = ml.get(p + "down.bias", { C });
        }
        S.blocks.resize(dep[s]);
        for (int64_t b = 0; b < dep[s]; ++b) {
            const std::string        q = p + "b" + std::to_string(b) + ".";
            cambrian_convnext_block & B = S.blocks[b];
            B.dw_w  = ml.get(q + "dw.weight", { 7, 7, 1, C });
            B.dw_b  = ml.get(q + "dw.bias", { C });
            B.ln_w  = ml.get(q + "ln.weight", { C });
            B.ln_b  = ml.get(q + "ln.bias", { C });
            const ggml_tensor * fc1 = ml.describe(q + "fc1.weight");
            const int64_t       F   = fc1 ? fc1->ne[1] : 4 * C;
            B.fc1_w = ml.get(q + "fc1.weight", { C, F });
            B.fc1_b = ml.get(q + "fc1.bias", { F });
            B.fc2_w = ml.get(q + "fc2.weight", { F, C });
            B.fc2_b = ml.get(q + "fc2.bias", { C });
            B.gamma = ml.get(q + "gamma", { C });
        }
    }
}

ggml_tensor * cambrian_convnext_build(ggml_context * ctx, const cambrian_convnext & m, ggml_tensor * pixels) {
    // activations channels-first [C, W, H] (LayerNorm and Linear over ne0); convolutions on planar [W, H, C]
    ggml_tensor * x = blocks::conv2d(ctx, m.stem_w, pixels, 4, 0);  // [C0, W, H, 1]
    x               = layer_norm(ctx, ggml_add(ctx, x, m.stem_b), m.stem_ln_w, m.stem_ln_b, m.eps);
    ggml_tensor * feats = nullptr;
    for (size_t s = 0; s < m.stages.size(); ++s) {
        const cambrian_convnext_stage & S = m.stages[s];
        if (S.down_w) {
            x = layer_norm(ctx, x, S.down_ln_w, S.down_ln_b, m.eps);
            x = ggml_add(ctx, blocks::conv2d(ctx, S.down_w, blocks::to_planar(ctx, x), 2, 0), S.down_b);
        }
        for (size_t b = 0; b < S.blocks.size(); ++b) {
            const cambrian_convnext_block & B  = S.blocks[b];
            ggml_tensor *                   dw = ggml_conv_2d_dw_direct(ctx, B.dw_w, blocks::to_planar(ctx, x), 1, 1,
                                                                        3, 3, 1, 1);        // [W, H, C, 1]
            dw = ggml_cont(ctx, ggml_permute(ctx, dw, 1, 2, 0, 3));                     // [C, W, H, 1]
            dw = layer_norm(ctx, ggml_add(ctx, dw, B.dw_b), B.ln_w, B.ln_b, m.eps);
            dw = linear(ctx, ggml_gelu_erf(ctx, linear(ctx, dw, B.fc1_w, B.fc1_b)), B.fc2_w, B.fc2_b);
            x  = tname(ggml_add(ctx, ggml_mul(ctx, dw, B.gamma), x), "convnext_block", (int) (s * 100 + b));
        }
        const int64_t C = x->ne[0], g = x->ne[1];
        ggml_tensor * f = cambrian_resize_tokens(ctx, ggml_reshape_2d(ctx, x, C, g * x->ne[2]), (int) g, m.out_side);
        feats           = feats ? ggml_concat(ctx, feats, f, 0) : f;
    }
    return feats;
}

std::vector<float> cambrian_tower_preprocess(const image_u8 & img, int size, const uint8_t fill[3],
                                             const float mean[3], const float std_[3]) {
    pad_geometry   g;
    const image_u8 sq = expand_to_square(img, fill, &g);
    const image_u8 rs = pil_resize(sq, size, size, pil_filter::bicubic);
    return image_to_chw(rs, mean, std_);
}

}  // namespace glm
