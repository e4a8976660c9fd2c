/* test-api.c: the public C API, compiled as C: a grounded answer from the tiny golden LLaVA (points only, no
 * refiner) and one-line errors instead of crashes for bad input. Argument: the golden llava folder. */
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

int main(int argc, char ** argv) {
    const char * dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    char         model[1024], vision[1024], image[1024], err[512];
    snprintf(model, sizeof(model), "%s/llava-tiny-f32.gguf", dir);
    snprintf(vision, sizeof(vision), "%s/mmproj-llava-tiny-f32.gguf", dir);
    snprintf(image, sizeof(image), "%s/image.png", dir);
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
        for (int32_t i = 0; i < glm_result_n_phrases(r); ++i) {
            struct glm_phrase p;
            CHECK(glm_result_phrase(r, i, &p), "phrase %d", i);
            CHECK(p.x >= -1 && p.x < img_w && p.y >= -1 && p.y < img_h, "point %d %d", p.x, p.y);
            CHECK(p.mask_rle == NULL, "no refiner, no mask");
        }
        struct glm_phrase dummy;
        CHECK(!glm_result_phrase(r, 9999, &dummy), "out of range phrase");
        printf("answer: %s (%d phrases)\n", glm_result_answer(r), glm_result_n_phrases(r));
        glm_result_free(r);
    }
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
