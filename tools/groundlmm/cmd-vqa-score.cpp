// groundlmm vqa-score: scores a LLaVA answers JSONL of a general VQA benchmark as the official evaluators do (as
// LLaVA-1.5's scripts apply them) and prints the metrics as one JSON object; writes the evaluation server's file
// for VQAv2 and VizWiz. See src/eval/vqa-score.h and docs/evaluation.md.
#include "common.h"
#include "eval/vqa-score.h"

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
    app.add_option("--submission", submission, "vqav2 / vizwiz: write the evaluation server's JSON here");
    app.add_option("-o,--json", json_out, "also write the metrics JSON to this file");
    CLI11_PARSE(app, argc, argv);

    p.bench                        = glm::vqa_bench_from_name(bench);
    const glm::vqa_score_result r = glm::vqa_score(p);
    if (!submission.empty()) {
        if (r.submission.is_null()) {
            glm::fail("--submission: %s has no evaluation-server file", bench.c_str());
        }
        glm::write_file(submission, r.submission.dump() + "\n");
    }
    const std::string text = r.metrics.dump(1) + "\n";
    if (!json_out.empty()) {
        glm::write_file(json_out, text);
    }
    fputs(text.c_str(), stdout);
    return 0;
}
