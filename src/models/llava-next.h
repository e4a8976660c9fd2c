// models/llava-next.h: the vision side of LLaVA-NeXT (LLaVA-1.6, 'anyres' + 'spatial_unpad') in ggml.
//
// Reads the standard llama.cpp LLaVA-1.6 mmproj files (llava_surgery_v2.py + convert_image_encoder_to_gguf.py:
// clip.vision.image_grid_pinpoints as flattened (w, h) pairs, clip.vision.mm_patch_merge_type = spatial_unpad,
// the model.image_newline tensor) and computes what the original LLaVA-NeXT repository computes
// (llava/mm_utils.py process_anyres_image, llava/model/llava_arch.py prepare_inputs_labels_for_multimodal):
//
//   1. best resolution: for each pinpoint (w, h) in list order, scale = min(w/W, h/H), effective =
//      min(int(W*scale) * int(H*scale), W*H), waste = w*h - effective; a candidate replaces the best when its
//      effective is larger, or equal with a smaller waste: ties keep the first (double precision, as Python).
//   2. the image resized (PIL bicubic, ceil on the free side) and pasted at ((w-nw)//2, (h-nh)//2) on black,
//      cut into tile x tile crops row-major; the base image = the whole image resized to tile x tile (squashed).
//   3. CLIP (models/clip.h: feature layer, CLS dropped) on [base, crops...] as one batch, then the projector.
//   4. spatial_unpad: the crops' g x g feature grids form one (rows*g) x (cols*g) raster; the padding is cut
//      with Python int() truncation of H * (cw / W) (or W * (ch / H)), and image_newline follows every row.
//   5. the sequence: the base's g*g tokens (no newline), then H' x (W' + 1).
//
// Hugging Face's LlavaNext differs from the original repository (its pinpoints are read as (h, w), so images
// within one tile get a 2x1 instead of a 1x2 grid; transformers main rounds the unpad value to 7 decimals
// before int()): anyres_rule::hf gives those answers; the default is the original repository's.
//
// The layout (layout.h) has two grids, both mapped onto the whole image as the official llava_next.py does
// ('original' geometry): 'base' (g x g, tokens 0..g*g-1) and 'highres' (H' x W', each row skipping the
// newline token); the primary grid is highres (the official default), base is the official --use-base-patches.
//
// llava_next_encoder holds immutable weights; encode(img, compute, seed) runs on the caller's compute state (any number
// of threads at once), encode(img) on the load backend, one thread at a time. The
// plan/preprocess/pack functions are pure and thread-safe.
#pragma once

#include "gguf-loader.h"
#include "models/clip.h"
#include "vision.h"

#include <array>
#include <string>
#include <vector>

namespace glm {

// Which rules pick the tile grid and the unpadding.
enum class anyres_rule {
    original,  // LLaVA-VL/LLaVA-NeXT: pinpoints (w, h), ties keep the first candidate, int() truncation
    hf,        // transformers LlavaNext (main): pinpoints read as (h, w), int(round(x, 7))
};
const char * anyres_rule_name(anyres_rule r);
anyres_rule  anyres_rule_from_name(const std::string & s);  // "original" | "hf"; throws glm::error otherwise

// Everything the anyres preprocessing and the packing decide for one image size.
struct anyres_plan {
    int    image_w = 0, image_h = 0;      // original image
    int    tile    = 0;                   // crop side (pixels)
    int    grid    = 0;                   // feature cells per crop side (tile / patch)
    int    best_w = 0, best_h = 0;        // the chosen resolution (canvas), pixels
    int    cols = 0, rows = 0;            // crops: best_w / tile, best_h / tile
    int    resized_w = 0, resized_h = 0;  // the image inside the canvas
    int    paste_x = 0, paste_y = 0;      // its offset on the black canvas
    bool   unpad_rows = true;             // which axis unpadding crops (rows when the image is wider)
    double unpad_value = 0;               // the value before int(): H * (cw / W) or W * (ch / H)
    int    first_row = 0, first_col = 0;  // first kept cell of the (rows*g) x (cols*g) feature raster
    int    hr_rows = 0, hr_cols = 0;      // H' x W': the unpadded grid

