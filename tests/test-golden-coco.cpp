// test-golden-coco: the COCO mask toolkit, COCOeval (segm), point accuracy and the GCG matching rules against
// pycocotools outputs. Usage: test-golden-coco [folder with gt.json, dt.json, expected.json]
#include "eval/cocoeval.h"
#include "eval/gcg.h"
#include "golden-util.h"
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
    double worst = 0;
    size_t wi    = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(got[i] - want[i]);
        if (d > worst || std::isnan(d)) {
            worst = d;
            wi    = i;
        }
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
        for (int i = 0; i < 12; ++i) {
            const char * name = glm::coco_stat_names()[i];
            if (exp["segm_stats"].contains(name)) {
                got.push_back(res.stats[i]);
                want.push_back(exp["segm_stats"][name].get<double>());
            }
        }
        compare_values(rep, "segm_stats (" + std::to_string(got.size()) + " statistics)", got, want, 1e-9);
        for (size_t i = 0; i < 12; ++i) {
            printf("     %-6s %.12f\n", glm::coco_stat_names()[i], res.stats[i]);
        }

        // 2. RLE: encode from row-major bits, string, area, bbox; decode back
        int n_str = 0, n_area = 0, n_bbox = 0, n_dec = 0, n = 0;
        for (const auto & e : exp["rle"]) {
            const int               h = e["height"].get<int>(), w = e["width"].get<int>();
            const std::string       bits = e["row_major_bits"].get<std::string>();
            std::vector<uint8_t>    m(bits.size());
            for (size_t i = 0; i < bits.size(); ++i) {
                m[i] = bits[i] == '1';
            }
            const glm::rle r = glm::rle_encode(m.data(), h, w);
            n_str += glm::rle_to_string(r) == e["counts"].get<std::string>();
            n_area += glm::rle_area(r) == e["area"].get<uint64_t>();
            double bb[4];
            glm::rle_bbox(r, bb);
            bool bb_ok = true;
            for (int k = 0; k < 4; ++k) {
                bb_ok = bb_ok && bb[k] == e["bbox"][k].get<double>();
            }
            n_bbox += bb_ok;
            n_dec += glm::rle_decode(glm::rle_from_string(e["counts"].get<std::string>(), h, w)) == m;
            n++;
        }
        rep.check("rle strings", n_str == n, std::to_string(n_str) + "/" + std::to_string(n) + " exact");
        rep.check("rle areas", n_area == n, std::to_string(n_area) + "/" + std::to_string(n) + " exact");
        rep.check("rle bboxes", n_bbox == n, std::to_string(n_bbox) + "/" + std::to_string(n) + " exact");
        rep.check("rle decode", n_dec == n, std::to_string(n_dec) + "/" + std::to_string(n) + " exact");

        // 3. IoU matrices (rows = detections), without and with crowd semantics
        const json & ip = exp["iou_pairs"];
        const auto   d  = rles_of(ip["dt"]);
        const auto   g  = rles_of(ip["gt"]);
        const auto   o0 = glm::rle_iou_matrix(d, g, {});
        const auto   o1 = glm::rle_iou_matrix(d, g, std::vector<uint8_t>(g.size(), 1));
        std::vector<double> w0, w1;
        for (const auto & row : ip["iou_no_crowd"]) {
            for (const auto & v : row) {
                w0.push_back(v.get<double>());
            }
        }
        for (const auto & row : ip["iou_crowd"]) {
            for (const auto & v : row) {
                w1.push_back(v.get<double>());
            }
        }
        compare_values(rep, "iou no crowd", o0, w0, 1e-12);
        compare_values(rep, "iou crowd", o1, w1, 1e-12);

        // 4. point accuracy
        std::vector<glm::coco_point> pts;
        int                          n_pt_ok = 0;
        for (const auto & p : exp["pacc"]["points"]) {
            glm::coco_point cp;
            cp.image_id    = p["image_id"].get<int64_t>();
            cp.category_id = p["category_id"].get<int64_t>();
            cp.x           = p["point"][0].get<int>();
            cp.y           = p["point"][1].get<int>();
            n_pt_ok += glm::coco_point_correct(gt, cp) == p["correct"].get<bool>();
            pts.push_back(cp);
        }
        rep.check("pacc points", n_pt_ok == (int) pts.size(),
                  std::to_string(n_pt_ok) + "/" + std::to_string(pts.size()) + " agree");
        compare_values(rep, "pacc", { glm::coco_point_accuracy(gt, pts).percent },
                       { exp["pacc"]["pacc"].get<double>() }, 1e-9);

        // 5. GCG mIoU and recall on fixed similarity matrices
        std::vector<glm::gcg_image> imgs;
        std::vector<double>         miou_got, miou_want, match_got, match_want;
        for (const auto & im : exp["gcg"]["images"]) {
            glm::gcg_image gi;
            gi.gt_masks   = rles_of(im["gt_masks"]);
            gi.pred_masks = rles_of(im["pred_masks"]);
            for (const auto & row : im["text_similarity"]) {
                gi.text_similarity.push_back(row.get<std::vector<double>>());
            }
            gi.n_gt_phrases = (int) gi.text_similarity.size();
            miou_got.push_back(glm::gcg_image_miou(gi.pred_masks, gi.gt_masks));
            miou_want.push_back(im["miou"].get<double>());
            match_got.push_back(glm::gcg_image_matches(gi, glm::gcg_params()));
            match_want.push_back(im["matches"].get<double>());
            imgs.push_back(std::move(gi));
        }
        compare_values(rep, "gcg per-image miou", miou_got, miou_want, 1e-9);
        compare_values(rep, "gcg per-image matches", match_got, match_want, 0);
        const glm::gcg_result gr = glm::gcg_evaluate(imgs, glm::gcg_params());
        compare_values(rep, "gcg miou, recall", { gr.miou, gr.recall },
                       { exp["gcg"]["miou"].get<double>(), exp["gcg"]["recall"].get<double>() }, 1e-9);
    } catch (const std::exception & e) {
        rep.check("run", false, e.what());
    }
    return rep.finish("test-golden-coco");
}
