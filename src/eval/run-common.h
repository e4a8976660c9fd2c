// eval/run-common.h: what eval-coco and eval-gcg share: the models an evaluation needs (loaded lazily, so a resumed
// or stage-2-only run never loads the LMM), stage 1 per image (describe the image, keep the attention maps), the
// refinement of chosen points into masks with one image embedding per image, the settings every run has
// (eval_run_params) and the run protocol itself (eval_run_images: shard, manifests, resume, stages, progress), which
// an evaluator drives with its image list and a per-image stage-2 function.
//
// Stage 1 writes <attend_dir>/<id>/ (attend.json + attention.safetensors, docs/formats.md) through a temporary folder
// renamed at the end, so the folder exists only when complete; <attend_dir>/eval.json (kind "attend") records the
// settings (model files, prompt, sampling, heads) and a later stage 1 into the same folder must use the same ones.
//
// Thread safety: one run at a time per eval_models (models hold per-request state).
#pragma once

#include "attend.h"
#include "eval/progress.h"
#include "eval/run-util.h"
#include "ground.h"
#include "image.h"
#include "lmm.h"
#include "refine.h"
#include "rle.h"
#include "vision.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace glm {

class phrase_chunker;
class word_similarity;
class text_similarity;

// The models of an evaluation, created on first use. Implementations: the CLI (files from options) and tests.
class eval_models {
public:
    virtual ~eval_models() = default;
    virtual vision_encoder &        encoder() = 0;
    virtual lmm_session &           lmm()     = 0;
    virtual refiner &               refine()  = 0;
    virtual const phrase_chunker &  chunker() = 0;
    virtual const word_similarity & words()   = 0;  // category matching (eval-coco), fallback text similarity
    virtual text_similarity &       text()    = 0;  // phrase similarity (eval-gcg)
    // Stage 1 of one image; the default runs encoder() and lmm() (attend_run). A pipeline overrides it.
    virtual attend_result attend(const image_u8 & img, const gen_params & gp, const head_set & heads) {
        return attend_run(encoder(), lmm(), img, gp, heads);
    }
};

// Test hook: an answer to teacher-force for an image ("" = generate). Returns the text; user_data is passed through.
typedef std::string (*eval_forced_answer_fn)(const std::string & image_id, void * user_data);

struct eval_stage1_params {
    gen_params  gen;                          // prompt, template, n_predict, sampling, seed
    head_set    heads;                        // maps kept (dump also stores every layer and head; a set its map)
    std::string llm_name, vision_name, lora_name;  // recorded in the manifests (file names, not paths)
    eval_forced_answer_fn forced_answer = nullptr;  // tests only
    void *                forced_user_data = nullptr;
};

// The settings that make stage-1 outputs comparable (the attend folder's eval.json "settings").
nlohmann::json eval_stage1_settings(const eval_stage1_params & p);

// The stage-2 settings of a run manifest: the settings table's stage-2 names and values, plus the map read.
nlohmann::json eval_stage2_settings(const ground_params & g);

// Whether <attend_dir>/<id>/ holds a complete stage-1 output.
bool eval_attend_exists(const std::string & attend_dir, const std::string & id);

// Runs stage 1 on one image and saves it atomically to <attend_dir>/<id>/.
attend_result eval_attend_run_and_save(eval_models & m, const eval_stage1_params & p, const image_u8 & img,
                                       const std::string & image_path, const std::string & attend_dir,
                                       const std::string & id);

// One refined point: the kept mask, or every candidate (more_masks), as RLE with their scores.
struct eval_masks {
    std::vector<rle>   masks;
    std::vector<float> scores;
    std::vector<int>   index;  // which multimask output each mask is
};

eval_masks eval_refine_point(refiner & ref, int x, int y, mask_select select, bool more_masks);

// "missing-image" when the file is absent (counted as misses); otherwise loads it (throws for a corrupt file).
bool eval_image_present(const std::string & path);

