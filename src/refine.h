// refine.h: turning a phrase's point into a mask. The refiner is the last step of attend-and-segment:
//   - sam:    Segment Anything prompted with the point as a positive click, multimask output, keeping mask
//             index 2 like the official code (or the best-scoring one) — the default for real models;
//   - region: point-seeded region growing on colour, for worlds without SAM weights (the toy model).
// A refiner holds per-image state (SAM's cached image embedding): set_image() once, then refine() per point.
// One refiner serves one thread at a time.
#pragma once

#include "image.h"

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

class refiner {
public:
    virtual ~refiner() = default;
    virtual std::string name() const = 0;
    // Prepares for prompts on this image (SAM: runs the image encoder once).
    virtual void set_image(const image_u8 & img) = 0;
    // The mask for a positive point (pixel coordinates of the image given to set_image). `select` picks among
    // multimask candidates (refiners with one candidate ignore it); keep_all also returns every candidate.
    virtual refined_mask refine(int x, int y, mask_select select, bool keep_all) = 0;
};

}  // namespace glm
