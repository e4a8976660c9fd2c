// models/mtmd-vision.h: vision families encoded by llama.cpp's libmtmd (the pinned tree's own encoders), whose
// image tokens form a spatial grid we can map back onto the image:
//
//   Qwen2-VL / Qwen2.5-VL / Qwen3-VL (projector qwen2vl_merger, qwen2.5vl_merger, qwen3vl_merger): smart_resize to a
//     multiple of patch x merge pixels (aspect kept, min/max token counts), one token per merged patch in raster
//     order (ny x nx, read from mtmd's M-RoPE decoder positions), M-RoPE positions; Qwen3-VL's deepstack features
//     ride along in each embedding row (n_embd x (1 + n_deepstack), passed whole to the LLM).
//   Gemma 3 (projector gemma3): a fixed square (896 px for the published models), 256 = 16 x 16 pooled tokens,
//     non-causal attention inside the image block.
//
// Geometry. mtmd resizes with padding (img_tool::resize, PAD_CEIL, black): the image is scaled by
// min(TW/W, TH/H), rounded up and pasted centred on the TW x TH canvas; Hugging Face stretches instead. The grid
// covers the canvas, so its rectangle in original pixels is the canvas mapped back through that letterbox (it extends
// past the image where mtmd padded). mtmd does not export the canvas size: TW x TH = grid x cell pixels, the cell
// being patch_size x spatial merge (2 when the file has no clip.vision.spatial_merge_size, mtmd's value for these
// families) for Qwen, image_size / side for Gemma 3; the letterbox is then recomputed with mtmd's float arithmetic.
//
// Families libmtmd supports whose image tokens are not a spatial grid (MiniCPM-V <= 4.5's resampler queries) are
// refused by vision_encoder_load with the reason; other projectors are refused as not yet mapped.
//
// Thread safety: the mtmd context holds one output buffer, so encodes are serialised by a mutex inside the encoder
// (encode(img, compute, seed) may be called from any thread; `compute` is not used: mtmd computes on its own
// backend, the one it picked at load).
#pragma once

#include "vision.h"

#include <memory>
#include <mutex>
#include <string>

struct llama_model;
struct mtmd_context;

namespace glm {

struct mtmd_vision_params {
    int  n_threads        = 0;     // 0 = all hardware threads
    bool use_gpu          = true;
    int  image_min_tokens = 0;     // Qwen: at least this many image tokens (0 = the file's / mtmd's default)
    int  image_max_tokens = 0;     // Qwen: at most this many (0 = default)
};

// What the projector of an mmproj GGUF is, for dispatch: "" when the file is not a clip mmproj or is LLaVA's mlp.
std::string mtmd_projector_type(const std::string & path);
// True for the projectors this encoder maps; fails with the reason for the non-spatial ones (MiniCPM-V resampler).
bool mtmd_projector_supported(const std::string & path, const std::string & projector);

class mtmd_encoder : public vision_encoder {
public:
    // `text_model`: the LLM the embeddings are for (mtmd reads its width and vocabulary); must outlive the encoder.
    mtmd_encoder(const std::string & path, const llama_model * text_model, const mtmd_vision_params & params);
    ~mtmd_encoder() override;

    std::string   name() const override;
    int           n_embd() const override { return n_embd_; }
    int           grid_w() const override { return 0; }  // dynamic (Qwen) or per image
    int           grid_h() const override { return 0; }
    vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const override;
    vision_output encode(const image_u8 & img) override;

    const std::string & projector() const { return projector_; }

private:
    vision_output encode_impl(const image_u8 & img) const;

    std::string        path_, projector_;
    mtmd_context *     ctx_   = nullptr;
    int                n_embd_ = 0;      // llama_model_n_embd_inp (deepstack: n_embd x (1 + n_deepstack))
    int                cell_px_ = 0;     // Qwen: canvas pixels per token side
    int                image_size_ = 0;  // Gemma 3: the square canvas side
    mutable std::mutex mu_;
};

// mtmd's letterbox of a W x H image on a TW x TH canvas (img_tool::resize with PAD_CEIL): the rectangle of the
// original image the whole canvas covers (x, y <= 0; w >= W, h >= H when padded). Exposed for tests.
grid_rect mtmd_canvas_rect(int w, int h, int tw, int th);

}  // namespace glm
