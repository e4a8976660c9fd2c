#include "lmm.h"

#include "common.h"
#include "gguf-loader.h"
#include "models/cambrian-llm.h"
#include "models/cambrian-vision.h"
#include "prompt-template.h"

#include "llama.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <thread>

namespace glm {

const char * const k_template_llava_v1 =
    "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, "
    "detailed, and polite answers to the human's questions. USER: <image>\n{prompt} ASSISTANT:";

static void backend_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { llama_backend_init(); });
}

static int hw_threads() { return (int) std::max(1u, std::thread::hardware_concurrency()); }

lmm_model::lmm_model(const lmm_params & p) : path_(p.model) {
    backend_init_once();
    if (p.model.empty()) {
        fail("no LLM given (-m)");
    }
    {
        // our strict reader first: a missing, non-GGUF or truncated file gets a precise one-line error
        gguf_loader probe(p.model);
        const std::string arch = probe.get_str("general.architecture", "");
        if (arch == "clip" || arch == "toyvit" || arch == "difflmm" || arch == "sam" || arch == "cambrian") {
            fail("%s: this is a vision/segmentation model (architecture '%s'), not an LLM", p.model.c_str(),
                 arch.c_str());
        }
    }
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers       = p.n_gpu_layers < 0 ? 999 : p.n_gpu_layers;
    mp.use_extra_bufts    = p.extra_bufts;
    backend_last_error();
    model_ = llama_model_load_from_file(p.model.c_str(), mp);
    if (!model_) {
        const std::string why = backend_last_error();
        fail("%s: libllama cannot load the model%s%s", p.model.c_str(), why.empty() ? "" : ": ", why.c_str());
    }
    vocab_   = llama_model_get_vocab(model_);
    n_embd_     = llama_model_n_embd(model_);
    n_embd_inp_ = llama_model_n_embd_inp(model_);
    n_layer_    = llama_model_n_layer(model_);
    n_head_  = llama_model_n_head(model_);
    n_vocab_ = llama_vocab_n_tokens(vocab_);
    char buf[4096];
    // sliding-window layers see only the last n_swa cells: the maps skip them by default. libllama does not export
    // which layers slide; Gemma 3 (the family we map that has them) slides in all but every `period`-th layer
    // (LC:src/models/gemma3.cpp, key <arch>.attention.sliding_window_pattern, default 6).
    {
        char arch[64] = "";
        llama_model_meta_val_str(model_, "general.architecture", arch, sizeof(arch));
        int period = 1;  // 1 = every layer is global
        if (llama_model_n_swa(model_) > 0) {
            if (std::string(arch) == "gemma3") {
                period = 6;
                const std::string key = std::string(arch) + ".attention.sliding_window_pattern";
                if (llama_model_meta_val_str(model_, key.c_str(), buf, sizeof(buf)) >= 0) {
                    char * end = nullptr;
                    const long v = strtol(buf, &end, 10);
                    if (end == buf || *end != '\0' || v <= 0) {
                        fail("%s: %s is '%s', expected a positive period", p.model.c_str(), key.c_str(), buf);
                    }
                    period = (int) v;
                }
            } else {
                GLM_LOG_WARN("%s: sliding-window attention (%d cells) in a '%s' model whose window layers groundlmm "
                             "does not know: maps average every layer\n",
                             p.model.c_str(), llama_model_n_swa(model_), arch);
            }
        }
        for (int il = 0; il < n_layer_; ++il) {
            if (il % period == period - 1) {
                global_layers_.push_back(il);
            }
        }
    }
    if (llama_model_meta_val_str(model_, "groundlmm.prompt_template", buf, sizeof(buf)) >= 0) {
        template_ = prompt_template_resolve(buf);  // a name (the Cambrian converter's) or a text with <image>
    } else {  // the LLaVA conversation that goes with the file's chat format (Llama-3, Mistral; else Vicuna)
        const char * ct = llama_model_chat_template(model_, nullptr);
        template_       = prompt_template_resolve(prompt_template_for_chat_template(ct ? ct : ""));
    }
    if (!p.lora.empty()) {
        if (!file_exists(p.lora)) {
            fail("%s: LoRA adapter not found", p.lora.c_str());
        }
        lora_ = llama_adapter_lora_init(model_, p.lora.c_str());
        if (!lora_) {
            const std::string why = backend_last_error();
            fail("%s: cannot load the LoRA adapter for %s%s%s", p.lora.c_str(), p.model.c_str(),
                 why.empty() ? "" : ": ", why.c_str());
        }
    }
}

