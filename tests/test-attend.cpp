// Unit tests of stage 1 (attend): the library call on the tiny golden LLaVA, the saved format's round trip,
// and one-line errors for bad input (missing/corrupt/truncated GGUF, mismatched model pair, prompt that does
// not fit, out-of-range options, undecodable image).
#include "attend.h"
#include "common.h"
#include "models/clip.h"
#include "util/golden-models.h"
#include "util/max-error.h"
#include "util/random-llama.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

using namespace glm;

static const std::string k_dir    = std::string(GLM_GOLDEN_ROOT) + "/llava/";
static const std::string k_llm    = k_dir + "llava-tiny-f32.gguf";
static const std::string k_mmproj = k_dir + "mmproj-llava-tiny-f32.gguf";

static std::string tmp_dir(const std::string & name) { return test::fresh_tmp_dir("attend-" + name); }

static std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const glm::error & e) {
        return e.what();
    }
    return "";
}

TEST(Attend, RunSaveLoadRoundTrip) {
    log_route_ggml(false);
    test::golden_llava g(k_dir);
    gen_params      gp;
    gp.n_predict = 8;
    const image_u8 img = image_load(k_dir + "image.png");
    attend_result  r   = attend_run(g.enc, g.ls, img, gp, attn_heads::official);
    ASSERT_EQ(r.n_tokens(), 8);
    EXPECT_EQ(r.out.maps.n_rows, 8);
    EXPECT_EQ(r.grid_w, 24);
    EXPECT_EQ(r.geom.pad_y, 50);  // 400x300 centred in a 400 square
    EXPECT_EQ(r.out.image_start, 33);
    // every token's span lies inside the answer and the spans tile it in order
    int prev = 0;
    for (const auto & t : r.out.tokens) {
        EXPECT_LE(0, t.begin);
        EXPECT_LE(t.begin, t.end);
        EXPECT_LE(t.end, (int) r.out.answer.size());
        EXPECT_GE(t.begin, prev);
        prev = t.end;
    }
    // each map row is a part of a probability distribution: non-negative, sums to at most 1
    for (int k = 0; k < r.n_tokens(); ++k) {
        double s = 0;
        for (int i = 0; i < r.out.maps.n_img; ++i) {
            EXPECT_GE(r.map(k)[i], 0.0f);
            s += r.map(k, attn_heads::all)[i];
        }
        EXPECT_GT(s, 0.0);
        EXPECT_LE(s, 1.0 + 1e-5);
    }
    const std::string dir = tmp_dir("roundtrip");
    r.image_path          = k_dir + "image.png";
    attend_save(r, dir);
    const attend_result b = attend_load(dir);
    EXPECT_EQ(b.out.answer, r.out.answer);
    ASSERT_EQ(b.n_tokens(), r.n_tokens());
    for (int k = 0; k < r.n_tokens(); ++k) {
        EXPECT_EQ(b.out.tokens[k].id, r.out.tokens[k].id);
        EXPECT_EQ(b.out.tokens[k].begin, r.out.tokens[k].begin);
        EXPECT_EQ(b.out.tokens[k].end, r.out.tokens[k].end);
    }
    EXPECT_EQ(b.out.maps.mean, r.out.maps.mean);
    EXPECT_EQ(b.out.maps.official, r.out.maps.official);
    EXPECT_EQ(b.heads, attn_heads::official);
    EXPECT_EQ(b.geom.pad_y, r.geom.pad_y);
    EXPECT_EQ(b.out.maps.head_official, 2);
    EXPECT_EQ(b.image_path, r.image_path);

    // a damaged output folder is reported, not half-loaded
    write_file(dir + "/attend.json", std::string("{\"format\": \"groundlmm.attend/1\"}"));
    EXPECT_NE(error_of([&] { attend_load(dir); }).find("attend.json"), std::string::npos);
}

TEST(Attend, BadModelFiles) {
    log_route_ggml(false);
    EXPECT_NE(error_of([] { lmm_model m(test::golden_llm_params("/nonexistent/llm.gguf")); }).find("not found"),
              std::string::npos);
    const std::string dir = tmp_dir("bad");
    write_file(dir + "/text.gguf", std::string("this is not a model"));
    EXPECT_NE(error_of([&] { lmm_model m(test::golden_llm_params(dir + "/text.gguf")); }).find("not a GGUF"),
              std::string::npos);
    // truncated: the first half of the golden LLM
    std::vector<uint8_t> bytes = read_file(k_llm);
    write_file(dir + "/half.gguf", bytes.data(), bytes.size() / 2);
    const std::string e1 = error_of([&] { lmm_model m(test::golden_llm_params(dir + "/half.gguf")); });
    EXPECT_NE(e1.find("half.gguf"), std::string::npos) << e1;
    std::vector<uint8_t> mm = read_file(k_mmproj);
    write_file(dir + "/half-mmproj.gguf", mm.data(), mm.size() / 2);
    compute_backend be({ 2, true });
    const std::string e2 = error_of([&] { clip_encoder enc(dir + "/half-mmproj.gguf", be); });
    EXPECT_NE(e2.find("truncated"), std::string::npos) << e2;
    // an LLM GGUF given as the vision model
    const std::string e3 = error_of([&] { vision_encoder_load(k_llm, be); });
    EXPECT_NE(e3.find("architecture"), std::string::npos) << e3;
}

