#include "models/cambrian.h"

#include "common.h"
#include "models/blocks.h"

#include <cmath>
#include <functional>

namespace glm {

using blocks::layer_norm;
using blocks::linear;

static const char * k_kp = "cambrian";

void cambrian_model::load(const gguf_loader & ml) {
    const std::string & f = ml.path();
    if (ml.get_str("general.architecture", "") != "cambrian") {
        fail("%s: general.architecture is '%s', expected 'cambrian'", f.c_str(),
             ml.get_str("general.architecture", "").c_str());
    }
    const std::string kp = k_kp;
    hp.query_side       = (int) ml.get_int(kp + ".query_side");
    hp.vision_hidden    = (int) ml.get_int(kp + ".vision_hidden");
    hp.llm_hidden       = (int) ml.get_int(kp + ".llm_hidden");
    hp.n_head           = (int) ml.get_int(kp + ".sva_head_count");
    hp.connector_depth  = (int) ml.get_int(kp + ".connector_depth");
    hp.n_llm_blocks     = (int) ml.get_int(kp + ".llm_block_count");
    hp.llm_block_start  = (int) ml.get_int(kp + ".llm_block_start");
    hp.llm_block_stride = (int) ml.get_int(kp + ".llm_block_stride");
    hp.image_position   = (int) ml.get_int(kp + ".image_position");
    hp.eps              = (float) ml.get_float(kp + ".layer_norm_epsilon");
    const std::vector<int64_t> tw = ml.get_arr_int(kp + ".tower_width");
    const std::vector<int64_t> ts = ml.get_arr_int(kp + ".tower_side");
    if (tw.size() != k_cambrian_towers || ts.size() != k_cambrian_towers) {
        fail("%s: %s.tower_width / tower_side must have %d entries (SigLIP, CLIP, DINOv2, ConvNeXt), got %zu / %zu",
             f.c_str(), k_kp, k_cambrian_towers, tw.size(), ts.size());
    }
    const int q = hp.query_side, vh = hp.vision_hidden, H = hp.llm_hidden;
    if (q <= 0 || vh <= 0 || H <= 0 || hp.n_head <= 0 || vh % hp.n_head != 0) {
        fail("%s: bad SVA sizes: query_side %d, vision_hidden %d (must divide by sva_head_count %d), llm_hidden %d",
             f.c_str(), q, vh, hp.n_head, H);
    }
    for (int i = 0; i < k_cambrian_towers; ++i) {
        hp.tower_width[i] = (int) tw[i];
        hp.tower_side[i]  = (int) ts[i];
        if (tw[i] <= 0 || ts[i] <= 0 || ts[i] % q != 0) {
            fail("%s: tower %d: width %lld, grid side %lld must be positive and a multiple of query_side %d",
                 f.c_str(), i, (long long) tw[i], (long long) ts[i], q);
        }
    }

    for (int i = 0; i < k_cambrian_towers; ++i) {
        const std::string p = "aux." + std::to_string(i) + ".";
        aux_fc1_w[i]        = ml.get(p + "fc1.weight", { hp.tower_width[i], vh });
        aux_fc1_b[i]        = ml.get(p + "fc1.bias", { vh });
        aux_fc2_w[i]        = ml.get(p + "fc2.weight", { vh, vh });
        aux_fc2_b[i]        = ml.get(p + "fc2.bias", { vh });
        aux_ln_w[i]         = ml.get(p + "ln.weight", { vh });
        aux_ln_b[i]         = ml.get(p + "ln.bias", { vh });
    }
    query      = ml.get("sva.query", { vh });
    newline    = ml.get("newline", { H });
    proj_fc1_w = ml.get("proj.fc1.weight", { vh, H });
    proj_fc1_b = ml.get("proj.fc1.bias", { H });
    proj_fc2_w = ml.get("proj.fc2.weight", { H, H });
    proj_fc2_b = ml.get("proj.fc2.bias", { H });

    auto layer = [&](const std::string & p, int q_dim) {
        cambrian_sva_layer L;
        L.q_dim  = q_dim;
        L.ctx_w  = ml.get(p + "ctx.weight", { vh, vh });
        L.in_w   = ml.get(p + "in.weight", { q_dim + vh, vh });
        L.q_ln_w = ml.get(p + "q_ln.weight", { vh });
        L.q_ln_b = ml.get(p + "q_ln.bias", { vh });
        L.q_w    = ml.get(p + "q.weight", { vh, vh });
        for (int i = 0; i < k_cambrian_towers; ++i) {
            const std::string s = std::to_string(i);
            L.k_ln_w[i]         = ml.get(p + "k" + s + "_ln.weight", { vh });
            L.k_ln_b[i]         = ml.get(p + "k" + s + "_ln.bias", { vh });
            L.k_w[i]            = ml.get(p + "k" + s + ".weight", { vh, vh });
            L.v_ln_w[i]         = ml.get(p + "v" + s + "_ln.weight", { vh });
            L.v_ln_b[i]         = ml.get(p + "v" + s + "_ln.bias", { vh });
            L.v_w[i]            = ml.get(p + "v" + s + ".weight", { vh, vh });
            const int r         = hp.window(i);
            L.pos[i]            = r > 1 ? ml.get(p + "pos" + s, { vh, (int64_t) r * r }) : nullptr;
        }
        L.o_w    = ml.get(p + "o.weight", { vh, vh });
        L.norm_w = ml.get(p + "norm.weight", { vh });
        L.norm_b = ml.get(p + "norm.bias", { vh });
        L.out1_w = ml.get(p + "out1.weight", { vh, vh });
        L.out2_w = ml.get(p + "out2.weight", { vh, q_dim });
        return L;
    };
    for (int l = 0; l < hp.connector_depth; ++l) {
        connector.push_back(layer("sva.c" + std::to_string(l) + ".", vh));
    }
    for (int k = 0; k < hp.n_llm_blocks; ++k) {
        llm_blocks.push_back(layer("sva.l" + std::to_string(k) + ".", H));
    }
    auto check_tower = [&](const cambrian_vit & t, int i, const char * what) {
        if (t.hp.n_embd != hp.tower_width[i] || t.hp.out_side != hp.tower_side[i]) {
            fail("%s: the %s tower (width %d, output grid %d) does not match tower %d of %s.tower_width/tower_side "
                 "(%d, %d)", f.c_str(), what, t.hp.n_embd, t.hp.out_side, i, k_kp, hp.tower_width[i],
                 hp.tower_side[i]);
        }
    };
    has_siglip = ml.has_key(kp + ".siglip.image_size");
    if (has_siglip) {
        siglip.load(ml, "sg", kp + ".siglip");
        check_tower(siglip, 0, "SigLIP");
    }
    has_dino = ml.has_key(kp + ".dino.image_size");
    if (has_dino) {
        dino.load(ml, "dn", kp + ".dino");
        check_tower(dino, 2, "DINOv2");
    }
    has_convnext = ml.has_key(kp + ".convnext.image_size");
    if (has_convnext) {
        convnext.load(ml, "cx", kp + ".convnext");
        if (convnext.n_embd() != hp.tower_width[3] || convnext.out_side != hp.tower_side[3]) {
            fail("%s: the ConvNeXt tower (width %d, output grid %d) does not match tower 3 of %s.tower_width/"
                 "tower_side (%d, %d)", f.c_str(), convnext.n_embd(), convnext.out_side, k_kp, hp.tower_width[3],
                 hp.tower_side[3]);
        }
    }
    has_clip = ml.has_key(kp + ".clip.image_size");
    if (has_clip) {
        clip.load(ml, /*require_projector=*/false, "cl", kp + ".clip");
        if (clip.hp.n_embd != hp.tower_width[1] || clip.hp.grid() != hp.tower_side[1]) {
            fail("%s: the CLIP tower (width %d, grid %d) does not match tower 1 of %s.tower_width/tower_side "
                 "(%d, %d)", f.c_str(), clip.hp.n_embd, clip.hp.grid(), k_kp, hp.tower_width[1], hp.tower_side[1]);
        }
    }
}

// --- geometry

// unmask_attention_mask / unpad_image (cambrian_arch.py L203-256): the padding on a side x side grid, computed
// with Python's float64 and int() truncation; `rows` says whether the padding is on the rows (landscape).
static int pad_of(int side, int w, int h, bool * rows) {
    const double ar_img = (double) w / (double) h, ar_cur = 1.0;
    if (ar_img > ar_cur) {
        *rows                = true;
        const double scale   = (double) side / (double) w;
        const int    new_h   = (int) ((double) h * scale);
        return (side - new_h) / 2;  // Python // on non-negative ints
    }
    *rows              = false;
    const double scale = (double) side / (double) h;
    const int    new_w = (int) ((double) w * scale);
    return (side - new_w) / 2;
}

cambrian_span cambrian_unpad(int side, int w, int h) {
    if (side <= 0 || w <= 0 || h <= 0) {
        fail("cambrian_unpad: grid side %d and image size %dx%d must be positive", side, w, h);
    }
    bool          rows = false;
    const int     p    = pad_of(side, w, h, &rows);
    cambrian_span s{ 0, side, 0, side };
    // tensor[:, p:side-p] (p may be 0; the official slice keeps everything then)
    if (rows) {
        s.y0 = p, s.y1 = side - p;
    } else {
        s.x0 = p, s.x1 = side - p;
    }
    return s;
}

cambrian_windows cambrian_tower_windows(int q, int G, int w, int h, bool unpad) {
    if (q <= 0 || G % q != 0) {
        fail("cambrian_tower_windows: tower grid %d is not a multiple of the query grid %d", G, q);
    }
    const int r = G / q;
    // the mask at the tower's own resolution (unmask_attention_mask: only when padding > 0)
    bool              rows = false;
    const int         p    = pad_of(G, w, h, &rows);
    std::vector<char> m((size_t) G * G, 1);
    if (p > 0) {
        for (int y = 0; y < G; ++y) {
            for (int x = 0; x < G; ++x) {
                const int c = rows ? y : x;
                if (c < p || c >= G - p) {
                    m[(size_t) y * G + x] = 0;
                }
            }
        }
    }
    const cambrian_span s = unpad ? cambrian_unpad(q, w, h) : cambrian_span{ 0, q, 0, q };
    cambrian_windows    out;
    out.r       = r;
    out.n_query = s.rows() * s.cols();
    out.index.reserve((size_t) out.n_query * r * r);
    out.mask.reserve((size_t) out.n_query * r * r);
    for (int y = s.y0; y < s.y1; ++y) {
        for (int x = s.x0; x < s.x1; ++x) {
            const size_t first = out.mask.size();
            bool         any   = false;
            for (int dy = 0; dy < r; ++dy) {
                for (int dx = 0; dx < r; ++dx) {
                    const int t = (y * r + dy) * G + x * r + dx;
                    out.index.push_back(t);
                    out.mask.push_back(m[t] ? 1.0f : 0.0f);
                    any = any || m[t];
                }
            }
            if (!any) {  // a fully masked window attends to all its keys (L318)
                std::fill(out.mask.begin() + first, out.mask.end(), 1.0f);
            }
        }
    }
    return out;
}

// --- graphs

namespace {

// One VisionCrossAttentionLayer on queries [q_dim, N]. ctx_vec [vh] (the global context, the same for every
// query); aux[i] [vh, T_i] projected towers; idx[i] I32 [r_i^2 * N] window token indices; mask [Tk, 1, 1, N]
// (0 or -inf, Tk = sum r_i^2).
ggml_tensor * sva_layer(ggml_context * ctx, const cambrian_model & m, const cambrian_sva_layer & L, ggml_tensor * q,
                        ggml_tensor * ctx_vec, const std::array<ggml_tensor *, k_cambrian_towers> & aux,
                        const std::array<ggml_tensor *, k_cambrian_towers> & idx, ggml_tensor * mask) {
    const cambrian_hparams & hp = m.hp;
    const int64_t            vh = hp.vision_hidden, N = q->ne[1], nh = hp.n_head, D = vh / nh;
    ggml_tensor *            residual = q;
    // queries = proj_in(cat([queries, proj_context(context)], -1))
    ggml_tensor * c = ggml_mul_mat(ctx, L.ctx_w, ggml_reshape_2d(ctx, ctx_vec, vh, 1));  // [vh, 1]
    c               = ggml_repeat(ctx, c, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, vh, N));
    ggml_tensor * x = ggml_mul_mat(ctx, L.in_w, ggml_concat(ctx, q, c, 0));            // [vh, N]

