// refine-region.h: a classical refiner for worlds without SAM weights (the toy world): point-seeded region
// growing on colour.
//   1. smoothing: a per-channel median over a (2r+1)^2 window removes pixel noise and texture speckle while
//      keeping object edges;
//   2. growing: 4-connected flood fill from the seed over pixels whose smoothed colour is within `threshold`
//      (RGB distance) of the seed's smoothed colour and whose raw colour is within `edge_threshold` (so that
//      the median cannot carry the fill across a corner it rounded off);
//   3. edge repair: `edge_passes` rounds add 4-neighbours of the region whose raw colour is within
//      `edge_threshold` of the seed colour (the median eats a pixel at corners and thin parts).
// Deterministic, no learned weights. score = 1 - (region area / image area): a seed on the background grows
// into a large region and scores low. set_image() keeps the smoothed image; one thread at a time.
#pragma once

#include "refine.h"

namespace glm {

struct region_params {
    int   smooth_radius  = 1;      // median window radius (pixels); 0 = no smoothing
    float threshold      = 40.0f;  // max RGB distance (grey levels, Euclidean) of smoothed pixels to the seed colour
    int   edge_passes    = 2;      // rounds of edge repair on the raw image; 0 = none
    float edge_threshold = 48.0f;  // max RGB distance of raw pixels added by edge repair
};

region_params region_default_params();

class region_refiner : public refiner {
public:
    explicit region_refiner(const region_params & params = region_default_params());

    std::string  name() const override;
    void         set_image(const image_u8 & img) override;
    refined_mask refine(const refine_prompt & prompt) override;
    using refiner::refine;
    void         clear_cache() override { raw_ = smooth_ = image_u8(); }

private:
    region_params params_;
    image_u8      raw_, smooth_;
};

// The same as one call: grows the region of (x, y) in img.
std::vector<uint8_t> region_grow(const image_u8 & img, int x, int y, const region_params & params = region_default_params());

}  // namespace glm
