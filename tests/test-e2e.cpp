// End-to-end attend-and-segment on the tiny golden models: LLaVA (tests/golden/llava) + SAM (the golden
// sam-tiny.pth converted here). The answer is teacher-forced to the golden continuation so that the phrases are
// known; every phrase must get a point inside the image and a SAM mask of the image's size, and the written
// outputs must parse back. (The models are random: the points are not meaningful, the plumbing is.)
#include "attend.h"
#include "common.h"
#include "ground.h"
#include "outputs.h"
#include "refine-sam.h"
#include "util/golden-models.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace glm;

static const std::string k_root = GLM_GOLDEN_ROOT;

TEST(EndToEnd, LlavaPlusSam) {
    log_route_ggml(false);
    const std::string dir = test::fresh_tmp_dir("e2e");
    // SAM from the official-format checkpoint, as a user converts it
    const std::string sam_gguf = test::convert_golden_sam(k_root + "/sam", dir);

    test::golden_llava m(k_root + "/llava");
    const image_u8     img = image_load(k_root + "/llava/image.png");
    gen_params         gp;
    gp.forced           = m.lm.tokenize("The image shows a red circle next to a blue square.", false);
    attend_result att   = attend_run(m.enc, m.ls, img, gp);
    att.image_path      = k_root + "/llava/image.png";

    sam_refiner         sam(sam_model::load(sam_gguf, m.be), m.be);
    const phrase_chunker chunker;
    ground_params gprm;
    gprm.more_masks       = true;  // keep SAM's three candidates to check the selection
    const ground_result g = ground(att, img, chunker, &sam, gprm);
    ASSERT_EQ(g.phrases.size(), 3u);
    for (const ground_phrase & p : g.phrases) {
        EXPECT_EQ(p.status, "ok") << p.np.text;
        EXPECT_TRUE(p.x >= 0 && p.x < img.w && p.y >= 0 && p.y < img.h) << p.x << "," << p.y;
        ASSERT_TRUE(p.has_mask);
        EXPECT_EQ(p.mask.w, img.w);
        EXPECT_EQ(p.mask.h, img.h);
        ASSERT_EQ(p.all_scores.size(), 3u);  // multimask output
        ASSERT_EQ(p.all_masks.size(), 3u);
        EXPECT_EQ(p.mask_index, 2);  // the official choice
        EXPECT_EQ(rle_to_string(p.mask), rle_to_string(p.all_masks[2]));
        // 'best' on the same cached embedding: the highest predicted IoU
        const refined_mask best = sam.refine(p.x, p.y, mask_select::best, false);
        EXPECT_EQ(best.score, *std::max_element(p.all_scores.begin(), p.all_scores.end()));
        EXPECT_EQ(rle_to_string(rle_encode(best.mask.data(), best.h, best.w)), rle_to_string(p.all_masks[best.index]));
    }
    // the content: the points are those the reference's own maps of the golden continuation give (see
    // golden_reference_points); SAM's masks and scores are checked against the official code by test-golden-sam
    const maps_result want = test::golden_reference_points(k_root + "/llava", g);
    for (size_t i = 0; i < g.phrases.size(); ++i) {
        EXPECT_EQ(g.phrases[i].x, want.phrases[i].x) << g.phrases[i].np.text;
        EXPECT_EQ(g.phrases[i].y, want.phrases[i].y) << g.phrases[i].np.text;
    }
    ground_save(dir + "/out", img, g, att);
    const ground_result back = ground_from_json(nlohmann::json::parse(std::ifstream(dir + "/out/result.json")));
    ASSERT_EQ(back.phrases.size(), g.phrases.size());
    for (size_t i = 0; i < g.phrases.size(); ++i) {
        EXPECT_EQ(rle_to_string(back.phrases[i].mask), rle_to_string(g.phrases[i].mask));
        EXPECT_FLOAT_EQ(back.phrases[i].score, g.phrases[i].score);
    }
    EXPECT_EQ(image_load(dir + "/out/overlay.png").w, img.w);
}

TEST(EndToEnd, MismatchedSamFile) {
    compute_backend be({ 2, true });
    // an LLM or a CLIP file given as SAM
    EXPECT_THROW(sam_model::load(k_root + "/llava/mmproj-llava-tiny-f32.gguf", be), glm::error);
    EXPECT_THROW(sam_model::load(k_root + "/llava/llava-tiny-f32.gguf", be), glm::error);
}