    // MultiKVCrossAttention: q_proj = LN + Linear; per tower k/v = LN + Linear of (window + pos)
    ggml_tensor * Q  = ggml_mul_mat(ctx, L.q_w, layer_norm(ctx, x, L.q_ln_w, L.q_ln_b, hp.eps));
    ggml_tensor * K  = nullptr;
    ggml_tensor * V  = nullptr;
    for (int i = 0; i < k_cambrian_towers; ++i) {
        const int64_t rr  = (int64_t) hp.window(i) * hp.window(i);
        ggml_tensor * win = ggml_reshape_3d(ctx, ggml_get_rows(ctx, aux[i], idx[i]), vh, rr, N);
        if (L.pos[i]) {
            win = ggml_add(ctx, win, L.pos[i]);  // [vh, rr] broadcast over the queries
        }
        ggml_tensor * k = ggml_mul_mat(ctx, L.k_w[i], layer_norm(ctx, win, L.k_ln_w[i], L.k_ln_b[i], hp.eps));
        ggml_tensor * v = ggml_mul_mat(ctx, L.v_w[i], layer_norm(ctx, win, L.v_ln_w[i], L.v_ln_b[i], hp.eps));
        K               = K ? ggml_concat(ctx, K, k, 1) : k;  // [vh, Tk, N]
        V               = V ? ggml_concat(ctx, V, v, 1) : v;
    }
    const int64_t Tk = K->ne[1];
    ggml_tensor * q4 = ggml_permute(ctx, ggml_reshape_4d(ctx, Q, D, nh, 1, N), 0, 2, 1, 3);   // [D, 1, nh, N]
    ggml_tensor * k4 = ggml_permute(ctx, ggml_reshape_4d(ctx, K, D, nh, Tk, N), 0, 2, 1, 3);  // [D, Tk, nh, N]
    ggml_tensor * v4 = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, V, D, nh, Tk, N), 1, 2, 0, 3));
    ggml_tensor * kq = ggml_mul_mat(ctx, k4, q4);                                              // [Tk, 1, nh, N]
    kq               = ggml_soft_max_ext(ctx, kq, mask, 1.0f / std::sqrt((float) D), 0.0f);
    ggml_tensor * o  = ggml_mul_mat(ctx, v4, kq);                                              // [D, 1, nh, N]
    o                = ggml_reshape_2d(ctx, ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3)), vh, N);
    o                = ggml_mul_mat(ctx, L.o_w, o);

    x = layer_norm(ctx, ggml_add(ctx, x, o), L.norm_w, L.norm_b, hp.eps);
    x = ggml_mul_mat(ctx, L.out2_w, ggml_gelu_erf(ctx, ggml_mul_mat(ctx, L.out1_w, x)));
    return ggml_add(ctx, x, residual);
}