lmm_model::~lmm_model() {
    if (lora_) {
        llama_adapter_lora_free(lora_);
    }
    if (model_) {
        llama_model_free(model_);
    }
}

std::string lmm_model::desc() const {
    char buf[256];
    llama_model_desc(model_, buf, sizeof(buf));
    return strfmt("%s (%d layers, %d heads, n_embd %d, vocab %d)", buf, n_layer_, n_head_, n_embd_, n_vocab_);
}

std::string lmm_model::chat_prompt_template(const std::string & image_text) const {
    const char * tmpl = llama_model_chat_template(model_, nullptr);
    if (!tmpl) {
        fail("%s: the GGUF has no chat template (tokenizer.chat_template); give one with --template (with <image> "
             "and {prompt})",
             path_.c_str());
    }
    // the family's default system turn, when its template writes one (Qwen2-VL / Qwen2.5-VL)
    const std::string t(tmpl);
    const char *      k_qwen_sys = "You are a helpful assistant.";
    std::vector<llama_chat_message> msgs;
    if (t.find(k_qwen_sys) != std::string::npos) {
        msgs.push_back({ "system", k_qwen_sys });
    }
    const std::string user = image_text + "{prompt}";
    msgs.push_back({ "user", user.c_str() });
    std::vector<char> buf(4096);
    int n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), /*add_ass=*/true, buf.data(), (int32_t) buf.size());
    if (n > (int) buf.size()) {
        buf.resize((size_t) n);
        n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), true, buf.data(), (int32_t) buf.size());
    }
    if (n < 0) {
        fail("%s: libllama does not know this chat template (it applies built-in templates only); give one with "
             "--template",
             path_.c_str());
    }
    return std::string(buf.data(), (size_t) n);
}

std::vector<int32_t> lmm_model::tokenize(const std::string & text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out(text.size() + 8);
    int n = llama_tokenize(vocab_, text.data(), (int32_t) text.size(), out.data(), (int32_t) out.size(), add_special,
                           parse_special);
    if (n < 0) {
        out.resize((size_t) -n);
        n = llama_tokenize(vocab_, text.data(), (int32_t) text.size(), out.data(), (int32_t) out.size(), add_special,
                           parse_special);
    }
    if (n < 0) {
        fail("cannot tokenize a text of %zu bytes", text.size());
    }
    out.resize((size_t) n);
    return out;
}

std::string lmm_model::piece(int32_t token) const {
    char buf[256];
    int  n = llama_token_to_piece(vocab_, token, buf, sizeof(buf), 0, /*special=*/false);
    if (n < 0) {
        std::string big((size_t) -n, '\0');
        n = llama_token_to_piece(vocab_, token, big.data(), (int32_t) big.size(), 0, false);
        return big.substr(0, (size_t) std::max(n, 0));
    }
    return std::string(buf, (size_t) n);
}

