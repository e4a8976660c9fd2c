/* groundlmm.h: the public C API of groundlmm — pixel grounding for multimodal LLMs without grounding supervision
 * (attend-and-segment, Cao, Gui, Wang).
 *
 *   struct glm_model_params mp = glm_model_default_params();
 *   mp.model = "llava-v1.5-7b-Q4_K_M.gguf"; mp.vision = "mmproj-model-f16.gguf"; mp.sam = "sam-vit-h-f16.gguf";
 *   char err[512];
 *   struct glm_model * model = glm_model_load(&mp, err, sizeof(err));     // NULL + message on failure
 *   struct glm_ctx_params cp = glm_ctx_default_params();
 *   struct glm_context * ctx = glm_context_new(model, &cp, err, sizeof(err));  // one per thread
 *   struct glm_run_params rp = glm_run_default_params();
 *   struct glm_result * r = glm_run_file(ctx, "photo.jpg", &rp, err, sizeof(err));
 *   puts(glm_result_json(r));                                              // result.json (docs/formats.md)
 *   glm_result_free(r); glm_free(ctx); glm_model_free(model);
 *
 * A model (weights of the vision model, the LLM, SAM; the phrase dictionary) is read-only and shared by any number
 * of contexts; a context (LLM session and KV cache, SAM's image embedding) serves one thread at a time. The model
 * may be freed before its contexts: they keep it alive. glm_init/glm_ground_* (one model + one context, settings
 * as strings) are the first API, kept working and deprecated.
 * Errors never abort: functions return NULL (or -1) and write a one-line message into err.
 * Strings passed in are copied; strings returned live as long as the object they come from.
 */
#ifndef GROUNDLMM_H
#define GROUNDLMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef GLM_SHARED
#    if defined(_WIN32) && !defined(__MINGW32__)
#        ifdef GLM_BUILD
#            define GLM_API __declspec(dllexport)
#        else
#            define GLM_API __declspec(dllimport)
#        endif
#    else
#        define GLM_API __attribute__((visibility("default")))
#    endif
#else
#    define GLM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct glm_model;
struct glm_context;
struct glm_attend;
struct glm_result;

/* ---- enums (names as in the settings table, docs/settings.md) --------------------------------------------- */

enum glm_attn_heads {
    GLM_ATTN_HEADS_ALL      = 0,  /* mean over all layers and heads (the paper) */
    GLM_ATTN_HEADS_OFFICIAL = 1,  /* head H-2 averaged over layers (the released code) */
    GLM_ATTN_HEADS_DUMP     = 2,  /* as ALL, and keep every layer and head in stage 1 */
};
enum glm_aspect {
    GLM_ASPECT_AUTO     = 0,  /* where the vision model's layout says the grid lies (default) */
    GLM_ASPECT_PAD      = 1,  /* LLaVA-1.5's padded square (the official code's default) */
    GLM_ASPECT_ORIGINAL = 2,  /* the grid stretched over the image */
};
enum glm_mask_select {
    GLM_MASK_SELECT_INDEX2 = 0,  /* SAM's third multimask output, as the official code */
    GLM_MASK_SELECT_BEST   = 1,  /* the highest predicted IoU */
};
enum glm_refiner_type {
    GLM_REFINER_AUTO   = 0,  /* sam when a SAM file is given, else none */
    GLM_REFINER_SAM    = 1,
    GLM_REFINER_REGION = 2,  /* colour region growing (the toy world) */
    GLM_REFINER_NONE   = 3,  /* points only */
};
enum glm_log_level { GLM_LOG_DEBUG = 0, GLM_LOG_INFO = 1, GLM_LOG_WARN = 2, GLM_LOG_ERROR = 3 };

GLM_API const char * glm_attn_heads_name(enum glm_attn_heads h);
GLM_API const char * glm_aspect_name(enum glm_aspect a);
GLM_API const char * glm_mask_select_name(enum glm_mask_select m);
GLM_API const char * glm_refiner_type_name(enum glm_refiner_type r);

/* Log sink: every line of groundlmm, ggml and libllama at or above min_level goes to cb (NULL: stderr). */
typedef void (*glm_log_callback)(enum glm_log_level level, const char * text, void * user_data);
GLM_API void glm_log_set(glm_log_callback cb, void * user_data, enum glm_log_level min_level);

