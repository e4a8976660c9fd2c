// Unit tests of the toy LMM: the word vocabulary and its agreement with libllama's tokenizer, export and
// reload of both GGUFs, the toy-vit vision module against the training graph, and a short training run whose
// loss falls.
#include "backend.h"
#include "common.h"
#include "gguf-loader.h"
#include "util/max-error.h"
#include "lmm.h"
#include "models/toy-vit.h"
#include "toy/batch.h"
#include "toy/model.h"
#include "toy/train.h"
#include "toy/world.h"

#include "ggml-alloc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

using namespace glm;
using namespace glm::toy;

namespace {

toy_arch tiny_arch() {
    toy_arch a;
    a.vit.n_embd        = 32;
    a.vit.n_ff          = 64;
    a.vit.n_head        = 2;
    a.vit.n_layer       = 1;
    a.vit.n_proj_hidden = 32;
    a.dec.n_embd        = 32;
    a.dec.n_ff          = 64;
    a.dec.n_head        = 2;
    a.dec.n_layer       = 2;
    return a;
}

std::string temp_dir(const char * name) {
    std::string d = std::string(testing::TempDir()) + "toy-" + name + "-" + std::to_string(getpid());
    make_dirs(d);
    return d;
}

std::vector<float> host(const ggml_tensor * t) {
    std::vector<float> v((size_t) ggml_nelements(t));
    ggml_backend_tensor_get(t, v.data(), 0, v.size() * sizeof(float));
    return v;
}

}  // namespace

TEST(ToyVocab, WordsRoundTrip) {
    const toy_vocab v({ "a", "red", "circle", "and", "big", ".", "," });
    EXPECT_EQ(v.piece(v.word_id("red")), "\xe2\x96\x81red");
    EXPECT_EQ(v.piece(v.word_id(".")), ".");
    EXPECT_EQ(v.word_id("blue"), -1);
    const std::string      text = "a big red circle, and a red circle.";
    const std::vector<int> ids  = v.encode(text);
    ASSERT_EQ(ids.size(), 10u);
    EXPECT_EQ(v.decode(ids), text);
    const auto spans = v.encode_spans(text);
    EXPECT_EQ(text.substr(spans[3].first, spans[3].second - spans[3].first), "circle");
    EXPECT_EQ(text.substr(spans[4].first, spans[4].second - spans[4].first), ",");
    for (int id : ids) {
        EXPECT_TRUE(v.is_word(id));
    }
    EXPECT_FALSE(v.is_word(v.bos()));
    EXPECT_THROW(v.encode("a blue circle."), glm::error);
    EXPECT_THROW(toy_vocab({ "red", "red" }), glm::error);
}

