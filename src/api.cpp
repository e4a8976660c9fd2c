// api.cpp: the C API of include/groundlmm.h, a thin adapter over glm::pipeline (pipeline.h). Exceptions stop here:
// every entry point catches them and reports a one-line message through the caller's err buffer. Settings go
// through the settings table (settings.h) by name, so the C fields are checked exactly as the CLI's and the server's.
#include "groundlmm.h"

#include "common.h"
#include "outputs.h"
#include "pipeline.h"
#include "rle.h"
#include "settings.h"

#include <cstring>
#include <memory>

struct glm_model {
    std::shared_ptr<glm::pipeline_model> m;
};

struct glm_context {
    std::unique_ptr<glm::pipeline> p;
};

struct glm_attend {
    glm::attend_result                att;
    std::vector<std::vector<int32_t>> cells;  // per grid, for glm_grid
};

struct glm_result {
    glm::attend_result       att;
    glm::ground_result       g;
    glm::image_u8            img;
    std::vector<std::string> rle;  // per phrase ("" when no mask)
    // made on first access
    mutable std::string          json, html;
    mutable std::vector<uint8_t> png;
    mutable bool                 have_json = false, have_html = false, have_png = false;
};

static void set_err(char * err, size_t n, const char * msg) {
    if (err && n > 0) {
        snprintf(err, n, "%s", msg);
    }
}

template <typename R, typename F> static R guarded(char * err, size_t n, R fallback, F && f) {
    try {
        return f();
    } catch (const glm::error & e) {
        set_err(err, n, e.what());
    } catch (const std::exception & e) {
        set_err(err, n, (std::string("internal error: ") + e.what()).c_str());
    }
    return fallback;
}

template <typename F> static auto guarded(char * err, size_t n, F && f) -> decltype(f()) {
    return guarded<decltype(f())>(err, n, nullptr, std::forward<F>(f));
}

// ---- settings: the C fields, by their names in the table --------------------------------------------------

static glm::run_settings settings_from(const glm_run_params & p) {
    glm::run_settings s;
    if (p.prompt) {
        glm::settings_set(s, "prompt", p.prompt, "glm_run_params");
    }
    if (p.templ) {
        glm::settings_set(s, "template", p.templ, "glm_run_params");
    }
    glm::settings_set(s, "n_predict", p.n_predict, "glm_run_params");
    glm::settings_set(s, "temp", p.temp, "glm_run_params");
    glm::settings_set(s, "top_k", p.top_k, "glm_run_params");
    glm::settings_set(s, "top_p", p.top_p, "glm_run_params");
    glm::settings_set(s, "seed", p.seed, "glm_run_params");
    glm::settings_set(s, "attn_heads", glm_attn_heads_name(p.attn_heads), "glm_run_params");
    glm::settings_set(s, "answer", p.answer ? p.answer : "", "glm_run_params");
    glm::settings_set(s, "aspect", glm_aspect_name(p.aspect), "glm_run_params");
    glm::settings_set(s, "normalize", p.normalize, "glm_run_params");
    glm::settings_set(s, "remove_corner", p.remove_corner, "glm_run_params");
    glm::settings_set(s, "mask_select", glm_mask_select_name(p.mask_select), "glm_run_params");
    glm::settings_set(s, "min_score", p.min_score, "glm_run_params");
    glm::settings_set(s, "keep_empty", p.keep_empty, "glm_run_params");
    glm::settings_set(s, "more_masks", p.more_masks, "glm_run_params");
    if (p.settings_json) {  // every other setting of the table, by name
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(p.settings_json);
        } catch (const nlohmann::json::exception & e) {
            glm::fail("glm_run_params.settings_json: not valid JSON (%s)", e.what());
        }
        if (!j.is_object()) {
            glm::fail("glm_run_params.settings_json: expected a JSON object of settings, got %s", j.type_name());
        }
        for (auto it = j.begin(); it != j.end(); ++it) {
            glm::settings_set(s, it.key(), it.value(), "glm_run_params.settings_json");
        }
    }
    s.ground.keep_maps = true;  // glm_result_phrase_map
    if (p.on_token) {
        const glm_token_callback cb = p.on_token;
        void *                   ud = p.on_token_user_data;
        s.gen.on_token = [cb, ud](const glm::gen_token & t, int k) { return cb(t.text.c_str(), k, ud); };
    }
    return s;
}

