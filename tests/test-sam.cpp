// Unit tests of SAM around the golden: the converter's refusals (not SAM, truncated, legacy, extra or
// misshapen tensors), bad prompts and images (one-line glm::error, no crash), batching, and the F16 / Q8_0
// conversions (close to F32 on the tiny golden model).
#include "backend.h"
#include "common.h"
#include "util/max-error.h"
#include "gguf-loader.h"
#include "image.h"
#include "safetensors.h"
#include "sam-convert.h"
#include "sam.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

using namespace glm;

static const std::string k_golden = std::string(GLM_GOLDEN_ROOT) + "/sam";

static std::string temp_path(const std::string & name) {
    const std::string dir = (std::filesystem::temp_directory_path() / "glm-test-sam").string();
    make_dirs(dir);
    return dir + "/" + name;
}

static int golden_decoder_heads() {
    const std::vector<uint8_t> b = read_file(k_golden + "/cases.json");
    return nlohmann::json::parse(b.begin(), b.end())["model"]["decoder_heads"].get<int>();
}

// Expects a glm::error with a one-line message containing `what`.
template <typename F> static void expect_error(F && f, const std::string & what) {
    try {
        f();
        ADD_FAILURE() << "no error (expected '" << what << "')";
    } catch (const glm::error & e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
}

static sam_convert_params convert_params(const std::string & in, const std::string & out) {
    sam_convert_params p;
    p.input         = in;
    p.output        = out;
    p.decoder_heads = golden_decoder_heads();
    return p;
}

TEST(SamConvert, RefusesWhatIsNotSam) {
    const std::string out = temp_path("x.gguf");
    expect_error([&] { sam_convert(convert_params(std::string(GLM_SOURCE_DIR) + "/tests/data/torch-checkpoint/nested.pt", out)); },
                 "not a Segment Anything checkpoint");
    expect_error([&] { sam_convert(convert_params(std::string(GLM_SOURCE_DIR) + "/tests/data/torch-checkpoint/legacy.pt", out)); },
                 "legacy");
    expect_error([&] { sam_convert(convert_params(k_golden + "/nope.pth", out)); }, "not found");

    // truncated checkpoints
    const std::vector<uint8_t> full = read_file(k_golden + "/sam-tiny.pth");
    for (size_t cut : { full.size() / 2, full.size() - 10 }) {
        const std::string p = temp_path("truncated.pth");
        write_file(p, full.data(), cut);
        expect_error([&] { sam_convert(convert_params(p, out)); }, p);
    }

    // an extra tensor (a SAM variant) and a misshapen one
    const safetensors_file st(k_golden + "/sam-tiny.safetensors");
    for (int variant = 0; variant < 2; ++variant) {
        safetensors_writer w;
        for (const std::string & n : st.names()) {
            const st_tensor & t = st.get(n);
            if (variant == 1 && n == "mask_decoder.iou_token.weight") {
                std::vector<float> v(t.numel() * 2, 0.0f);
                w.add_f32(n, { t.shape[0] * 2, t.shape[1] }, v);
                continue;
            }
            w.add(n, t.dtype, t.shape, t.data);
        }
        if (variant == 0) {
            w.add_f32("mask_decoder.hq_token.weight", { 1, 4 }, { 0, 0, 0, 0 });
        }
        const std::string p = temp_path("variant.safetensors");
        w.write(p);
        expect_error([&] { sam_convert(convert_params(p, out)); }, variant == 0 ? "does not have" : "has shape");
    }
}

TEST(SamModel, RefusesOtherGguf) {
    const std::string p = temp_path("other.gguf");
    gguf_writer       w;
    w.set_str("general.architecture", "llama");
    const float v[4] = { 0, 1, 2, 3 };
    w.add_tensor("x", GGML_TYPE_F32, { 4 }, v);
    w.write(p);
    compute_backend backend(backend_params{ 1, false, 0 });
    expect_error([&] { sam_model::load(p, backend); }, "not a SAM model file");
}

class SamFixture : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        path_    = temp_path("sam-f32.gguf");
        hp_      = sam_convert(convert_params(k_golden + "/sam-tiny.pth", path_));
        backend_ = new compute_backend(backend_params{ 1, false, 0 });
        model_   = sam_model::load(path_, *backend_);
        ref_     = new safetensors_file(k_golden + "/cases.safetensors");
    }
    static void TearDownTestSuite() {
        model_.reset();
        delete backend_;
        delete ref_;
    }
    static std::string                      path_;
    static sam_hparams                      hp_;
    static compute_backend *                backend_;
    static std::shared_ptr<const sam_model> model_;
    static safetensors_file *               ref_;
};
std::string                      SamFixture::path_;
sam_hparams                      SamFixture::hp_;
compute_backend *                SamFixture::backend_ = nullptr;
std::shared_ptr<const sam_model> SamFixture::model_;
safetensors_file *               SamFixture::ref_ = nullptr;

