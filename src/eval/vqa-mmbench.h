// eval/vqa-mmbench.h: MMBench, from its TSV (mmbench_dev_20230712.tsv: index, question, hint, A..D, answer, category,
// l2-category, split, image as base64) to LLaVA-1.5's prompt (llava/eval/model_vqa_mmbench.py --single-pred-prompt)
// and to the official circular evaluation (VLMEvalKit's mcq_circular_eval + report_acc with judge "exact_matching",
// open-compass/VLMEvalKit e8e78f0, vlmeval/dataset/utils/multiple_choice.py and vlmeval/utils/matching_util.py).
//
// The TSV holds every question once per rotation of its options (index + k * 1e6). Each row's answer letter is
// inferred with VLMEvalKit's can_infer (an option letter among the last words, rejections and 'Z', "answer is X", or
// the one option whose text the answer contains); a question counts when every one of its rows is inferred right.
// Without a GPT judge, rows where nothing is inferred count as wrong, as VLMEvalKit's exact matching does. Accuracy
// per split, per l2-category (MMBench's abbreviations CP, FP-S, FP-C, LR, RR, AR) and per category.
//
// Cells are read as pandas.read_table reads them: tab-separated, double-quoted fields, and its default missing-value
// strings ("", "NA", "nan", ...) are missing, "None" included as in pandas >= 2.0 (pandas 1.x, which made the goldens,
// reads "None" as text; the golden TSV has no such cell). An option column that pandas would read as numbers (every cell
// numeric) is refused: its text would be Python's float repr, which is not modelled.
//
// Thread safety: pure functions apart from reading files.
#pragma once

#include "eval/vqa-questions.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace glm {

struct mmbench_row {
    int64_t                    index = 0;
    std::string                question, hint, answer, category, l2_category, split, image_base64;
    bool                       has_hint = false, has_answer = false;
    std::map<char, std::string> choices;  // every option letter column with a value (VLMEvalKit's build_choices)
    std::vector<std::string>    options;  // A, B, C, D up to the first missing one (LLaVA's get_options)
    int64_t                    line = 0;  // 1-based line of the row's start in the TSV
};

struct mmbench_table {
    std::vector<mmbench_row> rows;
    bool                     has_split = false, has_category = false, has_l2_category = false, has_answer = false;
    std::vector<std::string>              header;  // the TSV's columns, in order
    std::vector<std::vector<std::string>> cells;   // every row's raw fields
    std::vector<bool>                     numeric; // per column: pandas reads it as numbers (all present cells are)
    std::vector<bool>                     na;      // per cell (row-major): one of pandas' missing-value strings
};

mmbench_table mmbench_read_tsv(const std::string & path);

// VLMEvalKit's can_infer(answer, choices): the letter, "Z", or "" (nothing inferred).
std::string mmbench_can_infer(const std::string & answer, const std::map<char, std::string> & choices);

// LLaVA-1.5's question text (hint, question, "A. option" lines) as model_vqa_mmbench.py builds it: its cur_prompt.
std::string mmbench_question_text(const mmbench_row & r);

// The submission table of scripts/convert_mmbench_for_submission.py (LLaVA): the TSV without hint, category, source,
// image, comment and l2-category, with "prediction" inserted as the 7th column (the answer text; empty without one).
// A JSON array of rows (header first) of strings, numbers (pandas' numeric columns) and nulls (missing); xlsx_write
// turns it into the .xlsx the evaluation server takes.
nlohmann::json mmbench_submission_table(const mmbench_table & t, const std::map<int64_t, std::string> & predictions,
                                        const std::string & path);
// Whether the TSV has every column the converter drops (an MMBench TSV does); `missing` gets the first absent one.
bool mmbench_submission_possible(const mmbench_table & t, std::string * missing);

// LLaVA-1.5's prompt for a row (model_vqa_mmbench.py --single-pred-prompt, English): the question text + "\nAnswer
// with the option's letter from the given choices directly.", greedy, 1024 new tokens; the image is the row's base64.
vqa_prompt mmbench_make_prompt(const mmbench_row & r);

}  // namespace glm
