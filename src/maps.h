// maps.h: attend-and-segment post-processing, from per-token attention maps to one map and one point per phrase,
// exactly as the official code (github Shengcao-Cao/groundLMM, aas/gcg.py, aas/instance_seg.py, aas/utils.py):
//
//   per-token maps [T, gh, gw]                      (the attention tap; T output tokens, gh x gw image-token grid)
//   -> normalise: subtract the mean map over all T output tokens        (attentions - attentions.mean(dim=0))
//   -> group: a phrase's map is the mean of the normalised maps of its tokens      (attentions[tokens].mean(0))
//   -> optional corner removal: the 4 corner cells of every phrase map set to the minimum over ALL phrase maps
//      (group_scores.min(), one value for the whole [G, gh, gw] stack; official flag --remove-corner, off by default)
//   -> bicubic upsampling, bit-for-bit as torch F.interpolate(mode="bicubic", align_corners=False), A = -0.75,
//      clamped borders: 'pad' (default) to the padded square of side max(H, W), then the image's window at
//      ((side-W)/2, (side-H)/2) (floor; the same offsets as LLaVA's expand2square); 'original' straight to H x W
//   -> point: argmax of the upsampled map, first maximum in row-major order (torch.argmax), as (x, y) pixels of the
//      original image.
//
// Token/map alignment (see docs/outputs.md, "Token and map alignment"): map k of token_maps is the attention row of
// the query that PREDICTS output token k, i.e. the row of the position just before token k (for k = 0 the last
// prompt position). This is what the official code pairs with token k when its `--offset 1` strips the BOS token
// that transformers <= 4.37 (the version LLaVA pins) put in front of the generated ids.
//
// Grouping by characters: a phrase's tokens are the output tokens whose character span overlaps the span of the
// phrase's head (root) noun: token_begin < head_end && token_end > head_begin (utils.py group_tokens). All spans here
// are byte offsets into the same UTF-8 text; the overlap test is the same whatever the unit, as long as both sides
// use the same one.
//
// Deviations from the official code, all in cases where it produces NaN: a phrase with no token (its head noun spans
// no output token) gets an all-zero map, no point (x = y = -1) and `empty = true`, and is left out of the corner
// minimum; PyTorch would give a NaN map and a meaningless point.
//
// Thread safety: every function is pure (inputs by const reference, results by value) and may be called from many
// threads at once.
#pragma once

#include "layout.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

// How the grid maps onto a non-square image.
enum class map_aspect {
    pad,       // the grid covers the padded square (LLaVA-1.5 'pad' preprocessing): upsample to side, crop the image
    original,  // the grid covers the image stretched (resize/crop preprocessing): upsample straight to H x W
    rect,      // the grid covers maps_params::rect (from the vision model's image layout, layout.h)
};

const char * map_aspect_name(map_aspect a);              // "pad" / "original" / "rect"
map_aspect   map_aspect_from_name(const std::string & s);  // throws glm::error on anything else

// User settings of the post-processing. Defaults are the official code's defaults.
struct maps_params {
    map_aspect aspect         = map_aspect::pad;  // official --aspect-ratio (default 'pad')
    grid_rect  rect;                              // with aspect = rect: the image pixels the grid covers
    bool       normalize      = true;   // subtract the mean map over all output tokens (official: always)
    bool       remove_corner  = false;  // official --remove-corner: corner cells := min over all phrase maps
    bool       keep_upsampled = false;  // keep each phrase's H x W map in the result (4*H*W bytes per phrase);
                                        // without it the point is found streaming, in bands of rows
};

maps_params maps_default_params();

// Per-token attention maps over the image-token grid, as the attention tap produces them.
struct token_maps {
    int                n_tokens = 0;  // T: output tokens (map k belongs to output token k, see above)
    int                gh       = 0;  // grid rows (24 for LLaVA-1.5 at 336 px / 14 px patches)
    int                gw       = 0;  // grid columns
    std::vector<float> data;          // [T, gh, gw] row-major

    const float * map(int k) const { return data.data() + (size_t) k * gh * gw; }
    float *       map(int k) { return data.data() + (size_t) k * gh * gw; }
    // Throws glm::error when sizes disagree or a value is not finite.
    void          validate(const char * what = "token maps") const;
};

// A half-open span [begin, end) of byte offsets into a UTF-8 text.
struct char_span {
    int begin = 0;
    int end   = 0;
};