// The first API's string fields, through the same table.
static glm_run_params run_params_from(const glm_ground_params & g, glm::run_settings * s) {
    glm_run_params p = glm_run_default_params();
    p.prompt        = g.prompt;
    p.n_predict     = g.n_predict;
    p.temp          = g.temp;
    p.top_k         = g.top_k;
    p.top_p         = g.top_p;
    p.seed          = g.seed;
    p.answer        = g.answer;
    p.normalize     = g.normalize;
    p.remove_corner = g.remove_corner;
    p.min_score     = g.min_score;
    *s = settings_from(p);
    glm::settings_set(*s, "attn_heads", g.attn_heads ? g.attn_heads : "all", "glm_ground_params");
    glm::settings_set(*s, "aspect", g.aspect ? g.aspect : "pad", "glm_ground_params");
    glm::settings_set(*s, "mask_select", g.mask_select ? g.mask_select : "2", "glm_ground_params");
    return p;
}

// The model files and where they run, from either API's C fields (NULL strings = none).
static glm::pipeline_model_params model_params_of(const char * llm, const char * vision, const char * lora, float lora_scale,
                                                  const char * sam, const char * refiner, int32_t n_threads,
                                                  int32_t n_gpu_layers, bool use_gpu) {
    glm::pipeline_model_params mp;
    mp.llm              = llm;
    mp.vision           = vision;
    mp.lora             = lora ? lora : "";
    mp.lora_scale       = lora_scale;
    mp.refiner.name     = refiner ? refiner : "";
    mp.refiner.sam_path = sam ? sam : "";
    mp.n_threads        = n_threads;
    mp.n_gpu_layers     = n_gpu_layers;
    mp.use_gpu          = use_gpu;
    return mp;
}

static void attach_progress(glm::pipeline & ctx, const glm_run_params & p) {
    if (p.progress) {
        const glm_progress_callback cb = p.progress;
        void *                      ud = p.progress_user_data;
        ctx.set_progress([cb, ud](const char * stage, float f) { return cb(stage, f, ud); });
    } else {
        ctx.set_progress(nullptr);
    }
}

static glm_result * make_result(glm::attend_result att, glm::ground_result g, glm::image_u8 img) {
    auto r = std::make_unique<glm_result>();
    r->att = std::move(att);
    r->g   = std::move(g);
    r->img = std::move(img);
    for (const auto & ph : r->g.phrases) {
        r->rle.push_back(ph.has_mask ? glm::rle_to_string(ph.mask) : std::string());
    }
    return r.release();
}

static glm_result * run(glm_context * ctx, glm::image_u8 img, const std::string & path, const glm_run_params & p,
                        const glm::run_settings & s) {
    if (!ctx) {
        glm::fail("no context");
    }
    attach_progress(*ctx->p, p);
    glm::grounding g = ctx->p->run(img, s, path);
    return make_result(std::move(g.att), std::move(g.g), std::move(img));
}

