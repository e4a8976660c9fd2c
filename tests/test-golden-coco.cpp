// test-golden-coco: the COCO mask toolkit, COCOeval (segm), point accuracy and the GCG matching rules against
// pycocotools outputs. Usage: test-golden-coco [folder with gt.json, dt.json, expected.json]
#include "eval/cocoeval.h"
#include "eval/gcg.h"
#include "golden-util.h"
#include "util/max-error.h"
#include "rle.h"

#include "common.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

using json = nlohmann::json;

static json load_json(const std::string & path) {
    const std::vector<uint8_t> b = glm::read_file(path);
    return json::parse(b.begin(), b.end());
}

static glm::rle rle_of(const json & j) {
    return glm::coco_segmentation_to_rle(j, 0, 0, "expected.json");
}

static std::vector<glm::rle> rles_of(const json & arr) {
    std::vector<glm::rle> out;
    for (const auto & j : arr) {
        out.push_back(rle_of(j));
    }
    return out;
}

// max |got - want| over a list, reported as one line
static void compare_values(golden::report & rep, const std::string & what, const std::vector<double> & got,
                           const std::vector<double> & want, double tol) {
    if (got.size() != want.size()) {
        rep.check(what, false, "count " + std::to_string(got.size()) + " vs " + std::to_string(want.size()));
        return;
    }
    double worst = 0;  // NaN once a value of either side is not finite (util/max-error.h)
    size_t wi    = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(got[i] - want[i]);
        if (std::isfinite(worst) && (d > worst || !std::isfinite(d))) {
            wi = i;
        }
        worst = glm::test::max_err(worst, d);
    }
    char buf[160];
    snprintf(buf, sizeof(buf), "max_abs %.3e over %zu (tol %.0e)%s", worst, got.size(), tol,
             worst <= tol ? "" : glm::strfmt("  worst at %zu: got %.12g want %.12g", wi, got[wi], want[wi]).c_str());
    rep.check(what, worst <= tol, buf);
}