TEST(ToyModel, ExportReloadAndLlamaTokenizer) {
    const std::string dir = temp_dir("export");
    toy_model         m(tiny_arch(), 42);
    m.save(dir, "test recipe");
    toy_model r(dir);
    ASSERT_EQ(m.tensors().size(), r.tensors().size());
    for (size_t i = 0; i < m.tensors().size(); ++i) {
        EXPECT_STREQ(m.tensors()[i]->name, r.tensors()[i]->name);
        EXPECT_EQ(host(m.tensors()[i]), host(r.tensors()[i])) << m.tensors()[i]->name;
    }
    EXPECT_EQ(m.prompt_pre(), r.prompt_pre());
    EXPECT_EQ(m.prompt_post(), r.prompt_post());
    EXPECT_EQ(m.vocab().n_tokens(), r.vocab().n_tokens());

    // libllama loads the decoder and tokenises captions into exactly our word tokens
    lmm_params lp;
    lp.model     = dir + "/" + k_toy_llm_file;
    lp.n_ctx     = 256;
    lp.n_threads = 2;
    lmm_model lm(lp);
    EXPECT_EQ(lm.n_vocab(), m.vocab().n_tokens());
    EXPECT_EQ(lm.n_embd(), m.dec_hp().n_embd);
    EXPECT_EQ(lm.prompt_template(), k_toy_template);
    const world_params wp;
    for (int i = 0; i < 200; ++i) {
        const std::string      cap  = world_generate(wp, 9, world_split::train, i).caption;
        const std::vector<int> ours = m.vocab().encode(cap);
        const std::vector<int32_t> ll = lm.tokenize(cap, /*add_special=*/false);
        ASSERT_EQ(std::vector<int32_t>(ours.begin(), ours.end()), ll) << cap;
    }
    for (const std::string & w : world_caption_words()) {
        // punctuation always follows a word in captions ("circle.")
        const bool                 punct = !isalpha((unsigned char) w[0]);
        const std::vector<int32_t> ll    = lm.tokenize(punct ? "a" + w : w, false);
        ASSERT_EQ(ll.size(), punct ? 2u : 1u) << w;
        EXPECT_EQ(ll.back(), m.vocab().word_id(w));
        // the runner's pieces put the space back in front of words
        EXPECT_EQ(lm.piece(ll.back()), (punct ? "" : " ") + w);
    }
    // the template's two sides as the runner tokenises them (BOS on the first)
    const std::string t  = lm.prompt_template();
    const size_t      at = t.find("<image>");
    const auto        pre  = lm.tokenize(t.substr(0, at), true);
    const auto        post = lm.tokenize(t.substr(at + 7), false);
    EXPECT_EQ(std::vector<int>(pre.begin(), pre.end()), m.prompt_pre());
    EXPECT_EQ(std::vector<int>(post.begin(), post.end()), m.prompt_post());
    // other text still tokenises (byte fallback), it just is not made of our words
    EXPECT_FALSE(lm.tokenize("Describe the image in detail.", false).empty());

    // the vision module computes what the training graph computes
    compute_backend be(backend_params{ 2, false, 0 });
    toyvit_encoder  enc(dir + "/" + k_toy_vit_file, be);
    EXPECT_EQ(enc.n_embd(), m.dec_hp().n_embd);
    const world_scene  sc  = world_generate(wp, 9, world_split::test, 3);
    const vision_output vo = enc.encode(sc.img);
    ASSERT_EQ(vo.n_tokens, m.vit_hp().n_patches());
    {
        graph_ctx     g;
        ggml_tensor * inp = ggml_new_tensor_3d(g.ctx(), GGML_TYPE_F32, m.vit_hp().patch_dim(), m.vit_hp().n_patches(), 1);
        ggml_set_input(inp);
        ggml_tensor * out = toyvit_build(g.ctx(), m.vit_hp(), m.vit(), inp);
        ggml_set_output(out);
        ggml_cgraph * gf = g.new_graph();
        ggml_build_forward_expand(gf, out);
        ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_get_default_buffer_type(m.backend()));
        ASSERT_TRUE(ggml_gallocr_alloc_graph(ga, gf));
        const std::vector<float> p = toyvit_preprocess(m.vit_hp(), sc.img, nullptr);
        ggml_backend_tensor_set(inp, p.data(), 0, p.size() * sizeof(float));
        ASSERT_EQ(ggml_backend_graph_compute(m.backend(), gf), GGML_STATUS_SUCCESS);
        const std::vector<float> ref = host(out);
        ggml_gallocr_free(ga);
        const double err = test::max_abs_diff(ref, vo.embd);
        printf("toy-vit module vs training graph: max abs error %.3g\n", err);
        EXPECT_LT(err, 1e-5);
    }
    // a 2x larger rendering of the same scene goes through the same preprocessing (PIL bicubic resize)
    world_params big = wp;
    big.size         = 128;
    EXPECT_EQ(enc.encode(world_generate(big, 9, world_split::test, 3).img).embd.size(), vo.embd.size());
}

TEST(ToyModel, BadFiles) {
    const std::string dir = temp_dir("bad");
    EXPECT_THROW(toy_model m(dir), glm::error);  // no files
    write_file(dir + "/" + k_toy_llm_file, std::string("not a gguf"));
    EXPECT_THROW(toy_model m(dir), glm::error);
}