extern "C" {

const char * glm_attn_heads_name(enum glm_attn_heads h) {
    return h == GLM_ATTN_HEADS_OFFICIAL ? "official" : h == GLM_ATTN_HEADS_DUMP ? "dump" : h == GLM_ATTN_HEADS_ALL ? "all" : "?";
}
const char * glm_aspect_name(enum glm_aspect a) {
    return a == GLM_ASPECT_PAD ? "pad" : a == GLM_ASPECT_ORIGINAL ? "original" : a == GLM_ASPECT_AUTO ? "auto" : "?";
}
const char * glm_mask_select_name(enum glm_mask_select m) {
    return m == GLM_MASK_SELECT_BEST ? "best" : m == GLM_MASK_SELECT_INDEX2 ? "index2" : "?";
}
const char * glm_refiner_type_name(enum glm_refiner_type r) {
    return r == GLM_REFINER_SAM ? "sam" : r == GLM_REFINER_REGION ? "region" : r == GLM_REFINER_NONE ? "none"
         : r == GLM_REFINER_AUTO ? "auto" : "?";
}

void glm_log_set(glm_log_callback cb, void * user_data, enum glm_log_level min_level) {
    struct sink {
        glm_log_callback cb;
        void *           ud;
    };
    static sink s;  // one sink per process, as llama_log_set
    s = { cb, user_data };
    glm::log_route_ggml(cb != nullptr);  // with a sink, ggml's and libllama's lines go through it too
    glm::log_set_level((glm::log_level) min_level);
    if (cb) {
        glm::log_set([](glm::log_level level, const char * text, void *) { s.cb((glm_log_level) level, text, s.ud); },
                     nullptr);
    } else {
        glm::log_set(nullptr, nullptr);
    }
}

glm_model_params glm_model_default_params(void) {
    glm_model_params p;
    p.model        = nullptr;
    p.vision       = nullptr;
    p.lora         = nullptr;
    p.lora_scale   = 1.0f;
    p.sam          = nullptr;
    p.refiner      = GLM_REFINER_AUTO;
    p.n_threads    = 0;
    p.n_gpu_layers = -1;
    p.use_gpu      = true;
    p.image_min_tokens = 0;
    p.image_max_tokens = 0;
    return p;
}

glm_ctx_params glm_ctx_default_params(void) {
    glm_ctx_params p;
    p.n_ctx   = 4096;
    p.n_batch = 512;
    p.kv_f32  = false;
    return p;
}

glm_run_params glm_run_default_params(void) {
    glm_run_params p;
    std::memset(&p, 0, sizeof(p));
    p.prompt        = nullptr;
    p.templ         = nullptr;
    p.n_predict     = 512;
    p.temp          = 0.0f;
    p.top_k         = 0;
    p.top_p         = 1.0f;
    p.seed          = 0;
    p.attn_heads    = GLM_ATTN_HEADS_ALL;
    p.answer        = nullptr;
    p.aspect        = GLM_ASPECT_AUTO;
    p.normalize     = true;
    p.remove_corner = false;
    p.mask_select   = GLM_MASK_SELECT_INDEX2;
    p.min_score     = 0.0f;
    p.keep_empty    = true;
    p.more_masks    = false;
    p.settings_json = nullptr;
    return p;
}

glm_model * glm_model_load(const glm_model_params * p, char * err, size_t err_size) {
    return guarded(err, err_size, [&]() -> glm_model * {
        if (!p || !p->model || !p->vision) {
            glm::fail("glm_model_load: model and vision are required");
        }
        glm::pipeline_model_params mp =
            model_params_of(p->model, p->vision, p->lora, p->lora_scale, p->sam,
                            p->refiner == GLM_REFINER_AUTO ? "" : glm_refiner_type_name(p->refiner), p->n_threads,
                            p->n_gpu_layers, p->use_gpu);
        mp.image_min_tokens = p->image_min_tokens;
        mp.image_max_tokens = p->image_max_tokens;
        auto m = std::make_unique<glm_model>();
        m->m   = glm::pipeline_model::load(mp);
        m->m->preload();
        return m.release();
    });
}

void glm_model_free(glm_model * model) { delete model; }

glm_context * glm_context_new(glm_model * model, const glm_ctx_params * p, char * err, size_t err_size) {
    return guarded(err, err_size, [&]() -> glm_context * {
        if (!model) {
            glm::fail("glm_context_new: no model");
        }
        const glm_ctx_params         d = glm_ctx_default_params();
        glm::pipeline_context_params cp;
        cp.n_ctx   = (p ? p : &d)->n_ctx;
        cp.n_batch = (p ? p : &d)->n_batch;
        cp.kv_f32  = (p ? p : &d)->kv_f32;
        auto ctx   = std::make_unique<glm_context>();
        ctx->p     = std::make_unique<glm::pipeline>(model->m, cp);
        ctx->p->session();  // the KV cache now: an n_ctx that does not fit fails here
        return ctx.release();
    });
}

glm_result * glm_run_image(glm_context * ctx, const uint8_t * data, size_t size, const glm_run_params * p, char * err,
                           size_t err_size) {
    return guarded(err, err_size, [&] {
        const glm_run_params d = glm_run_default_params();
        const glm_run_params & rp = p ? *p : d;
        return run(ctx, glm::image_decode(data, size, "image"), "", rp, settings_from(rp));
    });
}

glm_result * glm_run_file(glm_context * ctx, const char * path, const glm_run_params * p, char * err, size_t err_size) {
    return guarded(err, err_size, [&] {
        if (!path) {
            glm::fail("no image path");
        }
        const glm_run_params d = glm_run_default_params();
        const glm_run_params & rp = p ? *p : d;
        return run(ctx, glm::image_load(path), path, rp, settings_from(rp));
    });
}

// ---- stage 1 ----------------------------------------------------------------------------------------------

static glm_attend * wrap_attend(glm::attend_result att) {
    auto a = std::make_unique<glm_attend>();
    a->att = std::move(att);
    for (const glm::token_grid & g : a->att.layout.grids) {
        a->cells.emplace_back(g.cells.begin(), g.cells.end());
    }
    return a.release();
}

glm_attend * glm_attend_file(glm_context * ctx, const char * path, const glm_run_params * p, char * err,
                             size_t err_size) {
    return guarded(err, err_size, [&]() -> glm_attend * {
        if (!ctx || !path) {
            glm::fail("glm_attend_file: no context or no path");
        }
        const glm_run_params   d  = glm_run_default_params();
        const glm_run_params & rp = p ? *p : d;
        attach_progress(*ctx->p, rp);
        return wrap_attend(ctx->p->attend(glm::image_load(path), settings_from(rp), path));
    });
}

glm_attend * glm_attend_load(const char * dir, char * err, size_t err_size) {
    return guarded(err, err_size, [&]() -> glm_attend * {
        if (!dir) {
            glm::fail("glm_attend_load: no folder");
        }
        return wrap_attend(glm::attend_load(dir));
    });
}

int32_t glm_attend_save(const glm_attend * a, const char * dir, char * err, size_t err_size) {
    return guarded<int32_t>(err, err_size, -1, [&]() -> int32_t {
        if (!a || !dir) {
            glm::fail("glm_attend_save: no result or no folder");
        }
        glm::attend_save(a->att, dir);
        return 0;
    });
}

const char * glm_attend_answer(const glm_attend * a) { return a ? a->att.out.answer.c_str() : ""; }

int32_t glm_attend_n_tokens(const glm_attend * a) { return a ? a->att.n_tokens() : 0; }

bool glm_attend_token(const glm_attend * a, int32_t i, int32_t * id, const char ** piece, int32_t * begin,
                      int32_t * end) {
    if (!a || i < 0 || i >= a->att.n_tokens()) {
        return false;
    }
    const glm::gen_token & t = a->att.out.tokens[(size_t) i];
    if (id) *id = t.id;
    if (piece) *piece = t.text.c_str();
    if (begin) *begin = t.begin;
    if (end) *end = t.end;
    return true;
}

int32_t glm_attend_n_image_tokens(const glm_attend * a) { return a ? a->att.layout.n_tokens : 0; }

const float * glm_attend_map(const glm_attend * a, int32_t i, enum glm_attn_heads heads) {
    if (!a || i < 0 || i >= a->att.out.maps.n_rows) {
        return nullptr;
    }
    const std::vector<float> & m = heads == GLM_ATTN_HEADS_OFFICIAL ? a->att.out.maps.official : a->att.out.maps.mean;
    return m.data() + (size_t) i * a->att.out.maps.n_img;
}

int32_t glm_attend_n_grids(const glm_attend * a) { return a ? (int32_t) a->att.layout.grids.size() : 0; }

bool glm_attend_grid(const glm_attend * a, int32_t g, glm_grid * out) {
    if (!a || !out || g < 0 || g >= (int32_t) a->att.layout.grids.size()) {
        return false;
    }
    const glm::token_grid & t = a->att.layout.grids[(size_t) g];
    out->role  = glm::grid_role_name(t.role);
    out->rows  = t.rows;
    out->cols  = t.cols;
    out->cells = a->cells[(size_t) g].data();
    out->x     = t.rect.x;
    out->y     = t.rect.y;
    out->w     = t.rect.w;
    out->h     = t.rect.h;
    return true;
}

int32_t glm_attend_primary_grid(const glm_attend * a) { return a ? a->att.layout.primary : -1; }

void glm_attend_free(glm_attend * a) { delete a; }

glm_result * glm_ground_attend(glm_context * ctx, const glm_attend * a, const char * path, const glm_run_params * p,
                               char * err, size_t err_size) {
    return guarded(err, err_size, [&]() -> glm_result * {
        if (!ctx || !a || !path) {
            glm::fail("glm_ground_attend: no context, stage-1 result or image path");
        }
        const glm_run_params   d  = glm_run_default_params();
        const glm_run_params & rp = p ? *p : d;
        attach_progress(*ctx->p, rp);
        glm::image_u8      img = glm::image_load(path);
        glm::ground_result g   = ctx->p->ground(a->att, img, settings_from(rp));
        return make_result(a->att, std::move(g), std::move(img));
    });
}

glm_attend * glm_attend_image(glm_context * ctx, const uint8_t * data, size_t size, const glm_run_params * p, char * err,
                              size_t err_size) {
    return guarded(err, err_size, [&]() -> glm_attend * {
        if (!ctx || !data) {
            glm::fail("glm_attend_image: no context or no image data");
        }
        const glm_run_params   d  = glm_run_default_params();
        const glm_run_params & rp = p ? *p : d;
        attach_progress(*ctx->p, rp);
        return wrap_attend(ctx->p->attend(glm::image_decode(data, size, "image"), settings_from(rp), ""));
    });
}

glm_result * glm_ground_attend_image(glm_context * ctx, const glm_attend * a, const uint8_t * data, size_t size,
                                     const glm_run_params * p, char * err, size_t err_size) {
    return guarded(err, err_size, [&]() -> glm_result * {
        if (!ctx || !a || !data) {
            glm::fail("glm_ground_attend_image: no context, stage-1 result or image data");
        }
        const glm_run_params   d  = glm_run_default_params();
        const glm_run_params & rp = p ? *p : d;
        attach_progress(*ctx->p, rp);
        glm::image_u8      img = glm::image_decode(data, size, "image");
        glm::ground_result g   = ctx->p->ground(a->att, img, settings_from(rp));
        return make_result(a->att, std::move(g), std::move(img));
    });
}

// ---- the first API -----------------------------------------------------------------------------------------

glm_context_params glm_context_default_params(void) {
    glm_context_params p;
    p.model        = nullptr;
    p.vision       = nullptr;
    p.lora         = nullptr;
    p.lora_scale   = 1.0f;
    p.sam          = nullptr;
    p.refiner      = nullptr;
    p.n_threads    = 0;
    p.n_gpu_layers = -1;
    p.n_ctx        = 4096;
    p.kv_f32       = false;
    p.use_gpu      = true;
    p.verbose      = false;
    return p;
}

glm_ground_params glm_ground_default_params(void) {
    glm_ground_params p;
    p.prompt        = nullptr;
    p.n_predict     = 512;
    p.temp          = 0.0f;
    p.top_k         = 0;
    p.top_p         = 1.0f;
    p.seed          = 0;
    p.attn_heads    = "all";
    p.aspect        = "pad";
    p.normalize     = true;
    p.remove_corner = false;
    p.mask_select   = "2";
    p.min_score     = 0.0f;
    p.answer        = nullptr;
    return p;
}

glm_context * glm_init(const glm_context_params * p, char * err, size_t err_size) {
    return guarded(err, err_size, [&]() -> glm_context * {
        if (!p || !p->model || !p->vision) {
            glm::fail("glm_init: model and vision are required");
        }
        glm::log_route_ggml(p->verbose);
        auto model = glm::pipeline_model::load(model_params_of(p->model, p->vision, p->lora, p->lora_scale, p->sam,
                                                               p->refiner ? p->refiner : "", p->n_threads,
                                                               p->n_gpu_layers, p->use_gpu));
        model->preload();
        glm::pipeline_context_params cp;
        cp.n_ctx  = p->n_ctx;
        cp.kv_f32 = p->kv_f32;
        auto ctx  = std::make_unique<glm_context>();
        ctx->p    = std::make_unique<glm::pipeline>(model, cp);
        ctx->p->session();
        return ctx.release();
    });
}

void glm_free(glm_context * ctx) { delete ctx; }

glm_result * glm_ground_image(glm_context * ctx, const uint8_t * data, size_t size, const glm_ground_params * p,
                              char * err, size_t err_size) {
    return guarded(err, err_size, [&] {
        const glm_ground_params d = glm_ground_default_params();
        glm::run_settings       s;
        const glm_run_params    rp = run_params_from(p ? *p : d, &s);
        return run(ctx, glm::image_decode(data, size, "image"), "", rp, s);
    });
}

glm_result * glm_ground_file(glm_context * ctx, const char * path, const glm_ground_params * p, char * err,
                             size_t err_size) {
    return guarded(err, err_size, [&] {
        if (!path) {
            glm::fail("no image path");
        }
        const glm_ground_params d = glm_ground_default_params();
        glm::run_settings       s;
        const glm_run_params    rp = run_params_from(p ? *p : d, &s);
        return run(ctx, glm::image_load(path), path, rp, s);
    });
}

// ---- results -----------------------------------------------------------------------------------------------

const char * glm_result_answer(const glm_result * r) { return r ? r->g.answer.c_str() : ""; }

int32_t glm_result_n_phrases(const glm_result * r) { return r ? (int32_t) r->g.phrases.size() : 0; }

bool glm_result_phrase(const glm_result * r, int32_t i, glm_phrase * out) {
    if (!r || !out || i < 0 || i >= (int32_t) r->g.phrases.size()) {
        return false;
    }
    const glm::ground_phrase & p = r->g.phrases[(size_t) i];
    out->text     = p.np.text.c_str();
    out->head     = p.np.head_text.c_str();
    out->begin    = p.np.span.begin;
    out->end      = p.np.span.end;
    out->x        = p.x;
    out->y        = p.y;
    out->score    = p.has_mask ? p.score : 0.0f;
    out->mask_rle = p.has_mask ? r->rle[(size_t) i].c_str() : nullptr;
    out->status   = p.status.c_str();
    return true;
}

const float * glm_result_phrase_map(const glm_result * r, int32_t i, int32_t * rows, int32_t * cols) {
    if (!r || i < 0 || i >= (int32_t) r->g.phrases.size() || r->g.phrases[(size_t) i].tokens.empty() ||
        r->g.phrases[(size_t) i].grid.empty()) {
        return nullptr;
    }
    if (rows) *rows = r->g.grid_h;
    if (cols) *cols = r->g.grid_w;
    return r->g.phrases[(size_t) i].grid.data();
}

bool glm_result_image_size(const glm_result * r, int32_t * width, int32_t * height) {
    if (!r) {
        return false;
    }
    if (width) *width = r->img.w;
    if (height) *height = r->img.h;
    return true;
}

bool glm_result_phrase_mask(const glm_result * r, int32_t i, uint8_t * out, size_t size) {
    if (!r || !out || i < 0 || i >= (int32_t) r->g.phrases.size() || !r->g.phrases[(size_t) i].has_mask) {
        return false;
    }
    const glm::rle & m = r->g.phrases[(size_t) i].mask;
    if (size < (size_t) m.w * (size_t) m.h) {
        return false;
    }
    const std::vector<uint8_t> px = glm::rle_decode(m);
    std::memcpy(out, px.data(), px.size());
    return true;
}

const char * glm_result_json(const glm_result * r) {
    if (!r) {
        return "";
    }
    if (!r->have_json) {
        r->json = glm::ground_to_json(r->g, r->att).dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
        r->have_json = true;
    }
    return r->json.c_str();
}

const char * glm_result_html(const glm_result * r) {
    if (!r) {
        return "";
    }
    if (!r->have_html) {
        r->html      = glm::render_answer_html(r->g);
        r->have_html = true;
    }
    return r->html.c_str();
}

size_t glm_result_overlay_png(const glm_result * r, const uint8_t ** data) {
    if (!r) {
        return 0;
    }
    if (!r->have_png) {
        r->png      = glm::image_encode_png(glm::render_overlay(r->img, r->g));
        r->have_png = true;
    }
    if (data) {
        *data = r->png.data();
    }
    return r->png.size();
}

void glm_result_free(glm_result * r) { delete r; }

const char * glm_version(void) { return GROUNDLMM_VERSION_STR; }

const char * glm_settings_json(void) {
    static const std::string text = [] {  // the table is immutable: made once (thread-safe static init)
        nlohmann::json a = nlohmann::json::array();
        for (const glm::setting_def & d : glm::settings_table()) {
            const bool integer = d.type == glm::setting_type::integer;
            a.push_back({ { "name", d.name },
                          { "stage", d.stage == glm::setting_stage::stage1 ? 1 : 2 },
                          { "type", glm::setting_type_name(d.type) },
                          { "default", d.get(glm::run_settings()) },
                          { "min", integer ? nlohmann::json((int64_t) d.min) : nlohmann::json(d.min) },
                          { "max", integer ? nlohmann::json((int64_t) d.max) : nlohmann::json(d.max) },
                          { "choices", d.choices },
                          { "help", d.help } });
        }
        return a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }();
    return text.c_str();
}

}  // extern "C"
