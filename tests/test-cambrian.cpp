// test-cambrian: Cambrian-1's geometry at the real sizes (24 x 24 query grid, ConvNeXt 96 x 96: the unpadded
// token counts of spec B4, straddling ConvNeXt windows, the all-masked reset) and the converter's / loader's
// errors (a checkpoint without the aggregator, a tower file of the wrong kind, missing tower weights at encode
// time, a config that names other towers) and the LLM conversion's (a tokenizer of another vocabulary); the
// pipeline's pieces: the encoder's layout, the registry refusing a file without towers, the cambrian_llama_3 template.
#include "cambrian-convert.h"
#include "common.h"
#include "models/cambrian-vision.h"
#include "models/cambrian.h"
#include "prompt-template.h"
#include "safetensors.h"
#include "vision.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

using namespace glm;
namespace fs = std::filesystem;

static std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const std::exception & e) {
        return e.what();
    }
    return "";
}

TEST(CambrianGeometry, UnpaddedTokenCounts) {
    // spec B4: 640x480 -> 18 x 25 = 450 tokens, 640x427 -> 16 x 25 = 400, square -> 24 x 25 = 600
    cambrian_span s = cambrian_unpad(24, 640, 480);
    EXPECT_EQ(s.rows(), 18);
    EXPECT_EQ(s.cols(), 24);
    EXPECT_EQ(s.y0, 3);
    EXPECT_EQ(s.rows() * (s.cols() + 1), 450);
    s = cambrian_unpad(24, 640, 427);
    EXPECT_EQ(s.rows() * (s.cols() + 1), 400);
    s = cambrian_unpad(24, 500, 500);
    EXPECT_EQ(s.rows() * (s.cols() + 1), 600);
    s = cambrian_unpad(24, 427, 640);  // portrait: columns cut
    EXPECT_EQ(s.rows(), 24);
    EXPECT_EQ(s.cols(), 16);
    EXPECT_EQ(s.x0, 4);
    s = cambrian_unpad(24, 2000, 10);  // int(10 * 24 / 2000) = 0 rows of image: padding 12 on both sides
    EXPECT_EQ(s.rows(), 0);
}

TEST(CambrianGeometry, ConvNeXtWindowsStraddleThePadEdge) {
    // 640x400 at G = 96: new_h = int(400 * 96 / 640) = 60, padding 18 rows: window row 4 (rows 16..19) keeps 2 of
    // its 4 rows; window rows 0..3 are fully masked and reset to attend everywhere
    const cambrian_windows w = cambrian_tower_windows(24, 96, 640, 400, false);
    ASSERT_EQ(w.n_query, 576);
    ASSERT_EQ(w.r, 4);
    auto kept = [&](int qy, int qx) {
        int n = 0;
        for (int j = 0; j < 16; ++j) {
            n += w.mask[(size_t) (qy * 24 + qx) * 16 + j] != 0.0f;
        }
        return n;
    };
    EXPECT_EQ(kept(0, 0), 16);   // reset
    EXPECT_EQ(kept(3, 5), 16);   // reset
    EXPECT_EQ(kept(4, 7), 8);    // rows 16, 17 masked; 18, 19 kept
    EXPECT_EQ(kept(10, 10), 16);
    EXPECT_EQ(kept(19, 0), 8);   // rows 76, 77 kept; 78, 79 masked
    // the token order inside a window: dy-major, then dx
    EXPECT_EQ(w.index[(size_t) (1 * 24 + 2) * 16 + 0], (1 * 4) * 96 + 2 * 4);
    EXPECT_EQ(w.index[(size_t) (1 * 24 + 2) * 16 + 5], (1 * 4 + 1) * 96 + 2 * 4 + 1);
    // unpadded: int(400 * 24 / 640) = 15, padding (24 - 15) // 2 = 4 -> query rows 4..19 (16 rows) x 24
    const cambrian_windows u = cambrian_tower_windows(24, 96, 640, 400, true);
    EXPECT_EQ(u.n_query, 16 * 24);
    EXPECT_EQ(u.index[0], (4 * 4) * 96);
}

TEST(CambrianGeometry, OneKeyWindowsAreNeverMasked) {
    const cambrian_windows w = cambrian_tower_windows(24, 24, 640, 300, false);
    for (float m : w.mask) {
        ASSERT_EQ(m, 1.0f);
    }
}