TEST_F(SamFixture, BadPromptsAndImages) {
    sam_state  state(model_, *backend_);
    sam_prompt p;
    p.points = { { 10, 10, 1 } };
    expect_error([&] { state.predict(p); }, "no image set");

    const int W = 320, H = 240;
    state.set_embedding(ref_->get("image_embeddings").to_f32(), W, H);
    expect_error([&] { state.predict(sam_prompt{}); }, "empty");
    for (const sam_point & q : std::vector<sam_point>{ { -1, 10, 1 }, { W, 10, 1 }, { 10, H, 1 }, { 10, -0.5f, 0 },
                                                        { NAN, 3, 1 } }) {
        sam_prompt b;
        b.points = { { 5, 5, 1 }, q };
        expect_error([&] { state.predict(b); }, "outside");
    }
    sam_prompt bad_label;
    bad_label.points = { { 5, 5, 2 } };
    expect_error([&] { state.predict(bad_label); }, "label");
    sam_prompt bad_box;
    bad_box.has_box = true;
    const float boxes[3][4] = { { 10, 10, 5, 20 }, { 0, 0, W + 1.0f, 10 }, { -1, 0, 10, 10 } };
    for (const auto & b : boxes) {
        std::copy(b, b + 4, bad_box.box);
        expect_error([&] { state.predict(bad_box); }, "box");
    }
    sam_prompt bad_mask;
    bad_mask.points     = { { 5, 5, 1 } };
    bad_mask.mask_input = std::vector<float>(17, 0.0f);
    expect_error([&] { state.predict(bad_mask); }, "mask input");
    // one bad prompt among good ones: an error naming it, nothing computed
    std::vector<sam_prompt> many(3, p);
    many[1].points[0].x = 1e6f;
    expect_error([&] { state.predict(many); }, "prompt 1");

    // images that do not decode
    const std::string junk = temp_path("junk.jpg");
    write_file(junk, "\xff\xd8\xff\xe0 definitely not a jpeg");
    expect_error([&] { image_load(junk); }, junk);
    expect_error([&] { image_load(temp_path("missing.png")); }, "missing.png");
    expect_error([&] { state.set_image(image_u8{}); }, "empty image");
    expect_error([&] { state.set_embedding({ 1, 2, 3 }, W, H); }, "embedding");
}

