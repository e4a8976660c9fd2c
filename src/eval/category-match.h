// eval/category-match.h: mapping a phrase's head noun to one of the ground-truth categories of its image, as the
// pilot study of attend-and-segment does it (aas/instance_seg.py: similarity of the head noun to each category name
// present in the image's ground truth, argmax over those categories in ascending id order, kept when >= a
// threshold).
//
// The official code uses spaCy's en_core_web_lg vectors (Doc.vector = mean of the token vectors, out-of-vocabulary
// tokens counting as zero vectors, after lower-casing and removing a leading "the " / "an " / "a "; cosine
// similarity). Two similarities are offered here:
//   - word vectors (word_similarity_vectors): any GloVe or fastText text file ("word v1 ... vd" per line, fastText's
//     "count dim" header line allowed); the same recipe as spaCy's Doc.vector, so en_core_web_lg-like vectors give
//     the official numbers up to tokenisation details. Default threshold 0.5.
//   - WordNet (word_similarity_wordnet, the offline default from Debian's wordnet-base): Wu-Palmer similarity over
//     noun senses (wordnet-nouns.h), the best over the forms of each side: the whole phrase as one lemma
//     ("traffic_light", "dining_table") and, for several words, its last word ("plant" of "potted plant").
//     Wu-Palmer is high for unrelated concrete nouns (everything shares physical_entity / object: shirt vs person
//     is 0.50, wall vs person 0.55), so its default threshold is 0.8, which keeps hyponyms of a category (man 0.93,
//     woman / boy / girl 0.875, skier 0.82 -> person; puppy -> dog 0.97) and near siblings (cat vs dog 0.86, as
//     spaCy's 0.80 would too). See docs/evaluation.md for measured pairs.
//
// Thread safety: similarities are immutable after construction; similarity() may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace glm {

class word_similarity {
public:
    virtual ~word_similarity() = default;
    // "wordnet-wup" or "vectors:<file name>" (recorded in run manifests and tables)
    virtual std::string name() const = 0;
    // the threshold used when the user gives none
    virtual double      default_threshold() const = 0;
    // similarity of two short texts (a head noun, a category name), in [-1, 1]
    virtual double      similarity(const std::string & a, const std::string & b) const = 0;
};

// The default thresholds (default_threshold() of each kind), for callers that record them before loading.
constexpr double k_category_thresh_wordnet = 0.8;
constexpr double k_category_thresh_vectors = 0.5;

// WordNet Wu-Palmer (reads dir/data.noun, index.noun and noun.exc once).
std::unique_ptr<word_similarity> word_similarity_wordnet(const std::string & dir = "/usr/share/wordnet");
// GloVe / fastText text vectors; max_words > 0 reads only the first max_words entries (files are sorted by
// frequency). Throws glm::error for a malformed file (naming the line).
std::unique_ptr<word_similarity> word_similarity_vectors(const std::string & path, int64_t max_words = 0);

// The text the official get_spacy_embedding() embeds: lower-cased, one leading "the " / "an " / "a " removed.
std::string category_text_normalize(const std::string & s);
// spaCy-like word split of normalised text: whitespace, then punctuation characters as separate tokens.
std::vector<std::string> category_text_words(const std::string & s);

struct category_candidate {
    int64_t     id = 0;
    std::string name;
};

struct category_match {
    int64_t     category_id = -1;  // the argmax candidate (-1 when there are no candidates)
    std::string name;
    double      score   = 0.0;     // its similarity
    bool        matched = false;   // score >= threshold
};

// Argmax of similarity(head, candidate name) over the candidates in the given order (first maximum wins, as
// torch.argmax); candidates should be the image's ground-truth categories in ascending id order.
category_match match_category(const word_similarity & sim, const std::string & head,
                              const std::vector<category_candidate> & candidates, double threshold);

}  // namespace glm
