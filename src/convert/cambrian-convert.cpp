#include "cambrian-convert.h"

#include "common.h"
#include "gguf-loader.h"
#include "safetensors.h"

#include "gguf.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <filesystem>
#include <memory>
#include <map>
#include <set>

namespace glm {

namespace {

const char * k_clip_prefix = "vision_model.";

// The tensors of a checkpoint: one .safetensors file or every .safetensors file of a folder (a hub download with
// shards), optionally under a prefix that is stripped (open_clip checkpoints keep the towers under
// "visual.trunk."): when any name has the prefix, only those names are kept.
class source {
public:
    source(const std::string & path, const std::string & strip = "") : path_(path) {
        std::vector<std::string> files;
        if (std::filesystem::is_directory(path)) {
            for (const auto & e : std::filesystem::directory_iterator(path)) {
                if (e.is_regular_file() && e.path().extension() == ".safetensors") {
                    files.push_back(e.path().string());
                }
            }
            std::sort(files.begin(), files.end());
            if (files.empty()) {
                fail("%s: a folder without .safetensors files", path.c_str());
            }
        } else {
            files.push_back(path);
        }
        bool any_prefixed = false;
        for (const std::string & f : files) {
            files_.push_back(std::make_unique<safetensors_file>(f));
            for (const std::string & n : files_.back()->names()) {
                any_prefixed = any_prefixed || (!strip.empty() && n.rfind(strip, 0) == 0);
            }
        }
        for (const auto & f : files_) {
            for (const std::string & n : f->names()) {
                std::string key = n;
                if (any_prefixed) {
                    if (n.rfind(strip, 0) != 0) {
                        continue;
                    }
                    key = n.substr(strip.size());
                }
                if (!map_.emplace(key, &f->get(n)).second) {
                    fail("%s: tensor '%s' appears in two files", path.c_str(), n.c_str());
                }
            }
        }
    }
    const std::string & path() const { return path_; }
    bool                has(const std::string & n) const { return map_.count(n) != 0; }
    const st_tensor &   get(const std::string & n) const {
        auto it = map_.find(n);
        if (it == map_.end()) {
            fail("%s: no tensor '%s'", path_.c_str(), n.c_str());
        }
        return *it->second;
    }
    std::vector<std::string> names() const {
        std::vector<std::string> v;
        for (const auto & kv : map_) {
            v.push_back(kv.first);
        }
        return v;
    }

private:
    std::string                                    path_;
    std::vector<std::unique_ptr<safetensors_file>> files_;
    std::map<std::string, const st_tensor *>       map_;
};

struct writer {
    const source & st;
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
        // F16 only for what multiplies activations through mul_mat (Linear weights, im2col conv kernels); what is
        // added to activations (position embeddings, window positions) and the depthwise kernels stay F32
        const bool added  = dst.find("position_embd") != std::string::npos || dst.find(".pos") != std::string::npos ||
                           dst.find("dw.weight") != std::string::npos;
        const bool matrix = ne.size() >= 2 && ne[1] > 1 && !added;
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

// torch.nn.functional.interpolate(x, scale_factor=(sf, sf), mode="bicubic", align_corners=False) of x [c, n, n]
// to [c, m, m]: the coordinate scale is 1/sf (not n/m), A = -0.75, indices clamped at the border; float math as
// PyTorch's CPU kernel.
std::vector<float> bicubic_scale_factor(const std::vector<float> & x, int c, int n, int m, double sf) {
    const float scale = (float) (1.0 / sf);
    auto cc1 = [](float t) { const float A = -0.75f; return ((A + 2) * t - (A + 3)) * t * t + 1; };
    auto cc2 = [](float t) { const float A = -0.75f; return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A; };
    auto weights = [&](int o, int * i0, float w[4]) {
        const float real = scale * ((float) o + 0.5f) - 0.5f;
        const float fl   = std::floor(real);
        const float t    = real - fl;
        *i0              = (int) fl;
        w[0] = cc2(t + 1.0f);
        w[1] = cc1(t);
        w[2] = cc1(1.0f - t);
        w[3] = cc2(2.0f - t);
    };
    auto clampi = [n](int i) { return std::max(0, std::min(i, n - 1)); };
    std::vector<float> y((size_t) c * m * m);
    for (int oy = 0; oy < m; ++oy) {
        int   iy;
        float wy[4];
        weights(oy, &iy, wy);
        for (int ox = 0; ox < m; ++ox) {
            int   ix;
            float wx[4];
            weights(ox, &ix, wx);
            for (int ch = 0; ch < c; ++ch) {
                const float * src = x.data() + (size_t) ch * n * n;
                float         acc = 0.0f;
                for (int a = 0; a < 4; ++a) {
                    const float * row = src + (size_t) clampi(iy - 1 + a) * n;
                    float         r   = 0.0f;
                    for (int b = 0; b < 4; ++b) {
                        r += wx[b] * row[clampi(ix - 1 + b)];
                    }
                    acc += wy[a] * r;
                }
                y[((size_t) ch * m + oy) * m + ox] = acc;
            }
        }
    }
    return y;
}

int count_layers(const source & st, const std::string & prefix, const std::string & probe) {
    int n = 0;
    while (st.has(prefix + std::to_string(n) + probe)) {
        ++n;
    }
    return n;
}

void put_vit_keys(gguf_writer & o, const std::string & kp, int image_size, int patch, int64_t C, int64_t n_ff,
                  int heads, float eps, int n_layer, bool cls, bool swiglu, bool layer_scale, int out_side,
                  const std::array<float, 3> & mean, const std::array<float, 3> & sd,
                  const std::array<float, 3> & fill_mean) {
    o.set_u32(kp + ".image_size", (uint32_t) image_size);
    o.set_u32(kp + ".patch_size", (uint32_t) patch);
    o.set_u32(kp + ".embedding_length", (uint32_t) C);
    o.set_u32(kp + ".feed_forward_length", (uint32_t) n_ff);
    o.set_u32(kp + ".attention.head_count", (uint32_t) heads);
    o.set_f32(kp + ".attention.layer_norm_epsilon", eps);
    o.set_u32(kp + ".block_count", (uint32_t) n_layer);
    o.set_bool(kp + ".cls", cls);
    o.set_bool(kp + ".swiglu", swiglu);
    o.set_bool(kp + ".layer_scale", layer_scale);
    o.set_u32(kp + ".out_side", (uint32_t) out_side);
    o.set_arr_f32(kp + ".image_mean", { mean[0], mean[1], mean[2] });
    o.set_arr_f32(kp + ".image_std", { sd[0], sd[1], sd[2] });
    // process_images: tuple(int(x * 255) for x in processor.image_mean), in float64
    o.set_arr_i32(kp + ".pad_fill", { (int32_t) ((double) fill_mean[0] * 255.0), (int32_t) ((double) fill_mean[1] * 255.0),
                                      (int32_t) ((double) fill_mean[2] * 255.0) });
}

const std::array<float, 3> k_clip_mean{ 0.48145466f, 0.4578275f, 0.40821073f };
const std::array<float, 3> k_clip_std{ 0.26862954f, 0.26130258f, 0.27577711f };

// SigLIP: timm VisionTransformer names (no CLS, fused qkv) -> sg.*, keys cambrian.siglip.*
void convert_siglip(const cambrian_convert_params & p, gguf_writer & o, int width) {
    const source st(p.siglip, "visual.trunk.");
    writer                 w{ st, o, p.type, {} };
    if (!st.has("patch_embed.proj.weight") || !st.has("blocks.0.attn.qkv.weight")) {
        fail("%s: no patch_embed.proj.weight / blocks.0.attn.qkv.weight: not a timm SigLIP ViT (timm/"
             "ViT-SO400M-14-SigLIP-384's open_clip_model.safetensors, visual.trunk.*)", p.siglip.c_str());
    }
    const st_tensor &      pw = w.get("patch_embed.proj.weight", {});
    if (pw.shape.size() != 4 || pw.shape[1] != 3 || pw.shape[2] != pw.shape[3]) {
        fail("%s: patch_embed.proj.weight has shape %s, expected [C, 3, P, P] (timm ViT names)", p.siglip.c_str(),
             pw.shape_str().c_str());
    }
    const int64_t C = pw.shape[0], P = pw.shape[2];
    if (C != width) {
        fail("%s: SigLIP width %lld differs from mm_projector_aux_0's input %d", p.siglip.c_str(), (long long) C, width);
    }
    if (st.has("cls_token")) {
        fail("%s: a cls_token: not the SigLIP trunk Cambrian uses (class_token=False)", p.siglip.c_str());
    }
    const st_tensor & pe = w.get("pos_embed", {});
    const int64_t     n  = pe.shape.size() == 3 ? pe.shape[1] : 0;
    const int64_t     g  = (int64_t) std::llround(std::sqrt((double) n));
    if (pe.shape.size() != 3 || pe.shape[2] != C || g * g != n) {
        fail("%s: pos_embed has shape %s, expected [1, g*g, %lld]", p.siglip.c_str(), pe.shape_str().c_str(),
             (long long) C);
    }
    const int     n_layer = count_layers(st, "blocks.", ".attn.qkv.weight");
    const int64_t n_ff    = w.get("blocks.0.mlp.fc1.weight", {}).shape[0];
    const bool    ls      = st.has("blocks.0.ls1.gamma");
    if (p.siglip_image_size / P != g) {
        fail("%s: pos_embed covers a %lld x %lld grid, but siglip_image_size %d / patch %lld gives %lld",
             p.siglip.c_str(), (long long) g, (long long) g, p.siglip_image_size, (long long) P,
             (long long) (p.siglip_image_size / P));
    }
    put_vit_keys(o, "cambrian.siglip", p.siglip_image_size, (int) P, C, n_ff, p.siglip_heads, p.siglip_eps, n_layer, false,
                 false, ls, p.tower_side[0], { 0.5f, 0.5f, 0.5f }, { 0.5f, 0.5f, 0.5f }, k_clip_mean);
    w.put("sg.patch_embd.weight", "patch_embed.proj.weight", {});
    w.put("sg.patch_embd.bias", "patch_embed.proj.bias", { C });
    w.put("sg.position_embd.weight", "pos_embed", {}, { C, n });
    w.put("sg.post_ln.weight", "norm.weight", { C });
    w.put("sg.post_ln.bias", "norm.bias", { C });
    for (int il = 0; il < n_layer; ++il) {
        const std::string s = "blocks." + std::to_string(il) + ".", d = "sg.blk." + std::to_string(il) + ".";
        w.put(d + "ln1.weight", s + "norm1.weight", { C });
        w.put(d + "ln1.bias", s + "norm1.bias", { C });
        w.put(d + "attn_qkv.weight", s + "attn.qkv.weight", { 3 * C, C });
        w.put(d + "attn_qkv.bias", s + "attn.qkv.bias", { 3 * C });
        w.put(d + "attn_out.weight", s + "attn.proj.weight", { C, C });
        w.put(d + "attn_out.bias", s + "attn.proj.bias", { C });
        w.put(d + "ln2.weight", s + "norm2.weight", { C });
        w.put(d + "ln2.bias", s + "norm2.bias", { C });
        w.put(d + "ffn_up.weight", s + "mlp.fc1.weight", { n_ff, C });
        w.put(d + "ffn_up.bias", s + "mlp.fc1.bias", { n_ff });
        w.put(d + "ffn_down.weight", s + "mlp.fc2.weight", { C, n_ff });
        w.put(d + "ffn_down.bias", s + "mlp.fc2.bias", { C });
        if (ls) {
            w.put(d + "ls1", s + "ls1.gamma", { C });
            w.put(d + "ls2", s + "ls2.gamma", { C });
        }
    }
    for (const std::string & nm : st.names()) {  // the attention-pool head is never used by forward_features
        if (!w.used.count(nm) && nm.rfind("attn_pool.", 0) != 0 && nm.rfind("head.", 0) != 0 &&
            nm.rfind("fc_norm.", 0) != 0) {
            fail("%s: tensor '%s' is not understood by the Cambrian converter's SigLIP tower", p.siglip.c_str(),
                 nm.c_str());
        }
    }
}

// DINOv2: HF Dinov2Model names -> dn.*, keys cambrian.dino.*; q/k/v fused; position embeddings interpolated to the
// input grid as transformers 4.37 does.
void convert_dino(const cambrian_convert_params & p, gguf_writer & o, int width) {
    const source st(p.dino);
    writer                 w{ st, o, p.type, {} };
    if (!st.has("embeddings.patch_embeddings.projection.weight")) {
        fail("%s: no embeddings.patch_embeddings.projection.weight: not an HF Dinov2Model (facebook/dinov2-giant's "
             "model.safetensors)", p.dino.c_str());
    }
    const std::string      e  = "embeddings.";
    const st_tensor &      pw = w.get(e + "patch_embeddings.projection.weight", {});
    if (pw.shape.size() != 4 || pw.shape[1] != 3 || pw.shape[2] != pw.shape[3]) {
        fail("%s: %spatch_embeddings.projection.weight has shape %s, expected [C, 3, P, P] (HF Dinov2Model names)",
             p.dino.c_str(), e.c_str(), pw.shape_str().c_str());
    }
    const int64_t C = pw.shape[0], P = pw.shape[2];
    if (C != width) {
        fail("%s: DINOv2 width %lld differs from mm_projector_aux_2's input %d", p.dino.c_str(), (long long) C, width);
    }
    if (p.dino_image_size <= 0 || p.dino_image_size % P != 0) {
        fail("cambrian_convert: dino_image_size %d is not a positive multiple of the patch size %lld",
             p.dino_image_size, (long long) P);
    }
    const int64_t     g  = p.dino_image_size / P;
    const st_tensor & pe = w.get(e + "position_embeddings", {});
    const int64_t     n  = pe.shape.size() == 3 ? pe.shape[1] - 1 : 0;
    const int64_t     g0 = (int64_t) std::llround(std::sqrt((double) n));
    if (pe.shape.size() != 3 || pe.shape[0] != 1 || pe.shape[2] != C || g0 * g0 != n || n <= 0) {
        fail("%s: %sposition_embeddings has shape %s, expected [1, 1 + g*g, %lld]", p.dino.c_str(), e.c_str(),
             pe.shape_str().c_str(), (long long) C);
    }
    // [1 + g0*g0, C] -> CLS row + the grid interpolated to g x g (unless equal, as HF returns them unchanged)
    const std::vector<float> v = pe.to_f32();
    std::vector<float>       pos((size_t) (1 + g * g) * C);
    std::copy(v.begin(), v.begin() + C, pos.begin());
    if (g == g0) {
        std::copy(v.begin() + C, v.end(), pos.begin() + C);
    } else {
        std::vector<float> chw((size_t) C * n);  // [C, g0, g0]
        for (int64_t t = 0; t < n; ++t) {
            for (int64_t c = 0; c < C; ++c) {
                chw[(size_t) (c * n + t)] = v[(size_t) ((1 + t) * C + c)];
            }
        }
        const double             sf = ((double) g + 0.1) / std::sqrt((double) n);  // height + 0.1 over sqrt(num)
        const std::vector<float> up = bicubic_scale_factor(chw, (int) C, (int) g0, (int) g, sf);
        for (int64_t t = 0; t < g * g; ++t) {
            for (int64_t c = 0; c < C; ++c) {
                pos[(size_t) ((1 + t) * C + c)] = up[(size_t) (c * g * g + t)];
            }
        }
    }
    o.add_tensor("dn.position_embd.weight", GGML_TYPE_F32, { C, 1 + g * g }, pos.data());

    const int  n_layer = count_layers(st, "encoder.layer.", ".norm1.weight");
    const bool swiglu  = st.has("encoder.layer.0.mlp.weights_in.weight");
    const bool ls      = st.has("encoder.layer.0.layer_scale1.lambda1");
    const std::string up_name = swiglu ? "mlp.weights_in" : "mlp.fc1", down_name = swiglu ? "mlp.weights_out" : "mlp.fc2";
    const int64_t n_up = w.get("encoder.layer.0." + up_name + ".weight", {}).shape[0];
    const int64_t n_ff = swiglu ? n_up / 2 : n_up;
    put_vit_keys(o, "cambrian.dino", p.dino_image_size, (int) P, C, n_ff, p.dino_heads, p.dino_eps, n_layer, true,
                 swiglu, ls, p.tower_side[2], { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f },
                 { 0.485f, 0.456f, 0.406f });
    w.put("dn.patch_embd.weight", e + "patch_embeddings.projection.weight", {});
    w.put("dn.patch_embd.bias", e + "patch_embeddings.projection.bias", { C });
    w.put("dn.class_embd", e + "cls_token", { 1, 1, C }, { C });
    w.used.insert(e + "mask_token");  // masked-image training only
    w.put("dn.post_ln.weight", "layernorm.weight", { C });
    w.put("dn.post_ln.bias", "layernorm.bias", { C });
    for (int il = 0; il < n_layer; ++il) {
        const std::string s = "encoder.layer." + std::to_string(il) + ".", d = "dn.blk." + std::to_string(il) + ".";
        w.put(d + "ln1.weight", s + "norm1.weight", { C });
        w.put(d + "ln1.bias", s + "norm1.bias", { C });
        std::vector<float> qkv_w, qkv_b;  // rows q, k, v as torch.cat
        for (const char * part : { "query", "key", "value" }) {
            const std::string a  = s + "attention.attention." + part;
            std::vector<float> wv = w.get(a + ".weight", { C, C }).to_f32();
            std::vector<float> bv = w.get(a + ".bias", { C }).to_f32();
            qkv_w.insert(qkv_w.end(), wv.begin(), wv.end());
            qkv_b.insert(qkv_b.end(), bv.begin(), bv.end());
        }
        o.add_tensor(d + "attn_qkv.weight", p.type, { C, 3 * C }, qkv_w.data());
        o.add_tensor(d + "attn_qkv.bias", GGML_TYPE_F32, { 3 * C }, qkv_b.data());
        w.put(d + "attn_out.weight", s + "attention.output.dense.weight", { C, C });
        w.put(d + "attn_out.bias", s + "attention.output.dense.bias", { C });
        w.put(d + "ln2.weight", s + "norm2.weight", { C });
        w.put(d + "ln2.bias", s + "norm2.bias", { C });
        w.put(d + "ffn_up.weight", s + up_name + ".weight", { n_up, C });
        w.put(d + "ffn_up.bias", s + up_name + ".bias", { n_up });
        w.put(d + "ffn_down.weight", s + down_name + ".weight", { C, n_ff });
        w.put(d + "ffn_down.bias", s + down_name + ".bias", { C });
        if (ls) {
            w.put(d + "ls1", s + "layer_scale1.lambda1", { C });
            w.put(d + "ls2", s + "layer_scale2.lambda1", { C });
        }
    }
    for (const std::string & nm : st.names()) {
        if (!w.used.count(nm)) {
            fail("%s: tensor '%s' is not understood by the Cambrian converter's DINOv2 tower", p.dino.c_str(),
                 nm.c_str());
        }
    }
}

// ConvNeXt: timm ConvNeXt trunk names -> cx.*, keys cambrian.convnext.*
void convert_convnext(const cambrian_convert_params & p, gguf_writer & o, int width) {
    const source st(p.convnext, "visual.trunk.");
    writer                 w{ st, o, p.type, {} };
    std::vector<int32_t>   dims, depths;
    for (int s = 0; st.has("stages." + std::to_string(s) + ".blocks.0.conv_dw.weight"); ++s) {
        dims.push_back((int32_t) st.get("stages." + std::to_string(s) + ".blocks.0.conv_dw.weight").shape[0]);
        depths.push_back(count_layers(st, "stages." + std::to_string(s) + ".blocks.", ".conv_dw.weight"));
    }
    if (dims.empty()) {
        fail("%s: no stages.0.blocks.0.conv_dw.weight: not a timm ConvNeXt trunk", p.convnext.c_str());
    }
    int64_t sum = 0;
    for (int32_t d : dims) {
        sum += d;
    }
    if (sum != width) {
        fail("%s: ConvNeXt stage widths sum to %lld, mm_projector_aux_3 takes %d", p.convnext.c_str(), (long long) sum,
             width);
    }
    const std::string kp = "cambrian.convnext";
    o.set_u32(kp + ".image_size", (uint32_t) p.convnext_image_size);
    o.set_u32(kp + ".out_side", (uint32_t) p.tower_side[3]);
    o.set_f32(kp + ".layer_norm_epsilon", p.convnext_eps);
    o.set_arr_i32(kp + ".dims", dims);
    o.set_arr_i32(kp + ".depths", depths);
    o.set_arr_f32(kp + ".image_mean", { k_clip_mean[0], k_clip_mean[1], k_clip_mean[2] });
    o.set_arr_f32(kp + ".image_std", { k_clip_std[0], k_clip_std[1], k_clip_std[2] });
    o.set_arr_i32(kp + ".pad_fill", { (int32_t) ((double) k_clip_mean[0] * 255.0), (int32_t) ((double) k_clip_mean[1] * 255.0),
                                      (int32_t) ((double) k_clip_mean[2] * 255.0) });
    const int64_t C0 = dims[0];
    w.put("cx.stem.weight", "stem.0.weight", { C0, 3, 4, 4 });
    w.put("cx.stem.bias", "stem.0.bias", { C0 });
    w.put("cx.stem_ln.weight", "stem.1.weight", { C0 });
    w.put("cx.stem_ln.bias", "stem.1.bias", { C0 });
    for (size_t s = 0; s < dims.size(); ++s) {
        const std::string src = "stages." + std::to_string(s) + ".", dst = "cx.s" + std::to_string(s) + ".";
        const int64_t     C   = dims[s];
        if (s > 0) {
            const int64_t Ci = dims[s - 1];
            w.put(dst + "down_ln.weight", src + "downsample.0.weight", { Ci });
            w.put(dst + "down_ln.bias", src + "downsample.0.bias", { Ci });
            w.put(dst + "down.weight", src + "downsample.1.weight", { C, Ci, 2, 2 });
            w.put(dst + "down.bias", src + "downsample.1.bias", { C });
        }
        for (int32_t b = 0; b < depths[s]; ++b) {
            const std::string sb = src + "blocks." + std::to_string(b) + ".", db = dst + "b" + std::to_string(b) + ".";
            const int64_t     F  = w.get(sb + "mlp.fc1.weight", {}).shape[0];
            w.put(db + "dw.weight", sb + "conv_dw.weight", { C, 1, 7, 7 });
            w.put(db + "dw.bias", sb + "conv_dw.bias", { C });
            w.put(db + "ln.weight", sb + "norm.weight", { C });
            w.put(db + "ln.bias", sb + "norm.bias", { C });
            w.put(db + "fc1.weight", sb + "mlp.fc1.weight", { F, C });
            w.put(db + "fc1.bias", sb + "mlp.fc1.bias", { F });
            w.put(db + "fc2.weight", sb + "mlp.fc2.weight", { C, F });
            w.put(db + "fc2.bias", sb + "mlp.fc2.bias", { C });
            w.put(db + "gamma", sb + "gamma", { C });
        }
    }
    for (const std::string & nm : st.names()) {  // the head (pooling norm, projection) is never used
        if (!w.used.count(nm) && nm.rfind("head.", 0) != 0) {
            fail("%s: tensor '%s' is not understood by the Cambrian converter's ConvNeXt tower", p.convnext.c_str(),
                 nm.c_str());
        }
    }
}

}  // namespace

void cambrian_convert_read_config(const std::string & path, cambrian_convert_params * p) {
    std::ifstream in(path);
    if (!in) {
        fail("%s: cannot open the Cambrian config", path.c_str());
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const std::exception & e) {
        fail("%s: not JSON: %s", path.c_str(), e.what());
    }
    auto get_int = [&](const char * key, int * dst) {
        if (!j.contains(key)) {
            GLM_LOG_WARN("%s: no '%s'; using %d", path.c_str(), key, *dst);
            return;
        }
        if (!j[key].is_number_integer()) {
            fail("%s: '%s' must be an integer", path.c_str(), key);
        }
        *dst = j[key].get<int>();
    };
    auto side_of = [&](const char * key, int n) {
        const int s = (int) std::llround(std::sqrt((double) n));
        if (n <= 0 || s * s != n) {
            fail("%s: %s value %d is not a square number of tokens", path.c_str(), key, n);
        }
        return s;
    };
    int image_token_len = p->query_side * p->query_side;
    get_int("image_token_len", &image_token_len);
    p->query_side = side_of("image_token_len", image_token_len);
    if (j.contains("mm_vision_tower_aux_token_len_list")) {
        const auto & l = j["mm_vision_tower_aux_token_len_list"];
        if (!l.is_array() || l.size() != 4) {
            fail("%s: mm_vision_tower_aux_token_len_list must list 4 token counts (SigLIP, CLIP, DINOv2, ConvNeXt)",
                 path.c_str());
        }
        for (int i = 0; i < 4; ++i) {
            p->tower_side[i] = side_of("mm_vision_tower_aux_token_len_list", l[i].get<int>());
        }
    }
    if (j.contains("mm_vision_tower_aux_list")) {
        const auto & l = j["mm_vision_tower_aux_list"];
        if (!l.is_array() || l.size() != 4) {
            fail("%s: mm_vision_tower_aux_list must name 4 towers", path.c_str());
        }
        const char * want[4] = { "siglip", "openai/clip", "dinov2", "clip-convnext" };
        for (int i = 0; i < 4; ++i) {
            std::string n = l[i].get<std::string>();
            std::string lower;
            for (char c : n) {
                lower += (char) std::tolower((unsigned char) c);
            }
            if (lower.find(want[i]) == std::string::npos) {
                fail("%s: mm_vision_tower_aux_list[%d] is '%s'; this port supports the cambrian-8b towers in the order "
                     "SigLIP, OpenAI CLIP, DINOv2, CLIP-ConvNeXt", path.c_str(), i, n.c_str());
            }
            const size_t r = lower.find("-res");
            if (r != std::string::npos) {
                const int res = std::atoi(lower.c_str() + r + 4);
                if (i == 2) {
                    p->dino_image_size = res;
                } else if (i == 3) {
                    p->convnext_image_size = res;
                }
            }
        }
    }
    get_int("image_position", &p->image_position);
    get_int("start_of_vision_sampler_layers", &p->llm_block_start);
    get_int("stride_of_vision_sampler_layers", &p->llm_block_stride);
    get_int("mm_vision_select_layer", &p->clip_select_layer);
    if (j.contains("connector_only") && j["connector_only"].get<bool>()) {
        GLM_LOG_WARN("%s: connector_only is true: the checkpoint has no in-LLM aggregator blocks", path.c_str());
    }
}

void cambrian_convert(const cambrian_convert_params & p) {
    const source st(p.input);
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
        const source           cst(p.clip);
        writer                 cw{ cst, o, p.type, {} };
        writer &               w = cw;
        if (!cst.has(cp + "embeddings.patch_embedding.weight")) {
            fail("%s: no %sembeddings.patch_embedding.weight: not a CLIP vision checkpoint (openai/"
                 "clip-vit-large-patch14-336's model.safetensors, HF names)", p.clip.c_str(), k_clip_prefix);
        }
        const source &         st = cst;
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
    if (!p.siglip.empty()) {
        convert_siglip(p, o, (int) width[0]);
    }
    if (!p.dino.empty()) {
        convert_dino(p, o, (int) width[2]);
    }
    if (!p.convnext.empty()) {
        convert_convnext(p, o, (int) width[3]);
    }
    o.write(p.output);
    GLM_LOG_INFO("%s: wrote the Cambrian aggregator (%d connector layers, %d in-LLM blocks)%s; %d other tensors "
                 "of %s (LLaMA) not written", p.output.c_str(), depth, n_blocks,
                 p.clip.empty() ? "" : " and the CLIP tower", n_other, p.input.c_str());
}

}  // namespace glm

namespace glm {

namespace {

// HF q/k rows -> llama.cpp's interleaved RoPE order (convert_hf_to_gguf.py LlamaModel.permute):
// w.reshape(n_head, 2, hd / 2, cols).swapaxes(1, 2).reshape(rows, cols)
std::vector<float> permute_qk(const std::vector<float> & w, int64_t rows, int64_t cols, int64_t n_head) {
    std::vector<float> out(w.size());
    const int64_t      hd = rows / n_head;
    for (int64_t h = 0; h < n_head; ++h) {
        for (int64_t i = 0; i < hd / 2; ++i) {
            for (int64_t s = 0; s < 2; ++s) {
                const int64_t src = h * hd + s * (hd / 2) + i, dst = h * hd + 2 * i + s;
                std::copy(w.begin() + src * cols, w.begin() + (src + 1) * cols, out.begin() + dst * cols);
            }
        }
    }
    return out;
}

}  // namespace

void cambrian_convert_llm(const cambrian_llm_convert_params & p) {
    std::ifstream in(p.config);
    if (!in) {
        fail("%s: cannot open the checkpoint's config.json", p.config.c_str());
    }
    nlohmann::json c;
    try {
        c = nlohmann::json::parse(in);
    } catch (const std::exception & e) {
        fail("%s: not JSON: %s", p.config.c_str(), e.what());
    }
    auto need = [&](const char * key) -> const nlohmann::json & {
        if (!c.contains(key) || !c[key].is_number()) {
            fail("%s: missing or non-numeric '%s'", p.config.c_str(), key);
        }
        return c[key];
    };
    const int64_t H  = need("num_attention_heads").get<int64_t>();
    const int64_t KV = c.contains("num_key_value_heads") ? c["num_key_value_heads"].get<int64_t>() : H;
    const double  theta = c.contains("rope_theta") ? c["rope_theta"].get<double>() : 10000.0;
    const double  eps   = need("rms_norm_eps").get<double>();
    const int64_t n_ctx = c.contains("max_position_embeddings") ? c["max_position_embeddings"].get<int64_t>() : 8192;

    const source      st(p.input);
    gguf_writer       w;
    const st_tensor & emb = st.get("model.embed_tokens.weight");
    if (emb.shape.size() != 2) {
        fail("%s: model.embed_tokens.weight has shape %s, expected [vocab, n_embd]", p.input.c_str(),
             emb.shape_str().c_str());
    }
    const int64_t V = emb.shape[0], E = emb.shape[1];
    const int     L = count_layers(st, "model.layers.", ".self_attn.q_proj.weight");
    if (L == 0 || E % H != 0) {
        fail("%s: no decoder layers (model.layers.0.*) or a width %lld not divisible by %lld heads", p.input.c_str(),
             (long long) E, (long long) H);
    }
    const int64_t F = st.get("model.layers.0.mlp.gate_proj.weight").shape[0], hd = E / H;
    if (!p.tokenizer_from.empty()) {
        gguf_init_params ip  = { /*no_alloc=*/true, /*ctx=*/nullptr };
        gguf_context *   src = gguf_init_from_file(p.tokenizer_from.c_str(), ip);
        if (!src) {
            fail("%s: cannot read the tokenizer source GGUF", p.tokenizer_from.c_str());
        }
        const int64_t tid = gguf_find_key(src, "tokenizer.ggml.tokens");
        const int64_t n   = tid >= 0 ? (int64_t) gguf_get_arr_n(src, tid) : -1;
        if (n != V) {
            gguf_free(src);
            fail("%s: its tokenizer has %lld tokens, the checkpoint's embeddings %lld (a Llama-3 GGUF has 128256)",
                 p.tokenizer_from.c_str(), (long long) n, (long long) V);
        }
        gguf_set_kv(w.ctx(), src);  // then keep only the tokenizer.* keys
        gguf_free(src);
        std::vector<std::string> other;
        for (int64_t k = 0; k < gguf_get_n_kv(w.ctx()); ++k) {
            const std::string key = gguf_get_key(w.ctx(), k);
            if (key.rfind("tokenizer.", 0) != 0) {
                other.push_back(key);
            }
        }
        for (const std::string & key : other) {
            gguf_remove_key(w.ctx(), key.c_str());
        }
    } else {
        w.set_str("tokenizer.ggml.model", "none");
    }
    w.set_str("general.architecture", "llama");
    w.set_str("general.name", "cambrian-llm");
    // the model's default prompt (lmm_model reads it): CB conv_llama_3, what GL cambrian.py must be run with
    w.set_str("groundlmm.prompt_template", "cambrian_llama_3");
    w.set_u32("llama.context_length", (uint32_t) n_ctx);
    w.set_u32("llama.embedding_length", (uint32_t) E);
    w.set_u32("llama.block_count", (uint32_t) L);
    w.set_u32("llama.feed_forward_length", (uint32_t) F);
    w.set_u32("llama.attention.head_count", (uint32_t) H);
    w.set_u32("llama.attention.head_count_kv", (uint32_t) KV);
    w.set_u32("llama.rope.dimension_count", (uint32_t) hd);
    w.set_f32("llama.rope.freq_base", (float) theta);
    w.set_f32("llama.attention.layer_norm_rms_epsilon", (float) eps);
    w.set_u32("llama.vocab_size", (uint32_t) V);
    auto put = [&](const std::string & dst, const std::string & src, const std::vector<int64_t> & shape,
                   std::vector<float> v = {}) {
        const st_tensor & t = st.get(src);
        if (t.shape != shape) {
            fail("%s: tensor '%s' has shape %s, expected %lld x %lld", p.input.c_str(), src.c_str(),
                 t.shape_str().c_str(), (long long) shape[0], (long long) (shape.size() > 1 ? shape[1] : 1));
        }
        if (v.empty()) {
            v = t.to_f32();
        }
        w.add_tensor(dst, shape.size() > 1 ? p.type : GGML_TYPE_F32,
                     std::vector<int64_t>(shape.rbegin(), shape.rend()), v.data());
    };
    put("token_embd.weight", "model.embed_tokens.weight", { V, E });
    put("output_norm.weight", "model.norm.weight", { E });
    put("output.weight", st.has("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight", { V, E });
    for (int i = 0; i < L; ++i) {
        const std::string s = "model.layers." + std::to_string(i) + ".", d = "blk." + std::to_string(i) + ".";
        put(d + "attn_norm.weight", s + "input_layernorm.weight", { E });
        put(d + "attn_q.weight", s + "self_attn.q_proj.weight", { H * hd, E },
            permute_qk(st.get(s + "self_attn.q_proj.weight").to_f32(), H * hd, E, H));
        put(d + "attn_k.weight", s + "self_attn.k_proj.weight", { KV * hd, E },
            permute_qk(st.get(s + "self_attn.k_proj.weight").to_f32(), KV * hd, E, KV));
        put(d + "attn_v.weight", s + "self_attn.v_proj.weight", { KV * hd, E });
        put(d + "attn_output.weight", s + "self_attn.o_proj.weight", { E, H * hd });
        put(d + "ffn_norm.weight", s + "post_attention_layernorm.weight", { E });
        put(d + "ffn_gate.weight", s + "mlp.gate_proj.weight", { F, E });
        put(d + "ffn_up.weight", s + "mlp.up_proj.weight", { F, E });
        put(d + "ffn_down.weight", s + "mlp.down_proj.weight", { E, F });
    }
    w.write(p.output);
    GLM_LOG_INFO("%s: wrote the LLM (%d layers, %lld wide, vocabulary %lld%s)", p.output.c_str(), L, (long long) E,
                 (long long) V, p.tokenizer_from.empty() ? ", no tokenizer" : "");
}

}  // namespace glm
