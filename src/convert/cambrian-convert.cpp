#include "cambrian-convert.h"

#include "common.h"
#include "gguf-loader.h"
#include "safetensors.h"

#include <cmath>
#include <map>
#include <set>

namespace glm {

namespace {

const char * k_clip_prefix = "vision_model.";

struct writer {
    const safetensors_file & st;
    gguf_writer &            out;
    ggml_type                type;
    std::set<std::string>    used;

    const st_tensor & get(const std::string & name, const std::vector<int64_t> & shape) {
        if (!st.has(name)) {
            fail("%s: missing tensor '%s'", st.path().c_str(), name.c_str());
        }
        const st_tensor & t = st.get(name);
        if (!shape.empty() && t.shape != shape) {
            std::string want;
            for (int64_t d : shape) {
                want += (want.empty() ? "" : ", ") + std::to_string(d);
            }
            fail("%s: tensor '%s' has shape %s, expected [%s]", st.path().c_str(), name.c_str(),
                 t.shape_str().c_str(), want.c_str());
        }
        used.insert(name);
        return t;
    }

    // Writes `src` (PyTorch shape, outermost first) as `dst` with ggml ne = the reversed shape; matrices and
    // kernels take the chosen type, vectors stay F32. `ne` overrides the shape (a reshape, same element order).
    void put(const std::string & dst, const std::string & src, const std::vector<int64_t> & shape,
             std::vector<int64_t> ne = {}) {
        const st_tensor &  t = get(src, shape);
        std::vector<float> v = t.to_f32();
        if (ne.empty()) {
            ne.assign(t.shape.rbegin(), t.shape.rend());
        }
        const bool matrix = ne.size() >= 2 && ne[1] > 1;
        out.add_tensor(dst, matrix ? type : GGML_TYPE_F32, ne, v.data());
    }
};

// The SVA tensors of one VisionCrossAttentionLayer at `src` (e.g. "model.vision_sampler_0.layers.0.") as
// `dst` ("sva.c0.").
void put_sva_layer(writer & w, const std::string & src, const std::string & dst, int64_t q_dim, int64_t vh,
                   const std::array<int, 4> & r) {
    w.put(dst + "ctx.weight", src + "proj_context.weight", { vh, vh });
    w.put(dst + "in.weight", src + "proj_in.weight", { vh, q_dim + vh });
    w.put(dst + "out1.weight", src + "proj_out.linear_1.weight", { vh, vh });
    w.put(dst + "out2.weight", src + "proj_out.linear_2.weight", { q_dim, vh });
    w.put(dst + "norm.weight", src + "norm.weight", { vh });
    w.put(dst + "norm.bias", src + "norm.bias", { vh });
    const std::string a = src + "cross_attn.";
    w.put(dst + "q_ln.weight", a + "q_proj.0.weight", { vh });
    w.put(dst + "q_ln.bias", a + "q_proj.0.bias", { vh });
    w.put(dst + "q.weight", a + "q_proj.1.weight", { vh, vh });
    w.put(dst + "o.weight", a + "o_proj.weight", { vh, vh });
    for (int i = 0; i < 4; ++i) {
        const std::string s = std::to_string(i);
        for (const char * kv : { "k", "v" }) {
            const std::string p = a + kv + "_proj_" + s + ".";
            w.put(dst + kv + s + "_ln.weight", p + "0.weight", { vh });
            w.put(dst + kv + s + "_ln.bias", p + "0.bias", { vh });
            w.put(dst + kv + s + ".weight", p + "1.weight", { vh, vh });
        }
        if (r[i] > 1) {
            w.put(dst + "pos" + s, src + "pos_embed_" + s, { (int64_t) r[i] * r[i], vh });
        } else if (w.st.has(src + "pos_embed_" + s)) {
            fail("%s: '%s' exists but tower %d has one key per window (grid %d): check tower_side",
                 w.st.path().c_str(), (src + "pos_embed_" + s).c_str(), i, r[i]);
        }
    }
}

int count_layers(const safetensors_file & st, const std::string & prefix, const std::string & probe) {
    int n = 0;
    while (st.has(prefix + std::to_string(n) + probe)) {
        ++n;
    }
    return n;
}

}  // namespace

void cambrian_convert(const cambrian_convert_params & p) {
    safetensors_file st(p.input);
    if (p.type != GGML_TYPE_F32 && p.type != GGML_TYPE_F16) {
        fail("cambrian_convert: type must be F32 or F16, got %s", ggml_type_name(p.type));
    }
    gguf_writer o;
    writer      w{ st, o, p.type, {} };
    const int q = p.query_side;
    if (q <= 0) {
        fail("cambrian_convert: query_side %d must be positive", q);
    }
    std::array<int, 4> r{};
    for (int i = 0; i < 4; ++i) {
        if (p.tower_side[i] <= 0 || p.tower_side[i] % q != 0) {
            fail("cambrian_convert: tower %d grid side %d is not a positive multiple of query_side %d", i,
                 p.tower_side[i], q);
        }
        r[i] = p.tower_side[i] / q;
    }

    // sizes from the shapes
    const st_tensor & query = w.get("model.vision_query", {});
    if (query.shape.size() != 2 || query.shape[0] != 1) {
        fail("%s: model.vision_query has shape %s; one query group ([1, vision_hidden]) is supported",
             p.input.c_str(), query.shape_str().c_str());
    }
    const int64_t     vh = query.shape[1];
    const st_tensor & nl = w.get("model.image_newline", {});
    if (nl.shape.size() != 1) {
        fail("%s: model.image_newline has shape %s, expected a vector", p.input.c_str(), nl.shape_str().c_str());
    }
    const int64_t H = nl.shape[0];
    std::array<int64_t, 4> width{};
    for (int i = 0; i < 4; ++i) {
        const std::string a = "model.mm_projector_aux_" + std::to_string(i) + ".";
        const st_tensor & t = w.get(a + "0.weight", {});
        if (t.shape.size() != 2 || t.shape[0] != vh) {
            fail("%s: %s0.weight has shape %s, expected [%lld, tower width]", p.input.c_str(), a.c_str(),
                 t.shape_str().c_str(), (long long) vh);
        }
        width[i] = t.shape[1];
        w.put("aux." + std::to_string(i) + ".fc1.weight", a + "0.weight", {});
        w.put("aux." + std::to_string(i) + ".fc1.bias", a + "0.bias", { vh });
        w.put("aux." + std::to_string(i) + ".fc2.weight", a + "2.weight", { vh, vh });
        w.put("aux." + std::to_string(i) + ".fc2.bias", a + "2.bias", { vh });
        w.put("aux." + std::to_string(i) + ".ln.weight", a + "3.weight", { vh });
        w.put("aux." + std::to_string(i) + ".ln.bias", a + "3.bias", { vh });
    }
    w.put("sva.query", "model.vision_query", { 1, vh }, { vh });
    w.put("newline", "model.image_newline", { H });
    w.put("proj.fc1.weight", "model.mm_projector.0.weight", { H, vh });
    w.put("proj.fc1.bias", "model.mm_projector.0.bias", { H });
    w.put("proj.fc2.weight", "model.mm_projector.2.weight", { H, H });
    w.put("proj.fc2.bias", "model.mm_projector.2.bias", { H });

    const int depth = count_layers(st, "model.vision_sampler_0.layers.", ".proj_in.weight");
    if (depth == 0) {
        fail("%s: no connector layers (model.vision_sampler_0.layers.0.*): not an SVA Cambrian checkpoint",
             p.input.c_str());
    }
    if (st.has("model.vision_sampler_1.layers.0.proj_in.weight")) {
        fail("%s: more than one query group (model.vision_sampler_1.*) is not supported", p.input.c_str());
    }
    for (int l = 0; l < depth; ++l) {
        put_sva_layer(w, "model.vision_sampler_0.layers." + std::to_string(l) + ".", "sva.c" + std::to_string(l) + ".",
                      vh, vh, r);
    }
    const int n_blocks = count_layers(st, "model.vision_sampler_layers.", ".layers.0.proj_in.weight");
    for (int k = 0; k < n_blocks; ++k) {
        const std::string s = "model.vision_sampler_layers." + std::to_string(k) + ".layers.";
        if (st.has(s + "1.proj_in.weight")) {
            fail("%s: in-LLM sampler %d has more than one layer", p.input.c_str(), k);
        }
        put_sva_layer(w, s + "0.", "sva.l" + std::to_string(k) + ".", H, vh, r);
    }

    o.set_str("general.architecture", "cambrian");
    o.set_u32("cambrian.query_side", (uint32_t) q);
    o.set_u32("cambrian.vision_hidden", (uint32_t) vh);
    o.set_u32("cambrian.llm_hidden", (uint32_t) H);
    o.set_u32("cambrian.sva_head_count", 16);  // vision_sampler.py: num_heads = 16, fixed
    o.set_u32("cambrian.connector_depth", (uint32_t) depth);
    o.set_u32("cambrian.llm_block_count", (uint32_t) n_blocks);
    o.set_u32("cambrian.llm_block_start", (uint32_t) p.llm_block_start);
    o.set_u32("cambrian.llm_block_stride", (uint32_t) p.llm_block_stride);
    o.set_u32("cambrian.image_position", (uint32_t) p.image_position);
    o.set_f32("cambrian.layer_norm_epsilon", 1e-5f);  // nn.LayerNorm default everywhere in the aggregator
    o.set_arr_i32("cambrian.tower_width", { (int32_t) width[0], (int32_t) width[1], (int32_t) width[2],
                                             (int32_t) width[3] });
    o.set_arr_i32("cambrian.tower_side", { p.tower_side[0], p.tower_side[1], p.tower_side[2], p.tower_side[3] });

    // every aggregator tensor of the input must have been written
    int n_other = 0;
    for (const std::string & n : st.names()) {
        if (w.used.count(n)) {
            continue;
        }
        const bool ours = n.rfind("model.mm_projector", 0) == 0 || n.rfind("model.vision_sampler", 0) == 0 ||
                          n.rfind("model.vision_query", 0) == 0 || n.rfind("model.image_newline", 0) == 0;
        if (ours) {
            fail("%s: tensor '%s' is not understood by the Cambrian converter", p.input.c_str(), n.c_str());
        }
        ++n_other;
    }

    // the OpenAI CLIP tower (tower 1) from its own file, HF names -> mmproj names under cl.*
    const std::string cp = k_clip_prefix;
    if (p.clip.empty()) {
        if (p.require_clip) {
            fail("cambrian_convert: no CLIP tower file given; it is openai/clip-vit-large-patch14-336's "
                 "model.safetensors (HF names vision_model.*)");
        }
        GLM_LOG_WARN("%s: no CLIP tower file: the GGUF holds the aggregator only", p.output.c_str());
    } else {
        const safetensors_file cst(p.clip);
        writer                 cw{ cst, o, p.type, {} };
        writer &               w = cw;
        if (!cst.has(cp + "embeddings.patch_embedding.weight")) {
            fail("%s: no %sembeddings.patch_embedding.weight: not a CLIP vision checkpoint (openai/"
                 "clip-vit-large-patch14-336's model.safetensors, HF names)", p.clip.c_str(), k_clip_prefix);
        }
        const safetensors_file & st = cst;
        const st_tensor & pw = w.get(cp + "embeddings.patch_embedding.weight", {});
        if (pw.shape.size() != 4 || pw.shape[1] != 3 || pw.shape[2] != pw.shape[3]) {
            fail("%s: %sembeddings.patch_embedding.weight has shape %s, expected [C, 3, P, P]", p.input.c_str(),
                 k_clip_prefix, pw.shape_str().c_str());
        }
        const int64_t     C = pw.shape[0], P = pw.shape[2];
        const st_tensor & pe = w.get(cp + "embeddings.position_embedding.weight", {});
        const int64_t     n_pos = pe.shape.empty() ? 0 : pe.shape[0];
        const int64_t     g     = (int64_t) std::llround(std::sqrt((double) (n_pos - 1)));
        if (pe.shape.size() != 2 || pe.shape[1] != C || g * g + 1 != n_pos) {
            fail("%s: %sembeddings.position_embedding.weight has shape %s, expected [g*g + 1, %lld]",
                 p.input.c_str(), k_clip_prefix, pe.shape_str().c_str(), (long long) C);
        }
        const int n_layers = count_layers(st, cp + "encoder.layers.", ".self_attn.q_proj.weight");
        const int keep     = p.clip_select_layer < 0 ? n_layers + 1 + p.clip_select_layer : p.clip_select_layer;
        if (keep < 1 || keep > n_layers) {
            fail("%s: select layer %d is out of range for a %d-layer CLIP", p.input.c_str(), p.clip_select_layer,
                 n_layers);
        }
        const int64_t n_ff = w.get(cp + "encoder.layers.0.mlp.fc1.weight", {}).shape[0];
        o.set_u32("cambrian.clip.image_size", (uint32_t) (g * P));
        o.set_u32("cambrian.clip.patch_size", (uint32_t) P);
        o.set_u32("cambrian.clip.embedding_length", (uint32_t) C);
        o.set_u32("cambrian.clip.feed_forward_length", (uint32_t) n_ff);
        o.set_u32("cambrian.clip.attention.head_count", (uint32_t) p.clip_heads);
        o.set_f32("cambrian.clip.attention.layer_norm_epsilon", p.clip_eps);
        o.set_u32("cambrian.clip.block_count", (uint32_t) keep);
        o.set_arr_f32("cambrian.clip.image_mean", { 0.48145466f, 0.4578275f, 0.40821073f });
        o.set_arr_f32("cambrian.clip.image_std", { 0.26862954f, 0.26130258f, 0.27577711f });
        w.put("cl.patch_embd.weight", cp + "embeddings.patch_embedding.weight", {});
        w.put("cl.class_embd", cp + "embeddings.class_embedding", { C });
        w.put("cl.position_embd.weight", cp + "embeddings.position_embedding.weight", {});
        w.put("cl.pre_ln.weight", cp + "pre_layrnorm.weight", { C });
        w.put("cl.pre_ln.bias", cp + "pre_layrnorm.bias", { C });
        for (int il = 0; il < n_layers; ++il) {
            const std::string s = cp + "encoder.layers." + std::to_string(il) + ".";
            if (il >= keep) {  // past hidden_states[select]: never run
                for (const auto & kv : st.names()) {
                    if (kv.rfind(s, 0) == 0) {
                        w.used.insert(kv);
                    }
                }
                continue;
            }
            const std::string d = "cl.blk." + std::to_string(il) + ".";
            for (const auto & m : std::map<std::string, std::string>{ { "self_attn.q_proj", "attn_q" },
                                                                      { "self_attn.k_proj", "attn_k" },
                                                                      { "self_attn.v_proj", "attn_v" },
                                                                      { "self_attn.out_proj", "attn_out" } }) {
                w.put(d + m.second + ".weight", s + m.first + ".weight", { C, C });
                w.put(d + m.second + ".bias", s + m.first + ".bias", { C });
            }
            w.put(d + "ln1.weight", s + "layer_norm1.weight", { C });
            w.put(d + "ln1.bias", s + "layer_norm1.bias", { C });
            w.put(d + "ln2.weight", s + "layer_norm2.weight", { C });
            w.put(d + "ln2.bias", s + "layer_norm2.bias", { C });
            // HF meaning: ffn_up = fc1 (C -> n_ff), ffn_down = fc2 (models/clip.cpp tells them by shape)
            w.put(d + "ffn_up.weight", s + "mlp.fc1.weight", { n_ff, C });
            w.put(d + "ffn_up.bias", s + "mlp.fc1.bias", { n_ff });
            w.put(d + "ffn_down.weight", s + "mlp.fc2.weight", { C, n_ff });
            w.put(d + "ffn_down.bias", s + "mlp.fc2.bias", { C });
        }
        w.used.insert(cp + "post_layernorm.weight");  // after the last layer: not part of hidden_states[-2]
        w.used.insert(cp + "post_layernorm.bias");
        for (const std::string & n : cst.names()) {
            if (n.rfind(cp, 0) == 0 && !w.used.count(n) && n != cp + "embeddings.position_ids") {
                fail("%s: tensor '%s' is not understood by the Cambrian converter's CLIP tower", p.clip.c_str(),
                     n.c_str());
            }
        }
    }
    o.write(p.output);
    GLM_LOG_INFO("%s: wrote the Cambrian aggregator (%d connector layers, %d in-LLM blocks)%s; %d other tensors "
                 "of %s (LLaMA) not written", p.output.c_str(), depth, n_blocks,
                 p.clip.empty() ? "" : " and the CLIP tower", n_other, p.input.c_str());
}

}  // namespace glm
