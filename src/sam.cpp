#include "sam.h"

#include "common.h"
#include "gguf-loader.h"

#include <cmath>
#include <map>
#include <tuple>

namespace glm {

// ---------------------------------------------------------------------------------------------- preprocessing

void sam_preprocess_shape(int h, int w, int long_side, int * new_h, int * new_w) {
    const double scale = long_side * 1.0 / std::max(h, w);  // Python floats
    *new_h             = (int) (h * scale + 0.5);
    *new_w             = (int) (w * scale + 0.5);
}

sam_input sam_preprocess_resized(const sam_hparams & hp, const image_u8 & resized, int orig_w, int orig_h) {
    const int S = hp.image_size;
    if (resized.empty() || resized.w > S || resized.h > S) {
        fail("SAM preprocessing: resized image %dx%d does not fit the %dx%d input", resized.w, resized.h, S, S);
    }
    sam_input in;
    in.orig_w  = orig_w;
    in.orig_h  = orig_h;
    in.input_w = resized.w;
    in.input_h = resized.h;
    in.resized = resized;
    // Sam.preprocess: (x - pixel_mean) / pixel_std in float32 on the uint8 values, then F.pad with zeros
    in.tensor.assign((size_t) 3 * S * S, 0.0f);
    for (int c = 0; c < 3; ++c) {
        float * plane = &in.tensor[(size_t) c * S * S];
        for (int y = 0; y < resized.h; ++y) {
            for (int x = 0; x < resized.w; ++x) {
                plane[(size_t) y * S + x] = ((float) resized.at(x, y)[c] - hp.pixel_mean[c]) / hp.pixel_std[c];
            }
        }
    }
    return in;
}

sam_input sam_preprocess(const sam_hparams & hp, const image_u8 & img) {
    if (img.empty()) {
        fail("SAM preprocessing: empty image");
    }
    int nh = 0, nw = 0;
    sam_preprocess_shape(img.h, img.w, hp.image_size, &nh, &nw);
    if (nh < 1 || nw < 1) {
        fail("SAM preprocessing: image %dx%d is too thin to resize to a longest side of %d", img.w, img.h,
             hp.image_size);
    }
    // ResizeLongestSide.apply_image: torchvision resize of a PIL image = PIL bilinear
    const image_u8 resized = (nw == img.w && nh == img.h) ? img : pil_resize(img, nw, nh, pil_filter::bilinear);
    return sam_preprocess_resized(hp, resized, img.w, img.h);
}

// ---------------------------------------------------------------------------------------------- model

sam_model::~sam_model() = default;

std::shared_ptr<const sam_model> sam_model::load(const std::string & path, compute_backend & backend) {
    std::shared_ptr<sam_model> m(new sam_model());
    m->path_   = path;
    m->loader_ = std::make_unique<gguf_loader>(path);
    m->hp_     = sam_hparams_read(*m->loader_);
    m->loader_->load(backend.primary());
    m->buft_ = ggml_backend_get_default_buffer_type(backend.primary());
    m->encoder_.load(m->hp_, *m->loader_, m->buft_);
    m->decoder_.load(m->hp_, *m->loader_, m->buft_);
    m->loader_->check_all_used();
    const sam_hparams & hp = m->hp_;
    GLM_LOG_INFO("%s: SAM ViT %d x %d (heads %d, window %d, %zu global), prompt %d, decoder %d x %d heads, on %s",
                 path.c_str(), hp.enc_embd, hp.enc_depth, hp.enc_heads, hp.window_size, hp.global_attn.size(),
                 hp.prompt_embd, hp.dec_depth, hp.dec_heads, backend.name().c_str());
    return m;
}

// ---------------------------------------------------------------------------------------------- state

sam_state::sam_state(std::shared_ptr<const sam_model> model, compute_backend & backend, const sam_params & params)
    : model_(std::move(model)), backend_(backend), params_(params) {
    if (!model_) {
        fail("sam_state: no model");
    }
    if (!ggml_backend_supports_buft(backend_.primary(), model_->buffer_type())) {
        fail("sam_state: backend %s cannot use the model's weights (loaded on another device)", backend_.name().c_str());
    }
    if (params_.max_batch < 1) {
        fail("sam_state: max_batch must be >= 1 (got %d)", params_.max_batch);
    }
}

void sam_state::set_image(const image_u8 & img) { set_input(sam_preprocess(model_->hparams(), img)); }

void sam_state::set_input(sam_input input) {
    const sam_hparams & hp = model_->hparams();
    const int           S  = hp.image_size;
    if (input.tensor.size() != (size_t) 3 * S * S) {
        fail("sam_state: input tensor has %zu values, expected 3 x %d x %d", input.tensor.size(), S, S);
    }
    const double t0 = now_s();
    emb_.clear();
    graph_ctx     g;
    ggml_context * ctx = g.ctx();
    ggml_tensor *  inp = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, S, S, 3, 1);
    tname(inp, "input_image");
    ggml_set_input(inp);
    ggml_tensor * out = model_->encoder().build(ctx, inp);
    ggml_set_output(out);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, out);
    backend_.run(gf, [&]() { ggml_backend_tensor_set(inp, input.tensor.data(), 0, input.tensor.size() * sizeof(float)); });
    emb_      = tensor_to_f32(out);
    input_    = std::move(input);
    encode_s_ = now_s() - t0;
    GLM_LOG_DEBUG("SAM image %dx%d encoded in %.3f s", input_.orig_w, input_.orig_h, encode_s_);
}

