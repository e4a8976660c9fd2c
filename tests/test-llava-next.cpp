// test-llava-next: LLaVA-NeXT's anyres rules at the real model's sizes (336 px tiles, the llama3-llava-next-8b
// pinpoints), the packing and layout on synthetic embeddings, the file checks and their errors (a LLaVA-1.5 mmproj
// used as LLaVA-NeXT and the reverse, unknown merge type, missing pinpoints), the registry's dispatch, and the
// prompt templates' token ids on llama.cpp's Llama-3 vocabulary (double BOS in the parity template).
#include "common.h"
#include "ground.h"
#include "gguf-loader.h"
#include "lmm.h"
#include "models/clip.h"
#include "models/llava-next.h"
#include "prompt-template.h"
#include "settings.h"
#include "vision.h"

#include "llama.h"

#include <gtest/gtest.h>

#include <cstdio>

using namespace glm;

static const std::vector<anyres_pinpoint> k_pinpoints = {
    { 336, 672 }, { 672, 336 }, { 672, 672 }, { 1008, 336 }, { 336, 1008 }
};  // lmms-lab/llama3-llava-next-8b config.json, (w, h)

static std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const std::exception & e) {
        return e.what();
    }
    return "";
}

TEST(Anyres, Plan640x480Is2340Tokens) {
    const anyres_plan p = anyres_make_plan(640, 480, k_pinpoints, 336, 14);
    EXPECT_EQ(p.best_w, 672);
    EXPECT_EQ(p.best_h, 672);
    EXPECT_EQ(p.resized_w, 672);
    EXPECT_EQ(p.resized_h, 504);
    EXPECT_EQ(p.paste_y, 84);
    EXPECT_EQ(p.hr_rows, 36);
    EXPECT_EQ(p.hr_cols, 48);
    EXPECT_EQ(p.n_tokens(), 576 + 36 * 49);
    EXPECT_EQ(p.n_tokens(), 2340);
}

TEST(Anyres, TiesKeepTheFirstCandidateHfTransposes) {
    // both sides within one tile: 1x2 (336x672) and 2x1 tie; the original repository keeps the first in list order
    for (auto wh : { std::array<int, 2>{ 300, 200 }, { 320, 240 }, { 336, 336 } }) {
        const anyres_plan o = anyres_make_plan(wh[0], wh[1], k_pinpoints, 336, 14, anyres_rule::original);
        const anyres_plan h = anyres_make_plan(wh[0], wh[1], k_pinpoints, 336, 14, anyres_rule::hf);
        EXPECT_EQ(o.cols * 10 + o.rows, 12) << wh[0] << "x" << wh[1];
        EXPECT_EQ(h.cols * 10 + h.rows, 21) << wh[0] << "x" << wh[1];
    }
}

TEST(Anyres, UnpadTruncatesTheDoubleProduct) {
    // 846 * (48 / 1504) = 26.999999999999996 in double: int() gives 26 -> 26 rows; HF main rounds to 7 decimals -> 28
    const anyres_plan o = anyres_make_plan(1504, 846, k_pinpoints, 336, 14, anyres_rule::original);
    const anyres_plan h = anyres_make_plan(1504, 846, k_pinpoints, 336, 14, anyres_rule::hf);
    EXPECT_EQ(o.rows * o.grid, 48);
    EXPECT_LT(o.unpad_value, 27.0);
    EXPECT_EQ(o.hr_rows, 26);
    EXPECT_EQ(h.hr_rows, 28);
}

TEST(Anyres, PackAndLayout) {
    // 2 crops side by side (g = 2): the raster crosses the tile border; a tall unpad keeps the middle columns
    anyres_plan p;
    p.image_w = 10, p.image_h = 20, p.tile = 28, p.grid = 2, p.cols = 2, p.rows = 1;
    p.first_col = 1, p.hr_rows = 2, p.hr_cols = 2;
    const int          C = 3;
    std::vector<float> tiles(3 * 4 * C);
    for (size_t i = 0; i < tiles.size(); ++i) {
        tiles[i] = (float) i;
    }
    const std::vector<float> nl = { -1, -2, -3 };
    const std::vector<float> out = anyres_pack(tiles, nl, C, p);
    ASSERT_EQ(out.size(), (size_t) p.n_tokens() * C);
    ASSERT_EQ(p.n_tokens(), 4 + 2 * 3);
    auto tok = [&](int t) { return out[(size_t) t * C]; };
    for (int t = 0; t < 4; ++t) {
        EXPECT_EQ(tok(t), (float) (t * C));  // base first
    }
    // row 0: raster (0,1) = crop 1 cell (0,1); (0,2) = crop 2 cell (0,0); newline
    EXPECT_EQ(tok(4), (float) ((1 * 4 + 1) * C));
    EXPECT_EQ(tok(5), (float) ((2 * 4 + 0) * C));
    EXPECT_EQ(tok(6), -1.0f);
    EXPECT_EQ(tok(7), (float) ((1 * 4 + 3) * C));
    EXPECT_EQ(tok(8), (float) ((2 * 4 + 2) * C));
    EXPECT_EQ(tok(9), -1.0f);

    const image_layout l = anyres_layout(p);
    l.validate();
    EXPECT_EQ(l.primary, 1);
    EXPECT_EQ(l.grids[1].cells, (std::vector<int>{ 4, 5, 7, 8 }));
    EXPECT_TRUE(l.grids[0].rect == (grid_rect{ 0, 0, 10, 20 }));
    EXPECT_TRUE(l.grids[1].rect == (grid_rect{ 0, 0, 10, 20 }));
    EXPECT_EQ(anyres_layout(p, /*base_primary=*/true).primary, 0);
}

