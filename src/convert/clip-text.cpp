#include "clip-text.h"

#include "backend.h"
#include "common.h"
#include "models/blocks.h"

#include "ggml-alloc.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace glm {

using json = nlohmann::json;

static json read_json(const std::string & path) {
    const std::vector<uint8_t> b = read_file(path);
    try {
        return json::parse(b.begin(), b.end());
    } catch (const std::exception & e) {
        fail("%s: invalid JSON (%s)", path.c_str(), e.what());
    }
}

clip_text_hparams clip_text_read_config(const std::string & path) {
    const json   top = read_json(path);
    const json & j   = top.contains("text_config") ? top.at("text_config") : top;
    auto         req = [&](const char * k) {
        if (!j.contains(k) || !j.at(k).is_number_integer()) {
            fail("%s: missing integer field '%s'", path.c_str(), k);
        }
        return j.at(k).get<int>();
    };
    clip_text_hparams hp;
    hp.n_vocab = req("vocab_size");
    hp.n_pos   = req("max_position_embeddings");
    hp.n_embd  = req("hidden_size");
    hp.n_ff    = req("intermediate_size");
    hp.n_head  = req("num_attention_heads");
    hp.n_layer = req("num_hidden_layers");
    hp.eps     = j.value("layer_norm_eps", 1e-5f);
    const std::string act = j.value("hidden_act", std::string("quick_gelu"));
    if (act != "quick_gelu" && act != "gelu") {
        fail("%s: hidden_act '%s' is not supported (quick_gelu, gelu)", path.c_str(), act.c_str());
    }
    hp.quick_gelu = act == "quick_gelu";
    if (hp.n_head <= 0 || hp.n_embd % hp.n_head != 0) {
        fail("%s: hidden_size %d is not divisible by num_attention_heads %d", path.c_str(), hp.n_embd, hp.n_head);
    }
    return hp;
}

// a special token as special_tokens_map.json / tokenizer_config.json spell it: "tok" or {"content": "tok"}
static std::string token_text(const json & j, const char * key, const std::string & file) {
    if (!j.contains(key) || j.at(key).is_null()) {
        return "";
    }
    const json & v = j.at(key);
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_object() && v.contains("content")) {
        return v.at("content").get<std::string>();
    }
    fail("%s: unexpected form of '%s'", file.c_str(), key);
}

std::vector<int32_t> clip_text_empty_prompt_ids(const std::string & dir, int n) {
    const std::string vocab_f = dir + "/vocab.json";
    const json        vocab   = read_json(vocab_f);
    std::string       bos, eos, pad;
    for (const char * name : { "special_tokens_map.json", "tokenizer_config.json" }) {
        const std::string f = dir + "/" + name;
        if (!file_exists(f)) {
            continue;
        }
        const json j = read_json(f);
        bos          = bos.empty() ? token_text(j, "bos_token", f) : bos;
        eos          = eos.empty() ? token_text(j, "eos_token", f) : eos;
        pad          = pad.empty() ? token_text(j, "pad_token", f) : pad;
    }
    // CLIPTokenizer's defaults
    bos = bos.empty() ? "<|startoftext|>" : bos;
    eos = eos.empty() ? "<|endoftext|>" : eos;
    pad = pad.empty() ? "<|endoftext|>" : pad;
    auto id = [&](const std::string & t) {
        if (!vocab.contains(t) || !vocab.at(t).is_number_integer()) {
            fail("%s: token '%s' is not in the vocabulary", vocab_f.c_str(), t.c_str());
        }
        return vocab.at(t).get<int32_t>();
    };
    if (n < 2) {
        fail("clip text: max_length %d leaves no room for BOS and EOS", n);
    }
    std::vector<int32_t> ids((size_t) n, id(pad));
    ids[0] = id(bos);
    ids[1] = id(eos);
    return ids;
}

