// pipeline.h: attend-and-segment as one library object, under every front-end (C API, CLI commands, server,
// evaluation runners). Two parts, as llama.cpp's model and context or whisper.cpp's model and state:
//
//   pipeline_model  read-only and shareable between threads: the vision model, the LLM (+ LoRA), the refiner's model
//                   (SAM weights) and the phrase chunker's dictionary. Each part is loaded on first use (thread-safe),
//                   so a stage-2-only evaluation never loads the LLM and a stage-1-only run never loads SAM;
//                   preload() loads everything at once (servers and tools fail fast on a bad file).
//   pipeline        per thread: the compute state of our graphs, the LLM session (llama_context, KV cache,
//                   attention tap), the refiner's state (SAM's cached image embedding) and the last image's vision
//                   embeddings (the same image again, e.g. with another prompt, is not re-encoded).
//
// Operations: attend (stage 1: answer + per-token maps + image layout), ground (stage 2 on a stage-1 result: noun
// phrases, maps, points, masks), run (both); stage 1 saves and loads with attend_save / attend_load (attend.h).
//
//   auto model = glm::pipeline_model::load(mp);          // shared_ptr, share it between threads
//   glm::pipeline ctx(model, cp);                        // one per thread
//   glm::run_settings s;                                 // settings.h: one vocabulary for every front-end
//   glm::grounding g = ctx.run(img, s);
//
// Thread safety: pipeline_model is safe to use from many pipelines at once (parts load once; every part's weights
// are only read: each pipeline computes on its own compute_backend and llama_context; the libmtmd encoder alone
// encodes one image at a time, behind its own mutex). A pipeline serves one thread at a time.
#pragma once

#include "attend.h"
#include "backend.h"
#include "ground.h"
#include "lmm.h"
#include "phrases.h"
#include "refine.h"
#include "settings.h"
#include "vision.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace glm {

class sam_model;
struct cambrian_model;

struct pipeline_model_params {
    std::string    llm;                 // LLM GGUF (llama.cpp format)
    std::string    vision;              // vision GGUF: LLaVA-1.5/NeXT mmproj, Cambrian, DiffLMM or toy encoder
    std::string    lora;                // LoRA adapter GGUF for the LLM; "" = none
    float          lora_scale   = 1.0f;
    refiner_params refiner;             // sam (with its file) | region | none
    int            n_threads    = 0;    // CPU threads of our graphs and the LLM; 0 = all
    int            n_gpu_layers = -1;   // LLM layers on the GPU; -1 = all
    bool           use_gpu      = true; // our graphs (vision, SAM) and the LLM on a GPU when the build has one
    bool           extra_bufts  = true; // ggml's extra CPU weight buffers (AMX, repacked quants); false works around
                                        // the pinned ggml's AMX Q4_K crash on AMX CPUs
    std::string    anyres_rule  = "original";  // LLaVA-NeXT: original (LLaVA-NeXT repository) or hf (transformers)
    // libmtmd families with a dynamic resolution (Qwen-VL): image token limits; 0 = the model's default. Grounding
    // needs enough tokens: llama.cpp recommends at least 1024 for Qwen-VL.
    int            image_min_tokens = 0;
    int            image_max_tokens = 0;
};

// Per-context settings: memory and compute of one pipeline.
struct pipeline_context_params {
    int  n_ctx   = 4096;  // context length (tokens); LLaVA-1.5 was trained with 4096
    int  n_batch = 512;   // tokens (or image embeddings) per llama_decode call
    bool kv_f32  = false; // F32 KV cache (exact attention maps; tests); default F16
};

// Progress of a run (stage "vision", "prompt", "generate", "phrases", "refine"); return false to abort.
using pipeline_progress_fn = std::function<bool(const char * stage, float fraction)>;

class pipeline_model {
public:
    static std::shared_ptr<pipeline_model> load(const pipeline_model_params & params);
    ~pipeline_model();
    pipeline_model(const pipeline_model &)             = delete;
    pipeline_model & operator=(const pipeline_model &) = delete;

    // Loads every part now (errors now rather than on first use).
    void preload();