TEST(Attend, MismatchedPairAndLimits) {
    log_route_ggml(false);
    const std::string dir = tmp_dir("limits");
    random_llama_shape s;
    s.n_embd = 64;  // the golden mmproj projects to 96
    write_random_llama(dir + "/narrow.gguf", k_llm, s);
    compute_backend be({ 2, true });
    clip_encoder    enc(k_mmproj, be);
    const image_u8  img = image_load(k_dir + "image.png");
    {
        lmm_params  lp = test::golden_llm_params(dir + "/narrow.gguf");
        lmm_model   lm(lp);
        lmm_session ls(lm, lp);
        const std::string e = error_of([&] { attend_run(enc, ls, img, gen_params()); });
        EXPECT_NE(e.find("mismatched"), std::string::npos) << e;
    }
    lmm_params lp = test::golden_llm_params(k_llm);
    lp.n_ctx      = 512;  // the prompt alone is 621 tokens
    lmm_model   lm(lp);
    lmm_session ls(lm, lp);
    gen_params  gp;
    gp.n_predict = 4;
    std::string e = error_of([&] { attend_run(enc, ls, img, gp); });
    EXPECT_NE(e.find("does not fit"), std::string::npos) << e;
    gp.n_predict = 0;
    e            = error_of([&] { attend_run(enc, ls, img, gp); });
    EXPECT_NE(e.find("n_predict"), std::string::npos) << e;
    gp.n_predict = 4;
    gp.templ     = "no image marker {prompt}";
    e            = error_of([&] { attend_run(enc, ls, img, gp); });
    EXPECT_NE(e.find("<image>"), std::string::npos) << e;
    const uint8_t junk[] = { 1, 2, 3 };
    EXPECT_THROW(image_decode(junk, 3, "junk.png"), glm::error);
}

TEST(Attend, ImageSmallerThanTheGrid) {
    log_route_ggml(false);
    test::golden_llava g(k_dir);
    image_u8        img;
    img.w = 7;
    img.h = 3;
    img.rgb.assign(7 * 3 * 3, 200);
    gen_params gp;
    gp.n_predict          = 3;
    const attend_result r = attend_run(g.enc, g.ls, img, gp);
    EXPECT_EQ(r.n_tokens(), 3);
    EXPECT_EQ(r.geom.side, 7);
    EXPECT_EQ(r.geom.pad_y, 2);
}

TEST(Attend, LoraAdapterIsApplied) {
    log_route_ggml(false);
    const std::string  dir = tmp_dir("lora");
    random_llama_shape s;
    s.n_embd = 96;
    s.n_layer = 2;
    write_random_llama(dir + "/llm.gguf", k_llm, s);
    write_random_lora(dir + "/lora.gguf", s, 4, 4.0f);
    std::vector<float> embd((size_t) 16 * 96, 0.01f);
    gen_params         gp;
    gp.forced      = { 300, 301, 302 };
    gp.keep_logits = true;
    auto logits = [&](const std::string & lora, float scale) {
        lmm_params lp = test::golden_llm_params(dir + "/llm.gguf");
        lp.lora       = lora;
        lp.lora_scale = scale;
        lmm_model   lm(lp);
        lmm_session ls(lm, lp);
        return ls.generate(embd.data(), 16, gp).logits;
    };
    const std::vector<float> base = logits("", 1.0f), with = logits(dir + "/lora.gguf", 1.0f),
                             zero = logits(dir + "/lora.gguf", 0.0f);
    ASSERT_EQ(base.size(), with.size());
    const double diff = test::max_abs_diff(base, with), diff0 = test::max_abs_diff(base, zero);
    EXPECT_GT(diff, 1e-3);   // the adapter changes the model
    EXPECT_LT(diff0, 1e-5);  // at scale 0 it does not
    // an adapter for another model is refused with the reason
    const std::string e = error_of([&] {
        lmm_params lp = test::golden_llm_params(k_llm);
        lp.lora       = dir + "/lora.gguf";
        lmm_model lm(lp);
    });
    EXPECT_NE(e.find("LoRA"), std::string::npos) << e;
}
