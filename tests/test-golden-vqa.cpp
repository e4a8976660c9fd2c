// test-golden-vqa: vqa-score against the official evaluators (LLaVA's eval and submission scripts, the VQA tool,
// m4c's TextVQA evaluator, GQA's eval.py) run by scripts/vqa-golden.py on crafted answer files. Every number must be
// EXACTLY equal (no tolerance), and the submission files equal as JSON.
// Usage: test-golden-vqa [folder with cases.json]
#include "eval/vqa-llava-bench.h"
#include "eval/vqa-mmbench.h"
#include "eval/vqa-score.h"
#include "golden-util.h"

#include "common.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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

// LLaVA-Bench: the judge requests (byte-exact), the parsed scores of crafted judge replies, the review records and
// the summary, against eval_gpt_review_bench.py (run with a recording stand-in for the OpenAI client) and
// summarize_gpt_review.py.
static void check_llava_bench(golden::report & rep, const std::string & dir, const json & c) {
    const json              want = load_json(dir + "/" + c.at("expected").get<std::string>());
    const json              replies = load_json(dir + "/" + c.at("replies").get<std::string>());
    glm::llava_bench_params p;
    p.questions_path = dir + "/" + c.at("questions").get<std::string>();
    p.context_path   = dir + "/" + c.at("context").get<std::string>();
    p.rule_path      = dir + "/" + c.at("rule").get<std::string>();
    p.reference_path = dir + "/" + c.at("reference").get<std::string>();
    p.answers_path   = dir + "/" + c.at("pred").get<std::string>();
    const auto  req  = glm::llava_bench_requests(p);
    std::string d;
    if (req.size() != want["requests"].size()) {
        d = "count";
    }
    for (size_t i = 0; i < req.size() && d.empty(); ++i) {
        if (req[i] != want["requests"][i].get<std::string>()) {
            d = glm::strfmt("request %zu differs", i);
        }
    }
    rep.check("llava-bench judge requests (" + std::to_string(req.size()) + ", byte-exact)", d.empty(), d);

    // the review loop with a judge that replies as the stand-in did
    p.reviews_path = std::filesystem::temp_directory_path().string() + "/test-golden-vqa-reviews-" +
                     std::to_string((long long) getpid()) + ".jsonl";
    std::filesystem::remove(p.reviews_path);
    size_t      k = 0;
    std::string sys_seen;
    glm::llava_bench_review(p, [&](const std::string & system, const std::string &) {
        sys_seen = system;
        return replies.at(k++).get<std::string>();
    });
    rep.check("llava-bench judge system message", sys_seen == want["system"].get<std::string>(), sys_seen);
    std::ifstream in(p.reviews_path);
    std::string   line;
    d.clear();
    for (size_t i = 0; std::getline(in, line); ++i) {
        const json got = json::parse(line);
        if (i >= want["reviews"].size() || got != want["reviews"][i]) {
            d = glm::strfmt("review %zu: got %s", i, got.dump().c_str());
            break;
        }
    }
    rep.check("llava-bench review records (" + std::to_string(want["reviews"].size()) + ", parse_score exact)",
              d.empty(), d);
    const json  sum = glm::llava_bench_summary(p.reviews_path);
    std::string sd;
    int         n_values = 0;
    for (auto it = want["summary"].begin(); it != want["summary"].end(); ++it) {
        for (const char * f : { "relative", "reference", "model" }) {
            ++n_values;
            if (!sum.contains(it.key()) || !sum[it.key()][f].is_number() ||
                sum[it.key()][f].get<double>() != it.value()[f].get<double>()) {
                sd = it.key() + "/" + f + ": got " + (sum.contains(it.key()) ? sum[it.key()][f].dump() : "nothing");
            }
        }
    }
    rep.check("llava-bench summary (" + std::to_string(n_values) + " values, exact)", sd.empty() && n_values > 0, sd);
    std::filesystem::remove(p.reviews_path);
}

