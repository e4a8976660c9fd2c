// toy/vocab.h: the word-level vocabulary of the toy LMM, laid out as a SentencePiece ("llama") vocabulary that
// libllama tokenises into exactly our words.
//
// libllama's SPM tokenizer starts from single characters and merges adjacent pairs whose concatenation is a
// vocabulary piece. A word "▁circle" is therefore reachable only through its prefixes "▁c", "▁ci", ...; the
// vocabulary holds them as auxiliary pieces (never produced by our captions, trained only to be unlikely),
// plus the 256 byte-fallback pieces <0x00>..<0xFF> for any other character. Our own encoder maps caption
// words straight to ids; tests check that it agrees with llama_tokenize.
//
// A toy_vocab is immutable after construction; all methods are const and thread-safe.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace glm {
class gguf_loader;
struct gguf_writer;
}  // namespace glm

namespace glm::toy {

// SentencePiece token types as GGUF stores them (tokenizer.ggml.token_type).
enum toy_token_type { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_BYTE = 6 };

class toy_vocab {
public:
    // Builds the vocabulary: <unk>, <s>, </s>, the 256 bytes, one piece per word ("▁word" for words made of
    // letters, the bare character for punctuation), then the auxiliary prefixes.
    explicit toy_vocab(const std::vector<std::string> & words);
    // Reads tokenizer.ggml.* from a GGUF written by write_gguf().
    explicit toy_vocab(const gguf_loader & ml);

    int n_tokens() const { return (int) pieces_.size(); }
    int bos() const { return 1; }
    int eos() const { return 2; }
    int unk() const { return 0; }

    const std::string & piece(int id) const { return pieces_.at(id); }
    // The id of a word ("circle", "."); -1 when it is not in the vocabulary.
    int word_id(const std::string & word) const;
    // Whether a token is one of our words (not a byte, control or auxiliary prefix).
    bool is_word(int id) const;

    // Splits text as the captions are written (words separated by single spaces, punctuation attached to
    // the previous word) and maps every word to its id; throws naming the first unknown word.
    std::vector<int> encode(const std::string & text) const;
    // Character span [begin, end) in `text` of each token returned by encode(text).
    std::vector<std::pair<int, int>> encode_spans(const std::string & text) const;
    // Joins word tokens back into caption text (the inverse of encode for in-vocabulary captions).
    std::string decode(const std::vector<int> & ids) const;

    void write_gguf(gguf_writer & w) const;

private:
    std::vector<std::string>             pieces_;
    std::vector<float>                   scores_;
    std::vector<int>                     types_;
    std::vector<bool>                    is_word_;
    std::unordered_map<std::string, int> word_to_id_;

    void index();
};

}  // namespace glm::toy
