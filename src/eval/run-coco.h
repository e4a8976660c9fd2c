// eval/run-coco.h: the paper's pilot study — instance segmentation from free-form descriptions on COCO — as a
// resumable, shardable run (groundlmm eval-coco) and its merge into a metrics table (groundlmm eval-merge).
//
// Per image of the ground truth (file order, this shard's chunk):
//   stage 1  the LMM describes the image; answer + attention maps saved to <attend_dir>/<id>/ (run-common.h);
//   stage 2  noun phrases, head nouns and points (ground() without a refiner), then each head noun is mapped to one
//            of the categories present in the image's ground truth (category-match.h; unmatched phrases are dropped
//            and counted); SAM (or the given refiner) turns each matched phrase's point into a mask: the kept mask
//            scored by its predicted IoU, or with more_masks all candidates, each scored by its own predicted IoU;
//            empty masks are skipped (counted), as the official aas/instance_seg.py does;
//   result   <out_dir>/images/<id>.json (detections in COCO result format, phrases, counts), written atomically.
// The random-point baseline replaces both stages: for every ground-truth category of an image (ascending id), one
// uniformly random pixel (seeded per image: the same points whatever the sharding) prompts the refiner.
// Images without ground-truth annotations get no LMM call (nothing could match) and status "no-gt-categories";
// missing image files get status "missing-image": both are counted in the table, their objects are misses.
//
// The merge reads the per-image files of one or more run folders (shards), checks that every image of the ground
// truth has a result (or labels the table PARTIAL), and computes COCOeval segm (the 12 statistics: AP/AR by size)
// and point accuracy (one point per detection, correct when the union of its category's ground-truth masks covers
// it: aas/eval_instance_seg.py), with counts of everything dropped. A result for an image id that the ground truth
// does not have is an error.
//
// Thread safety: one coco_run per eval_models at a time; coco_merge is pure apart from reading files.
#pragma once

#include "eval/cocoeval.h"
#include "eval/run-common.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace glm {

enum class coco_method { attend_segment, random_point };

const char * coco_method_name(coco_method m);  // "attend-and-segment" | "random-point"

struct coco_run_params {
    eval_run_params run;             // folders, stage, shard, limit, the LMM run (attend-and-segment only), ground
                                     // settings (run.ground.more_masks = --more-masks), refiner name, progress
    std::string ann_path;            // COCO instances file (instances_val2017.json)
    coco_method method = coco_method::attend_segment;
    double      category_thresh = -1.0;  // keep a phrase when its similarity >= this; < 0 = the similarity's default
    std::string similarity_name;     // the category similarity's name() (recorded in the manifest)
    double      similarity_default_thresh = 0.5;  // its default_threshold()
    uint64_t    baseline_seed = 0;   // random-point baseline
};

eval_run_summary coco_run(eval_models & m, const coco_run_params & p);

// ---- merge ----

struct coco_merge_params {
    std::string ann_path;            // "" = the path recorded in the manifest
    bool        allow_partial = false;  // evaluate only the images that have results (the table says PARTIAL)
};

struct coco_report {
    std::string     label;           // the table row: method and models
    nlohmann::json  manifest;        // eval.json of the first run folder
    std::vector<std::string> run_dirs;
    cocoeval_result eval;
    point_accuracy  pacc;
    bool    partial = false;
    int64_t n_images_gt = 0, n_images_evaluated = 0, n_missing_results = 0;
    int64_t n_missing_images = 0, n_no_gt_categories = 0, n_empty_answers = 0, n_no_phrases = 0;
    int64_t n_phrases = 0, n_matched = 0, n_unmatched = 0, n_no_tokens = 0, n_empty_masks = 0;
    int64_t n_detections = 0;
    nlohmann::json detections;       // COCO result format (pycocotools loadRes), extras kept

    nlohmann::json to_json() const;
};

// Merges the per-image results of the run folders (shards of one run: same manifest settings).
coco_report coco_merge(const std::vector<std::string> & run_dirs, const coco_merge_params & p = coco_merge_params());

// The markdown table (one row per report, like the paper's Table 1) followed by a notes list of counts.
std::string coco_report_markdown(const std::vector<coco_report> & reports);

}  // namespace glm
