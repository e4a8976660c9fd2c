// eval/text-sim.h: phrase similarity for the GCG mask recall (GLaMM eval/gcg/evaluate.py): the cosine of two
// bert-base-uncased sentence embeddings, each the mean of BERT's last hidden states over all tokens, [CLS] and [SEP]
// included (tokenizer(text, max_length=512, truncation=True); torch.mean(last_hidden_state[0], dim=0)).
//
// bert_similarity runs BERT through libllama from a GGUF the user converts (llama.cpp's convert_hf_to_gguf.py
// bert-base-uncased): a llama_context with embeddings on and LLAMA_POOLING_TYPE_MEAN, text tokenised with
// add_special (so [CLS] ... [SEP] are in the mean), truncated to the model's context as the HF tokenizer does
// ([CLS] + the first n-2 word pieces + [SEP]). Token types are 0, as the reference's single-sentence input.
// Uncased files converted before llama.cpp wrote tokenizer.ggml.normalizer.lowercase are detected (no upper-case
// letter in the vocabulary) and the text is lower-cased and accent-stripped here, as BertTokenizer does.
// Known difference: ggml's GELU is the tanh approximation, HF BERT uses the erf form (embeddings differ by ~1e-3
// relative; similarities by far less than the 0.5 threshold's resolution matters).
//
// Without a BERT file, head_noun_similarity is the labelled fallback: the word similarity (category-match.h) of the
// two phrases' head nouns (the first noun phrase's head, found by the chunker). Its numbers are NOT GLaMM's recall;
// tables label them so.
//
// Thread safety: bert_similarity owns a llama_context (one thread at a time); head_noun_similarity is safe to call
// concurrently when its word similarity and chunker are.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

struct llama_model;
struct llama_context;

namespace glm {

class phrase_chunker;
class word_similarity;

class text_similarity {
public:
    virtual ~text_similarity() = default;
    // "bert:<file name>" or "fallback:<word similarity> of head nouns"
    virtual std::string name() const = 0;
    virtual bool        is_fallback() const = 0;
    virtual double      similarity(const std::string & a, const std::string & b) = 0;
};

struct bert_params {
    int  n_threads    = 0;      // 0 = all hardware threads
    int  n_gpu_layers = -1;     // -1 = all when the build has a GPU
    bool cpu_only     = false;
};

class bert_similarity : public text_similarity {
public:
    explicit bert_similarity(const std::string & path, const bert_params & params = bert_params());
    ~bert_similarity() override;
    bert_similarity(const bert_similarity &)             = delete;
    bert_similarity & operator=(const bert_similarity &) = delete;

    std::string name() const override;
    bool        is_fallback() const override { return false; }
    double      similarity(const std::string & a, const std::string & b) override;

    // The token ids the model sees for a text ([CLS] ... [SEP], truncated), and the mean-pooled embedding.
    std::vector<int32_t> tokens(const std::string & text) const;
    std::vector<float>   embed(const std::string & text);
    int                  n_embd() const;
    bool                 lowercases_input() const { return lowercase_here_; }

private:
    std::string                               path_;
    llama_model *                             model_ = nullptr;
    llama_context *                           ctx_   = nullptr;
    int                                       n_ctx_ = 512;
    bool                                      lowercase_here_ = false;
    std::map<std::string, std::vector<float>> cache_;
};

class head_noun_similarity : public text_similarity {
public:
    head_noun_similarity(const word_similarity & words, const phrase_chunker & chunker);
    std::string name() const override;
    bool        is_fallback() const override { return true; }
    double      similarity(const std::string & a, const std::string & b) override;
    // The head noun used for a phrase (the first noun phrase's head, else its last word).
    std::string head(const std::string & phrase) const;

private:
    const word_similarity & words_;
    const phrase_chunker &  chunker_;
};

// Cosine as sklearn's cosine_similarity (0 for a zero vector).
double cosine(const std::vector<float> & a, const std::vector<float> & b);

}  // namespace glm
