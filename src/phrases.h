// phrases.h: base noun phrases ("noun chunks") and their head nouns in an LMM answer, without Python.
//
// The official attend-and-segment code takes spaCy's `doc.noun_chunks` (en_core_web_lg): for every noun, proper noun
// or pronoun that is a subject, object, prepositional object, attribute, apposition or root (or a conjunct of one),
// the span from the left edge of its subtree to the noun itself; the noun (`np.root`) is the phrase's head. So a chunk
// holds determiners, possessives, numbers, adjectives (with their adverbs) and compound nouns before the head, and
// never anything after it (no prepositional phrases, no relative clauses): "a red double-decker bus", "the man's
// hat", "it", "which". Noun modifiers (compounds, possessors) are not heads of their own chunk.
//
// We get the same from the link-grammar parser (CMU, Debian liblink-grammar): the answer is split into sentences
// (ours: . ! ? and line breaks, with abbreviations, decimals and list markers kept inside), each is parsed with a time
// limit, and in a linkage a word is a nominal head when link-grammar tags it as a noun (or it is a pronoun, or a
// capitalised guess with noun links) and it modifies no other noun (no AN, G, GN, YS/YP link to its right); its chunk
// reaches left along the noun-phrase-internal links (D*, A, AN, AJ, G, GN, YS/YP, EA, EN, NN, ND, L, ...). Words the
// dictionary does not know are given to the parser as a placeholder of the likely word class ("thing", "things",
// "big"), which keeps "frisbee" a noun; spans always refer to the original text.
//
// Which linkage: link-grammar's cheapest linkages often tie, or nearly, between readings that differ in one word's
// class ("there is an orange square." as "an orange.s square.a", a predicate adjective, or "an orange.a square.n";
// "a purple square, a big red diamond" as one phrase with "square, big red" as adjectives). spaCy's tagger takes the
// reading in which a noun phrase ends in its noun, so among the linkages within `max_cost_margin` of the cheapest we
// take the one whose chunks contradict the fewest surface facts, facts read from the words and the dictionary's word
// classes alone: an opener (article, possessive, number) followed by adjective-capable words and a noun-capable word
// X before a phrase boundary (punctuation, preposition, another opener, "and" + a new phrase) makes X a head; an
// article belongs to some chunk; a past participle right after "be" is a verb ("is set with"), not a bare noun.
// Facts the chosen linkage still misses are applied to its chunks (split, shortened or new chunks), except where the
// linkage reads X as a verb after a phrase that has a head of its own ("the orange stands out").
//
// When a sentence does not parse within the limits (too long, out of time, too many unlinked words) a rule-based
// chunker takes over for that sentence (word classes from link-grammar's dictionary plus closed word lists); its
// phrases carry `fallback = true`, a debug-level log line says so and phrase_result.n_fallback counts them.
//
// Character spans are byte offsets [begin, end) into the UTF-8 text given to chunk().
//
// Thread safety: a phrase_chunker owns one link-grammar Dictionary, which is read-only after loading and is shared by
// concurrent chunk() calls; each call creates its own Parse_Options and Sentences (link-grammar's rule for threads).
// chunk() is const and may be called from many threads at once. link-grammar's error handler is per thread; chunk()
// installs ours (routing its messages to GLM_LOG_DEBUG) for the duration of the call and restores the previous one.
#pragma once

#include "maps.h"  // char_span

#include <memory>
#include <string>
#include <vector>

namespace glm {

// User settings of the chunker.
struct phrase_params {
    int  max_parse_time_s   = 2;     // link-grammar time limit per sentence, whole seconds (>= 1); then fallback
    int  max_sentence_words = 40;    // sentences with more words skip the parser (fallback chunker)
    int  linkage_limit      = 1000;  // linkages link-grammar extracts per sentence (a random sample when it finds
                                     // more; sorted by cost)
    double max_cost_margin  = 1.0;   // linkages up to this much link-grammar disjunct cost above the cheapest compete
                                     // on how well their chunks fit the sentence's word classes (0: cheapest only)
    int  max_null_words     = 0;     // accept parses that leave up to this many words unlinked (0: full parses
                                     // only); a sentence needing more goes to the fallback chunker
    bool use_parser         = true;  // false: rule-based chunker only (no dictionary parse at all)
    bool include_pronouns   = true;  // spaCy's noun_chunks include pronouns ("it", "they", "which", "him")
};

phrase_params phrase_default_params();

struct noun_phrase {
    char_span   span;               // the whole phrase, e.g. "a red double-decker bus"
    char_span   head;               // its head (root) noun, e.g. "bus": the span the grouping of tokens uses
    std::string text;               // text[span]
    std::string head_text;          // text[head]
    int         sentence = -1;      // index into phrase_result::sentences
    bool        fallback = false;   // found by the rule-based chunker, not the parser
    bool        pronoun  = false;   // the head is a pronoun
};

struct sentence_info {
    char_span   span;                 // the sentence in the text (list markers and outer spaces excluded)
    bool        parsed     = false;   // link-grammar parsed it (possibly with unlinked words)
    bool        fallback   = false;   // the rule-based chunker was used
    int         null_words = 0;       // words the accepted parse left unlinked
    std::string reason;               // why the fallback was used ("too long", "no parse", "time limit", ...)
};

struct phrase_result {
    std::vector<noun_phrase>   phrases;    // in text order, never overlapping
    std::vector<sentence_info> sentences;
    int                        n_fallback = 0;  // sentences chunked by the fallback
};

// Sentence spans of a text (exposed for tests): splits after . ! ? (and runs of them, with closing quotes or
// brackets) followed by a space and a likely sentence start, at line breaks and at ';'. Keeps abbreviations
// ("e.g.", "Mr.", "St."), decimals ("3.5") and initials inside; strips list markers ("1.", "-", "*") at a start.
std::vector<char_span> split_sentences(const std::string & text);

class phrase_chunker {
public:
    // Loads link-grammar's English dictionary (unless params.use_parser is false); throws glm::error when it cannot.
    explicit phrase_chunker(const phrase_params & params = phrase_default_params());
    ~phrase_chunker();
    phrase_chunker(const phrase_chunker &)             = delete;
    phrase_chunker & operator=(const phrase_chunker &) = delete;

    const phrase_params & params() const { return params_; }

    // The noun phrases of `text`. Never throws for any text (bad UTF-8 included); an empty or phrase-less text gives
    // an empty list.
    phrase_result chunk(const std::string & text) const;

    struct impl;

private:
    phrase_params         params_;
    std::unique_ptr<impl> impl_;
};

}  // namespace glm