TEST(CambrianGeometry, BadGrids) {
    EXPECT_NE(error_of([] { cambrian_tower_windows(24, 100, 64, 64, false); }).find("not a multiple"), std::string::npos);
    EXPECT_NE(error_of([] { cambrian_unpad(24, 0, 10); }).find("must be positive"), std::string::npos);
}

class CambrianConvert : public ::testing::Test {
protected:
    fs::path    tmp = fs::temp_directory_path() / ("glm-test-cambrian-" + std::to_string(getpid()));
    std::string golden = std::string(GLM_GOLDEN_ROOT) + "/cambrian-variant";

    void SetUp() override { fs::create_directories(tmp); }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(tmp, ec);
    }
    cambrian_convert_params params() const {
        cambrian_convert_params p;
        p.input  = golden + "/cambrian-tiny.safetensors";
        p.output = (tmp / "out.gguf").string();
        std::ofstream(tmp / "config.json")
            << R"({"image_token_len": 16, "mm_vision_tower_aux_token_len_list": [16, 16, 16, 256],
                  "image_position": 5, "start_of_vision_sampler_layers": 0, "stride_of_vision_sampler_layers": 3})";
        cambrian_convert_read_config((tmp / "config.json").string(), &p);
        return p;
    }
};

TEST(CambrianPipeline, LayoutSkipsTheNewlineColumn) {
    // 640x480 on the 24 x 24 grid: 18 kept rows of 24 cells, each followed by image_newline
    const cambrian_span sp = cambrian_unpad(24, 640, 480);
    const image_layout  l  = cambrian_layout(sp, 640, 480);
    l.validate("cambrian layout");
    EXPECT_EQ(l.n_tokens, 18 * 25);
    ASSERT_EQ(l.grids.size(), 1u);
    const token_grid & g = l.grids[0];
    EXPECT_EQ(g.rows, 18);
    EXPECT_EQ(g.cols, 24);
    EXPECT_EQ(g.rect, (grid_rect{ 0, 0, 640, 480 }));
    EXPECT_EQ(g.cells[0], 0);
    EXPECT_EQ(g.cells[23], 23);
    EXPECT_EQ(g.cells[24], 25);  // token 24 is the first row's newline
    EXPECT_EQ(g.cells.back(), 17 * 25 + 23);
}

TEST(CambrianPipeline, Llama3Template) {
    // CB conv_llama_3 through get_prompt(LLAMA_3): no "\n\n" after the headers, the system text verbatim
    const std::string t = prompt_template_resolve("cambrian_llama_3");
    EXPECT_EQ(t.rfind("<|begin_of_text|><|start_header_id|>system<|end_header_id|>You are Cambrian,", 0), 0u) << t;
    EXPECT_NE(t.find("NYU Vision X. \n    As a multimodal AI"), std::string::npos) << t;
    EXPECT_NE(t.find("open-ended questions. <|eot_id|><|start_header_id|>user<|end_header_id|><image>\n{prompt}"
                     "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"),
              std::string::npos)
        << t;
    EXPECT_EQ(t.find("<|end_header_id|>\n\n"), std::string::npos) << t;
    EXPECT_EQ(t.substr(t.size() - 17), "<|end_header_id|>");
}

TEST_F(CambrianConvert, RegistryPicksTheEncoderAndNamesMissingTowers) {
    cambrian_convert_params p = params();
    cambrian_convert(p);
    compute_backend   be({ 1, false });
    const std::string e = error_of([&] { vision_encoder_load(p.output, be); });
    EXPECT_NE(e.find("lacks the tower(s) SigLIP, CLIP, DINOv2, ConvNeXt"), std::string::npos) << e;
    EXPECT_NE(e.find(p.output), std::string::npos) << e;
}

