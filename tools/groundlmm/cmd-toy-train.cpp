// groundlmm toy-train: trains the toy LMM on toy-world captions (ggml-opt, AdamW) and writes checkpoints:
// <out> itself (lowest validation loss), <out>/best-pacc (highest validation point accuracy), <out>/last,
// <out>/train-log.json.
#include "cli-common.h"
#include "common.h"
#include "gguf-loader.h"
#include "toy/train.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace {

void progress(const glm::toy::train_progress & p, void *) {
    const int  width = 30;
    const int  fill  = (int) ((double) p.step / p.steps * width);
    std::string bar(fill, '#');
    bar += std::string(width - fill, '.');
    const double eta = p.step > 0 ? p.elapsed_s / p.step * (p.steps - p.step) : 0.0;
    fprintf(stderr, "\r[%s] %5d/%d loss %.4f (avg %.4f) lr %.2e  %4.0fs, eta %4.0fs ", bar.c_str(), p.step,
            p.steps, p.loss, p.loss_avg, p.lr, p.elapsed_s, eta);
    if (p.eval) {
        fprintf(stderr,
                "\n  step %d: val loss %.4f, point accuracy %.3f (head H-2 %.3f, whole phrase %.3f, shared colour "
                "%.3f)\n",
                p.eval->step, p.eval->val_loss, p.eval->pacc, p.eval->pacc_h2, p.eval->pacc_phrase, p.eval->pacc_hard);
    }
    fflush(stderr);
}

}  // namespace

int cmd_toy_train(int argc, char ** argv) {
    CLI::App                 app("Train the toy LMM on toy-world captions (captions only, next-token loss)", argv[0]);
    glm::toy::train_params   p;
    app.add_option("-o,--output", p.out_dir, "output folder: the checkpoint with the lowest validation loss, best-pacc/, last/, train-log.json")->required();
    app.add_option("--steps", p.steps, "optimizer steps")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--batch", p.batch, "scenes per step")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--seed", p.seed, "seed of the initialisation and the training scenes")->capture_default_str();
    app.add_option("--lr", p.lr, "peak AdamW learning rate")->capture_default_str();
    app.add_option("--lr-final", p.lr_final, "final learning rate, fraction of --lr (cosine)")->capture_default_str();
    app.add_option("--warmup", p.warmup, "linear warm-up steps")->capture_default_str();
    app.add_option("--wd", p.wd, "AdamW weight decay")->capture_default_str();
    app.add_option("--eval-every", p.eval_every, "steps between grounding evaluations (0 = at the end)")->capture_default_str();
    app.add_option("--eval-n", p.eval_n, "validation scenes per evaluation")->capture_default_str();
    app.add_option("--init", p.init_dir, "continue training this model folder (toy-llm.gguf, toy-vit.gguf) instead of a random initialisation; its files give the sizes")->check(CLI::ExistingDirectory);
    app.add_option("--first-scene", p.first_scene, "index of the first training scene (a continued run passes the scenes of its first stage: steps x batch)")->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_flag("--resume", p.resume, "continue the interrupted run in -o from <out>/resume (written at every evaluation; give the run's options again): bit-identical to an uninterrupted run");
    app.add_option("-t,--threads", p.n_threads, "CPU threads (0 = all; more than 1 pays only on an idle machine)")->capture_default_str();
    app.add_option("--image-size", p.arch.vit.image_size, "vision input side in pixels (the token grid is image size / patch size); with --init: regrid the model to it (position embeddings resampled)")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--scene-size", p.scene_size, "side the toy-world scenes are rendered at (0 = the model's input size)")->capture_default_str()->check(CLI::NonNegativeNumber);
    std::string order;
    app.add_option("--caption-order", order, "order of mention in the training captions: mixed (the original world) or left-to-right (default: the --init model's, else mixed)");
    app.add_option("--patch-size", p.arch.vit.patch_size, "vision patch side in pixels")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--vit-embd", p.arch.vit.n_embd, "vision width")->capture_default_str();
    app.add_option("--vit-layers", p.arch.vit.n_layer, "vision layers")->capture_default_str();
    app.add_option("--vit-ff", p.arch.vit.n_ff, "vision SwiGLU width")->capture_default_str();
    app.add_option("--vit-heads", p.arch.vit.n_head, "vision heads")->capture_default_str();
    app.add_option("--proj-hidden", p.arch.vit.n_proj_hidden, "projector hidden width")->capture_default_str();
    app.add_option("--embd", p.arch.dec.n_embd, "decoder width")->capture_default_str();
    app.add_option("--layers", p.arch.dec.n_layer, "decoder layers")->capture_default_str();
    app.add_option("--ff", p.arch.dec.n_ff, "decoder SwiGLU width")->capture_default_str();
    app.add_option("--heads", p.arch.dec.n_head, "decoder heads")->capture_default_str();
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    if (!p.init_dir.empty()) {
        for (const char * o : { "--patch-size", "--vit-embd", "--vit-layers", "--vit-ff", "--vit-heads", "--proj-hidden", "--embd",
                                "--layers", "--ff", "--heads" }) {
            if (app.count(o) > 0) {
                glm::fail("toy-train: %s cannot be combined with --init (the sizes come from %s)", o,
                          p.init_dir.c_str());
            }
        }
    }
    if (!order.empty()) {
        p.world.order = glm::toy::caption_order_from_string(order);
    } else if (!p.init_dir.empty()) {
        p.world.order = glm::toy::toy_read_caption_order(glm::gguf_loader(p.init_dir + "/" + glm::toy::k_toy_llm_file));
    }
    if (!p.init_dir.empty() && app.count("--image-size") > 0) {
        p.init_image_size = p.arch.vit.image_size;
    }
    // a finer grid needs a longer context: keep the caption room the default grid has
    p.arch.dec.n_ctx += std::max(0, p.arch.vit.n_patches() - glm::toyvit_hparams{}.n_patches());
    p.recipe = "groundlmm toy-train";
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) != "--resume") {  // a resumed run writes the files of the uninterrupted one
            p.recipe += std::string(" ") + argv[i];
        }
    }
    if (!p.init_dir.empty()) {  // a continued model's recipe is its first stage's, then this command
        const std::string first =
            glm::gguf_loader(p.init_dir + "/" + glm::toy::k_toy_llm_file).get_str("groundlmm.recipe", "");
        p.recipe = (first.empty() ? "(unknown)" : first) + "; then " + p.recipe;
    }
    p.progress = progress;
    const glm::toy::train_result r = glm::toy::toy_train(p);
    const auto & last = r.evals.back();
    const auto & best = r.evals[r.best];
    const auto & kept = r.evals[r.best_loss];
    fprintf(stderr, "trained %lld parameters in %.1fs (%.3fs/step); final training loss %.4f\n",
            (long long) r.n_params, r.seconds, r.seconds / p.steps, r.losses.back());
    fprintf(stderr, "lowest val loss: step %d, val loss %.4f, point accuracy %.3f (%s)\n", kept.step,
            kept.val_loss, kept.pacc, p.out_dir.c_str());
    fprintf(stderr, "best point accuracy: step %d, val loss %.4f, point accuracy %.3f (%s/best-pacc)\n", best.step,
            best.val_loss, best.pacc, p.out_dir.c_str());
    fprintf(stderr, "last: step %d, val loss %.4f, point accuracy %.3f (%s/last)\n", last.step, last.val_loss,
            last.pacc, p.out_dir.c_str());
    return 0;
}
