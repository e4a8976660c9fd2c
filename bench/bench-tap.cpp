// bench-tap: what the attention tap costs during generation.
//
// For each model it decodes the same teacher-forced continuation after a LLaVA-shaped prompt (text + 576 image
// embeddings) in three configurations, all in this process and interleaved over repetitions:
//   tap      flash attention off, tap armed on every step (what attend/ground run)
//   no-tap   flash attention off, no callback (the same graphs without observing them)
//   fa       flash attention on, no callback (llama.cpp's fastest path, which the tap cannot observe)
// and prints decode tokens/s (median of the repetitions) and the ratios tap/no-tap and tap/fa.
//
// Models: the golden tiny LLaVA LLM, and (--big) a LLaMA of realistic width with random weights that the bench
// writes itself (1B shape: n_embd 2048, 16 layers, 32 heads, 8 KV heads, FFN 8192) at Q4_K and Q8_0, and (--big8b L)
// a Llama-3-8B-shaped one (n_embd 4096, 32 heads, 8 KV heads, FFN 14336) at Q4_K with L layers (32 = the real
// depth; fewer on a CPU: the tap's cost is per layer). --image-tokens sets the image block (576 = LLaVA-1.5,
// 2340 = LLaVA-NeXT on a 640x480 image); the tap's kept maps (bytes) are printed: O(generated tokens x image tokens).
// The LLMs of two libmtmd families, random weights at Q4_K with L layers, their image block decoded as the pipeline
// does (an image_block as models/mtmd-vision.cpp fills it, run by lmm_session::generate):
//   --qwen25vl L  Qwen2.5-VL-7B's LLM (qwen2vl: n_embd 3584, 28 heads, 4 KV heads, FFN 18944, QKV biases, M-RoPE
//                 sections 16/24/24/0; 28 layers real) with a 36x36 merged grid = 1296 image tokens at M-RoPE positions
//   --gemma3 L    Gemma 3 4B's LLM (gemma3: n_embd 2560, 8 heads, 4 KV heads, head dim 256, FFN 10240, sliding window
//                 1024, every 6th layer global; 34 layers real) with 256 image tokens attending non-causally
#include "common.h"
#include "image-block.h"
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

static bool g_extra_bufts = true;
static std::string g_only;

static void bench_model(const std::string & path, int n_tokens, int reps, int n_threads, int n_img,
                        const image_block * block = nullptr) {
    const config cfgs[] = { { "tap", true, false }, { "no-tap", false, false }, { "fa", false, true } };
    lmm_params   base;
    base.extra_bufts = g_extra_bufts;
    base.model     = path;
    base.n_ctx     = (n_img + n_tokens + 128 + 255) / 256 * 256;
    base.n_threads = n_threads;
    lmm_model lm(base);
    printf("\nmodel: %s\n  %s, %d threads, %d decode tokens after a %d-image-token prompt, %d reps\n", path.c_str(),
           lm.desc().c_str(), n_threads, n_tokens, n_img, reps);

    std::vector<float> embd((size_t) n_img * lm.n_embd_inp());
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
    size_t                           map_bytes = 0;
    for (int r = 0; r < reps; ++r) {
        for (int i = 0; i < 3; ++i) {
            if (!g_only.empty() && g_only != cfgs[i].name) {
                tps[i].push_back(1.0);
                pps[i].push_back(1.0);
                continue;
            }
            const gen_result g = sessions[i]->generate(embd.data(), n_img, gp, block);
            tps[i].push_back(n_tokens / g.t_gen_s);
            pps[i].push_back(g.prompt_len / g.t_prompt_s);
            if (i == 0) {
                map_bytes = (g.maps.mean.size() + g.maps.official.size() + g.maps.full.size()) * sizeof(float);
            }
        }
    }
    double t[3];
    for (int i = 0; i < 3; ++i) {
        t[i] = median(tps[i]);
        printf("  %-7s decode %9.2f tok/s   prompt %9.1f tok/s\n", cfgs[i].name, t[i], median(pps[i]));
    }
    printf("  ratio tap/no-tap %.3f   tap/fa %.3f   (tap overhead %.1f%% vs the same graph)\n", t[0] / t[1],
           t[0] / t[2], 100.0 * (t[1] / t[0] - 1.0));
    printf("  prompt ratio tap/no-tap %.3f   tap/fa %.3f\n", median(pps[0]) / median(pps[1]),
           median(pps[0]) / median(pps[2]));
    printf("  tap maps kept %zu bytes (%d rows x %d image tokens x 2 maps)\n",
           map_bytes, n_tokens, n_img);
}

// The random GGUF of a shape at path, written on the first run and reused afterwards (writing a big one takes a minute).
static void cached_random_model(const std::string & path, const std::string & like, const random_llama_shape & s) {
    if (!file_exists(path)) {
        fprintf(stderr, "writing %s ...\n", path.c_str());
        write_random_llama(path, like, s);
    }
}