TEST_F(CambrianConvert, AggregatorOnlyLoadsAndRefusesToEncode) {
    cambrian_convert_params p = params();
    cambrian_convert(p);
    gguf_loader ml(p.output);
    compute_backend be({ 1, false });
    ml.load(be.primary());
    cambrian_model m;
    m.load(ml);
    ml.check_all_used();
    EXPECT_EQ(m.hp.query_side, 4);
    EXPECT_FALSE(m.has_clip || m.has_siglip || m.has_dino || m.has_convnext);
    image_u8 img;
    img.w = img.h = 8;
    img.rgb.assign(8 * 8 * 3, 100);
    const std::string e = error_of([&] { cambrian_run_towers(m, be, img); });
    EXPECT_NE(e.find("lacks tower weights"), std::string::npos) << e;
    EXPECT_NE(e.find("timm/ViT-SO400M-14-SigLIP-384"), std::string::npos) << e;
    EXPECT_NE(e.find("facebook/dinov2-giant"), std::string::npos) << e;
}

TEST_F(CambrianConvert, WrongFilesAreNamed) {
    cambrian_convert_params p = params();
    p.siglip                  = golden + "/tower-dino.safetensors";  // a DINOv2 file given as SigLIP
    std::string e             = error_of([&] { cambrian_convert(p); });
    EXPECT_NE(e.find("not a timm SigLIP ViT"), std::string::npos) << e;
    p        = params();
    p.dino   = golden + "/tower-siglip.safetensors";
    e        = error_of([&] { cambrian_convert(p); });
    EXPECT_NE(e.find("not an HF Dinov2Model"), std::string::npos) << e;
    p        = params();
    p.input  = golden + "/tower-clip.safetensors";  // not a Cambrian checkpoint
    e        = error_of([&] { cambrian_convert(p); });
    EXPECT_NE(e.find("model.vision_query"), std::string::npos) << e;
    p              = params();
    p.require_clip = true;
    e              = error_of([&] { cambrian_convert(p); });
    EXPECT_NE(e.find("openai/clip-vit-large-patch14-336"), std::string::npos) << e;
}

TEST_F(CambrianConvert, ConfigNamingOtherTowersIsRefused) {
    std::ofstream(tmp / "bad.json") << R"({"mm_vision_tower_aux_list": ["a", "b", "c", "d"]})";
    cambrian_convert_params p;
    const std::string       e = error_of([&] { cambrian_convert_read_config((tmp / "bad.json").string(), &p); });
    EXPECT_NE(e.find("SigLIP, OpenAI CLIP, DINOv2, CLIP-ConvNeXt"), std::string::npos) << e;
    std::ofstream(tmp / "bad2.json") << R"({"image_token_len": 500})";
    const std::string e2 = error_of([&] { cambrian_convert_read_config((tmp / "bad2.json").string(), &p); });
    EXPECT_NE(e2.find("not a square"), std::string::npos) << e2;
}

TEST_F(CambrianConvert, LlmWithBorrowedTokenizer) {
    cambrian_llm_convert_params lp;
    lp.input  = golden + "/cambrian-tiny.safetensors";
    lp.config = (tmp / "llm.json").string();
    lp.output = (tmp / "llm.gguf").string();
    std::ofstream(lp.config) << R"({"num_attention_heads": 3, "num_key_value_heads": 1, "rms_norm_eps": 1e-5,
                                    "rope_theta": 500000.0})";
    // a tokenizer of another size is refused, naming both sizes
    lp.tokenizer_from   = std::string(GLM_GOLDEN_ROOT) + "/llava/llava-tiny-f32.gguf";
    const std::string e = error_of([&] { cambrian_convert_llm(lp); });
    EXPECT_NE(e.find("tokens, the checkpoint's embeddings 300"), std::string::npos) << e;
    // without one: "none" with the checkpoint's vocabulary size; the GGUF names the sizes
    lp.tokenizer_from = "";
    cambrian_convert_llm(lp);
    gguf_loader ml(lp.output);
    EXPECT_EQ(ml.get_str("general.architecture"), "llama");
    EXPECT_EQ(ml.get_str("tokenizer.ggml.model"), "none");
    EXPECT_EQ(ml.get_str("groundlmm.prompt_template"), "cambrian_llama_3");  // the model's default template
    EXPECT_EQ(ml.get_int("llama.vocab_size"), 300);
    EXPECT_EQ(ml.get_int("llama.block_count"), 5);
    EXPECT_EQ(ml.get_int("llama.attention.head_count_kv"), 1);
    EXPECT_EQ(ml.tensor_ne("blk.4.ffn_down.weight"), (std::vector<int64_t>{ 96, 48, 1, 1 }));
}
