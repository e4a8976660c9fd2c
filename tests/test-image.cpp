// Unit tests of src/image: Pillow-exact resampling against Pillow 9.4 outputs (tests/data/pil-resize, written
// by its make.py), padding geometry, normalisation and decoding errors.
#include "common.h"
#include "image.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include <jpeglib.h>

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

// A PNG whose chunk fails its CRC, or is cut, gets an error that says so (not stb's chunk-type riddle).
TEST(Image, CorruptPngSaysWhatIsWrong) {
    image_u8 img;
    img.w = 16;
    img.h = 16;
    img.rgb.assign(16 * 16 * 3, 77);
    const std::vector<uint8_t> good = image_encode_png(img);
    const size_t               idat = 8 + 25 + 4;  // signature, IHDR chunk, then IDAT's length: its type
    ASSERT_EQ(std::string((const char *) good.data() + idat, 4), "IDAT");
    std::vector<uint8_t> bad = good;
    bad[idat + 6] ^= 0x55;  // a data byte of IDAT
    try {
        image_decode(bad.data(), bad.size(), "corrupt_crc.png");
        FAIL() << "expected an error";
    } catch (const glm::error & e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("corrupt_crc.png: corrupt PNG: chunk 'IDAT'"), std::string::npos) << m;
        EXPECT_NE(m.find("CRC"), std::string::npos) << m;
    }
    try {
        image_decode(good.data(), good.size() - 20, "cut.png");
        FAIL() << "expected an error";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("PNG truncated"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(image_decode(good.data(), good.size(), "good.png"));
    // image_verify: the same checks without keeping pixels
    EXPECT_NO_THROW(image_verify(good.data(), good.size(), "good.png"));
    EXPECT_THROW(image_verify(bad.data(), bad.size(), "corrupt_crc.png"), glm::error);
    EXPECT_THROW(image_verify(good.data(), good.size(), "big.png", 255), glm::error);
}

static std::vector<uint8_t> encode_jpeg(const image_u8 & img) {
    jpeg_compress_struct c;
    jpeg_error_mgr       err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char * buf = nullptr;
    unsigned long   n   = 0;
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width      = img.w;
    c.image_height     = img.h;
    c.input_components = 3;
    c.in_color_space   = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW) img.at(0, (int) c.next_scanline);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::vector<uint8_t> out(buf, buf + n);
    free(buf);
    return out;
}

// A truncated JPEG decodes as libjpeg (and Pillow with LOAD_TRUNCATED_IMAGES) fills it, with a warning.
TEST(Image, TruncatedJpegWarns) {
    image_u8 img;
    img.w = 64;
    img.h = 64;
    for (int i = 0; i < 64 * 64 * 3; ++i) {
        img.rgb.push_back((uint8_t) (i * 7));
    }
    const std::vector<uint8_t> jpg = encode_jpeg(img);
    std::vector<std::string>   warnings;
    log_set([](log_level l, const char * text, void * u) {
        if (l == log_level::warn) {
            ((std::vector<std::string> *) u)->push_back(text);
        }
    }, &warnings);
    const image_u8 whole = image_decode(jpg.data(), jpg.size(), "whole.jpg");
    EXPECT_TRUE(warnings.empty());
    const image_u8 cut = image_decode(jpg.data(), jpg.size() * 6 / 10, "truncated.jpg");
    image_verify(jpg.data(), jpg.size() * 6 / 10, "truncated.jpg");
    log_set(nullptr, nullptr);
    EXPECT_EQ(cut.w, 64);
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_NE(warnings[0].find("truncated.jpg: damaged or truncated JPEG"), std::string::npos) << warnings[0];
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
