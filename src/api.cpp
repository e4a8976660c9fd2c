// api.cpp: the C API of include/groundlmm.h over the C++ library. Exceptions stop here: every entry point
// catches them and reports a one-line message through the caller's err buffer.
#include "groundlmm.h"

#include "attend.h"
#include "common.h"
#include "ground.h"
#include "outputs.h"
#include "refine-sam.h"

#include <cstring>
#include <memory>

struct glm_context {
    std::unique_ptr<glm::compute_backend> backend;
    std::unique_ptr<glm::vision_encoder>  encoder;
    std::unique_ptr<glm::lmm_model>       model;
    std::unique_ptr<glm::lmm_session>     session;
    std::unique_ptr<glm::refiner>         refiner;
    std::unique_ptr<glm::phrase_chunker>  chunker;
    std::string                           vision_path;
};

struct glm_result {
    glm::attend_result        att;
    glm::ground_result        g;
    std::string               json, html;
    std::vector<uint8_t>      png;
    std::vector<std::string>  rle;  // per phrase ("" when no mask)
};

static void set_err(char * err, size_t n, const char * msg) {
    if (err && n > 0) {
        snprintf(err, n, "%s", msg);
    }
}

template <typename F> static auto guarded(char * err, size_t n, F && f) -> decltype(f()) {
    try {
        return f();
    } catch (const glm::error & e) {
        set_err(err, n, e.what());
    } catch (const std::exception & e) {
        set_err(err, n, (std::string("internal error: ") + e.what()).c_str());
    }
    return nullptr;
}

extern "C" {

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
        auto ctx     = std::make_unique<glm_context>();
        ctx->backend = std::make_unique<glm::compute_backend>(glm::backend_params{ p->n_threads, p->use_gpu, 0 });
        ctx->encoder = glm::vision_encoder_load(p->vision, *ctx->backend);
        ctx->vision_path = p->vision;
        glm::lmm_params lp;
        lp.model        = p->model;
        lp.lora         = p->lora ? p->lora : "";
        lp.lora_scale   = p->lora_scale;
        lp.n_ctx        = p->n_ctx;
        lp.n_threads    = p->n_threads;
        lp.n_gpu_layers = p->use_gpu ? p->n_gpu_layers : 0;
        lp.kv_f32       = p->kv_f32;
        ctx->model      = std::make_unique<glm::lmm_model>(lp);
        if (ctx->encoder->n_embd() != ctx->model->n_embd()) {
            glm::fail("mismatched model pair: %s outputs width %d, %s expects %d", p->vision, ctx->encoder->n_embd(),
                      p->model, ctx->model->n_embd());
        }
        ctx->session = std::make_unique<glm::lmm_session>(*ctx->model, lp);
        const std::string ref = p->refiner ? p->refiner : (p->sam ? "sam" : "none");
        if (ref == "sam") {
            if (!p->sam) {
                glm::fail("refiner 'sam' needs a SAM model (sam)");
            }
            ctx->refiner = std::make_unique<glm::sam_refiner>(glm::sam_model::load(p->sam, *ctx->backend), *ctx->backend);
        } else if (ref != "none") {
            glm::fail("unknown refiner '%s' (expected sam or none)", ref.c_str());
        }
        ctx->chunker = std::make_unique<glm::phrase_chunker>();
        return ctx.release();
    });
}

void glm_free(glm_context * ctx) { delete ctx; }

static glm_result * run(glm_context * ctx, const glm::image_u8 & img, const std::string & path,
                        const glm_ground_params * p) {
    if (!ctx) {
        glm::fail("no context");
    }
    const glm_ground_params d = glm_ground_default_params();
    if (!p) {
        p = &d;
    }
    glm::gen_params gp;
    gp.prompt    = p->prompt ? p->prompt : gp.prompt;
    gp.n_predict = p->n_predict;
    gp.temp      = p->temp;
    gp.top_k     = p->top_k;
    gp.top_p     = p->top_p;
    gp.seed      = p->seed;
    gp.answer    = p->answer ? p->answer : "";
    const glm::attn_heads heads = glm::attn_heads_from_name(p->attn_heads ? p->attn_heads : "all");
    auto r      = std::make_unique<glm_result>();
    r->att      = glm::attend_run(*ctx->encoder, *ctx->session, img, gp, heads);
    r->att.image_path  = path;
    r->att.vision_path = ctx->vision_path;
    glm::ground_params g;
    g.heads              = heads;
    g.maps.aspect        = glm::map_aspect_from_name(p->aspect ? p->aspect : "pad");
    g.maps.normalize     = p->normalize;
    g.maps.remove_corner = p->remove_corner;
    g.select             = glm::mask_select_from_name(p->mask_select ? p->mask_select : "2");
    g.min_score          = p->min_score;
    r->g                 = glm::ground(r->att, img, *ctx->chunker, ctx->refiner.get(), g);
    r->json = glm::ground_to_json(r->g, r->att).dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
    r->html = glm::render_answer_html(r->g);
    r->png  = glm::image_encode_png(glm::render_overlay(img, r->g));
    for (const auto & ph : r->g.phrases) {
        r->rle.push_back(ph.has_mask ? glm::rle_to_string(ph.mask) : std::string());
    }
    return r.release();
}

glm_result * glm_ground_image(glm_context * ctx, const uint8_t * data, size_t size, const glm_ground_params * p,
                              char * err, size_t err_size) {
    return guarded(err, err_size, [&] { return run(ctx, glm::image_decode(data, size, "image"), "", p); });
}

glm_result * glm_ground_file(glm_context * ctx, const char * path, const glm_ground_params * p, char * err,
                             size_t err_size) {
    return guarded(err, err_size, [&] {
        if (!path) {
            glm::fail("no image path");
        }
        return run(ctx, glm::image_load(path), path, p);
    });
}

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

const char * glm_result_json(const glm_result * r) { return r ? r->json.c_str() : ""; }

const char * glm_result_html(const glm_result * r) { return r ? r->html.c_str() : ""; }

size_t glm_result_overlay_png(const glm_result * r, const uint8_t ** data) {
    if (!r) {
        return 0;
    }
    if (data) {
        *data = r->png.data();
    }
    return r->png.size();
}

void glm_result_free(glm_result * r) { delete r; }

const char * glm_version(void) { return GROUNDLMM_VERSION_STR; }

}  // extern "C"