// A header-only clip GGUF with the given anyres keys (the checks run before any tensor is read).
static std::string write_keys(const std::string & name, const char * merge, bool pinpoints) {
    const std::string path = std::string(testing::TempDir()) + "/" + name + ".gguf";
    gguf_writer       w;
    w.set_str("general.architecture", "clip");
    if (merge) {
        w.set_str("clip.vision.mm_patch_merge_type", merge);
    }
    if (pinpoints) {
        w.set_arr_i32("clip.vision.image_grid_pinpoints", { 336, 672, 672, 336 });
    }
    w.write(path);
    return path;
}

TEST(LlavaNextFile, Errors) {
    compute_backend be({ 1, false });
    const std::string llava15 = std::string(GLM_GOLDEN_ROOT) + "/llava/mmproj-llava-tiny-f32.gguf";
    const std::string next    = std::string(GLM_GOLDEN_ROOT) + "/llava-next/mmproj-llava-next-tiny-f32.gguf";

    std::string e = error_of([&] { llava_next_encoder enc(llava15, be); });
    EXPECT_NE(e.find("not a LLaVA-NeXT mmproj"), std::string::npos) << e;
    EXPECT_NE(e.find("LLaVA-1.5"), std::string::npos) << e;
    e = error_of([&] { clip_encoder enc(next, be); });
    EXPECT_NE(e.find("LLaVA-NeXT"), std::string::npos) << e;
    EXPECT_NE(e.find("spatial_unpad"), std::string::npos) << e;

    e = error_of([&] { llava_next_encoder enc(write_keys("merge-spatial", "spatial", true), be); });
    EXPECT_NE(e.find("mm_patch_merge_type is 'spatial', expected 'spatial_unpad'"), std::string::npos) << e;
    e = error_of([&] { llava_next_encoder enc(write_keys("no-pinpoints", "spatial_unpad", false), be); });
    EXPECT_NE(e.find("image_grid_pinpoints is missing"), std::string::npos) << e;
    e = error_of([&] { vision_encoder_load(write_keys("reg-no-pinpoints", "spatial_unpad", false), be); });
    EXPECT_NE(e.find("image_grid_pinpoints is missing"), std::string::npos) << e;
    e = error_of([&] { vision_encoder_load(write_keys("reg-unknown", "spatial_unpad_anyres_max", true), be); });
    EXPECT_NE(e.find("expected 'spatial_unpad'"), std::string::npos) << e;
}

TEST(LlavaNextFile, RegistryDispatch) {
    compute_backend be({ 1, false });
    auto n = vision_encoder_load(std::string(GLM_GOLDEN_ROOT) + "/llava-next/mmproj-llava-next-tiny-f32.gguf", be);
    EXPECT_NE(dynamic_cast<llava_next_encoder *>(n.get()), nullptr) << n->name();
    auto o = vision_encoder_load(std::string(GLM_GOLDEN_ROOT) + "/llava/mmproj-llava-tiny-f32.gguf", be);
    EXPECT_NE(dynamic_cast<clip_encoder *>(o.get()), nullptr) << o->name();
}

TEST(PromptTemplate, NamesAndDetection) {
    EXPECT_EQ(prompt_template_resolve("llava_v1"), std::string(k_template_llava_v1));
    EXPECT_EQ(prompt_template_resolve("mistral_instruct"), "[INST] <image>\n{prompt} [/INST]");
    EXPECT_EQ(prompt_template_resolve("x <image> y"), "x <image> y");
    const std::string e = error_of([] { prompt_template_resolve("llama_3"); });
    EXPECT_NE(e.find("llava_llama_3"), std::string::npos) << e;
    EXPECT_STREQ(prompt_template_for_chat_template(""), "llava_v1");
    EXPECT_STREQ(prompt_template_for_chat_template("{{ '<|start_header_id|>' + message['role'] }}"), "llava_llama_3");
    EXPECT_STREQ(prompt_template_for_chat_template("{{ '[INST] ' + m }}"), "mistral_instruct");
    EXPECT_STREQ(prompt_template_for_chat_template("[INST] <<SYS>>\\n"), "llava_v1");  // Llama-2 chat: not Mistral
}

