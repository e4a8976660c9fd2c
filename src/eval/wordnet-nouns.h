// eval/wordnet-nouns.h: the WordNet 3.0 noun hypernym graph and Wu-Palmer similarity, for mapping a phrase's head
// noun to a COCO category without word vectors (evaluation's default category matcher, see category-match.h).
//
// This is an addition next to the metrics engineer's WordNet reader (meteor-wordnet.cpp), not a second one: that
// reader builds Meteor's synonym sets from index.sense and the exception lists, which carry neither parts of speech
// nor sense order nor hypernyms. Word similarity needs the noun taxonomy, so this file reads the noun files only:
// data.noun (lemmas and hypernym / instance-hypernym pointers), index.noun (senses in frequency order, tagged-sense
// counts) and noun.exc (irregular plurals).
//
// Morphology (NLTK's morphy for nouns): a word listed in noun.exc stands for itself and its bases; any other word for
// itself and the results of one round of the suffix rules (s, ses, xes, zes, ches, shes, men, ies); only forms that
// are noun lemmas (index.noun) are kept. One addition: "people" -> "person" (noun.exc lacks this suppletive plural,
// and "people" alone is a lemma meaning a group). Multi-word lemmas use '_' ("traffic_light").
//
// Senses: a word's senses are those of its lemmas in index.noun order (most frequent first). Word similarity uses
// only the senses seen in WordNet's tagged corpus (the first tagsense_cnt, at least one), so that rare senses do not
// make unrelated words similar ("image" has a rare sense "a person who closely resembles another").
//
// Wu-Palmer: for a common hypernym c (the synsets themselves included), 2 D / (d1 + d2 + 2 D) with D = the longest
// path from c to the root + 1 and d1, d2 the shortest hypernym-path distances to c; the similarity is the best value
// over the common hypernyms. This is NLTK's Synset.wup_similarity formula with the best subsumer, where NLTK takes the
// subsumer of largest minimum depth (lower values when a synset has hypernym paths of different lengths, as
// person.n.01). All nouns share the root 'entity', so every pair has a common hypernym.
//
// Thread safety: immutable after construction; all queries may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace glm {

class wordnet_nouns {
public:
    // Reads dir/data.noun, index.noun and noun.exc (Debian wordnet-base: /usr/share/wordnet); throws glm::error.
    explicit wordnet_nouns(const std::string & dir = "/usr/share/wordnet");
    ~wordnet_nouns();
    wordnet_nouns(const wordnet_nouns &)             = delete;
    wordnet_nouns & operator=(const wordnet_nouns &) = delete;

    size_t n_synsets() const;
    // The noun lemmas a surface word stands for (morphy), lower-case, '_' for spaces; empty when none.
    std::vector<std::string> lemmas(const std::string & word) const;
    // The noun synsets (indices) of a surface word, most frequent first; tagged_only keeps the senses of each lemma
    // that occur in WordNet's tagged corpus (at least the first).
    std::vector<int> synsets(const std::string & word, bool tagged_only = false) const;
    // Wu-Palmer similarity of two synsets (1 for the same synset).
    double wup(int a, int b) const;
    // The best Wu-Palmer similarity over the tagged noun senses of two words; 0 when either has no noun sense.
    double word_wup(const std::string & a, const std::string & b) const;
    // Synset index -> its data.noun offset and first lemma (for messages and tests).
    uint32_t    offset(int s) const;
    std::string first_lemma(int s) const;

    struct impl;

private:
    std::unique_ptr<impl> p_;
};

}  // namespace glm
