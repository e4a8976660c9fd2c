// eval/cocoeval.cpp: COCOeval (segm) as pycocotools cocoeval.py: evaluate(), accumulate(), summarize();
// and point accuracy. Loops and tie rules mirror the Python line by line; comments name the Python step.
#include "eval/cocoeval.h"

#include "common.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace glm {

const std::array<const char *, 12> & coco_stat_names() {
    static const std::array<const char *, 12> names = { "AP",  "AP50", "AP75", "APs",   "APm", "APl",
                                                        "AR1", "AR10", "AR100", "ARs", "ARm", "ARl" };
    return names;
}

// np.linspace(start, stop, num): y[i] = i * ((stop - start) / (num - 1)) + start, last = stop.
static std::vector<double> linspace(double start, double stop, int num) {
    std::vector<double> y(num);
    const double        step = (stop - start) / (num - 1);
    for (int i = 0; i < num; ++i) {
        y[i] = (double) i * step + start;
    }
    y[num - 1] = stop;
    return y;
}

// Indices that sort -score ascending, stable (np.argsort(-scores, kind='mergesort')).
static std::vector<size_t> argsort_desc(const std::vector<double> & scores) {
    std::vector<size_t> idx(scores.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return -scores[a] < -scores[b]; });
    return idx;
}

size_t cocoeval_result::n_area() const {
    const size_t tkm = iou_thrs.size() * cat_ids.size() * max_dets.size();
    return tkm ? recall.size() / tkm : 0;
}

double cocoeval_result::precision_at(int t, int r, int k, int a, int m) const {
    const size_t R = rec_thrs.size(), K = cat_ids.size(), A = n_area(), M = max_dets.size();
    return precision[(((t * R + r) * K + k) * A + a) * M + m];
}

double cocoeval_result::recall_at(int t, int k, int a, int m) const {
    const size_t K = cat_ids.size(), A = n_area(), M = max_dets.size();
    return recall[((t * K + k) * A + a) * M + m];
}

namespace {

using ann_list = std::vector<const coco_annotation *>;

// evaluateImg()'s result for one image, category and area range.
struct eval_img {
    bool                 valid = false;
    std::vector<double>  dt_scores;  // D, sorted by score
    std::vector<double>  dtm;        // [T][D]: id of the matched ground truth, 0 = unmatched
    std::vector<uint8_t> dt_ig;      // [T][D]
    std::vector<uint8_t> gt_ig;      // G, ignore-last order
};

struct evaluator {
    const cocoeval_params &     p;
    std::vector<double>         iou_thrs;
    int                         max_det;
    // per (image, category): ground truth and detections (detections sorted by score, cut to max_det), IoUs
    std::map<std::pair<int64_t, int64_t>, ann_list> gts, dts;
    std::map<std::pair<int64_t, int64_t>, std::vector<double>> ious;  // [D][G], empty when D or G is 0

    explicit evaluator(const cocoeval_params & params) : p(params) {}

    // computeIoU()
    void compute_iou(const std::pair<int64_t, int64_t> & key) {
        ann_list & dt = dts[key];
        ann_list & gt = gts[key];
        std::vector<double> scores;
        for (auto * d : dt) {
            scores.push_back(d->score);
        }
        ann_list sorted;
        for (size_t i : argsort_desc(scores)) {
            sorted.push_back(dt[i]);
        }
        if ((int) sorted.size() > max_det) {
            sorted.resize(max_det);
        }
        dt = sorted;
        std::vector<rle>     d, g;
        std::vector<uint8_t> crowd;
        for (auto * a : dt) {
            d.push_back(a->segm);
        }
        for (auto * a : gt) {
            g.push_back(a->segm);
            crowd.push_back(a->iscrowd);
        }
        ious[key] = (d.empty() || g.empty()) ? std::vector<double>() : rle_iou_matrix(d, g, crowd);
    }

