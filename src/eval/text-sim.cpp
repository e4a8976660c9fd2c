// eval/text-sim.cpp: BERT phrase embeddings through libllama, and the labelled head-noun fallback (see text-sim.h).
#include "eval/text-sim.h"

#include "common.h"
#include "eval/category-match.h"
#include "gguf-loader.h"
#include "phrases.h"

#include "llama.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>
#include <thread>

namespace glm {

double cosine(const std::vector<float> & a, const std::vector<float> & b) {
    if (a.size() != b.size()) {
        fail("cosine: vectors of different sizes (%zu vs %zu)", a.size(), b.size());
    }
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        dot += (double) a[i] * b[i];
        na += (double) a[i] * a[i];
        nb += (double) b[i] * b[i];
    }
    // sklearn normalises rows, leaving zero rows at zero
    if (na == 0 || nb == 0) {
        return 0.0;
    }
    return dot / (std::sqrt(na) * std::sqrt(nb));
}

static std::string base_name(const std::string & p) {
    const size_t s = p.find_last_of('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

// ---- BERT ----

bert_similarity::bert_similarity(const std::string & path, const bert_params & params) : path_(path) {
    static std::once_flag once;
    std::call_once(once, [] { llama_backend_init(); });
    {
        gguf_loader       probe(path);  // a precise error for a missing / non-GGUF / truncated file
        const std::string arch = probe.get_str("general.architecture", "");
        if (arch != "bert") {
            fail("%s: expected a BERT GGUF (general.architecture 'bert', e.g. bert-base-uncased converted with "
                 "llama.cpp's convert_hf_to_gguf.py), got '%s'",
                 path.c_str(), arch.c_str());
        }
    }
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers       = params.cpu_only ? 0 : (params.n_gpu_layers < 0 ? 999 : params.n_gpu_layers);
    backend_last_error();
    model_ = llama_model_load_from_file(path.c_str(), mp);
    if (!model_) {
        const std::string why = backend_last_error();
        fail("%s: libllama cannot load the BERT model%s%s", path.c_str(), why.empty() ? "" : ": ", why.c_str());
    }
    const llama_vocab * vocab = llama_model_get_vocab(model_);
    if (llama_vocab_type(vocab) != LLAMA_VOCAB_TYPE_WPM) {
        llama_model_free(model_);
        fail("%s: expected a WordPiece (bert) vocabulary", path.c_str());
    }
    // uncased files from converters that did not write the normaliser flag: lower-case here
    char buf[64];
    if (llama_model_meta_val_str(model_, "tokenizer.ggml.normalizer.lowercase", buf, sizeof(buf)) < 0) {
        bool upper = false;
        for (int32_t t = 0; t < llama_vocab_n_tokens(vocab) && !upper; ++t) {
            if (llama_vocab_get_attr(vocab, t) & (LLAMA_TOKEN_ATTR_CONTROL | LLAMA_TOKEN_ATTR_UNKNOWN)) {
                continue;
            }
            const char * s = llama_vocab_get_text(vocab, t);
            if (s[0] == '[') {  // [CLS], [unused0], ... as plain tokens in some files
                continue;
            }
            for (const char * c = s; *c; ++c) {
                upper |= (*c >= 'A' && *c <= 'Z');
            }
        }
        lowercase_here_ = !upper;
        if (lowercase_here_) {
            GLM_LOG_INFO("%s: no tokenizer.ggml.normalizer.lowercase key and an uncased vocabulary: lower-casing "
                         "text before tokenising\n",
                         path.c_str());
        }
    }
    n_ctx_ = std::max(8, std::min(512, llama_model_n_ctx_train(model_)));
    const int nt = params.n_threads > 0 ? params.n_threads : (int) std::max(1u, std::thread::hardware_concurrency());
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx                = (uint32_t) n_ctx_;
    cp.n_batch              = (uint32_t) n_ctx_;
    cp.n_ubatch             = (uint32_t) n_ctx_;  // a non-causal model needs the whole text in one micro-batch
    cp.n_seq_max            = 1;
    cp.n_threads            = nt;
    cp.n_threads_batch      = nt;
    cp.embeddings           = true;
    cp.pooling_type         = LLAMA_POOLING_TYPE_MEAN;
    ctx_                    = llama_init_from_model(model_, cp);
    if (!ctx_) {
        const std::string why = backend_last_error();
        llama_model_free(model_);
        fail("%s: cannot create an embedding context%s%s", path.c_str(), why.empty() ? "" : ": ", why.c_str());
    }
}

bert_similarity::~bert_similarity() {
    if (ctx_) {
        llama_free(ctx_);
    }
    if (model_) {
        llama_model_free(model_);
    }
}

std::string bert_similarity::name() const { return "bert:" + base_name(path_); }

int bert_similarity::n_embd() const { return llama_model_n_embd(model_); }

std::vector<int32_t> bert_similarity::tokens(const std::string & text_in) const {
    std::string text = text_in;
    if (lowercase_here_) {
        for (char & c : text) {
            c = (char) std::tolower((unsigned char) c);
        }
    }
    const llama_vocab *  vocab = llama_model_get_vocab(model_);
    std::vector<int32_t> ids(text.size() + 8);
    int n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), ids.data(), (int32_t) ids.size(),
                           /*add_special=*/true, /*parse_special=*/false);
    if (n < 0) {
        ids.resize(-n);
        n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), ids.data(), (int32_t) ids.size(), true, false);
    }
    if (n < 0) {
        fail("BERT tokenizer failed on '%s'", text_in.c_str());
    }
    ids.resize(n);
    if ((int) ids.size() > n_ctx_) {  // truncation=True: [CLS] + first pieces + [SEP]
        const int32_t last = ids.back();
        ids.resize(n_ctx_);
        ids.back() = last;
    }
    return ids;
}