lmm_session::lmm_session(const lmm_model & model, const lmm_params & p) : model_(model), params_(p) {
    if (p.n_ctx <= 0 || p.n_batch <= 0) {
        fail("invalid context size %d or batch size %d (both must be positive)", p.n_ctx, p.n_batch);
    }
    llama_context_params cp = llama_context_default_params();
    const int            nt = p.n_threads > 0 ? p.n_threads : hw_threads();
    cp.n_ctx                = (uint32_t) p.n_ctx;
    cp.n_batch              = (uint32_t) p.n_batch;
    cp.n_ubatch             = (uint32_t) p.n_batch;
    cp.n_seq_max            = 1;
    cp.swa_full             = true;  // sliding-window models (Gemma 3) keep every cell: the global layers see the
                                     // whole image and one cell per token keeps the tap's indexing
    cp.n_threads            = nt;
    cp.n_threads_batch      = nt;
    if (p.tap) {
        tap_ = std::make_unique<attention_tap>(model.n_layer(), model.n_head(), p.tap_dump);
        // the probabilities only exist as a tensor without flash attention (AUTO turns it on even on CPU)
        cp.flash_attn_type   = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        cp.cb_eval           = attention_tap::eval_callback;
        cp.cb_eval_user_data = tap_.get();
    } else {
        cp.flash_attn_type = p.flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    }
    if (p.cambrian) {  // the hook sees every tensor first (the write-back on l_out-<il>), then hands them to the tap
        if (!p.cambrian_compute) {
            fail("cambrian: the session needs a compute state for the in-LLM blocks");
        }
        cambrian_ = std::make_unique<cambrian_llm_hook>(*p.cambrian, *p.cambrian_compute);
        if (tap_) {
            cambrian_->chain(attention_tap::eval_callback, tap_.get());
        }
        cp.cb_eval           = cambrian_llm_hook::eval_callback;
        cp.cb_eval_user_data = cambrian_.get();
    }
    if (p.kv_f32) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
    }
    backend_last_error();
    ctx_ = llama_init_from_model(model.get(), cp);
    if (!ctx_) {
        const std::string why = backend_last_error();
        fail("%s: cannot create a context of %d tokens%s%s", model.path().c_str(), p.n_ctx, why.empty() ? "" : ": ",
             why.c_str());
    }
    if (model.lora()) {
        llama_adapter_lora * a     = model.lora();
        float                scale = p.lora_scale;
        if (llama_set_adapters_lora(ctx_, &a, 1, &scale) != 0) {
            fail("cannot apply the LoRA adapter %s", p.lora.c_str());
        }
    }
}

lmm_session::~lmm_session() {
    if (ctx_) {
        llama_free(ctx_);
    }
}

int lmm_session::n_ctx() const { return (int) llama_n_ctx(ctx_); }

// Decodes n prompt items (tokens, or embeddings when embd != nullptr) at positions pos0.., in n_batch chunks.
// With `mrope` (embeddings only: 4 x n relative positions, plane-major) the batch carries 4 positions per item,
// pos0 added to each, as mtmd's helper lays them out (mtmd-helper-common.h set_position_mrope_2d).
void lmm_session::decode_prompt(const int32_t * toks, const float * embd, int n, int pos0, const int32_t * mrope) {
    const int n_embd = model_.n_embd_inp();
    for (int i0 = 0; i0 < n; i0 += params_.n_batch) {
        const int   m = std::min(n - i0, params_.n_batch);
        llama_batch b = llama_batch_init(m, embd ? n_embd : 0, 1);
        std::vector<llama_pos> pos4;
        if (embd) {
            memcpy(b.embd, embd + (size_t) i0 * n_embd, (size_t) m * n_embd * sizeof(float));
        }
        if (mrope) {
            pos4.resize((size_t) m * 4);
            for (int k = 0; k < 4; ++k) {
                for (int i = 0; i < m; ++i) {
                    pos4[(size_t) k * m + i] = pos0 + mrope[(size_t) k * n + i0 + i];
                }
            }
        }
        for (int i = 0; i < m; ++i) {
            if (!embd) {
                b.token[i] = toks[i0 + i];
            }
            b.pos[i]       = pos0 + i0 + i;
            b.n_seq_id[i]  = 1;
            b.seq_id[i][0] = 0;
            b.logits[i]    = 0;
        }
        b.n_tokens   = m;
        if (cambrian_ && cambrian_->armed()) {
            cambrian_->begin_decode(pos0 + i0);  // the hook counts the ubatches from this call's first position
        }
        llama_pos * own_pos = b.pos;
        if (mrope) {
            b.pos = pos4.data();
        }
        const int rc = llama_decode(ctx_, b);
        b.pos = own_pos;
        llama_batch_free(b);
        if (rc != 0) {
            fail("llama_decode failed (%d) on %s at position %d", rc, embd ? "image embeddings" : "text tokens",
                 pos0 + i0);
        }
    }
}

