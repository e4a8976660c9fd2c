#include "serve-chips.h"

#include "maps.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace glm {

using json = nlohmann::json;

serve_chip_stream::serve_chip_stream(const phrase_chunker & chunker, std::function<void(const std::string &)> emit) :
    chunker_(chunker), emit_(std::move(emit)) {}

void serve_chip_stream::add(const gen_token & t, int k) {
    const int b = (int) raw_.size();
    raw_ += t.text;
    tok_spans_.push_back({ b, (int) raw_.size() });
    last_k_ = k;
    flush(false);
}

void serve_chip_stream::finish() { flush(true); }

void serve_chip_stream::flush(bool all) {
    // the answer as stage 2 sees it: leading whitespace stripped (lmm.cpp), so spans are offsets into the final answer
    size_t lead = 0;
    while (lead < raw_.size() && (raw_[lead] == ' ' || raw_[lead] == '\t' || raw_[lead] == '\n' || raw_[lead] == '\r')) {
        ++lead;
    }
    const std::string            text  = raw_.substr(lead);
    const std::vector<char_span> sents = split_sentences(text);
    // every sentence but the last is complete (the next has begun); the last only when generation has ended
    const int n_complete = all ? (int) sents.size() : (int) sents.size() - 1;
    if (n_complete <= n_sent_) {
        return;
    }
    // chunk the newly complete sentences alone (each sentence is parsed on its own in stage 2 too): from the first
    // one's start to the last one's end, spans shifted back into the answer
    const int           from = sents[(size_t) n_sent_].begin;
    const phrase_result ph   = chunker_.chunk(text.substr((size_t) from, (size_t) (sents[(size_t) n_complete - 1].end - from)));
    std::vector<char_span> toks;
    for (const char_span & s : tok_spans_) {
        toks.push_back({ std::max(0, s.begin - (int) lead), std::max(0, s.end - (int) lead) });
    }
    for (const noun_phrase & np : ph.phrases) {
        const char_span span{ np.span.begin + from, np.span.end + from }, head{ np.head.begin + from, np.head.end + from };
        const json e = { { "chip", n_chips_++ },
                         { "text", np.text },
                         { "span", { span.begin, span.end } },
                         { "head", np.head_text },
                         { "head_span", { head.begin, head.end } },
                         { "sentence", np.sentence + n_sent_ },
                         { "tokens", tokens_overlapping(toks, head) },
                         { "after_token", last_k_ },
                         { "provisional", true } };
        emit_(e.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    n_sent_ = n_complete;
}

}  // namespace glm
