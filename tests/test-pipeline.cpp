// test-pipeline.cpp: the library pipeline (pipeline.h) on the tiny golden LLaVA + SAM and on the toy model:
//   - two contexts on one shared model, in two threads at once, give exactly what one context gives run twice;
//   - parts load on first use (a stage-2-only pipeline never loads the LLM);
//   - the image layout of LLaVA-1.5 (one square grid over the padded square) drives stage 2 exactly as the official
//     'pad' setting, and an explicit 'original' overrides it;
//   - the settings table: one name everywhere, old spellings as aliases, strict types and ranges.
#include "attend.h"
#include "common.h"
#include "layout.h"
#include "outputs.h"
#include "pipeline.h"
#include "settings.h"
#include "util/golden-models.h"

#include <gtest/gtest.h>

#include <thread>

using namespace glm;
using json = nlohmann::json;

static const std::string k_root = GLM_GOLDEN_ROOT;

static pipeline_model_params golden_params(const std::string & sam_gguf) {
    pipeline_model_params p;
    p.llm              = k_root + "/llava/llava-tiny-f32.gguf";
    p.vision           = k_root + "/llava/mmproj-llava-tiny-f32.gguf";
    p.refiner.name     = sam_gguf.empty() ? "none" : "sam";
    p.refiner.sam_path = sam_gguf;
    p.n_threads        = 1;
    return p;
}

static pipeline_context_params golden_ctx() {
    pipeline_context_params c;
    c.n_ctx = 1024;
    return c;
}

static std::string result_json(const grounding & r) {
    json j = ground_to_json(r.g, r.att);
    j.erase("timings");
    return j.dump();
}

TEST(pipeline, two_contexts_in_two_threads_equal_one_context_twice) {
    const std::string dir = test::fresh_tmp_dir("pipeline-threads");
    const std::string sam = test::convert_golden_sam(k_root + "/sam", dir);
    auto              model = pipeline_model::load(golden_params(sam));
    const image_u8    img   = image_load(k_root + "/llava/image.png");
    run_settings      a, b;
    a.gen.n_predict = 12;
    b.gen.n_predict = 12;
    b.gen.prompt    = "What is in the picture?";
    b.heads         = attn_heads::official;
    b.ground.heads  = attn_heads::official;

    // one context, twice (a then b)
    pipeline        one(model, golden_ctx());
    const grounding ra = one.run(img, a);
    const grounding rb = one.run(img, b);
    ASSERT_FALSE(ra.g.phrases.empty());

    // two contexts on the same model at the same time
    grounding ta, tb;
    std::string err_a, err_b;
    std::thread t1([&] {
        try {
            pipeline c(model, golden_ctx());
            ta = c.run(img, a);
        } catch (const std::exception & e) {
            err_a = e.what();
        }
    });
    std::thread t2([&] {
        try {
            pipeline c(model, golden_ctx());
            tb = c.run(img, b);
        } catch (const std::exception & e) {
            err_b = e.what();
        }
    });
    t1.join();
    t2.join();
    ASSERT_EQ(err_a, "");
    ASSERT_EQ(err_b, "");
    EXPECT_EQ(result_json(ta), result_json(ra));
    EXPECT_EQ(result_json(tb), result_json(rb));
    EXPECT_EQ(ta.att.out.maps.mean, ra.att.out.maps.mean);  // bit for bit
    EXPECT_EQ(tb.att.out.maps.official, rb.att.out.maps.official);
    EXPECT_NE(result_json(ra), result_json(rb));  // the two runs differ: the comparison means something
}

TEST(pipeline, stage2_only_never_loads_the_llm) {
    // files that do not exist: loading them would fail; stage 2 on a saved stage 1 must not try
    pipeline_model_params p;
    p.llm          = "/nonexistent/llm.gguf";
    p.vision       = "/nonexistent/vision.gguf";
    p.refiner.name = "region";
    auto model     = pipeline_model::load(p);
    const std::string dir = test::fresh_tmp_dir("pipeline-stage2");
    // a stage-1 result from the golden model, saved and loaded
    {
        pipeline      full(pipeline_model::load(golden_params("")), golden_ctx());
        run_settings  s;
        s.gen.n_predict = 8;
        attend_save(full.attend(image_load(k_root + "/llava/image.png"), s), dir);
    }
    const attend_result att = attend_load(dir);
    pipeline            ctx(model, golden_ctx());
    const ground_result g   = ctx.ground(att, image_load(k_root + "/llava/image.png"), run_settings());
    EXPECT_EQ(g.refiner.rfind("region", 0), 0u) << g.refiner;
    EXPECT_THROW(model->llm(), glm::error);  // and asking for it does fail, naming the file
}