void sam_state::set_embedding(const std::vector<float> & emb_chw, int orig_w, int orig_h) {
    const sam_hparams & hp = model_->hparams();
    const int           P = hp.prompt_embd, G = hp.grid();
    if (emb_chw.size() != (size_t) P * G * G) {
        fail("sam_state: embedding has %zu values, expected %d x %d x %d", emb_chw.size(), P, G, G);
    }
    if (orig_w < 1 || orig_h < 1) {
        fail("sam_state: bad original size %dx%d", orig_w, orig_h);
    }
    input_        = sam_input();
    input_.orig_w = orig_w;
    input_.orig_h = orig_h;
    sam_preprocess_shape(orig_h, orig_w, hp.image_size, &input_.input_h, &input_.input_w);
    emb_.resize(emb_chw.size());
    for (int c = 0; c < P; ++c) {
        for (int i = 0; i < G * G; ++i) {
            emb_[(size_t) i * P + c] = emb_chw[(size_t) c * G * G + i];
        }
    }
}

std::vector<float> sam_state::image_embedding_chw() const {
    const sam_hparams & hp = model_->hparams();
    const int           P = hp.prompt_embd, G = hp.grid();
    std::vector<float>  out(emb_.size());
    for (int c = 0; c < P && !emb_.empty(); ++c) {
        for (int i = 0; i < G * G; ++i) {
            out[(size_t) c * G * G + i] = emb_[(size_t) i * P + c];
        }
    }
    return out;
}

void sam_check_prompt(const sam_hparams & hp, const sam_prompt & p, int W, int H, size_t index) {
    const int L = hp.low_res();
    if (p.points.empty() && !p.has_box && p.mask_input.empty()) {
        fail("SAM prompt %zu is empty: give at least one point, a box or a mask", index);
    }
    for (size_t i = 0; i < p.points.size(); ++i) {
        const sam_point & q = p.points[i];
        if (!(q.x >= 0.0f && q.x < (float) W && q.y >= 0.0f && q.y < (float) H)) {
            fail("SAM prompt %zu: point %zu (%g, %g) is outside the %dx%d image", index, i, q.x, q.y, W, H);
        }
        if (q.label < -1 || q.label > 1) {
            fail("SAM prompt %zu: point %zu has label %d (expected 1 foreground, 0 background or -1 padding)", index,
                 i, q.label);
        }
    }
    if (p.has_box) {
        const float * b = p.box;
        const bool    inside = b[0] >= 0 && b[1] >= 0 && b[2] <= (float) W && b[3] <= (float) H;
        if (!(inside && b[0] <= b[2] && b[1] <= b[3])) {
            fail("SAM prompt %zu: box (%g, %g, %g, %g) is not an x0 <= x1, y0 <= y1 box inside the %dx%d image",
                 index, b[0], b[1], b[2], b[3], W, H);
        }
    }
    if (!p.mask_input.empty()) {
        if (p.mask_input.size() != (size_t) L * L) {
            fail("SAM prompt %zu: mask input has %zu values, expected %d x %d low-res logits", index,
                 p.mask_input.size(), L, L);
        }
        for (float v : p.mask_input) {
            if (!std::isfinite(v)) {
                fail("SAM prompt %zu: mask input has a non-finite value", index);
            }
        }
    }
}

// Sam.postprocess_masks of one low-res mask: bilinear to image_size, crop to the input size, bilinear to the
// original size, then threshold.
static void postprocess(const float * low, int L, int S, const sam_input & in, float threshold, uint8_t * out) {
    const std::vector<float> crop = torch_interpolate_window(low, 1, L, L, S, S, 0, 0, in.input_w, in.input_h,
                                                             interp_mode::bilinear);  // [input_h][input_w]
    const std::vector<float> full =
        torch_interpolate(crop.data(), 1, in.input_h, in.input_w, in.orig_h, in.orig_w, interp_mode::bilinear);
    for (size_t i = 0; i < full.size(); ++i) {
        out[i] = full[i] > threshold ? 1 : 0;
    }
}