std::vector<float> clip_text_encode(const clip_text_hparams & hp, const clip_text_weight_fn & weight,
                                    const std::vector<int32_t> & ids, int n_threads) {
    const int64_t C = hp.n_embd, F = hp.n_ff, H = hp.n_head, D = C / H, N = (int64_t) ids.size();
    if (N == 0 || N > hp.n_pos) {
        fail("clip text: %lld tokens, the model takes 1..%d", (long long) N, hp.n_pos);
    }
    for (int32_t t : ids) {
        if (t < 0 || t >= hp.n_vocab) {
            fail("clip text: token id %d outside the vocabulary (%d)", t, hp.n_vocab);
        }
    }
    backend_params bp;
    bp.use_gpu   = false;
    bp.n_threads = n_threads;
    compute_backend be(bp);

    // weights: one CPU buffer, filled from the caller's reader (PyTorch shapes, reversed for ggml)
    struct wt {
        std::string          name;
        std::vector<int64_t> shape;
        ggml_tensor *        t;
    };
    std::vector<wt>  ws;
    ggml_init_params ip  = { ggml_tensor_overhead() * (size_t) (16 * hp.n_layer + 16), nullptr, true };
    ggml_context *   wctx = ggml_init(ip);
    auto             add = [&](const std::string & name, std::vector<int64_t> shape) {
        ggml_tensor * t = shape.size() == 1 ? ggml_new_tensor_1d(wctx, GGML_TYPE_F32, shape[0])
                                            : ggml_new_tensor_2d(wctx, GGML_TYPE_F32, shape[1], shape[0]);
        ws.push_back({ name, shape, t });
        return t;
    };
    struct layer {
        ggml_tensor *ln1_w, *ln1_b, *ln2_w, *ln2_b, *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b, *f1_w, *f1_b,
            *f2_w, *f2_b;
    };
    ggml_tensor *      tok = add("embeddings.token_embedding.weight", { hp.n_vocab, C });
    ggml_tensor *      pos = add("embeddings.position_embedding.weight", { hp.n_pos, C });
    std::vector<layer> L((size_t) hp.n_layer);
    for (int il = 0; il < hp.n_layer; ++il) {
        const std::string p = "encoder.layers." + std::to_string(il) + ".";
        layer &           l = L[(size_t) il];
        l.ln1_w = add(p + "layer_norm1.weight", { C });
        l.ln1_b = add(p + "layer_norm1.bias", { C });
        l.ln2_w = add(p + "layer_norm2.weight", { C });
        l.ln2_b = add(p + "layer_norm2.bias", { C });
        l.q_w   = add(p + "self_attn.q_proj.weight", { C, C });
        l.q_b   = add(p + "self_attn.q_proj.bias", { C });
        l.k_w   = add(p + "self_attn.k_proj.weight", { C, C });
        l.k_b   = add(p + "self_attn.k_proj.bias", { C });
        l.v_w   = add(p + "self_attn.v_proj.weight", { C, C });
        l.v_b   = add(p + "self_attn.v_proj.bias", { C });
        l.o_w   = add(p + "self_attn.out_proj.weight", { C, C });
        l.o_b   = add(p + "self_attn.out_proj.bias", { C });
        l.f1_w  = add(p + "mlp.fc1.weight", { F, C });
        l.f1_b  = add(p + "mlp.fc1.bias", { F });
        l.f2_w  = add(p + "mlp.fc2.weight", { C, F });
        l.f2_b  = add(p + "mlp.fc2.bias", { C });
    }
    ggml_tensor *         fin_w = add("final_layer_norm.weight", { C });
    ggml_tensor *         fin_b = add("final_layer_norm.bias", { C });
    ggml_backend_buffer_t buf   = ggml_backend_alloc_ctx_tensors(wctx, be.primary());
    std::vector<float>    out;
    try {
        if (!buf) {
            fail("clip text: cannot allocate the text encoder's weights");
        }
        for (const wt & w : ws) {
            const std::vector<float> d = weight(w.name, w.shape);
            if (d.size() != (size_t) ggml_nelements(w.t)) {
                fail("clip text: weight '%s' has %zu values, expected %lld", w.name.c_str(), d.size(),
                     (long long) ggml_nelements(w.t));
            }
            ggml_backend_tensor_set(w.t, d.data(), 0, ggml_nbytes(w.t));
        }

        graph_ctx      g;
        ggml_context * c   = g.ctx();
        ggml_tensor *  inp = ggml_new_tensor_1d(c, GGML_TYPE_I32, N);
        ggml_set_input(tname(inp, "token_ids"));
        auto ln  = [&](ggml_tensor * x, ggml_tensor * w, ggml_tensor * b) { return blocks::layer_norm(c, x, w, b, hp.eps); };
        auto lin = [&](ggml_tensor * x, ggml_tensor * w, ggml_tensor * b) { return blocks::linear(c, x, w, b); };
        // CLIPTextEmbeddings: token_embedding(ids) + position_embedding(arange(N))
        ggml_tensor * x = ggml_get_rows(c, tok, inp);  // [C, N]
        x               = ggml_add(c, x, ggml_view_2d(c, pos, C, N, pos->nb[1], 0));
        for (const layer & l : L) {
            ggml_tensor * h = ln(x, l.ln1_w, l.ln1_b);
            ggml_tensor * q = ggml_permute(c, ggml_reshape_3d(c, lin(h, l.q_w, l.q_b), D, H, N), 0, 2, 1, 3);
            ggml_tensor * k = ggml_permute(c, ggml_reshape_3d(c, lin(h, l.k_w, l.k_b), D, H, N), 0, 2, 1, 3);
            ggml_tensor * v =
                ggml_cont(c, ggml_permute(c, ggml_reshape_3d(c, lin(h, l.v_w, l.v_b), D, H, N), 1, 2, 0, 3));
            ggml_tensor * kq = ggml_mul_mat(c, k, q);  // [N_k, N_q, H]
            kq               = ggml_diag_mask_inf(c, kq, 0);  // causal: key index > query index masked
            kq               = ggml_soft_max_ext(c, kq, nullptr, 1.0f / std::sqrt((float) D), 0.0f);
            ggml_tensor * o  = ggml_mul_mat(c, v, kq);  // [D, N_q, H]
            o                = ggml_reshape_2d(c, ggml_cont(c, ggml_permute(c, o, 0, 2, 1, 3)), C, N);
            x                = ggml_add(c, x, lin(o, l.o_w, l.o_b));
            h                = lin(ln(x, l.ln2_w, l.ln2_b), l.f1_w, l.f1_b);
            h = hp.quick_gelu ? blocks::gelu_quick(c, h) : ggml_gelu_erf(c, h);
            x = ggml_add(c, x, lin(h, l.f2_w, l.f2_b));
        }
        x = tname(ln(x, fin_w, fin_b), "last_hidden_state");
        ggml_set_output(x);
        ggml_cgraph * gf = g.new_graph();
        ggml_build_forward_expand(gf, x);
        be.run(gf, [&] { ggml_backend_tensor_set(inp, ids.data(), 0, ids.size() * sizeof(int32_t)); });
        out = tensor_to_f32(x);
    } catch (...) {
        if (buf) {
            ggml_backend_buffer_free(buf);
        }
        ggml_free(wctx);
        throw;
    }
    ggml_backend_buffer_free(buf);
    ggml_free(wctx);
    return out;
}

}  // namespace glm