TEST(pipeline, layout_of_llava_is_the_padded_square) {
    auto          model = pipeline_model::load(golden_params(""));
    pipeline      ctx(model, golden_ctx());
    const image_u8 img  = image_load(k_root + "/llava/image.png");
    run_settings  s;
    s.gen.n_predict = 8;
    const attend_result att = ctx.attend(img, s);
    ASSERT_EQ(att.layout.grids.size(), 1u);
    const token_grid & g = att.layout.grids[0];
    EXPECT_EQ(g.role, grid_role::image);
    EXPECT_TRUE(g.contiguous());
    EXPECT_EQ(att.layout.n_tokens, g.rows * g.cols);
    EXPECT_EQ(g.rect, rect_padded_square(img.w, img.h));
    // auto == pad, bit for bit; original differs on a non-square image
    const ground_result ga = ctx.ground(att, img, s);
    run_settings        sp = s, so = s;
    settings_set(sp, "aspect", "pad");
    settings_set(so, "aspect", "original");
    const ground_result gp = ctx.ground(att, img, sp);
    const ground_result go = ctx.ground(att, img, so);
    EXPECT_EQ(ga.params.maps.aspect, map_aspect::pad);
    ASSERT_EQ(ga.phrases.size(), gp.phrases.size());
    for (size_t i = 0; i < ga.phrases.size(); ++i) {
        EXPECT_EQ(ga.phrases[i].x, gp.phrases[i].x);
        EXPECT_EQ(ga.phrases[i].y, gp.phrases[i].y);
        EXPECT_EQ(ga.phrases[i].peak, gp.phrases[i].peak);
    }
    EXPECT_EQ(go.params.maps.aspect, map_aspect::original);
    // the layout survives save + load
    const std::string dir = test::fresh_tmp_dir("pipeline-layout");
    attend_save(att, dir);
    const attend_result back = attend_load(dir);
    EXPECT_EQ(layout_to_json(back.layout), layout_to_json(att.layout));
}

TEST(layout, gathers_grid_cells_and_validates) {
    // a 2x2 grid whose rows end with a newline token (as LLaVA-NeXT's high-res raster): tokens 0 1 [2] 3 4 [5]
    image_layout l;
    l.n_tokens = 6;
    token_grid g;
    g.role  = grid_role::highres;
    g.rows  = 2;
    g.cols  = 2;
    g.cells = { 0, 1, 3, 4 };
    g.rect  = { 0, 0, 10, 10 };
    l.grids.push_back(g);
    l.validate();
    const std::vector<float> block = { 1, 2, -9, 3, 4, -9, 5, 6, -9, 7, 8, -9 };  // 2 rows of 6 tokens
    EXPECT_EQ(layout_grid_maps(l, 0, block, 2), (std::vector<float>{ 1, 2, 3, 4, 5, 6, 7, 8 }));
    EXPECT_FALSE(l.is_single_contiguous());
    EXPECT_EQ(layout_to_json(layout_from_json(layout_to_json(l))), layout_to_json(l));
    image_layout bad = l;
    bad.grids[0].cells = { 0, 1, 1, 4 };
    EXPECT_THROW(bad.validate(), glm::error);
    bad.grids[0].cells = { 0, 1, 3, 6 };
    EXPECT_THROW(bad.validate(), glm::error);
    // the padded square is LLaVA's expand2square placement; its upsampling geometry is the official 'pad' one
    const grid_rect r = rect_padded_square(101, 50);
    EXPECT_EQ(r, (grid_rect{ 0, -25, 101, 101 }));
    const upsample_geometry a = maps_upsample_geometry(101, 50, r);
    const upsample_geometry b = maps_upsample_geometry(101, 50, map_aspect::pad);
    EXPECT_EQ(a.out_w, b.out_w);
    EXPECT_EQ(a.out_h, b.out_h);
    EXPECT_EQ(a.x0, b.x0);
    EXPECT_EQ(a.y0, b.y0);
}

TEST(settings, one_name_aliases_strict_types) {
    run_settings s;
    settings_set(s, "mask_select", "best");
    EXPECT_EQ(s.ground.select, mask_select::best);
    settings_set(s, "mask_index", "2");  // old server/CLI spelling, old value
    EXPECT_EQ(s.ground.select, mask_select::index2);
    settings_set(s, "score_thresh", "0.25");
    EXPECT_FLOAT_EQ(s.ground.min_score, 0.25f);
    settings_set(s, "drop_empty", true);  // inverted alias
    EXPECT_FALSE(s.ground.keep_empty);
    settings_set(s, "n_predict", "7");
    EXPECT_EQ(s.gen.n_predict, 7);
    EXPECT_THROW(settings_set(s, "temp", "0x10"), glm::error);    // no hex
    EXPECT_THROW(settings_set(s, "temp", "nan"), glm::error);
    EXPECT_THROW(settings_set(s, "n_predict", 2.5), glm::error);  // not an integer
    EXPECT_THROW(settings_set(s, "n_predict", 0), glm::error);    // out of range
    EXPECT_THROW(settings_set(s, "prompt", nullptr), glm::error); // null is not a string
    EXPECT_THROW(settings_set(s, "prompt", ""), glm::error);
    EXPECT_THROW(settings_set(s, "aspect", "square"), glm::error);
    EXPECT_THROW(settings_set(s, "no_such_setting", 1), glm::error);
    try {
        settings_set(s, "min_score", 3);
        FAIL() << "no error";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("min_score"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("[0, 1]"), std::string::npos) << e.what();
    }
    // every setting reads back what it was set to, under its one name
    const json j = settings_to_json(s);
    for (const setting_def & d : settings_table()) {
        ASSERT_TRUE(j.contains(d.name)) << d.name;
        run_settings t;
        settings_set(t, d.name, j.at(d.name).is_string() && j.at(d.name).get<std::string>().empty() && d.min > 0
                                    ? json("x") : j.at(d.name));
    }
}
