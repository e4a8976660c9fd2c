#include "toy/batch.h"

#include "common.h"

#include <algorithm>

namespace glm::toy {

toy_batch toy_make_batch(const toy_model & m, const std::vector<world_scene> & scenes) {
    toy_batch b;
    b.B                   = (int) scenes.size();
    const int C0          = m.caption_start();
    const int P0          = (int) m.prompt_pre().size();
    const toy_vocab & voc = m.vocab();
    size_t            longest = 0;
    for (const auto & s : scenes) {
        b.caption.push_back(voc.encode(s.caption));
        longest = std::max(longest, b.caption.back().size());
    }
    b.T = C0 + (int) longest;
    if (b.T > m.dec_hp().n_ctx) {
        fail("toy batch: a caption of %zu tokens does not fit the context of %d", longest, m.dec_hp().n_ctx);
    }
    const size_t PD = (size_t) m.vit_hp().patch_dim() * m.vit_hp().n_patches();
    b.patches.resize(PD * b.B);
    b.tokens.assign((size_t) b.T * b.B, voc.eos());
    for (int i = 0; i < b.B; ++i) {
        const std::vector<float> p = toyvit_preprocess(m.vit_hp(), scenes[i].img, nullptr);
        std::copy(p.begin(), p.end(), b.patches.begin() + PD * i);
        int32_t * seq = &b.tokens[(size_t) i * b.T];
        std::copy(m.prompt_pre().begin(), m.prompt_pre().end(), seq);
        std::fill(seq + P0, seq + P0 + m.vit_hp().n_patches(), voc.unk());  // image slots (zeroed by keep)
        std::copy(m.prompt_post().begin(), m.prompt_post().end(), seq + P0 + m.vit_hp().n_patches());
        const std::vector<int> & cap = b.caption[i];
        std::copy(cap.begin(), cap.end(), seq + C0);
        b.row_begin.push_back((int) b.rows.size());
        for (size_t k = 0; k <= cap.size(); ++k) {
            b.rows.push_back(i * b.T + C0 - 1 + (int) k);
            b.targets.push_back(k < cap.size() ? cap[k] : voc.eos());
        }
    }
    b.R = (int) b.rows.size();
    return b;
}

void toy_set_inputs(const toy_model & m, const toy_graph & g, const toy_batch & b) {
    const std::vector<float>   keep = toy_keep_data(m, b.T);
    const std::vector<float>   mask = toy_mask_data(b.T);
    const std::vector<int32_t> pos  = toy_pos_data(b.T);
    ggml_backend_tensor_set(g.patches, b.patches.data(), 0, b.patches.size() * sizeof(float));
    ggml_backend_tensor_set(g.tokens, b.tokens.data(), 0, b.tokens.size() * sizeof(int32_t));
    ggml_backend_tensor_set(g.keep, keep.data(), 0, keep.size() * sizeof(float));
    ggml_backend_tensor_set(g.mask, mask.data(), 0, mask.size() * sizeof(float));
    ggml_backend_tensor_set(g.pos, pos.data(), 0, pos.size() * sizeof(int32_t));
    ggml_backend_tensor_set(g.rows, b.rows.data(), 0, b.rows.size() * sizeof(int32_t));
}

}  // namespace glm::toy
