#include "random-llama.h"

#include "common.h"
#include "gguf-loader.h"

#include "gguf.h"

#include <cmath>
#include <random>
#include <vector>

namespace glm {

void write_random_llama(const std::string & path, const std::string & vocab_from, const random_llama_shape & s) {
    gguf_init_params ip  = { /*no_alloc=*/true, /*ctx=*/nullptr };
    gguf_context *   src = gguf_init_from_file(vocab_from.c_str(), ip);
    if (!src) {
        fail("%s: cannot read the tokenizer source", vocab_from.c_str());
    }
    const int64_t tok_id = gguf_find_key(src, "tokenizer.ggml.tokens");
    if (tok_id < 0) {
        gguf_free(src);
        fail("%s: no tokenizer.ggml.tokens", vocab_from.c_str());
    }
    const int64_t n_vocab = (int64_t) gguf_get_arr_n(src, tok_id);

    gguf_writer w;
    gguf_set_kv(w.ctx(), src);  // the tokenizer; every general.* / llama.* key is overwritten below
    gguf_free(src);
    const bool        qwen = s.arch == "qwen2vl", gemma = s.arch == "gemma3";
    if (!qwen && !gemma && s.arch != "llama") {
        fail("random-llama: architecture '%s' (expected llama, qwen2vl or gemma3)", s.arch.c_str());
    }
    if (qwen && s.rope_sections.size() != 4) {
        fail("random-llama: qwen2vl needs 4 M-RoPE sections, got %zu", s.rope_sections.size());
    }
    const std::string a  = s.arch;
    const int         hd = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_head;
    w.set_str("general.architecture", a);
    w.set_str("general.name", "random-" + a);
    // llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_Q4_K_M 15 (what llama_model_desc prints)
    const uint32_t ftype = s.type == GGML_TYPE_F32 ? 0 : s.type == GGML_TYPE_F16 ? 1 : s.type == GGML_TYPE_Q4_K ? 15 : 7;
    w.set_u32("general.file_type", ftype);
    w.set_u32(a + ".context_length", (uint32_t) s.n_ctx);
    w.set_u32(a + ".embedding_length", (uint32_t) s.n_embd);
    w.set_u32(a + ".block_count", (uint32_t) s.n_layer);
    w.set_u32(a + ".feed_forward_length", (uint32_t) s.n_ff);
    w.set_u32(a + ".attention.head_count", (uint32_t) s.n_head);
    w.set_u32(a + ".attention.head_count_kv", (uint32_t) s.n_head_kv);
    w.set_u32(a + ".rope.dimension_count", (uint32_t) hd);
    w.set_f32(a + ".rope.freq_base", a == "llama" ? 10000.0f : 1000000.0f);
    w.set_f32(a + ".attention.layer_norm_rms_epsilon", a == "llama" ? 1e-5f : 1e-6f);
    w.set_u32(a + ".vocab_size", (uint32_t) n_vocab);
    if (qwen) {
        w.set_arr_i32(a + ".rope.dimension_sections", s.rope_sections);
    }
    if (gemma) {
        w.set_u32(a + ".attention.key_length", (uint32_t) hd);
        w.set_u32(a + ".attention.value_length", (uint32_t) hd);
        if (s.n_swa > 0) {
            w.set_u32(a + ".attention.sliding_window", (uint32_t) s.n_swa);
            w.set_u32(a + ".attention.sliding_window_pattern", (uint32_t) s.swa_pattern);
            w.set_f32(a + ".rope.freq_base_swa", 10000.0f);
        }
    }

    std::mt19937       rng(s.seed);
    std::vector<float> buf;
    auto add = [&](const std::string & name, std::vector<int64_t> ne, bool norm) {
        int64_t n = 1;
        for (int64_t d : ne) {
            n *= d;
        }
        buf.resize((size_t) n);
        if (norm) {
            std::fill(buf.begin(), buf.end(), 1.0f);
        } else {
            std::normal_distribution<float> nd(0.0f, 1.0f / std::sqrt((float) ne[0]));
            for (float & v : buf) {
                v = nd(rng);
            }
        }
        w.add_tensor(name, norm ? GGML_TYPE_F32 : s.type, ne, buf.data());
    };
    const int64_t E = s.n_embd, Q = (int64_t) hd * s.n_head, KV = (int64_t) hd * s.n_head_kv, F = s.n_ff;
    add("token_embd.weight", { E, n_vocab }, false);
    for (int il = 0; il < s.n_layer; ++il) {
        const std::string b = "blk." + std::to_string(il) + ".";
        add(b + "attn_norm.weight", { E }, true);
        add(b + "attn_q.weight", { E, Q }, false);
        add(b + "attn_k.weight", { E, KV }, false);
        add(b + "attn_v.weight", { E, KV }, false);
        if (qwen) {
            add(b + "attn_q.bias", { Q }, true);
            add(b + "attn_k.bias", { KV }, true);
            add(b + "attn_v.bias", { KV }, true);
        }
        if (gemma) {
            add(b + "attn_q_norm.weight", { hd }, true);
            add(b + "attn_k_norm.weight", { hd }, true);
            add(b + "post_attention_norm.weight", { E }, true);
            add(b + "post_ffw_norm.weight", { E }, true);
        }
        add(b + "attn_output.weight", { Q, E }, false);
        add(b + "ffn_norm.weight", { E }, true);
        add(b + "ffn_gate.weight", { E, F }, false);
        add(b + "ffn_up.weight", { E, F }, false);
        add(b + "ffn_down.weight", { F, E }, false);
    }
    add("output_norm.weight", { E }, true);
    if (!gemma) {  // Gemma 3 ties the output to token_embd
        add("output.weight", { E, n_vocab }, false);
    }
    w.write(path);
}

void write_random_lora(const std::string & path, const random_llama_shape & s, int rank, float alpha) {
    gguf_writer w;
    w.set_str("general.architecture", "llama");
    w.set_str("general.type", "adapter");
    w.set_str("adapter.type", "lora");
    w.set_f32("adapter.lora.alpha", alpha);
    std::mt19937                    rng(s.seed + 1);
    std::normal_distribution<float> nd(0.0f, 0.05f);
    std::vector<float>              buf;
    auto add = [&](const std::string & name, int64_t ne0, int64_t ne1) {
        buf.resize((size_t) (ne0 * ne1));
        for (float & v : buf) {
            v = nd(rng);
        }
        w.add_tensor(name, GGML_TYPE_F32, { ne0, ne1 }, buf.data());
    };
    const int64_t E = s.n_embd, KV = (int64_t) (s.n_embd / s.n_head) * s.n_head_kv;
    for (int il = 0; il < s.n_layer; ++il) {
        const std::string b = "blk." + std::to_string(il) + ".";
        add(b + "attn_q.weight.lora_a", E, rank);
        add(b + "attn_q.weight.lora_b", rank, E);
        add(b + "attn_v.weight.lora_a", E, rank);
        add(b + "attn_v.weight.lora_b", rank, KV);
    }
    w.write(path);
}

}  // namespace glm
