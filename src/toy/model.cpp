#include "toy/model.h"

#include "common.h"
#include "gguf-loader.h"
#include "toy/rng.h"
#include "toy/world.h"

#include "ggml-alloc.h"
#include "ggml-cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

namespace glm::toy {

// No spaces around <image>: the runner tokenizes the two sides separately, each with SentencePiece's space
// prefix, so a space next to <image> would become a lone "▁" token (as in LLaVA-1.5's own template).
const char * const k_toy_template = "user:<image>describe the scene. assistant:";
const char * const k_toy_llm_file = "toy-llm.gguf";
const char * const k_toy_vit_file = "toy-vit.gguf";
const char * const k_key_caption_order = "groundlmm.toy.caption_order";

namespace {

// Words of the vocabulary: every caption word of the world, then the template's words.
std::vector<std::string> toy_words() {
    std::vector<std::string> w = world_caption_words();
    for (const char * t : { "user", "describe", "scene", "assistant", ":" }) {
        w.push_back(t);
    }
    return w;
}

}  // namespace

void decoder_for_each_tensor(const decoder_hparams & hp, decoder_weights & w,
                             const std::function<void(const std::string &, const std::vector<int64_t> &,
                                                      ggml_tensor *&)> & fn) {
    const int64_t C = hp.n_embd, F = hp.n_ff, V = hp.n_vocab;
    fn("token_embd.weight", { C, V }, w.tok_embd);
    w.layers.resize(hp.n_layer);
    for (int il = 0; il < hp.n_layer; ++il) {
        decoder_layer &   L = w.layers[il];
        const std::string b = "blk." + std::to_string(il) + ".";
        fn(b + "attn_norm.weight", { C }, L.attn_norm);
        fn(b + "attn_q.weight", { C, C }, L.wq);
        fn(b + "attn_k.weight", { C, C }, L.wk);
        fn(b + "attn_v.weight", { C, C }, L.wv);
        fn(b + "attn_output.weight", { C, C }, L.wo);
        fn(b + "ffn_norm.weight", { C }, L.ffn_norm);
        fn(b + "ffn_gate.weight", { C, F }, L.ffn_gate);
        fn(b + "ffn_up.weight", { C, F }, L.ffn_up);
        fn(b + "ffn_down.weight", { F, C }, L.ffn_down);
    }
    fn("output_norm.weight", { C }, w.out_norm);
    fn("output.weight", { C, V }, w.output);
}

void toy_model::allocate() {
    size_t n = 0;
    auto   count = [&](const std::string &, const std::vector<int64_t> &, ggml_tensor *&) { ++n; };
    toyvit_for_each_tensor(vit_hp_, vit_, count);
    decoder_for_each_tensor(dec_hp_, dec_, count);
    ggml_init_params p = { ggml_tensor_overhead() * (n + 8), nullptr, true };
    ctx_               = ggml_init(p);
    auto make          = [&](const std::string & name, const std::vector<int64_t> & ne, ggml_tensor *& t) {
        t = ggml_new_tensor(ctx_, GGML_TYPE_F32, (int) ne.size(), ne.data());
        ggml_set_name(t, name.c_str());
        tensors_.push_back(t);
    };
    toyvit_for_each_tensor(vit_hp_, vit_, make);
    decoder_for_each_tensor(dec_hp_, dec_, make);
    cpu_ = ggml_backend_cpu_init();
    if (!cpu_) {
        fail("cannot initialise the CPU backend");
    }
    buf_ = ggml_backend_alloc_ctx_tensors(ctx_, cpu_);
    if (!buf_) {
        fail("toy model: cannot allocate %lld parameters", (long long) n_params());
    }
}

void toy_model::split_template() {
    const std::string t   = k_toy_template;
    const size_t      at  = t.find("<image>");
    pre_                  = { vocab_.bos() };
    for (int id : vocab_.encode(t.substr(0, at))) {
        pre_.push_back(id);
    }
    post_ = vocab_.encode(t.substr(at + 7));
}

toy_model::toy_model(const toy_arch & arch, uint64_t seed) : vocab_(toy_words()), vit_hp_(arch.vit), dec_hp_(arch.dec) {
    dec_hp_.n_vocab     = vocab_.n_tokens();
    vit_hp_.n_proj_out  = dec_hp_.n_embd;
    vit_hp_.validate("toy model");
    if (dec_hp_.n_embd % dec_hp_.n_head != 0 || dec_hp_.head_dim() % 2 != 0) {
        fail("toy model: n_embd %d must split into n_head %d heads of an even size", dec_hp_.n_embd, dec_hp_.n_head);
    }
    allocate();
    split_template();
    if (caption_start() + 8 > dec_hp_.n_ctx) {
        fail("toy model: context %d too short for the prompt (%d positions)", dec_hp_.n_ctx, caption_start());
    }
    // init: N(0, 1/fan_in) for matrices (residual outputs scaled by 1/sqrt(2 n_layer)), unit embeddings,
    // N(0, 0.5) position embeddings, ones for norms, zeros for biases
    rng g(seed ^ 0x746f792d6d6f646cull);
    for (ggml_tensor * t : tensors_) {
        const std::string  name = t->name;
        std::vector<float> v((size_t) ggml_nelements(t));
        auto               ends = [&](const char * s) {
            const size_t n = strlen(s);
            return name.size() >= n && name.compare(name.size() - n, n, s) == 0;
        };
        float std_ = 0.0f, fill = 0.0f;
        if (ends("norm.weight")) {
            fill = 1.0f;
        } else if (ends(".bias")) {
            fill = 0.0f;
        } else if (name == "token_embd.weight") {
            std_ = 1.0f;
        } else if (name == "v.position_embd.weight") {
            std_ = 0.5f;
        } else {
            const int n_layer = name[0] == 'v' ? vit_hp_.n_layer : dec_hp_.n_layer;
            std_              = 1.0f / std::sqrt((float) t->ne[0]);
            if (ends("attn_out.weight") || ends("attn_output.weight") || ends("ffn_down.weight")) {
                std_ /= std::sqrt(2.0f * std::max(1, n_layer));
            }
        }
        for (auto & x : v) {
            x = std_ > 0.0f ? std_ * g.normal() : fill;
        }
        ggml_backend_tensor_set(t, v.data(), 0, v.size() * sizeof(float));
    }
}

caption_order toy_read_caption_order(const gguf_loader & llm) {
    return caption_order_from_string(llm.get_str(k_key_caption_order, caption_order_name(caption_order::mixed)));
}

toy_model::toy_model(const std::string & dir) : vocab_(gguf_loader(dir + "/" + k_toy_llm_file)) {
    const std::string llm_path = dir + "/" + k_toy_llm_file, vit_path = dir + "/" + k_toy_vit_file;
    gguf_loader       ml(llm_path), mv(vit_path);
    if (ml.get_str("general.architecture", "") != "llama") {
        fail("%s: general.architecture is '%s', expected 'llama'", llm_path.c_str(),
             ml.get_str("general.architecture", "").c_str());
    }
    dec_hp_.n_embd    = (int) ml.get_int("llama.embedding_length");
    dec_hp_.n_ff      = (int) ml.get_int("llama.feed_forward_length");
    dec_hp_.n_head    = (int) ml.get_int("llama.attention.head_count");
    dec_hp_.n_layer   = (int) ml.get_int("llama.block_count");
    dec_hp_.n_ctx     = (int) ml.get_int("llama.context_length");
    dec_hp_.eps       = (float) ml.get_float("llama.attention.layer_norm_rms_epsilon");
    dec_hp_.rope_base = (float) ml.get_float("llama.rope.freq_base", 10000.0);
    dec_hp_.n_vocab   = vocab_.n_tokens();
    if (ml.get_int("llama.attention.head_count_kv", dec_hp_.n_head) != dec_hp_.n_head ||
        ml.get_int("llama.rope.dimension_count", dec_hp_.head_dim()) != dec_hp_.head_dim()) {
        fail("%s: the toy decoder has no GQA and rotates whole heads", llm_path.c_str());
    }
    if (ml.get_str("groundlmm.prompt_template", "") != k_toy_template) {
        fail("%s: groundlmm.prompt_template is '%s', expected '%s'", llm_path.c_str(),
             ml.get_str("groundlmm.prompt_template", "").c_str(), k_toy_template);
    }
    captions_ = toy_read_caption_order(ml);
    vit_hp_ = toyvit_read_hparams(mv);
    if (vit_hp_.n_proj_out != dec_hp_.n_embd) {
        fail("%s: projection_dim %d differs from the decoder's n_embd %d", vit_path.c_str(), vit_hp_.n_proj_out,
             dec_hp_.n_embd);
    }
    allocate();
    split_template();
    ml.load(cpu_);
    mv.load(cpu_);
    auto copy = [](gguf_loader & l) {
        gguf_loader * lp = &l;
        return [lp](const std::string & name, const std::vector<int64_t> & ne, ggml_tensor *& t) {
            const ggml_tensor * src = lp->get(name, ne);
            if (src->type != GGML_TYPE_F32) {
                fail("%s: tensor %s is %s; the toy model trains in F32", lp->path().c_str(), name.c_str(),
                     ggml_type_name(src->type));
            }
            std::vector<uint8_t> tmp(ggml_nbytes(src));
            ggml_backend_tensor_get(src, tmp.data(), 0, tmp.size());
            ggml_backend_tensor_set(t, tmp.data(), 0, tmp.size());
        };
    };
    // the slots already point at our tensors: copy through a scratch weights struct
    toyvit_weights  vs = vit_;
    decoder_weights ds = dec_;
    toyvit_for_each_tensor(vit_hp_, vs, copy(mv));
    decoder_for_each_tensor(dec_hp_, ds, copy(ml));
    ml.check_all_used();
    mv.check_all_used();
}

toy_model::~toy_model() {
    if (buf_) {
        ggml_backend_buffer_free(buf_);
    }
    if (ctx_) {
        ggml_free(ctx_);
    }
    if (cpu_) {
        ggml_backend_free(cpu_);
    }
}

void toy_model::set_n_threads(int n) {
    ggml_backend_cpu_set_n_threads(cpu_, n > 0 ? n : (int) std::max(1u, std::thread::hardware_concurrency()));
}

int64_t toy_model::n_params() const {
    int64_t n = 0;
    for (const ggml_tensor * t : tensors_) {
        n += ggml_nelements(t);
    }
    return n;
}

void toy_model::save(const std::string & dir, const std::string & recipe) const {
    make_dirs(dir);
    auto add_all = [](gguf_writer & w) {
        return [&w](const std::string & name, const std::vector<int64_t> & ne, ggml_tensor *& t) {
            std::vector<float> v((size_t) ggml_nelements(t));
            ggml_backend_tensor_get(t, v.data(), 0, v.size() * sizeof(float));
            w.add_tensor(name, GGML_TYPE_F32, ne, v.data());
        };
    };
    {
        gguf_writer w;
        w.set_str("general.architecture", "llama");
        w.set_str("general.name", "groundlmm toy decoder");
        w.set_u32("llama.context_length", (uint32_t) dec_hp_.n_ctx);
        w.set_u32("llama.embedding_length", (uint32_t) dec_hp_.n_embd);
        w.set_u32("llama.block_count", (uint32_t) dec_hp_.n_layer);
        w.set_u32("llama.feed_forward_length", (uint32_t) dec_hp_.n_ff);
        w.set_u32("llama.attention.head_count", (uint32_t) dec_hp_.n_head);
        w.set_u32("llama.attention.head_count_kv", (uint32_t) dec_hp_.n_head);
        w.set_u32("llama.rope.dimension_count", (uint32_t) dec_hp_.head_dim());
        w.set_f32("llama.rope.freq_base", dec_hp_.rope_base);
        w.set_f32("llama.attention.layer_norm_rms_epsilon", dec_hp_.eps);
        w.set_u32("llama.vocab_size", (uint32_t) dec_hp_.n_vocab);
        w.set_u32("general.file_type", 0);  // all F32
        vocab_.write_gguf(w);
        w.set_str("groundlmm.prompt_template", k_toy_template);
        w.set_str("groundlmm.recipe", recipe);
        w.set_str(k_key_caption_order, caption_order_name(captions_));
        decoder_weights d = dec_;
        decoder_for_each_tensor(dec_hp_, d, add_all(w));
        w.write(dir + "/" + k_toy_llm_file);
    }
    {
        gguf_writer w;
        toyvit_write_hparams(w, vit_hp_);
        w.set_str("general.name", "groundlmm toy vision encoder");
        w.set_str("groundlmm.recipe", recipe);
        toyvit_weights v = vit_;
        toyvit_for_each_tensor(vit_hp_, v, add_all(w));
        w.write(dir + "/" + k_toy_vit_file);
    }
}

toy_graph toy_build_graph(ggml_context * ctx, const toy_model & m, int B, int T, int R, bool keep_attn) {
    const toyvit_hparams &  vh = m.vit_hp();
    const decoder_hparams & hp = m.dec_hp();
    const decoder_weights & w  = m.dec();
    const int64_t C = hp.n_embd, H = hp.n_head, D = hp.head_dim();
    const int     P0 = (int) m.prompt_pre().size();
    GGML_ASSERT(T >= m.caption_start() && T <= hp.n_ctx);

    toy_graph g;
    g.patches = tname(ggml_new_tensor_3d(ctx, GGML_TYPE_F32, vh.patch_dim(), vh.n_patches(), B), "inp_patches");
    g.tokens  = tname(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, (int64_t) T * B), "inp_tokens");
    g.keep    = tname(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, T), "inp_keep");
    g.pos     = tname(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, T), "inp_pos");
    g.mask    = tname(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, T, T), "inp_mask");
    g.rows    = tname(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, R), "inp_rows");
    for (ggml_tensor * t : { g.patches, g.tokens, g.keep, g.pos, g.mask, g.rows }) {
        ggml_set_input(t);
    }

    // the sequence: token embeddings with the image positions zeroed, plus the image embeddings placed there
    ggml_tensor * img = toyvit_build(ctx, vh, m.vit(), g.patches);       // [C, N, B]
    ggml_tensor * x   = ggml_get_rows(ctx, w.tok_embd, g.tokens);       // [C, T*B]
    x                 = ggml_mul(ctx, ggml_reshape_3d(ctx, x, C, T, B), g.keep);  // [C, T, B]
    x = ggml_acc(ctx, x, img, x->nb[1], x->nb[2], x->nb[3], (size_t) P0 * x->nb[1]);
    tname(x, "inp_embd");

    const float kq_scale = 1.0f / std::sqrt((float) D);
    for (int il = 0; il < hp.n_layer; ++il) {
        const decoder_layer & L = w.layers[il];
        ggml_tensor *         h = tname(ggml_mul(ctx, ggml_rms_norm(ctx, x, hp.eps), L.attn_norm), "attn_norm", il);
        // [C, T, B] -> [D, H, T, B]; RoPE in NORM mode as libllama's llama graph (no q/k permutation needed)
        ggml_tensor * q = ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wq, h), D, H, T, B);
        ggml_tensor * k = ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wk, h), D, H, T, B);
        ggml_tensor * v = ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wv, h), D, H, T, B);
        q = ggml_rope_ext(ctx, q, g.pos, nullptr, (int) D, GGML_ROPE_TYPE_NORMAL, hp.n_ctx, hp.rope_base, 1.0f,
                          0.0f, 1.0f, 32.0f, 1.0f);
        k = ggml_rope_ext(ctx, k, g.pos, nullptr, (int) D, GGML_ROPE_TYPE_NORMAL, hp.n_ctx, hp.rope_base, 1.0f,
                          0.0f, 1.0f, 32.0f, 1.0f);
        tname(q, "Qcur", il);
        tname(k, "Kcur", il);
        q                = ggml_cont(ctx, ggml_permute(ctx, q, 0, 2, 1, 3));  // [D, T, H, B]
        k                = ggml_cont(ctx, ggml_permute(ctx, k, 0, 2, 1, 3));
        v                = ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3));  // [T, D, H, B]
        ggml_tensor * kq = ggml_mul_mat(ctx, k, q);                            // [T_k, T_q, H, B]
        kq               = tname(ggml_soft_max_ext(ctx, kq, g.mask, kq_scale, 0.0f), "kq_soft_max", il);
        if (keep_attn) {
            g.attn.push_back(kq);
        }
        ggml_tensor * o = ggml_mul_mat(ctx, v, kq);                          // [D, T_q, H, B]
        o               = ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3));  // [D, H, T, B]
        o               = ggml_mul_mat(ctx, L.wo, ggml_reshape_3d(ctx, o, C, T, B));
        x               = tname(ggml_add(ctx, x, o), "ffn_inp", il);

        h               = tname(ggml_mul(ctx, ggml_rms_norm(ctx, x, hp.eps), L.ffn_norm), "ffn_norm", il);
        ggml_tensor * a = ggml_mul_mat(ctx, L.ffn_gate, h);
        ggml_tensor * u = ggml_mul_mat(ctx, L.ffn_up, h);
        h               = ggml_mul_mat(ctx, L.ffn_down, ggml_swiglu_split(ctx, a, u));
        x               = tname(ggml_add(ctx, x, h), "l_out", il);
    }
    // only the rows whose next-token prediction is wanted
    x        = ggml_get_rows(ctx, ggml_reshape_2d(ctx, x, C, (int64_t) T * B), g.rows);  // [C, R]
    x        = tname(ggml_mul(ctx, ggml_rms_norm(ctx, x, hp.eps), w.out_norm), "result_norm");
    g.logits = tname(ggml_mul_mat(ctx, w.output, x), "result_output");  // [V, R]
    return g;
}