/* Streaming: called with each generated token's piece (may be a partial UTF-8 character) and its index; return
 * false to stop the run (the call then fails with "aborted"). */
typedef bool (*glm_token_callback)(const char * piece, int32_t index, void * user_data);
/* Progress: stage "vision", "generate", "phrases" and a fraction in [0, 1]; return false to abort. */
typedef bool (*glm_progress_callback)(const char * stage, float fraction, void * user_data);

/* ---- model and context ------------------------------------------------------------------------------------ */

struct glm_model_params {
    const char *          model;         /* LLM GGUF (llama.cpp format); required */
    const char *          vision;        /* vision GGUF: LLaVA-1.5, Qwen2/2.5/3-VL or Gemma 3 mmproj, DiffLMM or toy
                                            encoder; required */
    const char *          lora;          /* LoRA adapter GGUF for the LLM, NULL = none */
    float                 lora_scale;    /* 1.0 */
    const char *          sam;           /* SAM GGUF (groundlmm convert-sam), NULL = none */
    enum glm_refiner_type refiner;       /* AUTO */
    int32_t               n_threads;     /* CPU threads, 0 = all */
    int32_t               n_gpu_layers;  /* LLM layers on the GPU, -1 = all */
    bool                  use_gpu;       /* our graphs (vision, SAM) and the LLM on a GPU when the build has one */
    int32_t               image_min_tokens; /* libmtmd dynamic-resolution models (Qwen-VL): at least this many image
                                               tokens, 0 = the model's default (grounding wants >= 1024) */
    int32_t               image_max_tokens; /* at most this many, 0 = default */
};

struct glm_ctx_params {
    int32_t n_ctx;    /* context length in tokens, 4096 */
    int32_t n_batch;  /* tokens per decode call, 512 */
    bool    kv_f32;   /* F32 KV cache (exact attention maps), false = F16 */
};

/* One run's settings (stage 1 and stage 2), the fields of the settings table. */
struct glm_run_params {
    const char *          prompt;         /* NULL = "Describe the image in detail." */
    const char *          templ;          /* prompt template with <image> and {prompt}; NULL = the model's */
    int32_t               n_predict;      /* max tokens, 512 */
    float                 temp;           /* 0 = greedy */
    int32_t               top_k;          /* 0 = off */
    float                 top_p;          /* 1 = off */
    uint32_t              seed;
    enum glm_attn_heads   attn_heads;     /* ALL */
    const char *          answer;         /* ground this answer instead of generating one; NULL = generate */
    enum glm_aspect       aspect;         /* AUTO */
    bool                  normalize;      /* subtract the mean map over output tokens, true */
    bool                  remove_corner;  /* false */
    enum glm_mask_select  mask_select;    /* INDEX2 */
    float                 min_score;      /* drop masks scoring below, 0 */
    bool                  keep_empty;     /* list phrases whose head noun spans no token, true */
    bool                  more_masks;     /* keep every SAM candidate in result.json, false */
    glm_token_callback    on_token;       /* NULL = none */
    void *                on_token_user_data;
    glm_progress_callback progress;       /* NULL = none */
    void *                progress_user_data;
    /* Any setting of the table by name, as a JSON object applied after the fields above, e.g.
     * {"attn_heads": "layers:0-1", "map_grid": "base"} (docs/settings.md); NULL = none. */
    const char *          settings_json;
};

GLM_API struct glm_model_params glm_model_default_params(void);
GLM_API struct glm_ctx_params   glm_ctx_default_params(void);
GLM_API struct glm_run_params   glm_run_default_params(void);

/* Loads every file now (a bad file fails here). Free with glm_model_free (contexts keep it alive). */
GLM_API struct glm_model *   glm_model_load(const struct glm_model_params * params, char * err, size_t err_size);
GLM_API void                 glm_model_free(struct glm_model * model);
GLM_API struct glm_context * glm_context_new(struct glm_model * model, const struct glm_ctx_params * params,
                                             char * err, size_t err_size);

