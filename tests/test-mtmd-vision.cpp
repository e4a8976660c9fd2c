// Unit tests of the libmtmd vision family's dispatch and geometry (models/mtmd-vision.h): which mmproj files need the
// LLM first, the refusal of families whose image tokens are not spatial, and the letterbox rectangle.
#include "common.h"
#include "models/mtmd-vision.h"
#include "vision.h"

#include "gguf.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

using namespace glm;

static std::string error_of(const std::function<void()> & fn) {
    try {
        fn();
    } catch (const std::exception & e) {
        return e.what();
    }
    return "";
}

// A metadata-only clip mmproj with the given projector type.
static std::string write_mmproj(const std::string & projector) {
    const std::string path = ::testing::TempDir() + "mmproj-" + projector + ".gguf";
    gguf_context *    g    = gguf_init_empty();
    gguf_set_val_str(g, "general.architecture", "clip");
    gguf_set_val_str(g, "clip.projector_type", projector.c_str());
    gguf_set_val_u32(g, "clip.vision.patch_size", 14);
    EXPECT_TRUE(gguf_write_to_file(g, path.c_str(), false));
    gguf_free(g);
    return path;
}

TEST(MtmdVision, DispatchByProjector) {
    EXPECT_FALSE(vision_needs_text_model(std::string(GLM_GOLDEN_ROOT) + "/llava/mmproj-llava-tiny-f32.gguf"));
    EXPECT_TRUE(vision_needs_text_model(std::string(GLM_GOLDEN_ROOT) + "/qwen25vl/mmproj-qwen25vl-tiny-f32.gguf"));
    EXPECT_TRUE(vision_needs_text_model(std::string(GLM_GOLDEN_ROOT) + "/gemma3/mmproj-gemma3-tiny-f32.gguf"));
    EXPECT_TRUE(vision_needs_text_model(write_mmproj("qwen3vl_merger")));
}

TEST(MtmdVision, RefusesNonSpatialResampler) {
    const std::string path = write_mmproj("resampler");
    const std::string e    = error_of([&] { vision_needs_text_model(path); });
    EXPECT_NE(e.find(path), std::string::npos) << e;
    EXPECT_NE(e.find("MiniCPM-V"), std::string::npos) << e;
    EXPECT_NE(e.find("cannot be drawn as a map"), std::string::npos) << e;
}

TEST(MtmdVision, UnmappedProjectorIsRefusedByName) {
    const std::string path = write_mmproj("pixtral");
    EXPECT_FALSE(vision_needs_text_model(path));  // not ours: the CLIP loader refuses it, naming the projector
    compute_backend   be({ 1, false });
    const std::string e = error_of([&] { vision_encoder_load(path, be); });
    EXPECT_NE(e.find("pixtral"), std::string::npos) << e;
}

TEST(MtmdVision, LibmtmdNeedsTheLlm) {
    compute_backend   be({ 1, false });
    const std::string path = std::string(GLM_GOLDEN_ROOT) + "/qwen25vl/mmproj-qwen25vl-tiny-f32.gguf";
    const std::string e    = error_of([&] { vision_encoder_load(path, be, vision_load_params{}); });
    EXPECT_NE(e.find("needs the LLM"), std::string::npos) << e;
}

TEST(MtmdVision, CanvasRect) {
    // an image of the canvas size is copied: the grid covers exactly the image
    EXPECT_EQ(mtmd_canvas_rect(252, 168, 252, 168), (grid_rect{ 0, 0, 252, 168 }));
    // same aspect, scaled: still the whole image
    EXPECT_EQ(mtmd_canvas_rect(240, 160, 252, 168), (grid_rect{ 0, 0, 240, 160 }));
    // Qwen rounding case: 126x182 on 140x196 -> 136x196 at (2, 0): the grid extends 2 canvas px left and right
    EXPECT_EQ(mtmd_canvas_rect(126, 182, 140, 196), (grid_rect{ -2, 0, 130, 182 }));
    // Gemma 3 letterbox, landscape 200x120 on 112: 112x68 at (0, 22)
    EXPECT_EQ(mtmd_canvas_rect(200, 120, 112, 112), (grid_rect{ 0, -39, 200, 198 }));
    // portrait 96x170 on 112: 64x112 at (24, 0)
    EXPECT_EQ(mtmd_canvas_rect(96, 170, 112, 112), (grid_rect{ -36, 0, 168, 170 }));
    EXPECT_NE(error_of([] { mtmd_canvas_rect(0, 10, 10, 10); }), "");
}