// The ids libllama gives the text before <image>, as lmm_session does (add BOS, parse special tokens).
static std::vector<llama_token> ids_before_image(const llama_vocab * v, const std::string & templ) {
    const std::string before = templ.substr(0, templ.find("<image>"));
    std::vector<llama_token> out(before.size() + 8);
    const int n = llama_tokenize(v, before.data(), (int) before.size(), out.data(), (int) out.size(), true, true);
    out.resize((size_t) std::max(n, 0));
    return out;
}

TEST(PromptTemplate, Llama3DoubleBosInParityMode) {
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only         = true;
    const std::string f   = std::string(GLM_SOURCE_DIR) + "/third_party/llama.cpp/models/ggml-vocab-llama-bpe.gguf";
    llama_model *     m   = llama_model_load_from_file(f.c_str(), mp);
    ASSERT_NE(m, nullptr) << f;
    const llama_vocab * v = llama_model_get_vocab(m);
    const llama_token   bos = llama_vocab_bos(v);
    ASSERT_EQ(bos, 128000);
    const std::vector<llama_token> par   = ids_before_image(v, prompt_template_resolve("llava_llama_3"));
    const std::vector<llama_token> clean = ids_before_image(v, prompt_template_resolve("llama3"));
    ASSERT_GE(par.size(), 3u);
    // official: tokenizer BOS + the chat template's <|begin_of_text|>, then <|start_header_id|> (128006)
    EXPECT_EQ(par[0], 128000);
    EXPECT_EQ(par[1], 128000);
    EXPECT_EQ(par[2], 128006);
    EXPECT_EQ(clean[0], 128000);
    EXPECT_EQ(clean[1], 128006);
    // the parity prompt = the clean one + one BOS + one <|start_header_id|> (the role text carries its own)
    EXPECT_EQ(par.size(), clean.size() + 2);
    EXPECT_EQ(clean.size(), 45u);  // 45 tokens before the image with one BOS (LLaVA-NeXT spec, A5)
    llama_model_free(m);
}

// Stage 2 on a LLaVA-NeXT layout: the primary (high-res) grid by default, the base grid with map_grid = base, both
// over the whole image ('original'); a grid the layout lacks is an error naming the ones it has.
TEST(LlavaNextGround, MapGridSetting) {
    const anyres_plan p = anyres_make_plan(200, 100, { { 28, 56 }, { 56, 28 } }, 28, 14);  // 2x1 tiles, g = 2
    ASSERT_EQ(p.cols * 10 + p.rows, 21);
    attend_result att;
    att.image_w    = 200;
    att.image_h    = 100;
    att.layout     = anyres_layout(p);
    att.out.answer = "a red circle";
    gen_token t;
    t.text  = "a red circle";
    t.begin = 0;
    t.end   = 12;
    att.out.tokens.push_back(t);
    attn_maps & m = att.out.maps;
    m.n_img       = att.layout.n_tokens;
    m.n_rows      = 1;
    m.mean.assign((size_t) m.n_img, 0.01f);
    m.official = m.mean;
    m.mean[(size_t) att.layout.grids[1].cells.back()] = 1.0f;  // the high-res grid's last cell (bottom right)
    m.mean[0]                                          = 1.0f;  // the base grid's first cell (top left)
    image_u8 img;
    img.w = 200;
    img.h = 100;
    img.rgb.assign((size_t) 200 * 100 * 3, 0);
    const phrase_chunker chunker;

    run_settings s;
    s.ground.maps.normalize = false;
    ground_result r = ground(att, img, chunker, nullptr, s.ground);
    EXPECT_EQ(r.params.grid, 1);
    EXPECT_EQ(r.grid_w, p.hr_cols);
    EXPECT_EQ(r.grid_h, p.hr_rows);
    EXPECT_EQ(r.params.maps.aspect, map_aspect::original);
    ASSERT_FALSE(r.phrases.empty());
    EXPECT_GT(r.phrases[0].x, 150);  // bottom right
    EXPECT_GT(r.phrases[0].y, 50);

    settings_set(s, "map_grid", "base");
    r = ground(att, img, chunker, nullptr, s.ground);
    EXPECT_EQ(r.params.grid, 0);
    EXPECT_EQ(r.grid_w, 2);
    EXPECT_EQ(r.params.maps.aspect, map_aspect::original);
    ASSERT_FALSE(r.phrases.empty());
    EXPECT_LT(r.phrases[0].x, 50);  // top left
    EXPECT_LT(r.phrases[0].y, 50);
    EXPECT_EQ(settings_to_json(s)["map_grid"], "base");

    settings_set(s, "map_grid", "image");
    const std::string e = error_of([&] { ground(att, img, chunker, nullptr, s.ground); });
    EXPECT_NE(e.find("no such grid (it has: base, highres)"), std::string::npos) << e;
    EXPECT_NE(error_of([&] { settings_set(s, "map_grid", "tiles"); }).find("expected one of"), std::string::npos);
}
