#include "models/mtmd-vision.h"

#include "common.h"
#include "gguf-loader.h"

#include "llama.h"
#include "mtmd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

namespace glm {

// The projectors whose image tokens are one spatial grid we can place on the image.
static bool is_qwen(const std::string & p) {
    return p == "qwen2vl_merger" || p == "qwen2.5vl_merger" || p == "qwen3vl_merger";
}
static bool is_gemma3(const std::string & p) { return p == "gemma3"; }

std::string mtmd_projector_type(const std::string & path) {
    gguf_loader probe(path);
    if (probe.get_str("general.architecture", "") != "clip") {
        return "";
    }
    std::string p = probe.get_str("clip.projector_type", "");
    if (p.empty()) {
        p = probe.get_str("clip.vision.projector_type", "");
    }
    return p == "mlp" ? "" : p;
}

bool mtmd_projector_supported(const std::string & path, const std::string & p) {
    if (is_qwen(p) || is_gemma3(p)) {
        return true;
    }
    if (p == "resampler") {
        fail("%s: projector 'resampler' (MiniCPM-V up to 4.5) is supported by libmtmd but its image tokens are "
             "learned resampler queries that cross-attend to the whole slice: no token belongs to a place in the "
             "image, so attention over them cannot be drawn as a map (spatial families: Qwen2/2.5/3-VL, Gemma 3, "
             "LLaVA-1.5)",
             path.c_str());
    }
    return false;
}

grid_rect mtmd_canvas_rect(int w, int h, int tw, int th) {
    if (w <= 0 || h <= 0 || tw <= 0 || th <= 0) {
        fail("mtmd letterbox: invalid sizes %dx%d -> %dx%d", w, h, tw, th);
    }
    if (w == tw && h == th) {
        return { 0, 0, w, h };  // mtmd copies an image of the target size
    }
    // img_tool::resize, PAD_CEIL, in its float arithmetic
    const float scale = std::min((float) tw / (float) w, (float) th / (float) h);
    const int   nw    = std::min((int) std::ceil((float) w * scale), tw);
    const int   nh    = std::min((int) std::ceil((float) h * scale), th);
    const int   ox    = (tw - nw) / 2;
    const int   oy    = (th - nh) / 2;
    const double sx = (double) w / nw, sy = (double) h / nh;  // original pixels per canvas pixel
    grid_rect   r;
    r.x = (int) std::lround(-ox * sx);
    r.y = (int) std::lround(-oy * sy);
    r.w = (int) std::lround(tw * sx);
    r.h = (int) std::lround(th * sy);
    return r;
}

mtmd_encoder::mtmd_encoder(const std::string & path, const llama_model * text_model, const mtmd_vision_params & p)
    : path_(path) {
    if (!text_model) {
        fail("%s: libmtmd needs the LLM loaded first", path.c_str());
    }
    {
        gguf_loader probe(path);
        projector_ = probe.get_str("clip.projector_type", probe.get_str("clip.vision.projector_type", ""));
        if (is_qwen(projector_)) {
            const int patch = (int) probe.get_int("clip.vision.patch_size", 0);
            const int merge = (int) probe.get_int("clip.vision.spatial_merge_size", 2);
            if (patch <= 0 || merge <= 0) {
                fail("%s: clip.vision.patch_size missing or invalid (got %d)", path.c_str(), patch);
            }
            cell_px_ = patch * merge;
        } else if (is_gemma3(projector_)) {
            image_size_ = (int) probe.get_int("clip.vision.image_size", 0);
            if (image_size_ <= 0) {
                fail("%s: clip.vision.image_size missing or invalid", path.c_str());
            }
        } else {
            mtmd_projector_supported(path, projector_);  // fails with the reason for non-spatial families
            fail("%s: projector '%s' is not mapped by groundlmm (supported through libmtmd: qwen2vl_merger, "
                 "qwen2.5vl_merger, qwen3vl_merger, gemma3)",
                 path.c_str(), projector_.c_str());
        }
    }
    if (p.image_min_tokens < 0 || p.image_max_tokens < 0 ||
        (p.image_min_tokens > 0 && p.image_max_tokens > 0 && p.image_min_tokens > p.image_max_tokens)) {
        fail("image token limits: min %d, max %d (expected 0 = default, or 0 < min <= max)", p.image_min_tokens,
             p.image_max_tokens);
    }
    if (is_gemma3(projector_) && (p.image_min_tokens > 0 || p.image_max_tokens > 0)) {
        GLM_LOG_WARN("%s: Gemma 3 has a fixed image size; --image-min-tokens/--image-max-tokens are ignored\n",
                     path.c_str());
    }
    mtmd_context_params cp = mtmd_context_params_default();
    cp.use_gpu             = p.use_gpu;
    cp.print_timings       = false;
    cp.n_threads           = p.n_threads > 0 ? p.n_threads : (int) std::max(1u, std::thread::hardware_concurrency());
    cp.warmup              = false;
    cp.flash_attn_type     = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.image_min_tokens    = p.image_min_tokens > 0 ? p.image_min_tokens : -1;
    cp.image_max_tokens    = p.image_max_tokens > 0 ? p.image_max_tokens : -1;
    backend_last_error();
    ctx_ = mtmd_init_from_file(path.c_str(), text_model, cp);
    if (!ctx_) {
        const std::string why = backend_last_error();
        fail("%s: libmtmd cannot load the projector%s%s", path.c_str(), why.empty() ? "" : ": ", why.c_str());
    }
    if (!mtmd_support_vision(ctx_)) {
        mtmd_free(ctx_);
        fail("%s: this mmproj has no vision encoder", path.c_str());
    }
    n_embd_ = llama_model_n_embd_inp(text_model);
}

mtmd_encoder::~mtmd_encoder() {
    if (ctx_) {
        mtmd_free(ctx_);
    }
}

std::string mtmd_encoder::name() const {
    return strfmt("libmtmd %s -> %d", projector_.c_str(), n_embd_);
}

vision_output mtmd_encoder::encode(const image_u8 & img) { return encode_impl(img); }

vision_output mtmd_encoder::encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const {
    (void) compute;  // mtmd computes on the backend it picked at load
    (void) seed;     // deterministic
    return encode_impl(img);
}

namespace {
struct chunks_guard {
    mtmd_input_chunks * c;
    ~chunks_guard() { mtmd_input_chunks_free(c); }
};
struct bitmap_guard {
    mtmd_bitmap * b;
    ~bitmap_guard() { mtmd_bitmap_free(b); }
};
}  // namespace

vision_output mtmd_encoder::encode_impl(const image_u8 & img) const {
    if (img.empty() || img.rgb.size() != (size_t) img.w * img.h * 3) {
        fail("%s: empty or malformed image (%dx%d, %zu bytes)", path_.c_str(), img.w, img.h, img.rgb.size());
    }
    std::lock_guard<std::mutex> lock(mu_);
    bitmap_guard bm{ mtmd_bitmap_init((uint32_t) img.w, (uint32_t) img.h, img.rgb.data()) };
    chunks_guard ch{ mtmd_input_chunks_init() };
    mtmd_input_text text;
    text.text          = mtmd_default_marker();
    text.text_len      = strlen(text.text);
    text.add_special   = false;
    text.parse_special = true;
    const mtmd_bitmap * bms[1] = { bm.b };
    const int32_t rc = mtmd_tokenize(ctx_, ch.c, &text, bms, 1);
    if (rc != 0) {
        fail("%s: libmtmd cannot preprocess a %dx%d image (mtmd_tokenize returned %d)", path_.c_str(), img.w, img.h,
             rc);
    }
    vision_output            out;
    const mtmd_input_chunk * image_chunk = nullptr;
    for (size_t i = 0; i < mtmd_input_chunks_size(ch.c); ++i) {
        const mtmd_input_chunk * c = mtmd_input_chunks_get(ch.c, i);
        const auto               t = mtmd_input_chunk_get_type(c);
        if (t == MTMD_INPUT_CHUNK_TYPE_TEXT) {
            size_t              n    = 0;
            const llama_token * toks = mtmd_input_chunk_get_tokens_text(c, &n);
            std::vector<int32_t> & dst = image_chunk ? out.decode.text_after : out.decode.text_before;
            dst.insert(dst.end(), toks, toks + n);
        } else if (t == MTMD_INPUT_CHUNK_TYPE_IMAGE) {
            if (image_chunk) {
                fail("%s: libmtmd split the image into several chunks (tiles); tiled layouts are not mapped",
                     path_.c_str());
            }
            image_chunk = c;
        } else {
            fail("%s: unexpected non-image media chunk", path_.c_str());
        }
    }
    if (!image_chunk) {
        fail("%s: libmtmd returned no image chunk", path_.c_str());
    }
    const mtmd_image_tokens * it = mtmd_input_chunk_get_tokens_image(image_chunk);
    const int                 n  = (int) mtmd_input_chunk_get_n_tokens(image_chunk);
    if (mtmd_encode_chunk(ctx_, image_chunk) != 0) {
        fail("%s: libmtmd failed to encode the image", path_.c_str());
    }
    const float * e = mtmd_get_output_embd(ctx_);
    out.n_tokens    = n;
    out.n_embd      = n_embd_;
    out.embd.assign(e, e + (size_t) n * n_embd_);
    out.decode.non_causal    = mtmd_decode_use_non_causal(ctx_, image_chunk);
    out.decode.chat_template = true;
    if (is_gemma3(projector_)) {
        out.decode.chat_image = "\n\n<image>\n\n";  // Gemma3Processor's expansion of <start_of_image>
    }
    const int n_pos       = (int) mtmd_input_chunk_get_n_pos(image_chunk);
    out.decode.n_pos      = n_pos;

    int rows = 0, cols = 0, tw = 0, th = 0;
    if (mtmd_decode_use_mrope(ctx_)) {
        // the grid from mtmd's decoder positions (x = column, y = row, relative to the block start)
        out.decode.mrope_pos.assign((size_t) n * 4, 0);
        for (int i = 0; i < n; ++i) {
            const mtmd_decoder_pos dp = mtmd_image_tokens_get_decoder_pos(it, 0, (size_t) i);
            out.decode.mrope_pos[(size_t) i]         = (int32_t) dp.t;
            out.decode.mrope_pos[(size_t) i + n]     = (int32_t) dp.y;
            out.decode.mrope_pos[(size_t) i + 2 * n] = (int32_t) dp.x;
            out.decode.mrope_pos[(size_t) i + 3 * n] = (int32_t) dp.z;
            cols = std::max(cols, (int) dp.x + 1);
            rows = std::max(rows, (int) dp.y + 1);
        }
        for (int i = 0; i < n; ++i) {  // raster order, one token per cell: anything else is not a plain grid
            if (out.decode.mrope_pos[(size_t) i + 2 * n] != i % cols || out.decode.mrope_pos[(size_t) i + n] != i / cols) {
                fail("%s: image token %d is not at raster cell (%d, %d) of a %dx%d grid", path_.c_str(), i, i / cols,
                     i % cols, rows, cols);
            }
        }
        tw = cols * cell_px_;
        th = rows * cell_px_;
    } else {
        int side = (int) std::lround(std::sqrt((double) n));
        if (side * side != n) {
            fail("%s: %d image tokens are not a square grid", path_.c_str(), n);
        }
        rows = cols = side;
        tw = th = image_size_;
    }
    if (rows * cols != n) {
        fail("%s: %d image tokens for a %dx%d grid", path_.c_str(), n, rows, cols);
    }
    out.layout = image_layout::single(rows, cols, mtmd_canvas_rect(img.w, img.h, tw, th));
    out.grid_w = cols;
    out.grid_h = rows;
    // the LLaVA-style geometry record: the canvas as the "input", its rectangle as the padded frame
    const grid_rect & r = out.layout.grids[0].rect;
    out.geom.orig_w     = img.w;
    out.geom.orig_h     = img.h;
    out.geom.side       = std::max(r.w, r.h);
    out.geom.pad_x      = -r.x;
    out.geom.pad_y      = -r.y;
    out.geom.input_size = std::max(tw, th);
    out.geom.scale      = (float) out.geom.input_size / (float) std::max(1, out.geom.side);
    return out;
}

}  // namespace glm
