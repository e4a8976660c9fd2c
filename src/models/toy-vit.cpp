#include "models/toy-vit.h"

#include "common.h"

#include <cmath>

namespace glm {

void toyvit_hparams::validate(const std::string & what) const {
    if (image_size <= 0 || patch_size <= 0 || image_size % patch_size != 0) {
        fail("%s: image_size %d is not a positive multiple of patch_size %d", what.c_str(), image_size, patch_size);
    }
    if (n_embd <= 0 || n_head <= 0 || n_embd % n_head != 0) {
        fail("%s: embedding_length %d is not divisible by head_count %d", what.c_str(), n_embd, n_head);
    }
    if (n_ff <= 0 || n_layer < 0 || n_proj_hidden <= 0 || n_proj_out <= 0) {
        fail("%s: bad sizes (feed_forward_length %d, block_count %d, projector %d -> %d)", what.c_str(), n_ff,
             n_layer, n_proj_hidden, n_proj_out);
    }
    for (int c = 0; c < 3; ++c) {
        if (!(std_[c] > 0.0f)) {
            fail("%s: image_std[%d] = %g must be positive", what.c_str(), c, std_[c]);
        }
    }
}

void toyvit_for_each_tensor(const toyvit_hparams & hp, toyvit_weights & w,
                            const std::function<void(const std::string &, const std::vector<int64_t> &,
                                                     ggml_tensor *&)> & fn) {
    const int64_t C = hp.n_embd, F = hp.n_ff;
    fn("v.patch_embd.weight", { hp.patch_dim(), C }, w.patch_w);
    fn("v.patch_embd.bias", { C }, w.patch_b);
    fn("v.position_embd.weight", { C, hp.n_patches() }, w.pos);
    w.layers.resize(hp.n_layer);
    for (int il = 0; il < hp.n_layer; ++il) {
        toyvit_layer &    L = w.layers[il];
        const std::string b = "v.blk." + std::to_string(il) + ".";
        fn(b + "attn_norm.weight", { C }, L.attn_norm);
        fn(b + "attn_q.weight", { C, C }, L.wq);
        fn(b + "attn_k.weight", { C, C }, L.wk);
        fn(b + "attn_v.weight", { C, C }, L.wv);
        fn(b + "attn_out.weight", { C, C }, L.wo);
        fn(b + "ffn_norm.weight", { C }, L.ffn_norm);
        fn(b + "ffn_gate.weight", { C, F }, L.ffn_gate);
        fn(b + "ffn_up.weight", { C, F }, L.ffn_up);
        fn(b + "ffn_down.weight", { F, C }, L.ffn_down);
    }
    fn("v.post_norm.weight", { C }, w.post_norm);
    fn("mm.0.weight", { C, hp.n_proj_hidden }, w.mm0_w);
    fn("mm.0.bias", { hp.n_proj_hidden }, w.mm0_b);
    fn("mm.2.weight", { hp.n_proj_hidden, hp.n_proj_out }, w.mm2_w);
    fn("mm.2.bias", { hp.n_proj_out }, w.mm2_b);
}

void toyvit_write_hparams(gguf_writer & gw, const toyvit_hparams & hp) {
    gw.set_str("general.architecture", "toyvit");
    gw.set_u32("toyvit.image_size", (uint32_t) hp.image_size);
    gw.set_u32("toyvit.patch_size", (uint32_t) hp.patch_size);
    gw.set_u32("toyvit.embedding_length", (uint32_t) hp.n_embd);
    gw.set_u32("toyvit.feed_forward_length", (uint32_t) hp.n_ff);
    gw.set_u32("toyvit.attention.head_count", (uint32_t) hp.n_head);
    gw.set_u32("toyvit.block_count", (uint32_t) hp.n_layer);
    gw.set_f32("toyvit.attention.layer_norm_rms_epsilon", hp.eps);
    gw.set_u32("toyvit.projector.hidden_size", (uint32_t) hp.n_proj_hidden);
    gw.set_u32("toyvit.projection_dim", (uint32_t) hp.n_proj_out);
    gw.set_arr_f32("toyvit.image_mean", { hp.mean[0], hp.mean[1], hp.mean[2] });
    gw.set_arr_f32("toyvit.image_std", { hp.std_[0], hp.std_[1], hp.std_[2] });
}

toyvit_hparams toyvit_read_hparams(const gguf_loader & ml) {
    const std::string & f = ml.path();
    if (ml.get_str("general.architecture", "") != "toyvit") {
        fail("%s: general.architecture is '%s', expected 'toyvit'", f.c_str(),
             ml.get_str("general.architecture", "").c_str());
    }
    toyvit_hparams hp;
    hp.image_size    = (int) ml.get_int("toyvit.image_size");
    hp.patch_size    = (int) ml.get_int("toyvit.patch_size");
    hp.n_embd        = (int) ml.get_int("toyvit.embedding_length");
    hp.n_ff          = (int) ml.get_int("toyvit.feed_forward_length");
    hp.n_head        = (int) ml.get_int("toyvit.attention.head_count");
    hp.n_layer       = (int) ml.get_int("toyvit.block_count");
    hp.eps           = (float) ml.get_float("toyvit.attention.layer_norm_rms_epsilon");
    hp.n_proj_hidden = (int) ml.get_int("toyvit.projector.hidden_size");
    hp.n_proj_out    = (int) ml.get_int("toyvit.projection_dim");
    const std::vector<float> mean = ml.get_arr_f32("toyvit.image_mean");
    const std::vector<float> sd   = ml.get_arr_f32("toyvit.image_std");
    if (mean.size() != 3 || sd.size() != 3) {
        fail("%s: toyvit.image_mean/image_std must have 3 values, got %zu/%zu", f.c_str(), mean.size(), sd.size());
    }
    for (int c = 0; c < 3; ++c) {
        hp.mean[c] = mean[c];
        hp.std_[c] = sd[c];
    }
    hp.validate(f);
    return hp;
}

ggml_tensor * toyvit_build(ggml_context * ctx, const toyvit_hparams & hp, const toyvit_weights & w,
                           ggml_tensor * patches, std::vector<ggml_tensor *> * attn) {
    const int64_t C = hp.n_embd, H = hp.n_head, D = C / H, N = hp.n_patches(), B = patches->ne[2];
    GGML_ASSERT(patches->ne[0] == hp.patch_dim() && patches->ne[1] == N);

    ggml_tensor * x = ggml_mul_mat(ctx, w.patch_w, patches);  // [C, N, B]
    x               = ggml_add(ctx, x, w.patch_b);
    x               = tname(ggml_add(ctx, x, w.pos), "v_inp");  // pos [C, N] broadcast over B
    for (int il = 0; il < hp.n_layer; ++il) {
        const toyvit_layer & L = w.layers[il];
        ggml_tensor *        h = ggml_mul(ctx, ggml_rms_norm(ctx, x, hp.eps), L.attn_norm);
        tname(h, "v_attn_norm", il);
        // q, k: [C, N, B] -> [D, H, N, B] -> [D, N, H, B]
        ggml_tensor * q = ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wq, h), D, H, N, B);
        ggml_tensor * k = ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wk, h), D, H, N, B);
        ggml_tensor * v = ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wv, h), D, H, N, B);
        q               = ggml_cont(ctx, ggml_permute(ctx, q, 0, 2, 1, 3));
        k               = ggml_cont(ctx, ggml_permute(ctx, k, 0, 2, 1, 3));
        v               = ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3));  // [N, D, H, B]
        ggml_tensor * kq = ggml_mul_mat(ctx, k, q);                             // [N_k, N_q, H, B]
        kq               = ggml_soft_max_ext(ctx, kq, nullptr, 1.0f / std::sqrt((float) D), 0.0f);
        tname(kq, "v_kq_soft_max", il);
        if (attn) {
            attn->push_back(kq);
        }
        ggml_tensor * o = ggml_mul_mat(ctx, v, kq);                   // [D, N_q, H, B]
        o               = ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3));  // [D, H, N, B]
        o               = ggml_reshape_3d(ctx, o, C, N, B);
        o               = ggml_mul_mat(ctx, L.wo, o);
        x               = tname(ggml_add(ctx, x, o), "v_ffn_inp", il);

        h = ggml_mul(ctx, ggml_rms_norm(ctx, x, hp.eps), L.ffn_norm);
        ggml_tensor * g = ggml_mul_mat(ctx, L.ffn_gate, h);
        ggml_tensor * u = ggml_mul_mat(ctx, L.ffn_up, h);
        h               = ggml_mul_mat(ctx, L.ffn_down, ggml_swiglu_split(ctx, g, u));
        x               = tname(ggml_add(ctx, x, h), "v_out", il);
    }
    x = tname(ggml_mul(ctx, ggml_rms_norm(ctx, x, hp.eps), w.post_norm), "v_post_norm");
    // projector: Linear -> SiLU -> Linear
    x = ggml_silu(ctx, ggml_add(ctx, ggml_mul_mat(ctx, w.mm0_w, x), w.mm0_b));
    x = ggml_add(ctx, ggml_mul_mat(ctx, w.mm2_w, x), w.mm2_b);
    return tname(x, "v_proj");  // [n_proj_out, N, B]
}

