// test-difflmm: unit tests of the DiffLMM pieces the golden folder does not cover, against PyTorch values
// written by scripts/difflmm-fixtures.py (tests/data/difflmm): the PyTorch-compatible noise generator, the
// DDIM schedule for every timestep, and the CLIP text encoder / tokenizer that give SD's null-prompt
// embeddings; and DiffLMM end to end through attend (the golden's tiny encoder feeding a random LLaMA of its
// width through libllama with the attention tap).
#include "attend.h"
#include "common.h"
#include "difflmm-convert.h"
#include "difflmm.h"
#include "clip-text.h"
#include "safetensors.h"
#include "util/difflmm-golden.h"
#include "util/max-error.h"
#include "util/random-llama.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

static const std::string k_dir = std::string(GLM_SOURCE_DIR) + "/tests/data/difflmm";

using glm::test::max_abs;
using glm::test::max_abs_diff;

TEST(DiffLMM, TorchRandnMatchesPyTorch) {
    const glm::safetensors_file ref(k_dir + "/reference.safetensors");
    for (uint64_t seed : { 0ull, 12345ull }) {
        glm::torch_randn gen(seed);
        for (int i = 0;; ++i) {
            const std::string name = "randn_" + std::to_string(seed) + "_" + std::to_string(i);
            if (!ref.has(name)) {
                ASSERT_GE(i, 2) << "fixture has too few draws for seed " << seed;
                break;
            }
            const std::vector<float> want = ref.get(name).to_f32();
            const std::vector<float> got  = gen.randn(want.size());
            // same uniforms and Box-Muller; PyTorch's SIMD log/sin/cos may differ in the last bit or two
            const double err = max_abs_diff(got, want);
            printf("%-16s max_abs %.3e\n", name.c_str(), err);
            EXPECT_LE(err, 2e-6) << name;
        }
    }
    EXPECT_THROW(glm::torch_randn(0).randn(15), glm::error);
}

TEST(DiffLMM, AlphasCumprodMatchesDiffusers) {
    const glm::safetensors_file ref(k_dir + "/reference.safetensors");
    for (const char * sched : { "scaled_linear", "linear" }) {
        glm::difflmm_hparams hp;
        hp.beta_schedule = sched;
        if (hp.beta_schedule == "linear") {
            hp.beta_start = 0.0001f;  // DDIMScheduler's defaults
            hp.beta_end   = 0.02f;
        }
        const std::vector<float> want = ref.get(std::string("alphas_cumprod_") + sched).to_f32();
        ASSERT_EQ((int) want.size(), hp.num_train_timesteps);
        double worst = 0;
        for (int t = 0; t < hp.num_train_timesteps; ++t) {
            const float a = glm::difflmm_alpha_cumprod(hp, t);
            worst         = glm::test::max_err(worst, std::fabs((double) a - want[(size_t) t]) / want[(size_t) t]);
        }
        // ATen's vectorised linspace rounds some betas differently in the last bit
        printf("alphas_cumprod %-13s max rel %.3e\n", sched, worst);
        EXPECT_LE(worst, 1e-6) << sched;
    }
}

TEST(DiffLMM, EmptyPromptTokens) {
    const std::vector<int32_t> ids = glm::clip_text_empty_prompt_ids(k_dir + "/tokenizer", 77);
    ASSERT_EQ(ids.size(), 77u);
    EXPECT_EQ(ids[0], 62);  // <|startoftext|>
    EXPECT_EQ(ids[1], 63);  // <|endoftext|>
    for (size_t i = 2; i < ids.size(); ++i) {
        EXPECT_EQ(ids[i], 0);  // the pad token "!" of special_tokens_map.json, not EOS
    }
    EXPECT_THROW(glm::clip_text_empty_prompt_ids(k_dir + "/no-such-folder", 77), glm::error);
}

