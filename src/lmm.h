// lmm.h: the language half of a LLaVA-style model on libllama: prompt template, tokenisation, the prompt decode
// with the image as an embedding batch (positions, markers and causality as the vision model's image_block says:
// Qwen-VL's M-RoPE, Gemma 3's non-causal block), and generation (greedy or sampled) with the attention tap armed on
// the row that predicts each output token. Cambrian-1: the aggregator blocks inside the LLM run during the prompt's
// decode calls (models/cambrian-llm.h: the session's context evaluates through cambrian_llm_hook, the tap chained).
//
// lmm_model (weights, vocabulary, shape) is immutable after load and may be shared between threads;
// lmm_session (llama_context, KV cache, tap) serves one thread at a time.
#pragma once

#include "attention-tap.h"
#include "image-block.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

struct llama_model;
struct llama_context;
struct llama_vocab;
struct llama_adapter_lora;

namespace glm {

struct cambrian_model;
class cambrian_llm_hook;
class compute_backend;

// LLaVA-1.5's conversation template (conv_llava_v1): <image> marks the image, {prompt} the user's text.
extern const char * const k_template_llava_v1;

struct lmm_params {
    std::string model;               // LLM GGUF (llama.cpp format)
    std::string lora;                // optional LoRA adapter GGUF (e.g. DiffLMM); "" = none
    float       lora_scale   = 1.0f;
    int         n_ctx        = 4096; // context length (tokens); LLaVA-1.5 was trained with 4096
    int         n_batch      = 512;  // tokens (or image embeddings) per llama_decode call
    int         n_threads    = 0;    // CPU threads; 0 = all hardware threads
    int         n_gpu_layers = -1;   // layers offloaded to a GPU; -1 = all (when the build has a GPU)
    bool        kv_f32       = false;  // F32 KV cache (exact attention; tests); default F16
    bool        flash_attn   = false;  // flash attention when NOT tapping (the tap always turns it off)
    bool        tap          = true;   // install the attention tap (flash attention off)
    bool        tap_dump     = false;  // keep every layer's and head's map (memory: rows x L x H x image)
    bool        extra_bufts  = true;   // ggml's extra CPU weight buffers (AMX, repacked quants); false avoids them
    // Cambrian-1 (models/cambrian-vision.h): the aggregator whose in-LLM blocks the prompt's decode calls run, and the
    // compute state they run on (the caller's, on the device of the aggregator's weights; both must outlive the
    // session); null = a plain LLM
    const cambrian_model * cambrian         = nullptr;
    compute_backend *      cambrian_compute = nullptr;
};

struct gen_token;

struct gen_params {
    std::string prompt    = "Describe the image in detail.";
    std::string templ;             // a template name (prompt-template.h: llava_v1, llava_llama_3, llama3,
                                   // mistral_instruct) or text; "" = the model's groundlmm.prompt_template key, else
                                   // the one matching its tokenizer.chat_template (Llama-3, Mistral), else llava_v1
    int         n_predict = 512;   // max tokens to generate (>= 1)
    float       temp      = 0.0f;  // <= 0: greedy
    int         top_k     = 0;     // 0 = off
    float       top_p     = 1.0f;  // 1 = off
    uint32_t    seed      = 0;     // sampling seed
    std::vector<int32_t> forced;   // teacher forcing: these tokens are decoded instead of sampled
    std::string answer;            // teacher forcing by text: ground this answer instead of generating one
                                   // (tokenised without BOS, as generated tokens are); "" = generate
    bool        keep_logits = false;  // keep each step's logits (n_steps x n_vocab)
    // Explicit prompt tokens before / after the image (replaying a reference's ids); both empty = tokenize the
    // template. The vision model's markers (image_block text_before / text_after) are still added around the image.
    std::vector<int32_t> prompt_pre_ids, prompt_post_ids;
    bool        parse_special = false;  // the template's special tokens (<|im_start|>) are parsed as such (chat
                                        // templates of libmtmd families); LLaVA's plain-text template: off
    bool        map_all_layers = false; // maps average every layer; default: the layers that see the whole image
                                        // (all but sliding-window layers, e.g. 1 of 6 in Gemma 3)
    // Called after each generated (or forced) token k with its piece (streaming); return false to stop: the run
    // then ends with stop_reason "aborted". Runs on the generating thread.
    std::function<bool(const gen_token & token, int k)> on_token;
};

struct gen_token {
    int32_t     id = 0;
    std::string text;          // the token's piece (UTF-8 bytes, may be a partial character)
    int         begin = 0;     // byte span [begin, end) of the token in the final answer text
    int         end   = 0;
    bool        eog   = false; // end-of-generation token (its map is kept; it has no text)
};

struct gen_result {
    std::string            answer;        // decoded answer, leading/trailing whitespace stripped as LLaVA does
    std::vector<gen_token> tokens;        // generated tokens, one attention row each
    std::vector<int32_t>   prompt_pre;    // BOS + tokens of the text before the image
    std::vector<int32_t>   prompt_post;   // tokens of the text after the image
    int                    image_start = 0;  // KV cell (= token index) of the first image token
    int                    prompt_len  = 0;  // P = pre + image + post, in tokens (KV cells; M-RoPE positions differ)
    int                    image_pos   = 0;  // position of the first image token
    int                    pos_after_image = 0;  // position of the first token after the image (M-RoPE: + max(h, w))
    std::vector<int>       map_layers;    // the layers the maps average (empty = all)
    std::string            stop_reason;   // "eos", "length", "forced" or "aborted" (on_token returned false)
    std::vector<float>     logits;        // n_steps x n_vocab, when gen_params.keep_logits
    attn_maps              maps;          // one row per generated token (empty when the tap is off)
    double                 t_prompt_s = 0, t_gen_s = 0;

