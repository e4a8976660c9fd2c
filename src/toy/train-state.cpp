#include "toy/train-state.h"

#include "common.h"
#include "gguf-loader.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>

namespace glm::toy {

const char * const k_toy_optimizer_file = "toy-optimizer.gguf";

namespace {

// The params that define a run (a resume with any other value would not continue the same run), as text.
std::vector<std::pair<std::string, std::string>> run_params(const train_params & p) {
    auto f = [](double x) { return strfmt("%.9g", x); };
    auto i = [](long long x) { return strfmt("%lld", x); };
    return {
        { "steps", i(p.steps) },           { "batch", i(p.batch) },
        { "seed", strfmt("%llu", (unsigned long long) p.seed) },
        { "lr", f(p.lr) },                 { "lr-final", f(p.lr_final) },
        { "warmup", i(p.warmup) },         { "beta1", f(p.beta1) },
        { "beta2", f(p.beta2) },           { "wd", f(p.wd) },
        { "eval-every", i(p.eval_every) }, { "eval-n", i(p.eval_n) },
        { "eval-seed", strfmt("%llu", (unsigned long long) p.eval_seed) },
        { "init", p.init_dir },            { "first-scene", i(p.first_scene) },
        { "world.size", i(p.world.size) }, { "world.min_objects", i(p.world.min_objects) },
        { "world.max_objects", i(p.world.max_objects) }, { "scene-size", i(p.scene_size) },
        { "image-size", i(p.init_image_size) }, { "caption-order", caption_order_name(p.world.order) },
    };
}

const char * const k_key_step    = "groundlmm.toy_train.step";
const char * const k_key_seconds = "groundlmm.toy_train.seconds";
const std::string  k_key_param   = "groundlmm.toy_train.param.";

}  // namespace

adamw_moments find_adamw_moments(ggml_context * ctx, const toy_model & model) {
    std::map<const ggml_tensor *, std::pair<ggml_tensor *, ggml_tensor *>> by_param;
    for (ggml_tensor * t = ggml_get_first_tensor(ctx); t; t = ggml_get_next_tensor(ctx, t)) {
        if (t->op == GGML_OP_OPT_STEP_ADAMW) {
            by_param[t->src[0]] = { t->src[2], t->src[3] };
        }
    }
    adamw_moments mom;
    for (const ggml_tensor * w : model.tensors()) {
        auto it = by_param.find(w);
        if (it == by_param.end() || !it->second.first || !it->second.second) {
            fail("toy-train: no AdamW moments for parameter %s in the optimizer graph", ggml_get_name(w));
        }
        mom.m.push_back(it->second.first);
        mom.v.push_back(it->second.second);
    }
    return mom;
}

void save_train_state(const std::string & dir, const toy_model & model, const train_params & p,
                      const adamw_moments & mom, int step, double seconds) {
    const std::string tmp = dir + ".tmp";
    std::filesystem::remove_all(tmp);
    model.save(tmp, p.recipe);
    gguf_writer w;
    w.set_str("general.name", "groundlmm toy-train optimizer state");
    w.set_i32(k_key_step, step);
    w.set_f32(k_key_seconds, (float) seconds);
    for (const auto & kv : run_params(p)) {
        w.set_str(k_key_param + kv.first, kv.second);
    }
    const auto & ws = model.tensors();
    for (size_t i = 0; i < ws.size(); ++i) {
        for (int k = 0; k < 2; ++k) {
            const ggml_tensor * t = k == 0 ? mom.m[i] : mom.v[i];
            std::vector<float>  h((size_t) ggml_nelements(t));
            ggml_backend_tensor_get(t, h.data(), 0, h.size() * sizeof(float));
            std::vector<int64_t> ne(ws[i]->ne, ws[i]->ne + ggml_n_dims(ws[i]));
            w.add_tensor(std::string(k == 0 ? "m." : "v.") + ggml_get_name(ws[i]), GGML_TYPE_F32, ne, h.data());
        }
    }
    w.write(tmp + "/" + k_toy_optimizer_file);
    std::filesystem::remove_all(dir);
    std::filesystem::rename(tmp, dir);
}

train_state load_train_state(const std::string & dir, const toy_model & model, const train_params & p) {
    const std::string path = dir + "/" + k_toy_optimizer_file;
    if (!file_exists(path)) {
        fail("toy-train --resume: %s not found (a run writes it at every evaluation)", path.c_str());
    }
    gguf_loader ld(path);
    for (const auto & kv : run_params(p)) {
        const std::string was = ld.get_str(k_key_param + kv.first);
        if (was != kv.second) {
            fail("toy-train --resume: %s is '%s' here but '%s' in the run being resumed (%s)", kv.first.c_str(),
                 kv.second.c_str(), was.c_str(), path.c_str());
        }
    }
    train_state st;
    st.step    = (int) ld.get_int(k_key_step);
    st.seconds = ld.get_float(k_key_seconds);
    if (st.step < 0 || st.step > p.steps) {
        fail("%s: %s is %d, expected 0..%d", path.c_str(), k_key_step, st.step, p.steps);
    }
    ld.load(model.backend());
    for (const ggml_tensor * w : model.tensors()) {
        std::vector<int64_t> ne(w->ne, w->ne + ggml_n_dims(w));
        for (int k = 0; k < 2; ++k) {
            ggml_tensor *      t = ld.get(std::string(k == 0 ? "m." : "v.") + ggml_get_name(w), ne);
            std::vector<float> h((size_t) ggml_nelements(t));
            ggml_backend_tensor_get(t, h.data(), 0, h.size() * sizeof(float));
            (k == 0 ? st.m : st.v).push_back(std::move(h));
        }
    }
    ld.check_all_used();
    return st;
}

void set_adamw_moments(const adamw_moments & mom, const train_state & st) {
    for (size_t i = 0; i < mom.m.size(); ++i) {
        ggml_backend_tensor_set(mom.m[i], st.m[i].data(), 0, st.m[i].size() * sizeof(float));
        ggml_backend_tensor_set(mom.v[i], st.v[i].data(), 0, st.v[i].size() * sizeof(float));
    }
}

bool bias_correction_cb(ggml_tensor * t, bool ask, void * user_data) {
    if (ask && t->op == GGML_OP_OPT_STEP_ADAMW) {
        const bias_correction * bc = (const bias_correction *) user_data;
        ggml_tensor *           pr = t->src[4];
        GGML_ASSERT(pr && pr->type == GGML_TYPE_F32 && ggml_nelements(pr) == 7 && pr->data);
        float * d = (float *) pr->data;
        // the same expressions as ggml_opt_eval, with the global step in place of ggml-opt's counter
        d[5] = 1.0f / (1.0f - powf(bc->beta1, bc->iter));
        d[6] = 1.0f / (1.0f - powf(bc->beta2, bc->iter));
    }
    return false;
}

}  // namespace glm::toy
