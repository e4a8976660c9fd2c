/* groundlmm.h: the public C API of groundlmm — pixel grounding for multimodal LLMs without grounding supervision
 * (attend-and-segment, Cao, Gui, Wang).
 *
 *   struct glm_context_params cp = glm_context_default_params();
 *   cp.model = "llava-v1.5-7b-Q4_K_M.gguf"; cp.vision = "mmproj-model-f16.gguf"; cp.sam = "sam-vit-h-f16.gguf";
 *   char err[512];
 *   struct glm_context * ctx = glm_init(&cp, err, sizeof(err));          // NULL + message on failure
 *   struct glm_ground_params gp = glm_ground_default_params();
 *   struct glm_result * r = glm_ground_file(ctx, "photo.jpg", &gp, err, sizeof(err));
 *   puts(glm_result_json(r));                                              // result.json (docs/formats.md)
 *   glm_result_free(r); glm_free(ctx);
 *
 * A context holds the models (loaded once) and one inference state: calls on one context must not overlap
 * (use one context per thread, or serialise; `groundlmm serve` runs one inference loop per context).
 * Errors never abort: functions return NULL (or -1) and write a one-line message into err.
 * Strings passed in are copied; strings returned live as long as the object they come from.
 */
#ifndef GROUNDLMM_H
#define GROUNDLMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct glm_context;
struct glm_result;

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

struct glm_context_params glm_context_default_params(void);
struct glm_ground_params  glm_ground_default_params(void);

struct glm_context * glm_init(const struct glm_context_params * params, char * err, size_t err_size);
void                 glm_free(struct glm_context * ctx);

/* Attend-and-segment on an encoded image (PNG, JPEG, ...) or a file. */
struct glm_result * glm_ground_image(struct glm_context * ctx, const uint8_t * data, size_t size,
                                     const struct glm_ground_params * params, char * err, size_t err_size);
struct glm_result * glm_ground_file(struct glm_context * ctx, const char * path,
                                    const struct glm_ground_params * params, char * err, size_t err_size);

const char * glm_result_answer(const struct glm_result * r);
int32_t      glm_result_n_phrases(const struct glm_result * r);
/* Fills *out with phrase i; returns false when i is out of range. */
bool         glm_result_phrase(const struct glm_result * r, int32_t i, struct glm_phrase * out);
const char * glm_result_json(const struct glm_result * r);     /* result.json */
const char * glm_result_html(const struct glm_result * r);     /* answer.html (references overlay.png) */
/* overlay.png bytes; returns the size. */
size_t       glm_result_overlay_png(const struct glm_result * r, const uint8_t ** data);
void         glm_result_free(struct glm_result * r);

const char * glm_version(void);

#ifdef __cplusplus
}
#endif

#endif /* GROUNDLMM_H */