void lmm_session::set_tap_dump(bool dump) {
    if (!tap_) {
        fail("the LMM session was created without the attention tap");
    }
    tap_->set_dump(dump);
}

void lmm_session::set_tap_heads(const std::vector<head_pair> & heads) {
    if (!tap_) {
        fail("the LMM session was created without the attention tap");
    }
    tap_->set_heads(heads);
}

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

gen_layout gen_plan(const lmm_model & model, const gen_params & gp, int n_img, int n_ctx) {
    const std::string templ = gp.templ.empty() ? model.prompt_template() : prompt_template_resolve(gp.templ);
    const size_t      at    = templ.find("<image>");
    if (at == std::string::npos || templ.find("<image>", at + 1) != std::string::npos) {
        fail("prompt template must contain '<image>' exactly once: \"%s\"", templ.c_str());
    }
    std::string before = templ.substr(0, at), after = templ.substr(at + 7);
    for (std::string * s : { &before, &after }) {
        const size_t p = s->find("{prompt}");
        if (p != std::string::npos) {
            s->replace(p, 8, gp.prompt);
        }
    }
    gen_layout r;
    // special-token text in the template (<|start_header_id|>, <|begin_of_text|>) becomes the token, as the reference
    // (Hugging Face) tokenisers do; the tokenizer adds BOS where its vocabulary says so (llava_llama_3: twice)
    r.pre  = model.tokenize(before, /*add_special=*/true, /*parse_special=*/true);
    r.post = model.tokenize(after, /*add_special=*/false, /*parse_special=*/true);
    if (r.post.empty()) {
        fail("the prompt template has no text after '<image>'; the last prompt position must be a text token");
    }
    r.prompt_len = (int) r.pre.size() + n_img + (int) r.post.size();
    r.forced     = gp.forced;
    if (!gp.answer.empty()) {
        if (!r.forced.empty()) {
            fail("give either an answer text or forced tokens, not both");
        }
        r.forced = model.tokenize(gp.answer, /*add_special=*/false);
        if (r.forced.empty()) {
            fail("the answer to ground has no tokens");
        }
    }
    r.n_steps = r.forced.empty() ? gp.n_predict : (int) r.forced.size();
    if (r.prompt_len + r.n_steps > n_ctx) {
        const int need = r.prompt_len + r.n_steps;
        fail("the run does not fit the context of %d tokens: it needs %d tokens (prompt %d = %d text + %d image, plus "
             "%d to generate); use -c %d (--ctx-size) or more, or lower -n",
             n_ctx, need, r.prompt_len, r.prompt_len - n_img, n_img, r.n_steps, (need + 255) / 256 * 256);
    }
    return r;
}

