// test-coco: unit tests of the COCO mask toolkit (rle.h), COCO JSON loading and COCOeval (eval/cocoeval.h)
// and the GCG rules (eval/gcg.h). Expected RLE strings of polygons, boxes and merges were produced with the
// official pycocotools 2.0 (maskApi.c); IoUs and AP values are derived by hand in the comments.
#include "eval/cocoeval.h"
#include "eval/gcg.h"
#include "rle.h"

#include "common.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <random>

using json = nlohmann::json;
using glm::rle;

static rle box_mask(int h, int w, int x0, int y0, int bw, int bh) {
    std::vector<uint8_t> m((size_t) h * w, 0);
    for (int y = y0; y < y0 + bh; ++y) {
        for (int x = x0; x < x0 + bw; ++x) {
            m[(size_t) y * w + x] = 1;
        }
    }
    return glm::rle_encode(m.data(), h, w);
}

TEST(Rle, RoundTripRandomMasks) {
    std::mt19937 gen(7);
    for (int it = 0; it < 200; ++it) {
        const int            h = 1 + gen() % 40, w = 1 + gen() % 40;
        const double         p = (gen() % 100) / 100.0;
        std::vector<uint8_t> m((size_t) h * w);
        for (auto & v : m) {
            v = (gen() % 1000) < p * 1000;
        }
        const rle r = glm::rle_encode(m.data(), h, w);
        EXPECT_EQ(glm::rle_decode(r), m);
        const rle back = glm::rle_from_string(glm::rle_to_string(r), h, w);
        EXPECT_EQ(back.counts, r.counts);
        uint64_t area = 0;
        for (auto v : m) {
            area += v;
        }
        EXPECT_EQ(glm::rle_area(r), area);
    }
}

TEST(Rle, MalformedStringThrows) {
    EXPECT_THROW(glm::rle_from_string("0\x7f", 2, 2), glm::error);  // character out of range
    EXPECT_THROW(glm::rle_from_string("0o", 2, 2), glm::error);     // ends inside a count ('o' has the more bit)
}

TEST(Rle, UncompressedCounts) {
    // pycocotools frPyObjects({'size': [3, 4], 'counts': [2, 3, 0, 4, 3]}) -> '23013'
    const rle r = glm::rle_from_counts({ 2, 3, 0, 4, 3 }, 3, 4);
    EXPECT_EQ(glm::rle_to_string(r), "23013");
    EXPECT_EQ(glm::rle_area(r), 7u);
    EXPECT_THROW(glm::rle_from_counts({ 2, 3 }, 3, 4), glm::error);  // sums to 5, not 12
}

TEST(Rle, PolygonsMatchPycocotools) {
    EXPECT_EQ(glm::rle_to_string(glm::rle_from_polygon({ 1, 1, 4, 1, 4, 3, 1, 3 }, 6, 6)), "724000;");
    EXPECT_EQ(glm::rle_to_string(glm::rle_from_polygon({ 0.5, 0.5, 9.7, 2.2, 3.3, 8.8 }, 10, 12)), ";283M3MO1O2N1N2Om0");
    // repeated vertices (zero-length edges) and vertices outside the image
    EXPECT_EQ(glm::rle_to_string(glm::rle_from_polygon({ 1, 1, 1, 1, 5, 1, 5, 5, 5, 5, 1, 5 }, 7, 7)), "84300000=");
    EXPECT_EQ(glm::rle_to_string(glm::rle_from_polygon({ -3.2, -1, 20, -2, 20.5, 30, -1, 25 }, 9, 11)), "0S3");
    const double bb[4] = { 2.5, 1.5, 4, 3 };
    const rle    b     = glm::rle_from_bbox(bb, 8, 8);
    EXPECT_EQ(glm::rle_to_string(b), "j035000006");
    EXPECT_EQ(glm::rle_area(b), 12u);
    // a later part of two points is a (degenerate) polygon, as in pycocotools ('a1')
    EXPECT_EQ(glm::rle_to_string(glm::rle_from_polygon({ 2, 2 }, 7, 7)), "a1");
}

