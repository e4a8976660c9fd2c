// test-golden-gemma3 <folder>: Gemma 3 through libmtmd (models/mtmd-vision.cpp) and our libllama session with the
// attention tap, against the float32 Hugging Face reference (tests/golden/gemma3 and gemma3-variant, see their
// README.md / cases.json; every size, the question and the layer pattern are read from the folder).
// mtmd letterboxes the image onto the square canvas (black padding) where HF stretches it; the folder has both: the
// plain tensors are HF on the stretched image, the lb.* twins HF on mtmd's canvas. Every stored tensor is read. Per
// case:
//  1. preprocessing: the square token grid whose rectangle is the canvas mapped back through mtmd's letterbox
//     (cases.json mtmd_letterbox.grid_covers_original_px), its cells vs grid_rect_lb / grid_pad_fraction_lb, HF's
//     stretch cells (grid_rect_hf); non-causal image block (token_type_ids); mtmd's markers around it;
//  2. pixels and image embeddings: lb.pixel_values = letterbox_<case>.png; both pixel tensors fed to mtmd give the
//     matching image_features; mtmd's own embeddings vs lb.image_features; vision_features through the projector
//     (avg-pool, RMSNorm, projection with the mmproj's weights) give image_features;
//  3. the reference's embeddings (lb.* and stretch) through our session (F32 KV, swa_full): prompt ids, query rows,
//     logits, attention per layer and head and its image mass, the window flags (= the sliding-window rule) with
//     exactly 0 outside the window, the mean over the global layers (our default maps) and over all layers and their
//     grids, greedy ids, logits, margins, attention, masses, means and grids of every compared step;
//  4. the chain from the image (mtmd's embeddings) and how much the letterbox moves the maps vs HF's stretch.
// Tolerances: k_tol_* below, each with the error measured on this folder (CPU, 2 threads) beside it.
#include "golden-util.h"

#include "common.h"
#include "gguf-loader.h"
#include "image.h"
#include "layout.h"
#include "lmm.h"
#include "models/mtmd-vision.h"
#include "safetensors.h"
#include "vision.h"

#include "ggml-backend.h"
#include "ggml-cpu.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

using namespace glm;
using json = nlohmann::json;

// mtmd's embeddings vs lb.image_features (measured 2.7e-3 abs = 9.6e-4 rel; the README's driver saw 1.3e-3)
static const double k_tol_embd = 6e-3;
// F32 KV, swa_full, the reference's embeddings, worst over the cases and both geometries (measured: logits 2.5e-3,
// attn 1.5e-4, global-layer maps 3.8e-5, all-layer maps 1.5e-5, greedy maps 2.4e-5; the README's driver saw the same
// sizes: ggml's arithmetic, e.g. tanh-GELU, vs HF's). Tolerances about 2x the README's observation, as it suggests.
static const double k_tol_attn = 7e-4, k_tol_mean_global = 1.2e-4, k_tol_mean_all = 3e-5;
// logits relative to the largest reference logit (the error scales with them: public folder 5.8e-4 rel = 2.5e-3 abs
// with logits up to 4.3; the variant, logits up to 49, 1.1e-4 rel = 5.1e-3 abs)
static const double k_tol_logits_rel = 1.2e-3;
static const double k_tol_margin = 5e-3;
// attention summed over the image tokens per layer and head (measured: 2.8e-4)
static const double k_tol_mass = 1e-3;
// the chain: mtmd's embeddings through the LLM vs lb.* (measured: logits 4.6e-3, maps 6.9e-5)
// (variant: logits 6.2e-3, maps 4.4e-4 on its portrait, whose mtmd embeddings are 3.5e-3 off)
static const double k_tol_chain_logits = 2e-2, k_tol_chain_mean = 1e-3;

// the golden's pixel tensors vs the images they claim to be (uint8 / 255, normalised with mean = std = 0.5)
static const double k_tol_pixels = 1e-5;
// the projector re-run here from the golden's vision_features with the mmproj's own weights vs image_features
// (float32 arithmetic in another order: measured 9.5e-7)
static const double k_tol_projector = 1e-4;
// the cells of mtmd's grid (our layout, integer rectangle) vs the golden's grid_rect_lb, in original pixels, and
// their padding fraction (measured: 0.5 px, 0.01)
static const double k_tol_cell_px = 1.5, k_tol_pad_fraction = 0.03;

