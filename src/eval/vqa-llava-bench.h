// eval/vqa-llava-bench.h: LLaVA-Bench (in the wild) scoring as LLaVA's llava/eval/eval_gpt_review_bench.py and
// summarize_gpt_review.py do it, with the judge an LLM the caller provides (the paper used GPT-4 (gpt-4-0314); a
// local judge gives other numbers: say which judge next to a score).
//
//  - the judge's request per question: "[Context]\n<caption(s)>\n\n[Question]\n<question>\n\n[<role> 1]\n<reference
//    answer>\n\n[End of <role> 1]\n\n[<role> 2]\n<model answer>\n\n[End of <role> 2]\n\n[System]\n<rule prompt>\n\n",
//    with the rule of category llava_bench_<category> from LLaVA's llava/eval/table/rule.json and the system message
//    "You are a helpful and precise assistant for checking the quality of the answer.";
//  - parse_score: the first line of the reply, commas to spaces, split on single spaces: exactly two numbers, else
//    (-1, -1);
//  - the summary per category and "all": the mean of each score, rounded to 3 decimals; the relative score
//    round(model / reference * 100, 1), and each score * 10 rounded to 1 decimal.
// The question, reference-answer and model-answer files are paired by line position, as the official script zips
// them; here each line's question_id must agree (a clear error naming the files and line otherwise).
//
// Thread safety: pure functions apart from reading and writing files; the judge callback is called sequentially.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace glm {

extern const char * const k_llava_bench_judge_system;

struct llava_bench_params {
    std::string questions_path;   // questions.jsonl (question_id, image, text, category)
    std::string context_path;     // context.jsonl (image, caption: string or list)
    std::string rule_path;        // LLaVA's llava/eval/table/rule.json
    std::string reference_path;   // answers_gpt4.jsonl (answer 1)
    std::string answers_path;     // the model's answers JSONL (answer 2)
    std::string reviews_path;     // reviews JSONL: appended per question; existing lines are kept (resume)
};

// The judge: (system, user) -> reply.
typedef std::function<std::string(const std::string & system, const std::string & user)> llava_bench_judge_fn;

// The request texts, one per question in file order (for tests and for running a judge elsewhere).
std::vector<std::string> llava_bench_requests(const llava_bench_params & p);

// Asks the judge for every question without a review yet, appending to reviews_path (official review records:
// id, question_id, answer1_id, answer2_id, category, content, tuple). Returns the number of new reviews.
int64_t llava_bench_review(const llava_bench_params & p, const llava_bench_judge_fn & judge);

// eval_gpt_review_bench.py's parse_score.
std::pair<double, double> llava_bench_parse_score(const std::string & review);

// summarize_gpt_review.py on a reviews file: {"<category>": {"relative": r, "reference": s0*10, "model": s1*10,
// "mean": [s0, s1], "n": n}, ..., "all": {...}}.
nlohmann::json llava_bench_summary(const std::string & reviews_path);

}  // namespace glm
