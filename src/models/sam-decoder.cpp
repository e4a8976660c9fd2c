#include "models/sam-decoder.h"

#include "backend.h"
#include "common.h"
#include "gguf-loader.h"
#include "models/sam-ops.h"

#include <cmath>

namespace glm {

using sam_ops::layer_norm;
using sam_ops::linear;

// ---------------------------------------------------------------------------------------------- load

static sam_attn_weights load_attn(const gguf_loader & ml, const std::string & prefix, int64_t P, int64_t Ci) {
    sam_attn_weights a;
    a.q_w = ml.get(prefix + ".q.weight", { P, Ci });
    a.q_b = ml.get(prefix + ".q.bias", { Ci });
    a.k_w = ml.get(prefix + ".k.weight", { P, Ci });
    a.k_b = ml.get(prefix + ".k.bias", { Ci });
    a.v_w = ml.get(prefix + ".v.weight", { P, Ci });
    a.v_b = ml.get(prefix + ".v.bias", { Ci });
    a.o_w = ml.get(prefix + ".out.weight", { Ci, P });
    a.o_b = ml.get(prefix + ".out.bias", { P });
    return a;
}

sam_decoder::~sam_decoder() {
    if (derived_buf_) {
        ggml_backend_buffer_free(derived_buf_);
    }
    if (derived_ctx_) {
        ggml_free(derived_ctx_);
    }
}

void sam_decoder::load(const sam_hparams & hp, const gguf_loader & ml, ggml_backend_buffer_type_t buft) {
    hp_                = hp;
    const int64_t P    = hp.prompt_embd, mic = hp.mask_in_chans, nm = hp.n_mask_tokens();
    const int64_t Ci   = P / hp.dec_downsample;

    // prompt encoder
    pe_gauss_ = tensor_to_f32(ml.get("sam.prompt.pe_gaussian", { P / 2, 2 }));
    point_embd_.clear();
    for (int i = 0; i < 4; ++i) {
        point_embd_.push_back(tensor_to_f32(ml.get(sam_tn::prompt_point(i), { P, 1 })));
    }
    not_a_point_ = tensor_to_f32(ml.get("sam.prompt.not_a_point.weight", { P, 1 }));
    no_mask_     = ml.get("sam.prompt.no_mask.weight", { P, 1 });
    const int64_t md_in[7]  = { 1, 0, 0, mic / 4, 0, 0, mic };
    const int64_t md_out[7] = { mic / 4, mic / 4, 0, mic, mic, 0, P };
    for (int i : { 0, 3, 6 }) {
        const int64_t k = i == 6 ? 1 : 2;
        mask_down_w_[i] = ml.get(sam_tn::prompt_mask_down(i, "weight"), { k, k, md_in[i], md_out[i] });
        mask_down_b_[i] = ml.get(sam_tn::prompt_mask_down(i, "bias"), { md_out[i] });
    }
    for (int i : { 1, 4 }) {
        mask_down_w_[i] = ml.get(sam_tn::prompt_mask_down(i, "weight"), { md_out[i] });
        mask_down_b_[i] = ml.get(sam_tn::prompt_mask_down(i, "bias"), { md_out[i] });
    }

    // mask decoder
    out_tokens_                   = tensor_to_f32(ml.get("sam.dec.iou_token.weight", { P, 1 }));
    const std::vector<float> mtok = tensor_to_f32(ml.get("sam.dec.mask_tokens.weight", { P, nm }));
    out_tokens_.insert(out_tokens_.end(), mtok.begin(), mtok.end());

    layers_.assign(hp.dec_depth, {});
    for (int il = 0; il < hp.dec_depth; ++il) {
        sam_decoder_layer & L = layers_[il];
        L.self_attn           = load_attn(ml, sam_tn::dec_blk(il, "self_attn"), P, P);
        L.t2i                 = load_attn(ml, sam_tn::dec_blk(il, "cross_t2i"), P, Ci);
        L.i2t                 = load_attn(ml, sam_tn::dec_blk(il, "cross_i2t"), P, Ci);
        for (int n = 0; n < 4; ++n) {
            L.norm_w[n] = ml.get(sam_tn::dec_blk(il, strfmt("norm%d.weight", n + 1).c_str()), { P });
            L.norm_b[n] = ml.get(sam_tn::dec_blk(il, strfmt("norm%d.bias", n + 1).c_str()), { P });
        }
        L.lin1_w = ml.get(sam_tn::dec_blk(il, "mlp.lin1.weight"), { P, hp.dec_mlp });
        L.lin1_b = ml.get(sam_tn::dec_blk(il, "mlp.lin1.bias"), { hp.dec_mlp });
        L.lin2_w = ml.get(sam_tn::dec_blk(il, "mlp.lin2.weight"), { hp.dec_mlp, P });
        L.lin2_b = ml.get(sam_tn::dec_blk(il, "mlp.lin2.bias"), { P });
    }
    final_attn_   = load_attn(ml, "sam.dec.final_attn", P, Ci);
    final_norm_w_ = ml.get("sam.dec.final_norm.weight", { P });
    final_norm_b_ = ml.get("sam.dec.final_norm.bias", { P });

    up_w_[0] = ml.get("sam.dec.upscale.0.weight", { 2, 2, P / 4, P });
    up_b_[0] = ml.get("sam.dec.upscale.0.bias", { P / 4 });
    up_w_[1] = ml.get("sam.dec.upscale.1.weight", { P / 4 });
    up_b_[1] = ml.get("sam.dec.upscale.1.bias", { P / 4 });
    up_w_[3] = ml.get("sam.dec.upscale.3.weight", { 2, 2, P / 8, P / 4 });
    up_b_[3] = ml.get("sam.dec.upscale.3.bias", { P / 8 });

    hyper_.assign(nm, {});
    for (int i = 0; i < nm; ++i) {
        const int64_t dims[4] = { P, P, P, P / 8 };  // MLP(P, P, P/8, 3)
        for (int j = 0; j < 3; ++j) {
            hyper_[i].w.push_back(ml.get(sam_tn::dec_hyper(i, j, "weight"), { dims[j], dims[j + 1] }));
            hyper_[i].b.push_back(ml.get(sam_tn::dec_hyper(i, j, "bias"), { dims[j + 1] }));
        }
    }
    iou_head_ = {};
    for (int j = 0; j < hp.iou_head_depth; ++j) {
        const int64_t in  = j == 0 ? P : hp.iou_head_hidden;
        const int64_t out = j == hp.iou_head_depth - 1 ? nm : hp.iou_head_hidden;
        iou_head_.w.push_back(ml.get(sam_tn::dec_iou(j, "weight"), { in, out }));
        iou_head_.b.push_back(ml.get(sam_tn::dec_iou(j, "bias"), { out }));
    }

    // PositionEmbeddingRandom.forward((G, G)): x = (j + 0.5) / w, y = (i + 0.5) / h
    const int G = hp.grid();
    dense_pe_.assign((size_t) G * G * P, 0.0f);
    for (int i = 0; i < G; ++i) {
        for (int j = 0; j < G; ++j) {
            const float x = ((float) j + 0.5f) / (float) G;
            const float y = ((float) i + 0.5f) / (float) G;
            pe_encode(x, y, &dense_pe_[((size_t) i * G + j) * P]);
        }
    }
    ggml_init_params ip = { ggml_tensor_overhead() * 2, nullptr, true };
    derived_ctx_        = ggml_init(ip);
    dense_pe_t_         = ggml_new_tensor_2d(derived_ctx_, GGML_TYPE_F32, P, (int64_t) G * G);
    ggml_set_name(dense_pe_t_, "dense_pe");
    derived_buf_ = ggml_backend_alloc_ctx_tensors_from_buft(derived_ctx_, buft);
    if (!derived_buf_) {
        fail("%s: cannot allocate the dense positional encoding", ml.path().c_str());
    }
    ggml_backend_tensor_set(dense_pe_t_, dense_pe_.data(), 0, dense_pe_.size() * sizeof(float));
}

// ---------------------------------------------------------------------------------------------- prompts

// PositionEmbeddingRandom._pe_encoding of one point normalised to [0, 1]^2:
// c = 2 * coords - 1; c = c @ G; c = 2 * pi * c (the scalar rounded to float32 like torch); [sin, cos]
void sam_decoder::pe_encode(float x01, float y01, float * out) const {
    const int   half  = hp_.prompt_embd / 2;
    const float cx    = 2.0f * x01 - 1.0f;
    const float cy    = 2.0f * y01 - 1.0f;
    const float two_pi = (float) (2.0 * M_PI);
    for (int j = 0; j < half; ++j) {
        const float v = two_pi * (cx * pe_gauss_[j] + cy * pe_gauss_[half + j]);
        out[j]        = std::sin(v);
        out[half + j] = std::cos(v);
    }
}

int sam_decoder::n_tokens(const sam_frame_prompt & p) const {
    const int n_pts = (int) p.labels.size();
    int       n     = 1 + hp_.n_mask_tokens() + n_pts;
    if (n_pts > 0 && !p.has_box) {
        n += 1;  // the padding point
    }
    return n + (p.has_box ? 2 : 0);
}

std::vector<float> sam_decoder::tokens(const sam_frame_prompt & p) const {
    const int          P = hp_.prompt_embd;
    const float        S = (float) hp_.image_size;  // input_image_size
    std::vector<float> out(out_tokens_);             // iou token, mask tokens
    const size_t       n_pts = p.labels.size();
    GGML_ASSERT(p.xy.size() == 2 * n_pts);

    auto add_row = [&]() -> float * {
        out.resize(out.size() + P, 0.0f);
        return &out[out.size() - P];
    };
    // _embed_points(points, labels, pad = boxes is None)
    if (n_pts > 0) {
        std::vector<float> xy(p.xy);
        std::vector<int>   labels(p.labels);
        for (float & v : xy) {
            v = v + 0.5f;  // shift to the centre of the pixel
        }
        if (!p.has_box) {
            xy.push_back(0.0f);  // padding point (0, 0), label -1, added after the shift
            xy.push_back(0.0f);
            labels.push_back(-1);
        }
        for (size_t i = 0; i < labels.size(); ++i) {
            float * row = add_row();
            if (labels[i] == -1) {
                std::copy(not_a_point_.begin(), not_a_point_.end(), row);  // zeroed, + not_a_point_embed
                continue;
            }
            pe_encode(xy[2 * i] / S, xy[2 * i + 1] / S, row);
            if (labels[i] == 0 || labels[i] == 1) {
                const std::vector<float> & e = point_embd_[labels[i]];
                for (int c = 0; c < P; ++c) {
                    row[c] += e[c];
                }
            }
        }
    }
    // _embed_boxes: the two corners, + point_embeddings[2] / [3]
    if (p.has_box) {
        for (int corner = 0; corner < 2; ++corner) {
            float * row = add_row();
            pe_encode((p.box[2 * corner] + 0.5f) / S, (p.box[2 * corner + 1] + 0.5f) / S, row);
            const std::vector<float> & e = point_embd_[2 + corner];
            for (int c = 0; c < P; ++c) {
                row[c] += e[c];
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- graph

// transformer.py Attention with downsampled internal width: q [P, Nq, B], k and v [P, Nk, B] -> [P, Nq, B]
ggml_tensor * sam_decoder::attention(ggml_context * ctx, const sam_attn_weights & w, ggml_tensor * q_in,
                                     ggml_tensor * k_in, ggml_tensor * v_in, const char * name, int il) const {
    const int64_t Ci = w.q_w->ne[1], nh = hp_.dec_heads, dh = Ci / nh;
    const int64_t Nq = q_in->ne[1], Nk = k_in->ne[1], B = q_in->ne[2];

    ggml_tensor * q = ggml_reshape_4d(ctx, linear(ctx, q_in, w.q_w, w.q_b), dh, nh, Nq, B);
    ggml_tensor * k = ggml_reshape_4d(ctx, linear(ctx, k_in, w.k_w, w.k_b), dh, nh, Nk, B);
    ggml_tensor * v = ggml_reshape_4d(ctx, linear(ctx, v_in, w.v_w, w.v_b), dh, nh, Nk, B);
    q               = ggml_cont(ctx, ggml_permute(ctx, q, 0, 2, 1, 3));  // [dh, Nq, nh, B]
    k               = ggml_cont(ctx, ggml_permute(ctx, k, 0, 2, 1, 3));  // [dh, Nk, nh, B]
    v               = ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3));  // [Nk, dh, nh, B]

    ggml_tensor * kq = ggml_mul_mat(ctx, k, q);                          // [Nk, Nq, nh, B]
    kq               = ggml_soft_max_ext(ctx, kq, nullptr, 1.0f / std::sqrt((float) dh), 0.0f);
    ggml_tensor * o  = ggml_mul_mat(ctx, v, kq);                         // [dh, Nq, nh, B]
    o                = ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3)); // [dh, nh, Nq, B]
    o                = ggml_reshape_3d(ctx, o, Ci, Nq, B);
    return tname(linear(ctx, o, w.o_w, w.o_b), name, il);
}

ggml_tensor * sam_decoder::mlp(ggml_context * ctx, const sam_mlp & m, ggml_tensor * x, const char * name) const {
    for (size_t j = 0; j < m.w.size(); ++j) {
        x = linear(ctx, x, m.w[j], m.b[j]);
        if (j + 1 < m.w.size()) {
            x = ggml_relu(ctx, x);
        }
    }
    return tname(x, name);
}

sam_decoder::outputs sam_decoder::build(ggml_context * ctx, ggml_tensor * image_emb, ggml_tensor * tokens,
                                        ggml_tensor * mask_in) const {
    const int64_t P = hp_.prompt_embd, G = hp_.grid(), HW = G * G, nm = hp_.n_mask_tokens();
    const int64_t B = tokens->ne[2];
    const float   ln2d = hp_.ln2d_eps;

    // src = image embedding (repeated per prompt) + dense prompt embedding
    ggml_tensor * src;
    if (mask_in) {
        // PromptEncoder.mask_downscaling: conv 2x2/2 -> LN2d -> GELU -> conv 2x2/2 -> LN2d -> GELU -> conv 1x1
        ggml_tensor * m = sam_ops::conv2d(ctx, mask_down_w_[0], mask_in, 2, 0);      // [mic/4, L/2, L/2, B]
        m               = ggml_add(ctx, m, mask_down_b_[0]);
        m               = ggml_gelu_erf(ctx, layer_norm(ctx, m, mask_down_w_[1], mask_down_b_[1], ln2d));
        m               = sam_ops::conv2d(ctx, mask_down_w_[3], sam_ops::to_planar(ctx, m), 2, 0);  // [mic, G, G, B]
        m               = ggml_add(ctx, m, mask_down_b_[3]);
        m               = ggml_gelu_erf(ctx, layer_norm(ctx, m, mask_down_w_[4], mask_down_b_[4], ln2d));
        m = linear(ctx, m, ggml_reshape_2d(ctx, mask_down_w_[6], hp_.mask_in_chans, P), mask_down_b_[6]);  // [P, G, G, B]
        m   = tname(ggml_reshape_3d(ctx, m, P, HW, B), "dense_embeddings");
        src = ggml_add(ctx, m, image_emb);
    } else {
        src = ggml_repeat_4d(ctx, image_emb, P, HW, B, 1);
        src = ggml_add(ctx, src, no_mask_);
    }
    tname(src, "dec_src");

    // TwoWayTransformer
    ggml_tensor * pe      = dense_pe_t_;  // [P, HW], broadcast over prompts
    ggml_tensor * queries = tokens;       // [P, Nt, B]
    ggml_tensor * keys    = src;          // [P, HW, B]
    for (int il = 0; il < hp_.dec_depth; ++il) {
        const sam_decoder_layer & L = layers_[il];
        if (il == 0) {  // skip_first_layer_pe: no PE and no residual
            queries = attention(ctx, L.self_attn, queries, queries, queries, "dec_self_attn", il);
        } else {
            ggml_tensor * q = ggml_add(ctx, queries, tokens);
            queries         = ggml_add(ctx, queries, attention(ctx, L.self_attn, q, q, queries, "dec_self_attn", il));
        }
        queries = layer_norm(ctx, queries, L.norm_w[0], L.norm_b[0], hp_.dec_eps);

        ggml_tensor * q = ggml_add(ctx, queries, tokens);
        ggml_tensor * k = ggml_add(ctx, keys, pe);
        queries         = ggml_add(ctx, queries, attention(ctx, L.t2i, q, k, keys, "dec_t2i_attn", il));
        queries         = layer_norm(ctx, queries, L.norm_w[1], L.norm_b[1], hp_.dec_eps);

        ggml_tensor * m = linear(ctx, ggml_relu(ctx, linear(ctx, queries, L.lin1_w, L.lin1_b)), L.lin2_w, L.lin2_b);
        queries         = ggml_add(ctx, queries, m);
        queries         = layer_norm(ctx, queries, L.norm_w[2], L.norm_b[2], hp_.dec_eps);

        q    = ggml_add(ctx, queries, tokens);
        k    = ggml_add(ctx, keys, pe);
        keys = ggml_add(ctx, keys, attention(ctx, L.i2t, k, q, queries, "dec_i2t_attn", il));
        keys = layer_norm(ctx, keys, L.norm_w[3], L.norm_b[3], hp_.dec_eps);
        tname(queries, "dec_queries", il);
        tname(keys, "dec_keys", il);
    }
    {
        ggml_tensor * q = ggml_add(ctx, queries, tokens);
        ggml_tensor * k = ggml_add(ctx, keys, pe);
        queries         = ggml_add(ctx, queries, attention(ctx, final_attn_, q, k, keys, "dec_final_attn", -1));
        queries         = layer_norm(ctx, queries, final_norm_w_, final_norm_b_, hp_.dec_eps);
        tname(queries, "dec_hs");
    }

    // output_upscaling: convT 2x2/2 -> LN2d -> GELU -> convT 2x2/2 -> GELU
    ggml_tensor * up = ggml_reshape_4d(ctx, keys, P, G, G, B);
    up               = sam_ops::conv_transpose_2x2(ctx, up_w_[0], up_b_[0], up);          // [P/4, 2G, 2G, B]
    up               = ggml_gelu_erf(ctx, layer_norm(ctx, up, up_w_[1], up_b_[1], ln2d));
    up               = sam_ops::conv_transpose_2x2(ctx, up_w_[3], up_b_[3], up);          // [P/8, 4G, 4G, B]
    up               = ggml_gelu_erf(ctx, up);
    up               = tname(ggml_reshape_3d(ctx, up, P / 8, 16 * HW, B), "dec_upscaled");

    // hypernetworks: one MLP per mask token -> [P/8, nm, B]; masks = hyper_in @ upscaled
    ggml_tensor * hyper = nullptr;
    for (int64_t i = 0; i < nm; ++i) {
        ggml_tensor * t = ggml_cont(ctx, ggml_view_2d(ctx, queries, P, B, queries->nb[2], (1 + i) * queries->nb[1]));
        t               = mlp(ctx, hyper_[i], t, "dec_hyper");                            // [P/8, B]
        t               = ggml_reshape_3d(ctx, t, P / 8, 1, B);
        hyper           = hyper ? ggml_concat(ctx, hyper, t, 1) : t;
    }
    outputs out;
    out.masks = tname(ggml_mul_mat(ctx, up, hyper), "low_res_masks");                    // [L*L, nm, B]

    ggml_tensor * iou_tok = ggml_cont(ctx, ggml_view_2d(ctx, queries, P, B, queries->nb[2], 0));
    out.iou               = mlp(ctx, iou_head_, iou_tok, "iou_predictions");              // [nm, B]
    return out;
}

}  // namespace glm
