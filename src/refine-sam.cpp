#include "refine-sam.h"

#include "common.h"

#include <algorithm>

namespace glm {

sam_refiner::sam_refiner(std::shared_ptr<const sam_model> model, compute_backend & backend, const sam_params & params)
    : state_(std::move(model), backend, params) {}

std::string sam_refiner::name() const { return "sam (" + state_.model().path() + ")"; }

void sam_refiner::set_image(const image_u8 & img) {
    if (!last_.empty() && last_.w == img.w && last_.h == img.h && last_.rgb == img.rgb) {
        return;  // the cached embedding is this image's
    }
    last_ = image_u8();  // not valid while encoding (an error leaves no stale cache)
    state_.set_image(img);
    last_ = img;
}

refined_mask sam_refiner::refine(const refine_prompt & q) {
    const mask_select select   = q.select;
    const bool        keep_all = q.keep_all;
    sam_prompt        p;
    for (const refine_point & pt : q.points) {  // SamPredictor.predict(point_coords=[[x, y]], labels=[1])
        p.points.push_back({ (float) pt.x, (float) pt.y, pt.label });
    }
    if (q.has_box) {
        p.has_box = true;
        for (int i = 0; i < 4; ++i) {
            p.box[i] = (float) q.box[i];
        }
    }
    if (p.points.empty() && !p.has_box) {
        fail("sam refiner: the prompt has no point and no box (a map alone is not a SAM prompt)");
    }
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
