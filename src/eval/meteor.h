// eval/meteor.h: METEOR 1.5 (Denkowski & Lavie), implemented natively as the captioning toolkits run it
// (pycocoevalcap: `java -jar meteor-1.5.jar - - -stdio -l en -norm`, SCORE lines per segment, one EVAL line
// whose last output is the corpus score). Follows cmu-mtlab/meteor src/edu/cmu/meteor step by step:
// - Normalizer (-norm: Moses-style tokenisation, quote/dash normalisation, nonbreaking prefixes, punctuation
//   kept) then Java's toLowerCase;
// - Aligner: modules exact, stem (Snowball English, Debian libstemmer), synonym (WordNet 3.0 synsets read
//   from Debian's wordnet-base files, with WordNet's exception lists and Meteor's suffix rules); word keys are
//   Java String.hashCode values as in Meteor's Stage; one-to-one unambiguous matches are fixed first, the rest
//   is resolved by Meteor's left-to-right beam search (beam 40) preferring more exact-weighted matches, then
//   fewer chunks, then smaller distance (including the Java code's integer truncation of weighted match
//   counts and its distance bookkeeping);
// - MeteorScorer/MeteorStats: content/function word weighting (delta), module weights, Fmean (alpha),
//   fragmentation penalty gamma * frag^beta, best of several references, corpus aggregation of the
//   sufficient statistics (perfect segments add no chunks).
// Default English parameters (task "rank"): alpha 0.85, beta 0.2, gamma 0.6, delta 0.75; module weights
// exact 1.0, stem 0.6, synonym 0.8, paraphrase 0.6.
//
// Known differences from the jar:
// - The PARAPHRASE module is not implemented: its table (paraphrase-en.gz, distributed with Meteor) cannot be
//   shipped here. Segments where the jar would use a paraphrase match (multi-word or single-word paraphrases
//   not covered by exact/stem/synonym) score lower here; everything else is the same.
// - Meteor's function-word list (resources/function/english.words) and the Moses nonbreaking-prefix list
//   (resources/nonbreaking/english.prefixes) belong to Meteor and are not copied here. Give their folder in
//   meteor_params::resources_dir (a cmu-mtlab/meteor checkout's resources/, or the jar unzipped:
//   `unzip meteor-1.5.jar 'function/*' 'nonbreaking/*' -d DIR`). Without it every word counts as a content
//   word and a word ending in '.' keeps the dot only before a lowercase word (meteor_scorer::exact_resources()
//   is false; label such scores as approximate).
// - The Snowball English stemmer is Debian's libstemmer 2.x; Meteor bundles a 2010 Java build of the same
//   algorithm. Java's toLowerCase is reproduced with the C library's Unicode case tables (C.UTF-8) plus Java's
//   special cases (final sigma, dotted capital I); other locale-specific rules are not.
//
// Thread safety: a meteor_scorer is immutable after construction (dictionaries, lists, parameters); stats()
// and the scoring functions may be called concurrently from several threads.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace glm {

enum meteor_module { METEOR_EXACT = 0, METEOR_STEM = 1, METEOR_SYNONYM = 2 };

struct meteor_params {
    double alpha = 0.85;  // Fmean = P*R / (alpha*P + (1-alpha)*R)
    double beta  = 0.2;   // fragmentation penalty exponent
    double gamma = 0.6;   // fragmentation penalty weight
    double delta = 0.75;  // content-word weight (function words get 1 - delta)
    // modules in matching order (stage index = position); weights[i] is the weight of modules[i]
    std::vector<meteor_module> modules = { METEOR_EXACT, METEOR_STEM, METEOR_SYNONYM };
    std::vector<double>        weights = { 1.0, 0.6, 0.8 };
    int  beam_size = 40;     // Meteor's default beam
    bool normalize = true;   // -norm: tokenise and normalise punctuation (keep it), then lowercase
    std::string wordnet_dir   = "/usr/share/wordnet";  // index.sense, {adj,adv,noun,verb}.exc (wordnet-base)
    std::string resources_dir = "";  // Meteor's resources (function/, nonbreaking/); "" = approximate, see above
};

meteor_params meteor_default_params();

// Meteor's sufficient statistics of one segment (or their sum), in the order the jar prints them.
struct meteor_stats {
    double test_length = 0, ref_length = 0, test_function_words = 0, ref_function_words = 0;
    std::array<double, 4> test_content{}, ref_content{}, test_function{}, ref_function{};  // per stage
    double chunks = 0, test_word_matches = 0, ref_word_matches = 0;

    std::string to_string() const;                      // "6.0 6.0 3.0 ..." as MeteorStats.toString()
    static meteor_stats parse(const std::string & s);   // MeteorStats(String); throws on malformed input
    double test_total_matches() const;
    double ref_total_matches() const;
};

// The alignment found for one test/reference pair (for inspection and tests).
struct meteor_alignment {
    std::vector<std::string> test_words, ref_words;  // after normalisation
    // per reference word: index of the aligned test word (-1 none) and the stage that matched it
    std::vector<int> ref_to_test, ref_stage;
    int              chunks = 0;
};

class meteor_scorer {
public:
    explicit meteor_scorer(const meteor_params & params = meteor_default_params());
    ~meteor_scorer();
    meteor_scorer(const meteor_scorer &)             = delete;
    meteor_scorer & operator=(const meteor_scorer &) = delete;

    // SCORE line: statistics of the test sentence against its best-scoring reference (first on ties).
    meteor_stats stats(const std::string & test, const std::vector<std::string> & refs) const;
    meteor_stats stats(const std::string & test, const std::string & ref, meteor_alignment * alignment) const;
    // computeMetrics(): the score of one segment's (or a sum's) statistics.
    double       score(const meteor_stats & s) const;
    // EVAL line: the sum of the segments' statistics (MeteorStats.addStats), then its score.
    double       corpus_score(const std::vector<meteor_stats> & segments) const;
    // pycocoevalcap's Meteor.compute_score(): one hypothesis and its references per item (the hypothesis loses
    // '|||', a reference containing '|||' splits as the jar's line protocol splits it); returns the corpus
    // score, per-item scores in `per_item` if given.
    double       evaluate(const std::vector<std::string> & hyps, const std::vector<std::vector<std::string>> & refs,
                          std::vector<double> * per_item = nullptr) const;

    bool exact_resources() const;  // false when Meteor's function-word / prefix lists were not given

    // The normalised, lowercased tokens Meteor aligns (exposed for tests).
    std::vector<std::string> tokenize(const std::string & line) const;

    struct impl;

private:
    std::unique_ptr<impl> p_;
};

}  // namespace glm
