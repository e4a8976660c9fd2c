// eval/vqa-score.h: scoring of LLaVA answers files exactly as the official evaluators score them, the way LLaVA-1.5's
// scripts (scripts/v1_5/eval/*.sh) apply them:
//
//  vqav2     gt: v2_mscoco_<split>_annotations.json. convert_vqav2_for_submission.py's step (EvalAI's answer
//            processing; '' for a question without answer), then the official VQA tool's accuracy (vqaEval.py:
//            its punctuation / digit-article processing where the ten answers differ, min(#matches among the other
//            nine / 3, 1) averaged over the ten, rounded to 2 decimals): overall, per question type, per answer type.
//            The submission is [{question_id, answer}] over the annotations' questions, or over --questions
//            (llava_vqav2_mscoco_test2015.jsonl) for a test-dev / test submission without ground truth.
//  vizwiz    convert_vizwiz_for_submission.py: [{image, answer}] over --questions (llava_test.jsonl), every question
//            answered. No local accuracy: VizWiz test is scored by its evaluation server.
//  textvqa   gt: TextVQA_0.5.1_val.json. eval_textvqa.py: each answer matched to its annotation by (question_id =
//            image_id, the question read back from its prompt, lower case); m4c's TextVQAAccuracyEvaluator.
//  gqa       gt: the balanced questions JSON ({tier}_balanced_questions.json). convert_gqa_for_eval.py
//            (rstrip('.'), lower) then GQA's eval.py as LLaVA modifies it: exact match over balanced questions,
//            binary / open (structural type "query"), per structural and semantic type.
//  scienceqa gt: the folder of problems.json and pid_splits.json (split "test" unless --split). eval_science_qa.py:
//            the answer letter ("A", "A. ...", or exactly one "The answer is X."), accuracy over the split, and IMG
//            accuracy over the answers whose prompt holds "<image>".
//  pope      gt: coco/coco_pope_<category>.json, or the coco/ folder for every category; question file
//            llava_pope_test.jsonl above coco/ unless --questions. eval_pope.py: first sentence, commas dropped,
//            "no" when the words hold "No", "not" or "no"; TP/FP/TN/FN, accuracy, precision, recall, F1, yes-ratio.
//            The official script pairs a category's answers with its labels by position; here each pair is also
//            checked (same image, question text starting with the label's), so a reordered file fails.
//  mmbench   gt: the dev TSV (mmbench_dev_20230712.tsv). VLMEvalKit's circular evaluation with exact matching (see
//            vqa-mmbench.h): every row of the TSV needs its answer.
//
// Stricter than the official scripts, never different in the numbers they compute on well-formed input: a
// malformed line, an answer to a question the ground truth does not have, or a second answer to a question fails
// naming the file and line; questions without answer are reported (n_missing) and warned about.
//
// Thread safety: pure functions apart from reading files and logging.
#pragma once

#include "eval/vqa-questions.h"

#include <nlohmann/json.hpp>

#include <string>

namespace glm {

struct vqa_score_params {
    vqa_bench   bench = vqa_bench::vqav2;
    std::string pred_path;       // LLaVA answers JSONL
    std::string gt_path;         // the benchmark's ground truth (see above); "" = none (submission only)
    std::string questions_path;  // LLaVA question JSONL where one is needed ("" = the official name beside gt)
    std::string split = "test";  // ScienceQA's pid_splits.json key
};

struct vqa_score_result {
    nlohmann::json metrics;     // {"bench": ..., counts, the benchmark's metrics}
    nlohmann::json submission;  // the evaluation server's file (vqav2, vizwiz); null otherwise
};

vqa_score_result vqa_score(const vqa_score_params & p);

// One benchmark each (vqa_score dispatches); answers already read.
vqa_score_result vqa_score_vqav2(const std::vector<vqa_answer> & answers, const vqa_score_params & p);
vqa_score_result vqa_score_vizwiz(const std::vector<vqa_answer> & answers, const vqa_score_params & p);
vqa_score_result vqa_score_textvqa(const std::vector<vqa_answer> & answers, const vqa_score_params & p);
vqa_score_result vqa_score_gqa(const std::vector<vqa_answer> & answers, const vqa_score_params & p);
vqa_score_result vqa_score_scienceqa(const std::vector<vqa_answer> & answers, const vqa_score_params & p);
vqa_score_result vqa_score_pope(const std::vector<vqa_answer> & answers, const vqa_score_params & p);
vqa_score_result vqa_score_mmbench(const std::vector<vqa_answer> & answers, const vqa_score_params & p);

// Parsing rules, exposed for tests.
bool        vqa_pope_is_no(const std::string & text);                  // eval_pope.py's yes/no decision
std::string vqa_sqa_parse_letter(const std::string & text);            // eval_science_qa.py: "A".."E" or "FAILED"
std::string vqa_textvqa_question(const std::string & prompt, const std::string & where);  // prompt_processor

}  // namespace glm
