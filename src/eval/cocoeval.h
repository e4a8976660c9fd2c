// eval/cocoeval.h: COCO instance-segmentation evaluation, reproducing pycocotools (coco.py, cocoeval.py)
// for iouType "segm": COCO JSON loading (ground truth and result files), COCOeval's per-image matching,
// accumulate() and summarize() (the 12 standard statistics), plus the paper's point accuracy.
//
// Parity with pycocotools (numbers agree to rounding; see tests/test-golden-coco.cpp):
// - images and categories are evaluated in sorted id order; annotations of an image keep their file order;
//   detections are sorted by score with a stable sort (numpy's kind='mergesort');
// - ground truth "ignore" = iscrowd; a crowd region can match many detections; the area range test uses the
//   ground truth's "area" field and the detection's mask area; IoU thresholds and recall thresholds are
//   np.linspace(.5, .95, 10) and np.linspace(0, 1, 101) computed the same way;
// - a detection file whose first entry has a non-empty "bbox" gets box areas (w*h), as loadRes does.
// Differences, all on input pycocotools rejects or mishandles (never a silent drop):
// - malformed JSON, missing fields, duplicate image/annotation ids, a detection on an image id that is not in
//   the ground truth: glm::error naming the file and entry (pycocotools: assertion, KeyError or silent
//   overwrite);
// - an empty detection list is valid: every ground truth is a miss, AP = AR = 0 (pycocotools crashes);
// - ground truth without "area" gets its mask area (counted in coco_dataset::n_area_computed, warned);
// - annotations on unknown images or categories are skipped as pycocotools skips them, but counted
//   (coco_dataset::n_ann_unknown_image / n_ann_unknown_category, cocoeval_result::n_dt_unknown_category)
//   and warned;
// - detections may also be polygons or uncompressed RLE (pycocotools' loadRes only takes compressed RLE).
//
// Thread safety: all functions are pure (inputs const, results returned); safe to call concurrently.
#pragma once

#include "rle.h"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace glm {

struct coco_image {
    int64_t     id     = 0;
    int         width  = 0;  // pixels
    int         height = 0;  // pixels
    std::string file_name;   // "" when the file has none
};

struct coco_category {
    int64_t     id = 0;
    std::string name;
};

// A ground-truth annotation or a detection (detections: id = index + 1 in the file, iscrowd = false).
struct coco_annotation {
    int64_t id          = 0;
    int64_t image_id    = 0;
    int64_t category_id = 0;
    rle     segm;            // the mask as annToRLE gives it (polygons merged, uncompressed RLE converted)
    double  area    = 0;     // ground truth: the file's "area"; detections: mask area (box area, see above)
    bool    iscrowd = false;
    double  score   = 1.0;   // detections only
};

struct coco_dataset {
    std::vector<coco_image>      images;       // file order
    std::vector<coco_category>   categories;   // file order
    std::vector<coco_annotation> annotations;  // file order, only those on known images and categories
    std::map<int64_t, size_t>    image_index;  // image id -> index in images
    std::map<int64_t, size_t>    category_index;

    int n_ann_unknown_image    = 0;  // annotations skipped: image_id not among images
    int n_ann_unknown_category = 0;  // annotations skipped: category_id not among categories
    int n_area_computed        = 0;  // annotations without "area" (mask area used)

    const coco_image & image(int64_t id) const;  // throws for an unknown id
};

// A JSON file, parsed; glm::error naming the file when it is unreadable or malformed.
nlohmann::json coco_read_json(const std::string & path);

// Ground truth: a COCO instances file (images, annotations, categories). `what` names the source in errors.
coco_dataset coco_parse_dataset(const nlohmann::json & j, const std::string & what);
coco_dataset coco_load_dataset(const std::string & path);

// The mask of a "segmentation" value (polygon list, uncompressed or compressed RLE), as annToRLE.
// (h, w) is the image size, used by polygons; RLE carries its own size.
rle coco_segmentation_to_rle(const nlohmann::json & segm, int h, int w, const std::string & what);

// Detection results (a JSON array of {image_id, category_id, segmentation, score}), as COCO.loadRes.
std::vector<coco_annotation> coco_parse_results(const coco_dataset & gt, const nlohmann::json & j,
                                                const std::string & what);
std::vector<coco_annotation> coco_load_results(const coco_dataset & gt, const std::string & path);

// Settings (pycocotools Params for segm; the defaults are COCO's).
struct cocoeval_params {
    std::vector<int64_t> img_ids;                    // images to evaluate; empty = all ground-truth images
    std::vector<int64_t> cat_ids;                    // categories; empty = all ground-truth categories
    std::vector<int>     max_dets = { 1, 10, 100 };  // detections per image (sorted; the last is used for matching)
    // area ranges in pixels^2 with their labels ("all", "small", "medium", "large" are used by summarize)
    std::vector<std::array<double, 2>> area_rng = { { { 0, 1e10 } }, { { 0, 1024 } }, { { 1024, 9216 } },
                                                    { { 9216, 1e10 } } };
    std::vector<std::string> area_lbl = { "all", "small", "medium", "large" };
};

struct cocoeval_result {
    // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (-1 where nothing is defined)
    std::array<double, 12> stats{};
    std::vector<double>  iou_thrs;  // T
    std::vector<double>  rec_thrs;  // R
    std::vector<int64_t> cat_ids;   // K, sorted
    std::vector<int>     max_dets;  // M, sorted
    std::vector<double>  precision; // [T][R][K][A][M], -1 where a category has no ground truth
    std::vector<double>  recall;    // [T][K][A][M]
    int n_dt_unknown_category = 0;  // detections whose category is not evaluated (skipped, as pycocotools)

    double precision_at(int t, int r, int k, int a, int m) const;
    double recall_at(int t, int k, int a, int m) const;
    size_t n_area() const;
};

cocoeval_result coco_evaluate_segm(const coco_dataset & gt, const std::vector<coco_annotation> & dts,
                                   const cocoeval_params & params = cocoeval_params());

// The 12 statistic names in stats order ("AP", "AP50", ...).
const std::array<const char *, 12> & coco_stat_names();

// Point accuracy: a point (x = column, y = row, pixels) is correct when the union of the ground-truth masks of
// its category in its image covers it (crowd regions included); a point outside the image or on a category
// absent from the image is incorrect. Throws for an image id not in the ground truth.
struct coco_point {
    int64_t image_id    = 0;
    int64_t category_id = 0;
    int     x           = 0;
    int     y           = 0;
};

bool coco_point_correct(const coco_dataset & gt, const coco_point & p);

struct point_accuracy {
    int    n_correct = 0;
    int    n_total   = 0;
    double percent   = 0;  // 100 * n_correct / n_total (0 when there are no points)
};

point_accuracy coco_point_accuracy(const coco_dataset & gt, const std::vector<coco_point> & points);

}  // namespace glm
