#include "refine-sam.h"

#include "common.h"

#include <algorithm>

namespace glm {

sam_refiner::sam_refiner(std::shared_ptr<const sam_model> model, compute_backend & backend, const sam_params & params)
    : state_(std::move(model), backend, params) {}

std::string sam_refiner::name() const { return "sam (" + state_.model().path() + ")"; }

void sam_refiner::set_image(const image_u8 & img) { state_.set_image(img); }

refined_mask sam_refiner::refine(int x, int y, mask_select select, bool keep_all) {
    sam_prompt p;
    p.points.push_back({ (float) x, (float) y, 1 });  // SamPredictor.predict(point_coords=[[x, y]], labels=[1])
    p.multimask = true;
    const sam_result r = state_.predict(p);
    if (r.n_masks <= 0) {
        fail("SAM returned no mask");
    }
    refined_mask m;
    m.w          = r.width;
    m.h          = r.height;
    m.all_scores = r.iou;
    // official: masks[2] (the third multimask output); 'best': the highest predicted IoU
    m.index = select == mask_select::index2
                  ? std::min(2, r.n_masks - 1)
                  : (int) (std::max_element(r.iou.begin(), r.iou.end()) - r.iou.begin());
    const size_t n = (size_t) r.width * r.height;
    m.mask.assign(r.masks.begin() + (size_t) m.index * n, r.masks.begin() + (size_t) (m.index + 1) * n);
    m.score = r.iou[(size_t) m.index];
    if (keep_all) {
        for (int i = 0; i < r.n_masks; ++i) {
            m.all_masks.emplace_back(r.masks.begin() + (size_t) i * n, r.masks.begin() + (size_t) (i + 1) * n);
        }
    }
    return m;
}

}  // namespace glm
