// models/sam-decoder.h: the prompt encoder and mask decoder of Segment Anything (the official
// segment_anything/modeling/prompt_encoder.py, mask_decoder.py and transformer.py).
//
// The prompt encoder's sparse part is a handful of numbers per prompt and runs on the host in float32, in
// the reference's order of operations: random-Fourier positional encoding of points and box corners (after
// the +0.5 pixel shift and the normalisation by the input size), label embeddings, the "not a point" padding
// when there is no box. The dense positional encoding of the embedding grid is computed once at load. The
// dense mask prompt (mask_downscaling), the two-way transformer, the output upscaling (transposed convs,
// LayerNorm2d, GELU), the hypernetwork MLPs and the IoU head form one ggml graph over a batch of prompts.
//
// sam_decoder is immutable after load(): its methods may be called from several threads.
#pragma once

#include "models/sam-hparams.h"

#include "ggml-backend.h"
#include "ggml.h"

#include <vector>

namespace glm {

class gguf_loader;

struct sam_attn_weights {  // transformer.py Attention: q/k/v/out projections
    ggml_tensor *q_w = nullptr, *q_b = nullptr, *k_w = nullptr, *k_b = nullptr;
    ggml_tensor *v_w = nullptr, *v_b = nullptr, *o_w = nullptr, *o_b = nullptr;
};

struct sam_decoder_layer {  // TwoWayAttentionBlock
    sam_attn_weights self_attn, t2i, i2t;  // self, token-to-image, image-to-token attention
    ggml_tensor *    norm_w[4] = {}, *norm_b[4] = {};
    ggml_tensor *    lin1_w = nullptr, *lin1_b = nullptr, *lin2_w = nullptr, *lin2_b = nullptr;
};

struct sam_mlp {  // mask_decoder.py MLP: Linear layers with ReLU between them
    std::vector<ggml_tensor *> w, b;
};

// One prompt in the 1024-pixel input frame of the encoder (ResizeLongestSide coordinates).
struct sam_frame_prompt {
    std::vector<float> xy;       // 2 per point (x, y)
    std::vector<int>   labels;   // per point: 1 foreground, 0 background, -1 not a point
    bool               has_box = false;
    float              box[4]  = { 0, 0, 0, 0 };  // x0, y0, x1, y1
};

class sam_decoder {
public:
    // Takes the weights from a load()ed loader; the dense positional encoding goes into a buffer of `buft`.
    void load(const sam_hparams & hp, const gguf_loader & ml, ggml_backend_buffer_type_t buft);
    sam_decoder() = default;
    ~sam_decoder();
    sam_decoder(const sam_decoder &)             = delete;
    sam_decoder & operator=(const sam_decoder &) = delete;

    // PromptEncoder._embed_points/_embed_boxes, prefixed by the output tokens (iou token, mask tokens), as
    // MaskDecoder.predict_masks concatenates them: [n_tokens][prompt_embd], row-major.
    std::vector<float> tokens(const sam_frame_prompt & p) const;
    int                n_tokens(const sam_frame_prompt & p) const;  // 1 + n_mask_tokens + sparse count

    // PositionEmbeddingRandom.forward(grid): [grid*grid][prompt_embd], row-major (y, x, channel).
    const std::vector<float> & dense_pe() const { return dense_pe_; }

    struct outputs {
        ggml_tensor * masks = nullptr;  // low-res logits of every mask token [L*L, n_mask_tokens, B]
        ggml_tensor * iou   = nullptr;  // IoU predictions [n_mask_tokens, B]
    };
    // image_emb [P, grid*grid] (the encoder output), tokens [P, n_tokens, B], mask_in [L, L, 1, B] low-res mask
    // prompts or null (no_mask_embed).
    outputs build(ggml_context * ctx, ggml_tensor * image_emb, ggml_tensor * tokens, ggml_tensor * mask_in) const;

private:
    sam_hparams hp_;

    // prompt encoder (host copies of the small tables)
    std::vector<float>              pe_gauss_;      // [2][P/2]
    std::vector<std::vector<float>> point_embd_;    // 4 x [P]: neg, pos, box corner 0, box corner 1
    std::vector<float>              not_a_point_;   // [P]
    std::vector<float>              dense_pe_;      // [grid*grid][P]
    ggml_tensor *                   no_mask_ = nullptr;           // [P]
    ggml_tensor *                   mask_down_w_[7] = {}, *mask_down_b_[7] = {};  // indices 0,1,3,4,6
    // mask decoder
    std::vector<float>             out_tokens_;    // iou token then mask tokens, [1 + n_mask_tokens][P]
    std::vector<sam_decoder_layer> layers_;
    sam_attn_weights               final_attn_;
    ggml_tensor *                  final_norm_w_ = nullptr, *final_norm_b_ = nullptr;
    ggml_tensor *                  up_w_[4] = {}, *up_b_[4] = {};  // output_upscaling 0 (convT), 1 (LN2d), 3 (convT)
    std::vector<sam_mlp>           hyper_;
    sam_mlp                        iou_head_;
    // derived, on the backend
    ggml_context *        derived_ctx_ = nullptr;
    ggml_backend_buffer_t derived_buf_ = nullptr;
    ggml_tensor *         dense_pe_t_  = nullptr;  // [P, grid*grid]

    void          pe_encode(float x01, float y01, float * out) const;  // _pe_encoding of one normalised point
    ggml_tensor * attention(ggml_context * ctx, const sam_attn_weights & w, ggml_tensor * q, ggml_tensor * k,
                            ggml_tensor * v, const char * name, int il) const;
    ggml_tensor * mlp(ggml_context * ctx, const sam_mlp & m, ggml_tensor * x, const char * name) const;
};

}  // namespace glm