std::vector<float> bert_similarity::embed(const std::string & text) {
    auto it = cache_.find(text);
    if (it != cache_.end()) {
        return it->second;
    }
    std::vector<int32_t> ids = tokens(text);
    if (llama_memory_t mem = llama_get_memory(ctx_)) {
        llama_memory_clear(mem, true);
    }
    llama_batch b = llama_batch_init((int32_t) ids.size(), 0, 1);
    for (size_t i = 0; i < ids.size(); ++i) {
        b.token[i]     = ids[i];
        b.pos[i]       = (llama_pos) i;
        b.n_seq_id[i]  = 1;
        b.seq_id[i][0] = 0;
        b.logits[i]    = 1;
    }
    b.n_tokens = (int32_t) ids.size();
    const int rc = llama_decode(ctx_, b);  // as llama.cpp's embedding example does for BERT
    llama_batch_free(b);
    if (rc != 0) {
        fail("%s: BERT encode failed (%d) on '%s'", path_.c_str(), rc, text.c_str());
    }
    const float * e = llama_get_embeddings_seq(ctx_, 0);
    if (!e) {
        fail("%s: no pooled embedding returned", path_.c_str());
    }
    std::vector<float> v(e, e + n_embd());
    cache_.emplace(text, v);
    return v;
}

double bert_similarity::similarity(const std::string & a, const std::string & b) { return cosine(embed(a), embed(b)); }

// ---- fallback ----

head_noun_similarity::head_noun_similarity(const word_similarity & words, const phrase_chunker & chunker)
    : words_(words), chunker_(chunker) {}

std::string head_noun_similarity::name() const { return "fallback:" + words_.name() + " of head nouns (not BERT)"; }

std::string head_noun_similarity::head(const std::string & phrase) const {
    const phrase_result r = chunker_.chunk(phrase);
    if (!r.phrases.empty()) {
        return r.phrases.front().head_text;
    }
    const auto w = category_text_words(phrase);
    return w.empty() ? std::string() : w.back();
}

double head_noun_similarity::similarity(const std::string & a, const std::string & b) {
    return words_.similarity(head(a), head(b));
}

}  // namespace glm
