#include "sam-convert.h"

#include "common.h"
#include "gguf-loader.h"
#include "safetensors.h"
#include "torch-checkpoint.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>

namespace glm {

namespace {

// The named tensors of a checkpoint, whatever its container.
struct ckpt_source {
    std::string                        path;
    std::vector<std::string>           names;
    std::map<std::string, std::string> metadata;  // safetensors __metadata__ / scalars of a torch checkpoint
    std::function<std::vector<int64_t>(const std::string &)> shape;
    std::function<std::vector<float>(const std::string &)>   load;
    std::shared_ptr<void>              keep;  // the reader

    bool has(const std::string & n) const { return std::binary_search(names.begin(), names.end(), n); }
};

bool ends_with(const std::string & s, const std::string & suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

ckpt_source open_source(const std::string & path) {
    ckpt_source src;
    src.path = path;
    if (ends_with(path, ".safetensors")) {
        auto st  = std::make_shared<safetensors_file>(path);
        src.keep = st;
        src.names = st->names();
        src.metadata = st->metadata();
        src.shape = [st](const std::string & n) { return st->get(n).shape; };
        src.load  = [st](const std::string & n) { return st->get(n).to_f32(); };
    } else {
        auto tc  = std::make_shared<torch_checkpoint>(path);
        src.keep = tc;
        src.names = tc->names();
        src.metadata = tc->scalars();
        src.shape = [tc](const std::string & n) { return tc->get(n).shape; };
        src.load  = [tc](const std::string & n) { return tc->to_f32(tc->get(n)); };
    }
    std::sort(src.names.begin(), src.names.end());
    return src;
}

std::string shape_str(const std::vector<int64_t> & s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) {
        out += (i ? "," : "") + std::to_string(s[i]);
    }
    return out + "]";
}

// One tensor of the conversion: checkpoint name -> GGUF name, with its PyTorch shape.
struct mapping {
    std::string          src, dst;
    std::vector<int64_t> shape;
    bool                 linear = false;  // an nn.Linear weight (may be stored as F16 / quantized)
};

class detector {
public:
    detector(const ckpt_source & s, const sam_convert_params & p) : s_(s), p_(p) {}

    std::string prefix;

    void find_prefix() {
        const std::string key = "image_encoder.pos_embed";
        bool              found = false;
        for (const std::string & n : s_.names) {
            if (ends_with(n, key) && (n.size() == key.size() || n[n.size() - key.size() - 1] == '.')) {
                const std::string pre = n.substr(0, n.size() - key.size());
                if (!found || pre.size() < prefix.size()) {
                    prefix = pre;
                }
                found = true;
            }
        }
        if (!found) {
            fail("%s: not a Segment Anything checkpoint: no tensor 'image_encoder.pos_embed' among its %zu tensors%s%s",
                 s_.path.c_str(), s_.names.size(), s_.names.empty() ? "" : " (first: ",
                 s_.names.empty() ? "" : (s_.names[0] + ")").c_str());
        }
    }

    bool has(const std::string & n) const { return s_.has(prefix + n); }

    std::vector<int64_t> shape(const std::string & n) const {
        if (!has(n)) {
            fail("%s: not a Segment Anything checkpoint: missing tensor '%s'", s_.path.c_str(), (prefix + n).c_str());
        }
        return s_.shape(prefix + n);
    }

    int64_t dim(const std::string & n, size_t rank, size_t i) const {
        const std::vector<int64_t> sh = shape(n);
        if (sh.size() != rank) {
            fail("%s: tensor '%s' has shape %s, expected %zu dimensions", s_.path.c_str(), (prefix + n).c_str(),
                 shape_str(sh).c_str(), rank);
        }
        return sh[i];
    }

    int count(const std::string & fmt) const {
        int n = 0;
        while (has(strfmt(fmt.c_str(), n))) {
            ++n;
        }
        return n;
    }