// Graph inputs for the windows of all towers over the same query cells.
struct window_inputs {
    std::array<ggml_tensor *, k_cambrian_towers>    idx{};
    std::array<cambrian_windows, k_cambrian_towers> win;
    ggml_tensor *                                   mask = nullptr;
    std::vector<float>                              mask_data;  // [Tk, N]: 0 or -inf

    void build(ggml_context * ctx, const cambrian_hparams & hp, int w, int h, bool unpad) {
        int64_t Tk = 0;
        for (int i = 0; i < k_cambrian_towers; ++i) {
            win[i] = cambrian_tower_windows(hp.query_side, hp.tower_side[i], w, h, unpad);
            idx[i] = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, (int64_t) win[i].index.size());
            ggml_set_input(idx[i]);
            Tk += (int64_t) win[i].r * win[i].r;
        }
        const int64_t N = win[0].n_query;
        mask_data.assign((size_t) (Tk * N), 0.0f);
        for (int64_t n = 0; n < N; ++n) {
            int64_t off = 0;
            for (int i = 0; i < k_cambrian_towers; ++i) {
                const int64_t rr = (int64_t) win[i].r * win[i].r;
                for (int64_t j = 0; j < rr; ++j) {
                    if (win[i].mask[(size_t) (n * rr + j)] == 0.0f) {
                        mask_data[(size_t) (n * Tk + off + j)] = -INFINITY;
                    }
                }
                off += rr;
            }
        }
        mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, Tk, 1, 1, N);
        ggml_set_input(mask);
    }

    void set() const {
        for (int i = 0; i < k_cambrian_towers; ++i) {
            ggml_backend_tensor_set(idx[i], win[i].index.data(), 0, win[i].index.size() * sizeof(int32_t));
        }
        ggml_backend_tensor_set(mask, mask_data.data(), 0, mask_data.size() * sizeof(float));
    }
};

