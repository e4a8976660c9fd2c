// maps.cpp: attend-and-segment post-processing (see maps.h for the reference lines each step mirrors).
#include "maps.h"

#include "common.h"
#include "image.h"

#include <algorithm>
#include <cmath>

namespace glm {

const char * map_aspect_name(map_aspect a) {
    return a == map_aspect::pad ? "pad" : "original";
}

map_aspect map_aspect_from_name(const std::string & s) {
    if (s == "pad") {
        return map_aspect::pad;
    }
    if (s == "original") {
        return map_aspect::original;
    }
    fail("aspect mode: expected 'pad' or 'original', got '%s'", s.c_str());
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

void maps_normalize(token_maps & maps) {
    if (maps.n_tokens <= 0) {
        return;
    }
    const size_t       n = (size_t) maps.gh * maps.gw;
    std::vector<float> mean(n, 0.0f);
    // attentions.mean(dim=0): a float32 sum over T, then one division (the error is far below 1e-6 for T < 10^4)
    for (int k = 0; k < maps.n_tokens; ++k) {
        const float * m = maps.map(k);
        for (size_t i = 0; i < n; ++i) {
            mean[i] += m[i];
        }
    }
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
    out.assign(n, 0.0f);
    for (int k : tokens) {
        if (k < 0 || k >= maps.n_tokens) {
            fail("phrase grouping: token index %d outside the %d output tokens", k, maps.n_tokens);
        }
        const float * m = maps.map(k);
        for (size_t i = 0; i < n; ++i) {
            out[i] += m[i];
        }
    }
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

std::vector<float> maps_upsample(const float * grid, int gh, int gw, int width, int height, map_aspect aspect) {
    const upsample_geometry g = maps_upsample_geometry(width, height, aspect);
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
    const upsample_geometry g = maps_upsample_geometry(width, height, aspect);
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
            p.upsampled = maps_upsample(p.grid.data(), maps.gh, maps.gw, width, height, params.aspect);
            argmax_2d(p.upsampled.data(), width, height, &p.x, &p.y, &p.peak);
        } else {
            maps_argmax(p.grid.data(), maps.gh, maps.gw, width, height, params.aspect, &p.x, &p.y, &p.peak);
        }
    }
    if (n_empty > 0) {
        GLM_LOG_WARN("attend-and-segment: %d of %zu phrases span no output token (no map, no point)\n", n_empty,
                     groups.size());
    }
    return res;
}

}  // namespace glm
