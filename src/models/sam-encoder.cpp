#include "models/sam-encoder.h"

#include "models/sam-ops.h"

#include "backend.h"
#include "common.h"
#include "gguf-loader.h"
#include "image.h"

#include <cmath>

namespace glm {

// ---------------------------------------------------------------------------------------------- load

// get_rel_pos(size, size, table) of image_encoder.py for a table [L][dh] (row-major), in ggml order
// [dh, k, q]: out[c + dh*(k + size*q)] = resized[q - k + size - 1][c], where resized is the table linearly
// interpolated (F.interpolate(mode="linear"), align_corners=False) to 2*size-1 rows when L differs.
static std::vector<float> gather_rel_pos(const std::vector<float> & table, int L, int dh, int size) {
    const int          need = 2 * size - 1;
    std::vector<float> resized;
    if (L == need) {
        resized = table;
    } else {
        // rel_pos.reshape(1, L, dh).permute(0, 2, 1) -> [dh planes of 1 x L], linear == bilinear with h = 1
        std::vector<float> planes((size_t) dh * L);
        for (int l = 0; l < L; ++l) {
            for (int c = 0; c < dh; ++c) {
                planes[(size_t) c * L + l] = table[(size_t) l * dh + c];
            }
        }
        const std::vector<float> r = torch_interpolate(planes.data(), dh, 1, L, 1, need, interp_mode::bilinear);
        resized.resize((size_t) need * dh);
        for (int i = 0; i < need; ++i) {
            for (int c = 0; c < dh; ++c) {
                resized[(size_t) i * dh + c] = r[(size_t) c * need + i];
            }
        }
    }
    std::vector<float> out((size_t) dh * size * size);
    for (int q = 0; q < size; ++q) {
        for (int k = 0; k < size; ++k) {
            const float * src = &resized[(size_t) (q - k + size - 1) * dh];
            std::copy(src, src + dh, &out[(size_t) dh * (k + (size_t) size * q)]);
        }
    }
    return out;
}

sam_encoder::~sam_encoder() {
    if (derived_buf_) {
        ggml_backend_buffer_free(derived_buf_);
    }
    if (derived_ctx_) {
        ggml_free(derived_ctx_);
    }
}

void sam_encoder::load(const sam_hparams & hp, const gguf_loader & ml, ggml_backend_buffer_type_t buft) {
    hp_            = hp;
    const int64_t C = hp.enc_embd, P = hp.prompt_embd, G = hp.grid(), p = hp.patch_size;
    const int64_t dh = C / hp.enc_heads;

    patch_w_ = ml.get("v.sam.patch_embd.weight", { p, p, 3, C });
    patch_b_ = ml.get("v.sam.patch_embd.bias", { C });
    pos_     = ml.get("v.sam.pos_embd.weight", { C, G, G, 1 });

    layers_.assign(hp.enc_depth, {});
    for (int il = 0; il < hp.enc_depth; ++il) {
        sam_encoder_layer & L = layers_[il];
        L.ln1_w  = ml.get(sam_tn::enc_blk(il, "pre_ln.weight"), { C });
        L.ln1_b  = ml.get(sam_tn::enc_blk(il, "pre_ln.bias"), { C });
        L.qkv_w  = ml.get(sam_tn::enc_blk(il, "attn.qkv.weight"), { C, 3 * C });
        L.qkv_b  = ml.get(sam_tn::enc_blk(il, "attn.qkv.bias"), { 3 * C });
        L.out_w  = ml.get(sam_tn::enc_blk(il, "attn.out.weight"), { C, C });
        L.out_b  = ml.get(sam_tn::enc_blk(il, "attn.out.bias"), { C });
        L.ln2_w  = ml.get(sam_tn::enc_blk(il, "post_ln.weight"), { C });
        L.ln2_b  = ml.get(sam_tn::enc_blk(il, "post_ln.bias"), { C });
        L.lin1_w = ml.get(sam_tn::enc_blk(il, "mlp.lin1.weight"), { C, hp.enc_mlp });
        L.lin1_b = ml.get(sam_tn::enc_blk(il, "mlp.lin1.bias"), { hp.enc_mlp });
        L.lin2_w = ml.get(sam_tn::enc_blk(il, "mlp.lin2.weight"), { hp.enc_mlp, C });
        L.lin2_b = ml.get(sam_tn::enc_blk(il, "mlp.lin2.bias"), { C });
        if (hp.use_rel_pos) {
            for (int k = 0; k < 2; ++k) {
                const std::string name = sam_tn::enc_blk(il, k == 0 ? "attn.pos_h.weight" : "attn.pos_w.weight");
                const auto        ne   = ml.tensor_ne(name);
                if (ne[0] != dh || ne[1] < 1 || ne[2] != 1 || ne[3] != 1) {
                    fail("%s: tensor '%s' has shape [%lld, %lld], expected [%lld, L]", ml.path().c_str(),
                         name.c_str(), (long long) ne[0], (long long) ne[1], (long long) dh);
                }
                (k == 0 ? L.rel_h : L.rel_w) = ml.get(name, { dh, ne[1] });
            }
        }
    }
    neck_w_[0] = ml.get(sam_tn::enc_neck(0, "weight"), { 1, 1, C, P });
    neck_w_[1] = ml.get(sam_tn::enc_neck(1, "weight"), { P });
    neck_b_[1] = ml.get(sam_tn::enc_neck(1, "bias"), { P });
    neck_w_[2] = ml.get(sam_tn::enc_neck(2, "weight"), { 3, 3, P, P });
    neck_w_[3] = ml.get(sam_tn::enc_neck(3, "weight"), { P });
    neck_b_[3] = ml.get(sam_tn::enc_neck(3, "bias"), { P });

    if (!hp.use_rel_pos) {
        return;
    }
    // the gathered relative-position tables of every block, [dh, size, size]
    ggml_init_params ip = { ggml_tensor_overhead() * (2 * layers_.size() + 1), nullptr, true };
    derived_ctx_        = ggml_init(ip);
    std::vector<std::vector<float>> data;
    for (int il = 0; il < hp.enc_depth; ++il) {
        sam_encoder_layer & L    = layers_[il];
        const int           size = hp.is_global(il) ? (int) G : hp.window_size;
        for (int k = 0; k < 2; ++k) {
            ggml_tensor *      src = k == 0 ? L.rel_h : L.rel_w;
            std::vector<float> tab = tensor_to_f32(src);
            data.push_back(gather_rel_pos(tab, (int) src->ne[1], (int) dh, size));
            ggml_tensor * t = ggml_new_tensor_3d(derived_ctx_, GGML_TYPE_F32, dh, size, size);
            ggml_format_name(t, "rel_pos_%c_gathered-%d", k == 0 ? 'h' : 'w', il);
            (k == 0 ? L.rel_h_g : L.rel_w_g) = t;
        }
    }
    derived_buf_ = ggml_backend_alloc_ctx_tensors_from_buft(derived_ctx_, buft);
    if (!derived_buf_) {
        fail("%s: cannot allocate the relative-position tables", ml.path().c_str());
    }
    size_t i = 0;
    for (sam_encoder_layer & L : layers_) {
        ggml_backend_tensor_set(L.rel_h_g, data[i].data(), 0, data[i].size() * sizeof(float));
        ++i;
        ggml_backend_tensor_set(L.rel_w_g, data[i].data(), 0, data[i].size() * sizeof(float));
        ++i;
    }
}

// ---------------------------------------------------------------------------------------------- graph

using sam_ops::layer_norm;

// window_partition of image_encoder.py: x [C, W, H, B] -> zero pad to multiples of ws -> [C, ws, ws, nw*B],
// windows in row-major order (window x fastest), as x.view(B, Hp/ws, ws, Wp/ws, ws, C).permute(0,1,3,2,4,5).
static ggml_tensor * window_partition(ggml_context * ctx, ggml_tensor * x, int ws) {
    const int64_t C = x->ne[0], W = x->ne[1], H = x->ne[2], B = x->ne[3];
    const int64_t pw = (ws - W % ws) % ws, ph = (ws - H % ws) % ws;
    const int64_t nw = (W + pw) / ws, nh = (H + ph) / ws;
    if (pw > 0 || ph > 0) {
        x = ggml_pad(ctx, x, 0, (int) pw, (int) ph, 0);  // F.pad with zeros at the right/bottom
    }
    x = ggml_reshape_4d(ctx, x, C * ws, nw, ws, nh * B);          // [C*wx, win_x, wy, win_y*B]
    x = ggml_cont(ctx, ggml_permute(ctx, x, 0, 2, 1, 3));         // [C*wx, wy, win_x, win_y*B]
    return ggml_reshape_4d(ctx, x, C, ws, ws, nw * nh * B);       // [C, wx, wy, windows]
}

// window_unpartition: [C, ws, ws, nw*B] -> [C, W, H, B] without the padding
static ggml_tensor * window_unpartition(ggml_context * ctx, ggml_tensor * x, int W, int H, int ws) {
    const int64_t C  = x->ne[0];
    const int64_t pw = (ws - W % ws) % ws, ph = (ws - H % ws) % ws;
    const int64_t nw = (W + pw) / ws, nh = (H + ph) / ws;
    const int64_t B  = x->ne[3] / (nw * nh);
    x = ggml_reshape_4d(ctx, x, C * ws, ws, nw, nh * B);          // [C*wx, wy, win_x, win_y*B]
    x = ggml_cont(ctx, ggml_permute(ctx, x, 0, 2, 1, 3));         // [C*wx, win_x, wy, win_y*B]
    x = ggml_reshape_4d(ctx, x, C, W + pw, H + ph, B);            // [C, Wp, Hp, B]
    if (pw > 0 || ph > 0) {
        x = ggml_cont(ctx, ggml_view_4d(ctx, x, C, W, H, B, x->nb[1], x->nb[2], x->nb[3], 0));
    }
    return x;
}

// Attention.forward of image_encoder.py on x [C, Sw, Sh, Bw] (Bw = windows x batch).
ggml_tensor * sam_encoder::attention(ggml_context * ctx, ggml_tensor * x, const sam_encoder_layer & L, int il) const {
    const int64_t C = x->ne[0], Sw = x->ne[1], Sh = x->ne[2], Bw = x->ne[3];
    const int64_t nh = hp_.enc_heads, dh = C / nh, N = Sw * Sh;
    const size_t  es = ggml_element_size(x);

    ggml_tensor * qkv = ggml_add(ctx, ggml_mul_mat(ctx, L.qkv_w, x), L.qkv_b);  // [3C, Sw, Sh, Bw]
    tname(qkv, "enc_qkv", il);
    // qkv.reshape(B, N, 3, nh, dh): the 3C axis is (dh, nh, which); views -> [dh, nh, N, Bw] -> [dh, N, nh, Bw]
    auto split = [&](int which) {
        ggml_tensor * t = ggml_view_4d(ctx, qkv, dh, nh, N, Bw, dh * es, 3 * C * es, 3 * C * N * es, which * C * es);
        return t;
    };
    ggml_tensor * q = ggml_cont(ctx, ggml_permute(ctx, split(0), 0, 2, 1, 3));  // [dh, N, nh, Bw]
    ggml_tensor * k = ggml_cont(ctx, ggml_permute(ctx, split(1), 0, 2, 1, 3));  // [dh, N, nh, Bw]
    ggml_tensor * v = ggml_cont(ctx, ggml_permute(ctx, split(2), 1, 2, 0, 3));  // [N, dh, nh, Bw]

    const float   scale = 1.0f / std::sqrt((float) dh);
    ggml_tensor * kq    = nullptr;  // attn = (q * scale) @ k^T (+ the decomposed rel-pos terms), [N_k, N_q, nh, Bw]
    if (!hp_.use_rel_pos) {
        kq = ggml_mul_mat(ctx, k, ggml_scale(ctx, q, scale));
    } else {
        // add_decomposed_rel_pos, with the unscaled q:
        //   attn[q, (kw, kh)] += rel_h[q, kh] + rel_w[q, kw],  rel_h[q, kh] = q . Rh[qh, kh],  rel_w[q, kw] = q . Rw[qw, kw]
        ggml_tensor * qr = ggml_reshape_4d(ctx, q, dh, Sw, Sh, nh * Bw);                  // [dh, qw, qh, nh*Bw]
        ggml_tensor * qt = ggml_cont(ctx, ggml_permute(ctx, qr, 0, 2, 1, 3));             // [dh, qh, qw, nh*Bw]
        ggml_tensor * rw = ggml_mul_mat(ctx, L.rel_w_g, qt);                              // [kw, qh, qw, nh*Bw]
        rw               = ggml_cont(ctx, ggml_permute(ctx, rw, 0, 2, 1, 3));             // [kw, qw, qh, nh*Bw]
        tname(rw, "enc_rel_w", il);
        if (dh <= 2 * Sh) {
            // rel_h folded into the keys, per query row qh: q . (scale k + Rh[qh, kh(k)]) = scale q.k + rel_h.
            // (Adding rel_h to attn afterwards is a broadcast over ne0, which ggml's CPU add does one element
            // at a time; this costs one [dh, N_k, qh] tensor per head, no more than attn itself when dh <= 2 Sh.)
            ggml_tensor * rh = ggml_reshape_4d(ctx, L.rel_h_g, dh, 1, Sh, Sh);           // [dh, 1, kh, qh]
            rh               = ggml_repeat_4d(ctx, rh, dh, Sw, Sh, Sh);                  // [dh, kw, kh, qh]
            rh               = ggml_reshape_4d(ctx, rh, dh, N, Sh, 1);                   // [dh, N_k, qh, 1]
            ggml_tensor * kx = ggml_reshape_4d(ctx, ggml_scale(ctx, k, scale), dh, N, 1, nh * Bw);
            kx               = ggml_repeat_4d(ctx, kx, dh, N, Sh, nh * Bw);              // [dh, N_k, qh, nh*Bw]
            kx               = ggml_add_inplace(ctx, kx, rh);
            tname(kx, "enc_k_rel_h", il);
            kq = ggml_mul_mat(ctx, kx, qr);                                               // [N_k, qw, qh, nh*Bw]
            kq = ggml_reshape_4d(ctx, kq, Sw, Sh, N, nh * Bw);                            // [kw, kh, N_q, nh*Bw]
        } else {
            ggml_tensor * rh = ggml_mul_mat(ctx, L.rel_h_g, qr);                          // [kh, qw, qh, nh*Bw]
            tname(rh, "enc_rel_h", il);
            kq = ggml_mul_mat(ctx, k, ggml_scale(ctx, q, scale));
            kq = ggml_reshape_4d(ctx, kq, Sw, Sh, N, nh * Bw);                            // [kw, kh, N_q, nh*Bw]
            kq = ggml_add_inplace(ctx, kq, ggml_reshape_4d(ctx, rh, 1, Sh, N, nh * Bw));
        }
        kq = ggml_add_inplace(ctx, kq, ggml_reshape_4d(ctx, rw, Sw, 1, N, nh * Bw));
        kq = ggml_reshape_4d(ctx, kq, N, N, nh, Bw);
    }
    tname(kq, "enc_kq", il);
    kq = ggml_soft_max_inplace(ctx, kq);
    tname(kq, "enc_attn", il);

    ggml_tensor * o = ggml_mul_mat(ctx, v, kq);                                           // [dh, N_q, nh, Bw]
    o               = ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3));                   // [dh, nh, N_q, Bw]
    o               = ggml_reshape_4d(ctx, o, C, Sw, Sh, Bw);
    o               = ggml_add(ctx, ggml_mul_mat(ctx, L.out_w, o), L.out_b);
    return tname(o, "enc_attn_out", il);
}

