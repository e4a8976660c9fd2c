// eval/run-gcg.h: grounded conversation generation (GCG) on GranD-f files as a resumable, shardable run
// (groundlmm eval-gcg) and its merge (groundlmm eval-merge): the paper's Table 2 metrics METEOR, AP50, mIoU, recall.
//
// Ground truth (GLaMM's GranD-f val_test files):
//   *_gcg_coco_caption_gt.json  {"images": [{"id": "sa_10010541", "file_name"?, "height", "width"}],
//                                "annotations": [{"image_id", "caption", "labels": [phrase, ...]}]} (first per image)
//   *_gcg_coco_mask_gt.json     COCO instances, one mask per label (category 1), compressed RLE
// Image ids are strings (the image's file stem); images are <images_dir>/<file_name>, else <id>.jpg (GLaMM).
//
// Per image (caption file order, this shard's chunk): stage 1 describes the image (default prompt "Describe the image
// in detail.", as attend-and-segment's aas/infer_attn.py), stage 2 finds noun phrases and points (ground()) and refines
// every phrase's point into one mask (SAM's mask index 2); phrases whose head noun spans no token are dropped and
// counted. <out_dir>/images/<id>.json holds GLaMM's prediction format ({"image_id", "caption", "phrases",
// "pred_masks"}, readable by GLaMM's / attend-and-segment's eval_gcg.py) plus points, scores, counts and the phrase
// similarity matrix [ground-truth label][predicted phrase] of the text similarity used (BERT, or the labelled fallback).
//
// Merge (GLaMM eval/gcg/evaluate.py, attend-and-segment aas/eval_gcg.py):
//   METEOR  captions and references through pycocoevalcap's PTB preprocessing (ptb-tokenize.h), then Meteor 1.5
//           (meteor.h; approximate when Meteor's resource lists are not given: the table says so);
//   AP50    COCOeval segm of all predicted masks scored 1.0, category 1, over the mask file's images;
//   mIoU    greedy one-to-one IoU pairing per image, mean over the caption file's images;
//   recall  greedy on IoU with IoU >= 0.5 and phrase similarity >= 0.5, over all ground-truth labels.
// Missing image files count as images with an empty caption and no masks (stated in the table).
//
// Thread safety: one gcg_run per eval_models at a time; gcg_merge is pure apart from reading files.
#pragma once

#include "eval/cocoeval.h"
#include "eval/gcg.h"
#include "eval/meteor.h"
#include "eval/run-common.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace glm {

// The GranD-f ground truth with its string ids mapped to integers (caption-file order, 1-based) for COCOeval.
struct gcg_gt_image {
    std::string              id;         // as in the files ("sa_10010541"; numbers as their decimal text)
    int64_t                  num_id = 0; // 1-based index in the caption file
    std::string              file_name;  // file_name, else id + ".jpg"
    int                      width = 0, height = 0;
    std::string              caption;   // the first caption annotation (its labels are the recall's)
    std::vector<std::string> captions;  // every caption annotation of the image, file order (METEOR references)
    std::vector<std::string> labels;
};

struct gcg_ground_truth {
    std::vector<gcg_gt_image>      images;  // caption-file order
    std::map<std::string, size_t>  index;   // id -> position in images
    coco_dataset                   masks;   // the mask file with image ids mapped to num_id
};

gcg_ground_truth gcg_load_ground_truth(const std::string & caption_path, const std::string & mask_path);

struct gcg_run_params {
    eval_run_params run;             // folders (images: GranDf_HA_images/val_test), stage, shard, limit, the LMM
                                     // run, ground settings (run.ground.more_masks is not used: one mask per
                                     // phrase), refiner name, progress
    std::string caption_gt_path;     // *_gcg_coco_caption_gt.json
    std::string mask_gt_path;        // *_gcg_coco_mask_gt.json
    std::string text_sim_name;       // text_similarity::name(), recorded
};

eval_run_summary gcg_run(eval_models & m, const gcg_run_params & p);

struct gcg_merge_params {
    std::string   caption_gt_path;   // "" = as recorded in the manifest
    std::string   mask_gt_path;
    bool          allow_partial = false;
    meteor_params meteor;            // WordNet folder, Meteor's resources (function words, prefixes)
};

struct gcg_report {
    std::string              label;
    nlohmann::json           manifest;
    std::vector<std::string> run_dirs;
    double          meteor       = 0;
    bool            meteor_exact = false;  // Meteor's function-word and prefix lists were given
    gcg_result      gcg;                   // mIoU, recall
    cocoeval_result ap;                    // AP50 = ap.stats[1]
    std::string     text_sim;              // name of the phrase similarity
    bool            text_sim_fallback = false;
    bool            partial = false;
    int64_t n_images_gt = 0, n_images_evaluated = 0, n_missing_results = 0, n_missing_images = 0;
    int64_t n_empty_answers = 0, n_phrases = 0, n_no_tokens = 0, n_masks = 0, n_empty_masks = 0;

    nlohmann::json to_json() const;
};

gcg_report  gcg_merge(const std::vector<std::string> & run_dirs, const gcg_merge_params & p = gcg_merge_params());
std::string gcg_report_markdown(const std::vector<gcg_report> & reports);

}  // namespace glm
