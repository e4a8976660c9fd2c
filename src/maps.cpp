// maps.cpp: attend-and-segment post-processing (see maps.h for the reference lines each step mirrors).
#include "maps.h"

#include "common.h"
#include "image.h"

#include <algorithm>
#include <cmath>

namespace glm {

const char * map_aspect_name(map_aspect a) {
    return a == map_aspect::pad ? "pad" : a == map_aspect::original ? "original" : "rect";
}

map_aspect map_aspect_from_name(const std::string & s) {
    if (s == "pad") {
        return map_aspect::pad;
    }
    if (s == "original") {
        return map_aspect::original;
    }
    if (s == "rect") {
        return map_aspect::rect;
    }
    fail("aspect mode: expected 'pad', 'original' or 'rect', got '%s'", s.c_str());
}

maps_params maps_default_params() {
    return maps_params();
}

void token_maps::validate(const char * what) const {
    if (n_tokens < 0 || gh <= 0 || gw <= 0) {
        fail("%s: invalid shape [%d, %d, %d]", what, n_tokens, gh, gw);
    }
    const size_t want = (size_t) n_tokens * gh * gw;
    if (data.size() != want) {
        fail("%s: %zu values for shape [%d, %d, %d], expected %zu", what, data.size(), n_tokens, gh, gw, want);
    }
    for (size_t i = 0; i < data.size(); ++i) {
        if (!std::isfinite(data[i])) {
            fail("%s: value %zu (token %zu) is not finite", what, i, i / ((size_t) gh * gw));
        }
    }
}

std::vector<int> tokens_overlapping(const std::vector<char_span> & token_spans, char_span target) {
    std::vector<int> out;
    for (size_t j = 0; j < token_spans.size(); ++j) {
        // utils.py group_tokens: token_start[j] < phrase_end[i] and token_end[j] > phrase_start[i]
        if (token_spans[j].begin < target.end && token_spans[j].end > target.begin) {
            out.push_back((int) j);
        }
    }
    return out;
}

// ---- float sums over tokens in ATen's order ---------------------------------------------------------------------
//
// torch's mean(dim=0) on a contiguous float32 [T, N] CPU tensor is sum(dim=0) / T (a division, not a product with
// 1/T), and the sum is ATen's "cascade sum" (aten/src/ATen/native/cpu/SumKernel.cpp, torch 1.13, AVX2 build, one
// thread as the reference scripts set; with more threads ATen may split inputs of 32768+ values between threads).
// Its order of additions differs from a running sum by ~1e-9, enough to move the first maximum of a nearly flat map
// (coarse grids upsampled far: 5 of 24 random aas folders got other points), so it is reproduced here exactly.
// All additions are float32; Vectorized<float> lanes (8 on AVX2) are independent columns, so per column the order
// is one of:
//   cascade(n): ATen multi_row_sum over n rows, 4 levels of partial sums: rows are added to level 0; after every
//               block of 2^lp rows (lp = max(4, ceil(log2 n) / 4)) level 0 is added into level 1 and zeroed, and level
//               j into level j + 1 when the rows done are a multiple of 2^(lp * (j + 1)); the rows after the last
//               full block go to level 0, and the result is ((level 0 + level 1) + level 2) + level 3.
//   row_sum(n): ATen row_sum, ilp factor 4: four cascades over rows k, k+4, k+8, .. (k = 0..3, n/4 rows each), the
//               last n % 4 rows added to the first, then first + second + third + fourth.
// Which one a column gets depends on N (TensorIterator moves the reduced dim first; N == 1 coalesces to a 1-D
// contiguous reduction):
//   N >= 8 (vectorized_outer_sum): columns below 32 * floor(N / 32) use cascade(T), the rest row_sum(T);
//   2 <= N < 8 (scalar_outer_sum): columns below 4 * floor(N / 4) use cascade(T), the rest row_sum(T);
//   N == 1, T >= 8 (vectorized_inner_sum): 8 lanes l, each row_sum over rows l, l+8, .. (T / 8 of them); then a
//               running sum of the last T % 8 rows followed by lanes 0..7; N == 1, T < 8: row_sum(T).
// The result is stored as 0 + sum (the output is zero-filled and accumulated into).

namespace {

int64_t aten_ceil_log2(int64_t x) {  // ATen utils::CeilLog2
    if (x <= 2) {
        return 1;
    }
    int64_t b = 0;
    for (uint64_t v = (uint64_t) (x - 1); v != 0; v >>= 1) {
        ++b;
    }
    return b;
}

// For every column c in [c0, c1): out[c - c0] = cascade over rows[first + stride * i][c], i < count.
// lv is scratch of 4 * (c1 - c0) floats.
void cascade_columns(const float * const * rows, int64_t first, int64_t stride, int64_t count, size_t c0, size_t c1,
                     float * lv, float * out) {
    const size_t  w     = c1 - c0;
    const int64_t lp    = std::max<int64_t>(4, aten_ceil_log2(count) / 4);
    const int64_t step  = (int64_t) 1 << lp;
    const int64_t mask  = step - 1;
    float *       acc[4] = { lv, lv + w, lv + 2 * w, lv + 3 * w };
    std::fill(lv, lv + 4 * w, 0.0f);
    int64_t i = 0;
    for (; i + step <= count;) {
        for (int64_t j = 0; j < step; ++j, ++i) {
            const float * r = rows[first + stride * i] + c0;
            for (size_t c = 0; c < w; ++c) {
                acc[0][c] += r[c];
            }
        }
        for (int j = 1; j < 4; ++j) {
            for (size_t c = 0; c < w; ++c) {
                acc[j][c] += acc[j - 1][c];
                acc[j - 1][c] = 0.0f;
            }
            if ((i & (mask << (j * lp))) != 0) {
                break;
            }
        }
    }
    for (; i < count; ++i) {
        const float * r = rows[first + stride * i] + c0;
        for (size_t c = 0; c < w; ++c) {
            acc[0][c] += r[c];
        }
    }
    for (size_t c = 0; c < w; ++c) {
        out[c] = ((acc[0][c] + acc[1][c]) + acc[2][c]) + acc[3][c];
    }
}

// For every column c in [c0, c1): out[c - c0] = row_sum over rows[first + stride * i][c], i < count.
void row_sum_columns(const float * const * rows, int64_t first, int64_t stride, int64_t count, size_t c0, size_t c1,
                     float * lv, float * part, float * out) {
    const size_t  w  = c1 - c0;
    const int64_t n4 = count / 4;
    // part: the four ilp partial sums, [4][w]
    for (int k = 0; k < 4; ++k) {
        cascade_columns(rows, first + stride * k, stride * 4, n4, c0, c1, lv, part + k * w);
    }
    for (int64_t i = n4 * 4; i < count; ++i) {
        const float * r = rows[first + stride * i] + c0;
        for (size_t c = 0; c < w; ++c) {
            part[c] += r[c];
        }
    }
    for (size_t c = 0; c < w; ++c) {
        out[c] = ((part[c] + part[w + c]) + part[2 * w + c]) + part[3 * w + c];
    }
}

}  // namespace

void aten_sum_rows(const float * const * rows, int64_t T, size_t N, float * out) {
    if (N == 0) {
        return;
    }
    if (T <= 0) {
        std::fill(out, out + N, 0.0f);
        return;
    }
    std::vector<float> lv(4 * N), part(4 * N);
    if (N == 1) {
        float s;
        if (T < 8) {
            row_sum_columns(rows, 0, 1, T, 0, 1, lv.data(), part.data(), &s);
        } else {
            const int64_t V = T / 8;
            float         lane[8];
            for (int l = 0; l < 8; ++l) {
                row_sum_columns(rows, l, 8, V, 0, 1, lv.data(), part.data(), &lane[l]);
            }
            s = 0.0f;
            for (int64_t k = V * 8; k < T; ++k) {
                s += rows[k][0];
            }
            for (int l = 0; l < 8; ++l) {
                s += lane[l];
            }
        }
        out[0] = 0.0f + s;
        return;
    }
    const size_t block = N >= 8 ? 32 : 4;
    const size_t nc    = N / block * block;  // columns summed by cascade(T)
    if (nc > 0) {
        cascade_columns(rows, 0, 1, T, 0, nc, lv.data(), out);
    }
    if (nc < N) {
        row_sum_columns(rows, 0, 1, T, nc, N, lv.data(), part.data(), out + nc);
    }
    for (size_t c = 0; c < N; ++c) {
        out[c] = 0.0f + out[c];
    }
}

void maps_normalize(token_maps & maps) {
    if (maps.n_tokens <= 0) {
        return;
    }
    const size_t               n = (size_t) maps.gh * maps.gw;
    std::vector<const float *> rows(maps.n_tokens);
    for (int k = 0; k < maps.n_tokens; ++k) {
        rows[k] = maps.map(k);
    }
    // attentions.mean(dim=0): ATen's float32 cascade sum over T, then one division by T (as torch 1.13's CPU mean)
    std::vector<float> mean(n);
    aten_sum_rows(rows.data(), maps.n_tokens, n, mean.data());
    for (size_t i = 0; i < n; ++i) {
        mean[i] /= (float) maps.n_tokens;
    }
    for (int k = 0; k < maps.n_tokens; ++k) {
        float * m = maps.map(k);
        for (size_t i = 0; i < n; ++i) {
            m[i] -= mean[i];
        }
    }
}

std::vector<float> maps_group_mean(const token_maps & maps, const std::vector<int> & tokens) {
    const size_t       n = (size_t) maps.gh * maps.gw;
    std::vector<float> out;
    if (tokens.empty()) {
        return out;
    }
    std::vector<const float *> rows;
    rows.reserve(tokens.size());
    for (int k : tokens) {
        if (k < 0 || k >= maps.n_tokens) {
            fail("phrase grouping: token index %d outside the %d output tokens", k, maps.n_tokens);
        }
        rows.push_back(maps.map(k));
    }
    // attentions[tokens].mean(dim=0): the gathered rows are a contiguous [n_tokens, gh, gw] tensor, summed as above
    out.resize(n);
    aten_sum_rows(rows.data(), (int64_t) rows.size(), n, out.data());
    for (size_t i = 0; i < n; ++i) {
        out[i] /= (float) tokens.size();
    }
    return out;
}

void maps_remove_corner(std::vector<phrase_map> & phrases, int gh, int gw) {
    // gcg.py: min_value = group_scores.min(); group_scores[:, 0, 0] = ... = min_value (one minimum for all phrases)
    bool  any = false;
    float mn  = 0.0f;
    for (const phrase_map & p : phrases) {
        if (p.empty) {
            continue;
        }
        for (float v : p.grid) {
            mn  = any ? std::min(mn, v) : v;
            any = true;
        }
    }
    if (!any) {
        return;
    }
    for (phrase_map & p : phrases) {
        if (p.empty) {
            continue;
        }
        p.grid[0]                              = mn;
        p.grid[(size_t) gw - 1]                = mn;
        p.grid[(size_t) (gh - 1) * gw]         = mn;
        p.grid[(size_t) (gh - 1) * gw + gw - 1] = mn;
    }
}

upsample_geometry maps_upsample_geometry(int width, int height, map_aspect aspect) {
    if (width <= 0 || height <= 0) {
        fail("upsampling: invalid image size %dx%d", width, height);
    }
    upsample_geometry g;
    g.width  = width;
    g.height = height;
    if (aspect == map_aspect::pad) {
        // gcg.py: upsample_size = max(H, W); crop_h_start = (upsample_size - H) // 2; crop_w_start likewise
        const int side = std::max(width, height);
        g.out_w = g.out_h = side;
        g.x0              = (side - width) / 2;
        g.y0              = (side - height) / 2;
    } else {
        g.out_w = width;
        g.out_h = height;
    }
    return g;
}

upsample_geometry maps_upsample_geometry(int width, int height, const grid_rect & rect) {
    if (width <= 0 || height <= 0) {
        fail("upsampling: invalid image size %dx%d", width, height);
    }
    if (rect.w <= 0 || rect.h <= 0) {
        fail("upsampling: the grid covers an empty rectangle (%dx%d)", rect.w, rect.h);
    }
    upsample_geometry g;
    g.width  = width;
    g.height = height;
    g.out_w  = rect.w;
    g.out_h  = rect.h;
    g.x0     = -rect.x;
    g.y0     = -rect.y;
    return g;
}

upsample_geometry maps_upsample_geometry(int width, int height, const maps_params & params) {
    return params.aspect == map_aspect::rect ? maps_upsample_geometry(width, height, params.rect)
                                             : maps_upsample_geometry(width, height, params.aspect);
}

std::vector<float> maps_upsample(const float * grid, int gh, int gw, int width, int height, map_aspect aspect) {
    return maps_upsample(grid, gh, gw, maps_upsample_geometry(width, height, aspect));
}

std::vector<float> maps_upsample(const float * grid, int gh, int gw, const upsample_geometry & g) {
    return torch_interpolate_window(grid, 1, gh, gw, g.out_h, g.out_w, g.x0, g.y0, g.width, g.height,
                                    interp_mode::bicubic);
}

void argmax_2d(const float * v, int w, int h, int * x, int * y, float * peak) {
    size_t       best = 0;
    const size_t n    = (size_t) w * h;
    for (size_t i = 1; i < n; ++i) {
        if (v[i] > v[best]) {  // strict: the first maximum wins, as torch.argmax
            best = i;
        }
    }
    *x    = (int) (best % (size_t) w);
    *y    = (int) (best / (size_t) w);
    *peak = n > 0 ? v[best] : 0.0f;
}

void maps_argmax(const float * grid, int gh, int gw, int width, int height, map_aspect aspect, int * x, int * y,
                 float * peak) {
    maps_argmax(grid, gh, gw, maps_upsample_geometry(width, height, aspect), x, y, peak);
}

void maps_argmax(const float * grid, int gh, int gw, const upsample_geometry & g, int * x, int * y, float * peak) {
    const int width = g.width, height = g.height;
    // bands of about 4 M values; each band holds identical values to the full upsampling
    const int band = (int) std::max<int64_t>(1, std::min<int64_t>(height, (int64_t) (1 << 22) / width));
    bool      have = false;
    for (int r0 = 0; r0 < height; r0 += band) {
        const int          rows = std::min(band, height - r0);
        std::vector<float> part = torch_interpolate_window(grid, 1, gh, gw, g.out_h, g.out_w, g.x0, g.y0 + r0, width,
                                                           rows, interp_mode::bicubic);
        int   bx, by;
        float bv;
        argmax_2d(part.data(), width, rows, &bx, &by, &bv);
        if (!have || bv > *peak) {  // strict: an equal value in a later band comes later in row-major order
            *x    = bx;
            *y    = r0 + by;
            *peak = bv;
            have  = true;
        }
    }
}

maps_result maps_ground(const token_maps & maps, const std::vector<std::vector<int>> & groups, int width, int height,
                        const maps_params & params) {
    maps.validate();
    if (width <= 0 || height <= 0) {
        fail("attend-and-segment: invalid image size %dx%d", width, height);
    }
    maps_result res;
    res.gh     = maps.gh;
    res.gw     = maps.gw;
    res.width  = width;
    res.height = height;
    res.params = params;
    const upsample_geometry geom = maps_upsample_geometry(width, height, params);

    const token_maps * src = &maps;
    token_maps         normalized;
    if (params.normalize) {
        normalized = maps;
        maps_normalize(normalized);
        src = &normalized;
    }

    const size_t n = (size_t) maps.gh * maps.gw;
    res.phrases.resize(groups.size());
    for (size_t i = 0; i < groups.size(); ++i) {
        phrase_map & p = res.phrases[i];
        p.tokens       = groups[i];
        p.empty        = groups[i].empty();
        p.grid         = p.empty ? std::vector<float>(n, 0.0f) : maps_group_mean(*src, groups[i]);
    }
    if (params.remove_corner) {
        maps_remove_corner(res.phrases, maps.gh, maps.gw);
    }
    int n_empty = 0;
    for (phrase_map & p : res.phrases) {
        if (p.empty) {
            ++n_empty;
            continue;
        }
        if (params.keep_upsampled) {
            p.upsampled = maps_upsample(p.grid.data(), maps.gh, maps.gw, geom);
            argmax_2d(p.upsampled.data(), width, height, &p.x, &p.y, &p.peak);
        } else {
            maps_argmax(p.grid.data(), maps.gh, maps.gw, geom, &p.x, &p.y, &p.peak);
        }
    }
    if (n_empty > 0) {
        GLM_LOG_WARN("attend-and-segment: %d of %zu phrases span no output token (no map, no point)\n", n_empty,
                     groups.size());
    }
    return res;
}

}  // namespace glm
