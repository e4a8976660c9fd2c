// sam.h: Segment Anything, as the official SamPredictor does it: set_image once (the image embedding is
// cached), then any number of point / box / mask prompts, batched.
//
//   preprocessing  ResizeLongestSide: longest side -> image_size (1024) with PIL's bilinear filter
//                  (antialiased when downscaling), (x - pixel_mean) / pixel_std, zero pad bottom/right
//   encoder        models/sam-encoder.h (ViT, windowed + global attention, decomposed relative positions)
//   decoder        models/sam-decoder.h (prompt encoder, two-way transformer, upscaling, hypernetworks, IoU)
//   postprocessing low-res logits -> bilinear to image_size -> crop to the resized image -> bilinear to the
//                  original size (F.interpolate, align_corners=False) -> logits > mask_threshold
//
// sam_model holds the weights and hparams of a GGUF file written by `groundlmm convert-sam`: immutable after
// load and shareable between threads and states. A sam_state (the cached image, its embedding) runs on one
// compute_backend and serves one thread at a time.
#pragma once

#include "backend.h"
#include "image.h"
#include "models/sam-decoder.h"
#include "models/sam-encoder.h"
#include "models/sam-hparams.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace glm {

class gguf_loader;

struct sam_point {
    float x     = 0.0f;  // original-image pixels, x to the right, 0 <= x < width
    float y     = 0.0f;  // original-image pixels, y downwards, 0 <= y < height
    int   label = 1;     // 1 foreground, 0 background, -1 "not a point" (padding, as SAM's own)
};

struct sam_prompt {
    std::vector<sam_point> points;                 // may be empty when there is a box or a mask
    bool                   has_box = false;
    float                  box[4]  = { 0, 0, 0, 0 };  // x0, y0, x1, y1 in original-image pixels (0..width/height)
    std::vector<float>     mask_input;  // optional dense prompt: low-res logits, low_res x low_res row-major (a
                                        // previous result's low_res_logits mask); empty = none (no_mask_embed)
    bool                   multimask = true;  // SamPredictor.predict(multimask_output): the n_multimask masks of
                                              // tokens 1.. (true) or the single mask of token 0 (false)
};

struct sam_result {
    int                  n_masks = 0;
    int                  width = 0, height = 0;  // original image size
    int                  low_res = 0;            // side of the low-res logits (256)
    std::vector<uint8_t> masks;                  // n_masks x height x width, 0/1, row-major
    std::vector<float>   iou;                    // n_masks predicted IoU scores
    std::vector<float>   low_res_logits;         // n_masks x low_res x low_res
};

// The image as the encoder sees it.
struct sam_input {
    int                orig_w = 0, orig_h = 0;    // original image size (pixels)
    int                input_w = 0, input_h = 0;  // size after ResizeLongestSide (the unpadded part)
    image_u8           resized;                   // the resized image (uint8), input_w x input_h
    std::vector<float> tensor;                    // [3][S][S] normalised and zero-padded, S = image_size
};

// ResizeLongestSide.get_preprocess_shape: scale = long / max(h, w); int(h * scale + 0.5), int(w * scale + 0.5)
void      sam_preprocess_shape(int h, int w, int long_side, int * new_h, int * new_w);
// apply_image + Sam.preprocess
sam_input sam_preprocess(const sam_hparams & hp, const image_u8 & img);
// Sam.preprocess of an already resized image (e.g. a reference resize), for an original of orig_w x orig_h
sam_input sam_preprocess_resized(const sam_hparams & hp, const image_u8 & resized, int orig_w, int orig_h);

// Throws glm::error naming prompt `index` when it is empty, has a point outside a w x h image, a bad label, a
// box that is not inside the image or a mask input that is not hp.low_res()^2 finite values.
void sam_check_prompt(const sam_hparams & hp, const sam_prompt & p, int w, int h, size_t index = 0);

class sam_model {
public:
    // Reads a GGUF file of `groundlmm convert-sam`, weights on backend's primary device; throws glm::error.
    static std::shared_ptr<const sam_model> load(const std::string & path, compute_backend & backend);
    ~sam_model();

    const sam_hparams &        hparams() const { return hp_; }
    const sam_encoder &        encoder() const { return encoder_; }
    const sam_decoder &        decoder() const { return decoder_; }
    ggml_backend_buffer_type_t buffer_type() const { return buft_; }
    const std::string &        path() const { return path_; }

private:
    sam_model() = default;
    std::string                  path_;
    sam_hparams                  hp_;
    std::unique_ptr<gguf_loader> loader_;  // owns the weights buffer
    ggml_backend_buffer_type_t   buft_ = nullptr;
    sam_encoder                  encoder_;
    sam_decoder                  decoder_;
};

// User settings of a state (not model facts).
struct sam_params {
    float mask_threshold = NAN;   // upscaled logits above this are foreground; NAN = the model's (Sam.mask_threshold, 0)
    int   max_batch      = 16;    // prompts decoded together in one graph (each holds a P x grid^2 image copy)
};

class sam_state {
public:
    // `backend` must outlive the state and run on the device that holds the model's weights.
    sam_state(std::shared_ptr<const sam_model> model, compute_backend & backend, const sam_params & params = {});

    // Preprocesses and encodes the image; the embedding is cached for predict().
    void set_image(const image_u8 & img);
    // Encodes an already preprocessed input.
    void set_input(sam_input input);
    // Uses an embedding computed elsewhere, [P][grid][grid] (the official features layout), for an original
    // image of orig_w x orig_h; input() then holds only the sizes.
    void set_embedding(const std::vector<float> & emb_chw, int orig_w, int orig_h);

    bool                has_image() const { return !emb_.empty(); }
    const sam_input &   input() const { return input_; }
    std::vector<float>  image_embedding_chw() const;  // [P][grid][grid]
    double              encode_seconds() const { return encode_s_; }

    // SamPredictor.predict for each prompt (prompts of the same shape run as one batch). Throws glm::error on
    // a bad prompt (empty, a point outside the image, a bad label, a wrong mask size) or when no image is set.
    std::vector<sam_result> predict(const std::vector<sam_prompt> & prompts);
    sam_result              predict(const sam_prompt & prompt);

    const sam_model & model() const { return *model_; }
    float             mask_threshold() const;  // the threshold in use (params or the model's)

private:
    std::shared_ptr<const sam_model> model_;
    compute_backend &                backend_;
    sam_params                       params_;
    sam_input                        input_;
    std::vector<float>               emb_;  // [grid*grid][P] (ggml order of the encoder output)
    double                           encode_s_ = 0.0;

    void run_batch(const std::vector<const sam_prompt *> & batch, std::vector<sam_result *> & results);
};

}  // namespace glm
