#include "models/llava-next.h"

#include "common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace glm {

const char * anyres_rule_name(anyres_rule r) { return r == anyres_rule::hf ? "hf" : "original"; }

anyres_rule anyres_rule_from_name(const std::string & s) {
    if (s == "original") {
        return anyres_rule::original;
    }
    if (s == "hf") {
        return anyres_rule::hf;
    }
    fail("anyres rule: expected original or hf, got '%s'", s.c_str());
}

// ---- plan ------------------------------------------------------------------------------------------------------

anyres_plan anyres_make_plan(int W, int H, const std::vector<anyres_pinpoint> & pinpoints, int tile, int patch,
                             anyres_rule rule) {
    if (W <= 0 || H <= 0) {
        fail("anyres: empty image (%dx%d)", W, H);
    }
    if (tile <= 0 || patch <= 0 || tile % patch != 0) {
        fail("anyres: tile %d is not a positive multiple of the patch size %d", tile, patch);
    }
    if (pinpoints.empty()) {
        fail("anyres: no grid pinpoints");
    }
    anyres_plan p;
    p.image_w = W;
    p.image_h = H;
    p.tile    = tile;
    p.grid    = tile / patch;

    // mm_utils.select_best_resolution: list order, double arithmetic, ties keep the first candidate
    const int64_t area      = (int64_t) W * H;
    int64_t       max_eff   = 0;
    int64_t       min_waste = std::numeric_limits<int64_t>::max();
    for (const anyres_pinpoint & pp : pinpoints) {
        // transformers reads the same list as (h, w)
        const int w = rule == anyres_rule::hf ? pp[1] : pp[0];
        const int h = rule == anyres_rule::hf ? pp[0] : pp[1];
        if (w <= 0 || h <= 0 || w % tile != 0 || h % tile != 0) {
            fail("anyres: pinpoint %dx%d is not a positive multiple of the tile size %d", pp[0], pp[1], tile);
        }
        const double  scale = std::min((double) w / W, (double) h / H);
        const int64_t dw = (int64_t) ((double) W * scale), dh = (int64_t) ((double) H * scale);  // Python int()
        const int64_t eff   = std::min(dw * dh, area);
        const int64_t waste = (int64_t) w * h - eff;
        if (eff > max_eff || (eff == max_eff && waste < min_waste)) {  // the first candidate always enters
            max_eff   = eff;
            min_waste = waste;
            p.best_w  = w;
            p.best_h  = h;
        }
    }
    p.cols = p.best_w / tile;
    p.rows = p.best_h / tile;

    // mm_utils.resize_and_pad_image: fit, ceil on the free side, centred with floor offsets
    const double sw = (double) p.best_w / W, sh = (double) p.best_h / H;
    if (sw < sh) {
        p.resized_w = p.best_w;
        p.resized_h = std::min((int) std::ceil((double) H * sw), p.best_h);
    } else {
        p.resized_h = p.best_h;
        p.resized_w = std::min((int) std::ceil((double) W * sh), p.best_w);
    }
    p.paste_x   = (p.best_w - p.resized_w) / 2;
    p.paste_y   = (p.best_h - p.resized_h) / 2;

    // llava_arch.unpad_image on the (rows*g) x (cols*g) feature raster with the original W, H
    const int cw = p.cols * p.grid, ch = p.rows * p.grid;
    auto      to_int = [&](double v) {
        if (rule == anyres_rule::hf) {
            v = std::nearbyint(v * 1e7) / 1e7;  // int(round(v, 7))
        }
        return (int) v;  // int(): truncation
    };
    p.hr_rows = ch;
    p.hr_cols = cw;
    if ((double) W / H > (double) cw / ch) {
        p.unpad_rows    = true;
        p.unpad_value   = (double) H * ((double) cw / W);
        const int pad   = (ch - to_int(p.unpad_value)) / 2;
        p.first_row     = pad;
        p.hr_rows       = ch - 2 * pad;
    } else {
        p.unpad_rows    = false;
        p.unpad_value   = (double) W * ((double) ch / H);
        const int pad   = (cw - to_int(p.unpad_value)) / 2;
        p.first_col     = pad;
        p.hr_cols       = cw - 2 * pad;
    }
    if (p.hr_rows <= 0 || p.hr_cols <= 0) {
        fail("anyres: a %dx%d image leaves no feature cell after unpadding (%dx%d)", W, H, p.hr_rows, p.hr_cols);
    }
    return p;
}

// ---- preprocessing ---------------------------------------------------------------------------------------------