    int meta_int(const std::vector<std::string> & keys) const {
        for (const std::string & k : keys) {
            auto it = s_.metadata.find(k);
            if (it != s_.metadata.end()) {
                try {
                    return std::stoi(it->second);
                } catch (...) {
                    fail("%s: metadata '%s' = '%s' is not an integer", s_.path.c_str(), k.c_str(), it->second.c_str());
                }
            }
        }
        return 0;
    }

    sam_hparams detect() {
        find_prefix();
        sam_hparams hp;
        const std::string & path = s_.path;

        // image encoder
        hp.enc_embd = (int) dim("image_encoder.pos_embed", 4, 3);
        const int64_t gh = dim("image_encoder.pos_embed", 4, 1), gw = dim("image_encoder.pos_embed", 4, 2);
        if (gh != gw) {
            fail("%s: non-square position embedding %lldx%lld is not supported", path.c_str(), (long long) gh,
                 (long long) gw);
        }
        const std::vector<int64_t> pw = shape("image_encoder.patch_embed.proj.weight");
        if (pw.size() != 4 || pw[0] != hp.enc_embd || pw[1] != 3 || pw[2] != pw[3]) {
            fail("%s: patch embedding weight has shape %s, expected [%d,3,p,p]", path.c_str(), shape_str(pw).c_str(),
                 hp.enc_embd);
        }
        hp.patch_size = (int) pw[2];
        hp.image_size = (int) (gh * pw[2]);
        hp.enc_depth  = count("image_encoder.blocks.%d.norm1.weight");
        if (hp.enc_depth == 0) {
            fail("%s: not a Segment Anything checkpoint: no image_encoder.blocks", path.c_str());
        }
        hp.enc_mlp     = (int) dim("image_encoder.blocks.0.mlp.lin1.weight", 2, 0);
        hp.use_rel_pos = has("image_encoder.blocks.0.attn.rel_pos_h");

        const int G = hp.grid();
        std::vector<int64_t> rel_len(hp.enc_depth, 0);
        int64_t              head_dim = 0;
        for (int i = 0; i < hp.enc_depth && hp.use_rel_pos; ++i) {
            const std::string b = strfmt("image_encoder.blocks.%d.attn.", i);
            const auto        h = shape(b + "rel_pos_h"), w = shape(b + "rel_pos_w");
            if (h.size() != 2 || w.size() != 2 || h != w) {
                fail("%s: block %d has rel-pos tables %s and %s, expected two equal [L, head_dim]", path.c_str(), i,
                     shape_str(h).c_str(), shape_str(w).c_str());
            }
            if (i > 0 && h[1] != head_dim) {
                fail("%s: block %d has head_dim %lld, block 0 has %lld", path.c_str(), i, (long long) h[1],
                     (long long) head_dim);
            }
            head_dim   = h[1];
            rel_len[i] = h[0];
        }
        // heads: head_dim is the width of the rel-pos tables
        int heads = p_.encoder_heads > 0 ? p_.encoder_heads : meta_int({ "encoder_num_heads", "encoder_heads" });
        if (hp.use_rel_pos) {
            if (head_dim <= 0 || hp.enc_embd % head_dim != 0) {
                fail("%s: rel-pos head_dim %lld does not divide the width %d", path.c_str(), (long long) head_dim,
                     hp.enc_embd);
            }
            const int from_tables = (int) (hp.enc_embd / head_dim);
            if (heads > 0 && heads != from_tables) {
                fail("%s: %d encoder heads requested but the rel-pos tables imply %d (head_dim %lld)", path.c_str(),
                     heads, from_tables, (long long) head_dim);
            }
            heads = from_tables;
        } else if (heads <= 0) {
            fail("%s: the encoder has no rel-pos tables, so its head count is unknown: pass --encoder-heads", path.c_str());
        }
        hp.enc_heads = heads;

        // windowed vs global blocks
        if (p_.window_size >= 0) {
            hp.window_size = p_.window_size;
            hp.global_attn = p_.global_attn;
        } else {
            if (!hp.use_rel_pos) {
                fail("%s: without rel-pos tables the windowed blocks cannot be detected: pass --window-size and "
                     "--global-attn", path.c_str());
            }
            int window = 0;
            for (int i = 0; i < hp.enc_depth; ++i) {
                if (rel_len[i] == 2 * G - 1) {
                    hp.global_attn.push_back(i);
                    continue;
                }
                if (rel_len[i] % 2 == 0) {
                    fail("%s: block %d has a rel-pos table of %lld rows: neither global (%d) nor 2*window-1",
                         path.c_str(), i, (long long) rel_len[i], 2 * G - 1);
                }
                const int ws = (int) (rel_len[i] + 1) / 2;
                if (window != 0 && ws != window) {
                    fail("%s: windowed blocks disagree on the window size (%d and %d): pass --window-size and "
                         "--global-attn", path.c_str(), window, ws);
                }
                window = ws;
            }
            hp.window_size = window;
            if (window == 0) {
                hp.global_attn.clear();  // every block is global
            }
        }

        // neck, prompt encoder
        hp.prompt_embd   = (int) dim("prompt_encoder.no_mask_embed.weight", 2, 1);
        hp.mask_in_chans = (int) dim("prompt_encoder.mask_downscaling.3.weight", 4, 0);

        // mask decoder
        hp.dec_depth = count("mask_decoder.transformer.layers.%d.norm1.weight");
        if (hp.dec_depth == 0) {
            fail("%s: not a Segment Anything checkpoint: no mask_decoder.transformer.layers", path.c_str());
        }
        hp.dec_mlp        = (int) dim("mask_decoder.transformer.layers.0.mlp.lin1.weight", 2, 0);
        const int64_t ci  = dim("mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight", 2, 0);
        if (ci <= 0 || hp.prompt_embd % ci != 0) {
            fail("%s: cross-attention width %lld does not divide the prompt width %d", path.c_str(), (long long) ci,
                 hp.prompt_embd);
        }
        hp.dec_downsample = (int) (hp.prompt_embd / ci);
        hp.dec_heads      = p_.decoder_heads > 0 ? p_.decoder_heads
                                                 : meta_int({ "decoder_num_heads", "decoder_heads" });
        if (hp.dec_heads <= 0) {
            hp.dec_heads = 8;
            GLM_LOG_INFO("%s: the checkpoint does not store the decoder's head count; using 8 (every released SAM "
                         "model); override with --decoder-heads", path.c_str());
        }
        hp.n_multimask    = (int) dim("mask_decoder.mask_tokens.weight", 2, 0) - 1;
        hp.iou_head_depth = count("mask_decoder.iou_prediction_head.layers.%d.weight");
        hp.iou_head_hidden = hp.iou_head_depth > 1 ? (int) dim("mask_decoder.iou_prediction_head.layers.0.weight", 2, 0)
                                                   : hp.prompt_embd;
        hp.validate(path);
        return hp;
    }

