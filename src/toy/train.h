// toy/train.h: trains the toy LMM end to end on toy-world captions with ggml-opt (AdamW), next-token loss
// on the caption tokens only (no masks, boxes or positions), and watches grounding emerge.
//
// Every step draws fresh training scenes (split train, index first_scene + step * batch + i), so a run is a
// pure function of its params (and, when it continues a model, of that model's files). Every eval_every steps the trainer measures the validation loss and the point accuracy of
// the teacher-forced attention (toy/probe.h) on validation scenes. Checkpoints: <out_dir> itself holds the one
// with the lowest validation loss (the model to use: `toy-train -o models/toy` writes the embedded model's
// files), <out_dir>/best-pacc the one with the highest validation point accuracy (the only use of validation
// masks; training never reads masks), <out_dir>/last the final one; the curve goes to
// <out_dir>/train-log.json, rewritten after every evaluation, so a run stopped early keeps its checkpoints
// and their curve.
//
// Resumable: after every evaluation the trainer also writes <out_dir>/resume (the weights, and in
// k_toy_optimizer_file the step, the run's params and ggml-opt's AdamW moments, read from the optimizer-step
// nodes of the graph). A run continued with `resume` restores them, overrides ggml-opt's bias-correction
// factors (its step counter has no setter and restarts at 1) with those of the global step, and continues:
// the losses, checkpoints and log equal those of an uninterrupted run bit for bit.
//
// toy_train() is a blocking call; it uses its own CPU backend and the number of threads it is given.
#pragma once

#include "toy/model.h"
#include "toy/world.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm::toy {

extern const char * const k_toy_optimizer_file;  // "toy-optimizer.gguf" in <out_dir>/resume

struct train_eval {
    int    step     = 0;
    double val_loss = 0.0;  // mean next-token loss per caption token (+ EOS) on the validation scenes (nats)
    double pacc     = 0.0;  // point accuracy of the head noun's map (mean over layers and heads, normalised)
    double pacc_h2  = 0.0;  // the same with head n_head - 2 only (the official single-head variant)
    double pacc_phrase = 0.0;  // the map of the whole phrase (size, colour and shape words)
    double pacc_hard = 0.0; // head noun, objects whose colour another object shares
};

struct train_progress {
    int          step      = 0;    // steps done
    int          steps     = 0;    // steps in the run
    double       loss      = 0.0;  // this step's training loss (nats per token)
    double       loss_avg  = 0.0;  // running mean of the last 50 steps
    double       lr        = 0.0;
    double       elapsed_s = 0.0;
    const train_eval * eval = nullptr;  // set on the steps that evaluated
};

typedef void (*train_progress_cb)(const train_progress & p, void * user_data);

struct train_params {
    std::string  out_dir;             // checkpoints and log go here (created)
    int          steps      = 3000;   // optimizer steps
    int          batch      = 32;     // scenes per step
    uint64_t     seed       = 1;      // initialisation and training data
    float        lr         = 2e-3f;  // peak AdamW learning rate
    float        lr_final   = 0.1f;   // final learning rate as a fraction of lr (cosine decay after warm-up)
    int          warmup     = 100;    // linear warm-up steps
    float        beta1      = 0.9f;
    float        beta2      = 0.99f;
    float        wd         = 0.0f;   // AdamW decoupled weight decay
    int          eval_every = 250;    // steps between evaluations; 0 = only at the end
    int          eval_n     = 256;    // validation scenes per evaluation
    uint64_t     eval_seed  = 1;      // world seed of the validation scenes
    int          n_threads  = 1;      // CPU threads (0 = all); ggml's barriers spin, so on a busy machine 1 wins
    toy_arch     arch;                // model sizes (ignored with init_dir)
    std::string  init_dir;            // if set: start from this model folder's weights (sizes from its files)
                                      // instead of a random initialisation; the optimizer starts fresh
    int          init_image_size = 0; // with init_dir: > 0 regrids the model to this input size (toy_regrid)
    int64_t      first_scene = 0;     // index of the first training scene (step s uses first_scene + s * batch
                                      // ...): a continued run passes the scenes its first stage consumed
    bool         resume     = false;  // continue the interrupted run in out_dir from <out_dir>/resume (the
                                      // other params must be the run's); the result is bit-identical
    world_params world;               // the scenes (world.size is replaced by scene_size); world.order is the
                                      // caption style, recorded in the saved model (toy_model::captions)
    int          scene_size = 0;      // side the training and validation scenes are rendered at; 0 = the model's
                                      // input size (toy-world geometry scales with it)
    std::string  recipe;              // the command line, stored in the checkpoints
    train_progress_cb progress  = nullptr;
    void *            user_data = nullptr;
};

struct train_result {
    double                  seconds  = 0.0;
    int64_t                 n_params = 0;
    std::vector<float>      losses;   // training loss per step
    std::vector<train_eval> evals;
    int                     best     = -1;  // index into evals of the highest point accuracy (best-pacc/)
    int                     best_loss = -1; // index into evals of the lowest validation loss (<out_dir>)
};

train_result toy_train(const train_params & p);

// Evaluates a model on validation scenes (what the trainer logs at each evaluation).
train_eval toy_evaluate(const toy_model & m, const std::vector<world_scene> & scenes);

}  // namespace glm::toy
