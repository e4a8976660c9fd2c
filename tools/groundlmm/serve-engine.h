// serve-engine.h: the models of `groundlmm serve` and the work of one request — the only code that touches them.
// serve_engine is a thin adapter over one glm::pipeline (models loaded once, at start); process() runs stage 1
// (attend) and, for /ground, stage 2 (ground) and the optional renderings, and returns the JSON reply.
//
// Thread-safety: process() uses the per-request state (session, SAM image embedding): one call at a time,
// from the inference loop only. info(), n_ctx() and check_fits() read facts fixed at load: any thread.
#pragma once

#include "pipeline.h"
#include "serve-queue.h"
#include "serve-segment.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

namespace glm {

struct serve_model_params {
    pipeline_model_params   model;    // LLM, vision model, LoRA, refiner (+ SAM file), threads, GPU
    pipeline_context_params context;  // context length, batch, KV type
    double                  segment_cache_mb      = 512;  // /segment's image-embedding cache (MiB; SAM ViT-H: 4 MiB + the image)
    int                     segment_cache_entries = 32;   // and at most this many images
};

class serve_engine {
public:
    explicit serve_engine(const serve_model_params & params);  // loads everything; throws glm::error
    ~serve_engine();
    serve_engine(const serve_engine &)             = delete;
    serve_engine & operator=(const serve_engine &) = delete;

    // One /ground or /attend request (inference loop only). Errors throw (the queue turns them into 500).
    // `keep_going` (may be empty) is asked between stages and after every generated token: false stops the run
    // (glm::error "aborted"), for a request whose client has gone.
    serve_reply process(const serve_request & r, const std::function<bool()> & keep_going = {});

    // Refuses (serve_http_error 400) a request whose prompt, image tokens and n_predict (or answer) do not fit
    // the context, before it is queued. Any thread: it only tokenises.
    void check_fits(const serve_request & r) const;

    // {"llm": {...}, "vision": {...}, "refiner": ..., "backend": ...}: what was loaded.
    const nlohmann::json & info() const { return info_; }
    int                    n_ctx() const { return n_ctx_; }
    // /segment's embedding cache counters (any thread).
    serve_embed_stats      segment_stats() const { return segment_->cache_stats(); }

private:
    nlohmann::json run_ground(const serve_request & r);
    nlohmann::json run_attend(const serve_request & r);

    serve_model_params                params_;
    std::unique_ptr<pipeline>         pipeline_;
    std::unique_ptr<serve_segmenter>  segment_;  // POST /segment (its own refiner state and embedding cache)
    nlohmann::json                    info_;
    int                               n_ctx_ = 0;
    int                               n_img_ = 0;  // image tokens per request (check_fits)
};

}  // namespace glm
