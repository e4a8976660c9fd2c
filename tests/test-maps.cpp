// test-maps: edge cases of the attend-and-segment post-processing (src/maps.h) that the golden does not cover.
#include "maps.h"

#include "common.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

glm::token_maps random_maps(int T, int gh, int gw, uint32_t seed) {
    glm::token_maps m;
    m.n_tokens = T;
    m.gh       = gh;
    m.gw       = gw;
    m.data.resize((size_t) T * gh * gw);
    std::mt19937                          rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 0.01f);
    for (float & v : m.data) {
        v = u(rng);
    }
    return m;
}

}  // namespace

TEST(maps, single_token_normalises_to_zero_and_points_at_origin) {
    // T = 1: the map minus the mean over one map is all zeros; the argmax of an all-zero map is its first pixel
    // (0, 0), as torch.argmax would give. Callers that want to avoid this meaningless point can check peak == 0.
    const glm::token_maps  m   = random_maps(1, 24, 24, 1);
    const glm::maps_result res = glm::maps_ground(m, { { 0 } }, 64, 48);
    ASSERT_EQ(res.phrases.size(), 1u);
    for (float v : res.phrases[0].grid) {
        EXPECT_EQ(v, 0.0f);
    }
    EXPECT_EQ(res.phrases[0].x, 0);
    EXPECT_EQ(res.phrases[0].y, 0);
    EXPECT_EQ(res.phrases[0].peak, 0.0f);
}

TEST(maps, empty_group_is_flagged_not_fatal) {
    const glm::token_maps m = random_maps(5, 8, 8, 2);
    glm::maps_params      p;
    p.remove_corner    = true;  // the empty phrase must not take part in the corner minimum
    p.keep_upsampled   = true;
    const glm::maps_result res = glm::maps_ground(m, { { 1, 2 }, {}, { 4 } }, 30, 20, p);
    ASSERT_EQ(res.phrases.size(), 3u);
    EXPECT_FALSE(res.phrases[0].empty);
    EXPECT_TRUE(res.phrases[1].empty);
    EXPECT_EQ(res.phrases[1].x, -1);
    EXPECT_EQ(res.phrases[1].y, -1);
    EXPECT_TRUE(res.phrases[1].upsampled.empty());
    EXPECT_EQ(res.phrases[1].grid.size(), 64u);
    EXPECT_FALSE(res.phrases[2].empty);
    EXPECT_GE(res.phrases[2].x, 0);
    // the same result for the other phrases as without the empty one
    const glm::maps_result ref = glm::maps_ground(m, { { 1, 2 }, { 4 } }, 30, 20, p);
    EXPECT_EQ(ref.phrases[0].grid, res.phrases[0].grid);
    EXPECT_EQ(ref.phrases[1].grid, res.phrases[2].grid);
    EXPECT_EQ(ref.phrases[1].x, res.phrases[2].x);
}

TEST(maps, token_index_out_of_range_is_an_error) {
    const glm::token_maps m = random_maps(3, 4, 4, 3);
    EXPECT_THROW(glm::maps_ground(m, { { 0, 3 } }, 10, 10), glm::error);
    EXPECT_THROW(glm::maps_ground(m, { { -1 } }, 10, 10), glm::error);
    EXPECT_THROW(glm::maps_ground(m, { { 0 } }, 0, 10), glm::error);
    glm::token_maps bad = m;
    bad.data.pop_back();
    EXPECT_THROW(glm::maps_ground(bad, { { 0 } }, 10, 10), glm::error);
    bad        = m;
    bad.data[5] = NAN;
    EXPECT_THROW(glm::maps_ground(bad, { { 0 } }, 10, 10), glm::error);
}

