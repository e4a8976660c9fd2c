#include "tiny-bert.h"

#include "gguf-loader.h"

#include <algorithm>
#include <cmath>

namespace glm {

void tiny_bert::add(const std::string & name, std::vector<int64_t> shape, std::mt19937 & rng, float scale, float offset) {
    int64_t n = 1;
    for (auto d : shape) {
        n *= d;
    }
    std::normal_distribution<float> nd(0.0f, scale);
    std::vector<float>              v(n);
    for (auto & x : v) {
        x = offset + nd(rng);
    }
    w[name]  = v;
    ne[name] = shape;
}

void tiny_bert::write(const std::string & path, bool lowercase_key) {
    vocab = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
    for (const char * t : { "a", "the", "man", "woman", "red", "shirt", "dog", "on", "grass", "person", "cat",
                            "in", "blue", "sky", ".", "," }) {
        vocab.push_back(std::string("\xe2\x96\x81") + t);
    }
    for (char c = 'a'; c <= 'z'; ++c) {  // single letters, word-initial and continuation, so any word tokenises
        for (const std::string & t : { std::string("\xe2\x96\x81") + c, std::string(1, c) }) {
            if (std::find(vocab.begin(), vocab.end(), t) == vocab.end()) {
                vocab.push_back(t);
            }
        }
    }
    const int64_t V = (int64_t) vocab.size();
    std::mt19937  rng(7);
    add("token_embd.weight", { E, V }, rng, 0.5f, 0.0f);
    add("token_types.weight", { E, 2 }, rng, 0.1f, 0.0f);
    add("position_embd.weight", { E, C }, rng, 0.1f, 0.0f);
    add("token_embd_norm.weight", { E }, rng, 0.1f, 1.0f);
    add("token_embd_norm.bias", { E }, rng, 0.1f, 0.0f);
    for (int l = 0; l < L; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        for (const char * m : { "attn_q", "attn_k", "attn_v", "attn_output" }) {
            add(b + m + ".weight", { E, E }, rng, 1.0f / std::sqrt((float) E), 0.0f);
            add(b + m + ".bias", { E }, rng, 0.1f, 0.0f);
        }
        add(b + "attn_output_norm.weight", { E }, rng, 0.1f, 1.0f);
        add(b + "attn_output_norm.bias", { E }, rng, 0.1f, 0.0f);
        add(b + "ffn_up.weight", { E, F }, rng, 1.0f / std::sqrt((float) E), 0.0f);
        add(b + "ffn_up.bias", { F }, rng, 0.1f, 0.0f);
        add(b + "ffn_down.weight", { F, E }, rng, 1.0f / std::sqrt((float) F), 0.0f);
        add(b + "ffn_down.bias", { E }, rng, 0.1f, 0.0f);
        add(b + "layer_output_norm.weight", { E }, rng, 0.1f, 1.0f);
        add(b + "layer_output_norm.bias", { E }, rng, 0.1f, 0.0f);
    }
    gguf_writer gw;
    gw.set_str("general.architecture", "bert");
    gw.set_str("general.name", "tiny-bert");
    gw.set_u32("bert.context_length", (uint32_t) C);
    gw.set_u32("bert.embedding_length", (uint32_t) E);
    gw.set_u32("bert.feed_forward_length", (uint32_t) F);
    gw.set_u32("bert.block_count", (uint32_t) L);
    gw.set_u32("bert.attention.head_count", (uint32_t) H);
    gw.set_f32("bert.attention.layer_norm_epsilon", 1e-12f);
    gw.set_bool("bert.attention.causal", false);
    gw.set_u32("bert.pooling_type", 1);
    gw.set_str("tokenizer.ggml.model", "bert");
    gw.set_arr_str("tokenizer.ggml.tokens", vocab);
    std::vector<int32_t> types(vocab.size(), 1);
    for (int i = 0; i < 5; ++i) {
        types[i] = 3;  // control
    }
    gw.set_arr_i32("tokenizer.ggml.token_type", types);
    gw.set_u32("tokenizer.ggml.token_type_count", 2);
    gw.set_u32("tokenizer.ggml.bos_token_id", (uint32_t) cls);
    gw.set_u32("tokenizer.ggml.seperator_token_id", (uint32_t) sep);
    gw.set_u32("tokenizer.ggml.unknown_token_id", 1);
    gw.set_u32("tokenizer.ggml.padding_token_id", 0);
    gw.set_u32("tokenizer.ggml.mask_token_id", 4);
    if (lowercase_key) {
        gw.set_bool("tokenizer.ggml.normalizer.lowercase", true);
    }
    for (const auto & kv : w) {
        gw.add_tensor(kv.first, GGML_TYPE_F32, ne[kv.first], kv.second.data());
    }
    gw.write(path);
}

// y = W x + b with W of ggml shape [in, out]
std::vector<double> tiny_bert::lin(const std::string & name, const std::vector<double> & x) const {
    const auto & W = w.at(name + ".weight");
    const auto & B = w.at(name + ".bias");
    const size_t in = x.size(), out = B.size();
    std::vector<double> y(out);
    for (size_t o = 0; o < out; ++o) {
        double s = B[o];
        for (size_t i = 0; i < in; ++i) {
            s += (double) W[o * in + i] * x[i];
        }
        y[o] = s;
    }
    return y;
}

std::vector<double> tiny_bert::norm(const std::string & name, std::vector<double> x) const {
    double m = 0, v = 0;
    for (double a : x) {
        m += a;
    }
    m /= x.size();
    for (double a : x) {
        v += (a - m) * (a - m);
    }
    v /= x.size();
    const auto & g = w.at(name + ".weight");
    const auto & b = w.at(name + ".bias");
    for (size_t i = 0; i < x.size(); ++i) {
        x[i] = (x[i] - m) / std::sqrt(v + 1e-12) * g[i] + b[i];
    }
    return x;
}

// the reference: HF BertModel's last_hidden_state mean (tanh GELU as ggml)
std::vector<double> tiny_bert::embed(const std::vector<int32_t> & ids) const {
    const size_t                     T = ids.size();
    std::vector<std::vector<double>> x(T, std::vector<double>(E));
    for (size_t t = 0; t < T; ++t) {
        for (int i = 0; i < E; ++i) {
            x[t][i] = (double) w.at("token_embd.weight")[(size_t) ids[t] * E + i] + w.at("token_types.weight")[i] +
                      w.at("position_embd.weight")[t * E + i];
        }
        x[t] = norm("token_embd_norm", x[t]);
    }
    const int d = E / H;
    for (int l = 0; l < L; ++l) {
        const std::string                b = "blk." + std::to_string(l) + ".";
        std::vector<std::vector<double>> q(T), k(T), v(T), o(T, std::vector<double>(E, 0.0));
        for (size_t t = 0; t < T; ++t) {
            q[t] = lin(b + "attn_q", x[t]);
            k[t] = lin(b + "attn_k", x[t]);
            v[t] = lin(b + "attn_v", x[t]);
        }
        for (int h = 0; h < H; ++h) {
            for (size_t t = 0; t < T; ++t) {
                std::vector<double> s(T);
                double              mx = -1e300, z = 0;
                for (size_t u = 0; u < T; ++u) {
                    double dot = 0;
                    for (int i = 0; i < d; ++i) {
                        dot += q[t][h * d + i] * k[u][h * d + i];
                    }
                    s[u] = dot / std::sqrt((double) d);
                    mx   = std::max(mx, s[u]);
                }
                for (size_t u = 0; u < T; ++u) {
                    s[u] = std::exp(s[u] - mx);
                    z += s[u];
                }
                for (size_t u = 0; u < T; ++u) {
                    for (int i = 0; i < d; ++i) {
                        o[t][h * d + i] += s[u] / z * v[u][h * d + i];
                    }
                }
            }
        }
        for (size_t t = 0; t < T; ++t) {
            std::vector<double> a = lin(b + "attn_output", o[t]);
            for (int i = 0; i < E; ++i) {
                a[i] += x[t][i];
            }
            const std::vector<double> ffn_inp = norm(b + "attn_output_norm", a);
            std::vector<double>       u       = lin(b + "ffn_up", ffn_inp);
            for (double & z : u) {
                z = 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)));
            }
            std::vector<double> dn = lin(b + "ffn_down", u);
            for (int i = 0; i < E; ++i) {
                dn[i] += ffn_inp[i];
            }
            x[t] = norm(b + "layer_output_norm", dn);
        }
    }
    std::vector<double> mean(E, 0.0);
    for (size_t t = 0; t < T; ++t) {
        for (int i = 0; i < E; ++i) {
            mean[i] += x[t][i] / T;
        }
    }
    return mean;
}

}  // namespace glm