TEST(Rle, PolygonListAsAnnToRle) {
    const std::vector<double> tri = { 0.5, 0.5, 9.7, 2.2, 3.3, 8.8 };
    const rle u = glm::rle_from_polygons({ tri, { 6, 6, 11, 6, 11, 9, 6, 9 } }, 10, 12);
    EXPECT_EQ(glm::rle_to_string(u), ";283M3MO1O21NKO11N0240004");
    EXPECT_EQ(glm::rle_area(u), 50u);
    const rle i = glm::rle_merge({ glm::rle_from_polygon(tri, 10, 12), glm::rle_from_polygon({ 2, 1, 8, 1, 8, 6, 2, 6 }, 10, 12) },
                                 true);
    EXPECT_EQ(glm::rle_to_string(i), "e055000001O0NX1");
    EXPECT_EQ(glm::rle_area(i), 26u);
    EXPECT_THROW(glm::rle_from_polygons({}, 10, 12), glm::error);
    EXPECT_THROW(glm::rle_from_polygons({ { 1, 2, 3, 4 } }, 10, 12), glm::error);  // pycocotools: TypeError
    EXPECT_THROW(glm::rle_merge({ box_mask(4, 4, 0, 0, 1, 1), box_mask(5, 4, 0, 0, 1, 1) }, false), glm::error);
}

TEST(Rle, IouAndCrowd) {
    const rle gt = box_mask(10, 10, 0, 0, 4, 4);  // 16 pixels
    const rle dt = box_mask(10, 10, 1, 1, 2, 2);  // 4 pixels inside
    EXPECT_DOUBLE_EQ(glm::rle_iou(dt, gt, false), 4.0 / 16.0);
    EXPECT_DOUBLE_EQ(glm::rle_iou(dt, gt, true), 1.0);  // crowd: intersection over detection area
    const rle half = box_mask(10, 10, 2, 0, 4, 4);      // overlaps gt in 8 pixels, union 24
    EXPECT_DOUBLE_EQ(glm::rle_iou(half, gt, false), 8.0 / 24.0);
    EXPECT_DOUBLE_EQ(glm::rle_iou(half, gt, true), 8.0 / 16.0);
    EXPECT_EQ(glm::rle_iou(box_mask(10, 10, 6, 6, 2, 2), gt, false), 0.0);  // boxes apart
    EXPECT_EQ(glm::rle_iou(box_mask(12, 10, 0, 0, 2, 2), gt, false), -1.0);  // sizes differ
    const auto o = glm::rle_iou_matrix({ dt, half }, { gt }, { 1 });
    ASSERT_EQ(o.size(), 2u);
    EXPECT_DOUBLE_EQ(o[1], 0.5);
    const double a[4] = { 0, 0, 2, 2 }, b[4] = { 1, 1, 2, 2 };
    EXPECT_DOUBLE_EQ(glm::bbox_iou(a, b, false), 1.0 / 7.0);
    EXPECT_DOUBLE_EQ(glm::bbox_iou(a, b, true), 1.0 / 4.0);
    EXPECT_TRUE(glm::rle_contains(gt, 3, 3));
    EXPECT_FALSE(glm::rle_contains(gt, 4, 3));
    EXPECT_FALSE(glm::rle_contains(gt, -1, 0));
}

// A small ground truth: image 1 (20x20) with an object of category 1 and a crowd region of category 1.
static json small_gt() {
    json j;
    j["images"]     = json::array({ { { "id", 1 }, { "width", 20 }, { "height", 20 } } });
    j["categories"] = json::array({ { { "id", 1 }, { "name", "thing" } }, { { "id", 2 }, { "name", "other" } } });
    json obj        = { { "id", 10 },        { "image_id", 1 }, { "category_id", 1 }, { "iscrowd", 0 }, { "area", 16.0 },
                        { "segmentation", json::array({ json::array({ 0, 0, 4, 0, 4, 4, 0, 4 }) }) } };
    const rle crowd = box_mask(20, 20, 10, 10, 8, 8);
    json      seg   = { { "size", { 20, 20 } }, { "counts", crowd.counts } };
    json      cr    = { { "id", 11 }, { "image_id", 1 }, { "category_id", 1 }, { "iscrowd", 1 }, { "area", 64.0 },
                        { "segmentation", seg } };
    j["annotations"] = json::array({ obj, cr });
    return j;
}