std::vector<float> toyvit_preprocess(const toyvit_hparams & hp, const image_u8 & img, pad_geometry * geom) {
    if (img.empty()) {
        fail("toyvit: empty image");
    }
    uint8_t bg[3];
    for (int c = 0; c < 3; ++c) {
        bg[c] = (uint8_t) (int) (hp.mean[c] * 255.0f);
    }
    pad_geometry g;
    image_u8     sq = expand_to_square(img, bg, &g);
    if (sq.w != hp.image_size) {
        sq = pil_resize(sq, hp.image_size, hp.image_size, pil_filter::bicubic);
    }
    g.input_size = hp.image_size;
    g.scale      = (float) hp.image_size / (float) g.side;
    if (geom) {
        *geom = g;
    }
    const int P = hp.patch_size, G = hp.grid(), PD = hp.patch_dim();
    float     scale[3], shift[3];
    for (int c = 0; c < 3; ++c) {
        scale[c] = 1.0f / (255.0f * hp.std_[c]);
        shift[c] = hp.mean[c] / hp.std_[c];
    }
    std::vector<float> out((size_t) PD * G * G);
    for (int gy = 0; gy < G; ++gy) {
        for (int gx = 0; gx < G; ++gx) {
            float * dst = &out[(size_t) (gy * G + gx) * PD];
            for (int py = 0; py < P; ++py) {
                for (int px = 0; px < P; ++px) {
                    const uint8_t * s = sq.at(gx * P + px, gy * P + py);
                    for (int c = 0; c < 3; ++c) {
                        *dst++ = s[c] * scale[c] - shift[c];
                    }
                }
            }
        }
    }
    return out;
}