gen_result lmm_session::generate(const float * img_embd, int n_img, const gen_params & gp, const image_block * dec) {
    static const image_block k_plain;
    const image_block &       d = dec ? *dec : k_plain;
    if (!d.mrope_pos.empty() && d.mrope_pos.size() != (size_t) n_img * 4) {
        fail("image block: %zu M-RoPE positions for %d image tokens (expected 4 per token)", d.mrope_pos.size(), n_img);
    }
    if (d.non_causal && n_img > params_.n_batch) {
        fail("the image block (%d tokens) attends non-causally and must fit one batch: raise --batch-size to at "
             "least %d",
             n_img, n_img);
    }
    if (gp.n_predict < 1) {
        fail("n_predict must be at least 1, got %d", gp.n_predict);
    }
    if (n_img <= 0 || !img_embd) {
        fail("no image embeddings");
    }
    // the template, its tokens, the teacher-forced answer and the context check: one plan (gen_plan, also used to
    // check a request before it is queued); explicit prompt ids (a family's own chat template) replace the tokens
    gen_layout lay = gen_plan(model_, gp, n_img, n_ctx());
    gen_result r;
    if (!(gp.prompt_pre_ids.empty() && gp.prompt_post_ids.empty())) {
        lay.pre  = gp.prompt_pre_ids;
        lay.post = gp.prompt_post_ids;
    }
    r.prompt_pre  = lay.pre;
    r.prompt_post = lay.post;
    // the family's markers around the block (mtmd's image begin/end text) belong to the text before / after
    r.prompt_pre.insert(r.prompt_pre.end(), d.text_before.begin(), d.text_before.end());
    r.prompt_post.insert(r.prompt_post.begin(), d.text_after.begin(), d.text_after.end());
    if (r.prompt_post.empty()) {
        fail("the prompt template has no text after '<image>'; the last prompt position must be a text token");
    }
    r.image_start     = (int) r.prompt_pre.size();
    r.prompt_len      = r.image_start + n_img + (int) r.prompt_post.size();
    r.image_pos       = r.image_start;
    r.pos_after_image = r.image_pos + (d.n_pos > 0 ? d.n_pos : n_img);
    r.map_layers      = gp.map_all_layers ? std::vector<int>() : model_.global_layers();
    if ((int) r.map_layers.size() == model_.n_layer()) {
        r.map_layers.clear();
    }
    const std::vector<int32_t> & forced  = lay.forced;
    const int                    n_steps = lay.n_steps;
    if (r.prompt_len + n_steps > n_ctx()) {  // with the markers
        const int need = r.prompt_len + n_steps;
        fail("the run does not fit the context of %d tokens: it needs %d tokens (prompt %d = %d text + %d image, plus "
             "%d to generate); use -c %d (--ctx-size) or more, or lower -n",
             n_ctx(), need, r.prompt_len, r.prompt_len - n_img, n_img, n_steps, (need + 255) / 256 * 256);
    }

    // Cambrian-1: the in-LLM blocks run on the whole prompt (the official generate's prefill), none after it
    std::shared_ptr<const cambrian_prefill> cam = d.cambrian;
    if ((bool) cam != (bool) cambrian_ || (cam && cam->model != &cambrian_->model())) {
        fail("cambrian: the %s", cam ? "image comes from a Cambrian encoder but the LLM session was created without "
                                       "its aggregator (lmm_params.cambrian)"
                                     : "LLM session runs Cambrian's in-LLM blocks but the image carries no aggregator "
                                       "data (not a Cambrian encoder's output)");
    }
    struct disarm_guard {
        cambrian_llm_hook * h;
        ~disarm_guard() {
            if (h) {
                h->disarm();
            }
        }
    } cam_guard{ cambrian_.get() };

    const double t0 = now_s();
    llama_memory_clear(llama_get_memory(ctx_), true);
    if (cam) {
        if (n_img != cam->conn.span.rows() * (cam->conn.span.cols() + 1)) {
            fail("cambrian: %d image embeddings for the aggregator's %d x (%d + 1) grid", n_img, cam->conn.span.rows(),
                 cam->conn.span.cols());
        }
        cambrian_->arm(cam->conn, cam->w, cam->h, r.image_pos);  // warns when the image is not at image_position
    }
    if (tap_) {
        tap_->set_image_cells(r.image_start, n_img);
        tap_->set_layers(r.map_layers);
    }
    decode_prompt(r.prompt_pre.data(), nullptr, (int) r.prompt_pre.size(), 0);
    if (d.non_causal) {
        llama_set_causal_attn(ctx_, false);
    }
    try {
        decode_prompt(nullptr, img_embd, n_img, r.image_pos, d.mrope_pos.empty() ? nullptr : d.mrope_pos.data());
    } catch (...) {
        llama_set_causal_attn(ctx_, true);
        throw;
    }
    if (d.non_causal) {
        llama_set_causal_attn(ctx_, true);
    }
    decode_prompt(r.prompt_post.data(), nullptr, (int) r.prompt_post.size() - 1, r.pos_after_image);
    const double t1 = now_s();

    llama_sampler * smpl = llama_sampler_chain_init(llama_sampler_chain_default_params());
    if (gp.temp <= 0.0f) {
        llama_sampler_chain_add(smpl, llama_sampler_init_greedy());
    } else {
        if (gp.top_k > 0) {
            llama_sampler_chain_add(smpl, llama_sampler_init_top_k(gp.top_k));
        }
        if (gp.top_p < 1.0f) {
            llama_sampler_chain_add(smpl, llama_sampler_init_top_p(gp.top_p, 1));
        }
        llama_sampler_chain_add(smpl, llama_sampler_init_temp(gp.temp));
        llama_sampler_chain_add(smpl, llama_sampler_init_dist(gp.seed));
    }
    struct sampler_guard {
        llama_sampler * s;
        ~sampler_guard() { llama_sampler_free(s); }
    } guard{ smpl };

    int32_t     cur = r.prompt_post.back();
    int         pos = r.pos_after_image + (int) r.prompt_post.size() - 1;
    llama_batch b   = llama_batch_init(1, 0, 1);
    struct batch_guard {
        llama_batch & b;
        ~batch_guard() { llama_batch_free(b); }
    } bguard{ b };
    r.stop_reason = forced.empty() ? "length" : "forced";
    for (int k = 0; k < n_steps; ++k) {
        b.n_tokens     = 1;
        b.token[0]     = cur;
        b.pos[0]       = pos;
        b.n_seq_id[0]  = 1;
        b.seq_id[0][0] = 0;
        b.logits[0]    = 1;
        if (tap_) {
            tap_->arm(0);
        }
        if (cambrian_ && cambrian_->armed()) {
            if (k == 0) {
                cambrian_->begin_decode(pos);  // the last prompt token still belongs to the official prefill
            } else {
                cambrian_->disarm();  // decode steps: no block (the official generate passes no features)
            }
        }
        const int rc = llama_decode(ctx_, b);
        if (rc != 0) {
            fail("llama_decode failed (%d) at position %d", rc, pos);
        }
        if (tap_) {
            tap_->commit();
        }
        if (gp.keep_logits) {
            const float * lg = llama_get_logits_ith(ctx_, -1);
            r.logits.insert(r.logits.end(), lg, lg + model_.n_vocab());
        }
        const int32_t next = forced.empty() ? llama_sampler_sample(smpl, ctx_, -1) : forced[k];
        gen_token     t;
        t.id  = next;
        t.eog = llama_vocab_is_eog(model_.vocab(), next);
        t.text = t.eog ? std::string() : model_.piece(next);
        r.tokens.push_back(t);
        if (gp.on_token && !gp.on_token(r.tokens.back(), k)) {
            r.stop_reason = "aborted";
            break;
        }
        if (forced.empty() && t.eog) {
            r.stop_reason = "eos";
            break;
        }
        cur = next;
        ++pos;
    }
    r.t_prompt_s = t1 - t0;
    r.t_gen_s    = now_s() - t1;

    // the answer as LLaVA shows it (decode, then strip) with each token's byte span in it
    std::string raw;
    std::vector<std::pair<int, int>> spans;
    for (const gen_token & t : r.tokens) {
        spans.emplace_back((int) raw.size(), (int) (raw.size() + t.text.size()));
        raw += t.text;
    }
    size_t lead = 0, trail = raw.size();
    while (lead < raw.size() && is_space(raw[lead])) {
        ++lead;
    }
    while (trail > lead && is_space(raw[trail - 1])) {
        --trail;
    }
    r.answer = raw.substr(lead, trail - lead);
    for (size_t i = 0; i < r.tokens.size(); ++i) {
        const int n        = (int) r.answer.size();
        r.tokens[i].begin  = std::min(n, std::max(0, spans[i].first - (int) lead));
        r.tokens[i].end    = std::min(n, std::max(0, spans[i].second - (int) lead));
    }
    if (tap_) {
        r.maps = tap_->take();
    }
    return r;
}

}  // namespace glm
