// Unit tests of src/image: Pillow-exact resampling against Pillow 9.4 outputs (tests/data/pil-resize, written
// by its make.py), padding geometry, normalisation and decoding errors.
#include "common.h"
#include "image.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace glm;

static const std::string k_data = std::string(GLM_SOURCE_DIR) + "/tests/data/pil-resize/";

TEST(Image, PilResizeMatchesPillow) {
    const nlohmann::json cases = nlohmann::json::parse(std::ifstream(k_data + "cases.json"));
    const image_u8       src   = image_load(k_data + cases["source"].get<std::string>());
    int                  n     = 0;
    for (const auto & c : cases["cases"]) {
        const image_u8 want = image_load(k_data + c["file"].get<std::string>());
        const pil_filter f  = c["filter"] == "bicubic" ? pil_filter::bicubic : pil_filter::bilinear;
        const image_u8 got  = pil_resize(src, c["w"], c["h"], f);
        ASSERT_EQ(got.w, want.w);
        ASSERT_EQ(got.h, want.h);
        size_t diff = 0;
        for (size_t i = 0; i < got.rgb.size(); ++i) {
            diff += got.rgb[i] != want.rgb[i];
        }
        EXPECT_EQ(diff, 0u) << c["file"];
        ++n;
    }
    EXPECT_GT(n, 0);
}

TEST(Image, ExpandToSquareGeometry) {
    image_u8 img;
    img.w = 5;
    img.h = 2;
    img.rgb.assign(5 * 2 * 3, 200);
    const uint8_t bg[3] = { 1, 2, 3 };
    pad_geometry  g;
    image_u8      sq = expand_to_square(img, bg, &g);
    EXPECT_EQ(sq.w, 5);
    EXPECT_EQ(sq.h, 5);
    EXPECT_EQ(g.pad_x, 0);
    EXPECT_EQ(g.pad_y, 1);  // (5 - 2) / 2, floored as PIL paste offsets in LLaVA's expand2square
    EXPECT_EQ(sq.at(0, 0)[2], 3);
    EXPECT_EQ(sq.at(0, 1)[0], 200);
    EXPECT_EQ(sq.at(4, 2)[0], 200);
    EXPECT_EQ(sq.at(4, 3)[0], 1);
}

TEST(Image, TorchInterpolateIdentityAndConstant) {
    std::vector<float> x = { 1, 2, 3, 4, 5, 6 };  // [1, 2, 3]
    for (interp_mode m : { interp_mode::bilinear, interp_mode::bicubic }) {
        std::vector<float> y = torch_interpolate(x.data(), 1, 2, 3, 2, 3, m);
        for (size_t i = 0; i < x.size(); ++i) {
            EXPECT_FLOAT_EQ(y[i], x[i]);
        }
        std::vector<float> c(12, 7.0f);
        std::vector<float> z = torch_interpolate(c.data(), 1, 3, 4, 9, 5, m);
        for (float v : z) {
            EXPECT_NEAR(v, 7.0f, 1e-5f);
        }
    }
    // bilinear 2x upsampling of [0, 1]: source coords -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped index)
    std::vector<float> r  = { 0, 1 };
    std::vector<float> up = torch_interpolate(r.data(), 1, 1, 2, 1, 4, interp_mode::bilinear);
    EXPECT_FLOAT_EQ(up[0], 0.0f);
    EXPECT_FLOAT_EQ(up[1], 0.25f);
    EXPECT_FLOAT_EQ(up[2], 0.75f);
    EXPECT_FLOAT_EQ(up[3], 1.0f);
}

TEST(Image, DecodeErrorsNameTheProblem) {
    const uint8_t junk[] = { 'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e' };
    EXPECT_THROW(image_decode(junk, sizeof(junk), "junk.bin"), glm::error);
    EXPECT_THROW(image_decode(junk, 0, "empty.png"), glm::error);
    // a truncated JPEG: SOI + APP0 start only
    const uint8_t jpg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F' };
    EXPECT_THROW(image_decode(jpg, sizeof(jpg), "cut.jpg"), glm::error);
    // a PNG header announcing 100000 x 100000 pixels is refused before decoding
    image_u8 small;
    small.w = 4;
    small.h = 4;
    small.rgb.assign(48, 9);
    std::vector<uint8_t> png = image_encode_png(small);
    auto put_be32 = [&](size_t off, uint32_t v) {
        png[off] = v >> 24; png[off + 1] = v >> 16; png[off + 2] = v >> 8; png[off + 3] = v;
    };
    put_be32(16, 100000);
    put_be32(20, 100000);
    try {
        image_decode(png.data(), png.size(), "huge.png");
        FAIL() << "expected an error";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("exceeds"), std::string::npos) << e.what();
    }
    EXPECT_THROW(image_load("/nonexistent/x.png"), glm::error);
}

TEST(Image, PngRoundTrip) {
    image_u8 img;
    img.w = 3;
    img.h = 2;
    for (int i = 0; i < 18; ++i) {
        img.rgb.push_back((uint8_t) (i * 13));
    }
    std::vector<uint8_t> png = image_encode_png(img);
    image_u8             back = image_decode(png.data(), png.size(), "mem.png");
    EXPECT_EQ(back.w, 3);
    EXPECT_EQ(back.h, 2);
    EXPECT_EQ(back.rgb, img.rgb);
}