int main(int argc, char ** argv) {
    std::string model     = std::string(GLM_SOURCE_DIR) + "/tests/golden/llava/llava-tiny-f32.gguf";
    bool        big       = false;
    int         n_tokens  = 32;
    int         reps      = 3;
    int         n_threads = 2;
    std::string tmp       = "/tmp";
    int         n_img     = 576;
    int         layers_8b = 0;
    int         layers_qwen = 0, layers_gemma = 0;
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
        } else if (a == "--tmp" && i + 1 < argc) {
            tmp = argv[++i];
        } else if (a == "--image-tokens" && i + 1 < argc) {
            n_img = atoi(argv[++i]);
        } else if (a == "--no-extra-bufts") {  // no AMX / repacked weights (ggml's AMX Q4_K crashed here)
            g_extra_bufts = false;
        } else if (a == "--only" && i + 1 < argc) {  // one configuration (tap, no-tap, fa): the others print 1
            g_only = argv[++i];
        } else if (a == "--qwen25vl" && i + 1 < argc) {
            layers_qwen = atoi(argv[++i]);
        } else if (a == "--gemma3" && i + 1 < argc) {
            layers_gemma = atoi(argv[++i]);
        } else if (a == "--big8b" && i + 1 < argc) {
            layers_8b = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench-tap [-m model.gguf] [--big] [--big8b layers] [--qwen25vl layers] [--gemma3 layers] "
                            "[--image-tokens n] [-n tokens] [-r reps] [-t threads] [--tmp dir] [--no-extra-bufts] [--only tap|no-tap|fa]\n");
            return 2;
        }
    }
    if (n_img < 1 || layers_8b < 0 || layers_qwen < 0 || layers_gemma < 0) {
        fprintf(stderr, "bench-tap: --image-tokens must be >= 1 and --big8b, --qwen25vl, --gemma3 >= 0\n");
        return 2;
    }
    log_route_ggml(false);
    try {
        bench_model(model, n_tokens, reps, n_threads, n_img);
        if (big) {
            for (ggml_type type : { GGML_TYPE_Q4_K, GGML_TYPE_Q8_0 }) {
                const std::string path = tmp + "/glm-bench-llama-1b-" + ggml_type_name(type) + ".gguf";
                random_llama_shape s;
                s.n_embd    = 2048;
                s.n_layer   = 16;
                s.n_head    = 32;
                s.n_head_kv = 8;
                s.n_ff      = 8192;
                s.type      = type;
                cached_random_model(path, model, s);
                bench_model(path, n_tokens, reps, n_threads, n_img);
            }
        }
        if (layers_8b > 0) {
            const std::string path = tmp + "/glm-bench-llama-8b-shape-" + std::to_string(layers_8b) + "l-q4_k.gguf";
            random_llama_shape s;
            s.n_embd    = 4096;
            s.n_layer   = layers_8b;
            s.n_head    = 32;
            s.n_head_kv = 8;
            s.n_ff      = 14336;
            s.n_ctx     = 8192;
            s.type      = GGML_TYPE_Q4_K;
            cached_random_model(path, model, s);
            bench_model(path, n_tokens, reps, n_threads, n_img);
        }
        if (layers_qwen > 0) {
            const std::string path = tmp + "/glm-bench-qwen25vl-7b-shape-" + std::to_string(layers_qwen) + "l-q4_k.gguf";
            random_llama_shape s;
            s.arch          = "qwen2vl";
            s.n_embd        = 3584;
            s.n_layer       = layers_qwen;
            s.n_head        = 28;
            s.n_head_kv     = 4;
            s.n_ff          = 18944;
            s.n_ctx         = 8192;
            s.rope_sections = { 16, 24, 24, 0 };
            s.type          = GGML_TYPE_Q4_K;
            cached_random_model(path, model, s);
            // the block as mtmd lays out Qwen2.5-VL's merged grid: t = 0, y = row, x = column, z = 0 (plane-major),
            // the text after it at start + max(rows, cols)
            const int   side = 36;
            image_block blk;
            blk.n_pos = side;
            blk.mrope_pos.assign((size_t) side * side * 4, 0);
            for (int i = 0; i < side * side; ++i) {
                blk.mrope_pos[(size_t) i + side * side]     = i / side;
                blk.mrope_pos[(size_t) i + 2 * side * side] = i % side;
            }
            bench_model(path, n_tokens, reps, n_threads, side * side, &blk);
        }
        if (layers_gemma > 0) {
            const std::string path = tmp + "/glm-bench-gemma3-4b-shape-" + std::to_string(layers_gemma) + "l-q4_k.gguf";
            random_llama_shape s;
            s.arch      = "gemma3";
            s.n_embd    = 2560;
            s.n_layer   = layers_gemma;
            s.n_head    = 8;
            s.n_head_kv = 4;
            s.head_dim  = 256;
            s.n_ff      = 10240;
            s.n_ctx     = 8192;
            s.n_swa     = 1024;
            s.type      = GGML_TYPE_Q4_K;
            cached_random_model(path, model, s);
            image_block blk;  // Gemma 3: 256 tokens, one ubatch, attending to each other both ways
            blk.non_causal = true;
            bench_model(path, n_tokens, reps, n_threads, 256, &blk);
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "bench-tap: %s\n", e.what());
        return 1;
    }
    return 0;
}
