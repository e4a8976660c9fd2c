// groundlmm vqa-score: scores a LLaVA answers JSONL of a general VQA benchmark as the official evaluators do (as
// LLaVA-1.5's scripts apply them) and prints the metrics as one JSON object; writes the evaluation server's file
// for VQAv2 and VizWiz. See src/eval/vqa-score.h and docs/evaluation.md.
#include "common.h"
#include "eval/vqa-judge.h"
#include "eval/vqa-llava-bench.h"
#include "eval/vqa-score.h"
#include "eval/xlsx-write.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>

int cmd_vqa_score(int argc, char ** argv) {
    CLI::App         app{ "Score LLaVA answers of a general VQA benchmark with its official evaluator" };
    std::string      bench, submission, json_out;
    glm::vqa_score_params p;
    app.add_option("--bench", bench, "benchmark: " + glm::vqa_bench_names())->required();
    app.add_option("--pred", p.pred_path, "answers JSONL (LLaVA's model_vqa_loader.py format)")->required();
    app.add_option("--gt", p.gt_path,
                   "ground truth: vqav2 v2_mscoco_<split>_annotations.json; textvqa TextVQA_0.5.1_val.json; gqa "
                   "<tier>_balanced_questions.json; scienceqa the folder of problems.json + pid_splits.json; pope "
                   "coco/coco_pope_<category>.json or the coco/ folder; mmbench the dev TSV");
    app.add_option("--questions", p.questions_path,
                   "LLaVA question JSONL: vqav2 the split to submit (llava_vqav2_mscoco_test2015.jsonl; without --gt "
                   "only the submission is written); vizwiz llava_test.jsonl; pope llava_pope_test.jsonl (default: "
                   "beside coco/)");
    app.add_option("--split", p.split, "scienceqa: the pid_splits.json split")->capture_default_str();
    app.add_option("--submission", submission,
                   "vqav2 / vizwiz: write the evaluation server's JSON here; mmbench: its .xlsx (dev or test TSV)");
    app.add_option("-o,--json", json_out, "also write the metrics JSON to this file");
    // LLaVA-Bench: reviews by an LLM judge, then LLaVA's summary
    glm::llava_bench_params lb;
    glm::llm_judge_params   jp;
    app.add_option("--context", lb.context_path, "llava-bench: context.jsonl (the images' captions)");
    app.add_option("--rule", lb.rule_path, "llava-bench: LLaVA's llava/eval/table/rule.json");
    app.add_option("--reference", lb.reference_path, "llava-bench: the reference answers (answers_gpt4.jsonl)");
    app.add_option("--reviews", lb.reviews_path,
                   "llava-bench: the reviews JSONL (appended by --judge; or made by LLaVA's GPT-4 script)");
    app.add_option("--judge", jp.model, "llava-bench: judge LLM GGUF (the paper used GPT-4: say which judge you used)");
    app.add_option("--judge-template", jp.chat_template, "llava-bench: the judge's chat template (default: its GGUF's)");
    app.add_option("--judge-ctx", jp.n_ctx, "llava-bench: the judge's context (tokens)")->capture_default_str();
    app.add_option("--judge-max-tokens", jp.max_tokens, "llava-bench: the judge's reply limit (LLaVA: 1024)")
        ->capture_default_str();
    bool verbose = false;
    app.add_flag("-v,--verbose", verbose, "show ggml/libllama logs");
    app.add_option("--judge-temp", jp.temperature, "llava-bench: judge temperature (0 = greedy; LLaVA used 0.2)")
        ->capture_default_str();
    app.add_option("--judge-ngl", jp.n_gpu_layers, "llava-bench: judge layers on the GPU (-1 = all)")->capture_default_str();
    app.add_option("-t,--threads", jp.n_threads, "llava-bench: judge CPU threads (0 = all)")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    p.bench                        = glm::vqa_bench_from_name(bench);
    if (p.bench == glm::vqa_bench::llava_bench) {
        if (lb.reviews_path.empty()) {
            glm::fail("llava-bench: give --reviews (the judge's reviews JSONL)");
        }
        std::string judge_name = "reviews file (judge not run here)";
        if (!jp.model.empty()) {
            if (p.questions_path.empty() || lb.context_path.empty() || lb.rule_path.empty() ||
                lb.reference_path.empty()) {
                glm::fail("llava-bench with --judge needs --questions, --context, --rule and --reference");
            }
            lb.questions_path = p.questions_path;
            lb.answers_path   = p.pred_path;
            glm::log_route_ggml(verbose);
            glm::llm_judge judge(jp);
            const int64_t  n = glm::llava_bench_review(lb, [&](const std::string & sys, const std::string & user) {
                return judge.ask(sys, user);
            });
            fprintf(stderr, "llava-bench: %lld new reviews by %s in %s\n", (long long) n, judge.name().c_str(),
                    lb.reviews_path.c_str());
            judge_name = judge.name();
        }
        nlohmann::json out = { { "bench", "llava-bench" },
                               { "judge", judge_name },
                               { "note", "relative score = model / reference * 100 per category; the paper's judge "
                                         "was GPT-4 (gpt-4-0314), other judges give other numbers" },
                               { "summary", glm::llava_bench_summary(lb.reviews_path) } };
        const std::string text = out.dump(1) + "\n";
        if (!json_out.empty()) {
            glm::write_file(json_out, text);
        }
        fputs(text.c_str(), stdout);
        return 0;
    }
    const glm::vqa_score_result r = glm::vqa_score(p);
    if (!submission.empty()) {
        if (r.submission.is_null()) {
            glm::fail("--submission: %s has no evaluation-server file", bench.c_str());
        }
        if (p.bench == glm::vqa_bench::mmbench) {  // the table LLaVA's converter writes with pandas.to_excel
            std::vector<std::vector<glm::xlsx_cell>> rows;
            for (const auto & row : r.submission) {
                rows.emplace_back();
                for (const auto & v : row) {
                    rows.back().push_back(v.is_null()     ? glm::xlsx_cell()
                                          : v.is_string() ? glm::xlsx_cell::of_text(v.get<std::string>())
                                                          : glm::xlsx_cell::of_number(v.get<double>()));
                }
            }
            glm::xlsx_write(submission, rows);
        } else {
            glm::write_file(submission, r.submission.dump() + "\n");
        }
    }
    const std::string text = r.metrics.dump(1) + "\n";
    if (!json_out.empty()) {
        glm::write_file(json_out, text);
    }
    fputs(text.c_str(), stdout);
    return 0;
}
