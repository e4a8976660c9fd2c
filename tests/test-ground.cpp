// Tests of stage 2 (ground) and its outputs on the tiny golden LLaVA: the answer is teacher-forced to the golden
// continuation ("The image shows a red circle next to a blue square.") so that the phrases are known; a simple
// disc refiner stands in for SAM here (test-e2e runs SAM). Checks phrases, token groups, points inside the image,
// masks of the image's size, the files written and that result.json parses back; and the edge cases: an answer
// without noun phrases, a phrase whose head spans no token, a score threshold, an image of another size.
#include "attend.h"
#include "common.h"
#include "ground.h"
#include "models/clip.h"
#include "outputs.h"
#include "util/golden-models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace glm;

static const std::string k_dir = std::string(GLM_GOLDEN_ROOT) + "/llava/";

// A refiner that returns a disc of radius r around the point, with score `score`.
struct disc_refiner : refiner {
    int   w = 0, h = 0, r = 10;
    float score = 0.9f;
    int   n_set = 0;
    using refiner::refine;
    std::string name() const override { return "disc"; }
    void        set_image(const image_u8 & img) override {
        w = img.w;
        h = img.h;
        ++n_set;
    }
    refined_mask refine(const refine_prompt & q) override {
        const int  x = q.points.at(0).x, y = q.points.at(0).y;
        const bool keep_all = q.keep_all;
        refined_mask m;
        m.w = w;
        m.h = h;
        m.mask.assign((size_t) w * h, 0);
        for (int yy = 0; yy < h; ++yy) {
            for (int xx = 0; xx < w; ++xx) {
                m.mask[(size_t) yy * w + xx] = (xx - x) * (xx - x) + (yy - y) * (yy - y) <= r * r;
            }
        }
        m.score      = score;
        m.index      = 0;
        m.all_scores = { score };
        if (keep_all) {
            m.all_masks.push_back(m.mask);
        }
        return m;
    }
};

struct fixture {
    test::golden_llava m{ k_dir };
    image_u8           img = image_load(k_dir + "image.png");

    attend_result forced(const std::string & text) {
        gen_params gp;
        gp.answer = text;  // teacher forcing by text
        return attend_run(m.enc, m.ls, img, gp);
    }
};

static fixture & fx() {
    static fixture f;
    return f;
}

static const phrase_chunker & chunker() {
    static phrase_chunker c;
    return c;
}

