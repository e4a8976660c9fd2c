// eval/gcg.cpp: GCG mIoU, recall and mask AP (see gcg.h), mirroring GLaMM's evaluate.py step by step.
#include "eval/gcg.h"

#include "common.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace glm {

double gcg_mask_iou(const rle & a, const rle & b) {
    if (a.h != b.h || a.w != b.w) {
        fail("GCG IoU: masks of different sizes (%dx%d vs %dx%d)", a.h, a.w, b.h, b.w);
    }
    // walk both run lists (the same sweep as rleIou, without its box prefilter)
    uint64_t i = 0, u = 0;
    size_t   ka = 0, kb = 0;
    uint64_t ra = a.counts.empty() ? 0 : a.counts[0], rb = b.counts.empty() ? 0 : b.counts[0];
    bool     va = false, vb = false;
    while (ka < a.counts.size() && kb < b.counts.size()) {
        const uint64_t c = std::min(ra, rb);
        if (va || vb) {
            u += c;
            i += (va && vb) ? c : 0;
        }
        ra -= c;
        rb -= c;
        while (ra == 0 && ka < a.counts.size()) {
            if (++ka < a.counts.size()) {
                ra = a.counts[ka];
                va = !va;
            }
        }
        while (rb == 0 && kb < b.counts.size()) {
            if (++kb < b.counts.size()) {
                rb = b.counts[kb];
                vb = !vb;
            }
        }
    }
    return (double) i / (double) u;  // 0/0 = NaN, as NumPy
}

static std::vector<double> iou_matrix(const std::vector<rle> & rows, const std::vector<rle> & cols) {
    std::vector<double> m(rows.size() * cols.size());
    for (size_t r = 0; r < rows.size(); ++r) {
        for (size_t c = 0; c < cols.size(); ++c) {
            m[r * cols.size() + c] = gcg_mask_iou(rows[r], cols[c]);
        }
    }
    return m;
}

double gcg_image_miou(const std::vector<rle> & pred, const std::vector<rle> & gt) {
    std::vector<double> m = iou_matrix(pred, gt);  // [pred][gt]
    std::vector<size_t> rows(pred.size()), cols(gt.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        rows[i] = i;
    }
    for (size_t i = 0; i < cols.size(); ++i) {
        cols[i] = i;
    }
    std::vector<double> paired;
    while (!rows.empty() && !cols.empty()) {
        // np.max (NaN if any) and np.argmax (first maximum, row-major) over the remaining matrix
        double best = -std::numeric_limits<double>::infinity();
        size_t br = 0, bc = 0;
        bool   has_nan = false;
        for (size_t r = 0; r < rows.size() && !has_nan; ++r) {
            for (size_t c = 0; c < cols.size(); ++c) {
                const double v = m[rows[r] * gt.size() + cols[c]];
                if (std::isnan(v)) {
                    has_nan = true;
                    break;
                }
                if (v > best) {
                    best = v;
                    br   = r;
                    bc   = c;
                }
            }
        }
        if (has_nan || !(best > 0)) {
            break;
        }
        paired.push_back(best);
        rows.erase(rows.begin() + br);
        cols.erase(cols.begin() + bc);
    }
    if (paired.empty()) {
        return 0.0;
    }
    double s = 0;
    for (double v : paired) {
        s += v;
    }
    return s / (double) paired.size();
}

int gcg_image_matches(const gcg_image & im, const gcg_params & params) {
    const size_t G = im.gt_masks.size(), P = im.pred_masks.size();
    if (G == 0 || P == 0) {
        return 0;
    }
    if (im.text_similarity.size() != G) {
        fail("GCG image %lld: text_similarity has %zu rows, expected %zu (one per ground-truth mask)",
             (long long) im.image_id, im.text_similarity.size(), G);
    }
    std::vector<double> sims(G * P);
    for (size_t g = 0; g < G; ++g) {
        if (im.text_similarity[g].size() != P) {
            fail("GCG image %lld: text_similarity row %zu has %zu entries, expected %zu", (long long) im.image_id, g,
                 im.text_similarity[g].size(), P);
        }
        std::copy(im.text_similarity[g].begin(), im.text_similarity[g].end(), sims.begin() + g * P);
    }
    std::vector<double> ious = iou_matrix(im.gt_masks, im.pred_masks);  // [gt][pred]
    int                 n    = 0;
    for (size_t it = 0; it < std::min(G, P); ++it) {
        // np.argmax: the first NaN if there is one, else the first maximum
        size_t bi = 0;
        for (size_t k = 0; k < G * P; ++k) {
            if (std::isnan(ious[k])) {
                bi = k;
                break;
            }
            if (ious[k] > ious[bi]) {
                bi = k;
            }
        }
        if (ious[bi] < params.iou_threshold || sims[bi] < params.text_sim_threshold) {
            break;  // no admissible pair
        }
        n++;
        const size_t r = bi / P, c = bi % P;
        for (size_t k = 0; k < P; ++k) {
            ious[r * P + k] = sims[r * P + k] = 0;
        }
        for (size_t k = 0; k < G; ++k) {
            ious[k * P + c] = sims[k * P + c] = 0;
        }
    }
    return n;
}

gcg_result gcg_evaluate(const std::vector<gcg_image> & images, const gcg_params & params) {
    gcg_result res;
    double     s = 0;
    for (const auto & im : images) {
        const double miou = gcg_image_miou(im.pred_masks, im.gt_masks);
        const int    m    = gcg_image_matches(im, params);
        res.image_miou.push_back(miou);
        res.image_matches.push_back(m);
        s += miou;
        res.n_matches += m;
        res.n_gt_phrases += im.n_gt_phrases >= 0 ? im.n_gt_phrases : (int) im.gt_masks.size();
    }
    res.miou   = images.empty() ? 0.0 : s / (double) images.size();
    res.recall = res.n_gt_phrases > 0 ? (double) res.n_matches / res.n_gt_phrases : 0.0;
    return res;
}

std::vector<std::vector<double>> gcg_similarity_matrix(const std::vector<std::string> & gt_phrases,
                                                       const std::vector<std::string> & pred_phrases,
                                                       gcg_similarity_fn fn, void * user_data) {
    std::vector<std::vector<double>> m(gt_phrases.size(), std::vector<double>(pred_phrases.size()));
    for (size_t i = 0; i < gt_phrases.size(); ++i) {
        for (size_t j = 0; j < pred_phrases.size(); ++j) {
            m[i][j] = fn(gt_phrases[i], pred_phrases[j], user_data);
        }
    }
    return m;
}

cocoeval_result gcg_mask_ap(const coco_dataset & gt_masks, const std::vector<gcg_image> & images,
                            int64_t category_id) {
    std::vector<coco_annotation> dts;
    for (const auto & im : images) {
        gt_masks.image(im.image_id);  // throws for an unknown image
        for (const auto & m : im.pred_masks) {
            coco_annotation d;
            d.id          = (int64_t) dts.size() + 1;
            d.image_id    = im.image_id;
            d.category_id = category_id;
            d.segm        = m;
            d.area        = (double) rle_area(m);
            d.score       = 1.0;
            dts.push_back(std::move(d));
        }
    }
    cocoeval_params p;
    p.cat_ids = { category_id };
    return coco_evaluate_segm(gt_masks, dts, p);
}

}  // namespace glm
