#include "head-calibrate.h"

#include "common.h"
#include "layout.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace glm {

using json = nlohmann::json;

double spatial_entropy(const float * map, int rows, int cols) {
    const size_t n    = (size_t) rows * cols;
    double       mean = 0;
    for (size_t i = 0; i < n; ++i) {
        mean += map[i];
    }
    mean /= (double) n;
    std::vector<uint8_t> on(n), seen(n, 0);
    for (size_t i = 0; i < n; ++i) {
        on[i] = (double) map[i] - mean > 0.0;
    }
    std::vector<int64_t> sizes;
    std::vector<int>     stack;
    for (size_t s = 0; s < n; ++s) {
        if (!on[s] || seen[s]) {
            continue;
        }
        int64_t size = 0;
        stack.assign(1, (int) s);
        seen[s] = 1;
        while (!stack.empty()) {
            const int c = stack.back();
            stack.pop_back();
            ++size;
            const int y = c / cols, x = c % cols;
            for (int dy = -1; dy <= 1; ++dy) {
                for (int dx = -1; dx <= 1; ++dx) {  // 8-connected
                    const int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= rows || xx < 0 || xx >= cols) {
                        continue;
                    }
                    const size_t j = (size_t) yy * cols + xx;
                    if (on[j] && !seen[j]) {
                        seen[j] = 1;
                        stack.push_back((int) j);
                    }
                }
            }
        }
        sizes.push_back(size);
    }
    if (sizes.empty()) {
        return std::numeric_limits<double>::infinity();
    }
    const double total = (double) std::accumulate(sizes.begin(), sizes.end(), (int64_t) 0);
    double       h     = 0;
    for (int64_t s : sizes) {
        const double p = (double) s / total;
        h -= p * std::log(p);
    }
    return h;
}

int elbow_index(const std::vector<double> & v) {
    const int n = (int) v.size();
    if (n < 3 || v.front() <= v.back()) {
        return n == 0 ? 0 : n - 1;  // too few values or a flat curve: everything passes
    }
    int    best = 0;
    double best_d = -1;
    for (int i = 0; i < n; ++i) {
        const double x = (double) i / (n - 1);
        const double y = (v[i] - v.back()) / (v.front() - v.back());
        const double d = (1.0 - x) - y;  // below the chord from (0, 1) to (1, 0)
        if (d > best_d) {
            best_d = d;
            best   = i;
        }
    }
    return best;
}

head_calibrator::head_calibrator(int n_layer, int n_head, const head_calib_params & p) :
    n_layer_(n_layer), n_head_(n_head), p_(p) {
    if (n_layer <= 0 || n_head <= 0) {
        fail("calibrate-heads: invalid model shape (%d layers, %d heads)", n_layer, n_head);
    }
    if (p.skip_layers < 0 || p.skip_layers >= n_layer) {
        fail("calibrate-heads: skipping %d layers leaves no layer of a %d-layer model (expected 0..%d)", p.skip_layers,
             n_layer, n_layer - 1);
    }
    const int eligible = (n_layer - p.skip_layers) * n_head;
    if (p.k < 1 || p.k > eligible) {
        fail("calibrate-heads: k = %d, expected 1..%d (the heads of layers %d..%d)", p.k, eligible, p.skip_layers,
             n_layer - 1);
    }
    if (p.per_sample < 1 || p.per_sample > eligible) {
        fail("calibrate-heads: per-sample count %d, expected 1..%d", p.per_sample, eligible);
    }
}

void head_calibrator::add(const attend_result & r, const std::vector<int> & rows) {
    const attn_maps & m = r.out.maps;
    if (m.full.empty()) {
        fail("calibrate-heads: the stage-1 result kept no per-head maps (run it with attn_heads dump)");
    }
    if (m.n_layer != n_layer_ || m.n_head != n_head_) {
        fail("calibrate-heads: a result of %d layers x %d heads, the calibration is for %d x %d", m.n_layer, m.n_head,
             n_layer_, n_head_);
    }
    if (rows.empty()) {
        fail("calibrate-heads: a sample with no query rows");
    }
    const int LH = n_layer_ * n_head_;
    // the sample's per-head maps over the whole image block: mean over its rows
    std::vector<float> block((size_t) LH * m.n_img, 0.0f);
    for (int row : rows) {
        if (row < 0 || row >= m.n_rows) {
            fail("calibrate-heads: row %d out of range (%d rows)", row, m.n_rows);
        }
        const float * src = &m.full[(size_t) row * LH * m.n_img];
        for (size_t i = 0; i < block.size(); ++i) {
            block[i] += src[i] / (float) rows.size();
        }
    }
    const int                gi   = r.layout.primary;
    const token_grid &       grid = r.layout.grids.at((size_t) gi);
    const std::vector<float> gm   = layout_grid_maps(r.layout, gi, block, LH);
    const size_t             gn   = (size_t) grid.rows * grid.cols;
    for (int lh = 0; lh < LH; ++lh) {
        double mass = 0;
        for (int j = 0; j < m.n_img; ++j) {
            mass += block[(size_t) lh * m.n_img + j];
        }
        mass_.push_back((float) mass);
        entropy_.push_back((float) spatial_entropy(&gm[(size_t) lh * gn], grid.rows, grid.cols));
    }
    ++n_samples_;
}

