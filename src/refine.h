// refine.h: turning a phrase's point into a mask. The refiner is the last step of attend-and-segment:
//   - sam:    Segment Anything prompted with the point as a positive click, multimask output, keeping mask
//             index 2 like the official code (or the best-scoring one) — the default for real models;
//   - region: point-seeded region growing on colour, for worlds without SAM weights (the toy model).
// A refiner holds per-image state (SAM's cached image embedding): set_image() once, then refine() per point.
// One refiner serves one thread at a time.
#pragma once

#include "image.h"
#include "layout.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace glm {

struct refined_mask {
    int                  w = 0, h = 0;
    std::vector<uint8_t> mask;            // h x w, row-major, 0/1
    float                score = 0.0f;    // SAM's predicted IoU of the kept mask (region: 1)
    int                  index = 0;       // which of the multimask outputs was kept
    std::vector<float>   all_scores;      // the predicted IoU of every candidate (SAM multimask)
    std::vector<std::vector<uint8_t>> all_masks;  // every candidate, when asked (evaluation's --more-masks)
};

// SAM's multimask choice: the official attend-and-segment code keeps index 2 (the largest, "whole object").
enum class mask_select { index2, best };

const char * mask_select_name(mask_select m);
mask_select  mask_select_from_name(const std::string & s);

// What a refiner is asked to refine, in pixels of the image given to set_image: one or more points (label 1
// positive, 0 negative), a box, and/or the phrase's attention map over its grid (with the rectangle of the image the
// grid covers). A refiner uses what it understands and fails naming what it does not.
struct refine_point {
    int x = 0, y = 0;
    int label = 1;
};

struct refine_prompt {
    std::vector<refine_point> points;
    bool                      has_box = false;
    int                       box[4]  = { 0, 0, 0, 0 };  // x0, y0, x1, y1 (pixels, x1/y1 exclusive)
    const float *             map     = nullptr;          // the phrase's grid map, rows x cols (optional)
    int                       map_rows = 0, map_cols = 0;
    grid_rect                 map_rect;                   // the pixels the grid covers (layout.h)
    mask_select               select   = mask_select::index2;  // multimask choice (refiners with one candidate ignore it)
    bool                      keep_all = false;           // also return every candidate

    static refine_prompt point(int x, int y, mask_select select = mask_select::index2, bool keep_all = false);
};

class refiner {
public:
    virtual ~refiner() = default;
    virtual std::string name() const = 0;
    // Prepares for prompts on this image (SAM: runs the image encoder once).
    virtual void set_image(const image_u8 & img) = 0;
    // The mask for a prompt.
    virtual refined_mask refine(const refine_prompt & prompt) = 0;
    // Forgets the image and its state (memory back); the next set_image starts afresh.
    virtual void clear_cache() {}
    // The mask for one positive point (the attend-and-segment prompt).
    refined_mask refine(int x, int y, mask_select select, bool keep_all) {
        return refine(refine_prompt::point(x, y, select, keep_all));
    }
};

// The refiners by name. "sam" needs a SAM model file; "region" is colour region growing (the toy world); "none"
// gives no refiner (points only: a null pointer).
struct refiner_params {
    std::string name;      // sam | region | none; "" = sam when sam_path is set, else none
    std::string sam_path;  // SAM GGUF (groundlmm convert-sam)
};

// The names refiner_create accepts, for help texts and errors.
const std::vector<std::string> & refiner_names();
// "" resolved as documented; throws glm::error for an unknown name or a missing SAM file.
std::string refiner_resolve(const refiner_params & p);

}  // namespace glm