// Run totals, for the command's closing line and tests.
struct eval_run_summary {
    int64_t n_total    = 0;  // images in the ground truth
    int64_t n_chunk    = 0;  // images in this shard
    int64_t n_skipped  = 0;  // already complete (resumed)
    int64_t n_computed = 0;  // computed now
    int64_t n_stage1   = 0;  // stage-1 outputs computed now (the LMM ran)
    int64_t n_missing_images = 0;
    int64_t n_sentences      = 0;      // answer sentences chunked now (stage 2 of the images computed now)
    int64_t n_fallback_sentences = 0;  // of them, chunked by the fallback rules (phrases.h; logged at debug level)
    bool    stopped_early    = false;  // max_images reached
    double  seconds          = 0;
};

// Stage 1 of an image in stage 2: loads <attend_dir>/<id>/ when it exists, else runs and saves it (++sum->n_stage1).
attend_result eval_attend_load_or_run(eval_models & m, const eval_stage1_params & p, const image_u8 & img,
                                      const std::string & image_path, const std::string & attend_dir,
                                      const std::string & id, eval_run_summary * sum);

// A mask as COCO's compressed RLE object {"size": [h, w], "counts": "..."}.
nlohmann::json eval_rle_json(const rle & r);

// The settings every evaluation run has (embedded in coco_run_params and gcg_run_params as `run`).
struct eval_run_params {
    std::string images_dir;          // folder of the images (each image's file_name is relative to it)
    std::string out_dir;             // run folder
    std::string attend_dir;          // stage-1 folder; "" = <out_dir>/attend
    int         stage = 0;           // 0 = both stages, 1 = stage 1 only, 2 = stage 2 only (stage 1 must be done)
    eval_shard  shard;               // contiguous chunk of the image list
    int64_t     max_images = -1;     // stop after computing this many images (-1 = no limit); a rerun resumes
    eval_stage1_params stage1;       // the LMM run
    ground_params      ground;       // heads, maps, SAM mask choice
    std::string refiner_name;        // recorded in the manifest ("sam:<file>", "region", ...)
    progress_params progress;
};

// Fails for a stage outside 0..2 or no output folder (checked before the ground truth is read).
void eval_run_check(const eval_run_params & p);

// The stage-1 folder of a run: attend_dir, or <out_dir>/attend.
std::string eval_attend_dir(const eval_run_params & p);

// What an evaluator gives eval_run_images: its manifest and its ground truth's images, by index in file order.
struct eval_run_images_params {
    const char *   kind = "";        // the manifest's kind ("coco", "gcg")
    const char *   name = "";        // "eval-coco": the progress bar's label and the warnings' prefix
    bool           uses_lmm = true;  // false: no stage 1 (the random-point baseline)
    nlohmann::json settings;         // the manifest's "settings", without "stage1" (added when uses_lmm)
    nlohmann::json manifest;         // more top-level manifest fields (the ground-truth files' absolute paths)
    int64_t        n_images = 0;     // images in the ground truth
    double         t_start  = 0;     // now_s() when the run began (the summary's seconds)
    std::function<std::string(int64_t i)> id;          // image i's id (its result file's stem)
    std::function<std::string(int64_t i)> image_path;  // image i's file (may throw for a bad entry)
    std::function<bool(int64_t i)>        needs_stage1;  // whether image i gets an LMM run (null = all do)
    // Stage 2 of image i (present or missing file): the per-image result object, "complete": true included.
    std::function<nlohmann::json(int64_t i, const std::string & image_path, const std::string & attend_dir,
                                 eval_run_summary & sum)> process;
};

// The run protocol: this shard's chunk of the images; the manifests (<attend_dir>/eval.json kind "attend" for stage
// 1, <out_dir>/eval.json for stage 2); for --stage 2 a check that every image that needs it has a stage-1 output;
// then per image: skip it when done (resume), stop after max_images, stage 1 (a missing image file is counted and
// warned about) or stage 2 (process, written atomically to <out_dir>/images/<id>.json), with a progress bar.
eval_run_summary eval_run_images(eval_models & m, const eval_run_params & p, const eval_run_images_params & e);

}  // namespace glm
