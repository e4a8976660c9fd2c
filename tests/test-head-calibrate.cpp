// Unit tests of the label-free head selection (src/head-calibrate.h): spatial entropy of connected components, the
// elbow of sorted masses, and the calibrator on hand-made per-head maps whose answer is known: the focused head
// with much attention on the image wins, a diffuse or image-shy head does not, skipped layers never do.
#include "head-calibrate.h"
#include "common.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace glm;

static std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const glm::error & e) {
        return e.what();
    }
    return "";
}

TEST(HeadCalibrate, SpatialEntropy) {
    // one blob: 0
    std::vector<float> m(16, 0.0f);
    m[5] = m[6] = m[9] = 1.0f;
    EXPECT_DOUBLE_EQ(spatial_entropy(m.data(), 4, 4), 0.0);
    // a diagonal neighbour joins the blob (8-connectivity)
    m[10] = 0.0f;
    m[15] = 0.0f;
    m[0]  = 1.0f;  // (0,0) touches (1,1) = cell 5 diagonally
    EXPECT_DOUBLE_EQ(spatial_entropy(m.data(), 4, 4), 0.0);
    // two components of sizes 1 and 3: -(1/4 ln 1/4 + 3/4 ln 3/4)
    std::vector<float> t(16, 0.0f);
    t[0] = 1.0f;
    t[11] = t[14] = t[15] = 1.0f;
    EXPECT_NEAR(spatial_entropy(t.data(), 4, 4), -(0.25 * std::log(0.25) + 0.75 * std::log(0.75)), 1e-12);
    // only cells above the mean count: a constant map has none
    std::vector<float> c(16, 0.3f);
    EXPECT_TRUE(std::isinf(spatial_entropy(c.data(), 4, 4)));
}

TEST(HeadCalibrate, Elbow) {
    EXPECT_EQ(elbow_index({ 1.0, 0.9, 0.85, 0.1, 0.05, 0.0 }), 3);  // where the steep part ends
    EXPECT_EQ(elbow_index({ 0.5, 0.4 }), 1);                         // too few: everything passes
    EXPECT_EQ(elbow_index({ 0.3, 0.3, 0.3 }), 2);                    // flat: everything passes
}

// A stage-1 result of L layers x H heads on a 4x4 grid, `rows` output tokens, every head's map given by fill().
static attend_result fake_result(int L, int H, int rows, const std::function<void(int l, int h, float * map)> & fill) {
    attend_result r;
    r.layout           = image_layout::single(4, 4, { 0, 0, 64, 64 });
    r.grid_w           = 4;
    r.grid_h           = 4;
    attn_maps & m      = r.out.maps;
    m.n_layer          = L;
    m.n_head           = H;
    m.n_img            = 16;
    m.n_rows           = rows;
    m.full.assign((size_t) rows * L * H * 16, 0.0f);
    for (int k = 0; k < rows; ++k) {
        for (int l = 0; l < L; ++l) {
            for (int h = 0; h < H; ++h) {
                fill(l, h, &m.full[(((size_t) k * L + l) * H + h) * 16]);
            }
        }
    }
    return r;
}

TEST(HeadCalibrate, ChoosesTheFocusedImageHead) {
    // layer 0 head 0: focused with the most image mass, but layer 0 is skipped
    // layer 1 head 0: much mass, spread over two far-apart blobs (entropy ln 2)
    // layer 1 head 1: much mass, one blob (entropy 0)  <- the answer
    // layer 2 heads: little mass (image-shy), one blob each
    const attend_result r = fake_result(3, 2, 2, [](int l, int h, float * map) {
        if (l == 0 && h == 0) {
            map[5] = 0.95f;
        } else if (l == 1 && h == 0) {
            map[0] = map[15] = 0.45f;
        } else if (l == 1 && h == 1) {
            map[5] = map[6] = 0.45f;
        } else {
            map[10] = 0.05f + 0.01f * h;
        }
    });
    head_calib_params p;
    p.skip_layers = 1;
    p.per_sample  = 1;
    p.k           = 1;
    head_calibrator cal(3, 2, p);
    cal.add(r, { 0 });
    cal.add(r, { 0, 1 });
    const head_calib_result res = cal.finish();
    EXPECT_EQ(res.n_samples, 2);
    ASSERT_EQ(res.heads.size(), 1u);
    EXPECT_EQ(res.heads[0], (head_pair{ 1, 1 }));
    EXPECT_EQ(res.counts[1 * 2 + 1], 2);
    EXPECT_EQ(res.counts[1 * 2 + 0], 0);
    EXPECT_TRUE(std::isnan(res.mean_mass[0]));  // skipped
    EXPECT_NEAR(res.mean_mass[1 * 2 + 1], 0.9, 1e-6);
    EXPECT_NEAR(res.mean_entropy[1 * 2 + 0], std::log(2.0), 1e-6);
    // sorted masses 0.9, 0.9, 0.06, 0.05: the elbow is the first low value (tau = 0.06, Kang's S_img >= tau), so
    // head 2.1 passes but loses to 1.1 on mass at equal entropy; head 2.0 is below the elbow
    EXPECT_NEAR(res.tau, 0.06, 1e-6);
    const nlohmann::json counts = res.counts_json();
    ASSERT_EQ(counts.size(), 4u);  // layers 1 and 2
    for (const auto & c : counts) {
        const bool below = c.at("layer").get<int>() == 2 && c.at("head").get<int>() == 0;
        EXPECT_EQ(c.at("passes_tau").get<bool>(), !below) << c.dump();
    }
    // k = 2 adds the diffuse head, the next by count then mass
    p.k = 2;
    head_calibrator cal2(3, 2, p);
    cal2.add(r, { 0 });
    EXPECT_EQ(cal2.finish().heads, (std::vector<head_pair>{ { 1, 1 }, { 1, 0 } }));
}

TEST(HeadCalibrate, BadInput) {
    head_calib_params p;
    p.skip_layers = 2;
    EXPECT_NE(error_of([&] { head_calibrator(2, 4, p); }).find("leaves no layer of a 2-layer model"), std::string::npos);
    p.skip_layers = 0;
    p.k           = 9;
    EXPECT_NE(error_of([&] { head_calibrator(2, 4, p); }).find("k = 9, expected 1..8"), std::string::npos);
    p.k          = 1;
    p.per_sample = 9;
    EXPECT_NE(error_of([&] { head_calibrator(2, 4, p); }).find("per-sample count 9, expected 1..8"), std::string::npos);
    p.per_sample = 2;
    head_calibrator cal(2, 4, p);
    EXPECT_NE(error_of([&] { cal.finish(); }).find("no samples"), std::string::npos);
    attend_result r = fake_result(2, 4, 1, [](int, int, float * map) { map[0] = 1.0f; });
    EXPECT_NE(error_of([&] { cal.add(r, { 3 }); }).find("row 3 out of range"), std::string::npos);
    r.out.maps.full.clear();
    EXPECT_NE(error_of([&] { cal.add(r, { 0 }); }).find("attn_heads dump"), std::string::npos);
}
