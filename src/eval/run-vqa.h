// eval/run-vqa.h: eval-vqa, a general VQA benchmark run over the shared run protocol (eval_run_images: shards as
// LLaVA's get_chunk, a manifest of every setting, atomic per-question results, resume, progress bar), with
// LLaVA-1.5's prompt and settings per benchmark (vqa-questions.h, vqa-mmbench.h), and the merge of run folders into
// LLaVA's answers JSONL (question-file order) that vqa-score and the official scripts read.
//
// One result file per question: <out>/images/<8-digit position in the question file>.json, holding the answers-JSONL
// record plus "index" and "complete". The manifest records the question file (absolute path and size), so a resumed
// run or another shard on another question file is refused. Every question's image is checked before the first
// model call: a missing one fails naming the question file and line. Text-only ScienceQA problems (no image) are not
// run (the LMM session needs an image) and are counted; eval_science_qa.py scores them as FAILED, and not as image
// questions, so the IMG accuracy is unaffected.
//
// Thread safety: one run at a time per eval_models.
#pragma once

#include "eval/run-common.h"
#include "eval/vqa-questions.h"

#include <string>
#include <vector>

namespace glm {

struct vqa_run_params {
    eval_run_params run;              // images_dir, out_dir, shard, max_images, progress; stage must be 0
    vqa_bench       bench = vqa_bench::vqav2;
    std::string     questions_path;   // LLaVA's question file (ScienceQA: llava_test_CQM-A.json; MMBench: the TSV)
    std::string     model_id;         // the answers' model_id (LLaVA writes the model's name)
    std::string     templ;            // "" = LLaVA-1.5's vicuna_v1 (k_vqa_template_vicuna_v1)
    int             max_new_tokens = 0;  // 0 = the benchmark's (128, or 1024 for ScienceQA / MMBench / LLaVA-Bench)
};

struct vqa_run_summary {
    eval_run_summary run;
    int64_t          n_text_only = 0;  // ScienceQA problems without image, not run
};

vqa_run_summary vqa_run(eval_models & m, const vqa_run_params & p);

// Writes LLaVA's answers JSONL of one run (its shards in `run_dirs`) in question-file order. Questions without a
// result fail the merge unless allow_partial (then they are left out and counted). Returns the number written.
int64_t vqa_merge_answers(const std::vector<std::string> & run_dirs, const std::string & out_path, bool allow_partial,
                          int64_t * n_missing = nullptr);

// Standard base64 (RFC 4648; whitespace skipped); a bad character fails naming `what`.
std::vector<uint8_t> vqa_base64_decode(const std::string & s, const std::string & what);

}  // namespace glm
