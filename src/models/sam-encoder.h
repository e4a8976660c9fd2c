// models/sam-encoder.h: the image encoder of Segment Anything (ImageEncoderViT of the official
// segment_anything/modeling/image_encoder.py) as a ggml graph built from portable ops.
//
//   16x16 patch conv -> + absolute pos embed -> blocks: LN -> (window partition with zero padding) ->
//   attention with decomposed relative position bias -> (unpartition) -> residual -> LN -> MLP (GELU erf)
//   -> residual; neck: 1x1 conv -> LayerNorm2d -> 3x3 conv -> LayerNorm2d.
//
// Windowed attention uses reshape/permute/pad (no ggml_win_part), and the relative position terms are
// matmuls of q against per-block tables gathered at load time (get_rel_pos, including the official linear
// interpolation when a table's length differs from 2*size-1), so the graph runs on every backend.
//
// sam_encoder is immutable after load(): build() may be called from several threads with their own contexts.
#pragma once

#include "models/sam-hparams.h"

#include "ggml-backend.h"
#include "ggml.h"

#include <vector>

namespace glm {

class gguf_loader;

struct sam_encoder_layer {
    ggml_tensor *ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
    ggml_tensor *qkv_w = nullptr, *qkv_b = nullptr, *out_w = nullptr, *out_b = nullptr;
    ggml_tensor *lin1_w = nullptr, *lin1_b = nullptr, *lin2_w = nullptr, *lin2_b = nullptr;
    ggml_tensor *rel_h = nullptr, *rel_w = nullptr;  // file tables [head_dim, L] (torch [L, head_dim])
    // get_rel_pos(size, size, table) for this block's token grid, [head_dim, k, q] (derived at load)
    ggml_tensor *rel_h_g = nullptr, *rel_w_g = nullptr;
};

class sam_encoder {
public:
    // Takes the weights from a load()ed loader and allocates the derived tables in a buffer of `buft`
    // (the weights' buffer type).
    void load(const sam_hparams & hp, const gguf_loader & ml, ggml_backend_buffer_type_t buft);
    sam_encoder() = default;
    ~sam_encoder();
    sam_encoder(const sam_encoder &)             = delete;
    sam_encoder & operator=(const sam_encoder &) = delete;

    // inp: the normalised, padded image [S, S, 3, 1] (ggml order: x fastest), S = image_size.
    // Returns the image embedding [prompt_embd, grid*grid] (channels fastest, then x, then y).
    ggml_tensor * build(ggml_context * ctx, ggml_tensor * inp) const;

private:
    sam_hparams                    hp_;
    ggml_tensor *                  patch_w_ = nullptr, *patch_b_ = nullptr, *pos_ = nullptr;
    std::vector<sam_encoder_layer> layers_;
    ggml_tensor *                  neck_w_[4] = {}, *neck_b_[4] = {};  // 0: 1x1 conv, 1: LN2d, 2: 3x3 conv, 3: LN2d
    ggml_context *                 derived_ctx_ = nullptr;
    ggml_backend_buffer_t          derived_buf_ = nullptr;

    ggml_tensor * attention(ggml_context * ctx, ggml_tensor * x, const sam_encoder_layer & L, int il) const;
};

}  // namespace glm
