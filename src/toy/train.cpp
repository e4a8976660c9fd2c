#include "toy/train.h"

#include "common.h"
#include "toy/batch.h"
#include "toy/probe.h"
#include "toy/train-state.h"

#include "ggml-cpu.h"
#include "ggml-opt.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

namespace glm::toy {

namespace {

const size_t k_graph_size = 32768;  // nodes of the forward + backward + optimizer graph (with room to spare)

struct lr_state {
    const train_params * p    = nullptr;
    int                  step = 0;
    double               lr   = 0.0;
};

ggml_opt_optimizer_params opt_params_cb(void * ud) {
    lr_state *           s = (lr_state *) ud;
    const train_params & p = *s->p;
    double               f;
    if (s->step < p.warmup) {
        f = (s->step + 1.0) / p.warmup;
    } else {
        const double t = p.steps > p.warmup ? (double) (s->step - p.warmup) / (p.steps - p.warmup) : 1.0;
        f              = p.lr_final + (1.0 - p.lr_final) * 0.5 * (1.0 + std::cos(3.14159265358979 * t));
    }
    s->lr = p.lr * f;
    ggml_opt_optimizer_params o = ggml_opt_get_default_optimizer_params(nullptr);
    o.adamw.alpha = (float) s->lr;
    o.adamw.beta1 = p.beta1;
    o.adamw.beta2 = p.beta2;
    o.adamw.eps   = 1e-8f;
    o.adamw.wd    = p.wd;
    return o;
}

std::vector<world_scene> make_scenes(const world_params & wp, uint64_t seed, world_split split, int64_t first,
                                     int n) {
    std::vector<world_scene> s;
    s.reserve(n);
    for (int i = 0; i < n; ++i) {
        s.push_back(world_generate(wp, seed, split, first + i));
    }
    return s;
}

nlohmann::json eval_json(const train_eval & e) {
    return { { "step", e.step },       { "val_loss", e.val_loss },       { "pacc", e.pacc },
             { "pacc_h2", e.pacc_h2 }, { "pacc_phrase", e.pacc_phrase }, { "pacc_hard", e.pacc_hard } };
}

}  // namespace

train_eval toy_evaluate(const toy_model & m, const std::vector<world_scene> & scenes) {
    const std::vector<probe_maps> maps = toy_probe(m, scenes);
    train_eval                    e;
    double                        nll = 0.0;
    int64_t                       n   = 0;
    for (const auto & pm : maps) {
        nll += pm.nll;
        n += pm.n_steps;
    }
    e.val_loss = n ? nll / n : 0.0;
    map_select sel;
    sel.words                  = phrase_words::shape;
    const grounding_score head = probe_point_accuracy(scenes, maps, sel);
    e.pacc                     = head.pacc();
    e.pacc_hard                = head.pacc_hard();
    sel.words                  = phrase_words::phrase;
    e.pacc_phrase              = probe_point_accuracy(scenes, maps, sel).pacc();
    sel.words                  = phrase_words::shape;
    sel.heads                  = head_select::head_h2;
    e.pacc_h2                  = probe_point_accuracy(scenes, maps, sel).pacc();
    return e;
}

train_result toy_train(const train_params & p) {
    if (p.out_dir.empty()) {
        fail("toy-train: no output folder");
    }
    if (p.steps < 1 || p.batch < 1 || p.lr <= 0.0f || p.warmup < 0 || p.eval_n < 1 || p.first_scene < 0) {
        fail("toy-train: bad params (steps %d, batch %d, lr %g, warmup %d, eval scenes %d, first scene %lld)",
             p.steps, p.batch, p.lr, p.warmup, p.eval_n, (long long) p.first_scene);
    }
    make_dirs(p.out_dir);
    const std::string resume_dir = p.out_dir + "/resume";

    std::unique_ptr<toy_model> owned =
        p.resume             ? std::make_unique<toy_model>(resume_dir)
        : p.init_dir.empty() ? std::make_unique<toy_model>(p.arch, p.seed)
                             : std::make_unique<toy_model>(p.init_dir);
    if (!p.resume && !p.init_dir.empty() && p.init_image_size > 0 &&
        p.init_image_size != owned->vit_hp().image_size) {
        GLM_LOG_INFO("toy-train: regridding %s from %dx%d to %dx%d pixels (%d to %d image tokens)\n",
                     p.init_dir.c_str(), owned->vit_hp().image_size, owned->vit_hp().image_size, p.init_image_size,
                     p.init_image_size, owned->vit_hp().n_patches(),
                     (p.init_image_size / owned->vit_hp().patch_size) * (p.init_image_size / owned->vit_hp().patch_size));
        owned = toy_regrid(*owned, p.init_image_size);
    }
    toy_model & model = *owned;
    train_state state;
    if (p.resume) {
        state = load_train_state(resume_dir, model, p);
        GLM_LOG_INFO("toy-train: resuming %s after step %d\n", p.out_dir.c_str(), state.step);
    }
    const double t0 = now_s() - state.seconds;
    if (!p.init_dir.empty() && !p.resume) {
        GLM_LOG_INFO("toy-train: continuing the model in %s from training scene %lld\n", p.init_dir.c_str(),
                     (long long) p.first_scene);
    }
    world_params world = p.world;
    world.size         = p.scene_size > 0 ? p.scene_size : model.vit_hp().image_size;
    if (model.captions() != world.order) {
        GLM_LOG_INFO("toy-train: captions in the %s order (the model was trained on %s)\n",
                     caption_order_name(world.order), caption_order_name(model.captions()));
        model.set_captions(world.order);
    }
    model.set_n_threads(p.n_threads);
    for (ggml_tensor * t : model.tensors()) {
        ggml_set_param(t);
    }
    train_result res;
    res.n_params = model.n_params();
    GLM_LOG_INFO("toy-train: %lld parameters (vision %d x %d, decoder %d x %d, vocabulary %d), %d steps of %d\n",
                 (long long) res.n_params, model.vit_hp().n_layer, model.vit_hp().n_embd, model.dec_hp().n_layer,
                 model.dec_hp().n_embd, model.dec_hp().n_vocab, p.steps, p.batch);

    ggml_backend_t       cpu   = model.backend();
    ggml_backend_sched_t sched = ggml_backend_sched_new(&cpu, nullptr, 1, k_graph_size, false, false);
    lr_state             lrs;
    lrs.p                 = &p;
    ggml_opt_params op    = ggml_opt_default_params(sched, GGML_OPT_LOSS_TYPE_CROSS_ENTROPY);
    op.get_opt_pars       = opt_params_cb;
    op.get_opt_pars_ud    = &lrs;
    op.optimizer          = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    ggml_opt_context_t  opt    = ggml_opt_init(op);
    ggml_opt_result_t   result = ggml_opt_result_init();
    bias_correction     bc;  // ggml-opt's bias correction, from the global step (toy/train-state.h)
    bc.beta1 = p.beta1;
    bc.beta2 = p.beta2;
    ggml_backend_sched_set_eval_callback(sched, bias_correction_cb, &bc);
    adamw_moments mom;

    const std::vector<world_scene> val = make_scenes(world, p.eval_seed, world_split::val, 0, p.eval_n);
    nlohmann::json                 log_evals = nlohmann::json::array();
    double                         best_pacc = -1.0, best_loss = 1e30;
    const int                      V         = model.dec_hp().n_vocab;

    // The log is rewritten after every evaluation, so a run stopped early leaves the curve of its checkpoints
    // ("steps_done" < "steps"); "seconds" is the wall time up to the last write.
    auto write_log = [&]() {
        nlohmann::json j;
        j["recipe"]     = p.recipe;
        j["seconds"]    = now_s() - t0;
        j["n_params"]   = res.n_params;
        j["steps"]      = p.steps;
        j["steps_done"] = (int) res.losses.size();
        j["batch"]      = p.batch;
        j["seed"]       = p.seed;
        j["init"]       = p.init_dir;
        j["first_scene"] = p.first_scene;
        j["lr"]         = p.lr;
        j["losses"]     = res.losses;
        j["evals"]      = log_evals;
        j["best_pacc"]  = res.best >= 0 ? eval_json(res.evals[res.best]) : nlohmann::json();
        j["best_loss"]  = res.best_loss >= 0 ? eval_json(res.evals[res.best_loss]) : nlohmann::json();
        j["last"]       = res.evals.empty() ? nlohmann::json() : eval_json(res.evals.back());
        write_file(p.out_dir + "/train-log.json", j.dump(1));
    };

    if (p.resume) {  // the curve so far, from the log written with the checkpoint
        const std::string    log_path = p.out_dir + "/train-log.json";
        const std::vector<uint8_t> raw = read_file(log_path);
        const nlohmann::json j = nlohmann::json::parse(raw.begin(), raw.end(), nullptr, false);
        if (j.is_discarded() || !j.contains("losses") || !j["losses"].is_array() || !j.contains("evals") ||
            (int) j["losses"].size() < state.step) {
            fail("toy-train --resume: %s is not the log of the first %d steps of this run", log_path.c_str(),
                 state.step);
        }
        for (int i = 0; i < state.step; ++i) {
            res.losses.push_back(j["losses"][i].get<float>());
        }
        for (const auto & je : j["evals"]) {
            train_eval e;
            e.step        = je.at("step").get<int>();
            e.val_loss    = je.at("val_loss").get<double>();
            e.pacc        = je.at("pacc").get<double>();
            e.pacc_h2     = je.at("pacc_h2").get<double>();
            e.pacc_phrase = je.at("pacc_phrase").get<double>();
            e.pacc_hard   = je.at("pacc_hard").get<double>();
            if (e.step > state.step) {
                break;
            }
            res.evals.push_back(e);
            log_evals.push_back(eval_json(e));
            if (e.pacc > best_pacc) {
                best_pacc = e.pacc;
                res.best  = (int) res.evals.size() - 1;
            }
            if (e.val_loss < best_loss) {
                best_loss     = e.val_loss;
                res.best_loss = (int) res.evals.size() - 1;
            }
        }
    }

    auto evaluate = [&](int step) {
        train_eval e = toy_evaluate(model, val);
        e.step       = step;
        res.evals.push_back(e);
        log_evals.push_back(eval_json(e));
        if (e.pacc > best_pacc) {
            best_pacc = e.pacc;
            res.best  = (int) res.evals.size() - 1;
            model.save(p.out_dir + "/best-pacc", p.recipe);
        }
        if (e.val_loss < best_loss) {
            best_loss     = e.val_loss;
            res.best_loss = (int) res.evals.size() - 1;
            model.save(p.out_dir, p.recipe);
        }
        write_log();
        return &res.evals.back();
    };

    for (int step = state.step; step < p.steps; ++step) {
        const std::vector<world_scene> scenes =
            make_scenes(world, p.seed, world_split::train, p.first_scene + (int64_t) step * p.batch, p.batch);
        const toy_batch b = toy_make_batch(model, scenes);

        const size_t     meta = 4 * k_graph_size * ggml_tensor_overhead() + 3 * ggml_graph_overhead_custom(k_graph_size, true);
        ggml_init_params ip   = { meta, nullptr, true };
        ggml_context *   ctx  = ggml_init(ip);
        toy_graph        g    = toy_build_graph(ctx, model, b.B, b.T, b.R, false);
        ggml_cgraph *    gf   = ggml_new_graph_custom(ctx, k_graph_size, true);
        ggml_build_forward_expand(gf, g.logits);

        lrs.step = step;
        bc.iter  = step + 1;
        ggml_opt_prepare_alloc(opt, ctx, gf, g.patches, g.logits);
        ggml_opt_alloc(opt, /*backward=*/true);
        if (mom.m.empty()) {  // the first step allocated (and zeroed) the moments
            mom = find_adamw_moments(ctx, model);
            if (p.resume) {
                set_adamw_moments(mom, state);
            }
        }
        // ggml-opt keeps gradient accumulators for graphs rebuilt every step and clears them only between
        // accumulation periods; with one step per period they must start from zero each step
        ggml_opt_reset(opt, /*optimizer=*/false);
        toy_set_inputs(model, g, b);
        {
            std::vector<float> labels((size_t) V * b.R, 0.0f);
            for (int r = 0; r < b.R; ++r) {
                labels[(size_t) r * V + b.targets[r]] = 1.0f;
            }
            ggml_backend_tensor_set(ggml_opt_labels(opt), labels.data(), 0, labels.size() * sizeof(float));
        }
        ggml_opt_result_reset(result);
        ggml_opt_eval(opt, result);
        double loss = 0.0, unc = 0.0;
        ggml_opt_result_loss(result, &loss, &unc);
        ggml_free(ctx);
        if (!std::isfinite(loss)) {
            ggml_opt_result_free(result);
            ggml_opt_free(opt);
            ggml_backend_sched_free(sched);
            fail("toy-train: the loss became %g at step %d (try a lower --lr)", loss, step + 1);
        }
        res.losses.push_back((float) loss);

        train_progress pr;
        pr.step      = step + 1;
        pr.steps     = p.steps;
        pr.loss      = loss;
        const int n  = std::min<int>(50, (int) res.losses.size());
        for (int i = 0; i < n; ++i) {
            pr.loss_avg += res.losses[res.losses.size() - 1 - i] / n;
        }
        pr.lr = lrs.lr;
        if ((p.eval_every > 0 && (step + 1) % p.eval_every == 0) || step + 1 == p.steps) {
            pr.eval = evaluate(step + 1);
            save_train_state(resume_dir, model, p, mom, step + 1, now_s() - t0);
        }
        pr.elapsed_s = now_s() - t0;
        if (p.progress) {
            p.progress(pr, p.user_data);
        }
    }
    ggml_opt_result_free(result);
    ggml_opt_free(opt);
    ggml_backend_sched_free(sched);

    model.save(p.out_dir + "/last", p.recipe);
    res.seconds = now_s() - t0;
    write_log();
    return res;
}

}  // namespace glm::toy