void sam_state::run_batch(const std::vector<const sam_prompt *> & batch, std::vector<sam_result *> & results) {
    const sam_hparams & hp  = model_->hparams();
    const sam_decoder & dec = model_->decoder();
    const int           P = hp.prompt_embd, G = hp.grid(), L = hp.low_res(), nm = hp.n_mask_tokens();
    const int           B = (int) batch.size();
    const bool          has_mask = !batch[0]->mask_input.empty();

    // SamPredictor.predict: coordinates to the input frame (apply_coords in float64, then float32)
    const double sx = (double) input_.input_w / input_.orig_w, sy = (double) input_.input_h / input_.orig_h;
    std::vector<float> tokens;
    int                n_tok = 0;
    for (const sam_prompt * p : batch) {
        sam_frame_prompt fp;
        for (const sam_point & q : p->points) {
            fp.xy.push_back((float) ((double) q.x * sx));
            fp.xy.push_back((float) ((double) q.y * sy));
            fp.labels.push_back(q.label);
        }
        fp.has_box = p->has_box;
        for (int k = 0; k < 4; ++k) {
            fp.box[k] = (float) ((double) p->box[k] * (k % 2 == 0 ? sx : sy));
        }
        const std::vector<float> t = dec.tokens(fp);
        n_tok                      = dec.n_tokens(fp);
        GGML_ASSERT(t.size() == (size_t) n_tok * P);
        tokens.insert(tokens.end(), t.begin(), t.end());
    }

    graph_ctx      g;
    ggml_context * ctx = g.ctx();
    ggml_tensor *  emb = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, P, (int64_t) G * G);
    ggml_tensor *  tok = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, P, n_tok, B);
    ggml_tensor *  msk = has_mask ? ggml_new_tensor_4d(ctx, GGML_TYPE_F32, L, L, 1, B) : nullptr;
    tname(emb, "image_embeddings_in");
    tname(tok, "tokens");
    ggml_set_input(emb);
    ggml_set_input(tok);
    if (msk) {
        tname(msk, "mask_input");
        ggml_set_input(msk);
    }
    const sam_decoder::outputs out = dec.build(ctx, emb, tok, msk);
    ggml_set_output(out.masks);
    ggml_set_output(out.iou);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, out.masks);
    ggml_build_forward_expand(gf, out.iou);
    backend_.run(gf, [&]() {
        ggml_backend_tensor_set(emb, emb_.data(), 0, emb_.size() * sizeof(float));
        ggml_backend_tensor_set(tok, tokens.data(), 0, tokens.size() * sizeof(float));
        if (msk) {
            for (int b = 0; b < B; ++b) {
                ggml_backend_tensor_set(msk, batch[b]->mask_input.data(), (size_t) b * L * L * sizeof(float),
                                        (size_t) L * L * sizeof(float));
            }
        }
    });
    const std::vector<float> masks = tensor_to_f32(out.masks);  // [B][nm][L*L]
    const std::vector<float> iou   = tensor_to_f32(out.iou);    // [B][nm]

    for (int b = 0; b < B; ++b) {
        const sam_prompt & p = *batch[b];
        sam_result &       r = *results[b];
        // MaskDecoder.forward: multimask -> tokens 1.., else token 0
        const int first = p.multimask ? 1 : 0;
        const int count = p.multimask ? nm - 1 : 1;
        r.n_masks       = count;
        r.width         = input_.orig_w;
        r.height        = input_.orig_h;
        r.low_res       = L;
        r.iou.resize(count);
        r.low_res_logits.resize((size_t) count * L * L);
        r.masks.resize((size_t) count * r.width * r.height);
        for (int m = 0; m < count; ++m) {
            const float * low = &masks[((size_t) b * nm + first + m) * L * L];
            r.iou[m]          = iou[(size_t) b * nm + first + m];
            std::copy(low, low + (size_t) L * L, &r.low_res_logits[(size_t) m * L * L]);
            postprocess(low, L, hp.image_size, input_, mask_threshold(),
                        &r.masks[(size_t) m * r.width * r.height]);
        }
    }
}

std::vector<sam_result> sam_state::predict(const std::vector<sam_prompt> & prompts) {
    if (!has_image()) {
        fail("SAM: no image set (call set_image before predict)");
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
        sam_check_prompt(model_->hparams(), prompts[i], input_.orig_w, input_.orig_h, i);
    }
    std::vector<sam_result> results(prompts.size());
    // prompts of the same shape (points, box, mask) share a graph
    std::map<std::tuple<size_t, bool, bool>, std::vector<size_t>> groups;
    for (size_t i = 0; i < prompts.size(); ++i) {
        groups[{ prompts[i].points.size(), prompts[i].has_box, !prompts[i].mask_input.empty() }].push_back(i);
    }
    for (const auto & kv : groups) {
        const std::vector<size_t> & idx = kv.second;
        for (size_t s = 0; s < idx.size(); s += (size_t) params_.max_batch) {
            std::vector<const sam_prompt *> batch;
            std::vector<sam_result *>       res;
            for (size_t k = s; k < std::min(idx.size(), s + (size_t) params_.max_batch); ++k) {
                batch.push_back(&prompts[idx[k]]);
                res.push_back(&results[idx[k]]);
            }
            run_batch(batch, res);
        }
    }
    return results;
}

float sam_state::mask_threshold() const {
    return std::isnan(params_.mask_threshold) ? model_->hparams().mask_threshold : params_.mask_threshold;
}

sam_result sam_state::predict(const sam_prompt & prompt) { return predict(std::vector<sam_prompt>{ prompt })[0]; }

}  // namespace glm
