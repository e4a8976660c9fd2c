// eval/vqa-judge.cpp: a text-only chat with a llama.cpp GGUF for LLaVA-Bench's judge (see vqa-judge.h).
#include "eval/vqa-judge.h"

#include "common.h"

#include "llama.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace glm {

llm_judge::llm_judge(const llm_judge_params & p) : p_(p) {
    if (p.max_tokens < 1) {
        fail("judge: max tokens must be at least 1, got %d", p.max_tokens);
    }
    lmm_params lp;
    lp.model        = p.model;
    lp.n_gpu_layers = p.n_gpu_layers;
    lp.tap          = false;
    model_          = std::make_unique<lmm_model>(lp);
    if (!p.chat_template.empty()) {
        templ_ = p.chat_template;
    } else {
        const char * t = llama_model_chat_template(model_->get(), nullptr);
        if (!t) {
            fail("%s: the judge GGUF has no chat template (tokenizer.chat_template); name one (e.g. chatml, llama3, "
                 "vicuna)",
                 p.model.c_str());
        }
        templ_ = t;
    }
    llama_context_params cp = llama_context_default_params();
    const int            nt = p.n_threads > 0 ? p.n_threads : (int) std::max(1u, std::thread::hardware_concurrency());
    cp.n_ctx                = (uint32_t) p.n_ctx;
    cp.n_batch              = 512;
    cp.n_ubatch             = 512;
    cp.n_seq_max            = 1;
    cp.n_threads            = nt;
    cp.n_threads_batch      = nt;
    backend_last_error();
    ctx_ = llama_init_from_model(model_->get(), cp);
    if (!ctx_) {
        const std::string why = backend_last_error();
        fail("%s: cannot create the judge's context of %d tokens%s%s", p.model.c_str(), p.n_ctx, why.empty() ? "" : ": ",
             why.c_str());
    }
}

llm_judge::~llm_judge() {
    if (ctx_) {
        llama_free(ctx_);
    }
}

std::string llm_judge::name() const {
    const size_t s = p_.model.find_last_of('/');
    return s == std::string::npos ? p_.model : p_.model.substr(s + 1);
}

std::string llm_judge::ask(const std::string & system, const std::string & user) {
    const llama_chat_message msgs[2] = { { "system", system.c_str() }, { "user", user.c_str() } };
    std::vector<char>        buf(2 * (system.size() + user.size()) + 1024);
    int32_t n = llama_chat_apply_template(templ_.c_str(), msgs, 2, true, buf.data(), (int32_t) buf.size());
    if (n > (int32_t) buf.size()) {
        buf.resize((size_t) n);
        n = llama_chat_apply_template(templ_.c_str(), msgs, 2, true, buf.data(), (int32_t) buf.size());
    }
    if (n < 0) {
        fail("judge: llama.cpp does not know the chat template \"%.60s\" (give a built-in name: chatml, llama3, ...)",
             templ_.c_str());
    }
    const std::string   prompt(buf.data(), (size_t) n);
    const llama_vocab * vocab = model_->vocab();
    std::vector<llama_token> toks(prompt.size() + 16);
    int nt = llama_tokenize(vocab, prompt.data(), (int32_t) prompt.size(), toks.data(), (int32_t) toks.size(),
                            /*add_special=*/true, /*parse_special=*/true);
    if (nt < 0) {
        toks.resize((size_t) -nt);
        nt = llama_tokenize(vocab, prompt.data(), (int32_t) prompt.size(), toks.data(), (int32_t) toks.size(), true, true);
    }
    if (nt <= 0) {
        fail("judge: cannot tokenize the request (%zu bytes)", prompt.size());
    }
    toks.resize((size_t) nt);
    if (nt + p_.max_tokens > p_.n_ctx) {
        fail("judge: the request (%d tokens) plus %d reply tokens does not fit the judge's context of %d tokens", nt,
             p_.max_tokens, p_.n_ctx);
    }
    llama_memory_clear(llama_get_memory(ctx_), true);
    for (int i = 0; i < nt; i += 512) {
        const int nb = std::min(512, nt - i);
        if (llama_decode(ctx_, llama_batch_get_one(toks.data() + i, nb)) != 0) {
            fail("judge: llama_decode failed on the request");
        }
    }
    llama_sampler * smpl = llama_sampler_chain_init(llama_sampler_chain_default_params());
    if (p_.temperature <= 0.0f) {
        llama_sampler_chain_add(smpl, llama_sampler_init_greedy());
    } else {
        llama_sampler_chain_add(smpl, llama_sampler_init_temp(p_.temperature));
        llama_sampler_chain_add(smpl, llama_sampler_init_dist(p_.seed));
    }
    std::string reply;
    try {
        for (int k = 0; k < p_.max_tokens; ++k) {
            llama_token next = llama_sampler_sample(smpl, ctx_, -1);
            if (llama_vocab_is_eog(vocab, next)) {
                break;
            }
            reply += model_->piece(next);
            if (llama_decode(ctx_, llama_batch_get_one(&next, 1)) != 0) {
                fail("judge: llama_decode failed while replying");
            }
        }
    } catch (...) {
        llama_sampler_free(smpl);
        throw;
    }
    llama_sampler_free(smpl);
    // the reply as a chat API returns it: without the leading space of SentencePiece's first piece (parse_score
    // splits the first line on single spaces)
    const size_t b = reply.find_first_not_of(" \t\r\n");
    const size_t e = reply.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : reply.substr(b, e - b + 1);
}

}  // namespace glm