static json det(const rle & r, double score, int cat = 1, int image = 1) {
    return { { "image_id", image },
             { "category_id", cat },
             { "score", score },
             { "segmentation", { { "size", { r.h, r.w } }, { "counts", glm::rle_to_string(r) } } } };
}

TEST(CocoEval, CrowdDetectionsAreIgnored) {
    const auto gt = glm::coco_parse_dataset(small_gt(), "gt");
    ASSERT_EQ(gt.annotations.size(), 2u);
    EXPECT_EQ(glm::rle_area(gt.annotations[0].segm), 16u);  // polygon 0..4 rasterises to 4x4 pixels
    // the top-scoring detection lies inside the crowd region: ignored, not a false positive
    json dts  = json::array({ det(box_mask(20, 20, 11, 11, 3, 3), 0.95), det(box_mask(20, 20, 0, 0, 4, 4), 0.9) });
    auto res  = glm::coco_evaluate_segm(gt, glm::coco_parse_results(gt, dts, "dt"));
    EXPECT_DOUBLE_EQ(res.stats[0], 1.0);   // AP
    EXPECT_DOUBLE_EQ(res.stats[8], 1.0);   // AR100
    EXPECT_DOUBLE_EQ(res.stats[3], 1.0);   // APs: the object (area 16) is small
    EXPECT_DOUBLE_EQ(res.stats[4], -1.0);  // APm: no medium ground truth (the crowd is ignored)
    // the same detections with a regular (non-crowd) second object: now the first detection is a false
    // positive at rank 1 -> precision 1/2 at recall 1/2 for the 4x4 object: AP = 0.5 at every threshold
    json j2                               = small_gt();
    j2["annotations"][1]["iscrowd"]       = 0;
    j2["annotations"][1]["category_id"]   = 2;
    const auto gt2                        = glm::coco_parse_dataset(j2, "gt2");
    auto       res2 = glm::coco_evaluate_segm(gt2, glm::coco_parse_results(gt2, dts, "dt"));
    // category 1: one object, detections fp (0.95) then tp (0.9): interpolated precision 0.5 at all recalls
    // category 2: one object, no detections: precision 0 -> AP = (0.5 + 0) / 2
    EXPECT_DOUBLE_EQ(res2.stats[0], 0.25);
}

TEST(CocoEval, EmptyDetectionsAreMisses) {
    const auto gt  = glm::coco_parse_dataset(small_gt(), "gt");
    const auto res = glm::coco_evaluate_segm(gt, glm::coco_parse_results(gt, json::array(), "dt"));
    EXPECT_DOUBLE_EQ(res.stats[0], 0.0);
    EXPECT_DOUBLE_EQ(res.stats[8], 0.0);
}

