// groundlmm meteor: METEOR 1.5 speaking the Meteor jar's -stdio protocol, so that tools written for
// `java -jar meteor-1.5.jar - - -stdio -l en -norm` (pycocoevalcap) can run it instead:
//   SCORE ||| ref 1 ||| ... ||| ref n ||| hypothesis   -> one line of sufficient statistics
//   EVAL ||| stats 1 ||| ... ||| stats n               -> each segment's score, then the corpus score
// See src/eval/meteor.h for what differs from the jar (no paraphrase module). With --tokenize ptb the segments
// first go through pycocoevalcap's PTBTokenizer step (src/eval/ptb-tokenize.h), so raw captions can be scored.
#include "common.h"
#include "eval/meteor.h"
#include "eval/ptb-tokenize.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

static std::vector<std::string> split_bars(const std::string & line) {  // String.split("\\|\\|\\|") + trim
    std::vector<std::string> parts;
    size_t                   b = 0;
    while (true) {
        const size_t k = line.find("|||", b);
        parts.push_back(line.substr(b, k == std::string::npos ? std::string::npos : k - b));
        if (k == std::string::npos) {
            break;
        }
        b = k + 3;
    }
    while (!parts.empty() && parts.back().empty()) {  // Java drops trailing empty strings
        parts.pop_back();
    }
    for (auto & p : parts) {
        size_t s = 0, e = p.size();
        while (s < e && (unsigned char) p[s] <= ' ') {
            s++;
        }
        while (e > s && (unsigned char) p[e - 1] <= ' ') {
            e--;
        }
        p = p.substr(s, e - s);
    }
    return parts;
}

int cmd_meteor(int argc, char ** argv) {
    CLI::App           app{ "METEOR 1.5 (exact, stem, synonym) over the Meteor jar's -stdio protocol on stdin" };
    glm::meteor_params p;
    bool               no_norm = false, no_stem = false, no_syn = false;
    std::string        tokenize = "none";
    app.add_option("--resources", p.resources_dir,
                   "Meteor's resources folder (function/, nonbreaking/, synonym/); without it scores are approximate");
    app.add_option("--wordnet", p.wordnet_dir, "WordNet 3.0 dict folder")->capture_default_str();
    app.add_flag("--no-norm", no_norm, "do not tokenise/normalise/lowercase (as the jar without -norm)");
    app.add_flag("--no-stem", no_stem, "drop the stem module");
    app.add_flag("--no-synonym", no_syn, "drop the synonym module");
    app.add_option("--tokenize", tokenize,
                   "ptb: first apply pycocoevalcap's PTBTokenizer step (lowercase, PTB tokens, punctuation dropped) to "
                   "each segment on its own, as COCOEvalCap does before calling the jar")
        ->check(CLI::IsMember({ "none", "ptb" }))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    p.normalize = !no_norm;
    p.modules   = { glm::METEOR_EXACT };
    p.weights   = { 1.0 };
    if (!no_stem) {
        p.modules.push_back(glm::METEOR_STEM);
        p.weights.push_back(0.6);
    }
    if (!no_syn) {
        p.modules.push_back(glm::METEOR_SYNONYM);
        p.weights.push_back(0.8);
    }
    const glm::meteor_scorer scorer(p);
    std::string              line;
    while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const auto parts = split_bars(line);
        if (line.rfind("SCORE", 0) == 0 || line.rfind("score", 0) == 0) {
            if (parts.size() < 3) {
                printf("Error: specify hypothesis and at least one reference\n");
            } else {
                std::vector<std::string> refs(parts.begin() + 1, parts.end() - 1);
                std::string              hyp = parts.back();
                if (tokenize == "ptb") {
                    hyp = glm::ptb_tokenize_caption(hyp);
                    for (auto & r : refs) {
                        r = glm::ptb_tokenize_caption(r);
                    }
                }
                printf("%s\n", scorer.stats(hyp, refs).to_string().c_str());
            }
        } else if (line.rfind("EVAL", 0) == 0 || line.rfind("eval", 0) == 0) {
            if (parts.size() < 2) {
                printf("Error: specify Meteor stats\n");
            } else {
                std::vector<glm::meteor_stats> segs;
                for (size_t i = 1; i < parts.size(); ++i) {
                    segs.push_back(glm::meteor_stats::parse(parts[i]));
                    printf("%.17g\n", scorer.score(segs.back()));
                }
                printf("%.17g\n", scorer.corpus_score(segs));
            }
        } else {
            printf("Error: specify SCORE or EVAL\n");
        }
        fflush(stdout);
    }
    return 0;
}