ggml_tensor * sam_encoder::build(ggml_context * ctx, ggml_tensor * inp) const {
    const int64_t C = hp_.enc_embd, G = hp_.grid(), p = hp_.patch_size;

    // PatchEmbed: conv p x p stride p, then B C H W -> B H W C
    ggml_tensor * x = sam_ops::conv2d(ctx, patch_w_, inp, (int) p, 0);               // [C, W, H, 1]
    x               = ggml_add(ctx, x, patch_b_);
    x               = ggml_add(ctx, x, pos_);
    tname(x, "enc_patch_pos");

    for (int il = 0; il < hp_.enc_depth; ++il) {
        const sam_encoder_layer & L        = layers_[il];
        ggml_tensor *             shortcut = x;
        ggml_tensor *             cur      = layer_norm(ctx, x, L.ln1_w, L.ln1_b, hp_.enc_eps);
        const bool                windowed = !hp_.is_global(il);
        if (windowed) {
            cur = window_partition(ctx, cur, hp_.window_size);                           // [C, ws, ws, nw]
        }
        cur = attention(ctx, cur, L, il);
        if (windowed) {
            cur = window_unpartition(ctx, cur, (int) G, (int) G, hp_.window_size);        // [C, W, H, 1]
        }
        x   = ggml_add(ctx, shortcut, cur);
        cur = layer_norm(ctx, x, L.ln2_w, L.ln2_b, hp_.enc_eps);
        cur = ggml_add(ctx, ggml_mul_mat(ctx, L.lin1_w, cur), L.lin1_b);
        cur = ggml_gelu_erf(ctx, cur);  // nn.GELU (exact)
        cur = ggml_add(ctx, ggml_mul_mat(ctx, L.lin2_w, cur), L.lin2_b);
        x   = ggml_add(ctx, x, cur);
        tname(x, "enc_block_out", il);
    }

    // neck: 1x1 conv (a matmul over channels) -> LayerNorm2d -> 3x3 conv (pad 1) -> LayerNorm2d
    const int64_t P = hp_.prompt_embd;
    x = ggml_mul_mat(ctx, ggml_reshape_2d(ctx, neck_w_[0], C, P), x);                     // [P, W, H, 1]
    x = layer_norm(ctx, x, neck_w_[1], neck_b_[1], hp_.ln2d_eps);
    tname(x, "enc_neck_1");
    x = sam_ops::conv2d(ctx, neck_w_[2], sam_ops::to_planar(ctx, x), 1, 1);            // [P, W, H, 1]
    x = layer_norm(ctx, x, neck_w_[3], neck_b_[3], hp_.ln2d_eps);
    x = ggml_reshape_2d(ctx, x, P, G * G);
    return tname(x, "image_embeddings");
}

}  // namespace glm