TEST_F(SamFixture, BatchesEqualSingles) {
    sam_state state(model_, *backend_);
    state.set_embedding(ref_->get("image_embeddings").to_f32(), 320, 240);
    std::vector<sam_prompt> prompts(5);
    prompts[0].points = { { 100, 100, 1 } };
    prompts[1].points = { { 10, 200, 1 }, { 300, 20, 0 } };
    prompts[2].points = { { 150, 50, 0 } };
    prompts[2].multimask = false;
    prompts[3].has_box = true;
    prompts[3].box[0] = 20, prompts[3].box[1] = 30, prompts[3].box[2] = 200, prompts[3].box[3] = 230;
    prompts[4]         = prompts[0];
    prompts[4].mask_input.assign((size_t) hp_.low_res() * hp_.low_res(), 0.0f);
    for (size_t i = 0; i < prompts[4].mask_input.size(); ++i) {
        prompts[4].mask_input[i] = std::sin(0.001f * i);
    }
    const std::vector<sam_result> batch = state.predict(prompts);
    ASSERT_EQ(batch.size(), prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
        SCOPED_TRACE(i);
        const sam_result one = state.predict(prompts[i]);
        EXPECT_EQ(one.n_masks, prompts[i].multimask ? hp_.n_multimask : 1);
        EXPECT_EQ(batch[i].n_masks, one.n_masks);
        ASSERT_EQ(batch[i].low_res_logits.size(), one.low_res_logits.size());
        for (size_t k = 0; k < one.low_res_logits.size(); ++k) {
            ASSERT_NEAR(batch[i].low_res_logits[k], one.low_res_logits[k], 1e-5f);
        }
        EXPECT_EQ(batch[i].iou.size(), one.iou.size());
    }
    // the mask prompt changes the result
    EXPECT_GT(test::max_abs_diff(batch[0].low_res_logits, batch[4].low_res_logits), 1e-3);
}

// F16 and Q8_0 conversions of the golden model (every linear weight converted: the threshold is lowered for
// the tiny widths) stay close to F32. Bounds by format: F16 rounds weights and matmul inputs to 11-bit
// mantissas (~5e-4 each); Q8_0 rounds weights and, in ggml's q8_0 dot product, the activations too to 8 bits
// per 32-block (~4e-3 each), through 4 blocks and a neck. Masks of this random model sit near 0, so a few
// pixels flip.
TEST_F(SamFixture, ReducedPrecisionConversions) {
    const image_u8 img = image_load(k_golden + "/image.png");
    sam_state      s32(model_, *backend_);
    s32.set_image(img);
    const std::vector<float> e32 = s32.image_embedding_chw();
    sam_prompt               p;
    p.points = { { 160, 120, 1 } };
    const sam_result r32 = s32.predict(p);
    const struct {
        ggml_type t;
        float     emb_rel;    // max |diff| / max |f32| of the embeddings
        double    mask_frac;  // fraction of mask pixels that differ
    } cases[] = { { GGML_TYPE_F16, 5e-3f, 0.01 }, { GGML_TYPE_Q8_0, 3e-2f, 0.03 } };
    for (const auto & c : cases) {
        const ggml_type t = c.t;
        SCOPED_TRACE(ggml_type_name(t));
        sam_convert_params cp = convert_params(k_golden + "/sam-tiny.pth", temp_path("sam-low.gguf"));
        cp.type               = t;
        cp.min_quant_elements = 1;
        sam_convert(cp);
        {
            gguf_loader ml(cp.output);
            ml.load(backend_->primary());
            EXPECT_EQ(ml.get("v.sam.blk.0.attn.qkv.weight", { hp_.enc_embd, 3 * hp_.enc_embd })->type, t);
            EXPECT_EQ(ml.get("v.sam.blk.0.pre_ln.weight", { hp_.enc_embd })->type, GGML_TYPE_F32);
            EXPECT_EQ(ml.get("v.sam.neck.2.weight", { 3, 3, hp_.prompt_embd, hp_.prompt_embd })->type, GGML_TYPE_F32);
        }
        auto      m = sam_model::load(cp.output, *backend_);
        sam_state s(m, *backend_);
        s.set_image(img);
        const std::vector<float> e = s.image_embedding_chw();
        const double             dmax = test::max_abs_diff(e, e32), ref_max = test::max_abs(e32);
        printf("%s: embeddings max |diff| %.3e (rel %.3e)\n", ggml_type_name(t), dmax, dmax / ref_max);
        EXPECT_LT(dmax / ref_max, c.emb_rel);
        const sam_result r = s.predict(p);
        size_t           diff = 0;
        for (size_t i = 0; i < r.masks.size(); ++i) {
            diff += r.masks[i] != r32.masks[i];
        }
        printf("%s: %zu of %zu mask pixels differ from f32\n", ggml_type_name(t), diff, r.masks.size());
        EXPECT_LT((double) diff / r.masks.size(), c.mask_frac);
    }
}
