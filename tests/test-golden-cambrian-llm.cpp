// test-golden-cambrian-llm <folder>: Cambrian's in-LLM aggregator blocks inside an unmodified libllama, written
// back from the evaluation callback (models/cambrian-llm.h), against the official prefill on the tiny random model
// (tests/golden/cambrian, scripts/cambrian-golden.py):
//
//  1. the golden's LLaMA (cambrian-tiny.safetensors, HF names) written as a llama GGUF by cambrian_convert_llm (q/k
//     rows permuted as llama.cpp's converter does, vocabulary "none" with the golden's size)
//  2. the prefill fed with the reference inputs_embeds (llm.hidden0) in one ubatch: the hidden states after every
//     layer (llm.hidden<i+1>, after the block where one runs), the logits, every attention probability, and the
//     groundLMM cambrian.py maps (head H-2 and all heads) computed from them
//  3. the same prefill in ubatches of 4 tokens (the blocks rewrite the rows each ubatch holds), and with flash
//     attention on: logits
//  4. the hook disarmed: the logits move away from the reference (the blocks matter on this model)
// The double-BOS case (image at image_position + 1) checks that the blocks act on image_position, as the official
// code does, and that the hook warns about it.
#include "golden-util.h"

#include "cambrian-convert.h"
#include "common.h"
#include "gguf-loader.h"
#include "llama.h"
#include "models/cambrian-llm.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

using namespace glm;
namespace fs = std::filesystem;

// relative to the tensor's max, F32 weights and KV cache (measured on tests/golden/cambrian, CPU: hidden states
// 6.5e-7, logits 8.8e-7)
static const double k_tol_hidden = 1e-5;
static const double k_tol_logits = 1e-5;
// with flash attention, whose CPU kernel computes in F16 (measured 1.8e-3; without the blocks the logits move by
// 3 absolute, ~0.6 relative, so this still tells them apart)
static const double k_tol_logits_fa = 1e-2;
// absolute, probabilities and maps (measured 6.3e-7 and 1.9e-8)
static const double k_tol_attn   = 1e-5;

// Records every layer's attention probabilities of one decode (kq_soft_max-<il>, ne [n_kv, n_tokens, n_head]).
struct attn_recorder {
    std::map<int, std::vector<float>> probs;
    std::map<int, std::array<int64_t, 3>> ne;
    static bool cb(ggml_tensor * t, bool ask, void * ud) {
        if (strncmp(t->name, "kq_soft_max-", 12) != 0) {
            return false;
        }
        if (ask) {
            return true;
        }
        attn_recorder * r  = static_cast<attn_recorder *>(ud);
        const int       il = atoi(t->name + 12);
        std::vector<float> v((size_t) ggml_nelements(t));
        ggml_backend_tensor_get(t, v.data(), 0, v.size() * sizeof(float));
        r->probs[il] = std::move(v);
        r->ne[il]    = { t->ne[0], t->ne[1], t->ne[2] };
        return true;
    }
};

struct prefill_out {
    std::vector<float>              logits;  // [S, V]
    std::map<int, std::vector<float>> hidden;  // layer -> [S, E] (the last ubatch's rows for each layer)
    attn_recorder                   attn;
    int                             n_applied = 0;
};

