#include "refine-region.h"

#include "common.h"

#include <algorithm>
#include <cmath>

namespace glm {

namespace {

image_u8 median_filter(const image_u8 & img, int r) {
    if (r <= 0) {
        return img;
    }
    image_u8 out = img;
    std::vector<uint8_t> win;
    for (int y = 0; y < img.h; ++y) {
        for (int x = 0; x < img.w; ++x) {
            for (int c = 0; c < 3; ++c) {
                win.clear();
                for (int dy = -r; dy <= r; ++dy) {
                    for (int dx = -r; dx <= r; ++dx) {
                        const int xx = std::min(img.w - 1, std::max(0, x + dx));
                        const int yy = std::min(img.h - 1, std::max(0, y + dy));
                        win.push_back(img.at(xx, yy)[c]);
                    }
                }
                std::nth_element(win.begin(), win.begin() + win.size() / 2, win.end());
                out.at(x, y)[c] = win[win.size() / 2];
            }
        }
    }
    return out;
}

float dist(const uint8_t * p, const float * c) {
    const float d0 = p[0] - c[0], d1 = p[1] - c[1], d2 = p[2] - c[2];
    return std::sqrt(d0 * d0 + d1 * d1 + d2 * d2);
}

std::vector<uint8_t> grow(const image_u8 & raw, const image_u8 & smooth, int x, int y, const region_params & p) {
    const int W = raw.w, H = raw.h;
    if (x < 0 || y < 0 || x >= W || y >= H) {
        fail("region refiner: seed (%d, %d) outside the %dx%d image", x, y, W, H);
    }
    float seed[3];
    for (int c = 0; c < 3; ++c) {
        seed[c] = smooth.at(x, y)[c];
    }
    std::vector<uint8_t> mask((size_t) W * H, 0);
    std::vector<int>     stack = { y * W + x };
    mask[(size_t) y * W + x]   = 1;
    const int dxs[4] = { 1, -1, 0, 0 }, dys[4] = { 0, 0, 1, -1 };
    while (!stack.empty()) {
        const int i = stack.back();
        stack.pop_back();
        const int px = i % W, py = i / W;
        for (int k = 0; k < 4; ++k) {
            const int nx = px + dxs[k], ny = py + dys[k];
            if (nx < 0 || ny < 0 || nx >= W || ny >= H || mask[(size_t) ny * W + nx]) {
                continue;
            }
            if (dist(smooth.at(nx, ny), seed) <= p.threshold && dist(raw.at(nx, ny), seed) <= p.edge_threshold) {
                mask[(size_t) ny * W + nx] = 1;
                stack.push_back(ny * W + nx);
            }
        }
    }
    for (int pass = 0; pass < p.edge_passes; ++pass) {
        std::vector<int> add;
        for (int py = 0; py < H; ++py) {
            for (int px = 0; px < W; ++px) {
                if (mask[(size_t) py * W + px] || dist(raw.at(px, py), seed) > p.edge_threshold) {
                    continue;
                }
                for (int k = 0; k < 4; ++k) {
                    const int nx = px + dxs[k], ny = py + dys[k];
                    if (nx >= 0 && ny >= 0 && nx < W && ny < H && mask[(size_t) ny * W + nx]) {
                        add.push_back(py * W + px);
                        break;
                    }
                }
            }
        }
        if (add.empty()) {
            break;
        }
        for (int i : add) {
            mask[i] = 1;
        }
    }
    return mask;
}

}  // namespace

region_params region_default_params() { return region_params{}; }

region_refiner::region_refiner(const region_params & params) : params_(params) {
    if (params.smooth_radius < 0 || params.threshold < 0 || params.edge_passes < 0 || params.edge_threshold < 0) {
        fail("region refiner: negative parameter (radius %d, threshold %g, passes %d, edge threshold %g)",
             params.smooth_radius, params.threshold, params.edge_passes, params.edge_threshold);
    }
}

std::string region_refiner::name() const {
    return strfmt("region (median %d, colour distance <= %g, %d edge passes)", params_.smooth_radius,
                  params_.threshold, params_.edge_passes);
}

void region_refiner::set_image(const image_u8 & img) {
    if (img.empty()) {
        fail("region refiner: empty image");
    }
    raw_    = img;
    smooth_ = median_filter(img, params_.smooth_radius);
}

refined_mask region_refiner::refine(const refine_prompt & q) {
    if (raw_.empty()) {
        fail("region refiner: refine() before set_image()");
    }
    refined_mask r;
    r.w = raw_.w;
    r.h = raw_.h;
    // seeds: the positive points, or the box centre when there is only a box
    std::vector<refine_point> pts = q.points;
    if (pts.empty() && q.has_box) {
        pts.push_back({ (q.box[0] + q.box[2]) / 2, (q.box[1] + q.box[3]) / 2, 1 });
    }
    if (pts.empty()) {
        fail("region refiner: the prompt has no point and no box");
    }
    r.mask.assign((size_t) r.w * r.h, 0);
    for (int pass = 1; pass >= 0; --pass) {  // the union of the positive regions, minus the negative ones
        for (const refine_point & p : pts) {
            if (p.label != pass) {
                continue;
            }
            const std::vector<uint8_t> m = grow(raw_, smooth_, p.x, p.y, params_);
            for (size_t i = 0; i < m.size(); ++i) {
                if (m[i]) {
                    r.mask[i] = (uint8_t) pass;
                }
            }
        }
    }
    if (q.has_box) {  // clipped to the box
        for (int y = 0; y < r.h; ++y) {
            for (int x = 0; x < r.w; ++x) {
                if (x < q.box[0] || x >= q.box[2] || y < q.box[1] || y >= q.box[3]) {
                    r.mask[(size_t) y * r.w + x] = 0;
                }
            }
        }
    }
    int64_t area = 0;
    for (uint8_t v : r.mask) {
        area += v;
    }
    r.score      = 1.0f - (float) area / (float) r.mask.size();
    r.index      = 0;
    r.all_scores = { r.score };
    if (q.keep_all) {
        r.all_masks = { r.mask };
    }
    return r;
}

std::vector<uint8_t> region_grow(const image_u8 & img, int x, int y, const region_params & params) {
    region_refiner r(params);
    r.set_image(img);
    return r.refine(x, y, mask_select::best, false).mask;
}

}  // namespace glm