TEST(maps, image_smaller_than_grid) {
    // 10 x 7 pixels from a 24 x 24 grid: bicubic downsampling (no antialias, as torch), points inside the image
    const glm::token_maps m = random_maps(6, 24, 24, 4);
    for (glm::map_aspect a : { glm::map_aspect::pad, glm::map_aspect::original }) {
        glm::maps_params p;
        p.aspect         = a;
        p.keep_upsampled = true;
        const glm::maps_result res = glm::maps_ground(m, { { 0 }, { 1, 2, 3 } }, 10, 7, p);
        for (const auto & ph : res.phrases) {
            ASSERT_EQ(ph.upsampled.size(), 70u);
            EXPECT_GE(ph.x, 0);
            EXPECT_LT(ph.x, 10);
            EXPECT_GE(ph.y, 0);
            EXPECT_LT(ph.y, 7);
        }
    }
    // and a 1 x 1 image
    const glm::maps_result one = glm::maps_ground(m, { { 0 } }, 1, 1);
    EXPECT_EQ(one.phrases[0].x, 0);
    EXPECT_EQ(one.phrases[0].y, 0);
}

TEST(maps, streaming_argmax_equals_materialised_on_a_huge_image) {
    // 6000 x 4000 (24 M pixels per phrase): the streamed bands give the same point as the full upsampled map
    const glm::token_maps m = random_maps(4, 24, 24, 5);
    glm::maps_params      p;
    const glm::maps_result streamed = glm::maps_ground(m, { { 0, 1 }, { 2 } }, 6000, 4000, p);
    for (size_t g = 0; g < streamed.phrases.size(); ++g) {
        const auto &             ph   = streamed.phrases[g];
        const std::vector<float> full = glm::maps_upsample(ph.grid.data(), 24, 24, 6000, 4000, glm::map_aspect::pad);
        int                      x, y;
        float                    v;
        glm::argmax_2d(full.data(), 6000, 4000, &x, &y, &v);
        EXPECT_EQ(ph.x, x);
        EXPECT_EQ(ph.y, y);
        EXPECT_EQ(ph.peak, v);
    }
}

TEST(maps, pad_geometry_matches_expand2square) {
    const glm::upsample_geometry g = glm::maps_upsample_geometry(101, 50, glm::map_aspect::pad);
    EXPECT_EQ(g.out_w, 101);
    EXPECT_EQ(g.out_h, 101);
    EXPECT_EQ(g.x0, 0);
    EXPECT_EQ(g.y0, 25);  // (101 - 50) // 2
    const glm::upsample_geometry o = glm::maps_upsample_geometry(101, 50, glm::map_aspect::original);
    EXPECT_EQ(o.out_w, 101);
    EXPECT_EQ(o.out_h, 50);
    EXPECT_EQ(o.x0 + o.y0, 0);
}

TEST(maps, ties_take_the_first_maximum_row_major) {
    std::vector<float> v = { 0, 1, 0, 1, 1, 0 };  // 3 x 2
    int                x, y;
    float              p;
    glm::argmax_2d(v.data(), 3, 2, &x, &y, &p);
    EXPECT_EQ(x, 1);
    EXPECT_EQ(y, 0);
}

// [T, N] maps from a 31-bit LCG, values k * 2^-24 in [0, 1) (exact in float, reproducible in numpy)
static glm::token_maps lcg_maps(int T, int N, uint64_t seed) {
    glm::token_maps m;
    m.n_tokens = T;
    m.gh       = 1;
    m.gw       = N;
    m.data.resize((size_t) T * N);
    for (float & v : m.data) {
        seed = (seed * 1103515245u + 12345u) % 2147483648u;
        v    = (float) (seed >> 7) * 0x1p-24f;
    }
    return m;
}