toyvit_encoder::toyvit_encoder(const std::string & path, compute_backend & backend) :
    loader_(path),
    backend_(backend) {
    hp_ = toyvit_read_hparams(loader_);
    loader_.load(backend_.primary());
    toyvit_for_each_tensor(hp_, w_, [&](const std::string & name, const std::vector<int64_t> & ne, ggml_tensor *& t) {
        t = loader_.get(name, ne);
    });
    loader_.check_all_used();
}

std::string toyvit_encoder::name() const {
    return strfmt("toy-vit (%d layers of %d, %dx%d patches of %d px) + mlp projector -> %d", hp_.n_layer,
                  hp_.n_embd, grid_w(), grid_h(), hp_.patch_size, n_embd());
}

std::vector<float> toyvit_encoder::encode_patches(const std::vector<float> & patches, compute_backend & compute) const {
    const size_t n = (size_t) hp_.patch_dim() * hp_.n_patches();
    if (patches.size() != n) {
        fail("toyvit: expected %zu patch values, got %zu", n, patches.size());
    }
    graph_ctx     g;
    ggml_tensor * inp = ggml_new_tensor_3d(g.ctx(), GGML_TYPE_F32, hp_.patch_dim(), hp_.n_patches(), 1);
    ggml_set_input(tname(inp, "v_patches"));
    ggml_tensor * embd = toyvit_build(g.ctx(), hp_, w_, inp);
    ggml_set_output(embd);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, embd);
    compute.run(gf, [&] { ggml_backend_tensor_set(inp, patches.data(), 0, n * sizeof(float)); });
    return tensor_to_f32(embd);
}

vision_output toyvit_encoder::encode(const image_u8 & img, compute_backend & compute, uint64_t) const {
    vision_output out;
    out.embd     = encode_patches(toyvit_preprocess(hp_, img, &out.geom), compute);
    out.n_tokens = hp_.n_patches();
    out.n_embd   = n_embd();
    out.grid_w   = grid_w();
    out.grid_h   = grid_h();
    // one square grid over LLaVA's padded square (expand2square), tokens in raster order
    out.layout = image_layout::single(out.grid_h, out.grid_w, rect_padded_square(img.w, img.h));
    return out;
}

}  // namespace glm