    // Every tensor of the model with its expected PyTorch shape.
    std::vector<mapping> mappings(const sam_hparams & hp) const {
        std::vector<mapping> m;
        auto add = [&](const std::string & src, const std::string & dst, std::vector<int64_t> shape, bool lin = false) {
            m.push_back({ prefix + src, dst, std::move(shape), lin });
        };
        const int64_t C = hp.enc_embd, P = hp.prompt_embd, G = hp.grid(), p = hp.patch_size, F = hp.enc_mlp;
        const int64_t dh = C / hp.enc_heads, mic = hp.mask_in_chans, nm = hp.n_mask_tokens();
        const int64_t Ci = P / hp.dec_downsample;

        add("image_encoder.patch_embed.proj.weight", "v.sam.patch_embd.weight", { C, 3, p, p });
        add("image_encoder.patch_embed.proj.bias", "v.sam.patch_embd.bias", { C });
        add("image_encoder.pos_embed", "v.sam.pos_embd.weight", { 1, G, G, C });
        for (int i = 0; i < hp.enc_depth; ++i) {
            const std::string s = strfmt("image_encoder.blocks.%d.", i);
            add(s + "norm1.weight", sam_tn::enc_blk(i, "pre_ln.weight"), { C });
            add(s + "norm1.bias", sam_tn::enc_blk(i, "pre_ln.bias"), { C });
            add(s + "attn.qkv.weight", sam_tn::enc_blk(i, "attn.qkv.weight"), { 3 * C, C }, true);
            add(s + "attn.qkv.bias", sam_tn::enc_blk(i, "attn.qkv.bias"), { 3 * C });
            add(s + "attn.proj.weight", sam_tn::enc_blk(i, "attn.out.weight"), { C, C }, true);
            add(s + "attn.proj.bias", sam_tn::enc_blk(i, "attn.out.bias"), { C });
            if (hp.use_rel_pos) {
                const int64_t L = s_.shape(prefix + s + "attn.rel_pos_h")[0];
                add(s + "attn.rel_pos_h", sam_tn::enc_blk(i, "attn.pos_h.weight"), { L, dh });
                add(s + "attn.rel_pos_w", sam_tn::enc_blk(i, "attn.pos_w.weight"), { L, dh });
            }
            add(s + "norm2.weight", sam_tn::enc_blk(i, "post_ln.weight"), { C });
            add(s + "norm2.bias", sam_tn::enc_blk(i, "post_ln.bias"), { C });
            add(s + "mlp.lin1.weight", sam_tn::enc_blk(i, "mlp.lin1.weight"), { F, C }, true);
            add(s + "mlp.lin1.bias", sam_tn::enc_blk(i, "mlp.lin1.bias"), { F });
            add(s + "mlp.lin2.weight", sam_tn::enc_blk(i, "mlp.lin2.weight"), { C, F }, true);
            add(s + "mlp.lin2.bias", sam_tn::enc_blk(i, "mlp.lin2.bias"), { C });
        }
        add("image_encoder.neck.0.weight", sam_tn::enc_neck(0, "weight"), { P, C, 1, 1 });
        add("image_encoder.neck.1.weight", sam_tn::enc_neck(1, "weight"), { P });
        add("image_encoder.neck.1.bias", sam_tn::enc_neck(1, "bias"), { P });
        add("image_encoder.neck.2.weight", sam_tn::enc_neck(2, "weight"), { P, P, 3, 3 });
        add("image_encoder.neck.3.weight", sam_tn::enc_neck(3, "weight"), { P });
        add("image_encoder.neck.3.bias", sam_tn::enc_neck(3, "bias"), { P });

        add("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "sam.prompt.pe_gaussian", { 2, P / 2 });
        for (int i = 0; i < 4; ++i) {
            add(strfmt("prompt_encoder.point_embeddings.%d.weight", i), sam_tn::prompt_point(i), { 1, P });
        }
        add("prompt_encoder.not_a_point_embed.weight", "sam.prompt.not_a_point.weight", { 1, P });
        add("prompt_encoder.no_mask_embed.weight", "sam.prompt.no_mask.weight", { 1, P });
        const int64_t md_shape[7][4] = { { mic / 4, 1, 2, 2 }, { mic / 4 }, {}, { mic, mic / 4, 2, 2 }, { mic }, {},
                                         { P, mic, 1, 1 } };
        const int64_t md_out[7] = { mic / 4, mic / 4, 0, mic, mic, 0, P };
        for (int i : { 0, 1, 3, 4, 6 }) {
            const std::string s = strfmt("prompt_encoder.mask_downscaling.%d.", i);
            std::vector<int64_t> ws = (i == 1 || i == 4) ? std::vector<int64_t>{ md_out[i] }
                                                         : std::vector<int64_t>(md_shape[i], md_shape[i] + 4);
            add(s + "weight", sam_tn::prompt_mask_down(i, "weight"), ws);
            add(s + "bias", sam_tn::prompt_mask_down(i, "bias"), { md_out[i] });
        }

        add("mask_decoder.iou_token.weight", "sam.dec.iou_token.weight", { 1, P });
        add("mask_decoder.mask_tokens.weight", "sam.dec.mask_tokens.weight", { nm, P });
        auto attn = [&](const std::string & s, const std::string & d, int64_t ci) {
            add(s + "q_proj.weight", d + ".q.weight", { ci, P }, true);
            add(s + "q_proj.bias", d + ".q.bias", { ci });
            add(s + "k_proj.weight", d + ".k.weight", { ci, P }, true);
            add(s + "k_proj.bias", d + ".k.bias", { ci });
            add(s + "v_proj.weight", d + ".v.weight", { ci, P }, true);
            add(s + "v_proj.bias", d + ".v.bias", { ci });
            add(s + "out_proj.weight", d + ".out.weight", { P, ci }, true);
            add(s + "out_proj.bias", d + ".out.bias", { P });
        };
        for (int i = 0; i < hp.dec_depth; ++i) {
            const std::string s = strfmt("mask_decoder.transformer.layers.%d.", i);
            attn(s + "self_attn.", sam_tn::dec_blk(i, "self_attn"), P);
            attn(s + "cross_attn_token_to_image.", sam_tn::dec_blk(i, "cross_t2i"), Ci);
            attn(s + "cross_attn_image_to_token.", sam_tn::dec_blk(i, "cross_i2t"), Ci);
            for (int n = 1; n <= 4; ++n) {
                add(s + strfmt("norm%d.weight", n), sam_tn::dec_blk(i, strfmt("norm%d.weight", n).c_str()), { P });
                add(s + strfmt("norm%d.bias", n), sam_tn::dec_blk(i, strfmt("norm%d.bias", n).c_str()), { P });
            }
            add(s + "mlp.lin1.weight", sam_tn::dec_blk(i, "mlp.lin1.weight"), { hp.dec_mlp, P }, true);
            add(s + "mlp.lin1.bias", sam_tn::dec_blk(i, "mlp.lin1.bias"), { hp.dec_mlp });
            add(s + "mlp.lin2.weight", sam_tn::dec_blk(i, "mlp.lin2.weight"), { P, hp.dec_mlp }, true);
            add(s + "mlp.lin2.bias", sam_tn::dec_blk(i, "mlp.lin2.bias"), { P });
        }
        attn("mask_decoder.transformer.final_attn_token_to_image.", "sam.dec.final_attn", Ci);
        add("mask_decoder.transformer.norm_final_attn.weight", "sam.dec.final_norm.weight", { P });
        add("mask_decoder.transformer.norm_final_attn.bias", "sam.dec.final_norm.bias", { P });
        add("mask_decoder.output_upscaling.0.weight", "sam.dec.upscale.0.weight", { P, P / 4, 2, 2 });
        add("mask_decoder.output_upscaling.0.bias", "sam.dec.upscale.0.bias", { P / 4 });
        add("mask_decoder.output_upscaling.1.weight", "sam.dec.upscale.1.weight", { P / 4 });
        add("mask_decoder.output_upscaling.1.bias", "sam.dec.upscale.1.bias", { P / 4 });
        add("mask_decoder.output_upscaling.3.weight", "sam.dec.upscale.3.weight", { P / 4, P / 8, 2, 2 });
        add("mask_decoder.output_upscaling.3.bias", "sam.dec.upscale.3.bias", { P / 8 });
        for (int i = 0; i < nm; ++i) {
            const int64_t dims[4] = { P, P, P, P / 8 };
            for (int j = 0; j < 3; ++j) {
                const std::string s = strfmt("mask_decoder.output_hypernetworks_mlps.%d.layers.%d.", i, j);
                add(s + "weight", sam_tn::dec_hyper(i, j, "weight"), { dims[j + 1], dims[j] }, true);
                add(s + "bias", sam_tn::dec_hyper(i, j, "bias"), { dims[j + 1] });
            }
        }
        for (int j = 0; j < hp.iou_head_depth; ++j) {
            const int64_t in  = j == 0 ? P : hp.iou_head_hidden;
            const int64_t out = j == hp.iou_head_depth - 1 ? nm : hp.iou_head_hidden;
            const std::string s = strfmt("mask_decoder.iou_prediction_head.layers.%d.", j);
            add(s + "weight", sam_tn::dec_iou(j, "weight"), { out, in }, true);
            add(s + "bias", sam_tn::dec_iou(j, "bias"), { out });
        }
        return m;
    }

private:
    const ckpt_source &        s_;
    const sam_convert_params & p_;
};

}  // namespace

sam_hparams sam_checkpoint_hparams(const sam_convert_params & params) {
    const ckpt_source src = open_source(params.input);
    detector          det(src, params);
    return det.detect();
}

sam_hparams sam_convert(const sam_convert_params & params) {
    if (params.type != GGML_TYPE_F32 && params.type != GGML_TYPE_F16 && !ggml_is_quantized(params.type)) {
        fail("convert-sam: unsupported output type %s", ggml_type_name(params.type));
    }
    const ckpt_source          src = open_source(params.input);
    detector                   det(src, params);
    const sam_hparams          hp = det.detect();
    const std::vector<mapping> maps = det.mappings(hp);

    // every tensor must exist with its shape, and nothing under the model's prefix may be left over
    std::set<std::string> used;
    for (const mapping & m : maps) {
        if (!src.has(m.src)) {
            fail("%s: not a Segment Anything checkpoint: missing tensor '%s'", src.path.c_str(), m.src.c_str());
        }
        const std::vector<int64_t> sh = src.shape(m.src);
        if (sh != m.shape) {
            fail("%s: tensor '%s' has shape %s, expected %s", src.path.c_str(), m.src.c_str(), shape_str(sh).c_str(),
                 shape_str(m.shape).c_str());
        }
        used.insert(m.src);
    }
    std::vector<std::string> extra;
    for (const std::string & n : src.names) {
        if (n.compare(0, det.prefix.size(), det.prefix) == 0 && !used.count(n)) {
            extra.push_back(n);
        }
    }
    if (!extra.empty()) {
        fail("%s: %zu tensor(s) that Segment Anything does not have (a variant?), e.g. '%s'", src.path.c_str(),
             extra.size(), extra[0].c_str());
    }

    gguf_writer w;
    sam_hparams_write(w, hp);
    std::string base = params.input.substr(params.input.find_last_of('/') + 1);
    w.set_str("general.name", base.substr(0, base.find_last_of('.')));
    size_t n_quant = 0;
    for (const mapping & m : maps) {
        const std::vector<float> data = src.load(m.src);
        std::vector<int64_t>     ne(m.shape.rbegin(), m.shape.rend());  // ggml order
        int64_t                  n = 1;
        for (int64_t d : ne) {
            n *= d;
        }
        ggml_type t = GGML_TYPE_F32;
        if (m.linear && params.type != GGML_TYPE_F32 && n >= params.min_quant_elements &&
            ne[0] % ggml_blck_size(params.type) == 0) {
            t = params.type;
            ++n_quant;
        }
        w.add_tensor(m.dst, t, ne, data.data());
    }
    w.write(params.output);
    GLM_LOG_INFO("%s -> %s: %zu tensors (%zu as %s), ViT %dx%d heads %d window %d global %zu, prompt %d, decoder "
                 "%dx%d heads", params.input.c_str(), params.output.c_str(), maps.size(), n_quant,
                 ggml_type_name(params.type), hp.enc_embd, hp.enc_depth, hp.enc_heads, hp.window_size,
                 hp.global_attn.size(), hp.prompt_embd, hp.dec_depth, hp.dec_heads);
    return hp;
}

}  // namespace glm
