// Unit tests of the region-growing refiner on toy-world scenes: IoU of the grown region with the ground-truth
// visible mask of the object under the seed point.
#include "common.h"
#include "refine-region.h"
#include "toy/world.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace glm;
using namespace glm::toy;

namespace {

double iou(const std::vector<uint8_t> & a, const std::vector<uint8_t> & b) {
    int64_t inter = 0, uni = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        inter += a[i] && b[i];
        uni += a[i] || b[i];
    }
    return uni ? (double) inter / uni : 0.0;
}

}  // namespace

TEST(RegionRefiner, ToyWorldObjects) {
    const world_params p;
    region_refiner     ref;
    int                n = 0, n50 = 0, n80 = 0;
    double             sum = 0.0;
    for (int i = 0; i < 300; ++i) {
        const world_scene s = world_generate(p, 77, world_split::test, i);
        ref.set_image(s.img);
        for (const auto & o : s.objects) {
            const int          seed = world_mask_inner_point(o.mask, s.img.w);
            ASSERT_TRUE(o.mask[seed]);
            const refined_mask r    = ref.refine(seed % s.img.w, seed / s.img.w, mask_select::index2, false);
            ASSERT_EQ(r.w, s.img.w);
            ASSERT_EQ(r.h, s.img.h);
            const double v = iou(r.mask, o.mask);
            sum += v;
            n50 += v >= 0.5;
            n80 += v >= 0.8;
            ++n;
        }
    }
    printf("region refiner on %d objects: mean IoU %.3f, IoU >= 0.5: %.3f, IoU >= 0.8: %.3f\n", n, sum / n,
           (double) n50 / n, (double) n80 / n);
    EXPECT_GT(sum / n, 0.85);
    EXPECT_GT((double) n50 / n, 0.95);
}

TEST(RegionRefiner, ExactOnFlatShapes) {
    image_u8 img;
    img.w = img.h = 32;
    img.rgb.assign(32 * 32 * 3, 100);
    std::vector<uint8_t> gt(32 * 32, 0);
    for (int y = 8; y < 20; ++y) {
        for (int x = 5; x < 25; ++x) {
            uint8_t * px = img.at(x, y);
            px[0] = 220, px[1] = 30, px[2] = 30;
            gt[y * 32 + x] = 1;
        }
    }
    const std::vector<uint8_t> m = region_grow(img, 10, 10);
    EXPECT_EQ(m, gt);
    // deterministic, and the background seed gives the complement with a low score
    region_refiner r;
    r.set_image(img);
    const refined_mask bg = r.refine(0, 0, mask_select::best, true);
    EXPECT_EQ(bg.all_masks.size(), 1u);
    for (size_t i = 0; i < gt.size(); ++i) {
        ASSERT_EQ(bg.mask[i], 1 - gt[i]);
    }
    EXPECT_LT(bg.score, 0.5f);
    EXPECT_EQ(region_grow(img, 10, 10), m);
}

TEST(RegionRefiner, BadInput) {
    region_refiner r;
    EXPECT_THROW(r.refine(0, 0, mask_select::best, false), glm::error);
    image_u8 img;
    img.w = img.h = 4;
    img.rgb.assign(4 * 4 * 3, 0);
    r.set_image(img);
    EXPECT_THROW(r.refine(4, 0, mask_select::best, false), glm::error);
    region_params bad;
    bad.threshold = -1;
    EXPECT_THROW(region_refiner{ bad }, glm::error);
}
