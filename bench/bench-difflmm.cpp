// bench-difflmm: time per image of the DiffLMM visual encoder and its breakdown (preprocessing, CLIP tower +
// implicit captioner, VAE encoder, UNet through the selected up block, projector).
//
// usage: bench-difflmm <difflmm-vision.gguf> [more.gguf ...] [--image PATH] [--runs N] [-t THREADS]
//                      [--ensemble E] [--cpu] [--conv]
// Each file is loaded once and encodes the image --runs times (the fastest run is reported); with several
// files (e.g. the same model converted --type f32 and f16) the totals are also given as ratios to the first,
// and the embeddings are compared with the first file's (same image, same seed). Real shapes without downloads: make random weights
// with scripts/difflmm-random-model.py and convert them (see docs/difflmm.md).
// --conv also times the VAE's heaviest convolution (3x3, 128 -> 128 channels at 384x384, F16 kernel, with
// bias) three ways, interleaved: sd_conv2d (what the encoder uses: im2col in the kernel's type + one mul_mat
// with the kernel as the weight operand), ggml_conv_2d (F16 im2col as the weight operand, then a transpose),
// ggml_conv_2d_direct (tiled im2col + GEMM inside one op on the CPU).
#include "backend.h"
#include "common.h"
#include "difflmm.h"
#include "image.h"
#include "models/sd-blocks.h"

#include "ggml-alloc.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/resource.h>

// CPU seconds (user + system) used by this process so far: less sensitive than wall time to other jobs on a
// shared machine
static double cpu_s() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// one conv graph (0 = sd_conv2d, 1 = ggml_conv_2d, 2 = ggml_conv_2d_direct), best of `reps` after a warm-up
static double time_conv(glm::compute_backend & be, const glm::sd_conv & c, int how, int reps) {
    const int      S = 384, C = (int) c.w->ne[2];
    glm::graph_ctx g;
    ggml_context * ctx = g.ctx();
    ggml_tensor *  x   = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, S, S, C, 1);
    ggml_set_input(x);
    ggml_tensor * y = nullptr;
    if (how == 0) {
        y = glm::sd_conv2d(ctx, c, x, 1, 1);
    } else {
        y = how == 1 ? ggml_conv_2d(ctx, c.w, x, 1, 1, 1, 1, 1, 1) : ggml_conv_2d_direct(ctx, c.w, x, 1, 1, 1, 1, 1, 1);
        y = ggml_add(ctx, y, ggml_reshape_4d(ctx, c.b, 1, 1, c.b->ne[0], 1));
    }
    ggml_set_output(y);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, y);
    std::vector<float> in((size_t) S * S * C, 0.5f);
    double             best = 1e30;
    for (int r = 0; r <= reps; ++r) {
        const double t0 = glm::now_s();
        be.run(gf, [&] { ggml_backend_tensor_set(x, in.data(), 0, in.size() * sizeof(float)); });
        if (r > 0) {
            best = std::min(best, glm::now_s() - t0);
        }
    }
    return best;
}

static void conv_compare(glm::compute_backend & be, int reps) {
    const int             C  = 128;
    ggml_init_params      ip = { ggml_tensor_overhead() * 2, nullptr, true };
    ggml_context *        wc = ggml_init(ip);
    glm::sd_conv          c;
    c.w                      = ggml_new_tensor_4d(wc, GGML_TYPE_F16, 3, 3, C, C);
    c.b                      = ggml_new_tensor_1d(wc, GGML_TYPE_F32, C);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(wc, be.primary());
    std::vector<ggml_fp16_t> kd((size_t) ggml_nelements(c.w), ggml_fp32_to_fp16(0.01f));
    std::vector<float>       bd((size_t) C, 0.1f);
    ggml_backend_tensor_set(c.w, kd.data(), 0, ggml_nbytes(c.w));
    ggml_backend_tensor_set(c.b, bd.data(), 0, ggml_nbytes(c.b));
    double t[3] = { 1e30, 1e30, 1e30 };
    for (int r = 0; r < 2; ++r) {  // interleaved
        for (int how = 0; how < 3; ++how) {
            t[how] = std::min(t[how], time_conv(be, c, how, reps));
        }
    }
    const double gflop = 2.0 * 384 * 384 * C * C * 9 * 1e-9;
    printf("conv 3x3 %d->%d at 384x384, F16 kernel (%.1f GFLOP):\n", C, C, gflop);
    const char * names[3] = { "sd_conv2d", "ggml_conv_2d", "ggml_conv_2d_direct" };
    for (int how = 0; how < 3; ++how) {
        printf("  %-20s %.3f s  %6.1f GFLOP/s  time / sd_conv2d %.2f\n", names[how], t[how], gflop / t[how],
               t[how] / t[0]);
    }
    ggml_backend_buffer_free(buf);
    ggml_free(wc);
}

