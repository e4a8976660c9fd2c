// serve-chips.h: the early phrase chips of a streamed /ground (issue 15): while the answer streams, each sentence is
// chunked into noun phrases as soon as it is complete, and each phrase goes out at once as a `chip` event (its text,
// byte span, head noun, sentence and the output tokens on its head noun), long before stage 2 gives it a point and a
// mask.
//
// What a chip can honestly carry: stage 2 subtracts the mean map over *all* output tokens (normalize), so no point
// or mask exists before generation ends; a chip carries what the text alone decides. A sentence counts as complete
// once the next one has begun (or generation has ended); it is chunked from the answer so far, with the same sentence
// splitter and chunker stage 2 uses, so chips are stage 2's phrases in all but rare cases (a sentence boundary that
// later text undoes, a detokenisation that differs from the pieces). They are therefore provisional: the `phrase`
// events after stage 2 are the result, matched to chips by span (docs/server.md).
//
// Thread safety: one object per request, used on the inference thread only (from the token callback).
#pragma once

#include "lmm.h"
#include "phrases.h"

#include <functional>
#include <string>
#include <vector>

namespace glm {

class serve_chip_stream {
public:
    // `emit(json text)` sends one chip event.
    serve_chip_stream(const phrase_chunker & chunker, std::function<void(const std::string &)> emit);

    // After each streamed token k: appends its piece and sends the chips of every sentence it completed.
    void add(const gen_token & t, int k);
    // Generation ended: the last sentence is complete too.
    void finish();

    int n_chips() const { return n_chips_; }

private:
    void flush(bool all);

    const phrase_chunker &                   chunker_;
    std::function<void(const std::string &)> emit_;
    std::string                              raw_;       // the pieces so far (the answer before stripping)
    std::vector<char_span>                   tok_spans_; // each token's bytes in raw_
    int                                      n_sent_  = 0;  // sentences already sent
    int                                      n_chips_ = 0;
    int                                      last_k_  = -1;
};

}  // namespace glm
