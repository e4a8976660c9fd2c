// eval/gcg.h: grounded conversation generation (GCG) mask metrics as GLaMM's eval/gcg/evaluate.py computes
// them: mIoU (greedy one-to-one pairing on IoU per image, mean over images), mask recall (greedy on IoU,
// stopping at the first best pair whose IoU or phrase similarity is below its threshold) and mask AP50
// (COCOeval segm of all predicted masks scored 1.0 in one category).
//
// Phrase similarities come in as a matrix [gt phrase][predicted phrase] (GLaMM: cosine of bert-base-uncased
// mean-pooled embeddings); gcg_similarity_matrix() builds one from any similarity callback, so a BERT
// embedder (or a labelled fallback) plugs in without changing the metric code.
// Numerics follow the NumPy reference: a pair of empty masks has IoU NaN (0/0), which ends the mIoU pairing
// of that image (np.max is NaN) and counts as an admissible pair in recall (NaN < 0.5 is false); masks of
// different sizes are an error (NumPy would fail to broadcast).
//
// Thread safety: pure functions; the similarity callback is called from the calling thread only.
#pragma once

#include "eval/cocoeval.h"
#include "rle.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct gcg_params {
    double iou_threshold      = 0.5;  // recall: a match needs IoU >= this
    double text_sim_threshold = 0.5;  // recall: and phrase similarity >= this
};

struct gcg_image {
    int64_t          image_id = 0;
    std::vector<rle> gt_masks;    // one per ground-truth phrase
    std::vector<rle> pred_masks;  // one per predicted phrase
    // [gt_masks.size()][pred_masks.size()]: similarity of ground-truth phrase i and predicted phrase j
    std::vector<std::vector<double>> text_similarity;
    int n_gt_phrases = -1;  // recall denominator for this image; -1 = gt_masks.size()
};

struct gcg_result {
    double              miou      = 0;  // mean over images of the per-image mean paired IoU
    double              recall    = 0;  // total matches / total ground-truth phrases (0 when there are none)
    int                 n_matches = 0;
    int                 n_gt_phrases = 0;
    std::vector<double> image_miou;     // per image, input order
    std::vector<int>    image_matches;  // per image, input order
};

// IoU of two masks as NumPy computes it: |A & B| / |A | B|, NaN when both are empty.
double gcg_mask_iou(const rle & a, const rle & b);

// compute_miou(): greedy one-to-one pairing while the best remaining IoU is > 0; mean of the paired IoUs
// (0 when nothing pairs).
double gcg_image_miou(const std::vector<rle> & pred, const std::vector<rle> & gt);

// find_best_matches(): the number of admissible greedy pairs.
int gcg_image_matches(const gcg_image & im, const gcg_params & params);

gcg_result gcg_evaluate(const std::vector<gcg_image> & images, const gcg_params & params);

// The phrase similarity matrix [gt][pred] from a callback (e.g. cosine of sentence embeddings).
typedef double (*gcg_similarity_fn)(const std::string & a, const std::string & b, void * user_data);
std::vector<std::vector<double>> gcg_similarity_matrix(const std::vector<std::string> & gt_phrases,
                                                       const std::vector<std::string> & pred_phrases,
                                                       gcg_similarity_fn fn, void * user_data);

// Mask AP as GLaMM computes it: every predicted mask becomes a detection of `category_id` with score 1.0 and
// COCOeval segm runs with params.cat_ids = {category_id}; AP50 is result.stats[1]. Images are looked up by
// gcg_image::image_id in the ground-truth mask file (an unknown id is an error).
cocoeval_result gcg_mask_ap(const coco_dataset & gt_masks, const std::vector<gcg_image> & images,
                            int64_t category_id = 1);

}  // namespace glm