TEST(Ground, KnownAnswerEndToEndWithFiles) {
    log_route_ggml(false);
    const attend_result att = fx().forced("The image shows a red circle next to a blue square.");
    ASSERT_EQ(att.out.answer, "The image shows a red circle next to a blue square.");
    disc_refiner  ref;
    ground_params gp;
    gp.keep_maps          = true;
    const ground_result g = ground(att, fx().img, chunker(), &ref, gp);
    std::vector<std::string> heads;
    for (const auto & p : g.phrases) {
        heads.push_back(p.np.head_text);
        EXPECT_FALSE(p.tokens.empty()) << p.np.text;
        EXPECT_EQ(p.status, "ok");
        EXPECT_GE(p.x, 0);
        EXPECT_LT(p.x, fx().img.w);
        EXPECT_GE(p.y, 0);
        EXPECT_LT(p.y, fx().img.h);
        ASSERT_TRUE(p.has_mask);
        EXPECT_EQ(p.mask.w, fx().img.w);
        EXPECT_EQ(p.mask.h, fx().img.h);
        EXPECT_EQ(p.grid.size(), (size_t) 24 * 24);
    }
    EXPECT_EQ(heads, (std::vector<std::string>{ "image", "circle", "square" }));
    EXPECT_EQ(ref.n_set, 1);  // one image embedding for all phrases

    // the content: the answer is the golden continuation, so the reference's own attention maps of it (attn_mean,
    // the layer-and-head mean ground uses by default) give the points, through maps_ground (checked against the
    // official post-processing by test-golden-aas); the disc refiner's mask is the disc around each point
    {
        ASSERT_EQ(att.out.maps.n_rows, 12);  // the golden's continuation: one map row per token
        const maps_result want = test::golden_reference_points(k_dir, g);
        for (size_t i = 0; i < g.phrases.size(); ++i) {
            const ground_phrase & p = g.phrases[i];
            printf("%-16s point (%d, %d), from the reference maps (%d, %d); peak %.6f vs %.6f\n", p.np.text.c_str(),
                   p.x, p.y, want.phrases[i].x, want.phrases[i].y, p.peak, want.phrases[i].peak);
            EXPECT_EQ(p.x, want.phrases[i].x) << p.np.text;
            EXPECT_EQ(p.y, want.phrases[i].y) << p.np.text;
            // our CLIP (F16 projector) and F16 KV cache against the float32 reference: measured 4.4e-5
            EXPECT_NEAR(p.peak, want.phrases[i].peak, 1e-3) << p.np.text;
            const refined_mask disc = ref.refine(p.x, p.y, mask_select::index2, false);
            EXPECT_EQ(rle_decode(p.mask), disc.mask) << p.np.text;
            EXPECT_FLOAT_EQ(p.score, ref.score);
        }
    }

    const std::string dir = (std::filesystem::temp_directory_path() / "glm-test-ground").string();
    std::filesystem::remove_all(dir);
    ground_save(dir, fx().img, g, att, { /*heatmaps=*/true });
    for (const char * f : { "result.json", "overlay.png", "answer.html", "heatmap-00.png" }) {
        EXPECT_TRUE(file_exists(dir + "/" + f)) << f;
    }
    const image_u8 ov = image_load(dir + "/overlay.png");
    EXPECT_EQ(ov.w, fx().img.w);
    EXPECT_GT(ov.h, fx().img.h);  // legend below
    const ground_result back = ground_from_json(nlohmann::json::parse(std::ifstream(dir + "/result.json")));
    ASSERT_EQ(back.phrases.size(), g.phrases.size());
    for (size_t i = 0; i < g.phrases.size(); ++i) {
        EXPECT_EQ(back.phrases[i].np.text, g.phrases[i].np.text);
        EXPECT_EQ(back.phrases[i].x, g.phrases[i].x);
        EXPECT_EQ(back.phrases[i].tokens, g.phrases[i].tokens);
        EXPECT_EQ(rle_decode(back.phrases[i].mask), rle_decode(g.phrases[i].mask));
    }
    std::ifstream html(dir + "/answer.html");
    std::string   s((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
    EXPECT_NE(s.find("<b>circle</b>"), std::string::npos);
}

// answer.html is valid UTF-8 whatever the token bytes: partial characters become U+FFFD, as in result.json.
TEST(Ground, AnswerHtmlIsValidUtf8) {
    ground_result g;
    g.answer = "caf\xc3 \xe6\x97 ok \xff";  // cut characters (byte-fallback tokens) and a stray byte
    const std::string html = render_answer_html(g);
    EXPECT_NO_THROW((void) nlohmann::json(html).dump()) << "not valid UTF-8";  // the strict handler throws
    EXPECT_NE(html.find("caf\xef\xbf\xbd"), std::string::npos);            // U+FFFD
    EXPECT_NE(html.find(" ok "), std::string::npos);
    EXPECT_EQ(html.find("\xff"), std::string::npos);
}

TEST(Ground, NoNounPhrasesGivesAnEmptyValidResult) {
    const attend_result att = fx().forced("Yes.");
    disc_refiner        ref;
    const ground_result g = ground(att, fx().img, chunker(), &ref, ground_params());
    EXPECT_TRUE(g.phrases.empty());
    EXPECT_EQ(ref.n_set, 0);  // no phrase: the refiner's image encoder never runs
    const nlohmann::json j = ground_to_json(g, att);
    EXPECT_TRUE(j["phrases"].empty());
    EXPECT_EQ(j["answer"], "Yes.");
}

TEST(Ground, HeadWithoutTokensThresholdsAndSizes) {
    attend_result att = fx().forced("The image shows a red circle next to a blue square.");
    // move the spans of the tokens overlapping "circle" out of it: its phrase then has no token
    const int hb = (int) att.out.answer.find("circle"), he = hb + 6;
    for (auto & t : att.out.tokens) {
        if (t.begin < he && t.end > hb) {
            t.begin = t.end = hb - 1;
        }
    }
    disc_refiner  ref;
    ground_params gp;
    ground_result g = ground(att, fx().img, chunker(), &ref, gp);
    bool seen = false;
    for (const auto & p : g.phrases) {
        if (p.np.head_text == "circle") {
            seen = true;
            EXPECT_EQ(p.status, "no-tokens");
            EXPECT_EQ(p.x, -1);
            EXPECT_FALSE(p.has_mask);
        }
    }
    EXPECT_TRUE(seen);
    gp.keep_empty = false;
    g             = ground(att, fx().img, chunker(), &ref, gp);
    for (const auto & p : g.phrases) {
        EXPECT_NE(p.np.head_text, "circle");
    }
    gp.min_score = 0.95f;  // the disc refiner scores 0.9
    g            = ground(att, fx().img, chunker(), &ref, gp);
    for (const auto & p : g.phrases) {
        EXPECT_EQ(p.status, "low-score");
        EXPECT_FALSE(p.has_mask);
    }
    gp.min_score = 2.0f;
    EXPECT_THROW(ground(att, fx().img, chunker(), &ref, gp), glm::error);
    image_u8 other = fx().img;
    other.w        = 10;
    other.h        = 10;
    other.rgb.resize(300);
    EXPECT_THROW(ground(att, other, chunker(), &ref, ground_params()), glm::error);
    // points only, no refiner
    g = ground(att, fx().img, chunker(), nullptr, ground_params());
    for (const auto & p : g.phrases) {
        EXPECT_FALSE(p.has_mask);
    }
}

// The streaming hook: every listed phrase with its point before the refiner sees the image, then each phrase once
// refined, in order, with the result's own values; the result equals the run without the hook.
TEST(Ground, OnPhraseReportsPointsBeforeRefinementThenEachMask) {
    const attend_result att = fx().forced("The image shows a red circle. A blue square is next to the circle.");
    disc_refiner        ref;
    ground_params       gp;
    gp.min_score = 0.5f;
    const ground_result plain = ground(att, fx().img, chunker(), &ref, gp);
    ASSERT_GE(plain.phrases.size(), 2u);
    std::vector<std::string> calls;  // "p<i>" point, "m<i>" refined, with the refiner's set_image count then
    std::vector<int>         sets_at_point;
    std::vector<ground_phrase> refined;
    gp.on_phrase = [&](const ground_result & so_far, int i, bool done) {
        ASSERT_LT((size_t) i, so_far.phrases.size());
        calls.push_back((done ? "m" : "p") + std::to_string(i));
        if (!done) {
            sets_at_point.push_back(ref.n_set);
            EXPECT_EQ(so_far.phrases[(size_t) i].x, plain.phrases[(size_t) i].x);
            EXPECT_EQ(so_far.phrases[(size_t) i].y, plain.phrases[(size_t) i].y);
            EXPECT_FALSE(so_far.phrases[(size_t) i].has_mask);
        } else {
            refined.push_back(so_far.phrases[(size_t) i]);
        }
    };
    const int           n_set0 = ref.n_set;
    const ground_result g      = ground(att, fx().img, chunker(), &ref, gp);
    std::vector<std::string> want;
    for (size_t i = 0; i < plain.phrases.size(); ++i) {
        want.push_back("p" + std::to_string(i));
    }
    for (size_t i = 0; i < plain.phrases.size(); ++i) {
        want.push_back("m" + std::to_string(i));
    }
    EXPECT_EQ(calls, want);
    for (int s : sets_at_point) {
        EXPECT_EQ(s, n_set0);  // the points went out before the refiner's image encoding
    }
    EXPECT_EQ(ref.n_set, n_set0 + 1);
    ASSERT_EQ(refined.size(), g.phrases.size());
    for (size_t i = 0; i < g.phrases.size(); ++i) {
        EXPECT_EQ(ground_phrase_to_json(refined[i]), ground_phrase_to_json(g.phrases[i]));
    }
    nlohmann::json a = ground_to_json(g, att), b = ground_to_json(plain, att);
    a.erase("timings");
    b.erase("timings");
    EXPECT_EQ(a, b);
    EXPECT_FALSE(g.params.on_phrase);  // the hook is not kept in the result
}