    // evaluateImg()
    eval_img evaluate_img(const std::pair<int64_t, int64_t> & key, const std::array<double, 2> & rng) {
        eval_img         e;
        const ann_list & gt0 = gts[key];
        const ann_list & dt  = dts[key];
        if (gt0.empty() && dt.empty()) {
            return e;
        }
        e.valid = true;
        std::vector<uint8_t> ig0;
        for (auto * g : gt0) {
            ig0.push_back(g->iscrowd || g->area < rng[0] || g->area > rng[1]);
        }
        std::vector<size_t> gtind(gt0.size());
        std::iota(gtind.begin(), gtind.end(), 0);
        std::stable_sort(gtind.begin(), gtind.end(), [&](size_t a, size_t b) { return ig0[a] < ig0[b]; });
        ann_list gt;
        for (size_t i : gtind) {
            gt.push_back(gt0[i]);
            e.gt_ig.push_back(ig0[i]);
        }
        const size_t  T = iou_thrs.size(), G = gt.size(), D = dt.size();  // dt is already sorted and cut
        const auto &  iou_all = ious[key];
        std::vector<double> gtm(T * G, 0.0);
        e.dtm.assign(T * D, 0.0);
        e.dt_ig.assign(T * D, 0);
        for (auto * d : dt) {
            e.dt_scores.push_back(d->score);
        }
        if (!iou_all.empty()) {
            for (size_t t = 0; t < T; ++t) {
                for (size_t di = 0; di < D; ++di) {
                    double iou = std::min(iou_thrs[t], 1 - 1e-10);
                    long   m   = -1;
                    for (size_t gi = 0; gi < G; ++gi) {
                        if (gtm[t * G + gi] > 0 && !gt[gi]->iscrowd) {
                            continue;  // already matched, not a crowd
                        }
                        if (m > -1 && e.gt_ig[m] == 0 && e.gt_ig[gi] == 1) {
                            break;  // matched a regular gt, the rest are ignored ones
                        }
                        const double v = iou_all[di * G + gtind[gi]];
                        if (v < iou) {
                            continue;
                        }
                        iou = v;
                        m   = (long) gi;
                    }
                    if (m == -1) {
                        continue;
                    }
                    e.dt_ig[t * D + di] = e.gt_ig[m];
                    e.dtm[t * D + di]   = (double) gt[m]->id;
                    gtm[t * G + m]      = (double) dt[di]->id;
                }
            }
        }
        // unmatched detections outside the area range are ignored
        for (size_t t = 0; t < T; ++t) {
            for (size_t di = 0; di < D; ++di) {
                const bool out = dt[di]->area < rng[0] || dt[di]->area > rng[1];
                if (e.dtm[t * D + di] == 0 && out) {
                    e.dt_ig[t * D + di] = 1;
                }
            }
        }
        return e;
    }
};

// summarize()'s _summarize: mean of the defined (> -1) entries, -1 when none.
struct summary_sel {
    bool        ap;
    double      iou_thr;  // < 0: all thresholds
    const char * area;
    int         max_dets;
};

}  // namespace