void check_features(const cambrian_hparams & hp, const std::array<std::vector<float>, k_cambrian_towers> & f) {
    for (int i = 0; i < k_cambrian_towers; ++i) {
        const size_t want = (size_t) hp.tower_side[i] * hp.tower_side[i] * hp.tower_width[i];
        if (f[i].size() != want) {
            fail("cambrian: tower %d features: expected %d x %d tokens of width %d (%zu values), got %zu", i,
                 hp.tower_side[i], hp.tower_side[i], hp.tower_width[i], want, f[i].size());
        }
    }
}

}  // namespace

std::array<std::vector<float>, k_cambrian_towers> cambrian_run_towers(const cambrian_model & m, compute_backend & compute,
                                                                      const image_u8 & img) {
    std::string missing;
    const char * names[k_cambrian_towers] = { "SigLIP (timm/ViT-SO400M-14-SigLIP-384)",
                                              "CLIP (openai/clip-vit-large-patch14-336)", "DINOv2 (facebook/dinov2-giant)",
                                              "ConvNeXt (laion/CLIP-convnext_xxlarge-laion2B-s34B-b82K-augreg-soup)" };
    const bool   have[k_cambrian_towers]  = { m.has_siglip, m.has_clip, m.has_dino, m.has_convnext };
    for (int i = 0; i < k_cambrian_towers; ++i) {
        if (!have[i]) {
            missing += std::string(missing.empty() ? "" : ", ") + names[i];
        }
    }
    if (!missing.empty()) {
        fail("cambrian: the GGUF lacks tower weights: %s. The released checkpoint holds none; convert them from "
             "each tower's own hub checkpoint (src/convert/cambrian-convert.h)", missing.c_str());
    }
    std::array<std::vector<float>, k_cambrian_towers> out;
    // one graph per tower: input pixels [S, S, 3, 1] -> [C, G*G]
    auto run = [&](int S, const std::vector<float> & px, const std::function<ggml_tensor *(ggml_context *, ggml_tensor *)> & build) {
        graph_ctx     g;
        ggml_tensor * inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, S, S, 3, 1);
        ggml_set_input(inp);
        ggml_tensor * f = build(g.ctx(), inp);
        ggml_set_output(f);
        ggml_cgraph * gf = g.new_graph();
        ggml_build_forward_expand(gf, f);
        compute.run(gf, [&] { ggml_backend_tensor_set(inp, px.data(), 0, px.size() * sizeof(float)); });
        return tensor_to_f32(f);
    };
    const cambrian_vit_hparams & sh = m.siglip.hp;
    out[0] = run(sh.image_size, cambrian_tower_preprocess(img, sh.image_size, sh.fill, sh.mean, sh.std_),
                 [&](ggml_context * c, ggml_tensor * x) { return cambrian_vit_build(c, m.siglip, x); });
    out[1] = run(m.clip.hp.image_size, clip_preprocess(m.clip.hp, img, nullptr),
                 [&](ggml_context * c, ggml_tensor * x) {
                     return ggml_reshape_2d(c, clip_build_features(c, m.clip, x), m.clip.hp.n_embd, m.clip.hp.n_patches());
                 });
    const cambrian_vit_hparams & dh = m.dino.hp;
    out[2] = run(dh.image_size, cambrian_tower_preprocess(img, dh.image_size, dh.fill, dh.mean, dh.std_),
                 [&](ggml_context * c, ggml_tensor * x) { return cambrian_vit_build(c, m.dino, x); });
    const cambrian_convnext & cx = m.convnext;
    out[3] = run(cx.image_size, cambrian_tower_preprocess(img, cx.image_size, cx.fill, cx.mean, cx.std_),
                 [&](ggml_context * c, ggml_tensor * x) { return cambrian_convnext_build(c, cx, x); });
    return out;
}

