// toy/train-state.h: the resumable state of a toy-train run: the weights (a model folder) plus, in
// k_toy_optimizer_file, the steps done, the run's params and ggml-opt's AdamW moments.
//
// ggml-opt keeps the moments in its own context and exposes neither them nor its step counter. The moments are
// reachable all the same: with graphs rebuilt every step the optimizer-step nodes (GGML_OP_OPT_STEP_ADAMW:
// src[0] the parameter, src[2] m, src[3] v, src[4] the 7 step params alpha, beta1, beta2, eps, wd, beta1h,
// beta2h, as ggml.h documents them) live in the caller's compute context. The step counter is not: it restarts
// at 1 in a new ggml_opt_context, so a resumed run overrides the bias-correction factors beta1h and beta2h in the
// step params with those of the global step, from the scheduler's evaluation callback, which runs after
// ggml_opt_eval wrote them and before the graph is computed.
//
// Plain functions over caller-owned objects; no shared state.
#pragma once

#include "toy/model.h"
#include "toy/train.h"

#include "ggml-backend.h"
#include "ggml.h"

#include <string>
#include <vector>

namespace glm::toy {

// The AdamW moments of the model's parameters (model.tensors() order), found among the optimizer-step nodes of
// a compute context after ggml_opt_alloc; throws when a parameter has none.
struct adamw_moments {
    std::vector<ggml_tensor *> m, v;
};
adamw_moments find_adamw_moments(ggml_context * ctx_compute, const toy_model & model);

// The state a resumed run needs besides the weights.
struct train_state {
    int                             step    = 0;    // optimizer steps done
    double                          seconds = 0.0;  // wall time spent on them
    std::vector<std::vector<float>> m, v;           // moments per parameter (model.tensors() order)
};

// Writes <dir>: the model folder and k_toy_optimizer_file (moments read from `mom`; the params that define the
// run, so that a resume with other params is refused). Writes into <dir>.tmp first and renames it.
void save_train_state(const std::string & dir, const toy_model & model, const train_params & p,
                      const adamw_moments & mom, int step, double seconds);

// Reads k_toy_optimizer_file of <dir>, checking that the run's params equal p (throws naming the first that
// differs) and the moments' shapes those of the model.
train_state load_train_state(const std::string & dir, const toy_model & model, const train_params & p);

// Copies host moments into the optimizer's tensors.
void set_adamw_moments(const adamw_moments & mom, const train_state & st);

// Scheduler evaluation callback (ggml_backend_sched_set_eval_callback) that sets beta1h and beta2h of every
// optimizer-step node to the values of step `iter` (1-based, as ggml-opt counts); asks for no tensor, so the
// graph is computed in one piece exactly as without a callback.
struct bias_correction {
    float   beta1 = 0.9f, beta2 = 0.999f;
    int64_t iter  = 1;
};
bool bias_correction_cb(ggml_tensor * t, bool ask, void * user_data);

}  // namespace glm::toy