// A finer grid for a trained model (toy-train --init --image-size): every weight but the positions is copied,
// the positions are resampled bilinearly (a field linear in x and y is reproduced away from the clamped border),
// the context grows by the added tokens, and the model still runs and saves.
TEST(ToyModel, RegridResamplesPositions) {
    toy_model src(tiny_arch(), 3);
    const int g0 = src.vit_hp().grid(), C = src.vit_hp().n_embd;
    std::vector<float> field((size_t) C * g0 * g0);
    for (int y = 0; y < g0; ++y) {
        for (int x = 0; x < g0; ++x) {
            for (int c = 0; c < C; ++c) {
                field[(size_t) C * (y * g0 + x) + c] = 0.25f * (float) x - 0.5f * (float) y + (float) c;
            }
        }
    }
    ggml_backend_tensor_set(src.vit().pos, field.data(), 0, field.size() * sizeof(float));
    const auto dst = toy_regrid(src, 2 * src.vit_hp().image_size);
    const int  g1  = dst->vit_hp().grid();
    ASSERT_EQ(g1, 2 * g0);
    EXPECT_EQ(dst->vit_hp().patch_size, src.vit_hp().patch_size);
    EXPECT_EQ(dst->dec_hp().n_ctx - src.dec_hp().n_ctx, dst->vit_hp().n_patches() - src.vit_hp().n_patches());
    EXPECT_EQ(dst->caption_start() - src.caption_start(), dst->vit_hp().n_patches() - src.vit_hp().n_patches());
    for (size_t i = 0; i < src.tensors().size(); ++i) {
        if (src.tensors()[i] != src.vit().pos) {
            EXPECT_EQ(host(src.tensors()[i]), host(dst->tensors()[i])) << src.tensors()[i]->name;
        }
    }
    const std::vector<float> pos = host(dst->vit().pos);
    for (int y = 1; y < g1 - 1; ++y) {  // new cell centre (j + 0.5) / 2 - 0.5 in old cells
        for (int x = 1; x < g1 - 1; ++x) {
            const float sx = (x + 0.5f) / 2 - 0.5f, sy = (y + 0.5f) / 2 - 0.5f;
            for (int c = 0; c < C; c += 7) {
                EXPECT_NEAR(pos[(size_t) C * (y * g1 + x) + c], 0.25f * sx - 0.5f * sy + (float) c, 1e-5f)
                    << y << "," << x << "," << c;
            }
        }
    }
    EXPECT_FLOAT_EQ(pos[0], field[0]);  // the corner clamps to the old corner
    const std::string d = temp_dir("regrid");
    dst->save(d);
    const toy_model back(d);
    EXPECT_EQ(back.vit_hp().image_size, dst->vit_hp().image_size);
    EXPECT_EQ(back.dec_hp().n_ctx, dst->dec_hp().n_ctx);
    EXPECT_EQ(host(back.vit().pos), pos);
    EXPECT_THROW(toy_regrid(src, src.vit_hp().image_size + 1), glm::error);
}

// The caption style a model was trained on travels with it: saved, reloaded, kept by a regrid; absent means mixed.
TEST(ToyModel, CaptionStyleIsSaved) {
    toy_model m(tiny_arch(), 4);
    EXPECT_EQ(m.captions(), caption_order::mixed);
    m.set_captions(caption_order::left_to_right);
    const std::string d = temp_dir("captions");
    m.save(d);
    const toy_model back(d);
    EXPECT_EQ(back.captions(), caption_order::left_to_right);
    EXPECT_EQ(toy_regrid(back, 2 * back.vit_hp().image_size)->captions(), caption_order::left_to_right);
    EXPECT_EQ(glm::gguf_loader(d + "/" + k_toy_llm_file).get_str("groundlmm.toy.caption_order", ""), "left-to-right");
}

TEST(ToyTrain, ShortRunLossFalls) {
    train_params p;
    p.out_dir    = temp_dir("train");
    p.steps      = 60;
    p.batch      = 8;
    p.lr         = 3e-3f;
    p.warmup     = 10;
    p.eval_every = 30;
    p.eval_n     = 16;
    p.n_threads  = 1;  // ggml's spinning barriers make 2 threads slower than 1 on a busy 2-core machine
    p.arch       = tiny_arch();
    p.recipe     = "test";
    const train_result r = toy_train(p);
    ASSERT_EQ((int) r.losses.size(), p.steps);
    double first = 0.0, last = 0.0;
    for (int i = 0; i < 5; ++i) {
        first += r.losses[i] / 5;
        last += r.losses[p.steps - 1 - i] / 5;
    }
    printf("training loss: first 5 steps %.3f, last 5 steps %.3f (ln V = %.3f)\n", first, last,
           std::log((double) toy_model(tiny_arch(), 1).vocab().n_tokens()));
    EXPECT_GT(first - last, 1.5);
    ASSERT_EQ(r.evals.size(), 2u);
    EXPECT_LT(r.evals[1].val_loss, r.evals[0].val_loss + 0.1);
    // the checkpoints reload and the log exists
    toy_model kept(p.out_dir), best(p.out_dir + "/best-pacc"), last_m(p.out_dir + "/last");
    EXPECT_EQ(best.n_params(), r.n_params);
    EXPECT_TRUE(file_exists(p.out_dir + "/train-log.json"));
    // the same seed trains the same weights
    train_params q = p;
    q.out_dir      = temp_dir("train2");
    q.steps        = 5;
    q.eval_every   = 0;
    const train_result a = toy_train(q);
    const train_result b = toy_train(q);
    EXPECT_EQ(a.losses, b.losses);
}