    int n_crops() const { return cols * rows; }       // without the base image
    int n_base() const { return grid * grid; }
    int n_tokens() const { return n_base() + hr_rows * (hr_cols + 1); }
};

using anyres_pinpoint = std::array<int, 2>;  // (w, h) as the GGUF and the original repository list them

// Steps 1 and 4 of the header for a W x H image. Throws glm::error on an empty list, a pinpoint that is not a
// positive multiple of the tile, or an empty image.
anyres_plan anyres_make_plan(int width, int height, const std::vector<anyres_pinpoint> & pinpoints, int tile,
                             int patch, anyres_rule rule = anyres_rule::original);

// Step 2: [1 + n_crops, 3, tile, tile] CLIP-normalised CHW floats (base first, then the crops row-major).
// `canvas` (optional) receives the best-resolution canvas before cropping, `base` the squashed base image.
std::vector<float> anyres_preprocess(const image_u8 & img, const anyres_plan & plan, const float mean[3],
                                     const float std_[3], image_u8 * canvas = nullptr, image_u8 * base = nullptr);

// Step 4/5 on projected embeddings: tiles [1 + n_crops, g*g, n_embd] (token-major) and the newline vector
// -> the packed image sequence [plan.n_tokens(), n_embd].
std::vector<float> anyres_pack(const std::vector<float> & tiles, const std::vector<float> & newline, int n_embd,
                               const anyres_plan & plan);

// The layout of the packed sequence: grids base (0) and highres (1), both over [0, 0, W, H]; primary = highres
// unless `base_primary`.
image_layout anyres_layout(const anyres_plan & plan, bool base_primary = false);

struct llava_next_options {
    anyres_rule rule = anyres_rule::original;
};

// Throws glm::error unless the file is a LLaVA-NeXT mmproj (pinpoints, spatial_unpad): names the file, the key
// and what was found (a LLaVA-1.5 mmproj, an unknown merge type, missing pinpoints).
void llava_next_check_file(const gguf_loader & ml);

class llava_next_encoder : public vision_encoder {
public:
    llava_next_encoder(const std::string & path, compute_backend & backend, const llava_next_options & opt = {});

    std::string name() const override;
    int         n_embd() const override { return model_.hp.n_proj_out; }
    int         grid_w() const override { return model_.hp.grid(); }  // the base grid; the high-res one varies
    int         grid_h() const override { return model_.hp.grid(); }
    vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const override;
    vision_output encode(const image_u8 & img) override { return encode(img, backend_, 0); }

    anyres_plan plan(int width, int height) const;
    std::vector<float> preprocess(const image_u8 & img, const anyres_plan & plan) const;
    // CLIP + projector on n_images preprocessed crops ([n, 3, S, S]) in one batch: [n, g*g, n_embd]; optionally
    // the CLIP features [n, g*g, clip width].
    std::vector<float> encode_crops(const std::vector<float> & chw, int n_images,
                                    std::vector<float> * features = nullptr) {
        return encode_crops(chw, n_images, backend_, features);
    }
    std::vector<float> encode_crops(const std::vector<float> & chw, int n_images, compute_backend & compute,
                                    std::vector<float> * features = nullptr) const;

    const clip_model &                   model() const { return model_; }
    const std::vector<anyres_pinpoint> & pinpoints() const { return pinpoints_; }
    const std::vector<float> &           newline() const { return newline_; }

private:
    gguf_loader                  loader_;
    clip_model                   model_;
    compute_backend &            backend_;
    llava_next_options           opt_;
    std::vector<anyres_pinpoint> pinpoints_;
    std::vector<float>           newline_;  // image_newline [n_embd]
};

}  // namespace glm