TEST(DiffLMM, NullPromptEmbeddingsMatchPyTorch) {
    const glm::clip_text_hparams hp  = glm::clip_text_read_config(k_dir + "/text_encoder/config.json");
    const glm::safetensors_file  w(k_dir + "/text_encoder/model.safetensors");
    const glm::safetensors_file  ref(k_dir + "/reference.safetensors");
    auto                         weight = [&](const std::string & name, const std::vector<int64_t> & shape) {
        return w.get("text_model." + name, shape).to_f32();
    };
    const std::vector<int32_t> ids  = glm::clip_text_empty_prompt_ids(k_dir + "/tokenizer", hp.n_pos);
    const std::vector<float>   got  = glm::clip_text_encode(hp, weight, ids, 2);
    const std::vector<float>   want = ref.get("null_prompt").to_f32();
    printf("null_prompt rel %.3e\n", max_abs_diff(got, want) / max_abs(want));
    EXPECT_LE(max_abs_diff(got, want) / max_abs(want), 1e-5);

    // a shorter sequence: the causal mask makes its rows equal to the first rows of the full one
    const std::vector<int32_t> ids8(ids.begin(), ids.begin() + 8);
    const std::vector<float>   got8 = glm::clip_text_encode(hp, weight, ids8, 2);
    const std::vector<float>   want8(want.begin(), want.begin() + (ptrdiff_t) got8.size());
    EXPECT_LE(max_abs_diff(got8, want8) / max_abs(want8), 1e-5);
}

TEST(DiffLMM, ProjectorFromPyTorchCheckpoint) {
    // the same SDCLIPBlock state as LLaVA's non_lora_trainables.bin (torch.save, long prefix, one extra tensor,
    // a transposed storage) and as safetensors
    const auto bin = glm::difflmm_read_projector(k_dir + "/projector.bin");
    const auto st  = glm::difflmm_read_projector(k_dir + "/projector.safetensors");
    ASSERT_EQ(bin.size(), 14u);
    ASSERT_EQ(st.size(), bin.size());
    std::map<std::string, const glm::difflmm_named_tensor *> by_name;
    for (const auto & t : st) {
        by_name[t.name] = &t;
    }
    for (const auto & t : bin) {
        ASSERT_TRUE(by_name.count(t.name)) << t.name;
        EXPECT_EQ(t.shape, by_name[t.name]->shape) << t.name;
        EXPECT_EQ(t.data, by_name[t.name]->data) << t.name;
        EXPECT_EQ(t.name.rfind("mm.", 0), 0u) << t.name;
    }
    EXPECT_TRUE(by_name.count("mm.sd_proj.weight") && by_name.count("mm.clip_pe") && by_name.count("mm.vt_pe"));
    EXPECT_THROW(glm::difflmm_read_projector(k_dir + "/reference.safetensors"), glm::error);  // no mm_projector.*
}

TEST(DiffLMM, AttendEndToEnd) {
    glm::log_route_ggml(false);
    const std::string dir = (std::filesystem::temp_directory_path() / "glm-test-difflmm-e2e").string();
    std::filesystem::remove_all(dir);
    const std::string gguf = glm::difflmm_golden_convert(std::string(GLM_GOLDEN_ROOT) + "/difflmm", dir);
    glm::compute_backend be({ 2, true });
    auto                 enc = glm::vision_encoder_load(gguf, be);  // picks the encoder by general.architecture
    ASSERT_NE(dynamic_cast<glm::difflmm_encoder *>(enc.get()), nullptr);
    // an LLM of the encoder's width, with the tiny LLaVA's tokenizer
    glm::random_llama_shape s;
    s.n_embd    = enc->n_embd();
    s.n_head    = 4;
    s.n_head_kv = 4;
    s.n_ff      = 2 * enc->n_embd();
    glm::write_random_llama(dir + "/llm.gguf", std::string(GLM_GOLDEN_ROOT) + "/llava/llava-tiny-f32.gguf", s);
    glm::lmm_params lp;
    lp.model     = dir + "/llm.gguf";
    lp.n_ctx     = 1024;
    lp.n_threads = 2;
    glm::lmm_model   lm(lp);
    glm::lmm_session ls(lm, lp);
    glm::gen_params  gp;
    gp.n_predict = 4;
    const glm::image_u8       img = glm::image_load(std::string(GLM_GOLDEN_ROOT) + "/difflmm/image.png");
    const glm::attend_result r    = glm::attend_run(*enc, ls, img, gp);
    EXPECT_EQ(r.n_tokens(), 4);
    EXPECT_EQ(r.grid_w, enc->grid_w());
    EXPECT_EQ(r.grid_h, enc->grid_h());
    EXPECT_EQ(r.geom.side, std::max(img.w, img.h));
    for (int k = 0; k < r.n_tokens(); ++k) {
        double sum = 0;
        for (int i = 0; i < r.grid_w * r.grid_h; ++i) {
            ASSERT_TRUE(std::isfinite(r.map(k)[i]));
            sum += r.map(k)[i];
        }
        EXPECT_GT(sum, 0.0) << "token " << k;
    }
    std::filesystem::remove_all(dir);
}
