// The toy model's two implementations agree: the training graph (src/toy, teacher forcing) and the production
// path (toy-vit vision module -> image embeddings as llama_batch.embd -> libllama's llama graph with an F32 KV
// cache -> attention tap) give the same logits for every caption step and the same attention maps (every
// layer and head, and the tap's mean and head H-2 reductions).
//
// Runs on a freshly written random model and, when present, on the committed models/toy (or the folder named
// by the environment variable GLM_TOY_MODEL). Prints the max abs errors.
#include "backend.h"
#include "common.h"
#include "util/max-error.h"
#include "lmm.h"
#include "models/toy-vit.h"
#include "toy/batch.h"
#include "toy/model.h"
#include "toy/world.h"

#include "ggml-alloc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

using namespace glm;
using namespace glm::toy;

namespace {

std::string model_dir() {
    const char * env = getenv("GLM_TOY_MODEL");
    return env ? env : std::string(GLM_SOURCE_DIR) + "/models/toy";
}

struct errors {
    double logits = 0, logits_scale = 0, attn = 0, mean = 0, official = 0;
};

errors compare(const std::string & dir, int n_scenes) {
    log_route_ggml(false);
    toy_model m(dir);
    m.set_n_threads(1);
    const int L = m.dec_hp().n_layer, H = m.dec_hp().n_head, N = m.vit_hp().n_patches(), V = m.dec_hp().n_vocab;
    const int P0 = (int) m.prompt_pre().size(), C0 = m.caption_start();

    std::vector<world_scene> scenes;
    for (int i = 0; i < n_scenes; ++i) {
        scenes.push_back(world_generate(world_params(), 2024, world_split::test, i));
    }
    // the training graph
    const toy_batch b = toy_make_batch(m, scenes);
    graph_ctx       g(16384);
    toy_graph       tg = toy_build_graph(g.ctx(), m, b.B, b.T, b.R, true);
    ggml_set_output(tg.logits);
    ggml_cgraph * gf = g.new_graph();
    for (ggml_tensor * a : tg.attn) {
        ggml_set_output(a);
        ggml_build_forward_expand(gf, a);
    }
    ggml_build_forward_expand(gf, tg.logits);
    ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_get_default_buffer_type(m.backend()));
    EXPECT_TRUE(ggml_gallocr_alloc_graph(ga, gf));
    toy_set_inputs(m, tg, b);
    EXPECT_EQ(ggml_backend_graph_compute(m.backend(), gf), GGML_STATUS_SUCCESS);
    const std::vector<float>        logits = tensor_to_f32(tg.logits);  // [V, R]
    std::vector<std::vector<float>> attn;                               // [T, T, H, B] per layer
    for (ggml_tensor * a : tg.attn) {
        attn.push_back(tensor_to_f32(a));
    }
    ggml_gallocr_free(ga);

    // the production path
    compute_backend be(backend_params{ 1, false, 0 });
    toyvit_encoder  enc(dir + "/" + k_toy_vit_file, be);
    lmm_params      lp;
    lp.model     = dir + "/" + k_toy_llm_file;
    lp.n_ctx     = m.dec_hp().n_ctx;
    lp.n_threads = 1;
    lp.kv_f32    = true;
    lp.tap       = true;
    lp.tap_dump  = true;
    lmm_model   lm(lp);
    lmm_session ses(lm, lp);

    errors e;
    for (int i = 0; i < b.B; ++i) {
        const vision_output vo = enc.encode(scenes[i].img);
        gen_params          gp;
        gp.forced.assign(b.caption[i].begin(), b.caption[i].end());
        gp.forced.push_back(m.vocab().eos());
        gp.keep_logits       = true;
        const gen_result r   = ses.generate(vo.embd.data(), vo.n_tokens, gp);
        EXPECT_EQ(std::vector<int>(r.prompt_pre.begin(), r.prompt_pre.end()), m.prompt_pre());
        EXPECT_EQ(std::vector<int>(r.prompt_post.begin(), r.prompt_post.end()), m.prompt_post());
        EXPECT_EQ(r.image_start, P0);
        EXPECT_EQ(r.prompt_len, C0);
        const int n_steps = (int) gp.forced.size();
        EXPECT_EQ(r.maps.n_rows, n_steps);
        EXPECT_EQ(r.maps.n_img, N);
        EXPECT_EQ((int) r.logits.size(), n_steps * V);
        if ((int) r.logits.size() != n_steps * V || r.maps.n_rows != n_steps) {
            return e;
        }
        for (int k = 0; k < n_steps; ++k) {
            const float * ref = &logits[(size_t) (b.row_begin[i] + k) * V];
            for (int v = 0; v < V; ++v) {
                e.logits       = test::max_err(e.logits, (double) std::fabs(ref[v] - r.logits[(size_t) k * V + v]));
                e.logits_scale = test::max_err(e.logits_scale, (double) std::fabs(ref[v]));
            }
            const int q = C0 - 1 + k;
            for (int j = 0; j < N; ++j) {
                double mean = 0.0, official = 0.0;
                for (int l = 0; l < L; ++l) {
                    for (int h = 0; h < H; ++h) {
                        const float a = attn[l][(((size_t) i * H + h) * b.T + q) * b.T + P0 + j];
                        const float t = r.maps.full[(((size_t) k * L + l) * H + h) * N + j];
                        e.attn        = test::max_err(e.attn, (double) std::fabs(a - t));
                        mean += a / (L * H);
                        if (h == r.maps.head_official) {
                            official += a / L;
                        }
                    }
                }
                e.mean     = test::max_err(e.mean, std::fabs(mean - r.maps.mean[(size_t) k * N + j]));
                e.official = test::max_err(e.official, std::fabs(official - r.maps.official[(size_t) k * N + j]));
            }
        }
        EXPECT_EQ(r.maps.head_official, H - 2);
    }
    return e;
}

void report(const char * what, const errors & e) {
    printf("%s: logits max abs error %.3g (max |logit| %.3g), attention (every layer/head) %.3g, mean map %.3g, "
           "head H-2 map %.3g\n", what, e.logits, e.logits_scale, e.attn, e.mean, e.official);
    EXPECT_LT(e.logits, 1e-4 * std::max(1.0, e.logits_scale));
    EXPECT_LT(e.attn, 1e-5);
    EXPECT_LT(e.mean, 1e-5);
    EXPECT_LT(e.official, 1e-5);
}

}  // namespace

TEST(ToyConsistency, RandomModel) {
    toy_arch a;  // the default sizes, random weights
    toy_model m(a, 7);
    const std::string dir = std::string(testing::TempDir()) + "toy-consistency-" + std::to_string(getpid());
    m.save(dir);
    report("random model", compare(dir, 3));
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

TEST(ToyConsistency, TrainedModel) {
    const std::string dir = model_dir();
    if (!file_exists(dir + "/" + k_toy_llm_file)) {
        GTEST_SKIP() << "no trained model in " << dir;
    }
    report(dir.c_str(), compare(dir, 4));
}