std::vector<float> toy_keep_data(const toy_model & m, int T) {
    std::vector<float> keep((size_t) T, 1.0f);
    const int          p0 = (int) m.prompt_pre().size();
    for (int i = 0; i < m.vit_hp().n_patches(); ++i) {
        keep[p0 + i] = 0.0f;
    }
    return keep;
}

std::vector<float> toy_mask_data(int T) {
    std::vector<float> mask((size_t) T * T);
    for (int q = 0; q < T; ++q) {
        for (int k = 0; k < T; ++k) {
            mask[(size_t) q * T + k] = k <= q ? 0.0f : -INFINITY;
        }
    }
    return mask;
}

std::vector<int32_t> toy_pos_data(int T) {
    std::vector<int32_t> pos((size_t) T);
    for (int i = 0; i < T; ++i) {
        pos[i] = i;
    }
    return pos;
}

std::unique_ptr<toy_model> toy_regrid(const toy_model & src, int image_size) {
    const toyvit_hparams & shp = src.vit_hp();
    if (image_size <= 0 || image_size % shp.patch_size != 0) {
        fail("toy model: image size %d is not a multiple of the patch size %d", image_size, shp.patch_size);
    }
    toy_arch arch{ shp, src.dec_hp() };
    arch.vit.image_size = image_size;
    arch.dec.n_ctx += arch.vit.n_patches() - shp.n_patches();
    auto          dst = std::make_unique<toy_model>(arch, 0);
    dst->set_captions(src.captions());
    const auto &  st  = src.tensors();
    const auto &  dt  = dst->tensors();
    GGML_ASSERT(st.size() == dt.size());
    const int          g0 = shp.grid(), g1 = arch.vit.grid();
    std::vector<float> a, b;
    for (size_t i = 0; i < st.size(); ++i) {
        GGML_ASSERT(std::string(st[i]->name) == dt[i]->name);
        a.resize((size_t) ggml_nelements(st[i]));
        ggml_backend_tensor_get(st[i], a.data(), 0, a.size() * sizeof(float));
        if (st[i] != src.vit().pos) {
            GGML_ASSERT(ggml_are_same_shape(st[i], dt[i]));
            ggml_backend_tensor_set(dt[i], a.data(), 0, a.size() * sizeof(float));
            continue;
        }
        // [C, g0 * g0] -> [C, g1 * g1], patch index = gy * grid + gx
        const int64_t C = st[i]->ne[0];
        b.assign((size_t) C * g1 * g1, 0.0f);
        auto src_coord = [&](int j, int & lo, int & hi, float & w) {
            const float x = std::clamp(((float) j + 0.5f) * (float) g0 / (float) g1 - 0.5f, 0.0f, (float) (g0 - 1));
            lo = (int) std::floor(x);
            hi = std::min(lo + 1, g0 - 1);
            w  = x - (float) lo;
        };
        for (int y = 0; y < g1; ++y) {
            int   y0, y1, x0, x1;
            float wy, wx;
            src_coord(y, y0, y1, wy);
            for (int x = 0; x < g1; ++x) {
                src_coord(x, x0, x1, wx);
                float *       o = &b[(size_t) C * (y * g1 + x)];
                const float * p00 = &a[(size_t) C * (y0 * g0 + x0)], *p01 = &a[(size_t) C * (y0 * g0 + x1)];
                const float * p10 = &a[(size_t) C * (y1 * g0 + x0)], *p11 = &a[(size_t) C * (y1 * g0 + x1)];
                for (int64_t c = 0; c < C; ++c) {
                    o[c] = (1 - wy) * ((1 - wx) * p00[c] + wx * p01[c]) + wy * ((1 - wx) * p10[c] + wx * p11[c]);
                }
            }
        }
        ggml_backend_tensor_set(dt[i], b.data(), 0, b.size() * sizeof(float));
    }
    return dst;
}

}  // namespace glm::toy
