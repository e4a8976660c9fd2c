/* test-api.c: the public C API, compiled as C: a grounded answer from the tiny golden LLaVA (points only, no
 * refiner), generated (twice: the same) and teacher-forced to the golden's continuation (its phrases known), and
 * one-line errors instead of crashes for bad input. Argument: the golden llava folder. */
#include "groundlmm.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond, ...)                      \
    do {                                      \
        if (!(cond)) {                        \
            printf("FAIL %s: ", #cond);       \
            printf(__VA_ARGS__);              \
            printf("\n");                     \
            failures++;                       \
        }                                     \
    } while (0)

/* width and height from a PNG's IHDR chunk (the folder's image may have any size); 0 when not a PNG */
static int png_size(const char * path, long * w, long * h) {
    unsigned char b[24];
    FILE *        f = fopen(path, "rb");
    const size_t  n = f ? fread(b, 1, sizeof(b), f) : 0;
    if (f) {
        fclose(f);
    }
    if (n != sizeof(b) || b[1] != 'P' || memcmp(b + 12, "IHDR", 4) != 0) {
        return 0;
    }
    *w = ((long) b[16] << 24) | ((long) b[17] << 16) | ((long) b[18] << 8) | (long) b[19];
    *h = ((long) b[20] << 24) | ((long) b[21] << 16) | ((long) b[22] << 8) | (long) b[23];
    return 1;
}

static int n_log_lines = 0;
static void count_log(enum glm_log_level level, const char * text, void * user_data) {
    (void) level;
    (void) text;
    ++*(int *) user_data;
}

static int n_streamed = 0;
static bool count_tokens(const char * piece, int32_t index, void * user_data) {
    (void) piece;
    *(int *) user_data = index + 1;
    return true;
}

/* every phrase: its text is answer[begin, end), its head lies inside it, a point inside the image unless the head
 * spans no token (then -1, -1), no mask without a refiner; and at least one phrase */
static void check_phrases(const struct glm_result * r, long img_w, long img_h) {
    const char * answer = glm_result_answer(r);
    const long   n      = (long) strlen(answer);
    CHECK(glm_result_n_phrases(r) > 0, "no phrase in '%s': the checks below would check nothing", answer);
    for (int32_t i = 0; i < glm_result_n_phrases(r); ++i) {
        struct glm_phrase p;
        CHECK(glm_result_phrase(r, i, &p), "phrase %d", i);
        CHECK(p.begin >= 0 && p.begin < p.end && p.end <= n && (long) strlen(p.text) == p.end - p.begin &&
                  strncmp(answer + p.begin, p.text, (size_t) (p.end - p.begin)) == 0,
              "phrase %d '%s' is not answer[%d, %d)", i, p.text, p.begin, p.end);
        CHECK(strstr(p.text, p.head) != NULL, "phrase %d: head '%s' not in '%s'", i, p.head, p.text);
        if (strcmp(p.status, "no-tokens") == 0) {
            CHECK(p.x == -1 && p.y == -1, "phrase %d: no tokens but a point %d %d", i, p.x, p.y);
        } else {
            CHECK(p.x >= 0 && p.x < img_w && p.y >= 0 && p.y < img_h, "phrase %d (%s): point %d %d outside %ldx%ld", i,
                  p.status, p.x, p.y, img_w, img_h);
        }
        CHECK(p.mask_rle == NULL, "no refiner, no mask");
    }
}

/* the string value after `key` in a JSON file (the first occurrence; no escapes), 0 when not found */
static int json_string_field(const char * path, const char * key, char * out, size_t size) {
    static char buf[1 << 17];
    FILE *      f = fopen(path, "rb");
    size_t      n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    buf[n]        = 0;
    const char * k = strstr(buf, key);
    const char * b = k ? strchr(k + strlen(key), '"') : NULL;
    const char * e = b ? strchr(b + 1, '"') : NULL;
    if (!e || (size_t) (e - b - 1) >= size) {
        return 0;
    }
    memcpy(out, b + 1, (size_t) (e - b - 1));
    out[e - b - 1] = 0;
    return 1;
}

int main(int argc, char ** argv) {
    const char * dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    char         model[1024], vision[1024], image[1024], err[512];
    snprintf(model, sizeof(model), "%s/llava-tiny-f32.gguf", dir);
    snprintf(vision, sizeof(vision), "%s/mmproj-llava-tiny-f32.gguf", dir);
    snprintf(image, sizeof(image), "%s/image.png", dir);
    char cases[1024];
    snprintf(cases, sizeof(cases), "%s/cases.json", dir);
    long img_w = 0, img_h = 0;
    CHECK(png_size(image, &img_w, &img_h), "%s: cannot read the PNG size", image);

    struct glm_context_params cp = glm_context_default_params();
    cp.model                     = model;
    cp.vision                    = vision;
    cp.n_threads                 = 2;
    cp.n_ctx                     = 1024;
    struct glm_context * ctx     = glm_init(&cp, err, sizeof(err));
    CHECK(ctx != NULL, "%s", err);
    if (!ctx) {
        return 1;
    }
    struct glm_ground_params gp = glm_ground_default_params();
    gp.n_predict                = 16;
    struct glm_result * r       = glm_ground_file(ctx, image, &gp, err, sizeof(err));
    CHECK(r != NULL, "%s", err);
    if (r) {
        CHECK(strlen(glm_result_answer(r)) > 0, "empty answer");
        CHECK(strstr(glm_result_json(r), "groundlmm.ground/1") != NULL, "json");
        const uint8_t * png = NULL;
        CHECK(glm_result_overlay_png(r, &png) > 8 && png[1] == 'P', "overlay png");
        check_phrases(r, img_w, img_h);
        struct glm_phrase dummy;
        CHECK(!glm_result_phrase(r, 9999, &dummy), "out of range phrase");
        /* the image's size; no refiner, so no phrase has a mask to decode */
        int32_t rw = 0, rh = 0;
        CHECK(glm_result_image_size(r, &rw, &rh) && rw == img_w && rh == img_h, "glm_result_image_size %dx%d", rw, rh);
        uint8_t one = 7;
        CHECK(!glm_result_phrase_mask(r, 0, &one, 1) && one == 7, "glm_result_phrase_mask without a mask");
        /* the settings table, for bindings */
        const char * table = glm_settings_json();
        CHECK(table[0] == '[' && strstr(table, "\"name\":\"min_score\"") != NULL, "glm_settings_json: %.80s", table);
        /* stage 1 on the image's bytes equals stage 1 on its file */
        FILE * f = fopen(image, "rb");
        CHECK(f != NULL, "%s: cannot open", image);
        if (f) {
            static uint8_t bytes[1 << 22];
            const size_t   n = fread(bytes, 1, sizeof(bytes), f);
            fclose(f);
            struct glm_run_params rp = glm_run_default_params();
            rp.n_predict             = 16;
            struct glm_attend * af   = glm_attend_file(ctx, image, &rp, err, sizeof(err));
            struct glm_attend * ai   = glm_attend_image(ctx, bytes, n, &rp, err, sizeof(err));
            CHECK(af != NULL && ai != NULL, "glm_attend_file / glm_attend_image: %s", err);
            if (af && ai) {
                CHECK(strcmp(glm_attend_answer(af), glm_attend_answer(ai)) == 0, "glm_attend_image: %s", glm_attend_answer(ai));
                const int32_t pg = glm_attend_primary_grid(ai);
                CHECK(pg >= 0 && pg < glm_attend_n_grids(ai), "glm_attend_primary_grid %d of %d", pg, glm_attend_n_grids(ai));
                struct glm_result * rg = glm_ground_attend_image(ctx, ai, bytes, n, &rp, err, sizeof(err));
                CHECK(rg != NULL && strcmp(glm_result_answer(rg), glm_attend_answer(ai)) == 0, "glm_ground_attend_image: %s", err);
                glm_result_free(rg);
                CHECK(glm_attend_image(ctx, bytes, 10, &rp, err, sizeof(err)) == NULL && strstr(err, "image") != NULL,
                      "a truncated image: %s", err);
            }
            glm_attend_free(af);
            glm_attend_free(ai);
        }
        printf("answer: %s (%d phrases)\n", glm_result_answer(r), glm_result_n_phrases(r));
        /* determinism check (no reference): greedy decoding twice gives the same answer and points */
        struct glm_result * r2 = glm_ground_file(ctx, image, &gp, err, sizeof(err));
        CHECK(r2 != NULL, "%s", err);
        if (r2) {
            CHECK(strcmp(glm_result_answer(r), glm_result_answer(r2)) == 0, "second run: %s", glm_result_answer(r2));
            CHECK(glm_result_n_phrases(r) == glm_result_n_phrases(r2), "second run: %d phrases",
                  glm_result_n_phrases(r2));
            for (int32_t i = 0; i < glm_result_n_phrases(r) && i < glm_result_n_phrases(r2); ++i) {
                struct glm_phrase a, b;
                glm_result_phrase(r, i, &a);
                glm_result_phrase(r2, i, &b);
                CHECK(a.x == b.x && a.y == b.y, "second run: phrase %d at (%d, %d), first (%d, %d)", i, b.x, b.y, a.x, a.y);
            }
            glm_result_free(r2);
        }
        glm_result_free(r);
    }
    /* the model/context API: refiner "region" and "none" (the first API rejected "region"), streaming, stage 1 */
    {
        static const enum glm_refiner_type refiners[] = { GLM_REFINER_REGION, GLM_REFINER_NONE };
        for (int k = 0; k < 2; ++k) {
            struct glm_model_params mp = glm_model_default_params();
            mp.model                   = model;
            mp.vision                  = vision;
            mp.refiner                 = refiners[k];
            mp.n_threads               = 2;
            if (k == 0) { /* the log sink sees the loading (libllama's lines included) */
                glm_log_set(count_log, &n_log_lines, GLM_LOG_DEBUG);
            }
            struct glm_model * m       = glm_model_load(&mp, err, sizeof(err));
            if (k == 0) {
                glm_log_set(NULL, NULL, GLM_LOG_WARN);
                CHECK(n_log_lines > 0, "no log line reached the sink");
            }
            CHECK(m != NULL, "%s", err);
            if (!m) {
                continue;
            }
            struct glm_ctx_params cp2 = glm_ctx_default_params();
            cp2.n_ctx                 = 1024;
            struct glm_context * c2   = glm_context_new(m, &cp2, err, sizeof(err));
            glm_model_free(m); /* the context keeps the model alive */
            CHECK(c2 != NULL, "%s", err);
            if (!c2) {
                continue;
            }
            struct glm_run_params rp = glm_run_default_params();
            rp.n_predict             = 12;
            rp.on_token              = count_tokens;
            rp.on_token_user_data    = &n_streamed;
            n_streamed               = 0;
            struct glm_result * r2   = glm_run_file(c2, image, &rp, err, sizeof(err));
            CHECK(r2 != NULL, "%s: %s", glm_refiner_type_name(refiners[k]), err);
            if (r2) {
                CHECK(n_streamed == 12 || strstr(glm_result_json(r2), "\"eos\"") != NULL || n_streamed > 0,
                      "streamed %d tokens", n_streamed);
                int n_masks = 0, n_points = 0;
                for (int32_t i = 0; i < glm_result_n_phrases(r2); ++i) {
                    struct glm_phrase p;
                    CHECK(glm_result_phrase(r2, i, &p), "phrase %d", i);
                    n_points += p.x >= 0;
                    n_masks += p.mask_rle != NULL;
                    int32_t rows = 0, cols = 0;
                    if (p.x >= 0) {
                        CHECK(glm_result_phrase_map(r2, i, &rows, &cols) != NULL && rows > 0 && cols > 0, "map %d", i);
                    }
                }
                CHECK(glm_result_n_phrases(r2) > 0 && n_points > 0, "%s: no phrase with a point", glm_refiner_type_name(refiners[k]));
                if (refiners[k] == GLM_REFINER_NONE) {
                    CHECK(n_masks == 0, "refiner none gave %d masks", n_masks);
                    check_phrases(r2, img_w, img_h);
                } else {
                    CHECK(n_masks == n_points, "refiner region: %d masks for %d points", n_masks, n_points);
                    CHECK(strstr(glm_result_json(r2), "\"refiner\": \"region") != NULL, "region in result.json");
                }
                glm_result_free(r2);
            }
            /* stage 1 alone, its layout, then stage 2 on it */
            struct glm_attend * a = glm_attend_file(c2, image, &rp, err, sizeof(err));
            CHECK(a != NULL, "%s", err);
            if (a) {
                struct glm_grid g;
                CHECK(glm_attend_n_grids(a) == 1 && glm_attend_grid(a, 0, &g), "one grid");
                CHECK(g.rows * g.cols == glm_attend_n_image_tokens(a), "grid %dx%d of %d tokens", g.rows, g.cols,
                      glm_attend_n_image_tokens(a));
                CHECK(g.w == (img_w > img_h ? img_w : img_h) && g.h == g.w, "padded square %dx%d", g.w, g.h);
                CHECK(glm_attend_map(a, 0, GLM_ATTN_HEADS_ALL) != NULL && glm_attend_map(a, 9999, GLM_ATTN_HEADS_ALL) == NULL, "maps");
                struct glm_result * r3 = glm_ground_attend(c2, a, image, &rp, err, sizeof(err));
                CHECK(r3 != NULL, "%s", err);
                if (r3) {
                    CHECK(strcmp(glm_result_answer(r3), glm_attend_answer(a)) == 0, "same answer");
                    glm_result_free(r3);
                }
                glm_attend_free(a);
            }
            /* any table setting by name through settings_json; a bad one is an error naming it */
            rp.settings_json       = "{\"attn_heads\": \"official\", \"min_score\": 0.5}";
            struct glm_result * r4 = glm_run_file(c2, image, &rp, err, sizeof(err));
            CHECK(r4 != NULL, "%s", err);
            if (r4) {
                CHECK(strstr(glm_result_json(r4), "\"attn_heads\": \"official\"") != NULL, "settings_json applied");
                glm_result_free(r4);
            }
            rp.settings_json = "{\"min_score\": 7}";
            CHECK(glm_run_file(c2, image, &rp, err, sizeof(err)) == NULL && strstr(err, "min_score") != NULL, "%s", err);
            rp.settings_json = "[1]";
            CHECK(glm_run_file(c2, image, &rp, err, sizeof(err)) == NULL && strstr(err, "settings_json") != NULL, "%s", err);
            rp.settings_json = NULL;
            /* a bad enum value is an error naming the setting, not a crash */
            rp.mask_select = (enum glm_mask_select) 7;
            CHECK(glm_run_file(c2, image, &rp, err, sizeof(err)) == NULL && strstr(err, "mask_select") != NULL, "%s", err);
            glm_free(c2);
        }
    }

    /* teacher forcing: the golden's continuation (cases.json config.continuation) is the answer, its noun phrases
     * are known: "The image", "a red circle", "a blue square" (test-ground checks their points against the reference) */
    char continuation[512];
    CHECK(json_string_field(cases, "\"continuation\"", continuation, sizeof(continuation)), "%s: no continuation", cases);
    gp.answer = continuation;
    r         = glm_ground_file(ctx, image, &gp, err, sizeof(err));
    CHECK(r != NULL, "%s", err);
    if (r) {
        CHECK(strcmp(glm_result_answer(r), continuation) == 0, "forced answer: %s", glm_result_answer(r));
        CHECK(glm_result_n_phrases(r) == 3, "%d phrases in '%s'", glm_result_n_phrases(r), continuation);
        const char * heads[] = { "image", "circle", "square" };
        for (int32_t i = 0; i < glm_result_n_phrases(r) && i < 3; ++i) {
            struct glm_phrase p;
            glm_result_phrase(r, i, &p);
            CHECK(strcmp(p.head, heads[i]) == 0, "phrase %d head '%s', expected '%s'", i, p.head, heads[i]);
        }
        check_phrases(r, img_w, img_h);
        glm_result_free(r);
    }
    gp.answer = NULL;
    /* errors: a file that is not an image, out-of-range options, a missing model */
    r = glm_ground_file(ctx, model, &gp, err, sizeof(err));
    CHECK(r == NULL && strstr(err, "decod") != NULL, "%s", err);
    gp.n_predict = 0;
    r            = glm_ground_file(ctx, image, &gp, err, sizeof(err));
    CHECK(r == NULL && strstr(err, "n_predict") != NULL, "%s", err);
    gp.n_predict  = 4;
    gp.attn_heads = "sideways";
    r             = glm_ground_file(ctx, image, &gp, err, sizeof(err));
    CHECK(r == NULL && strstr(err, "sideways") != NULL, "%s", err);
    glm_free(ctx);
    cp.model = "/nonexistent.gguf";
    ctx      = glm_init(&cp, err, sizeof(err));
    CHECK(ctx == NULL && strstr(err, "not found") != NULL, "%s", err);
    cp.model   = model;
    cp.refiner = "sam";
    ctx        = glm_init(&cp, err, sizeof(err));
    CHECK(ctx == NULL && strstr(err, "SAM") != NULL, "%s", err);
    printf("test-api: %s (%d failures); version %s\n", failures ? "FAIL" : "ok", failures, glm_version());
    return failures ? 1 : 0;
}