std::vector<float> anyres_preprocess(const image_u8 & img, const anyres_plan & p, const float mean[3],
                                     const float std_[3], image_u8 * canvas_out, image_u8 * base_out) {
    if (img.w != p.image_w || img.h != p.image_h) {
        fail("anyres: the plan is for a %dx%d image, got %dx%d", p.image_w, p.image_h, img.w, img.h);
    }
    const int      T       = p.tile;
    const image_u8 resized = pil_resize(img, p.resized_w, p.resized_h, pil_filter::bicubic);
    image_u8       canvas;  // black, the resized image pasted at (paste_x, paste_y)
    canvas.w = p.best_w;
    canvas.h = p.best_h;
    canvas.rgb.assign((size_t) canvas.w * canvas.h * 3, 0);
    for (int y = 0; y < resized.h; ++y) {
        memcpy(canvas.at(p.paste_x, p.paste_y + y), resized.at(0, y), (size_t) resized.w * 3);
    }
    const image_u8 base = pil_resize(img, T, T, pil_filter::bicubic);  // squashed, no padding

    const size_t       per = (size_t) 3 * T * T;
    std::vector<float> out = image_to_chw(base, mean, std_);
    out.reserve(per * (1 + p.n_crops()));
    image_u8 crop;
    crop.w = crop.h = T;
    crop.rgb.resize((size_t) T * T * 3);
    for (int r = 0; r < p.rows; ++r) {
        for (int c = 0; c < p.cols; ++c) {
            for (int y = 0; y < T; ++y) {
                memcpy(crop.at(0, y), canvas.at(c * T, r * T + y), (size_t) T * 3);
            }
            const std::vector<float> chw = image_to_chw(crop, mean, std_);
            out.insert(out.end(), chw.begin(), chw.end());
        }
    }
    if (canvas_out) {
        *canvas_out = std::move(canvas);
    }
    if (base_out) {
        *base_out = base;
    }
    return out;
}

// ---- packing and layout -----------------------------------------------------------------------------------------

std::vector<float> anyres_pack(const std::vector<float> & tiles, const std::vector<float> & newline, int n_embd,
                               const anyres_plan & p) {
    const int    g   = p.grid;
    const size_t C   = (size_t) n_embd;
    const size_t per = (size_t) g * g * C;
    if (tiles.size() != per * (1 + p.n_crops())) {
        fail("anyres: %zu tile embedding values for %d crops + base of %dx%d x %d", tiles.size(), p.n_crops(), g, g,
             n_embd);
    }
    if (newline.size() != C) {
        fail("anyres: image_newline has %zu values, expected %d", newline.size(), n_embd);
    }
    std::vector<float> out((size_t) p.n_tokens() * C);
    memcpy(out.data(), tiles.data(), per * sizeof(float));  // the base tile, no newline
    float * dst = out.data() + per;
    // llava_arch: view (rows, cols, g, g, C) -> permute -> one raster across tile borders; keep the unpadded window
    for (int r = 0; r < p.hr_rows; ++r) {
        const int R = p.first_row + r;  // raster row
        for (int c = 0; c < p.hr_cols; ++c) {
            const int    Cc   = p.first_col + c;
            const int    tile = 1 + (R / g) * p.cols + Cc / g;  // +1: the base comes first
            const size_t cell = (size_t) (R % g) * g + (size_t) (Cc % g);
            memcpy(dst, tiles.data() + tile * per + cell * C, C * sizeof(float));
            dst += C;
        }
        memcpy(dst, newline.data(), C * sizeof(float));
        dst += C;
    }
    return out;
}

image_layout anyres_layout(const anyres_plan & p, bool base_primary) {
    const grid_rect whole{ 0, 0, p.image_w, p.image_h };
    image_layout    l = image_layout::single(p.grid, p.grid, whole, grid_role::base);
    l.n_tokens        = p.n_tokens();
    token_grid hr;
    hr.role = grid_role::highres;
    hr.rows = p.hr_rows;
    hr.cols = p.hr_cols;
    hr.rect = whole;  // the official code maps the unpadded grid over the whole image ('original')
    hr.cells.reserve((size_t) p.hr_rows * p.hr_cols);
    for (int r = 0; r < p.hr_rows; ++r) {
        for (int c = 0; c < p.hr_cols; ++c) {
            hr.cells.push_back(p.n_base() + r * (p.hr_cols + 1) + c);  // skips the newline after each row
        }
    }
    l.grids.push_back(std::move(hr));
    l.primary = base_primary ? 0 : 1;
    return l;
}

// ---- the file ----------------------------------------------------------------------------------------------------

void llava_next_check_file(const gguf_loader & ml) {
    const char * f = ml.path().c_str();
    const bool   has_pp = ml.has_key("clip.vision.image_grid_pinpoints");
    const std::string merge = ml.get_str("clip.vision.mm_patch_merge_type", "");
    if ((merge.empty() || merge == "flat") && !has_pp) {
        fail("%s: not a LLaVA-NeXT mmproj: clip.vision.mm_patch_merge_type is %s and there is no "
             "clip.vision.image_grid_pinpoints (a LLaVA-1.5 mmproj: the LLaVA-1.5 encoder reads it)", f,
             merge.empty() ? "missing" : "'flat'");
    }
    if (merge != "spatial_unpad") {
        fail("%s: clip.vision.mm_patch_merge_type is '%s', expected 'spatial_unpad' (LLaVA-NeXT's anyres merge; 'flat' "
             "and other merges are not supported)", f, merge.empty() ? "(missing)" : merge.c_str());
    }
    if (!has_pp) {
        fail("%s: mm_patch_merge_type is spatial_unpad but clip.vision.image_grid_pinpoints is missing (the anyres "
             "resolutions, flattened (w, h) pairs)", f);
    }
    const std::string ar = ml.get_str("clip.vision.image_aspect_ratio", "anyres");
    if (ar != "anyres") {
        fail("%s: clip.vision.image_aspect_ratio is '%s', expected 'anyres'", f, ar.c_str());
    }
    const std::string pt = ml.get_str("clip.vision.mm_projector_type", "mlp2x_gelu");
    if (pt != "mlp2x_gelu") {
        fail("%s: clip.vision.mm_projector_type is '%s', expected 'mlp2x_gelu'", f, pt.c_str());
    }
}

