// bench-sam: time per image of the SAM image encoder (the expensive part: the decoder is milliseconds) for
// one or more GGUF files, on the CPU or the GPU, and the ratio to the official PyTorch encoder timed by
// bench/sam_torch_bench.py on the same weights and thread count.
//
//   /usr/bin/python3 bench/sam_torch_bench.py /tmp/sam-official --out /tmp/sam-bench -t 2     # torch + .pth
//   build/bin/groundlmm convert-sam /tmp/sam-bench/sam_vit_b_random.pth -o /tmp/sam-bench/vit_b-f32.gguf --type f32
//   build/bin/groundlmm convert-sam /tmp/sam-bench/sam_vit_b_random.pth -o /tmp/sam-bench/vit_b-f16.gguf --type f16
//   build/bin/bench-sam -m /tmp/sam-bench/vit_b-f32.gguf -m /tmp/sam-bench/vit_b-f16.gguf -t 2 -r 3 \
//       --torch /tmp/sam-bench/torch.json
//
// Every run encodes the same deterministic image; the first run (graph allocation, first touch of the
// weights) is a warm-up and not counted. Prints the median and the best run (least disturbed by other load).
// Both sides use OpenMP (ggml's CPU backend and PyTorch): on a machine shared with other jobs, its default
// active waiting makes every barrier spin against them (ggml at 2 threads measured 5x slower than at 1), so
// compare with OMP_WAIT_POLICY=passive set for both commands there.
#include "backend.h"
#include "common.h"
#include "sam.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    std::vector<std::string> models;
    std::string              torch_json;
    int                      n_threads = 0, reps = 3;
    bool                     gpu = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "-m" || a == "--model") && i + 1 < argc) {
            models.push_back(argv[++i]);
        } else if ((a == "-t" || a == "--threads") && i + 1 < argc) {
            n_threads = std::atoi(argv[++i]);
        } else if ((a == "-r" || a == "--reps") && i + 1 < argc) {
            reps = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--torch" && i + 1 < argc) {
            torch_json = argv[++i];
        } else if (a == "--gpu") {
            gpu = true;
        } else {
            fprintf(stderr, "usage: bench-sam -m model.gguf [-m ...] [-t threads] [-r reps] [--torch torch.json] [--gpu]\n");
            return 2;
        }
    }
    if (models.empty()) {
        fprintf(stderr, "bench-sam: give at least one -m model.gguf\n");
        return 2;
    }
    glm::log_set_level(glm::log_level::warn);
    try {
        double torch_best = 0, torch_median = 0;
        if (!torch_json.empty()) {
            std::ifstream f(torch_json);
            if (!f) {
                glm::fail("%s: cannot open", torch_json.c_str());
            }
            const nlohmann::json j = nlohmann::json::parse(f);
            torch_best             = j.at("best_s").get<double>();
            torch_median           = j.at("median_s").get<double>();
            printf("PyTorch %s (official ImageEncoderViT, %d threads, %s): median %.3f s, best %.3f s per image\n",
                   j.value("torch", "?").c_str(), j.value("threads", 0), j.value("blas", "?").c_str(), torch_median,
                   torch_best);
            if (n_threads == 0) {
                n_threads = j.value("threads", 0);
            }
        }
        const char * wait = getenv("OMP_WAIT_POLICY");
        printf("OMP_WAIT_POLICY=%s\n", wait ? wait : "(unset)");
        glm::backend_params bp;
        bp.n_threads = n_threads;
        bp.use_gpu   = gpu;
        glm::compute_backend backend(bp);
        for (const std::string & path : models) {
            auto                   model = glm::sam_model::load(path, backend);
            glm::sam_state         state(model, backend);
            const glm::sam_hparams & hp = model->hparams();
            // a deterministic image of the encoder's input size (no resize)
            glm::image_u8 img;
            img.w = img.h = hp.image_size;
            img.rgb.resize((size_t) 3 * img.w * img.h);
            for (size_t i = 0; i < img.rgb.size(); ++i) {
                img.rgb[i] = (uint8_t) ((i * 2654435761u) >> 24);
            }
            const glm::sam_input in = glm::sam_preprocess(hp, img);
            std::vector<double>  t;
            for (int r = 0; r <= reps; ++r) {
                const double t0 = glm::now_s();
                state.set_input(in);
                if (r > 0) {
                    t.push_back(glm::now_s() - t0);
                }
            }
            std::sort(t.begin(), t.end());
            const double median = t[t.size() / 2], best = t.front();
            printf("ggml %-40s ViT %dx%d on %s, %d threads: median %.3f s, best %.3f s per image", path.c_str(),
                   hp.enc_embd, hp.enc_depth, backend.name().c_str(), backend.n_threads(), median, best);
            if (torch_best > 0) {
                printf("  | torch/ggml: median %.2fx, best %.2fx", torch_median / median, torch_best / best);
            }
            printf("\n");
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "bench-sam: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
