// Unit tests of head sets (src/head-set.h): parsing every form of the attn_heads setting with clear errors, resolving
// against a model's shape, head-set files, the settings table's spelling, and on the tiny golden LLaVA: the attention
// tap's on-the-fly reduction of a set equals the mean of those heads in the full dump, attend.json round-trips it and
// stage 2 points from it (or says why it cannot).
#include "attend.h"
#include "common.h"
#include "ground.h"
#include "head-set.h"
#include "settings.h"
#include "util/golden-models.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace glm;

static const std::string k_dir = std::string(GLM_GOLDEN_ROOT) + "/llava/";

static std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const glm::error & e) {
        return e.what();
    }
    return "";
}

TEST(HeadSet, ParsesEveryForm) {
    EXPECT_EQ(head_set_parse("all").kind, attn_heads::all);
    EXPECT_EQ(head_set_parse("mean").spec, "all");
    EXPECT_EQ(head_set_parse("official").kind, attn_heads::official);
    EXPECT_EQ(head_set_parse("dump").kind, attn_heads::dump);
    const head_set r = head_set_parse("layers:2-5");
    EXPECT_EQ(r.kind, attn_heads::set);
    EXPECT_EQ(r.spec, "layers:2-5");
    EXPECT_EQ(r.resolve(8, 2), (std::vector<head_pair>{ { 2, 0 }, { 2, 1 }, { 3, 0 }, { 3, 1 }, { 4, 0 }, { 4, 1 }, { 5, 0 }, { 5, 1 } }));
    EXPECT_EQ(head_set_parse("layers:3").spec, "layers:3");
    // a list: sorted, duplicates dropped, canonical text
    const head_set l = head_set_parse("14.24,1.0,14.13,1.0");
    EXPECT_EQ(l.spec, "1.0,14.13,14.24");
    EXPECT_EQ(l.resolve(32, 32), (std::vector<head_pair>{ { 1, 0 }, { 14, 13 }, { 14, 24 } }));
    // built-ins resolve too
    EXPECT_EQ(head_set(attn_heads::official).resolve(2, 4), (std::vector<head_pair>{ { 0, 2 }, { 1, 2 } }));
    EXPECT_EQ(head_set(attn_heads::all).resolve(2, 2).size(), 4u);
}

TEST(HeadSet, BadInputSaysWhatWasExpected) {
    for (const char * bad : { "", "1", "1.", ".2", "1.2,", "1.2;3.4", "layers:", "layers:5-2", "layers:a-b", "-1.0",
                              "0x1.2", "some" }) {
        const std::string e = error_of([&] { head_set_parse(bad); });
        EXPECT_NE(e.find("expected all, official"), std::string::npos) << bad << ": " << e;
    }
    EXPECT_NE(error_of([] { head_set_parse("3.1").resolve(2, 4); }).find("head 3.1, but the model has 2 layers"),
              std::string::npos);
    EXPECT_NE(error_of([] { head_set_parse("layers:0-2").resolve(2, 4); }).find("layer 2, but the model has 2 layers"),
              std::string::npos);
    EXPECT_NE(error_of([] { head_set_parse("/nonexistent/heads.json"); }).find("cannot open"), std::string::npos);
}

TEST(HeadSet, File) {
    const std::string dir = test::fresh_tmp_dir("head-set-file");
    const std::string f   = dir + "/heads.json";
    write_file(f, head_set_file_json("toy", 2, 4, { { 1, 0 }, { 0, 3 } }, { { "k", 2 } }, nlohmann::json::array()).dump());
    head_set hs = head_set_parse(f);
    EXPECT_EQ(hs.kind, attn_heads::set);
    EXPECT_EQ(hs.file, f);
    EXPECT_EQ(hs.file_model, "toy");
    EXPECT_EQ(hs.resolve(2, 4), (std::vector<head_pair>{ { 0, 3 }, { 1, 0 } }));
    EXPECT_EQ(head_set_parse("file:" + f).pairs, hs.pairs);
    // a file made for another model shape
    EXPECT_NE(error_of([&] { hs.resolve(4, 4); }).find("made for a model of 2 layers x 4 heads (toy); this model has 4 x 4"),
              std::string::npos);
    // not read when asked not to
    EXPECT_TRUE(head_set_parse("file:/nonexistent/x", false).pairs.empty());
    // malformed files name the file and the field
    write_file(f, R"({"format": "groundlmm.heads/1", "heads": [[1]]})");
    EXPECT_NE(error_of([&] { head_set_parse(f); }).find("[layer, head] pairs"), std::string::npos);
    write_file(f, R"({"format": "other", "heads": [[1, 0]]})");
    EXPECT_NE(error_of([&] { head_set_parse(f); }).find("format 'other', expected 'groundlmm.heads/1'"), std::string::npos);
    write_file(f, R"({"format": "groundlmm.heads/1", "n_layer": 2, "n_head": 4, "heads": [[1, 4]]})");
    EXPECT_NE(error_of([&] { head_set_parse(f); }).find("outside the file's own shape"), std::string::npos);
    write_file(f, R"({"format": "groundlmm.heads/1", "heads": []})");
    EXPECT_NE(error_of([&] { head_set_parse(f); }).find("is empty"), std::string::npos);
    write_file(f, "{");
    EXPECT_NE(error_of([&] { head_set_parse(f); }).find("not valid JSON"), std::string::npos);
}