// A continued run (init_dir + first_scene) starts from the saved weights on the scenes after the first stage's:
// its first training loss (computed before the first update) is the loaded model's loss on exactly those scenes.
TEST(ToyTrain, ContinueFromModelFolder) {
    train_params p;
    p.out_dir    = temp_dir("stage1");
    p.steps      = 5;
    p.batch      = 8;
    p.lr         = 3e-3f;
    p.warmup     = 2;
    p.eval_every = 0;
    p.eval_n     = 8;
    p.n_threads  = 1;
    p.arch       = tiny_arch();
    p.recipe     = "test";
    const train_result first = toy_train(p);

    train_params q = p;
    q.out_dir      = temp_dir("stage2");
    q.init_dir     = p.out_dir + "/last";
    q.first_scene  = (int64_t) p.steps * p.batch;
    q.steps        = 2;
    q.arch         = toy_arch();  // ignored: the sizes come from the files
    const train_result second = toy_train(q);
    ASSERT_EQ(second.losses.size(), 2u);
    EXPECT_EQ(second.n_params, first.n_params);

    const toy_model          stage1(q.init_dir);
    std::vector<world_scene> scenes;
    for (int i = 0; i < q.batch; ++i) {
        scenes.push_back(world_generate(q.world, q.seed, world_split::train, q.first_scene + i));
    }
    const double expect = toy_evaluate(stage1, scenes).val_loss;
    printf("continued run: first loss %.5f, the stage-1 model on those scenes %.5f (stage 1 ended at %.5f)\n",
           second.losses[0], expect, first.losses.back());
    EXPECT_NEAR(second.losses[0], expect, 1e-3);
    // the scenes of step 0 of the first stage give another loss: the offset is applied
    std::vector<world_scene> early;
    for (int i = 0; i < q.batch; ++i) {
        early.push_back(world_generate(q.world, q.seed, world_split::train, i));
    }
    EXPECT_GT(std::fabs(toy_evaluate(stage1, early).val_loss - second.losses[0]), 1e-3);
    // the recipe of the continued model is kept by the command line tool; here the folder reloads
    toy_model kept(q.out_dir + "/last");
    EXPECT_EQ(kept.n_params(), first.n_params);
}

namespace {

struct stop_after {
    int step = 0;
};

void stop_cb(const train_progress & pr, void * ud) {
    if (pr.step == ((const stop_after *) ud)->step) {
        throw std::runtime_error("interrupted");  // stands for a killed process: nothing is cleaned up
    }
}

std::vector<uint8_t> bytes(const std::string & path) { return read_file(path); }

}  // namespace

// A run interrupted after step 5 (its last checkpoint: step 4) and resumed gives the losses, evaluations and
// model files of the uninterrupted run, bit for bit.
TEST(ToyTrain, ResumeIsBitIdentical) {
    train_params p;
    p.out_dir    = temp_dir("whole");
    p.steps      = 8;
    p.batch      = 4;
    p.lr         = 3e-3f;
    p.warmup     = 3;
    p.eval_every = 2;
    p.eval_n     = 4;
    p.n_threads  = 1;
    p.arch       = tiny_arch();
    p.recipe     = "test";
    const train_result whole = toy_train(p);

    train_params q = p;
    q.out_dir      = temp_dir("interrupted");
    stop_after stop{ 5 };
    q.progress  = stop_cb;
    q.user_data = &stop;
    EXPECT_THROW(toy_train(q), std::runtime_error);
    ASSERT_TRUE(file_exists(q.out_dir + "/resume/" + k_toy_optimizer_file));
    q.progress = nullptr;
    q.resume   = true;
    const train_result resumed = toy_train(q);

    EXPECT_EQ(resumed.losses, whole.losses);
    ASSERT_EQ(resumed.evals.size(), whole.evals.size());
    for (size_t i = 0; i < whole.evals.size(); ++i) {
        EXPECT_EQ(resumed.evals[i].step, whole.evals[i].step);
        EXPECT_EQ(resumed.evals[i].val_loss, whole.evals[i].val_loss);
        EXPECT_EQ(resumed.evals[i].pacc, whole.evals[i].pacc);
    }
    EXPECT_EQ(resumed.best, whole.best);
    EXPECT_EQ(resumed.best_loss, whole.best_loss);
    for (const char * sub : { "", "/best-pacc", "/last" }) {
        for (const char * f : { k_toy_llm_file, k_toy_vit_file }) {
            EXPECT_EQ(bytes(q.out_dir + sub + "/" + f), bytes(p.out_dir + sub + "/" + f)) << sub << "/" << f;
        }
    }
    // resuming with another recipe is refused, naming the option
    train_params r = q;
    r.lr           = 1e-3f;
    try {
        toy_train(r);
        ADD_FAILURE() << "a resume with another --lr was accepted";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos) << e.what();
    }
}