TEST(CocoEval, BadInputGivesClearErrorsOrCounts) {
    const auto gt = glm::coco_parse_dataset(small_gt(), "gt");
    // detection on an image that is not in the ground truth: error naming it
    try {
        glm::coco_parse_results(gt, json::array({ det(box_mask(20, 20, 0, 0, 2, 2), 0.5, 1, 99) }), "dt.json");
        FAIL() << "expected an error";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("image_id 99"), std::string::npos) << e.what();
    }
    // a detection of a category that is not evaluated is counted (pycocotools skips it silently)
    const auto dts = glm::coco_parse_results(gt, json::array({ det(box_mask(20, 20, 0, 0, 4, 4), 0.5, 7) }), "dt");
    EXPECT_EQ(glm::coco_evaluate_segm(gt, dts).n_dt_unknown_category, 1);
    // missing field, wrong type, not an array
    EXPECT_THROW(glm::coco_parse_results(gt, json::array({ { { "image_id", 1 }, { "category_id", 1 } } }), "dt"),
                 glm::error);
    EXPECT_THROW(glm::coco_parse_results(gt, json::object(), "dt"), glm::error);
    // duplicate annotation ids; annotations on unknown images / categories are counted
    json j = small_gt();
    j["annotations"][1]["id"] = 10;
    EXPECT_THROW(glm::coco_parse_dataset(j, "gt"), glm::error);
    j                                  = small_gt();
    j["annotations"][0]["image_id"]    = 5;
    j["annotations"][1]["category_id"] = 9;
    const auto g2                      = glm::coco_parse_dataset(j, "gt");
    EXPECT_EQ(g2.n_ann_unknown_image, 1);
    EXPECT_EQ(g2.n_ann_unknown_category, 1);
    EXPECT_TRUE(g2.annotations.empty());
    // malformed JSON file: error names the file
    const std::string path = ::testing::TempDir() + "/glm-bad.json";
    glm::write_file(path, std::string("{\"images\": [}"));
    try {
        glm::coco_load_dataset(path);
        FAIL() << "expected an error";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("glm-bad.json"), std::string::npos) << e.what();
    }
    // RLE whose counts do not cover the image
    json bad = small_gt();
    bad["annotations"][1]["segmentation"]["counts"] = json::array({ 3, 4 });
    EXPECT_THROW(glm::coco_parse_dataset(bad, "gt"), glm::error);
}

TEST(CocoEval, PointAccuracy) {
    const auto gt = glm::coco_parse_dataset(small_gt(), "gt");
    std::vector<glm::coco_point> pts = { { 1, 1, 2, 2 }, { 1, 1, 12, 12 }, { 1, 1, 5, 5 }, { 1, 2, 2, 2 }, { 1, 1, 30, 2 } };
    // inside the object; inside the crowd region; outside both; category absent; outside the image
    const auto pa = glm::coco_point_accuracy(gt, pts);
    EXPECT_EQ(pa.n_correct, 2);
    EXPECT_DOUBLE_EQ(pa.percent, 40.0);
    EXPECT_THROW(glm::coco_point_correct(gt, { 3, 1, 0, 0 }), glm::error);
}

TEST(Gcg, GreedyRulesAndNaN) {
    const rle a = box_mask(10, 10, 0, 0, 4, 4), b = box_mask(10, 10, 5, 5, 4, 4), e = box_mask(10, 10, 0, 0, 0, 0);
    // exact matches: IoU 1 each, mean 1
    EXPECT_DOUBLE_EQ(glm::gcg_image_miou({ a, b }, { b, a }), 1.0);
    // nothing overlaps: 0
    EXPECT_DOUBLE_EQ(glm::gcg_image_miou({ a }, { b }), 0.0);
    // two empty masks: IoU NaN stops the pairing (np.max is NaN) -> 0 ...
    EXPECT_DOUBLE_EQ(glm::gcg_image_miou({ e, a }, { e, a }), 0.0);
    EXPECT_TRUE(std::isnan(glm::gcg_mask_iou(e, e)));
    glm::gcg_image im;
    im.gt_masks        = { e };
    im.pred_masks      = { e };
    im.text_similarity = { { 0.9 } };
    // ... while recall takes the NaN pair (NaN < 0.5 is false)
    EXPECT_EQ(glm::gcg_image_matches(im, glm::gcg_params()), 1);
    // stop at the first best pair that fails a threshold, even if a later pair would pass
    im.gt_masks        = { a, b };
    im.pred_masks      = { a, box_mask(10, 10, 5, 5, 4, 3) };  // second pred: IoU 0.75 with b
    im.text_similarity = { { 0.4, 0.0 }, { 0.0, 0.9 } };
    EXPECT_EQ(glm::gcg_image_matches(im, glm::gcg_params()), 0);
    im.text_similarity = { { 0.6, 0.0 }, { 0.0, 0.9 } };
    EXPECT_EQ(glm::gcg_image_matches(im, glm::gcg_params()), 2);
    im.text_similarity = { { 0.6 } };  // wrong shape
    EXPECT_THROW(glm::gcg_image_matches(im, glm::gcg_params()), glm::error);
}