TEST(HeadSet, SettingsTable) {
    run_settings s;
    settings_set(s, "attn_heads", "1.2,0.1");
    EXPECT_EQ(s.heads, attn_heads::set);
    EXPECT_EQ(s.ground.heads, attn_heads::set);
    EXPECT_EQ(s.ground.head_sel.spec, "0.1,1.2");
    EXPECT_EQ(settings_to_json(s)["attn_heads"], "0.1,1.2");
    settings_set(s, "attn_heads", "official");
    EXPECT_EQ(settings_to_json(s)["attn_heads"], "official");
    EXPECT_EQ(s.ground.heads, attn_heads::official);
    const std::string e = error_of([&] { settings_set(s, "attn_heads", "sideways", "--option"); });
    EXPECT_EQ(e.rfind("--option 'attn_heads': expected all, official", 0), 0u) << e;
    EXPECT_NE(error_of([&] { settings_set(s, "attn_heads", 3, "field"); }).find("expected a string"), std::string::npos);
}

// The tap's reduction of a set equals the mean over those heads of the full dump, row by row.
TEST(HeadSet, TapReducesTheSetOnTheFly) {
    log_route_ggml(false);
    test::golden_llava g(k_dir);
    const int          L = g.lm.n_layer(), H = g.lm.n_head();
    ASSERT_GE(L * H, 2);
    gen_params gp;
    gp.n_predict = 6;
    const image_u8 img = image_load(k_dir + "image.png");
    const std::vector<head_pair> want = { { 0, H - 1 }, { L - 1, 0 } };
    const head_set hs = head_set_parse(head_pairs_text(want));

    g.ls.set_tap_dump(true);
    const attend_result dump = attend_run(g.enc, g.ls, img, gp, head_set(attn_heads::dump));
    g.ls.set_tap_dump(false);
    const attend_result sel = attend_run(g.enc, g.ls, img, gp, hs);
    ASSERT_EQ(sel.out.answer, dump.out.answer);
    EXPECT_TRUE(sel.out.maps.full.empty());  // no dump
    EXPECT_TRUE(dump.out.maps.selected.empty());
    ASSERT_EQ(sel.out.maps.selected.size(), (size_t) sel.out.maps.n_rows * sel.out.maps.n_img);
    EXPECT_EQ(sel.out.maps.selected_heads, hs.resolve(L, H));
    const std::vector<float> from_full = attend_head_maps(dump, hs);
    double max_err = 0;
    for (size_t i = 0; i < from_full.size(); ++i) {
        max_err = std::max(max_err, (double) std::fabs(from_full[i] - sel.out.maps.selected[i]));
    }
    EXPECT_LT(max_err, 1e-6);
    EXPECT_EQ(sel.out.maps.mean, dump.out.maps.mean);  // the built-in maps are unchanged by a set
    EXPECT_EQ(attend_head_maps(sel, hs), sel.out.maps.selected);
    EXPECT_EQ(attend_head_maps(sel, head_set(attn_heads::official)), sel.out.maps.official);
    // a set the result did not keep: named error
    const std::string e = error_of([&] { attend_head_maps(sel, head_set_parse("0.0")); });
    EXPECT_NE(e.find("rerun stage 1"), std::string::npos) << e;

    // attend.json round trip: the set's heads and map, not the file
    const std::string dir = test::fresh_tmp_dir("head-set-attend");
    attend_save(sel, dir);
    const attend_result b = attend_load(dir);
    EXPECT_EQ(b.heads, attn_heads::set);
    EXPECT_EQ(b.head_sel.spec, hs.spec);
    EXPECT_EQ(b.out.maps.selected_heads, sel.out.maps.selected_heads);
    EXPECT_EQ(b.out.maps.selected, sel.out.maps.selected);
    EXPECT_EQ(attend_head_maps(b, b.head_sel), sel.out.maps.selected);
    // a result without a set loads as before
    const std::string dir2 = test::fresh_tmp_dir("head-set-attend-all");
    attend_save(dump, dir2);
    EXPECT_TRUE(attend_load(dir2).out.maps.selected.empty());

    // stage 2 points from the set's map: the same points as grounding on the dump with that set
    phrase_chunker ch;
    ground_params  gpar;
    gpar.heads           = attn_heads::set;
    gpar.head_sel        = hs;
    const ground_result a  = ground(sel, img, ch, nullptr, gpar);
    const ground_result a2 = ground(dump, img, ch, nullptr, gpar);
    ASSERT_EQ(a.phrases.size(), a2.phrases.size());
    for (size_t i = 0; i < a.phrases.size(); ++i) {
        EXPECT_EQ(a.phrases[i].x, a2.phrases[i].x);
        EXPECT_EQ(a.phrases[i].y, a2.phrases[i].y);
    }
}