cocoeval_result coco_evaluate_segm(const coco_dataset & gt, const std::vector<coco_annotation> & dts_in,
                                   const cocoeval_params & params) {
    if (params.max_dets.empty() || params.area_rng.size() != params.area_lbl.size()) {
        fail("cocoeval: max_dets must not be empty and area_rng/area_lbl must have the same length");
    }
    evaluator ev(params);
    ev.iou_thrs = linspace(.5, 0.95, 10);
    cocoeval_result res;
    res.iou_thrs = ev.iou_thrs;
    res.rec_thrs = linspace(.0, 1.00, 101);
    res.max_dets = params.max_dets;
    std::sort(res.max_dets.begin(), res.max_dets.end());
    ev.max_det = res.max_dets.back();

    std::set<int64_t> img_set, cat_set;
    if (params.img_ids.empty()) {
        for (const auto & im : gt.images) {
            img_set.insert(im.id);
        }
    } else {
        img_set.insert(params.img_ids.begin(), params.img_ids.end());
    }
    if (params.cat_ids.empty()) {
        for (const auto & c : gt.categories) {
            cat_set.insert(c.id);
        }
    } else {
        cat_set.insert(params.cat_ids.begin(), params.cat_ids.end());
    }
    const std::vector<int64_t> img_ids(img_set.begin(), img_set.end());  // np.unique: sorted
    res.cat_ids.assign(cat_set.begin(), cat_set.end());

    // _prepare(): group by (image, category), file order within a group
    for (const auto & a : gt.annotations) {
        if (img_set.count(a.image_id) && cat_set.count(a.category_id)) {
            ev.gts[{ a.image_id, a.category_id }].push_back(&a);
        }
    }
    for (const auto & d : dts_in) {
        if (!cat_set.count(d.category_id)) {
            res.n_dt_unknown_category++;
            continue;
        }
        if (img_set.count(d.image_id)) {
            ev.dts[{ d.image_id, d.category_id }].push_back(&d);
        }
    }
    if (res.n_dt_unknown_category) {
        GLM_LOG_WARN("cocoeval: %d detections have a category that is not evaluated; they are not counted",
                     res.n_dt_unknown_category);
    }
    for (int64_t i : img_ids) {
        for (int64_t c : res.cat_ids) {
            ev.compute_iou({ i, c });
        }
    }
    // evaluate(): evalImgs[k][a][i]
    const size_t I = img_ids.size(), K = res.cat_ids.size(), A = params.area_rng.size();
    std::vector<eval_img> eval_imgs(K * A * I);
    for (size_t k = 0; k < K; ++k) {
        for (size_t a = 0; a < A; ++a) {
            for (size_t i = 0; i < I; ++i) {
                eval_imgs[(k * A + a) * I + i] = ev.evaluate_img({ img_ids[i], res.cat_ids[k] }, params.area_rng[a]);
            }
        }
    }

    // accumulate()
    const size_t T = res.iou_thrs.size(), R = res.rec_thrs.size(), M = res.max_dets.size();
    res.precision.assign(T * R * K * A * M, -1.0);
    res.recall.assign(T * K * A * M, -1.0);
    const double eps = 2.220446049250313e-16;  // np.spacing(1)
    for (size_t k = 0; k < K; ++k) {
        for (size_t a = 0; a < A; ++a) {
            for (size_t m = 0; m < M; ++m) {
                const size_t        max_det = (size_t) res.max_dets[m];
                std::vector<double> scores;
                std::vector<std::vector<double>>  dtm(T);
                std::vector<std::vector<uint8_t>> dtig(T);
                size_t npig = 0;
                bool   any  = false;
                for (size_t i = 0; i < I; ++i) {
                    const eval_img & e = eval_imgs[(k * A + a) * I + i];
                    if (!e.valid) {
                        continue;
                    }
                    any            = true;
                    const size_t D = e.dt_scores.size(), n = std::min(D, max_det);
                    scores.insert(scores.end(), e.dt_scores.begin(), e.dt_scores.begin() + n);
                    for (size_t t = 0; t < T; ++t) {
                        dtm[t].insert(dtm[t].end(), e.dtm.begin() + t * D, e.dtm.begin() + t * D + n);
                        dtig[t].insert(dtig[t].end(), e.dt_ig.begin() + t * D, e.dt_ig.begin() + t * D + n);
                    }
                    for (uint8_t g : e.gt_ig) {
                        npig += g == 0;
                    }
                }
                if (!any || npig == 0) {
                    continue;
                }
                const std::vector<size_t> inds = argsort_desc(scores);
                const size_t              nd   = inds.size();
                for (size_t t = 0; t < T; ++t) {
                    std::vector<double> rc(nd), pr(nd);
                    double              tp = 0, fp = 0;
                    for (size_t j = 0; j < nd; ++j) {
                        const size_t s       = inds[j];
                        const bool   matched = dtm[t][s] != 0, ignored = dtig[t][s] != 0;
                        tp += (matched && !ignored);
                        fp += (!matched && !ignored);
                        rc[j] = tp / (double) npig;
                        pr[j] = tp / (fp + tp + eps);
                    }
                    res.recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
                    for (size_t j = nd - 1; nd > 0 && j > 0; --j) {
                        if (pr[j] > pr[j - 1]) {
                            pr[j - 1] = pr[j];
                        }
                    }
                    for (size_t r = 0; r < R; ++r) {
                        // np.searchsorted(rc, recThrs, side='left'); past the end q stays 0
                        const size_t pi = std::lower_bound(rc.begin(), rc.end(), res.rec_thrs[r]) - rc.begin();
                        res.precision[(((t * R + r) * K + k) * A + a) * M + m] = pi < nd ? pr[pi] : 0.0;
                    }
                }
            }
        }
    }

    // summarize()
    auto summarize = [&](const summary_sel & s) {
        std::vector<size_t> ts, as, ms;
        for (size_t t = 0; t < T; ++t) {
            if (s.iou_thr < 0 || res.iou_thrs[t] == s.iou_thr) {
                ts.push_back(t);
            }
        }
        for (size_t a = 0; a < A; ++a) {
            if (params.area_lbl[a] == s.area) {
                as.push_back(a);
            }
        }
        for (size_t m = 0; m < M; ++m) {
            if (res.max_dets[m] == s.max_dets) {
                ms.push_back(m);
            }
        }
        double sum = 0;
        size_t n   = 0;
        for (size_t t : ts) {
            for (size_t r = 0; r < (s.ap ? R : 1); ++r) {
                for (size_t k = 0; k < K; ++k) {
                    for (size_t a : as) {
                        for (size_t m : ms) {
                            const double v = s.ap ? res.precision[(((t * R + r) * K + k) * A + a) * M + m]
                                                  : res.recall[((t * K + k) * A + a) * M + m];
                            if (v > -1) {
                                sum += v;
                                n++;
                            }
                        }
                    }
                }
            }
        }
        return n ? sum / (double) n : -1.0;
    };
    const auto & md  = res.max_dets;
    auto         mdi = [&](size_t i) { return i < md.size() ? md[i] : -1; };
    const summary_sel sel[12] = {
        { true, -1, "all", 100 },           { true, .5, "all", mdi(2) },         { true, .75, "all", mdi(2) },
        { true, -1, "small", mdi(2) },      { true, -1, "medium", mdi(2) },      { true, -1, "large", mdi(2) },
        { false, -1, "all", mdi(0) },       { false, -1, "all", mdi(1) },        { false, -1, "all", mdi(2) },
        { false, -1, "small", mdi(2) },     { false, -1, "medium", mdi(2) },     { false, -1, "large", mdi(2) },
    };
    for (int i = 0; i < 12; ++i) {
        res.stats[i] = summarize(sel[i]);
    }
    return res;
}

bool coco_point_correct(const coco_dataset & gt, const coco_point & p) {
    gt.image(p.image_id);  // throws for an unknown image
    for (const auto & a : gt.annotations) {
        if (a.image_id == p.image_id && a.category_id == p.category_id && rle_contains(a.segm, p.x, p.y)) {
            return true;
        }
    }
    return false;
}

point_accuracy coco_point_accuracy(const coco_dataset & gt, const std::vector<coco_point> & points) {
    std::map<std::pair<int64_t, int64_t>, std::vector<const rle *>> masks;  // (image, category) -> masks
    for (const auto & a : gt.annotations) {
        masks[{ a.image_id, a.category_id }].push_back(&a.segm);
    }
    point_accuracy pa;
    for (const auto & p : points) {
        gt.image(p.image_id);  // throws for an unknown image
        bool ok = false;
        auto it = masks.find({ p.image_id, p.category_id });
        if (it != masks.end()) {
            for (const rle * r : it->second) {
                ok = ok || rle_contains(*r, p.x, p.y);
            }
        }
        pa.n_correct += ok;
        pa.n_total++;
    }
    pa.percent = pa.n_total ? 100.0 * pa.n_correct / pa.n_total : 0.0;
    return pa;
}

}  // namespace glm
