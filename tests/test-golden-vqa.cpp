// test-golden-vqa: vqa-score against the official evaluators (LLaVA's eval and submission scripts, the VQA tool,
// m4c's TextVQA evaluator, GQA's eval.py) run by scripts/vqa-golden.py on crafted answer files. Every number must be
// EXACTLY equal (no tolerance), and the submission files equal as JSON.
// Usage: test-golden-vqa [folder with cases.json]
#include "eval/vqa-score.h"
#include "golden-util.h"

#include "common.h"

#include <nlohmann/json.hpp>

#include <cstdio>

using json = nlohmann::json;

static json load_json(const std::string & path) {
    const std::vector<uint8_t> b = glm::read_file(path);
    return json::parse(b.begin(), b.end());
}

// Every value of `want` must be in `got` and equal: numbers exactly (an integer equals the same double), strings and
// booleans equal, objects key by key (extra keys in `got` are ours: counts the official code does not print).
static void compare(const std::string & path, const json & got, const json & want,
                    int * n_values, std::string * first_diff) {
    if (want.is_object()) {
        if (!got.is_object()) {
            if (first_diff->empty()) {
                *first_diff = path + ": not an object";
            }
            return;
        }
        for (auto it = want.begin(); it != want.end(); ++it) {
            if (!got.contains(it.key())) {
                if (first_diff->empty()) {
                    *first_diff = path + "/" + it.key() + ": missing";
                }
                continue;
            }
            compare(path + "/" + it.key(), got[it.key()], it.value(), n_values, first_diff);
        }
        return;
    }
    ++*n_values;
    const bool same = want.is_number() && got.is_number() ? got.get<double>() == want.get<double>() : got == want;
    if (!same && first_diff->empty()) {
        *first_diff = glm::strfmt("%s: got %s, want %s", path.c_str(), got.dump().c_str(), want.dump().c_str());
    }
}

int main(int argc, char ** argv) {
    const std::string dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    golden::report    rep;
    try {
        const json cases = load_json(dir + "/cases.json");
        for (const auto & c : cases) {
            glm::vqa_score_params p;
            const std::string     bench = c.at("bench").get<std::string>();
            p.bench                     = glm::vqa_bench_from_name(bench);
            p.pred_path                 = dir + "/" + c.at("pred").get<std::string>();
            if (c.contains("gt")) {
                p.gt_path = dir + "/" + c["gt"].get<std::string>();
            }
            if (c.contains("questions")) {
                p.questions_path = dir + "/" + c["questions"].get<std::string>();
            }
            const glm::vqa_score_result r = glm::vqa_score(p);
            const json                  want = load_json(dir + "/" + c.at("expected").get<std::string>());
            int                         n_values = 0;
            std::string                 diff;
            compare(bench, r.metrics, want, &n_values, &diff);
            rep.check(bench + " metrics (" + std::to_string(n_values) + " values, exact)", diff.empty() && n_values > 0,
                      diff);
            if (c.contains("expected_submission")) {
                const json ws = load_json(dir + "/" + c["expected_submission"].get<std::string>());
                std::string d;
                if (!ws.is_array() || !r.submission.is_array() || ws.size() != r.submission.size()) {
                    d = "different lengths";
                } else {
                    for (size_t i = 0; i < ws.size() && d.empty(); ++i) {
                        if (ws[i] != r.submission[i]) {
                            d = glm::strfmt("entry %zu: got %s, want %s", i, r.submission[i].dump().c_str(),
                                            ws[i].dump().c_str());
                        }
                    }
                }
                rep.check(bench + " submission (" + std::to_string(ws.size()) + " entries)", d.empty(), d);
            }
        }
    } catch (const std::exception & e) {
        rep.check("run", false, e.what());
    }
    return rep.finish("test-golden-vqa");
}