cambrian_connector_out cambrian_run_connector(const cambrian_model & m, compute_backend & compute,
                                              const std::array<std::vector<float>, k_cambrian_towers> & features,
                                              int w, int h) {
    const cambrian_hparams & hp = m.hp;
    check_features(hp, features);
    const int64_t q = hp.query_side, vh = hp.vision_hidden, H = hp.llm_hidden, N = q * q;

    graph_ctx                                    g;
    ggml_context *                               ctx = g.ctx();
    std::array<ggml_tensor *, k_cambrian_towers> in{}, aux{};
    for (int i = 0; i < k_cambrian_towers; ++i) {
        const int64_t T = (int64_t) hp.tower_side[i] * hp.tower_side[i];
        in[i]           = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, hp.tower_width[i], T);
        ggml_set_input(in[i]);
        ggml_tensor * x = linear(ctx, in[i], m.aux_fc1_w[i], m.aux_fc1_b[i]);
        x               = linear(ctx, ggml_gelu_erf(ctx, x), m.aux_fc2_w[i], m.aux_fc2_b[i]);
        aux[i]          = tname(layer_norm(ctx, x, m.aux_ln_w[i], m.aux_ln_b[i], hp.eps), "sva_aux", i);
        ggml_set_output(aux[i]);
    }
    // global context: mean over the SigLIP tokens (the whole q x q grid)
    ggml_tensor * gctx = ggml_scale(ctx, ggml_sum_rows(ctx, ggml_cont(ctx, ggml_transpose(ctx, aux[0]))),
                                    1.0f / (float) aux[0]->ne[1]);  // [vh]
    gctx               = ggml_reshape_1d(ctx, gctx, vh);
    ggml_set_output(gctx);

    window_inputs wi;
    wi.build(ctx, hp, w, h, /*unpad=*/false);
    ggml_tensor * x = ggml_repeat(ctx, ggml_reshape_2d(ctx, m.query, vh, 1), ggml_new_tensor_2d(ctx, GGML_TYPE_F32, vh, N));
    std::vector<ggml_tensor *> layer_out;
    for (size_t l = 0; l < m.connector.size(); ++l) {
        x = tname(sva_layer(ctx, m, m.connector[l], x, gctx, aux, wi.idx, wi.mask), "sva_layer", (int) l);
        ggml_set_output(x);
        layer_out.push_back(x);
    }
    ggml_tensor * p = linear(ctx, x, m.proj_fc1_w, m.proj_fc1_b);
    p               = tname(linear(ctx, ggml_gelu_erf(ctx, p), m.proj_fc2_w, m.proj_fc2_b), "sva_projector");
    ggml_set_output(p);

    ggml_cgraph * gf = g.new_graph();
    for (int i = 0; i < k_cambrian_towers; ++i) {
        ggml_build_forward_expand(gf, aux[i]);
    }
    ggml_build_forward_expand(gf, gctx);
    for (ggml_tensor * t : layer_out) {
        ggml_build_forward_expand(gf, t);
    }
    ggml_build_forward_expand(gf, p);
    compute.run(gf, [&] {
        for (int i = 0; i < k_cambrian_towers; ++i) {
            ggml_backend_tensor_set(in[i], features[i].data(), 0, features[i].size() * sizeof(float));
        }
        wi.set();
    });

    cambrian_connector_out out;
    for (int i = 0; i < k_cambrian_towers; ++i) {
        out.aux[i] = tensor_to_f32(aux[i]);
    }
    out.context = tensor_to_f32(gctx);
    for (ggml_tensor * t : layer_out) {
        out.layers.push_back(tensor_to_f32(t));
    }
    out.projector = tensor_to_f32(p);

    // unpad on the q x q grid, then image_newline after every kept row (cambrian_arch.py L429-443)
    out.span                      = cambrian_unpad((int) q, w, h);
    const std::vector<float> nl   = tensor_to_f32(m.newline);
    const cambrian_span &    s    = out.span;
    out.image_tokens.reserve((size_t) s.rows() * (s.cols() + 1) * H);
    for (int y = s.y0; y < s.y1; ++y) {
        for (int xq = s.x0; xq < s.x1; ++xq) {
            const float * row = out.projector.data() + ((size_t) y * q + xq) * H;
            out.image_tokens.insert(out.image_tokens.end(), row, row + H);
        }
        out.image_tokens.insert(out.image_tokens.end(), nl.begin(), nl.end());
    }
    return out;
}