static prefill_out run_prefill(llama_model * model, cambrian_llm_hook & hook, const std::vector<float> & embd, int S,
                               int E, int n_ubatch, bool armed, const cambrian_connector_out & conn, int W, int H,
                               int real_start, bool flash_attn = false) {
    prefill_out out;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx                = 64;
    cp.n_batch              = 64;
    cp.n_ubatch             = (uint32_t) n_ubatch;
    cp.n_seq_max            = 1;
    cp.n_threads            = 2;
    cp.n_threads_batch      = 2;
    cp.flash_attn_type      = flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k               = GGML_TYPE_F32;
    cp.type_v               = GGML_TYPE_F32;
    cp.cb_eval              = cambrian_llm_hook::eval_callback;
    cp.cb_eval_user_data    = &hook;
    hook.chain(attn_recorder::cb, &out.attn);
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fail("cannot create a llama context");
    }
    if (armed) {
        hook.arm(conn, W, H, real_start);
        hook.begin_decode(0);
    } else {
        hook.disarm();
    }
    hook.on_layer_out = [&](int il, const std::vector<float> & rows, int n_tokens, int first_pos) {
        std::vector<float> & h = out.hidden[il];
        h.resize((size_t) S * E);
        std::memcpy(h.data() + (size_t) first_pos * E, rows.data(), (size_t) n_tokens * E * sizeof(float));
    };
    llama_batch b = llama_batch_init(S, E, 1);
    b.n_tokens    = S;
    std::memcpy(b.embd, embd.data(), embd.size() * sizeof(float));
    for (int i = 0; i < S; ++i) {
        b.pos[i]       = i;
        b.n_seq_id[i]  = 1;
        b.seq_id[i][0] = 0;
        b.logits[i]    = 1;
    }
    const int rc = llama_decode(ctx, b);
    llama_batch_free(b);
    if (rc != 0) {
        llama_free(ctx);
        fail("llama_decode failed (%d)", rc);
    }
    const int V = llama_vocab_n_tokens(llama_model_get_vocab(model));
    out.logits.assign(llama_get_logits(ctx), llama_get_logits(ctx) + (size_t) S * V);
    out.n_applied = hook.n_blocks_applied();
    hook.on_layer_out = nullptr;
    hook.disarm();
    llama_free(ctx);
    return out;
}