    const pipeline_model_params & params() const { return params_; }
    const std::string &           refiner_name() const { return refiner_; }  // resolved: sam, region or none

    // The parts, each loaded on first use.
    const lmm_model &      llm();
    const phrase_chunker & chunker();
    std::shared_ptr<const sam_model> sam();  // null unless the refiner is sam
    std::string            vision_name();
    // Image tokens one image takes in the LLM sequence: the encoder's grid_w x grid_h (every encoder so far has one
    // fixed grid; one whose token count depends on the image needs the image here).
    int                    n_image_tokens();

    // Cambrian-1's aggregator when the vision model is one (its in-LLM blocks run in the LLM session), else null.
    const cambrian_model * cambrian();

    // Encodes one image on the caller's compute state (thread-safe: the weights are only read). `seed`: the noise of
    // encoders that draw it (DiffLMM).
    vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed);

    // {"llm": {...}, "vision": {...}, "refiner": ..., "sam": ..., "backend": ...} of what is loaded (loads all).
    nlohmann::json info();

    // The compute backend of the weights (vision, SAM): the device a context's own backend must match.
    const backend_params & backend() const { return backend_params_; }

private:
    explicit pipeline_model(const pipeline_model_params & params);
    void              load_lmm();
    void              load_llm_only();
    void              load_vision();
    compute_backend & weights_backend();

    pipeline_model_params            params_;
    std::string                      refiner_;
    backend_params                   backend_params_;
    std::once_flag                   backend_once_, llm_once_, lmm_once_, vision_once_, sam_once_, chunker_once_;
    std::unique_ptr<compute_backend> weights_backend_;  // holds the vision and SAM weights
    std::unique_ptr<vision_encoder>  vision_;
    std::unique_ptr<lmm_model>       llm_;
    std::shared_ptr<const sam_model> sam_;
    std::unique_ptr<phrase_chunker>  chunker_;
};

// Stage 1 and stage 2 of one image.
struct grounding {
    attend_result att;
    ground_result g;
};

class pipeline {
public:
    pipeline(std::shared_ptr<pipeline_model> model, const pipeline_context_params & params = {});
    ~pipeline();
    pipeline(const pipeline &)             = delete;
    pipeline & operator=(const pipeline &) = delete;

    // Stage 1: encode, prompt, generate (or teacher-force settings.gen.answer) with the attention tap.
    // `image_path` is recorded in the result ("" for an image from memory).
    attend_result attend(const image_u8 & img, const run_settings & s, const std::string & image_path = "");
    // Stage 2 on a stage-1 result of the same image, with the model's refiner (or `ref` when given; null refiner
    // name "none" gives points only).
    ground_result ground(const attend_result & att, const image_u8 & img, const run_settings & s);
    ground_result ground(const attend_result & att, const image_u8 & img, const run_settings & s, refiner * ref);
    // Both.
    grounding     run(const image_u8 & img, const run_settings & s, const std::string & image_path = "");

    // Called between stages and after every generated token; return false to abort (glm::error "aborted").
    void set_progress(pipeline_progress_fn fn) { progress_ = std::move(fn); }

    // Drops the cached image and its embeddings (vision and refiner): memory back between requests.
    void              clear_cache();

    pipeline_model &  model() { return *model_; }
    lmm_session &     session();    // created on first use
    refiner *         get_refiner();  // null for "none"; created on first use
    compute_backend & backend() { return *backend_; }
    int               n_ctx();

private:
    std::shared_ptr<pipeline_model>  model_;
    pipeline_context_params          params_;
    std::unique_ptr<compute_backend> backend_;   // our graphs' compute state (SAM's image embedding)
    std::unique_ptr<lmm_session>     session_;
    std::unique_ptr<refiner>         refiner_;
    pipeline_progress_fn             progress_;
    // the image-embedding cache: the last image encoded (pixels and seed) and its vision output
    image_u8                         cached_img_;
    uint64_t                         cached_seed_ = 0;
    vision_output                    cached_vision_;
    friend class pipeline_vision;
};

}  // namespace glm
