// groundlmm cocoeval: COCO instance-segmentation metrics of a result file against a ground-truth file, as
// pycocotools' COCOeval(iouType="segm") prints them; optionally as JSON.
#include "common.h"
#include "eval/cocoeval.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>

int cmd_cocoeval(int argc, char ** argv) {
    CLI::App             app{ "COCO segm evaluation (pycocotools-compatible) of a detection result file" };
    std::string          gt_path, dt_path, json_path;
    std::vector<int64_t> cat_ids;
    app.add_option("--gt", gt_path, "ground truth: COCO instances JSON (images, annotations, categories)")->required();
    app.add_option("--dt", dt_path, "results: JSON array of {image_id, category_id, segmentation, score}")->required();
    app.add_option("--cat-ids", cat_ids, "evaluate only these category ids (default: all)");
    app.add_option("-o,--json", json_path, "also write the statistics as JSON to this file");
    CLI11_PARSE(app, argc, argv);

    const glm::coco_dataset gt  = glm::coco_load_dataset(gt_path);
    const auto              dts = glm::coco_load_results(gt, dt_path);
    glm::cocoeval_params    p;
    p.cat_ids            = cat_ids;
    const auto       res = glm::coco_evaluate_segm(gt, dts, p);
    static const char * rows[12] = {
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        "Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
    };
    printf("%zu images, %zu ground-truth annotations, %zu detections\n", gt.images.size(), gt.annotations.size(),
           dts.size());
    for (int i = 0; i < 12; ++i) {
        printf(" %s = %.3f\n", rows[i], res.stats[i]);
    }
    if (gt.n_ann_unknown_image || gt.n_ann_unknown_category || res.n_dt_unknown_category) {
        printf("not counted: %d annotations on unknown images, %d on unknown categories, %d detections of "
               "categories not evaluated\n",
               gt.n_ann_unknown_image, gt.n_ann_unknown_category, res.n_dt_unknown_category);
    }
    if (!json_path.empty()) {
        nlohmann::json j;
        for (int i = 0; i < 12; ++i) {
            j["segm_stats"][glm::coco_stat_names()[i]] = res.stats[i];
        }
        j["n_images"]                 = gt.images.size();
        j["n_detections"]             = dts.size();
        j["n_dt_unknown_category"]    = res.n_dt_unknown_category;
        j["n_ann_unknown_image"]      = gt.n_ann_unknown_image;
        j["n_ann_unknown_category"]   = gt.n_ann_unknown_category;
        glm::write_file(json_path, j.dump(1) + "\n");
    }
    return 0;
}
