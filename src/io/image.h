// image.h: decoding, encoding and resampling of RGB images, exactly as the reference Python code does it.
//
//  - decode: PNG/BMP/GIF/... through stb_image, JPEG through libjpeg(-turbo) with its default settings, which
//    is what Pillow uses, so JPEG pixels are identical to Image.open(...).convert("RGB").
//  - pil_resize: Pillow's two-pass convolution resampling (Resample.c) with its fixed-point 8-bit arithmetic,
//    bit-exact for BILINEAR and BICUBIC (antialiased when downscaling, as Pillow always is).
//  - torch_interpolate: torch.nn.functional.interpolate on float planes, align_corners=False, for bilinear
//    (no antialias) and bicubic (A = -0.75, clamped borders).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct image_u8 {
    int                  w = 0;
    int                  h = 0;
    std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel

    uint8_t *       at(int x, int y) { return &rgb[((size_t) y * w + x) * 3]; }
    const uint8_t * at(int x, int y) const { return &rgb[((size_t) y * w + x) * 3]; }
    bool            empty() const { return w <= 0 || h <= 0; }
};

// Largest image we accept by default (pixels); larger files are refused before decoding.
constexpr int64_t k_max_image_pixels = 178956970;  // Pillow's MAX_IMAGE_PIXELS * 2 (its DecompressionBomb error)

image_u8 image_load(const std::string & path, int64_t max_pixels = k_max_image_pixels);
image_u8 image_decode(const uint8_t * data, size_t size, const std::string & what,
                      int64_t max_pixels = k_max_image_pixels);
// Decodes the file as image_decode does, with the same checks and errors, but keeps no pixels: JPEG row by row,
// the other formats at their own channel count. For validating an image that is decoded later (a server queue).
void     image_verify(const uint8_t * data, size_t size, const std::string & what,
                      int64_t max_pixels = k_max_image_pixels);
void     image_save_png(const std::string & path, const image_u8 & img);
std::vector<uint8_t> image_encode_png(const image_u8 & img);

enum class pil_filter { bilinear, bicubic };

// Pillow Image.resize((w, h), filter) for an RGB image, bit-exact.
image_u8 pil_resize(const image_u8 & img, int w, int h, pil_filter filter);

// Where the original image lies inside a padded square (LLaVA's expand2square) and how it was scaled.
struct pad_geometry {
    int   orig_w = 0, orig_h = 0;  // original image size (pixels)
    int   side   = 0;              // side of the padded square = max(orig_w, orig_h)
    int   pad_x  = 0, pad_y = 0;   // offset of the original image inside the square
    int   input_size = 0;          // side of the encoder input after resizing the square
    float scale  = 0.0f;           // input_size / side
};

// LLaVA's expand2square: the image pasted at ((side-w)/2, (side-h)/2) (floor) on a square of colour bg.
image_u8 expand_to_square(const image_u8 & img, const uint8_t bg[3], pad_geometry * geom);

// LLaVA-1.5's 'pad' preprocessing (image_aspect_ratio=pad): expand to a square filled with int(mean*255) per
// channel (expand2square), PIL-bicubic resize to size x size, then image_to_chw. Fills the geometry.
std::vector<float> llava_pad_preprocess(const image_u8 & img, int size, const float mean[3], const float std_[3],
                                        pad_geometry * geom);

// uint8 HWC -> float CHW, x/255 (computed in float64 like NumPy, then f32), then (x - mean) / std in f32.
std::vector<float> image_to_chw(const image_u8 & img, const float mean[3], const float std_[3]);

enum class interp_mode { bilinear, bicubic };

// torch.nn.functional.interpolate(x, size=(oh, ow), mode, align_corners=False) for x of shape [c, h, w].
std::vector<float> torch_interpolate(const float * x, int c, int h, int w, int oh, int ow, interp_mode mode);
// The window [y0, y0+wh) x [x0, x0+ww) of torch_interpolate(x, c, h, w, oh, ow, mode), shape [c, wh, ww], computed
// without the rest of the output (identical values): for cropping and for streaming over very large outputs.
std::vector<float> torch_interpolate_window(const float * x, int c, int h, int w, int oh, int ow, int x0, int y0,
                                            int ww, int wh, interp_mode mode);

}  // namespace glm
