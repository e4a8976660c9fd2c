#include "toy/vocab.h"

#include "common.h"
#include "gguf-loader.h"

#include <cctype>
#include <set>

namespace glm::toy {

namespace {

const char * k_space      = "\xe2\x96\x81";  // U+2581, SentencePiece's word-boundary mark
const int    k_first_word = 3 + 256;         // after <unk> <s> </s> and the bytes

bool is_punct(char c) { return c == '.' || c == ',' || c == ';' || c == ':' || c == '?' || c == '!'; }

bool is_alpha_word(const std::string & w) {
    if (w.empty()) {
        return false;
    }
    for (char c : w) {
        if (!std::isalpha((unsigned char) c)) {
            return false;
        }
    }
    return true;
}

}  // namespace

toy_vocab::toy_vocab(const std::vector<std::string> & words) {
    pieces_ = { "<unk>", "<s>", "</s>" };
    types_  = { TOK_UNKNOWN, TOK_CONTROL, TOK_CONTROL };
    for (int b = 0; b < 256; ++b) {
        pieces_.push_back(strfmt("<0x%02X>", b));
        types_.push_back(TOK_BYTE);
    }
    std::set<std::string> have;
    for (const auto & w : words) {
        std::string p;
        if (is_alpha_word(w)) {
            p = k_space + w;
        } else if (w.size() == 1 && is_punct(w[0])) {
            p = w;
        } else {
            fail("toy vocabulary: word '%s' is neither letters nor one punctuation character", w.c_str());
        }
        if (!have.insert(p).second) {
            fail("toy vocabulary: word '%s' given twice", w.c_str());
        }
        pieces_.push_back(p);
        types_.push_back(TOK_NORMAL);
    }
    const int n_words = (int) pieces_.size();
    // the merge chain of every word: "▁", "▁c", "▁ci", ... (those that are not words themselves)
    for (int i = k_first_word; i < n_words; ++i) {
        const std::string & p = pieces_[i];
        if (p.compare(0, 3, k_space) != 0) {
            continue;
        }
        for (size_t n = 3; n < p.size(); ++n) {
            const std::string pre = p.substr(0, n);
            if (have.insert(pre).second) {
                pieces_.push_back(pre);
                types_.push_back(TOK_NORMAL);
            }
        }
    }
    // SentencePiece scores: more negative = merged later; the order does not change our words' tokenisation
    scores_.resize(pieces_.size());
    for (size_t i = 0; i < pieces_.size(); ++i) {
        scores_[i] = types_[i] == TOK_NORMAL ? -(float) i : 0.0f;
    }
    is_word_.assign(pieces_.size(), false);
    for (int i = k_first_word; i < n_words; ++i) {
        is_word_[i] = true;
    }
    index();
}

toy_vocab::toy_vocab(const gguf_loader & ml) {
    const std::string & f = ml.path();
    if (ml.get_str("tokenizer.ggml.model") != "llama") {
        fail("%s: tokenizer.ggml.model is '%s', expected 'llama'", f.c_str(), ml.get_str("tokenizer.ggml.model").c_str());
    }
    pieces_ = ml.get_arr_str("tokenizer.ggml.tokens");
    scores_ = ml.get_arr_f32("tokenizer.ggml.scores");
    for (int64_t t : ml.get_arr_int("tokenizer.ggml.token_type")) {
        types_.push_back((int) t);
    }
    if (scores_.size() != pieces_.size() || types_.size() != pieces_.size()) {
        fail("%s: tokenizer arrays differ in length (tokens %zu, scores %zu, types %zu)", f.c_str(), pieces_.size(),
             scores_.size(), types_.size());
    }
    const int64_t first = ml.get_int("groundlmm.vocab.first_word");
    const int64_t n     = ml.get_int("groundlmm.vocab.n_words");
    if (first != k_first_word || first + n > (int64_t) pieces_.size() || pieces_.size() < 3 ||
        pieces_[1] != "<s>" || pieces_[2] != "</s>") {
        fail("%s: not a toy vocabulary (first word %lld, %lld words, %zu tokens)", f.c_str(), (long long) first,
             (long long) n, pieces_.size());
    }
    is_word_.assign(pieces_.size(), false);
    for (int64_t i = first; i < first + n; ++i) {
        is_word_[i] = true;
    }
    index();
}

void toy_vocab::index() {
    word_to_id_.clear();
    for (size_t i = 0; i < pieces_.size(); ++i) {
        if (!is_word_[i]) {
            continue;
        }
        const std::string & p = pieces_[i];
        word_to_id_[p.compare(0, 3, k_space) == 0 ? p.substr(3) : p] = (int) i;
    }
}

int toy_vocab::word_id(const std::string & word) const {
    auto it = word_to_id_.find(word);
    return it == word_to_id_.end() ? -1 : it->second;
}

bool toy_vocab::is_word(int id) const { return id >= 0 && id < n_tokens() && is_word_[id]; }

std::vector<std::pair<int, int>> toy_vocab::encode_spans(const std::string & text) const {
    std::vector<std::pair<int, int>> spans;
    const int n = (int) text.size();
    int       i = 0;
    while (i < n) {
        if (text[i] == ' ') {
            ++i;
            continue;
        }
        int j = i;
        if (is_punct(text[i])) {
            j = i + 1;
        } else {
            while (j < n && text[j] != ' ' && !is_punct(text[j])) {
                ++j;
            }
        }
        spans.emplace_back(i, j);
        i = j;
    }
    return spans;
}

std::vector<int> toy_vocab::encode(const std::string & text) const {
    std::vector<int> ids;
    for (const auto & s : encode_spans(text)) {
        const std::string w  = text.substr(s.first, s.second - s.first);
        const int         id = word_id(w);
        if (id < 0) {
            fail("toy vocabulary: unknown word '%s' in \"%s\"", w.c_str(), text.c_str());
        }
        ids.push_back(id);
    }
    return ids;
}

std::string toy_vocab::decode(const std::vector<int> & ids) const {
    std::string out;
    for (int id : ids) {
        if (id < 0 || id >= n_tokens()) {
            fail("toy vocabulary: token id %d out of range (%d tokens)", id, n_tokens());
        }
        const std::string & p = pieces_[id];
        if (p.compare(0, 3, k_space) == 0) {
            if (!out.empty()) {
                out += ' ';
            }
            out += p.substr(3);
        } else if (types_[id] == TOK_NORMAL) {
            out += p;
        }
    }
    return out;
}

void toy_vocab::write_gguf(gguf_writer & w) const {
    w.set_str("tokenizer.ggml.model", "llama");
    w.set_arr_str("tokenizer.ggml.tokens", pieces_);
    w.set_arr_f32("tokenizer.ggml.scores", scores_);
    w.set_arr_i32("tokenizer.ggml.token_type", std::vector<int32_t>(types_.begin(), types_.end()));
    w.set_u32("tokenizer.ggml.unknown_token_id", (uint32_t) unk());
    w.set_u32("tokenizer.ggml.bos_token_id", (uint32_t) bos());
    w.set_u32("tokenizer.ggml.eos_token_id", (uint32_t) eos());
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    w.set_bool("tokenizer.ggml.add_eos_token", false);
    w.set_bool("tokenizer.ggml.add_space_prefix", true);
    int n_words = 0;
    for (bool b : is_word_) {
        n_words += b;
    }
    w.set_u32("groundlmm.vocab.first_word", (uint32_t) k_first_word);
    w.set_u32("groundlmm.vocab.n_words", (uint32_t) n_words);
}

}  // namespace glm::toy
