// ground.h: stage 2 of attend-and-segment — from an attend result (answer, token spans, per-token maps) to
// grounded phrases: noun phrases and their head nouns, each phrase's tokens (those overlapping its head noun),
// its map (mean of the normalised token maps), the argmax point, and the refiner's mask.
//
// ground() is pure apart from the refiner's per-image state: one call at a time per refiner.
#pragma once

#include "attend.h"
#include "maps.h"
#include "phrases.h"
#include "refine.h"
#include "rle.h"

#include <functional>
#include <string>
#include <vector>

namespace glm {

struct ground_result;

struct ground_params {
    attn_heads  heads      = attn_heads::all;     // which map: layer-and-head mean, the official head H-2, or a set
    head_set    head_sel;                         // the head set when heads == set (head-set.h)
    maps_params maps;                             // normalisation, aspect, corner removal
    bool        aspect_auto = true;               // the grid's rectangle from the image layout (maps.aspect is then
                                                  // set to what it amounts to: pad, original or rect)
    int         grid       = -1;                  // which grid of the layout to point from; -1 = its primary
    std::string grid_role;                        // or by role (layout.h names: base, highres, image, tile): the
                                                  // first grid with it; "" or "primary" = use `grid`
    mask_select select     = mask_select::index2; // SAM multimask choice (official: index 2)
    float       min_score  = 0.0f;   // drop masks whose refiner score is below (0 keeps all)
    bool        keep_empty = true;   // list phrases whose head noun spans no token (no point, no mask)
    bool        more_masks = false;  // keep every SAM candidate (evaluation's --more-masks)
    bool        keep_maps  = false;  // keep each phrase's grid map (heat maps)
    // Streaming (not a setting): called on the calling thread with the result so far and a phrase's index in its
    // `phrases`, first with refined = false for every phrase as soon as all points are known (before the refiner
    // encodes the image: SAM's encoder takes seconds), then with refined = true once that phrase's mask is decided
    // (at once for a phrase that gets no refinement). The phrases are the result's, as they stand at that moment.
    std::function<void(const ground_result & so_far, int index, bool refined)> on_phrase;
};

ground_params ground_default_params();

struct ground_phrase {
    noun_phrase      np;                 // text, span, head noun and its span (bytes into the answer)
    std::vector<int> tokens;             // output tokens overlapping the head noun
    std::string      status = "ok";      // ok | no-tokens (head spans no token) | low-score | no-refiner
    int              x = -1, y = -1;     // the point in image pixels (-1 when no tokens)
    float            peak = 0.0f;        // the upsampled map's value there
    bool             has_mask = false;
    rle              mask;               // COCO RLE of the kept mask (image size)
    float            score = 0.0f;       // refiner score of the kept mask (SAM: predicted IoU)
    int              mask_index = -1;
    std::vector<float> all_scores;       // every candidate's score (SAM multimask)
    std::vector<rle>   all_masks;        // every candidate (only with more_masks)
    std::vector<float> grid;             // [gh, gw] phrase map (only with keep_maps)
};

struct ground_result {
    std::string                answer;
    int                        width = 0, height = 0;
    int                        grid_w = 0, grid_h = 0;  // the grid pointed from
    std::vector<ground_phrase> phrases;
    int                        n_sentences = 0, n_fallback_sentences = 0;
    ground_params              params;    // as used: aspect resolved (aspect_auto false), grid index set
    std::string                refiner;   // "" when no refiner was used (points only)
    double                     t_phrases_s = 0, t_maps_s = 0, t_refine_s = 0;
};

// The attend result and the same image it was computed on. `ref` may be null (points only).
ground_result ground(const attend_result & att, const image_u8 & img, const phrase_chunker & chunker, refiner * ref,
                     const ground_params & params = ground_default_params());
// The same on the answer's phrases chunked beforehand (chunker.chunk(att.out.answer)): several settings of one answer
// chunk it once (t_phrases_s is then 0).
ground_result ground(const attend_result & att, const image_u8 & img, const phrase_result & phrases, refiner * ref,
                     const ground_params & params);

}  // namespace glm
