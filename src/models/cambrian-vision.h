// models/cambrian-vision.h: Cambrian-1 as a vision_encoder (the "cambrian" GGUF of groundlmm convert-cambrian):
// image -> the four towers -> the SVA connector -> mm_projector -> the unpadded h' x (w'+1) image tokens
// (docs/cambrian.md sections 1-2), with
//   - the layout: one grid of h' x w' cells over the original image (rectangle [0, 0, W, H]: unpadding removed the
//     padding), each row followed by the image_newline token (cells skip one index per row), as LLaVA-NeXT's
//     high-res grid; this is the grid GL cambrian.py reshapes its maps to (newline column dropped);
//   - the side data of the in-LLM blocks (the projected towers and context of this image, its size and the model),
//     attached to the output's image_block as a shared, immutable cambrian_prefill: lmm_session arms its
//     cambrian_llm_hook with it for the prompt's decode calls (models/cambrian-llm.h).
//
// cambrian_encoder holds immutable weights; encode(img, compute, seed) runs on the caller's compute state (any
// number of threads at once: each output owns its side data), encode(img) on the load backend, one thread at a time.
#pragma once

#include "models/cambrian.h"
#include "vision.h"

namespace glm {

// What the in-LLM blocks need for one image (immutable once made; shared by the vision output's copies).
struct cambrian_prefill {
    const cambrian_model * model = nullptr;  // owned by the encoder, which outlives every run of its pipeline_model
    cambrian_connector_out conn;             // projected towers, context, the unpadded span
    int                    w = 0, h = 0;     // the original image size (image_sizes)
};

class cambrian_encoder : public vision_encoder {
public:
    cambrian_encoder(const std::string & path, compute_backend & backend);

    std::string name() const override;
    int         n_embd() const override { return model_.hp.llm_hidden; }
    // the largest token block (a square image keeps every row: q x (q+1)); the real count depends on the image
    int         grid_w() const override { return model_.hp.query_side + 1; }
    int         grid_h() const override { return model_.hp.query_side; }
    vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const override;
    vision_output encode(const image_u8 & img) override { return encode(img, backend_, 0); }

    const cambrian_model & model() const { return model_; }

private:
    gguf_loader       loader_;
    cambrian_model    model_;
    compute_backend & backend_;
};

// The layout of the unpadded block: h' x w' cells, row r's cells at r * (w'+1) + c, over [0, 0, W, H].
image_layout cambrian_layout(const cambrian_span & span, int width, int height);

}  // namespace glm