/* Stage 1 + stage 2 on an encoded image (PNG, JPEG, ...) or a file. */
GLM_API struct glm_result * glm_run_image(struct glm_context * ctx, const uint8_t * data, size_t size,
                                          const struct glm_run_params * params, char * err, size_t err_size);
GLM_API struct glm_result * glm_run_file(struct glm_context * ctx, const char * path,
                                         const struct glm_run_params * params, char * err, size_t err_size);

/* ---- stage 1 alone, and stage 2 on it --------------------------------------------------------------------- */

struct glm_grid {
    const char *    role;          /* "image", "base", "tile", "highres" */
    int32_t         rows, cols;
    const int32_t * cells;         /* rows x cols: each cell's index among the image tokens */
    int32_t         x, y, w, h;    /* the rectangle of the original image the grid covers (pixels) */
};

GLM_API struct glm_attend * glm_attend_file(struct glm_context * ctx, const char * path,
                                            const struct glm_run_params * params, char * err, size_t err_size);
GLM_API struct glm_attend * glm_attend_load(const char * dir, char * err, size_t err_size);
GLM_API int32_t      glm_attend_save(const struct glm_attend * a, const char * dir, char * err, size_t err_size);  /* 0 / -1 */
GLM_API const char * glm_attend_answer(const struct glm_attend * a);
GLM_API int32_t      glm_attend_n_tokens(const struct glm_attend * a);
/* token i: its id, piece and byte span [begin, end) in the answer; false when i is out of range */
GLM_API bool         glm_attend_token(const struct glm_attend * a, int32_t i, int32_t * id, const char ** piece,
                                      int32_t * begin, int32_t * end);
GLM_API int32_t      glm_attend_n_image_tokens(const struct glm_attend * a);
/* token i's attention over the image tokens (n_image_tokens floats; ALL or OFFICIAL), NULL when out of range */
GLM_API const float * glm_attend_map(const struct glm_attend * a, int32_t i, enum glm_attn_heads heads);
GLM_API int32_t      glm_attend_n_grids(const struct glm_attend * a);
GLM_API bool         glm_attend_grid(const struct glm_attend * a, int32_t g, struct glm_grid * out);
/* the grid stage 2 points from by default (index for glm_attend_grid), -1 when a is NULL */
GLM_API int32_t      glm_attend_primary_grid(const struct glm_attend * a);
GLM_API void         glm_attend_free(struct glm_attend * a);
/* Stage 2 on a stage-1 result of the image at `path` (the same image). */
GLM_API struct glm_result * glm_ground_attend(struct glm_context * ctx, const struct glm_attend * a, const char * path,
                                              const struct glm_run_params * params, char * err, size_t err_size);
/* The same two on an encoded image (PNG, JPEG, ...) in memory. */
GLM_API struct glm_attend * glm_attend_image(struct glm_context * ctx, const uint8_t * data, size_t size,
                                             const struct glm_run_params * params, char * err, size_t err_size);
GLM_API struct glm_result * glm_ground_attend_image(struct glm_context * ctx, const struct glm_attend * a,
                                                    const uint8_t * data, size_t size,
                                                    const struct glm_run_params * params, char * err, size_t err_size);

struct glm_context_params {
    const char * model;         /* LLM GGUF (llama.cpp format); required */
    const char * vision;        /* vision GGUF: LLaVA-1.5 mmproj, DiffLMM encoder or toy encoder; required */
    const char * lora;          /* LoRA adapter GGUF for the LLM, NULL = none */
    float        lora_scale;    /* 1.0 */
    const char * sam;           /* SAM GGUF (groundlmm convert-sam), NULL = none */
    const char * refiner;       /* "sam", "region" or "none"; NULL = "sam" when sam is set, else "none" */
    int32_t      n_threads;     /* CPU threads, 0 = all */
    int32_t      n_gpu_layers;  /* LLM layers on the GPU, -1 = all */
    int32_t      n_ctx;         /* context length in tokens, 4096 */
    bool         kv_f32;        /* F32 KV cache (exact attention maps), false = F16 */
    bool         use_gpu;       /* run our own graphs (vision, SAM) on a GPU when the build has one */
    bool         verbose;       /* let ggml/libllama log to stderr (default: only their errors are kept) */
};

