// refine-sam.h: the SAM refiner of attend-and-segment — the phrase's point as one positive click,
// multimask_output=True, keeping mask index 2 as the official code does (or the best-scoring mask).
// Holds a sam_state (the cached image embedding; set_image on the same pixels again keeps it): one thread at a time.
#pragma once

#include "refine.h"
#include "sam.h"

#include <memory>

namespace glm {

class sam_refiner : public refiner {
public:
    sam_refiner(std::shared_ptr<const sam_model> model, compute_backend & backend, const sam_params & params = {});

    std::string  name() const override;
    void         set_image(const image_u8 & img) override;
    refined_mask refine(const refine_prompt & prompt) override;
    using refiner::refine;

    void        clear_cache() override { last_ = image_u8(); }
    sam_state & state() { return state_; }

private:
    sam_state state_;
    image_u8  last_;  // the image whose embedding state_ holds: the same image again is not re-encoded
};

}  // namespace glm