llava_next_encoder::llava_next_encoder(const std::string & path, compute_backend & backend,
                                       const llava_next_options & opt)
    : loader_(path), backend_(backend), opt_(opt) {
    const std::string arch = loader_.get_str("general.architecture", "");
    if (arch != "clip") {
        fail("%s: general.architecture is '%s', expected 'clip' (a LLaVA-NeXT mmproj file)", path.c_str(), arch.c_str());
    }
    llava_next_check_file(loader_);
    const std::vector<int64_t> pp = loader_.get_arr_int("clip.vision.image_grid_pinpoints");
    if (pp.empty() || pp.size() % 2 != 0) {
        fail("%s: clip.vision.image_grid_pinpoints has %zu values, expected a non-empty list of (w, h) pairs",
             path.c_str(), pp.size());
    }
    loader_.load(backend_.primary());
    model_.load(loader_, /*require_projector=*/true);
    const int tile = model_.hp.image_size;
    for (size_t i = 0; i < pp.size(); i += 2) {
        if (pp[i] <= 0 || pp[i + 1] <= 0 || pp[i] % tile != 0 || pp[i + 1] % tile != 0) {
            fail("%s: image_grid_pinpoints[%zu] = %lldx%lld is not a positive multiple of the tile size %d",
                 path.c_str(), i / 2, (long long) pp[i], (long long) pp[i + 1], tile);
        }
        pinpoints_.push_back({ (int) pp[i], (int) pp[i + 1] });
    }
    for (const char * key : { "clip.vision.image_crop_resolution", "clip.vision.image_split_resolution" }) {
        if (loader_.has_key(key) && loader_.get_int(key) != tile) {
            fail("%s: %s is %lld but the tower's image_size is %d (tiles must be the tower's input)", path.c_str(), key,
                 (long long) loader_.get_int(key), tile);
        }
    }
    const char * nl_name = loader_.has_tensor("model.image_newline") ? "model.image_newline" : "v.image_newline";
    if (!loader_.has_tensor(nl_name)) {
        fail("%s: no image_newline tensor (model.image_newline): spatial_unpad needs it", path.c_str());
    }
    newline_ = tensor_to_f32(loader_.get(nl_name, { model_.hp.n_proj_out }));
    loader_.check_all_used();
}

std::string llava_next_encoder::name() const {
    return strfmt("clip-vit (%d layers of %d, %d px tiles, %dx%d patches of %d px) + mlp2x_gelu -> %d, anyres "
                  "spatial_unpad (%zu pinpoints, %s rule)",
                  model_.hp.n_layer, model_.hp.n_embd, model_.hp.image_size, grid_w(), grid_h(), model_.hp.patch_size,
                  n_embd(), pinpoints_.size(), anyres_rule_name(opt_.rule));
}

anyres_plan llava_next_encoder::plan(int width, int height) const {
    return anyres_make_plan(width, height, pinpoints_, model_.hp.image_size, model_.hp.patch_size, opt_.rule);
}

std::vector<float> llava_next_encoder::preprocess(const image_u8 & img, const anyres_plan & p) const {
    return anyres_preprocess(img, p, model_.hp.mean, model_.hp.std_);
}

std::vector<float> llava_next_encoder::encode_crops(const std::vector<float> & chw, int n, compute_backend & compute,
                                                    std::vector<float> * features) const {
    return clip_run(model_, compute, chw, n, features);  // all crops through the tower as one batch
}

vision_output llava_next_encoder::encode(const image_u8 & img, compute_backend & compute, uint64_t) const {
    const anyres_plan p = plan(img.w, img.h);
    vision_output     out;
    const int         n = 1 + p.n_crops();
    out.embd            = anyres_pack(encode_crops(preprocess(img, p), n, compute), newline_, n_embd(), p);
    out.n_tokens        = p.n_tokens();
    out.n_embd          = n_embd();
    out.layout          = anyres_layout(p);
    out.grid_w          = p.hr_cols;
    out.grid_h          = p.hr_rows;
    // the whole image, stretched (no padding survives unpadding)
    out.geom.orig_w     = img.w;
    out.geom.orig_h     = img.h;
    out.geom.side       = std::max(img.w, img.h);
    out.geom.input_size = model_.hp.image_size;
    out.geom.scale      = (float) model_.hp.image_size / (float) out.geom.side;
    return out;
}

}  // namespace glm