struct glm_ground_params {
    const char * prompt;         /* NULL = "Describe the image in detail." */
    int32_t      n_predict;      /* max tokens, 512 */
    float        temp;           /* 0 = greedy */
    int32_t      top_k;          /* 0 = off */
    float        top_p;          /* 1 = off */
    uint32_t     seed;
    const char * attn_heads;     /* "all" (mean over layers and heads, default) or "official" (head H-2) */
    const char * aspect;         /* "pad" (default, LLaVA-1.5) or "original" */
    bool         normalize;      /* subtract the mean map over output tokens, true */
    bool         remove_corner;  /* false */
    const char * mask_select;    /* "2" (official, default) or "best" */
    float        min_score;      /* drop masks scoring below, 0 */
    const char * answer;         /* ground this answer instead of generating one (teacher forcing); NULL = generate */
};

struct glm_phrase {
    const char * text;         /* the noun phrase */
    const char * head;         /* its head noun */
    int32_t      begin, end;   /* byte span of the phrase in the answer */
    int32_t      x, y;         /* the point in image pixels, -1 when the head noun spans no token */
    float        score;        /* the refiner's score of the mask (SAM: predicted IoU), 0 when none */
    const char * mask_rle;     /* COCO RLE counts of the mask (size = image), NULL when none */
    const char * status;       /* "ok", "no-tokens", "low-score", "no-refiner" */
};

/* ---- the first API (one model + one context, settings as strings): kept working, deprecated ---------------- */

GLM_API struct glm_context_params glm_context_default_params(void);
GLM_API struct glm_ground_params  glm_ground_default_params(void);

GLM_API struct glm_context * glm_init(const struct glm_context_params * params, char * err, size_t err_size);
/* Frees a context (of either API). */
GLM_API void                 glm_free(struct glm_context * ctx);

/* Attend-and-segment on an encoded image (PNG, JPEG, ...) or a file. Deprecated: glm_run_image / glm_run_file. */
GLM_API struct glm_result * glm_ground_image(struct glm_context * ctx, const uint8_t * data, size_t size,
                                             const struct glm_ground_params * params, char * err, size_t err_size);
GLM_API struct glm_result * glm_ground_file(struct glm_context * ctx, const char * path,
                                            const struct glm_ground_params * params, char * err, size_t err_size);

/* ---- results ---------------------------------------------------------------------------------------------- */

GLM_API const char * glm_result_answer(const struct glm_result * r);
GLM_API int32_t      glm_result_n_phrases(const struct glm_result * r);
/* Fills *out with phrase i; returns false when i is out of range. */
GLM_API bool         glm_result_phrase(const struct glm_result * r, int32_t i, struct glm_phrase * out);
/* Phrase i's map over its grid (rows x cols floats, row-major), NULL when i is out of range or it has no tokens. */
GLM_API const float * glm_result_phrase_map(const struct glm_result * r, int32_t i, int32_t * rows, int32_t * cols);
/* The image's size in pixels; false when r is NULL. */
GLM_API bool         glm_result_image_size(const struct glm_result * r, int32_t * width, int32_t * height);
/* Phrase i's mask decoded into out: width x height bytes, row-major, 1 = in the mask, 0 = not (the same mask as
 * mask_rle); false (out untouched) when i is out of range, the phrase has no mask or size < width * height. */
GLM_API bool         glm_result_phrase_mask(const struct glm_result * r, int32_t i, uint8_t * out, size_t size);
GLM_API const char * glm_result_json(const struct glm_result * r);     /* result.json (made on first call) */
GLM_API const char * glm_result_html(const struct glm_result * r);     /* answer.html (references overlay.png) */
/* overlay.png bytes (made on first call); returns the size. */
GLM_API size_t       glm_result_overlay_png(const struct glm_result * r, const uint8_t ** data);
GLM_API void         glm_result_free(struct glm_result * r);

GLM_API const char * glm_version(void);
/* The settings table (docs/settings.md) as a JSON array: per setting its name (the key of settings_json), stage
 * (1 or 2), type, default, min, max, choices and help. Static storage. */
GLM_API const char * glm_settings_json(void);

#ifdef __cplusplus
}
#endif

#endif /* GROUNDLMM_H */