// LLaVA-1.5's prompts and generation settings: what LLaVA's own model_vqa_loader.py, model_vqa_science.py,
// model_vqa_mmbench.py and model_vqa.py passed to the tokenizer and to generate() (scripts/vqa-golden.py ran them
// with the model replaced), against vqa_make_prompt / mmbench_make_prompt.
static void check_prompts(golden::report & rep, const std::string & dir, const json & c) {
    const json want = load_json(dir + "/" + c.at("expected").get<std::string>());
    struct group {
        const char *   key;
        glm::vqa_bench bench;
        const char *   file;
    };
    const group groups[] = {
        { "loader", glm::vqa_bench::vqav2, "llava_questions.jsonl" },
        { "loader", glm::vqa_bench::gqa, "llava_questions.jsonl" },
        { "loader", glm::vqa_bench::vizwiz, "llava_questions.jsonl" },
        { "loader", glm::vqa_bench::textvqa, "llava_questions.jsonl" },
        { "loader", glm::vqa_bench::pope, "llava_questions.jsonl" },
        { "scienceqa", glm::vqa_bench::scienceqa, "llava_test_CQM-A.json" },
        { "mmbench", glm::vqa_bench::mmbench, "mmbench.tsv" },
        { "llava-bench", glm::vqa_bench::llava_bench, "llava_questions.jsonl" },
    };
    const std::string pdir = dir + "/" + c.at("dir").get<std::string>();
    for (const auto & g : groups) {
        std::vector<glm::vqa_prompt> ps;
        std::vector<json>            ids;
        if (g.bench == glm::vqa_bench::mmbench) {
            for (const auto & r : glm::mmbench_read_tsv(pdir + "/" + g.file).rows) {
                ps.push_back(glm::mmbench_make_prompt(r));
                ids.push_back(r.index);
            }
        } else {
            for (const auto & q : glm::vqa_read_questions(g.bench, pdir + "/" + g.file)) {
                ps.push_back(glm::vqa_make_prompt(g.bench, q));
                ids.push_back(q.question_id);
            }
        }
        const json & w = want.at(g.key);
        std::string  d = ps.size() != w.size() ? "count" : "";
        for (size_t i = 0; i < ps.size() && d.empty(); ++i) {
            const json & e = w[i];
            if (ids[i] != e["question_id"]) {
                d = glm::strfmt("%zu: question_id %s vs %s", i, ids[i].dump().c_str(), e["question_id"].dump().c_str());
            } else if (glm::vqa_full_prompt(ps[i]) != e["prompt"].get<std::string>()) {
                d = glm::strfmt("%zu: prompt \"%s\" vs \"%s\"", i, glm::vqa_full_prompt(ps[i]).c_str(),
                                e["prompt"].get<std::string>().c_str());
            } else if (ps[i].answer_prompt != e["answer_prompt"].get<std::string>()) {
                d = glm::strfmt("%zu: answers' prompt \"%s\" vs \"%s\"", i, ps[i].answer_prompt.c_str(),
                                e["answer_prompt"].get<std::string>().c_str());
            } else if (ps[i].max_new_tokens != e["generate"]["max_new_tokens"].get<int>() ||
                       e["generate"]["do_sample"].get<bool>() || ps[i].temperature != 0.0f ||
                       e["generate"]["temperature"].get<double>() != 0.0 ||
                       (e["generate"].contains("num_beams") && e["generate"]["num_beams"] != ps[i].num_beams)) {
                d = glm::strfmt("%zu: settings (max_new_tokens %d vs %s)", i, ps[i].max_new_tokens,
                                e["generate"].dump().c_str());
            }
        }
        rep.check(std::string("prompts ") + glm::vqa_bench_name(g.bench) + " (" + std::to_string(ps.size()) +
                      ", text and settings exact)",
                  d.empty(), d);
    }
}

int main(int argc, char ** argv) {
    const std::string dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    golden::report    rep;
    try {
        const json cases = load_json(dir + "/cases.json");
        for (const auto & c : cases) {
            const std::string bench = c.at("bench").get<std::string>();
            if (bench == "llava-bench") {
                check_llava_bench(rep, dir, c);
                continue;
            }
            if (bench == "prompts") {
                check_prompts(rep, dir, c);
                continue;
            }
            glm::vqa_score_params p;
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
