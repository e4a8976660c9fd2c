#include "image.h"

#include "common.h"

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

namespace glm {

// ---------------------------------------------------------------------------------------------------------
// decoding

static bool is_jpeg(const uint8_t * d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; }

struct jpeg_err {
    jpeg_error_mgr mgr;
    jmp_buf        jump;
    char           msg[JMSG_LENGTH_MAX];
};

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_err * e = (jpeg_err *) cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_silent(j_common_ptr) {}

static void check_size(int64_t w, int64_t h, int64_t max_pixels, const std::string & what) {
    if (w <= 0 || h <= 0) {
        fail("%s: image has no pixels (%lldx%lld)", what.c_str(), (long long) w, (long long) h);
    }
    if (w > max_pixels / h) {  // w * h > max_pixels, without overflowing for the 2^32 x 2^32 a PNG header allows
        fail("%s: image of %lldx%lld = %.0f pixels exceeds the limit of %lld pixels", what.c_str(), (long long) w,
             (long long) h, (double) w * (double) h, (long long) max_pixels);
    }
}

// libjpeg with default settings (ISLOW DCT, fancy upsampling): the same pixels as Pillow. With keep false the rows
// are decoded and dropped (image_verify): the memory is one row.
static image_u8 decode_jpeg(const uint8_t * data, size_t size, const std::string & what, int64_t max_pixels,
                            bool keep = true) {
    jpeg_decompress_struct cinfo;
    jpeg_err               err;
    cinfo.err                = jpeg_std_error(&err.mgr);
    err.mgr.error_exit       = jpeg_error_exit;
    err.mgr.output_message   = jpeg_silent;
    image_u8 img;
    std::vector<uint8_t> row;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        fail("%s: JPEG does not decode (%s)", what.c_str(), err.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long) size);
    jpeg_read_header(&cinfo, TRUE);
    const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    try {  // a C++ exception must not leak the decompressor (libjpeg's own errors come back through setjmp)
        check_size(cinfo.image_width, cinfo.image_height, max_pixels, what);
    } catch (...) {
        jpeg_destroy_decompress(&cinfo);
        throw;
    }
    jpeg_start_decompress(&cinfo);
    img.w = (int) cinfo.output_width;
    img.h = (int) cinfo.output_height;
    img.rgb.resize(keep ? (size_t) img.w * img.h * 3 : 0);
    row.resize((size_t) img.w * cinfo.output_components);
    while (cinfo.output_scanline < cinfo.output_height) {
        const int  y   = (int) cinfo.output_scanline;
        JSAMPROW   ptr = row.data();
        jpeg_read_scanlines(&cinfo, &ptr, 1);
        if (!keep) {
            continue;
        }
        uint8_t * dst = img.at(0, y);
        if (!cmyk) {
            memcpy(dst, row.data(), (size_t) img.w * 3);
        } else {
            // Pillow: Adobe CMYK is stored inverted ("CMYK;I"), then Convert.c cmyk2rgb:
            // nk = 255 - k, channel = nk - MULDIV255(c, nk)
            const bool inv = cinfo.saw_Adobe_marker;
            for (int x = 0; x < img.w; ++x) {
                const uint8_t * p  = &row[(size_t) x * 4];
                const int       k  = inv ? 255 - p[3] : p[3];
                const int       nk = 255 - k;
                for (int ch = 0; ch < 3; ++ch) {
                    const int c   = inv ? 255 - p[ch] : p[ch];
                    const int tmp = c * nk + 128;
                    const int v   = nk - ((tmp + (tmp >> 8)) >> 8);
                    dst[x * 3 + ch] = (uint8_t) std::min(255, std::max(0, v));
                }
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    if (err.mgr.num_warnings > 0) {  // e.g. a truncated file: libjpeg fills the missing rows with grey
        (*cinfo.err->format_message)((j_common_ptr) &cinfo, err.msg);
        GLM_LOG_WARN("%s: damaged or truncated JPEG data (%ld libjpeg warnings, the last: %s); the image decodes "
                     "with the missing part filled in", what.c_str(), err.mgr.num_warnings, err.msg);
    }
    jpeg_destroy_decompress(&cinfo);
    return img;
}

static uint32_t crc32_png(const uint8_t * d, size_t n) {  // PNG's CRC-32 (ISO 3309, polynomial 0xEDB88320)
    static uint32_t table[256];
    static bool     init = [] {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) {
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
        return true;
    }();
    (void) init;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c = table[(c ^ d[i]) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

// Walks a PNG's chunks before stb sees them: a corrupt file gets a message a person understands (stb does not
// check CRCs and names bad chunks cryptically). Like Pillow, a bad CRC in any chunk is an error.
static void png_check_chunks(const uint8_t * d, size_t n, const std::string & what) {
    auto   be32 = [&](size_t o) { return (uint32_t) d[o] << 24 | (uint32_t) d[o + 1] << 16 | (uint32_t) d[o + 2] << 8 | d[o + 3]; };
    size_t pos  = 8;
    for (int i = 0; pos < n; ++i) {
        if (n - pos < 12) {
            fail("%s: PNG truncated: %zu stray bytes at byte %zu where a chunk should start", what.c_str(), n - pos, pos);
        }
        const uint32_t len = be32(pos);
        char           type[5];
        memcpy(type, d + pos + 4, 4);
        type[4] = 0;
        for (int k = 0; k < 4; ++k) {
            if (!isalpha((unsigned char) type[k])) {
                fail("%s: corrupt PNG: chunk %d at byte %zu has an invalid type (bytes %02x %02x %02x %02x)", what.c_str(),
                     i, pos, d[pos + 4], d[pos + 5], d[pos + 6], d[pos + 7]);
            }
        }
        if (len > 0x7FFFFFFFu || (size_t) len > n - pos - 12) {
            fail("%s: PNG truncated: chunk '%s' at byte %zu declares %u data bytes, the file has %zu more", what.c_str(),
                 type, pos, len, n - pos - 12);
        }
        const uint32_t stored = be32(pos + 8 + len), computed = crc32_png(d + pos + 4, 4 + (size_t) len);
        if (stored != computed) {
            fail("%s: corrupt PNG: chunk '%s' at byte %zu fails its CRC check (stored %08x, computed %08x)", what.c_str(),
                 type, pos, stored, computed);
        }
        pos += 12 + (size_t) len;
        if (memcmp(type, "IEND", 4) == 0) {
            break;
        }
    }
}

// The checks before any pixel is decoded: not empty, the PNG chunk structure, the size against max_pixels.
// Returns true for a JPEG (libjpeg decodes it), false for the formats of stb_image.
static bool check_header(const uint8_t * data, size_t size, const std::string & what, int64_t max_pixels) {
    if (size == 0) {
        fail("%s: empty image file", what.c_str());
    }
    if (is_jpeg(data, size)) {
        return true;
    }
    static const uint8_t png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
    if (size >= 24 && memcmp(data, png_sig, 8) == 0) {
        // check the IHDR size ourselves: stb refuses huge PNGs with a vague message
        auto be32 = [&](size_t o) {
            return (uint32_t) data[o] << 24 | (uint32_t) data[o + 1] << 16 | (uint32_t) data[o + 2] << 8 | data[o + 3];
        };
        check_size(be32(16), be32(20), max_pixels, what);
        png_check_chunks(data, size, what);
    }
    int w = 0, h = 0, comp = 0;
    if (size > (size_t) INT32_MAX || !stbi_info_from_memory(data, (int) size, &w, &h, &comp)) {
        fail("%s: not a decodable image (%s)", what.c_str(), size > (size_t) INT32_MAX ? "over 2 GiB" : stbi_failure_reason());
    }
    check_size(w, h, max_pixels, what);
    return false;
}

image_u8 image_decode(const uint8_t * data, size_t size, const std::string & what, int64_t max_pixels) {
    if (check_header(data, size, what, max_pixels)) {
        return decode_jpeg(data, size, what, max_pixels);
    }
    int      w = 0, h = 0, comp = 0;
    uint8_t * px = stbi_load_from_memory(data, (int) size, &w, &h, &comp, 3);
    if (!px) {
        fail("%s: image does not decode (%s)", what.c_str(), stbi_failure_reason());
    }
    image_u8 img;
    img.w = w;
    img.h = h;
    img.rgb.assign(px, px + (size_t) w * h * 3);
    stbi_image_free(px);
    return img;
}

void image_verify(const uint8_t * data, size_t size, const std::string & what, int64_t max_pixels) {
    if (check_header(data, size, what, max_pixels)) {
        decode_jpeg(data, size, what, max_pixels, /*keep=*/false);
        return;
    }
    int       w = 0, h = 0, comp = 0;
    uint8_t * px = stbi_load_from_memory(data, (int) size, &w, &h, &comp, 0);  // at the file's channel count
    if (!px) {
        fail("%s: image does not decode (%s)", what.c_str(), stbi_failure_reason());
    }
    stbi_image_free(px);
}

image_u8 image_load(const std::string & path, int64_t max_pixels) {
    const std::vector<uint8_t> bytes = read_file(path);
    return image_decode(bytes.data(), bytes.size(), path, max_pixels);
}

static void png_sink(void * ctx, void * data, int size) {
    auto * out = (std::vector<uint8_t> *) ctx;
    out->insert(out->end(), (uint8_t *) data, (uint8_t *) data + size);
}

std::vector<uint8_t> image_encode_png(const image_u8 & img) {
    std::vector<uint8_t> out;
    if (img.empty() || !stbi_write_png_to_func(png_sink, &out, img.w, img.h, 3, img.rgb.data(), img.w * 3)) {
        fail("cannot encode a %dx%d image as PNG", img.w, img.h);
    }
    return out;
}

void image_save_png(const std::string & path, const image_u8 & img) {
    const std::vector<uint8_t> png = image_encode_png(img);
    write_file(path, png.data(), png.size());
}

// ---------------------------------------------------------------------------------------------------------
// Pillow resampling (libImaging/Resample.c), 8 bits per channel

static constexpr int k_precision_bits = 32 - 8 - 2;

static double filter_bilinear(double x) {
    if (x < 0.0) {
        x = -x;
    }
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double filter_bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) {
        x = -x;
    }
    if (x < 1.0) {
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    }
    if (x < 2.0) {
        return (((x - 5) * x + 8) * x - 4) * a;
    }
    return 0.0;
}

struct pil_coeffs {
    int              ksize = 0;
    std::vector<int> bounds;  // per output: xmin, count
    std::vector<int> k;       // per output: ksize fixed-point coefficients
};

static pil_coeffs pil_precompute(int in_size, float in0, float in1, int out_size, pil_filter f) {
    const double support0 = f == pil_filter::bilinear ? 1.0 : 2.0;
    double (*filter)(double) = f == pil_filter::bilinear ? filter_bilinear : filter_bicubic;

    const double scale       = (double) (in1 - in0) / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support     = support0 * filterscale;
    pil_coeffs   c;
    c.ksize = (int) std::ceil(support) * 2 + 1;
    c.bounds.resize((size_t) out_size * 2);
    c.k.assign((size_t) out_size * c.ksize, 0);
    std::vector<double> kk(c.ksize);
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = in0 + (xx + 0.5) * scale;
        const double ss     = 1.0 / filterscale;
        int          xmin   = (int) (center - support + 0.5);
        if (xmin < 0) {
            xmin = 0;
        }
        int xmax = (int) (center + support + 0.5);
        if (xmax > in_size) {
            xmax = in_size;
        }
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            const double w = filter((x + xmin - center + 0.5) * ss);
            kk[x]          = w;
            ww += w;
        }
        for (int x = 0; x < xmax; ++x) {
            if (ww != 0.0) {
                kk[x] /= ww;
            }
        }
        for (int x = 0; x < xmax; ++x) {
            const double v                = kk[x] * (1 << k_precision_bits);
            c.k[(size_t) xx * c.ksize + x] = v < 0 ? (int) (-0.5 + v) : (int) (0.5 + v);
        }
        c.bounds[xx * 2 + 0] = xmin;
        c.bounds[xx * 2 + 1] = xmax;
    }
    return c;
}

static inline uint8_t clip8(int v) {
    v >>= k_precision_bits;
    return (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
}

image_u8 pil_resize(const image_u8 & img, int w, int h, pil_filter filter) {
    if (w <= 0 || h <= 0 || img.empty()) {
        fail("cannot resize a %dx%d image to %dx%d", img.w, img.h, w, h);
    }
    const bool need_h = w != img.w;
    const bool need_v = h != img.h;
    pil_coeffs ch     = pil_precompute(img.w, 0.0f, (float) img.w, w, filter);
    pil_coeffs cv     = pil_precompute(img.h, 0.0f, (float) img.h, h, filter);

    const image_u8 * src = &img;
    image_u8         tmp;
    if (need_h) {
        // only the rows the vertical pass reads
        const int y_first = need_v ? cv.bounds[0] : 0;
        const int y_last  = need_v ? cv.bounds[h * 2 - 2] + cv.bounds[h * 2 - 1] : img.h;
        if (need_v) {
            for (int i = 0; i < h; ++i) {
                cv.bounds[i * 2] -= y_first;
            }
        }
        tmp.w = w;
        tmp.h = y_last - y_first;
        tmp.rgb.resize((size_t) tmp.w * tmp.h * 3);
        for (int yy = 0; yy < tmp.h; ++yy) {
            const uint8_t * in  = img.at(0, yy + y_first);
            uint8_t *       out = tmp.at(0, yy);
            for (int xx = 0; xx < w; ++xx) {
                const int   xmin = ch.bounds[xx * 2], xn = ch.bounds[xx * 2 + 1];
                const int * k    = &ch.k[(size_t) xx * ch.ksize];
                int         s0 = 1 << (k_precision_bits - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < xn; ++x) {
                    const uint8_t * p = in + (size_t) (x + xmin) * 3;
                    s0 += p[0] * k[x];
                    s1 += p[1] * k[x];
                    s2 += p[2] * k[x];
                }
                out[xx * 3 + 0] = clip8(s0);
                out[xx * 3 + 1] = clip8(s1);
                out[xx * 3 + 2] = clip8(s2);
            }
        }
        src = &tmp;
    }
    if (!need_v) {
        return need_h ? tmp : img;
    }
    image_u8 out;
    out.w = src->w;
    out.h = h;
    out.rgb.resize((size_t) out.w * out.h * 3);
    for (int yy = 0; yy < h; ++yy) {
        const int   ymin = cv.bounds[yy * 2], yn = cv.bounds[yy * 2 + 1];
        const int * k    = &cv.k[(size_t) yy * cv.ksize];
        uint8_t *   o    = out.at(0, yy);
        for (int xx = 0; xx < out.w; ++xx) {
            int s0 = 1 << (k_precision_bits - 1), s1 = s0, s2 = s0;
            for (int y = 0; y < yn; ++y) {
                const uint8_t * p = src->at(xx, y + ymin);
                s0 += p[0] * k[y];
                s1 += p[1] * k[y];
                s2 += p[2] * k[y];
            }
            o[xx * 3 + 0] = clip8(s0);
            o[xx * 3 + 1] = clip8(s1);
            o[xx * 3 + 2] = clip8(s2);
        }
    }
    return out;
}

image_u8 expand_to_square(const image_u8 & img, const uint8_t bg[3], pad_geometry * geom) {
    const int side = std::max(img.w, img.h);
    image_u8  sq;
    sq.w = sq.h = side;
    sq.rgb.resize((size_t) side * side * 3);
    for (size_t i = 0; i < (size_t) side * side; ++i) {
        memcpy(&sq.rgb[i * 3], bg, 3);
    }
    const int ox = (side - img.w) / 2, oy = (side - img.h) / 2;
    for (int y = 0; y < img.h; ++y) {
        memcpy(sq.at(ox, oy + y), img.at(0, y), (size_t) img.w * 3);
    }
    if (geom) {
        geom->orig_w = img.w;
        geom->orig_h = img.h;
        geom->side   = side;
        geom->pad_x  = ox;
        geom->pad_y  = oy;
    }
    return sq;
}

std::vector<float> llava_pad_preprocess(const image_u8 & img, int size, const float mean[3], const float std_[3],
                                        pad_geometry * geom) {
    uint8_t bg[3];
    for (int c = 0; c < 3; ++c) {
        bg[c] = (uint8_t) (int) (mean[c] * 255.0f);  // LLaVA: tuple(int(x * 255) for x in image_mean)
    }
    pad_geometry   g;
    const image_u8 sq = expand_to_square(img, bg, &g);
    const image_u8 rs = pil_resize(sq, size, size, pil_filter::bicubic);
    g.input_size      = size;
    g.scale           = (float) size / (float) g.side;
    if (geom) {
        *geom = g;
    }
    return image_to_chw(rs, mean, std_);
}

std::vector<float> image_to_chw(const image_u8 & img, const float mean[3], const float std_[3]) {
    const size_t       n = (size_t) img.w * img.h;
    std::vector<float> out(n * 3);
    for (int c = 0; c < 3; ++c) {
        for (size_t i = 0; i < n; ++i) {
            const float x  = (float) ((double) img.rgb[i * 3 + c] / 255.0);
            out[c * n + i] = (x - mean[c]) / std_[c];
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// torch.nn.functional.interpolate, align_corners=False (aten/src/ATen/native/UpSample.h and cpu/UpSampleKernel)

struct interp_taps {
    std::vector<int>   idx;  // n_out * taps
    std::vector<float> w;
    int                taps = 0;
};

// Taps of the outputs first..first+count-1 of an in -> out resampling (the whole output: first 0, count out).
static interp_taps interp_precompute(int in, int out, interp_mode mode, int first, int count) {
    interp_taps t;
    const float scale = (float) in / (float) out;
    if (mode == interp_mode::bilinear) {
        t.taps = 2;
        t.idx.resize((size_t) count * 2);
        t.w.resize((size_t) count * 2);
        for (int k = 0; k < count; ++k) {
            const int i = first + k;
            int       i0;
            float l1;
            if (in == out) {
                i0 = i;
                l1 = 0.0f;
            } else {
                float real = scale * ((float) i + 0.5f) - 0.5f;
                if (real < 0) {
                    real = 0;
                }
                i0 = std::min((int) std::floor(real), in - 1);
                l1 = std::min(std::max(real - (float) i0, 0.0f), 1.0f);
            }
            t.idx[k * 2 + 0] = i0;
            t.idx[k * 2 + 1] = i0 + (i0 < in - 1 ? 1 : 0);
            t.w[k * 2 + 0]   = 1.0f - l1;
            t.w[k * 2 + 1]   = l1;
        }
        return t;
    }
    // Bicubic, bit for bit as PyTorch's CPU kernel (torch 1.13, UpSampleKernel.cpp, HelperInterpCubic) in the build
    // PyTorch runs on x86-64 CPUs with AVX2 (the AVX2 and AVX512 builds agree; the no-SIMD 'default' build rounds
    // differently): the source index scale*(i+0.5)-0.5 is evaluated in double, its floor taken in float
    // (floorf of the float-rounded index), t = (float)(index - floor); the weights in float with the two multiply-adds
    // the compiler fuses there. Points (first argmax) of smooth or flat upsampled maps depend on the last bit.
    const float  A       = -0.75f;
    const double scale_d = (double) scale;
    auto cc1 = [A](float x) { return (std::fma(A + 2, x, -(A + 3)) * x) * x + 1; };
    auto cc2 = [A](float x) { return std::fma(std::fma(A, x, -5 * A), x, 8 * A) * x - 4 * A; };
    t.taps = 4;
    t.idx.resize((size_t) count * 4);
    t.w.resize((size_t) count * 4);
    for (int k = 0; k < count; ++k) {
        const int    i    = first + k;
        const double real = scale_d * ((double) i + 0.5) - 0.5;
        const int    i0   = std::min((int) std::floor((float) real), in - 1);
        const float  l    = (float) (real - (double) i0);
        const float  x2   = 1.0f - l;
        const float  c[4] = { cc2(l + 1.0f), cc1(l), cc1(x2), cc2(x2 + 1.0f) };
        for (int j = 0; j < 4; ++j) {
            t.idx[k * 4 + j] = std::min(std::max(i0 + j - 1, 0), in - 1);
            t.w[k * 4 + j]   = c[j];
        }
    }
    return t;
}

// The bicubic 4-tap sum as PyTorch's AVX2 build computes it (Interpolate<>::eval, `output = t0 * w0;
// output += t * w` with the first product fused into the first addition, then a chain of fused multiply-adds):
// fma(v3, w3, fma(v2, w2, fma(v0, w0, v1 * w1))). Bit-exact against torch 1.13 on every shape tried.
static inline float fused_sum4(float v0, float v1, float v2, float v3, const float * w) {
    return std::fma(v3, w[3], std::fma(v2, w[2], std::fma(v0, w[0], v1 * w[1])));
}

std::vector<float> torch_interpolate(const float * x, int c, int h, int w, int oh, int ow, interp_mode mode) {
    return torch_interpolate_window(x, c, h, w, oh, ow, 0, 0, ow, oh, mode);
}

std::vector<float> torch_interpolate_window(const float * x, int c, int h, int w, int oh, int ow, int x0, int y0,
                                            int ww, int wh, interp_mode mode) {
    if (c <= 0 || h <= 0 || w <= 0 || oh <= 0 || ow <= 0) {
        fail("interpolate: invalid sizes [%d,%d,%d] -> [%d,%d]", c, h, w, oh, ow);
    }
    if (x0 < 0 || y0 < 0 || ww <= 0 || wh <= 0 || x0 + ww > ow || y0 + wh > oh) {
        fail("interpolate: window %dx%d at (%d,%d) outside the %dx%d output", ww, wh, x0, y0, ow, oh);
    }
    const interp_taps ty = interp_precompute(h, oh, mode, y0, wh);
    const interp_taps tx = interp_precompute(w, ow, mode, x0, ww);
    const bool         bicubic = mode == interp_mode::bicubic;
    std::vector<float> out((size_t) c * wh * ww);
    // Each output is sum_j w_y[j] * (sum_i w_x[i] * src[row_j][col_i]) accumulated left to right, as the reference
    // (aten UpSampleKernel.cpp, Interpolate<2>: outer sum over rows, inner over columns). The inner sums depend only
    // on (source row, output column), so they are computed once per source row: same operations, same results.
    std::vector<float> horiz((size_t) h * ww);
    for (int ch = 0; ch < c; ++ch) {
        const float * src = x + (size_t) ch * h * w;
        float *       dst = out.data() + (size_t) ch * wh * ww;
        for (int sy = 0; sy < h; ++sy) {
            const float * row = src + (size_t) sy * w;
            float *       hr  = horiz.data() + (size_t) sy * ww;
            for (int ox = 0; ox < ww; ++ox) {
                const int *   ix = &tx.idx[(size_t) ox * tx.taps];
                const float * wx = &tx.w[(size_t) ox * tx.taps];
                if (bicubic) {
                    hr[ox] = fused_sum4(row[ix[0]], row[ix[1]], row[ix[2]], row[ix[3]], wx);
                    continue;
                }
                float t = row[ix[0]] * wx[0];
                for (int i = 1; i < tx.taps; ++i) {
                    t += row[ix[i]] * wx[i];
                }
                hr[ox] = t;
            }
        }
        for (int oy = 0; oy < wh; ++oy) {
            const int *   iy = &ty.idx[(size_t) oy * ty.taps];
            const float * wy = &ty.w[(size_t) oy * ty.taps];
            float *       o  = dst + (size_t) oy * ww;
            const float * h0 = horiz.data() + (size_t) iy[0] * ww;
            if (bicubic) {
                const float * h1 = horiz.data() + (size_t) iy[1] * ww;
                const float * h2 = horiz.data() + (size_t) iy[2] * ww;
                const float * h3 = horiz.data() + (size_t) iy[3] * ww;
                for (int ox = 0; ox < ww; ++ox) {
                    o[ox] = fused_sum4(h0[ox], h1[ox], h2[ox], h3[ox], wy);
                }
                continue;
            }
            for (int ox = 0; ox < ww; ++ox) {
                o[ox] = h0[ox] * wy[0];
            }
            for (int j = 1; j < ty.taps; ++j) {
                const float * hj = horiz.data() + (size_t) iy[j] * ww;
                for (int ox = 0; ox < ww; ++ox) {
                    o[ox] += hj[ox] * wy[j];
                }
            }
        }
    }
    return out;
}

}  // namespace glm
