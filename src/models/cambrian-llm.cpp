#include "models/cambrian-llm.h"

#include "common.h"

#include <cstdlib>
#include <cstring>

namespace glm {

cambrian_llm_hook::cambrian_llm_hook(const cambrian_model & m, compute_backend & compute) : m_(m), compute_(compute) {}

void cambrian_llm_hook::arm(const cambrian_connector_out & conn, int w, int h, int real_image_start) {
    conn_      = &conn;
    w_         = w;
    h_         = h;
    span_      = cambrian_unpad(m_.hp.query_side, w, h);
    n_applied_ = 0;
    if (real_image_start != m_.hp.image_position) {
        GLM_LOG_WARN("cambrian: the image starts at position %d but the model's image_position is %d; the in-LLM "
                     "blocks rewrite positions %d..%d as the official code does (a double BOS shifts the image, "
                     "docs/cambrian.md section 3)", real_image_start, m_.hp.image_position, m_.hp.image_position,
                     m_.hp.image_position + span_.rows() * (span_.cols() + 1) - 1);
    }
    begin_decode(0);
}

void cambrian_llm_hook::disarm() {
    conn_ = nullptr;
}

void cambrian_llm_hook::begin_decode(int first_pos) {
    ubatch_pos_ = first_pos;
    prev_n_     = 0;
    seen_first_ = false;
}

void cambrian_llm_hook::chain(ggml_backend_sched_eval_callback next, void * next_user_data) {
    next_    = next;
    next_ud_ = next_user_data;
}

int cambrian_llm_hook::block_of_layer(int il) const {
    const cambrian_hparams & hp = m_.hp;
    if (il < hp.llm_block_start || hp.n_llm_blocks <= 0) {
        return -1;
    }
    if (hp.llm_block_stride <= 0) {
        return il == hp.llm_block_start ? 0 : -1;
    }
    const int d = il - hp.llm_block_start;
    if (d % hp.llm_block_stride != 0) {
        return -1;
    }
    const int k = d / hp.llm_block_stride;
    return k < hp.n_llm_blocks ? k : -1;
}

static int layer_of(const char * name, const char * prefix) {
    const size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || name[n] == '\0') {
        return -1;
    }
    char *     end = nullptr;
    const long il  = strtol(name + n, &end, 10);
    return end && *end == '\0' ? (int) il : -1;
}

void cambrian_llm_hook::on_l_out(ggml_tensor * t, int il) {
    if (t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t)) {
        fail("cambrian: l_out-%d is %s%s; the write-back needs contiguous F32 hidden states", il,
             ggml_type_name(t->type), ggml_is_contiguous(t) ? "" : " (not contiguous)");
    }
    const int64_t E = t->ne[0], T = t->ne[1];
    if (E != m_.hp.llm_hidden) {
        fail("cambrian: the LLM width %lld differs from the aggregator's llm_hidden %d", (long long) E,
             m_.hp.llm_hidden);
    }
    if (il == 0) {  // a new ubatch: every ubatch runs layer 0 first
        if (seen_first_) {
            ubatch_pos_ += prev_n_;
        }
        seen_first_ = true;
        prev_n_     = (int) T;
    }
    const int k = block_of_layer(il);
    std::vector<float> rows;
    if (k >= 0 || on_layer_out) {
        rows.resize((size_t) (E * T));
        ggml_backend_tensor_get(t, rows.data(), 0, rows.size() * sizeof(float));
    }
    // after the last layer libllama keeps only the rows that give logits: none in a prompt decode that asks for
    // none, and then there is nothing the block could change (no later layer, no logits)
    if (k >= 0 && T > 0) {
        if (T != prev_n_) {
            fail("cambrian: l_out-%d holds %lld of the ubatch's %d tokens (the last layer keeps only the outputs); an "
                 "in-LLM block after the last layer needs logits for every prompt token", il, (long long) T, prev_n_);
        }
        // the image rows (newline column dropped) this ubatch holds, in grid order
        const int pos0 = m_.hp.image_position, wq = span_.cols(), n_rows = span_.rows() * span_.cols();
        std::vector<float> in((size_t) n_rows * E, 0.0f);
        std::vector<int>   where((size_t) n_rows, -1);  // token index in the ubatch, or -1
        bool               any = false;
        for (int64_t ti = 0; ti < T; ++ti) {
            const int j = ubatch_pos_ + (int) ti - pos0;
            if (j < 0 || j >= span_.rows() * (wq + 1) || j % (wq + 1) == wq) {
                continue;
            }
            const int r = (j / (wq + 1)) * wq + j % (wq + 1);
            where[r]    = (int) ti;
            std::memcpy(in.data() + (size_t) r * E, rows.data() + (size_t) ti * E, E * sizeof(float));
            any = true;
        }
        if (any) {
            const std::vector<float> out = cambrian_run_llm_block(m_, compute_, k, in, *conn_, w_, h_);
            for (int r = 0; r < n_rows; ++r) {
                if (where[r] >= 0) {
                    std::memcpy(rows.data() + (size_t) where[r] * E, out.data() + (size_t) r * E, E * sizeof(float));
                    ggml_backend_tensor_set(t, out.data() + (size_t) r * E, (size_t) where[r] * t->nb[1],
                                            E * sizeof(float));
                }
            }
            ++n_applied_;
        }
    }
    if (on_layer_out) {
        on_layer_out(il, rows, (int) T, ubatch_pos_);
    }
}

bool cambrian_llm_hook::eval_callback(ggml_tensor * t, bool ask, void * user_data) {
    cambrian_llm_hook * self = static_cast<cambrian_llm_hook *>(user_data);
    bool                want = false;
    const int           il   = self->armed() ? layer_of(t->name, "l_out-") : -1;
    if (il >= 0) {
        want = il == 0 || self->block_of_layer(il) >= 0 || (bool) self->on_layer_out;
        if (!ask && want) {
            self->on_l_out(t, il);
        }
    }
    if (!self->next_) {
        return ask ? want : true;
    }
    if (ask) {  // the scheduler follows a true answer with the observation of the same tensor
        self->next_wants_ = self->next_(t, true, self->next_ud_);
        return want || self->next_wants_;
    }
    return self->next_wants_ ? self->next_(t, false, self->next_ud_) : true;
}

}  // namespace glm