// A float copy of a tensor of a GGUF file (F32 or F16), in file order.
static std::vector<float> gguf_tensor_f32(const std::string & path, const std::string & name,
                                          std::vector<int64_t> & ne) {
    gguf_loader    gl(path);
    ggml_backend_t cpu = ggml_backend_cpu_init();
    gl.load(cpu);
    ne                  = gl.tensor_ne(name);
    ggml_tensor *     t = gl.get(name, ne);
    const size_t      n = (size_t) ggml_nelements(t);
    std::vector<char> raw(ggml_nbytes(t));
    ggml_backend_tensor_get(t, raw.data(), 0, raw.size());
    std::vector<float> out(n);
    if (t->type == GGML_TYPE_F32) {
        memcpy(out.data(), raw.data(), n * sizeof(float));
    } else if (t->type == GGML_TYPE_F16) {
        ggml_fp16_to_fp32_row((const ggml_fp16_t *) raw.data(), out.data(), (int64_t) n);
    } else {
        fail("%s: %s has type %s, expected F32 or F16", path.c_str(), name.c_str(), ggml_type_name(t->type));
    }
    ggml_backend_free(cpu);
    return out;
}

// [3, S, S] pixel tensor vs an S x S image normalised as Gemma 3's processor does
static double pixels_vs_image(const std::vector<float> & pv, const image_u8 & img) {
    double err = 0;
    for (int c = 0; c < 3; ++c) {
        for (int y = 0; y < img.h; ++y) {
            for (int x = 0; x < img.w; ++x) {
                const double v = (img.at(x, y)[c] / 255.0 - 0.5) / 0.5;
                err            = glm::test::max_err(err, std::fabs(v - pv[((size_t) c * img.h + y) * img.w + x]));
            }
        }
    }
    return err;
}

// The S x S image a [3, S, S] pixel tensor encodes (values back to uint8)
static image_u8 image_from_pixels(const std::vector<float> & pv, int S) {
    image_u8 img;
    img.w = img.h = S;
    img.rgb.resize((size_t) S * S * 3);
    for (int c = 0; c < 3; ++c) {
        for (int y = 0; y < S; ++y) {
            for (int x = 0; x < S; ++x) {
                const double v = (pv[((size_t) c * S + y) * S + x] * 0.5 + 0.5) * 255.0;
                if (!std::isfinite(v)) {
                    fail("pixel_values: a non-finite value at channel %d, (%d, %d)", c, x, y);
                }
                img.at(x, y)[c] = (uint8_t) std::lround(std::min(255.0, std::max(0.0, v)));
            }
        }
    }
    return img;
}

// Mean over the layers `layers` (all when empty) and the heads of [rows, L, H, N] maps
static std::vector<float> mean_over(const std::vector<float> & full, int rows, int L, int H, int N,
                                    const std::vector<int> & layers) {
    std::vector<int> ls = layers;
    if (ls.empty()) {
        for (int l = 0; l < L; ++l) {
            ls.push_back(l);
        }
    }
    std::vector<float> out((size_t) rows * N, 0.0f);
    for (int k = 0; k < rows; ++k) {
        for (int i = 0; i < N; ++i) {
            double acc = 0;
            for (int l : ls) {
                for (int h = 0; h < H; ++h) {
                    acc += full[(((size_t) k * L + l) * H + h) * N + i];
                }
            }
            out[(size_t) k * N + i] = (float) (acc / ((double) ls.size() * H));
        }
    }
    return out;
}

// Sum over the image tokens of [rows, L, H, N] maps: [rows, L, H]
static std::vector<float> image_mass(const std::vector<float> & full, size_t n_img) {
    std::vector<float> out(full.size() / n_img);
    for (size_t r = 0; r < out.size(); ++r) {
        double acc = 0;
        for (size_t i = 0; i < n_img; ++i) {
            acc += full[r * n_img + i];
        }
        out[r] = (float) acc;
    }
    return out;
}