// Indices (ascending) of the tokens whose span overlaps `target`: tok.begin < target.end && tok.end > target.begin,
// exactly the official group_tokens test (so an empty token strictly inside the target counts, one at its edge not).
std::vector<int> tokens_overlapping(const std::vector<char_span> & token_spans, char_span target);

// One phrase's map and point.
struct phrase_map {
    std::vector<int>   tokens;        // the output tokens averaged (as given)
    bool               empty = true;  // no token: grid all zero, no point
    std::vector<float> grid;          // [gh, gw] mean of the normalised maps (after corner removal, if enabled)
    std::vector<float> upsampled;     // [H, W], only with maps_params::keep_upsampled and !empty
    int                x    = -1;     // argmax column in original image pixels, -1 when empty
    int                y    = -1;     // argmax row, -1 when empty
    float              peak = 0.0f;   // the upsampled map's value at (x, y)
};

struct maps_result {
    int                     gh = 0, gw = 0;          // grid
    int                     width = 0, height = 0;   // original image size (pixels)
    maps_params             params;                  // the settings used
    std::vector<phrase_map> phrases;                 // one per group, in the order given
};

// The whole post-processing: normalise `maps` (if params.normalize), average each group's tokens, remove corners (if
// enabled), upsample to the image and take the argmax. Token indices must lie in [0, T); image sizes must be > 0.
maps_result maps_ground(const token_maps & maps, const std::vector<std::vector<int>> & groups, int width, int height,
                        const maps_params & params = maps_default_params());

// ---- the steps, for tests and for callers that need intermediate results -------------------------------------

// In place: subtract the mean over the T maps from every map. T = 1 gives all zeros (the argmax of an all-zero map
// is then the first pixel, (0, 0)); T = 0 is a no-op.
void maps_normalize(token_maps & maps);

// Mean of the given maps, [gh * gw]; empty `tokens` gives an empty vector. Indices out of range throw glm::error.
std::vector<float> maps_group_mean(const token_maps & maps, const std::vector<int> & tokens);

// out[c] = sum over t < T of rows[t][c] (c < N), float32, added in exactly the order of torch 1.13's CPU
// x.sum(dim=0) on a contiguous float32 [T, N] tensor (ATen's cascade sum, AVX2 build, one thread; see maps.cpp). The
// means above are this sum divided by T, as torch's mean; a running sum differs by ~1e-9, enough to move the first
// maximum of a nearly flat upsampled map.
void aten_sum_rows(const float * const * rows, int64_t T, size_t N, float * out);

// Corner removal over the non-empty phrases of `phrases` (grids of gh x gw), as the official --remove-corner.
void maps_remove_corner(std::vector<phrase_map> & phrases, int gh, int gw);

// Where the image lies in the interpolation output: the output is out_w x out_h and the image is the window at
// (x0, y0) of size width x height.
struct upsample_geometry {
    int out_w = 0, out_h = 0;
    int x0 = 0, y0 = 0;
    int width = 0, height = 0;
};
upsample_geometry maps_upsample_geometry(int width, int height, map_aspect aspect);
// The same from a grid's rectangle (layout.h): the grid is upsampled to rect.w x rect.h, the image is the window at
// (-rect.x, -rect.y). rect_padded_square(W, H) gives exactly the 'pad' geometry, (0, 0, W, H) the 'original' one.
upsample_geometry maps_upsample_geometry(int width, int height, const grid_rect & rect);
// From the settings: aspect pad / original, or params.rect.
upsample_geometry maps_upsample_geometry(int width, int height, const maps_params & params);

// The [height, width] upsampled (and cropped) map of one [gh, gw] grid.
std::vector<float> maps_upsample(const float * grid, int gh, int gw, int width, int height, map_aspect aspect);
std::vector<float> maps_upsample(const float * grid, int gh, int gw, const upsample_geometry & g);

// First maximum, row-major, of the upsampled map, computed in bands of rows without materialising it all.
void maps_argmax(const float * grid, int gh, int gw, int width, int height, map_aspect aspect, int * x, int * y,
                 float * peak);
void maps_argmax(const float * grid, int gh, int gw, const upsample_geometry & g, int * x, int * y, float * peak);

// First maximum (row-major) of a [h, w] map.
void argmax_2d(const float * v, int w, int h, int * x, int * y, float * peak);

}  // namespace glm
