#include "models/clip.h"

#include "common.h"
#include "models/blocks.h"

#include <algorithm>
#include <cmath>

namespace glm {

void clip_model::load(const gguf_loader & ml, bool require_projector, const std::string & tp,
                      const std::string & kp) {
    const std::string & f = ml.path();
    hp.image_size         = (int) ml.get_int(kp + ".image_size");
    hp.patch_size         = (int) ml.get_int(kp + ".patch_size");
    hp.n_embd             = (int) ml.get_int(kp + ".embedding_length");
    hp.n_ff               = (int) ml.get_int(kp + ".feed_forward_length");
    hp.n_head             = (int) ml.get_int(kp + ".attention.head_count");
    hp.eps                = (float) ml.get_float(kp + ".attention.layer_norm_epsilon", 1e-5);
    const int n_block     = (int) ml.get_int(kp + ".block_count");
    if (hp.image_size <= 0 || hp.patch_size <= 0 || hp.image_size % hp.patch_size != 0) {
        fail("%s: image_size %d is not a positive multiple of patch_size %d", f.c_str(), hp.image_size,
             hp.patch_size);
    }
    if (hp.n_embd <= 0 || hp.n_head <= 0 || hp.n_embd % hp.n_head != 0) {
        fail("%s: embedding_length %d is not divisible by head_count %d", f.c_str(), hp.n_embd, hp.n_head);
    }
    // hidden_states[n] is the output of n layers; without the key the file keeps exactly the layers to run
    hp.n_layer = n_block;
    if (ml.has_key(kp + ".feature_layer")) {
        const std::vector<int64_t> fl = ml.get_arr_int(kp + ".feature_layer");
        if (fl.size() != 1) {
            fail("%s: %s.feature_layer has %zu entries; LLaVA-1.5 uses exactly one", f.c_str(), kp.c_str(),
                 fl.size());
        }
        if (fl[0] < 0 || fl[0] > n_block) {
            fail("%s: feature_layer %lld out of range 0..%d (block_count)", f.c_str(), (long long) fl[0], n_block);
        }
        hp.n_layer = (int) fl[0];
    }
    hp.quick_gelu = !ml.get_bool("clip.use_gelu", false);
    const std::vector<float> mean = ml.get_arr_f32(kp + ".image_mean");
    const std::vector<float> sd   = ml.get_arr_f32(kp + ".image_std");
    if (mean.size() != 3 || sd.size() != 3) {
        fail("%s: image_mean/image_std must have 3 values, got %zu/%zu", f.c_str(), mean.size(), sd.size());
    }
    for (int c = 0; c < 3; ++c) {
        hp.mean[c] = mean[c];
        hp.std_[c] = sd[c];
    }

    const int64_t C = hp.n_embd, P = hp.patch_size, N = hp.n_patches();
    patch_w  = ml.get(tp + ".patch_embd.weight", { P, P, 3, C });
    patch_b  = ml.get_opt(tp + ".patch_embd.bias", { C });
    cls      = ml.get(tp + ".class_embd", { C });
    pos      = ml.get(tp + ".position_embd.weight", { C, N + 1 });
    pre_ln_w = ml.get(tp + ".pre_ln.weight", { C });
    pre_ln_b = ml.get(tp + ".pre_ln.bias", { C });

    // The MLP: the legacy converter stores HF fc1 as ffn_down and fc2 as ffn_up; newer converters use the HF
    // meaning. fc1 maps n_embd -> n_ff, so ffn_down of ne [n_embd, n_ff] means the legacy swap (as clip.cpp
    // decides); when n_ff == n_embd the shapes cannot tell and we assume the legacy layout.
    bool swapped = true;
    if (n_block > 0) {
        const ggml_tensor * down = ml.describe(tp + ".blk.0.ffn_down.weight");
        swapped                  = down == nullptr || down->ne[0] == C;
    }
    layers.resize(hp.n_layer);
    for (int il = 0; il < n_block; ++il) {
        const std::string b = tp + ".blk." + std::to_string(il) + ".";
        if (il >= hp.n_layer) {  // past the feature layer: present in the file, never run
            for (const char * n : { "ln1", "ln2", "attn_q", "attn_k", "attn_v", "attn_out", "ffn_down", "ffn_up" }) {
                ml.skip(b + n + ".weight");
                ml.skip(b + n + ".bias");
            }
            continue;
        }
        clip_layer &  L   = layers[il];
        const char *  fc1 = swapped ? "ffn_down" : "ffn_up";
        const char *  fc2 = swapped ? "ffn_up" : "ffn_down";
        L.ln1_w = ml.get(b + "ln1.weight", { C });
        L.ln1_b = ml.get(b + "ln1.bias", { C });
        L.ln2_w = ml.get(b + "ln2.weight", { C });
        L.ln2_b = ml.get(b + "ln2.bias", { C });
        L.q_w   = ml.get(b + "attn_q.weight", { C, C });
        L.q_b   = ml.get(b + "attn_q.bias", { C });
        L.k_w   = ml.get(b + "attn_k.weight", { C, C });
        L.k_b   = ml.get(b + "attn_k.bias", { C });
        L.v_w   = ml.get(b + "attn_v.weight", { C, C });
        L.v_b   = ml.get(b + "attn_v.bias", { C });
        L.o_w   = ml.get(b + "attn_out.weight", { C, C });
        L.o_b   = ml.get(b + "attn_out.bias", { C });
        L.fc1_w = ml.get(b + fc1 + ".weight", { C, hp.n_ff });
        L.fc1_b = ml.get(b + fc1 + ".bias", { hp.n_ff });
        L.fc2_w = ml.get(b + fc2 + ".weight", { hp.n_ff, C });
        L.fc2_b = ml.get(b + fc2 + ".bias", { C });
    }
    ml.skip(tp + ".post_ln.weight");  // the last layer's post-LN, if a converter kept it
    ml.skip(tp + ".post_ln.bias");

    if (!ml.has_tensor("mm.0.weight")) {
        if (require_projector) {
            fail("%s: no LLaVA projector (mm.0.weight); is this an mmproj file?", f.c_str());
        }
        return;
    }
    const std::string pt = ml.get_str("clip.projector_type", "mlp");
    if (pt != "mlp") {
        fail("%s: projector type '%s' is not supported (LLaVA-1.5 'mlp' only)", f.c_str(), pt.c_str());
    }
    const ggml_tensor * d0 = ml.describe("mm.0.weight");
    hp.n_proj_out          = (int) d0->ne[1];
    const int64_t Pout     = hp.n_proj_out;
    mm0_w = ml.get("mm.0.weight", { C, Pout });
    mm0_b = ml.get("mm.0.bias", { Pout });
    mm2_w = ml.get("mm.2.weight", { Pout, Pout });
    mm2_b = ml.get("mm.2.bias", { Pout });
}

using blocks::layer_norm;
using blocks::linear;

ggml_tensor * clip_build_features(ggml_context * ctx, const clip_model & m, ggml_tensor * pixels) {
    const clip_hparams & hp = m.hp;
    const int64_t        C = hp.n_embd, G = hp.grid(), N = hp.n_patches() + 1, B = pixels->ne[3];
    const int            P = hp.patch_size;

    // patch embedding: the 14x14 stride-14 conv as im2col + matmul (ggml_conv_2d would round activations to F16)
    ggml_tensor * cur = blocks::conv2d(ctx, m.patch_w, pixels, P, 0);  // [C, G, G, B]
    cur               = ggml_reshape_3d(ctx, cur, C, G * G, B);           // patch index y*G + x
    if (m.patch_b) {
        cur = ggml_add(ctx, cur, m.patch_b);
    }
    tname(cur, "patch_embd");

    // CLS first (position 0), then the patches (positions 1..G*G), as HF CLIPVisionEmbeddings; one per image
    ggml_tensor * cls = ggml_reshape_3d(ctx, m.cls, C, 1, 1);
    if (B > 1) {
        cls = ggml_repeat(ctx, cls, ggml_new_tensor_3d(ctx, GGML_TYPE_F32, C, 1, B));  // [C, 1, B]
    }
    cur = ggml_concat(ctx, cls, cur, 1);  // [C, N, B]
    cur = ggml_add(ctx, cur, m.pos);      // positions broadcast over the batch
    cur               = tname(layer_norm(ctx, cur, m.pre_ln_w, m.pre_ln_b, hp.eps), "pre_ln");

    for (int il = 0; il < hp.n_layer; ++il) {
        const clip_layer & L = m.layers[il];
        ggml_tensor *      x = layer_norm(ctx, cur, L.ln1_w, L.ln1_b, hp.eps);

        ggml_tensor * q   = linear(ctx, x, L.q_w, L.q_b);  // [C, N]
        ggml_tensor * k   = linear(ctx, x, L.k_w, L.k_b);
        ggml_tensor * v   = linear(ctx, x, L.v_w, L.v_b);
        ggml_tensor * kqv = blocks::attention(ctx, q, k, v, hp.n_head);  // softmax(q k^T / sqrt(d)) v per head
        x                 = linear(ctx, ggml_reshape_3d(ctx, kqv, C, N, B), L.o_w, L.o_b);
        cur               = ggml_add(ctx, cur, x);

        x = layer_norm(ctx, cur, L.ln2_w, L.ln2_b, hp.eps);
        x = linear(ctx, x, L.fc1_w, L.fc1_b);
        x   = hp.quick_gelu ? blocks::gelu_quick(ctx, x) : ggml_gelu_erf(ctx, x);
        x   = linear(ctx, x, L.fc2_w, L.fc2_b);
        cur = tname(ggml_add(ctx, cur, x), "clip_layer", il);
    }
    // drop CLS: rows 1..N-1 of each image
    cur = ggml_view_3d(ctx, cur, C, N - 1, B, cur->nb[1], cur->nb[2], cur->nb[1]);
    return tname(ggml_cont(ctx, cur), "clip_features");
}

ggml_tensor * clip_build_projector(ggml_context * ctx, const clip_model & m, ggml_tensor * features) {
    if (!m.mm0_w) {
        fail("clip: the model has no projector");
    }
    ggml_tensor * x = linear(ctx, features, m.mm0_w, m.mm0_b);
    x               = ggml_gelu_erf(ctx, x);
    x               = linear(ctx, x, m.mm2_w, m.mm2_b);
    return tname(x, "image_embeddings");
}

std::vector<float> clip_preprocess(const clip_hparams & hp, const image_u8 & img, pad_geometry * geom) {
    return llava_pad_preprocess(img, hp.image_size, hp.mean, hp.std_, geom);
}

clip_encoder::clip_encoder(const std::string & path, compute_backend & backend) : loader_(path), backend_(backend) {
    if (loader_.get_str("general.architecture", "") != "clip") {
        fail("%s: general.architecture is '%s', expected 'clip' (a LLaVA mmproj file)", path.c_str(),
             loader_.get_str("general.architecture", "").c_str());
    }
    if (loader_.has_key("clip.vision.image_grid_pinpoints") ||
        loader_.get_str("clip.vision.mm_patch_merge_type", "flat") != "flat") {
        fail("%s: a LLaVA-NeXT (anyres) mmproj (clip.vision.mm_patch_merge_type '%s', image_grid_pinpoints %s): it "
             "needs the LLaVA-NeXT encoder (models/llava-next.h; vision_encoder_load picks it), not LLaVA-1.5's",
             path.c_str(), loader_.get_str("clip.vision.mm_patch_merge_type", "(missing)").c_str(),
             loader_.has_key("clip.vision.image_grid_pinpoints") ? "present" : "missing");
    }
    loader_.load(backend_.primary());
    model_.load(loader_, /*require_projector=*/true);
    loader_.check_all_used();
}

std::string clip_encoder::name() const {
    return strfmt("clip-vit (%d layers of %d, %dx%d patches of %d px) + mlp projector -> %d", model_.hp.n_layer,
                  model_.hp.n_embd, grid_w(), grid_h(), model_.hp.patch_size, n_embd());
}

std::vector<float> clip_run(const clip_model & m, compute_backend & compute, const std::vector<float> & chw, int n,
                            std::vector<float> * features) {
    const int64_t S = m.hp.image_size;
    if (n <= 0 || chw.size() != (size_t) n * 3 * S * S) {
        fail("clip: expected %d image(s) of 3x%lldx%lld pixel values (%zu), got %zu", n, (long long) S, (long long) S,
             (size_t) std::max(n, 0) * 3 * S * S, chw.size());
    }
    graph_ctx     g;
    ggml_tensor * inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, S, S, 3, n);  // [S, S, 3, n] planar
    ggml_set_input(tname(inp, "inp_raw"));
    ggml_tensor * feats = clip_build_features(g.ctx(), m, inp);    // [C, g*g, n]
    ggml_tensor * embd  = clip_build_projector(g.ctx(), m, feats);  // [n_embd, g*g, n]
    ggml_set_output(feats);
    ggml_set_output(embd);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, feats);
    ggml_build_forward_expand(gf, embd);
    compute.run(gf, [&] { ggml_backend_tensor_set(inp, chw.data(), 0, chw.size() * sizeof(float)); });
    if (features) {
        *features = tensor_to_f32(feats);
    }
    return tensor_to_f32(embd);
}

std::vector<float> clip_encoder::encode_pixels(const std::vector<float> & chw, compute_backend & compute,
                                               std::vector<float> * features) const {
    return clip_run(model_, compute, chw, 1, features);
}

vision_output clip_encoder::encode(const image_u8 & img, compute_backend & compute, uint64_t) const {
    vision_output out;
    const std::vector<float> chw = clip_preprocess(model_.hp, img, &out.geom);
    out.embd                     = encode_pixels(chw, compute);
    out.n_tokens                 = model_.hp.n_patches();
    out.n_embd                   = n_embd();
    out.grid_w                   = grid_w();
    out.grid_h                   = grid_h();
    // one square grid over LLaVA's padded square (expand2square), tokens in raster order
    out.layout = image_layout::single(out.grid_h, out.grid_w, rect_padded_square(img.w, img.h));
    return out;
}

}  // namespace glm