static grid_rect rect_from_json(const json & r) {
    const double x0 = r[0].get<double>(), y0 = r[1].get<double>(), x1 = r[2].get<double>(), y1 = r[3].get<double>();
    return { (int) std::lround(x0), (int) std::lround(y0), (int) std::lround(x1 - x0), (int) std::lround(y1 - y0) };
}

static double max_abs_diff(const std::vector<float> & a, const std::vector<float> & b) {
    return glm::test::max_abs_diff(a, b);
}

int main(int argc, char ** argv) {
    const std::string dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    golden::report    rep;
    log_route_ggml(false);
    try {
        const json             cj = json::parse(std::ifstream(dir + "/cases.json"));
        const safetensors_file st(dir + "/cases.safetensors");
        const json &           gg = cj.at("gguf");
        auto                   file_of = [&](const char * kind) {
            for (const auto & [k, v] : gg.items()) {
                if (v.is_object() && v.contains("file") && (k == kind)) {
                    return dir + "/" + v.at("file").get<std::string>();
                }
            }
            fail("cases.json gguf.%s.file missing", kind);
        };
        const std::string llm_path = file_of("text"), mmproj_path = file_of("mmproj");

        lmm_params lp;
        lp.model     = llm_path;
        lp.n_ctx     = 512;
        lp.n_threads = 2;
        lp.kv_f32    = true;
        lp.tap_dump  = true;
        lmm_model lm(lp);
        const json & gl = cj.at("model").at("global_layers");
        std::vector<int> want_global;
        for (const auto & v : gl) {
            want_global.push_back(v.get<int>());
        }
        rep.check("global (non-sliding) layers = the reference's", lm.global_layers() == want_global,
                  strfmt("%zu of %d", lm.global_layers().size(), lm.n_layer()));
        compute_backend    be({ 2, false });
        mtmd_vision_params mv;
        mv.n_threads = 2;
        mv.use_gpu   = false;
        vision_load_params vlp;
        vlp.text_model = lm.get();
        vlp.mtmd       = &mv;
        auto enc       = vision_encoder_load(mmproj_path, be, vlp);
        printf("vision: %s; llm: %s\n", enc->name().c_str(), lm.desc().c_str());
        lmm_session ls(lm, lp);

        // the golden's template; HF's processor puts "\n\n" around the image, mtmd only its begin/end markers
        std::string  templ = cj.at("template").at("text").get<std::string>();
        const size_t at    = templ.find("<start_of_image>");
        if (at == std::string::npos) {
            fail("cases.json template.text has no <start_of_image>");
        }
        templ.replace(at, strlen("<start_of_image>"), "\n\n<image>\n\n{prompt}");
        const std::string question = cj.at("preset").at("question").get<std::string>();
        const size_t      q        = templ.find(question);
        if (q == std::string::npos) {
            fail("cases.json template.text does not contain preset.question '%s'", question.c_str());
        }
        templ.erase(q, question.size());
        const int soft = cj.at("tokenizer").at("special_ids").at("<image_soft_token>").get<int>();
        // what the window flags and the projector check need, from cases.json and the mmproj
        const int         S      = cj.at("model").at("vision").at("image_size").get<int>();
        const int         window = cj.at("model").at("sliding_window").get<int>();
        std::vector<bool> sliding((size_t) lm.n_layer(), false);
        for (const auto & v : cj.at("model").at("sliding_layers")) {
            sliding.at((size_t) v.get<int>()) = true;
        }
        std::vector<int64_t>     ne_norm, ne_proj;
        const std::vector<float> norm_w = gguf_tensor_f32(mmproj_path, "mm.soft_emb_norm.weight", ne_norm);
        const std::vector<float> proj_w = gguf_tensor_f32(mmproj_path, "mm.input_projection.weight", ne_proj);
        const double             v_eps  = gguf_loader(mmproj_path).get_float("clip.vision.attention.layer_norm_epsilon");
        // HF's projector (avg-pool k x k, Gemma RMSNorm with the converter's 1 + w, x @ W[Dv, Dt]) on vision_features
        auto project = [&](const std::vector<float> & vf, int n_patch_side, int side) {
            const int Dv = (int) ne_proj[1], Dt = (int) ne_proj[0], k = n_patch_side / side;
            if ((int) ne_norm[0] != Dv || vf.size() != (size_t) n_patch_side * n_patch_side * Dv) {
                fail("%s: projector shapes (norm %lld, proj %lld x %lld) do not fit vision_features (%zu values)",
                     mmproj_path.c_str(), (long long) ne_norm[0], (long long) ne_proj[0], (long long) ne_proj[1],
                     vf.size());
            }
            std::vector<float> out((size_t) side * side * Dt);
            std::vector<double> pooled(Dv);
            for (int ty = 0; ty < side; ++ty) {
                for (int tx = 0; tx < side; ++tx) {
                    std::fill(pooled.begin(), pooled.end(), 0.0);
                    for (int y = ty * k; y < (ty + 1) * k; ++y) {
                        for (int x = tx * k; x < (tx + 1) * k; ++x) {
                            for (int d = 0; d < Dv; ++d) {
                                pooled[d] += vf[((size_t) y * n_patch_side + x) * Dv + d] / (double) (k * k);
                            }
                        }
                    }
                    double ss = 0;
                    for (double v : pooled) {
                        ss += v * v;
                    }
                    const double inv = 1.0 / std::sqrt(ss / Dv + v_eps);
                    for (int t = 0; t < Dt; ++t) {
                        double acc = 0;
                        for (int d = 0; d < Dv; ++d) {
                            acc += pooled[d] * inv * norm_w[d] * proj_w[(size_t) d * Dt + t];
                        }
                        out[((size_t) ty * side + tx) * Dt + t] = (float) acc;
                    }
                }
            }
            return out;
        };

        for (const auto & [name, c] : cj.at("cases").items()) {
            printf("--- case %s\n", name.c_str());
            const std::string p   = name + ".";
            const image_u8    img = image_load(dir + "/" + c.at("image").at("file").get<std::string>());

            // 1. preprocessing and layout
            const vision_output vo = enc->encode(img);
            vo.layout.validate("mtmd layout");
            const auto & g  = vo.layout.grids[0];
            const json & tg = cj.at("model").at("vision").at("token_grid");
            rep.check(p + "grid rows x cols", g.rows == tg[0].get<int>() && g.cols == tg[1].get<int>(),
                      strfmt("%dx%d", g.rows, g.cols));
            const grid_rect want = rect_from_json(c.at("mtmd_letterbox").at("grid_covers_original_px"));
            rep.check(p + "grid rectangle = mtmd's letterbox mapped back", g.rect == want,
                      strfmt("(%d, %d, %d x %d) vs (%d, %d, %d x %d)", g.rect.x, g.rect.y, g.rect.w, g.rect.h, want.x,
                             want.y, want.w, want.h));
            rep.check(p + "non-causal image block, linear positions",
                      vo.decode.non_causal && vo.decode.mrope_pos.empty() && vo.decode.n_pos == vo.n_tokens);

            // the golden's geometry: mtmd's cells (our layout) in original pixels, clipped to the image, and the part
            // of each that is padding; HF's stretch cells from the image size
            {
                const std::vector<float> want_lb = st.get(p + "grid_rect_lb").to_f32();
                const std::vector<float> want_pad = st.get(p + "grid_pad_fraction_lb").to_f32();
                const std::vector<float> want_hf = st.get(p + "grid_rect_hf").to_f32();
                std::vector<float>       got_lb, got_pad, got_hf;
                for (int r = 0; r < g.rows; ++r) {
                    for (int cc = 0; cc < g.cols; ++cc) {
                        const double x0 = g.rect.x + (double) cc * g.rect.w / g.cols;
                        const double y0 = g.rect.y + (double) r * g.rect.h / g.rows;
                        const double x1 = g.rect.x + (double) (cc + 1) * g.rect.w / g.cols;
                        const double y1 = g.rect.y + (double) (r + 1) * g.rect.h / g.rows;
                        const double cx0 = std::clamp(x0, 0.0, (double) img.w), cx1 = std::clamp(x1, 0.0, (double) img.w);
                        const double cy0 = std::clamp(y0, 0.0, (double) img.h), cy1 = std::clamp(y1, 0.0, (double) img.h);
                        got_lb.insert(got_lb.end(), { (float) cx0, (float) cy0, (float) cx1, (float) cy1 });
                        got_pad.push_back((float) (1.0 - (cx1 - cx0) * (cy1 - cy0) / ((x1 - x0) * (y1 - y0))));
                        got_hf.insert(got_hf.end(), { (float) cc * img.w / g.cols, (float) r * img.h / g.rows,
                                                      (float) (cc + 1) * img.w / g.cols,
                                                      (float) (r + 1) * img.h / g.rows });
                    }
                }
                rep.compare(p + "grid_rect_lb (our cells, original px)", got_lb, want_lb, k_tol_cell_px);
                rep.compare(p + "grid_pad_fraction_lb (our cells)", got_pad, want_pad, k_tol_pad_fraction);
                rep.compare(p + "grid_rect_hf (the stretch's cells)", got_hf, want_hf, 1e-3);
            }
            // the golden's pixels: lb.pixel_values is letterbox_<case>.png normalised; both pixel tensors, fed to
            // mtmd as S x S images (copied as they are), give the reference's image features
            {
                const std::vector<float> lbpv = st.get(p + "lb.pixel_values").to_f32();
                const std::vector<float> pv   = st.get(p + "pixel_values").to_f32();
                const image_u8 lbi = image_load(dir + "/" + c.at("mtmd_letterbox").at("file").get<std::string>());
                if (lbi.w != S || lbi.h != S || lbpv.size() != (size_t) 3 * S * S || pv.size() != lbpv.size()) {
                    fail("%s: %s letterbox png / pixel_values are not %dx%d", dir.c_str(), name.c_str(), S, S);
                }
                const double e = pixels_vs_image(lbpv, lbi);
                rep.check(p + "lb.pixel_values = letterbox png normalised", e <= k_tol_pixels, strfmt("%.3g", e));
                for (const char * variant : { "lb.", "" }) {
                    const std::vector<float> & px = *variant ? lbpv : pv;
                    const vision_output        vp = enc->encode(image_from_pixels(px, S));
                    rep.compare(p + variant + "pixel_values through mtmd vs " + variant + "image_features", vp.embd,
                                st.get(p + variant + "image_features").to_f32(), k_tol_embd);
                    // the projector: vision_features -> image_features with the mmproj's weights
                    const st_tensor & vft  = st.get(p + variant + "vision_features");
                    const int         nps  = (int) std::lround(std::sqrt((double) vft.shape[0]));
                    rep.compare(p + variant + "vision_features -> projector (mmproj weights) vs image_features",
                                project(vft.to_f32(), nps, g.rows), st.get(p + variant + "image_features").to_f32(),
                                k_tol_projector);
                }
            }

            // 2. embeddings: mtmd's, HF's on the letterbox canvas, HF's on the stretched image
            const std::vector<float> lb_embd = st.get(p + "lb.image_features").to_f32();
            const std::vector<float> hf_embd = st.get(p + "image_features").to_f32();
            const int                n_img   = (int) st.get(p + "image_features").shape[0];
            rep.compare(p + "image embeddings (mtmd vs HF on mtmd's canvas)", vo.embd, lb_embd, k_tol_embd);
            printf("info %s: mtmd embeddings vs HF's stretched image: max abs %.3g (what the letterbox changes)\n",
                   name.c_str(), max_abs_diff(vo.embd, hf_embd));

            // 3. the reference's embeddings through our session
            const std::vector<int32_t> ids  = st.get(p + "prompt_ids").to_i32();
            const std::vector<int32_t> cont = st.get(p + "continuation_ids").to_i32();
            const std::vector<int32_t> ipos = st.get(p + "image_positions").to_i32();
            gen_params gp;
            // the golden's text ids around mtmd's <start_of_image> [image] <end_of_image> (its GGUF has no
            // tokenizer.ggml.bos_token_id, so libllama's SentencePiece default BOS 1 would replace Gemma's 2: the
            // template's tokenization is checked below apart from that first id)
            gp.prompt_pre_ids.assign(ids.begin(), ids.begin() + ipos.front() - (int) vo.decode.text_before.size());
            gp.prompt_post_ids.assign(ids.begin() + ipos.back() + 1 + (int) vo.decode.text_after.size(), ids.end());
            gp.templ         = templ;
            gp.prompt        = question;
            gp.parse_special = true;
            gp.forced        = cont;
            gp.keep_logits   = true;
            for (const char * variant : { "lb.", "" }) {
                const std::string   v    = p + variant;
                const std::string   what = std::string(*variant ? "letterbox" : "stretch") + " embeddings: ";
                const std::vector<float> & e = *variant ? lb_embd : hf_embd;
                const gen_result r = ls.generate(e.data(), n_img, gp, &vo.decode);
                if (!*variant) {
                    gen_params gt = gp;
                    gt.prompt_pre_ids.clear();
                    gt.prompt_post_ids.clear();
                    gt.n_predict = 1;
                    gt.forced.clear();
                    const gen_result rt = ls.generate(e.data(), n_img, gt, &vo.decode);
                    std::vector<int32_t> tt = rt.prompt_pre;
                    tt.insert(tt.end(), (size_t) n_img, soft);
                    tt.insert(tt.end(), rt.prompt_post.begin(), rt.prompt_post.end());
                    rep.check(p + "template tokenized = the reference's ids after BOS",
                              tt.size() == ids.size() && std::equal(tt.begin() + 1, tt.end(), ids.begin() + 1),
                              strfmt("%zu ids vs %zu", tt.size(), ids.size()));
                    std::vector<int32_t> seq = r.prompt_pre;
                    seq.insert(seq.end(), (size_t) n_img, soft);
                    seq.insert(seq.end(), r.prompt_post.begin(), r.prompt_post.end());
                    std::string diff;
                    for (size_t i = 0; i < std::max(seq.size(), ids.size()); ++i) {
                        const int a = i < seq.size() ? seq[i] : -1, b = i < ids.size() ? ids[i] : -1;
                        if (a != b) {
                            diff += strfmt(" [%zu] %d vs %d", i, a, b);
                        }
                    }
                    rep.check(p + "prompt ids (template + mtmd's markers)", seq == ids,
                              strfmt("%zu ids vs %zu;%s", seq.size(), ids.size(), diff.c_str()));
                    rep.check(p + "image cells", r.image_start == st.get(p + "image_positions").to_i32()[0],
                              std::to_string(r.image_start));
                    std::vector<int32_t> types(ids.size(), 0), qrows;
                    for (int32_t ip : ipos) {
                        types.at((size_t) ip) = 1;
                    }
                    rep.check(p + "token_type_ids: 1 on the image tokens (the non-causal block), 0 elsewhere",
                              types == st.get(p + "token_type_ids").to_i32() && vo.decode.non_causal);
                    for (int k = 0; k < (int) cont.size(); ++k) {
                        qrows.push_back(r.prompt_len - 1 + k);
                    }
                    rep.check(p + "query rows", qrows == st.get(p + "query_positions").to_i32());
                }
                rep.compare(p + what + "logits", r.logits, st.get(v + "logits").to_f32(), k_tol_logits_rel, true);
                rep.compare(p + what + "attn [K, L, H, N]", r.maps.full, st.get(v + "attn").to_f32(), k_tol_attn);
                rep.compare(p + what + "maps (global layers, default)", r.maps.mean,
                            st.get(v + "attn_mean_global").to_f32(), k_tol_mean_global);
                rep.compare(p + what + "map grid (global layers)",
                            layout_grid_maps(vo.layout, 0, r.maps.mean, r.maps.n_rows),
                            st.get(v + "map_global").to_f32(), k_tol_mean_global);
                gen_params ga     = gp;
                ga.map_all_layers = true;
                const gen_result ra = ls.generate(e.data(), n_img, ga, &vo.decode);
                rep.compare(p + what + "maps (all layers)", ra.maps.mean, st.get(v + "attn_mean_all").to_f32(),
                            k_tol_mean_all);
                rep.compare(p + what + "map grid (all layers)", layout_grid_maps(vo.layout, 0, ra.maps.mean, ra.maps.n_rows),
                            st.get(v + "map_all").to_f32(), k_tol_mean_all);
                rep.compare(p + what + "attn_img_mass [K, L, H]", image_mass(r.maps.full, (size_t) n_img),
                            st.get(v + "attn_img_mass").to_f32(), k_tol_mass);
                // sliding-window layers: the flags are the window rule on the positions, and nothing outside it
                const std::vector<float> inw = st.get(v + "in_window").to_f32();  // [K, L, N]
                const int L = lm.n_layer(), H = lm.n_head();
                auto flags = [&](const std::vector<int> & qs) {
                    std::vector<float> f;
                    for (int qq : qs) {
                        for (int l = 0; l < L; ++l) {
                            for (int32_t ip : ipos) {
                                f.push_back(!sliding[(size_t) l] || qq - ip < window ? 1.0f : 0.0f);
                            }
                        }
                    }
                    return f;
                };
                std::vector<int> tf_rows, gr_rows;
                for (int k = 0; k < r.maps.n_rows; ++k) {
                    tf_rows.push_back(r.prompt_len - 1 + k);
                }
                rep.check(p + what + "in_window = the sliding-window rule", flags(tf_rows) == inw);
                double    outside = 0;
                for (int k = 0; k < r.maps.n_rows; ++k) {
                    for (int l = 0; l < L; ++l) {
                        for (int h = 0; h < H; ++h) {
                            for (int i = 0; i < n_img; ++i) {
                                if (inw[((size_t) k * L + l) * n_img + i] == 0.0f) {
                                    outside = glm::test::max_err(
                                        outside, std::fabs(r.maps.full[(((size_t) k * L + l) * H + h) * n_img + i]));
                                }
                            }
                        }
                    }
                }
                rep.check(p + what + "attention outside the sliding window is 0", outside == 0.0,
                          strfmt("%.3g", outside));
                // greedy
                const std::vector<int32_t> want_g = st.get(v + "greedy_ids").to_i32();
                const std::vector<float>   want_m = st.get(v + "greedy_top2_margin").to_f32();
                gen_params                 gg2    = gp;
                gg2.forced.clear();
                gg2.n_predict       = (int) want_g.size();
                const gen_result g2 = ls.generate(e.data(), n_img, gg2, &vo.decode);
                const std::vector<int32_t> got_g = g2.ids();
                bool         ok = true;
                const size_t n  = golden::greedy_prefix(got_g, want_g, want_m, 4 * k_tol_margin, &ok);
                rep.check(p + what + strfmt("greedy ids (first %zu steps)", n), ok && n > 0);
                // every step of the reference's greedy run, replayed by teacher-forcing its ids (row k = the step
                // that predicts greedy_ids[k] from the prompt and greedy_ids[0..k)), so that near-ties, which stop the
                // id comparison above, do not shorten the rest: logits, their top-2 gap, attention per layer and head,
                // its image mass, the global and all-layer means and grids, the window flags, nothing outside
                gen_params gf   = gp;
                gf.forced       = want_g;
                const gen_result g2r = ls.generate(e.data(), n_img, gf, &vo.decode);
                const size_t     ns  = want_g.size();
                auto head = [&](const std::vector<float> & a, size_t per_step) {
                    return std::vector<float>(a.begin(), a.begin() + std::min(a.size(), ns * per_step));
                };
                rep.compare(p + what + "greedy maps (global layers)", g2r.maps.mean,
                            st.get(v + "greedy_attn_mean_global").to_f32(), k_tol_mean_global);
                const size_t V = want_g.empty() ? 0 : g2r.logits.size() / want_g.size();
                rep.compare(p + what + "greedy_logits", head(g2r.logits, V),
                            head(st.get(v + "greedy_logits").to_f32(), V), k_tol_logits_rel, true);
                std::vector<float> margin;
                for (size_t k = 0; V >= 2 && k < ns; ++k) {
                    std::vector<float> row(g2r.logits.begin() + k * V, g2r.logits.begin() + (k + 1) * V);
                    std::partial_sort(row.begin(), row.begin() + 2, row.end(), std::greater<float>());
                    margin.push_back(row[0] - row[1]);
                }
                rep.compare(p + what + "greedy_top2_margin", margin, head(want_m, 1), k_tol_margin);
                const size_t LHN = (size_t) L * H * n_img;
                rep.compare(p + what + "greedy_attn [S, L, H, N]", head(g2r.maps.full, LHN),
                            head(st.get(v + "greedy_attn").to_f32(), LHN), k_tol_attn);
                rep.compare(p + what + "greedy_attn_img_mass", head(image_mass(g2r.maps.full, (size_t) n_img), (size_t) L * H),
                            head(st.get(v + "greedy_attn_img_mass").to_f32(), (size_t) L * H), k_tol_mass);
                const std::vector<float> g_all  = mean_over(g2r.maps.full, g2r.maps.n_rows, L, H, n_img, {});
                rep.compare(p + what + "greedy_attn_mean_all", head(g_all, n_img),
                            head(st.get(v + "greedy_attn_mean_all").to_f32(), n_img), k_tol_mean_all);
                rep.compare(p + what + "greedy_map_all (grid)",
                            head(layout_grid_maps(vo.layout, 0, g_all, g2r.maps.n_rows), n_img),
                            head(st.get(v + "greedy_map_all").to_f32(), n_img), k_tol_mean_all);
                rep.compare(p + what + "greedy_map_global (grid)",
                            head(layout_grid_maps(vo.layout, 0, g2r.maps.mean, g2r.maps.n_rows), n_img),
                            head(st.get(v + "greedy_map_global").to_f32(), n_img), k_tol_mean_global);
                for (size_t k = 0; k < ns; ++k) {
                    gr_rows.push_back(r.prompt_len - 1 + (int) k);
                }
                const std::vector<float> ginw = st.get(v + "greedy_in_window").to_f32();
                rep.check(p + what + "greedy_in_window = the sliding-window rule",
                          flags(gr_rows) == head(ginw, (size_t) L * n_img));
                double g_out = 0;
                for (size_t k = 0; k < ns; ++k) {
                    for (int l = 0; l < L; ++l) {
                        for (int h = 0; h < H; ++h) {
                            for (int i = 0; i < n_img; ++i) {
                                if (ginw[((size_t) k * L + l) * n_img + i] == 0.0f) {
                                    g_out = glm::test::max_err(
                                        g_out, std::fabs(g2r.maps.full[(((size_t) k * L + l) * H + h) * n_img + i]));
                                }
                            }
                        }
                    }
                }
                rep.check(p + what + "greedy: attention outside the sliding window is 0", g_out == 0.0,
                          strfmt("%.3g", g_out));
            }

            // 4. the chain and what the letterbox does to the maps
            const gen_result rc = ls.generate(vo.embd.data(), n_img, gp, &vo.decode);
            rep.compare(p + "chain (mtmd embeddings): logits vs lb", rc.logits, st.get(p + "lb.logits").to_f32(),
                        k_tol_chain_logits);
            rep.compare(p + "chain (mtmd embeddings): maps vs lb", rc.maps.mean,
                        st.get(p + "lb.attn_mean_global").to_f32(), k_tol_chain_mean);
            printf("info %s: letterbox vs stretch (HF both): global maps differ by max abs %.3g (map max %.3g), "
                   "logits by %.3g\n",
                   name.c_str(),
                   max_abs_diff(st.get(p + "lb.attn_mean_global").to_f32(), st.get(p + "attn_mean_global").to_f32()),
                   glm::test::max_abs(st.get(p + "attn_mean_global").to_f32()),
                   max_abs_diff(st.get(p + "lb.logits").to_f32(), st.get(p + "logits").to_f32()));
        }
    } catch (const std::exception & e) {
        rep.check("exception", false, e.what());
    }
    return rep.finish("test-golden-gemma3");
}
