// bench-tap: what the attention tap costs during generation.
//
// For each model it decodes the same teacher-forced continuation after a LLaVA-shaped prompt (text + 576 image
// embeddings, or --n-img: 1024 for Qwen-VL at llama.cpp's recommended minimum, 256 for Gemma 3) in three configurations, all in this process and interleaved over repetitions:
//   tap      flash attention off, tap armed on every step (what attend/ground run)
//   no-tap   flash attention off, no callback (the same graphs without observing them)
//   fa       flash attention on, no callback (llama.cpp's fastest path, which the tap cannot observe)
// and prints decode tokens/s (median of the repetitions) and the ratios tap/no-tap and tap/fa.
//
// Models: the golden tiny LLaVA LLM, and (--big) a LLaMA of realistic width with random weights that the bench
// writes itself (1B shape: n_embd 2048, 16 layers, 32 heads, 8 KV heads, FFN 8192) at Q4_K and Q8_0.
#include "common.h"
#include "lmm.h"
#include "util/random-llama.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace glm;

struct config {
    const char * name;
    bool         tap;
    bool         fa;
};

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

static void bench_model(const std::string & path, int n_tokens, int reps, int n_threads, int n_img) {
    const config cfgs[] = { { "tap", true, false }, { "no-tap", false, false }, { "fa", false, true } };
    lmm_params   base;
    base.model     = path;
    base.n_ctx     = std::max(2048, n_img + n_tokens + 256);
    base.n_threads = n_threads;
    lmm_model lm(base);
    printf("\nmodel: %s\n  %s, %d threads, %d decode tokens after a %d-image-token prompt, %d reps\n", path.c_str(),
           lm.desc().c_str(), n_threads, n_tokens, n_img, reps);

    std::vector<float> embd((size_t) n_img * lm.n_embd());
    std::mt19937       rng(1);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (float & v : embd) {
        v = nd(rng);
    }
    gen_params gp;
    for (int i = 0; i < n_tokens; ++i) {
        gp.forced.push_back((int32_t) (100 + (i * 37) % std::max(1, lm.n_vocab() - 200)));
    }
    gp.n_predict = n_tokens;

    std::vector<std::unique_ptr<lmm_session>> sessions;
    for (const config & c : cfgs) {
        lmm_params p = base;
        p.tap        = c.tap;
        p.flash_attn = c.fa;
        sessions.push_back(std::make_unique<lmm_session>(lm, p));
    }
    std::vector<std::vector<double>> tps(3), pps(3);
    for (int r = 0; r < reps; ++r) {
        for (int i = 0; i < 3; ++i) {
            const gen_result g = sessions[i]->generate(embd.data(), n_img, gp);
            tps[i].push_back(n_tokens / g.t_gen_s);
            pps[i].push_back(g.prompt_len / g.t_prompt_s);
        }
    }
    double t[3];
    for (int i = 0; i < 3; ++i) {
        t[i] = median(tps[i]);
        printf("  %-7s decode %9.2f tok/s   prompt %9.1f tok/s\n", cfgs[i].name, t[i], median(pps[i]));
    }
    printf("  ratio tap/no-tap %.3f   tap/fa %.3f   (tap overhead %.1f%% vs the same graph)\n", t[0] / t[1],
           t[0] / t[2], 100.0 * (t[1] / t[0] - 1.0));
}

int main(int argc, char ** argv) {
    std::string model     = std::string(GLM_SOURCE_DIR) + "/tests/golden/llava/llava-tiny-f32.gguf";
    bool        big       = false;
    int         n_tokens  = 32;
    int         reps      = 3;
    int         n_threads = 2;
    std::string tmp       = "/tmp";
    int         n_img     = 576;  // LLaVA-1.5; Qwen-VL at llama.cpp's recommended minimum: 1024; Gemma 3: 256
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--big") {
            big = true;
        } else if (a == "-m" && i + 1 < argc) {
            model = argv[++i];
        } else if (a == "-n" && i + 1 < argc) {
            n_tokens = atoi(argv[++i]);
        } else if (a == "-r" && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (a == "-t" && i + 1 < argc) {
            n_threads = atoi(argv[++i]);
        } else if (a == "--n-img" && i + 1 < argc) {
            n_img = atoi(argv[++i]);
        } else if (a == "--tmp" && i + 1 < argc) {
            tmp = argv[++i];
        } else {
            fprintf(stderr, "usage: bench-tap [-m model.gguf] [--big] [-n tokens] [-r reps] [-t threads] [--n-img image tokens] [--tmp dir]\n");
            return 2;
        }
    }
    log_route_ggml(false);
    try {
        if (n_img <= 0) {
            fail("--n-img must be positive, got %d", n_img);
        }
        bench_model(model, n_tokens, reps, n_threads, n_img);
        if (big) {
            for (ggml_type type : { GGML_TYPE_Q4_K, GGML_TYPE_Q8_0 }) {
                const std::string path = tmp + "/glm-bench-llama-1b-" + ggml_type_name(type) + ".gguf";
                if (!file_exists(path)) {
                    random_llama_shape s;
                    s.n_embd    = 2048;
                    s.n_layer   = 16;
                    s.n_head    = 32;
                    s.n_head_kv = 8;
                    s.n_ff      = 8192;
                    s.type      = type;
                    fprintf(stderr, "writing %s ...\n", path.c_str());
                    write_random_llama(path, model, s);
                }
                bench_model(path, n_tokens, reps, n_threads, n_img);
            }
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "bench-tap: %s\n", e.what());
        return 1;
    }
    return 0;
}
