// make-random-llama: writes a random-weight llama GGUF (tokenizer borrowed from another GGUF) and optionally a
// LoRA adapter for it, for end-to-end tests of models without downloads (e.g. DiffLMM's width).
// usage: make-random-llama --vocab-from X.gguf --n-embd N [--n-layer L --n-head H --n-ff F] -o llm.gguf
//                          [--type f32|f16|q8_0|q4_K] [--lora lora.gguf --rank R]
#include "common.h"
#include "util/random-llama.h"

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char ** argv) {
    glm::random_llama_shape s;
    std::string             vocab, out, lora;
    int                     rank = 4;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--vocab-from") vocab = v;
        else if (a == "--n-embd") s.n_embd = atoi(v.c_str());
        else if (a == "--n-layer") s.n_layer = atoi(v.c_str());
        else if (a == "--n-head") s.n_head = s.n_head_kv = atoi(v.c_str());
        else if (a == "--n-ff") s.n_ff = atoi(v.c_str());
        else if (a == "-o") out = v;
        else if (a == "--lora") lora = v;
        else if (a == "--rank") rank = atoi(v.c_str());
        else if (a == "--type") {
            bool known = false;
            for (ggml_type t : { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K }) {
                if (v == ggml_type_name(t)) {
                    s.type = t;
                    known  = true;
                }
            }
            if (!known) {
                fprintf(stderr, "make-random-llama: --type %s: expected f32, f16, q8_0 or q4_K\n", v.c_str());
                return 2;
            }
        } else {
            fprintf(stderr, "make-random-llama: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (vocab.empty() || out.empty() || s.n_embd <= 0 || s.n_embd % s.n_head != 0) {
        fprintf(stderr, "usage: make-random-llama --vocab-from X.gguf --n-embd N [--n-layer L --n-head H --n-ff F] "
                        "-o llm.gguf [--type f32|f16|q8_0|q4_K] [--lora lora.gguf --rank R]\n");
        return 2;
    }
    try {
        glm::write_random_llama(out, vocab, s);
        if (!lora.empty()) {
            glm::write_random_lora(lora, s, rank, (float) rank);
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "make-random-llama: %s\n", e.what());
        return 1;
    }
    return 0;
}
