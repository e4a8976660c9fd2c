// eval/run-common.h: what eval-coco and eval-gcg share: the models an evaluation needs (loaded lazily, so a resumed
// or stage-2-only run never loads the LMM), stage 1 per image (describe the image, keep the attention maps), and the
// refinement of chosen points into masks with one image embedding per image.
//
// Stage 1 writes <attend_dir>/<id>/ (attend.json + attention.safetensors, docs/formats.md) through a temporary folder
// renamed at the end, so the folder exists only when complete; <attend_dir>/eval.json (kind "attend") records the
// settings (model files, prompt, sampling, heads) and a later stage 1 into the same folder must use the same ones.
//
// Thread safety: one run at a time per eval_models (models hold per-request state).
#pragma once

#include "attend.h"
#include "eval/run-util.h"
#include "image.h"
#include "lmm.h"
#include "refine.h"
#include "rle.h"
#include "vision.h"

#include <nlohmann/json.hpp>

#include <cstdint>
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
};

// Test hook: an answer to teacher-force for an image ("" = generate). Returns the text; user_data is passed through.
typedef std::string (*eval_forced_answer_fn)(const std::string & image_id, void * user_data);

struct eval_stage1_params {
    gen_params  gen;                          // prompt, template, n_predict, sampling, seed
    attn_heads  heads = attn_heads::all;      // maps kept (dump also stores every layer and head)
    std::string llm_name, vision_name, lora_name;  // recorded in the manifests (file names, not paths)
    eval_forced_answer_fn forced_answer = nullptr;  // tests only
    void *                forced_user_data = nullptr;
};

// The settings that make stage-1 outputs comparable (the attend folder's eval.json "settings").
nlohmann::json eval_stage1_settings(const eval_stage1_params & p);

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
    bool    stopped_early    = false;  // max_images reached
    double  seconds          = 0;
};

}  // namespace glm