TEST(maps, token_mean_is_torch_bit_for_bit) {
    // torch 1.13 (CPU, AVX2, 1 thread): torch.from_numpy(lcg_maps(T, N, seed)).mean(0), computed once with
    // /usr/bin/python3. A running float sum differs from these in 1, 1, 5 and 21 values, because ATen's cascade sum
    // adds in another order (see maps.cpp); those last-bit differences moved argmax points of nearly flat maps.
    struct torch_case {
        int                T, N, seed;
        std::vector<float> mean;
    };
    const std::vector<torch_case> cases = {
        { 37, 1, 3, { 0x1.c8660ap-2f } },  // N == 1, T >= 8: 8 lanes, then the tail
        { 7, 1, 1, { 0x1.eab31cp-2f } },   // N == 1, T < 8: row_sum with 4 partial sums
        { 45, 6, 3, { 0x1.1bdf54p-1f, 0x1.fe6fbcp-2f, 0x1.0bce48p-1f, 0x1.081d08p-1f, 0x1.de3056p-2f,
                      0x1.db3aeep-2f } },  // 2 <= N < 8: columns 0-3 cascade, 4-5 row_sum
        { 70, 34, 4, { 0x1.0b3726p-1f, 0x1.094018p-1f, 0x1.d20588p-2f, 0x1.b02716p-2f, 0x1.ecb7eap-2f,
                       0x1.ff3f5p-2f,  0x1.d39254p-2f, 0x1.005d9p-1f,  0x1.0246d8p-1f, 0x1.b7b5cep-2f,
                       0x1.0b1aap-1f,  0x1.0be3cap-1f, 0x1.e7441ap-2f, 0x1.02dcdcp-1f, 0x1.ebbf0ep-2f,
                       0x1.1cf6ap-1f,  0x1.e88d04p-2f, 0x1.0fbea2p-1f, 0x1.08e8bcp-1f, 0x1.d1d58p-2f,
                       0x1.dcb3p-2f,   0x1.fb345p-2f,  0x1.147768p-1f, 0x1.ecc904p-2f, 0x1.e12c96p-2f,
                       0x1.d12eeap-2f, 0x1.ec0dp-2f,   0x1.f12978p-2f, 0x1.113feep-1f, 0x1.31a222p-1f,
                       0x1.ad3eep-2f,  0x1.c69354p-2f, 0x1.e9854ap-2f, 0x1.daed34p-2f } },  // N >= 8: 32 + 2
    };
    for (const torch_case & c : cases) {
        const glm::token_maps m = lcg_maps(c.T, c.N, (uint64_t) c.seed);
        std::vector<int>      all(c.T);
        for (int k = 0; k < c.T; ++k) {
            all[k] = k;
        }
        const std::vector<float> mean = glm::maps_group_mean(m, all);
        ASSERT_EQ(mean.size(), c.mean.size());
        glm::token_maps norm = m;
        glm::maps_normalize(norm);
        int norm_differ = 0;  // normalised values that are not exactly x - torch's mean
        for (int i = 0; i < c.N; ++i) {
            EXPECT_EQ(mean[i], c.mean[i]) << "T=" << c.T << " N=" << c.N << " column " << i;
            for (int k = 0; k < c.T; ++k) {
                norm_differ += norm.map(k)[i] != m.map(k)[i] - c.mean[i];
            }
        }
        EXPECT_EQ(norm_differ, 0) << "T=" << c.T << " N=" << c.N;
    }
}

TEST(maps, tokens_overlapping_is_the_official_test) {
    // tokens " A", " red", " bus", "es", "" (EOS) over "A red buses"
    const std::vector<glm::char_span> toks = { { 0, 1 }, { 1, 5 }, { 5, 9 }, { 9, 11 }, { 11, 11 } };
    EXPECT_EQ(glm::tokens_overlapping(toks, { 6, 11 }), (std::vector<int>{ 2, 3 }));  // "buses"
    EXPECT_EQ(glm::tokens_overlapping(toks, { 2, 5 }), (std::vector<int>{ 1 }));      // "red"
    EXPECT_TRUE(glm::tokens_overlapping(toks, { 11, 11 }).empty());
    EXPECT_TRUE(glm::tokens_overlapping({}, { 0, 3 }).empty());
}
