// tiny-bert.h: writes a tiny random BERT GGUF (llama.cpp's "bert" architecture and WordPiece vocabulary, as
// convert_hf_to_gguf.py writes bert-base-uncased) and computes its mean-pooled embedding with a naive reference
// forward pass (HF BertModel semantics, tanh GELU as ggml), for tests of the GCG phrase similarity.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace glm {

struct tiny_bert {
    int E = 32, H = 4, F = 64, L = 2, C = 64;  // width, heads, FFN, layers, context
    std::vector<std::string>                    vocab;
    std::map<std::string, std::vector<float>>   w;   // name -> data (ggml order: ne0 fastest)
    std::map<std::string, std::vector<int64_t>> ne;
    int cls = 2, sep = 3;

    // lowercase_key: write tokenizer.ggml.normalizer.lowercase (newer converters do)
    void write(const std::string & path, bool lowercase_key);
    // the reference: mean over all tokens of the last hidden states
    std::vector<double> embed(const std::vector<int32_t> & ids) const;

private:
    void                add(const std::string & name, std::vector<int64_t> shape, std::mt19937 & rng, float scale, float offset);
    std::vector<double> lin(const std::string & name, const std::vector<double> & x) const;
    std::vector<double> norm(const std::string & name, std::vector<double> x) const;
};

}  // namespace glm