    std::vector<int32_t> ids() const {  // the generated token ids, in order
        std::vector<int32_t> v;
        v.reserve(tokens.size());
        for (const gen_token & t : tokens) {
            v.push_back(t.id);
        }
        return v;
    }
};

class lmm_model;

// The token layout of one run: the prompt's text tokens around the image (the template split at <image>, with
// {prompt} filled in), the teacher-forced tokens (gp.forced, or gp.answer tokenised) and the steps. Throws
// glm::error for a bad template or an answer without tokens, and when prompt_len + n_steps exceeds n_ctx.
// lmm_session::generate runs this layout; a server calls it to refuse a request before queueing it.
// Thread-safe (tokenising only reads the vocabulary).
struct gen_layout {
    std::vector<int32_t> pre, post;  // BOS + text before the image; text after it
    std::vector<int32_t> forced;     // teacher-forced tokens; empty = generate
    int                  prompt_len = 0;  // pre + image + post
    int                  n_steps    = 0;  // forced.size(), or n_predict
};
gen_layout gen_plan(const lmm_model & model, const gen_params & gp, int n_img, int n_ctx);

class lmm_model {
public:
    explicit lmm_model(const lmm_params & params);
    ~lmm_model();
    lmm_model(const lmm_model &)             = delete;
    lmm_model & operator=(const lmm_model &) = delete;

    llama_model *       get() const { return model_; }
    const llama_vocab * vocab() const { return vocab_; }
    llama_adapter_lora * lora() const { return lora_; }
    int                 n_embd() const { return n_embd_; }
    int                 n_embd_inp() const { return n_embd_inp_; }  // input embedding width (Qwen3-VL deepstack: wider)
    // Layers whose attention sees every KV cell: all but the sliding-window layers (Gemma 3: every 6th).
    const std::vector<int> & global_layers() const { return global_layers_; }
    // The GGUF's chat template applied to one user turn `image_text` + "{prompt}" (with the system turn the family's
    // template adds by default, e.g. Qwen2.5-VL's "You are a helpful assistant."); fails when the file has none.
    std::string         chat_prompt_template(const std::string & image_text = "<image>") const;
    int                 n_layer() const { return n_layer_; }
    int                 n_head() const { return n_head_; }
    int                 n_vocab() const { return n_vocab_; }
    const std::string & path() const { return path_; }
    const std::string & prompt_template() const { return template_; }  // from the file, or llava_v1
    std::string         desc() const;

    // parse_special: special-token text (e.g. <|eot_id|>) becomes that token (templates); off for plain text
    std::vector<int32_t> tokenize(const std::string & text, bool add_special, bool parse_special = false) const;
    std::string          piece(int32_t token) const;

private:
    llama_model *        model_ = nullptr;
    const llama_vocab *  vocab_ = nullptr;
    llama_adapter_lora * lora_  = nullptr;
    std::string          path_, template_;
    int                  n_embd_ = 0, n_embd_inp_ = 0, n_layer_ = 0, n_head_ = 0, n_vocab_ = 0;
    std::vector<int>     global_layers_;
};

class lmm_session {
public:
    lmm_session(const lmm_model & model, const lmm_params & params);
    ~lmm_session();
    lmm_session(const lmm_session &)             = delete;
    lmm_session & operator=(const lmm_session &) = delete;

    // Runs the template with the image embeddings (n_img x n_embd_inp, token-major) and generates. `dec`: how the
    // image block is decoded (text around it, M-RoPE positions, non-causal attention); null = LLaVA's way.
    gen_result generate(const float * img_embd, int n_img, const gen_params & gp, const image_block * dec = nullptr);

    const lmm_model & model() const { return model_; }
    int               n_ctx() const;
    bool              tapping() const { return tap_ != nullptr; }
    // Keep every layer's and head's map in the next runs (attn_heads dump); the tap must be on.
    void              set_tap_dump(bool dump);
    // Also reduce the mean map of these heads in the next runs (empty: none; head-set.h); the tap must be on.
    void              set_tap_heads(const std::vector<head_pair> & heads);

private:
    void decode_prompt(const int32_t * toks, const float * embd, int n, int pos0, const int32_t * mrope = nullptr);

    const lmm_model &              model_;
    lmm_params                     params_;
    llama_context *                ctx_ = nullptr;
    std::unique_ptr<attention_tap> tap_;
    std::unique_ptr<cambrian_llm_hook> cambrian_;  // Cambrian-1's in-LLM blocks (armed for the prompt only)
};

}  // namespace glm