std::vector<float> cambrian_run_llm_block(const cambrian_model & m, compute_backend & compute, int k,
                                          const std::vector<float> & rows, const cambrian_connector_out & conn,
                                          int w, int h) {
    const cambrian_hparams & hp = m.hp;
    if (k < 0 || k >= (int) m.llm_blocks.size()) {
        fail("cambrian: in-LLM block %d out of range (the model has %zu)", k, m.llm_blocks.size());
    }
    const cambrian_span s = cambrian_unpad(hp.query_side, w, h);
    const int64_t       H = hp.llm_hidden, N = (int64_t) s.rows() * s.cols();
    if (rows.size() != (size_t) (N * H)) {
        fail("cambrian: in-LLM block input: expected %lld image rows (%d x %d kept cells) of width %lld, got %zu "
             "values", (long long) N, s.rows(), s.cols(), (long long) H, rows.size());
    }
    graph_ctx                                    g;
    ggml_context *                               ctx = g.ctx();
    std::array<ggml_tensor *, k_cambrian_towers> aux{};
    for (int i = 0; i < k_cambrian_towers; ++i) {
        const int64_t T = (int64_t) hp.tower_side[i] * hp.tower_side[i];
        if (conn.aux[i].size() != (size_t) (T * hp.vision_hidden)) {
            fail("cambrian: projected tower %d has %zu values, expected %lld", i, conn.aux[i].size(),
                 (long long) (T * hp.vision_hidden));
        }
        aux[i] = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, hp.vision_hidden, T);
        ggml_set_input(aux[i]);
    }
    ggml_tensor * gctx = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, hp.vision_hidden);
    ggml_set_input(gctx);
    ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, H, N);
    ggml_set_input(x);
    window_inputs wi;
    wi.build(ctx, hp, w, h, /*unpad=*/true);
    ggml_tensor * y = tname(sva_layer(ctx, m, m.llm_blocks[k], x, gctx, aux, wi.idx, wi.mask), "sva_llm_block", k);
    ggml_set_output(y);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, y);
    compute.run(gf, [&] {
        for (int i = 0; i < k_cambrian_towers; ++i) {
            ggml_backend_tensor_set(aux[i], conn.aux[i].data(), 0, conn.aux[i].size() * sizeof(float));
        }
        ggml_backend_tensor_set(gctx, conn.context.data(), 0, conn.context.size() * sizeof(float));
        ggml_backend_tensor_set(x, rows.data(), 0, rows.size() * sizeof(float));
        wi.set();
    });
    return tensor_to_f32(y);
}

}  // namespace glm