int main(int argc, char ** argv) {
    std::vector<std::string> models;
    std::string              image    = std::string(GLM_SOURCE_DIR) + "/tests/golden/difflmm/image.png";
    int                      runs     = 2;
    int                      threads  = 0;
    int                      ensemble = 0;
    bool                     cpu      = false;
    bool                     conv     = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--image" && i + 1 < argc) {
            image = argv[++i];
        } else if (a == "--runs" && i + 1 < argc) {
            runs = std::max(1, atoi(argv[++i]));
        } else if ((a == "-t" || a == "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (a == "--ensemble" && i + 1 < argc) {
            ensemble = atoi(argv[++i]);
        } else if (a == "--cpu") {
            cpu = true;
        } else if (a == "--conv") {
            conv = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "usage: %s <difflmm-vision.gguf> [...] [--image PATH] [--runs N] [-t N] [--ensemble E] "
                            "[--cpu]\n", argv[0]);
            return 2;
        } else {
            models.push_back(a);
        }
    }
    if (models.empty() && !conv) {
        fprintf(stderr, "usage: %s <difflmm-vision.gguf> [...] (see docs/difflmm.md for random SD-1.5-shaped weights)\n",
                argv[0]);
        return 2;
    }
    glm::log_route_ggml(false);
    try {
        glm::backend_params bp;
        bp.n_threads = threads;
        bp.use_gpu   = !cpu;
        glm::compute_backend be(bp);
        const glm::image_u8  img = glm::image_load(image);
        printf("backend %s, %d threads; image %s (%dx%d); best of %d run(s)\n", be.name().c_str(), be.n_threads(),
               image.c_str(), img.w, img.h, runs);
        if (conv) {
            conv_compare(be, runs);
        }
        double             first_total = 0;
        std::vector<float> first_embd;
        for (const std::string & path : models) {
            const double         t0 = glm::now_s();
            glm::difflmm_params  p;
            p.ensemble_size = ensemble;
            glm::difflmm_encoder enc(path, be, p);
            const double         t_load = glm::now_s() - t0;
            printf("\n%s\n  %s\n  load %.2f s\n", path.c_str(), enc.name().c_str(), t_load);
            glm::difflmm_timings best;
            double               best_total = 1e30;
            std::vector<float>   embd;
            for (int r = 0; r < runs; ++r) {
                const double t1 = glm::now_s(), c1 = cpu_s();
                embd            = enc.encode(img).embd;
                const double total = glm::now_s() - t1;
                printf("  run %d: %.2f s wall, %.2f s CPU\n", r, total, cpu_s() - c1);
                if (total < best_total) {
                    best_total = total;
                    best       = enc.timings();
                }
            }
            auto row = [&](const char * name, double s) {
                printf("  %-12s %8.3f s  %5.1f %%\n", name, s, 100.0 * s / best_total);
            };
            row("preprocess", best.preprocess);
            row("clip", best.clip);
            row("vae", best.vae);
            row("unet", best.unet);
            row("projector", best.projector);
            printf("  %-12s %8.3f s\n", "total", best_total);
            size_t n_bad = 0;
            for (float v : embd) {
                n_bad += std::isfinite(v) ? 0 : 1;
            }
            if (n_bad) {
                printf("  WARNING: %zu non-finite embedding values\n", n_bad);
            }
            if (first_total == 0) {
                first_total = best_total;
                first_embd  = embd;
            } else {
                double d = 0, m = 0;
                for (size_t i = 0; i < std::min(embd.size(), first_embd.size()); ++i) {
                    d = std::max(d, (double) std::fabs(embd[i] - first_embd[i]));
                    m = std::max(m, (double) std::fabs(first_embd[i]));
                }
                printf("  total / first model: %.3f; embeddings vs first model: max abs %.3e, rel %.3e\n",
                       best_total / first_total, d, m > 0 ? d / m : d);
            }
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "bench-difflmm: %s\n", e.what());
        return 1;
    }
    return 0;
}