head_calib_result head_calibrator::finish() const {
    if (n_samples_ == 0) {
        fail("calibrate-heads: no samples (no image gave a noun phrase with tokens)");
    }
    const int         LH = n_layer_ * n_head_;
    head_calib_result r;
    r.n_layer   = n_layer_;
    r.n_head    = n_head_;
    r.n_samples = n_samples_;
    r.mean_mass.assign(LH, std::nan(""));
    r.mean_entropy.assign(LH, std::nan(""));
    r.counts.assign(LH, 0);
    std::vector<double> eligible_mass;
    for (int lh = p_.skip_layers * n_head_; lh < LH; ++lh) {
        double  s = 0, se = 0;
        int64_t ne = 0;
        for (int64_t i = 0; i < n_samples_; ++i) {
            s += mass_[(size_t) i * LH + lh];
            const float e = entropy_[(size_t) i * LH + lh];
            if (std::isfinite(e)) {
                se += e;
                ++ne;
            }
        }
        r.mean_mass[lh]    = s / (double) n_samples_;
        r.mean_entropy[lh] = ne ? se / (double) ne : std::nan("");
        eligible_mass.push_back(r.mean_mass[lh]);
    }
    std::sort(eligible_mass.begin(), eligible_mass.end(), std::greater<double>());
    r.tau = eligible_mass[(size_t) elbow_index(eligible_mass)];
    std::vector<int> passing;
    for (int lh = p_.skip_layers * n_head_; lh < LH; ++lh) {
        if (r.mean_mass[lh] >= r.tau) {
            passing.push_back(lh);
        }
    }
    // criterion 2, per sample
    std::vector<int> order;
    for (int64_t i = 0; i < n_samples_; ++i) {
        order = passing;
        const float * e  = &entropy_[(size_t) i * LH];
        const float * ms = &mass_[(size_t) i * LH];
        std::sort(order.begin(), order.end(), [&](int a, int b) {
            return e[a] != e[b] ? e[a] < e[b] : ms[a] != ms[b] ? ms[a] > ms[b] : a < b;
        });
        for (int j = 0; j < std::min((int) order.size(), p_.per_sample); ++j) {
            if (std::isfinite(e[order[j]])) {
                r.counts[order[j]]++;
            }
        }
    }
    std::vector<int> rank = passing;
    std::sort(rank.begin(), rank.end(), [&](int a, int b) {
        return r.counts[a] != r.counts[b] ? r.counts[a] > r.counts[b]
             : r.mean_mass[a] != r.mean_mass[b] ? r.mean_mass[a] > r.mean_mass[b] : a < b;
    });
    if ((int) rank.size() < p_.k) {  // fewer heads pass tau than k: the next by mass fill the set
        std::vector<int> rest;
        for (int lh = p_.skip_layers * n_head_; lh < LH; ++lh) {
            if (r.mean_mass[lh] < r.tau) {
                rest.push_back(lh);
            }
        }
        std::sort(rest.begin(), rest.end(), [&](int a, int b) { return r.mean_mass[a] > r.mean_mass[b]; });
        rank.insert(rank.end(), rest.begin(), rest.end());
    }
    for (int j = 0; j < p_.k; ++j) {
        r.heads.push_back({ rank[j] / n_head_, rank[j] % n_head_ });
    }
    return r;
}

json head_calib_result::criteria(const head_calib_params & p) const {
    return { { "method", "Kang et al. CVPR 2025 (arXiv 2503.06287): attention mass on the image above the elbow, "
                         "then per-sample lowest spatial entropy, ranked by selection frequency; no labels" },
             { "skip_layers", p.skip_layers },
             { "per_sample", p.per_sample },
             { "k", p.k },
             { "tau", tau },
             { "elbow", "Kneedle point of the sorted mean masses (farthest below the chord)" },
             { "entropy", "A = ReLU(map - mean), 8-connected components, P = |C| / sum |C|, H = -sum P ln P" },
             { "samples", n_samples } };
}

json head_calib_result::counts_json() const {
    json out = json::array();
    for (int lh = 0; lh < n_layer * n_head; ++lh) {
        if (std::isnan(mean_mass[lh])) {
            continue;  // a skipped layer
        }
        out.push_back({ { "layer", lh / n_head },
                        { "head", lh % n_head },
                        { "count", counts[lh] },
                        { "frequency", n_samples ? (double) counts[lh] / (double) n_samples : 0.0 },
                        { "mean_mass", mean_mass[lh] },
                        { "mean_entropy", std::isnan(mean_entropy[lh]) ? json(nullptr) : json(mean_entropy[lh]) },
                        { "passes_tau", mean_mass[lh] >= tau } });
    }
    return out;
}

}  // namespace glm