int main(int argc, char ** argv) {
    const std::string dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    golden::report    rep;
    try {
        const json exp = load_json(dir + "/expected.json");

        // 1. COCOeval segm statistics
        const glm::coco_dataset gt   = glm::coco_load_dataset(dir + "/gt.json");
        const auto              dts  = glm::coco_load_results(gt, dir + "/dt.json");
        const auto              res  = glm::coco_evaluate_segm(gt, dts);
        std::vector<double>     got, want;
        std::string             missing;
        for (int i = 0; i < 12; ++i) {  // all twelve must be in the golden: a missing one would go unchecked
            const char * name = glm::coco_stat_names()[i];
            if (exp.at("segm_stats").contains(name)) {
                got.push_back(res.stats[i]);
                want.push_back(exp.at("segm_stats").at(name).get<double>());
            } else {
                missing += std::string(missing.empty() ? "" : ", ") + name;
            }
        }
        rep.check("segm_stats: expected.json has all 12 statistics", missing.empty(), "missing " + missing);
        // the twelve statistics are means of precision/recall values summed in another order than pycocotools' numpy:
        // measured 1.9e-15 (coco) and 2.1e-16 (coco-variant)
        compare_values(rep, "segm_stats (" + std::to_string(got.size()) + " statistics)", got, want, 5e-14);
        for (size_t i = 0; i < 12; ++i) {
            printf("     %-6s %.12f\n", glm::coco_stat_names()[i], res.stats[i]);
        }

        // 2. RLE: encode from row-major bits, string, area, bbox; decode back
        int n_str = 0, n_area = 0, n_bbox = 0, n_dec = 0, n = 0;
        for (const auto & e : exp.at("rle")) {
            const int               h = e.at("height").get<int>(), w = e.at("width").get<int>();
            const std::string       bits = e.at("row_major_bits").get<std::string>();
            std::vector<uint8_t>    m(bits.size());
            for (size_t i = 0; i < bits.size(); ++i) {
                m[i] = bits[i] == '1';
            }
            const glm::rle r = glm::rle_encode(m.data(), h, w);
            n_str += glm::rle_to_string(r) == e.at("counts").get<std::string>();
            n_area += glm::rle_area(r) == e.at("area").get<uint64_t>();
            double bb[4];
            glm::rle_bbox(r, bb);
            bool bb_ok = true;
            for (int k = 0; k < 4; ++k) {
                bb_ok = bb_ok && bb[k] == e.at("bbox")[k].get<double>();
            }
            n_bbox += bb_ok;
            n_dec += glm::rle_decode(glm::rle_from_string(e.at("counts").get<std::string>(), h, w)) == m;
            n++;
        }
        rep.check("rle cases in expected.json", n > 0, "none");
        rep.check("rle strings", n_str == n, std::to_string(n_str) + "/" + std::to_string(n) + " exact");
        rep.check("rle areas", n_area == n, std::to_string(n_area) + "/" + std::to_string(n) + " exact");
        rep.check("rle bboxes", n_bbox == n, std::to_string(n_bbox) + "/" + std::to_string(n) + " exact");
        rep.check("rle decode", n_dec == n, std::to_string(n_dec) + "/" + std::to_string(n) + " exact");

        // 3. IoU matrices (rows = detections), without and with crowd semantics
        const json & ip = exp.at("iou_pairs");
        const auto   d  = rles_of(ip.at("dt"));
        const auto   g  = rles_of(ip.at("gt"));
        const auto   o0 = glm::rle_iou_matrix(d, g, {});
        const auto   o1 = glm::rle_iou_matrix(d, g, std::vector<uint8_t>(g.size(), 1));
        std::vector<double> w0, w1;
        for (const auto & row : ip.at("iou_no_crowd")) {
            for (const auto & v : row) {
                w0.push_back(v.get<double>());
            }
        }
        for (const auto & row : ip.at("iou_crowd")) {
            for (const auto & v : row) {
                w1.push_back(v.get<double>());
            }
        }
        // ratios of integer areas: bit-exact (measured 0 on both folders)
        compare_values(rep, "iou no crowd", o0, w0, 0);
        compare_values(rep, "iou crowd", o1, w1, 0);

        // 4. point accuracy
        std::vector<glm::coco_point> pts;
        int                          n_pt_ok = 0;
        for (const auto & p : exp.at("pacc").at("points")) {
            glm::coco_point cp;
            cp.image_id    = p.at("image_id").get<int64_t>();
            cp.category_id = p.at("category_id").get<int64_t>();
            cp.x           = p.at("point")[0].get<int>();
            cp.y           = p.at("point")[1].get<int>();
            n_pt_ok += glm::coco_point_correct(gt, cp) == p.at("correct").get<bool>();
            pts.push_back(cp);
        }
        rep.check("pacc points in expected.json", !pts.empty(), "none");
        rep.check("pacc points", n_pt_ok == (int) pts.size(),
                  std::to_string(n_pt_ok) + "/" + std::to_string(pts.size()) + " agree");
        compare_values(rep, "pacc", { glm::coco_point_accuracy(gt, pts).percent },
                       { exp.at("pacc").at("pacc").get<double>() }, 0);  // a ratio of counts: exact

        // 5. GCG mIoU and recall on fixed similarity matrices
        std::vector<glm::gcg_image> imgs;
        std::vector<double>         miou_got, miou_want, match_got, match_want;
        for (const auto & im : exp.at("gcg").at("images")) {
            glm::gcg_image gi;
            gi.gt_masks   = rles_of(im.at("gt_masks"));
            gi.pred_masks = rles_of(im.at("pred_masks"));
            for (const auto & row : im.at("text_similarity")) {
                gi.text_similarity.push_back(row.get<std::vector<double>>());
            }
            gi.n_gt_phrases = (int) gi.text_similarity.size();
            miou_got.push_back(glm::gcg_image_miou(gi.pred_masks, gi.gt_masks));
            miou_want.push_back(im.at("miou").get<double>());
            match_got.push_back(glm::gcg_image_matches(gi, glm::gcg_params()));
            match_want.push_back(im.at("matches").get<double>());
            imgs.push_back(std::move(gi));
        }
        rep.check("gcg images in expected.json", !imgs.empty(), "none");
        compare_values(rep, "gcg per-image miou", miou_got, miou_want, 0);  // measured 0 on both folders
        compare_values(rep, "gcg per-image matches", match_got, match_want, 0);
        const glm::gcg_result gr = glm::gcg_evaluate(imgs, glm::gcg_params());
        compare_values(rep, "gcg miou, recall", { gr.miou, gr.recall },
                       { exp.at("gcg").at("miou").get<double>(), exp.at("gcg").at("recall").get<double>() }, 0);  // measured 0
    } catch (const std::exception & e) {
        rep.check("run", false, e.what());
    }
    return rep.finish("test-golden-coco");
}