int main(int argc, char ** argv) {
    const std::string dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    golden::report    rep;
    log_route_ggml(false);
    const fs::path tmp = fs::temp_directory_path() / ("glm-golden-cambrian-llm-" + std::to_string(getpid()));
    llama_backend_init();
    llama_model * model = nullptr;
    try {
        const nlohmann::json   info = nlohmann::json::parse(std::ifstream(dir + "/cases.json"));
        const safetensors_file st(dir + "/cases.safetensors");
        const nlohmann::json & ccfg = info["cambrian_config"];
        fs::create_directories(tmp);

        // the aggregator (no towers needed: the connector runs on the reference features)
        cambrian_convert_params cp;
        cp.input  = dir + "/" + info["weights"]["file"].get<std::string>();
        cp.output = (tmp / "cambrian-sva.gguf").string();
        std::ofstream(tmp / "config.json") << ccfg.dump();
        cambrian_convert_read_config((tmp / "config.json").string(), &cp);
        cambrian_convert(cp);
        compute_backend be({ /*n_threads=*/2, /*use_gpu=*/true });
        gguf_loader     ml(cp.output);
        ml.load(be.primary());
        cambrian_model m;
        m.load(ml);

        const std::string llm = (tmp / "cambrian-tiny-llm.gguf").string();
        {
            cambrian_llm_convert_params lp;
            lp.input  = cp.input;
            lp.config = (tmp / "config.json").string();
            lp.output = llm;
            lp.type   = GGML_TYPE_F32;
            cambrian_convert_llm(lp);
        }
        llama_model_params mp = llama_model_default_params();
        mp.n_gpu_layers       = 0;
        model                 = llama_model_load_from_file(llm.c_str(), mp);
        if (!model) {
            fail("%s: libllama cannot load it", llm.c_str());
        }
        const int E = llama_model_n_embd(model), L = llama_model_n_layer(model), NH = llama_model_n_head(model);
        const int V = llama_vocab_n_tokens(llama_model_get_vocab(model));
        cambrian_llm_hook hook(m, be);

        const char * towers[k_cambrian_towers] = { "siglip", "clip", "dino", "convnext" };
        for (const nlohmann::json & c : info["cases"]) {
            const std::string name = c["name"].get<std::string>(), p = name + ".";
            const int         W = c["width"].get<int>(), Hh = c["height"].get<int>();
            const int         real_start = c["image_start"].get<int>();
            printf("--- case %s (%dx%d, image at %d, image_position %d)\n", name.c_str(), W, Hh, real_start,
                   m.hp.image_position);
            std::array<std::vector<float>, k_cambrian_towers> feats;
            for (int i = 0; i < k_cambrian_towers; ++i) {
                feats[i] = st.get(p + towers[i] + ".features").to_f32();
            }
            const cambrian_connector_out conn = cambrian_run_connector(m, be, feats, W, Hh);
            const std::vector<float>     embd = st.get(p + "llm.hidden0").to_f32();
            const int                    S    = (int) (embd.size() / E);

            // 2. one ubatch
            prefill_out r = run_prefill(model, hook, embd, S, E, 64, true, conn, W, Hh, real_start);
            rep.check(p + "blocks applied", r.n_applied == m.hp.n_llm_blocks,
                      strfmt("%d of %d", r.n_applied, m.hp.n_llm_blocks));
            for (int il = 0; il + 1 < L; ++il) {
                rep.compare(p + "hidden after layer " + std::to_string(il), r.hidden[il],
                            st.get(p + "llm.hidden" + std::to_string(il + 1)).to_f32(), k_tol_hidden, true);
            }
            const std::vector<float> want_logits = st.get(p + "logits").to_f32();
            rep.compare(p + "logits", r.logits, want_logits, k_tol_logits, true);
            // attentions [layer, head, query, key] from kq_soft_max [n_kv, n_tokens, n_head]
            std::vector<float> att((size_t) L * NH * S * S);
            bool               all_layers = (int) r.attn.probs.size() == L;
            for (int il = 0; il < L && all_layers; ++il) {
                const auto & ne = r.attn.ne[il];
                const auto & pr = r.attn.probs[il];
                for (int h = 0; h < NH; ++h) {
                    for (int q = 0; q < S; ++q) {
                        for (int k = 0; k < S; ++k) {
                            att[(((size_t) il * NH + h) * S + q) * S + k] = pr[((size_t) h * ne[1] + q) * ne[0] + k];
                        }
                    }
                }
            }
            rep.check(p + "attention of every layer captured", all_layers);
            rep.compare(p + "attentions", att, st.get(p + "attentions").to_f32(), k_tol_attn);
            // groundLMM cambrian.py maps on the prefill: last row, span from the real image start, [h', w'+1]
            const int hq = c["unpad_h"].get<int>(), wq = c["unpad_w"].get<int>(), n_span = hq * (wq + 1);
            for (const char * tag : { "head", "all" }) {
                const bool         all = strcmp(tag, "all") == 0;
                std::vector<float> map((size_t) hq * wq, 0.0f);
                for (int il = 0; il < L; ++il) {
                    for (int h = all ? 0 : NH - 2; h < (all ? NH : NH - 1); ++h) {
                        for (int j = 0; j < n_span; ++j) {
                            if (j % (wq + 1) == wq) {
                                continue;
                            }
                            map[(size_t) (j / (wq + 1)) * wq + j % (wq + 1)] +=
                                att[(((size_t) il * NH + h) * S + (S - 1)) * S + real_start + j];
                        }
                    }
                }
                for (float & v : map) {
                    v /= (float) (L * (all ? NH : 1));
                }
                rep.compare(p + "maps." + tag, map, st.get(p + "maps." + tag).to_f32(), k_tol_attn);
            }

            // 3. ubatches of 4 tokens
            prefill_out r4 = run_prefill(model, hook, embd, S, E, 4, true, conn, W, Hh, real_start);
            rep.compare(p + "logits (ubatches of 4)", r4.logits, want_logits, k_tol_logits, true);

            // 3b. flash attention on (no attention tensors then; the write-back does not need them)
            prefill_out rf = run_prefill(model, hook, embd, S, E, 64, true, conn, W, Hh, real_start, true);
            rep.check(p + "blocks applied (flash attention)", rf.n_applied == m.hp.n_llm_blocks);
            rep.compare(p + "logits (flash attention)", rf.logits, want_logits, k_tol_logits_fa, true);

            // 4. without the blocks
            prefill_out r0   = run_prefill(model, hook, embd, S, E, 64, false, conn, W, Hh, real_start);
            double      dmax = 0.0;
            for (size_t i = 0; i < r0.logits.size(); ++i) {
                dmax = std::max(dmax, (double) std::fabs(r0.logits[i] - want_logits[i]));
            }
            rep.check(p + "the blocks change the logits", dmax > 1e-2, strfmt("max |diff| without them %.3g", dmax));
            (void) V;
        }
    } catch (const std::exception & e) {
        rep.check("exception", false, e.what());
    }
    if (model) {
        llama_model_free(model);
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return rep.finish("test-golden-cambrian-llm");
}
