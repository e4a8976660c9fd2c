// test-golden-qwen25vl <folder>: Qwen2.5-VL through libmtmd (models/mtmd-vision.cpp) and our libllama session with
// the attention tap, against the float32 Hugging Face reference (tests/golden/qwen25vl, see its README.md and
// cases.json; also qwen25vl-variant, and qwen3vl: Qwen3-VL in the same format, whose vision_tokens rows carry the
// deepstack features after the merger output, the layout mtmd gives the LLM). Per case:
//  1. preprocessing: the grid mtmd picks (merged ny x nx = image tokens) is the reference's where cases.json says
//     llama.cpp agrees with HF, and llama.cpp's own (re-typed in the generator) where it does not (the rounding
//     trap); the grid's rectangle is the canvas mapped back through mtmd's letterbox (cases.json's
//     content_rect_xyxy, computed independently by the generator);
//  2. image embeddings: mtmd's vision tokens vs the reference's (on the pixel-agreeing cases; on the others the
//     already-aligned resized_<case>.png, which mtmd copies as is);
//  3. with the reference's vision tokens fed to libllama (F32 KV): prompt ids (our template with mtmd's
//     <|vision_start|>/<|vision_end|> text), image cells and M-RoPE positions (the text after the image continues at
//     start + max(h, w)), teacher-forced logits, attention per layer and head, its mean, the map on the grid, greedy
//     ids and each greedy step's mean map;
//  4. the chain from the image (mtmd's embeddings), F32 and F16 KV cache.
// Tolerances: k_tol_* below, each with the error measured on this folder (CPU, 2 threads) beside it.
#include "golden-util.h"

#include "common.h"
#include "image.h"
#include "layout.h"
#include "lmm.h"
#include "models/mtmd-vision.h"
#include "pipeline.h"
#include "safetensors.h"
#include "vision.h"

#include "llama.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>

using namespace glm;
using json = nlohmann::json;

// mtmd's vision tokens vs the reference, max abs (measured: landscape 4.6e-3, small 9.3e-3, portrait fed its
// resized png 1.9e-2 = 0.8% of the largest value; the folder's README saw 1.25e-3 / 2.0e-3 once with another driver:
// the gap is mtmd's ViT arithmetic vs HF's (flash attention on or off changes it by < 10%), cause not isolated)
static const double k_tol_vision = 3e-2;
// pixel_values vs resized_<case>.png normalised here (float32 rounding of HF's rescale and normalise: measured 2.8e-7)
static const double k_tol_pixels = 1e-5;
// F32 KV, reference vision tokens (measured, worst case: logits 5.3e-5, attn 1.5e-5, attn_mean 1.0e-6, greedy step
// maps 1.1e-6)
static const double k_tol_logits = 5e-4, k_tol_attn = 1e-4, k_tol_attn_mean = 2e-5;
// greedy_top2_margin, a difference of two logits; greedy ids are compared while the reference margin exceeds 4x it
static const double k_tol_margin = 2e-3;
// the chain from the image (mtmd's embeddings), F32 KV: the vision tokens' error carried through the LLM (measured:
// logits 1.3e-2 / 3.8e-2 / 2.4e-2, attn_mean 6.4e-4 / 1.6e-3 / 1.1e-3 on landscape / portrait / small)
static const double k_tol_chain_logits = 8e-2, k_tol_chain_attn_mean = 4e-3;
// F16 KV cache (llama.cpp's default), reference vision tokens, n_batch 8 (measured: logits 1.4e-2, attn_mean 2.5e-4)
static const double k_tol_f16_logits = 5e-2, k_tol_f16_attn_mean = 2e-3;

// [L, H, Q, N] (reference) -> [Q, L, H, N] (the tap's dump)
static std::vector<float> lhqn_to_qlhn(const std::vector<float> & a, int L, int H, int Q, int N) {
    std::vector<float> out(a.size());
    for (int l = 0; l < L; ++l) {
        for (int h = 0; h < H; ++h) {
            for (int q = 0; q < Q; ++q) {
                std::copy_n(&a[(((size_t) l * H + h) * Q + q) * N], N, &out[(((size_t) q * L + l) * H + h) * N]);
            }
        }
    }
    return out;
}

// The rectangle of the original image the whole canvas covers, from the generator's letterbox record.
static grid_rect rect_from_letterbox(const json & lb, const json & resized_wh, int W, int H) {
    const json & c  = lb.at("content_rect_xyxy");
    const double cw = c[2].get<double>() - c[0].get<double>(), ch = c[3].get<double>() - c[1].get<double>();
    const double sx = W / cw, sy = H / ch;
    grid_rect    r;
    r.x = (int) std::lround(-c[0].get<double>() * sx);
    r.y = (int) std::lround(-c[1].get<double>() * sy);
    r.w = (int) std::lround(resized_wh[0].get<double>() * sx);
    r.h = (int) std::lround(resized_wh[1].get<double>() * sy);
    return r;
}

static std::string rect_str(const grid_rect & r) {
    return strfmt("(%d, %d, %d x %d)", r.x, r.y, r.w, r.h);
}

int main(int argc, char ** argv) {
    const std::string dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    golden::report    rep;
    log_route_ggml(false);
    try {
        const json             cj = json::parse(std::ifstream(dir + "/cases.json"));
        const safetensors_file st(dir + "/cases.safetensors");
        const std::string      llm_path    = dir + "/" + cj.at("gguf").at("text").at("file").get<std::string>();
        const std::string      mmproj_path = dir + "/" + cj.at("gguf").at("mmproj").at("file").get<std::string>();

        lmm_params lp;
        lp.model     = llm_path;
        lp.n_ctx     = 1024;
        lp.n_threads = 2;
        lp.kv_f32    = true;
        lp.tap_dump  = true;
        lmm_model lm(lp);
        rep.check("projector needs the LLM first (libmtmd family)", vision_needs_text_model(mmproj_path));
        compute_backend    be({ 2, false });
        mtmd_vision_params mv;
        mv.n_threads = 2;
        mv.use_gpu   = false;
        vision_load_params vlp;
        vlp.text_model = lm.get();
        vlp.mtmd       = &mv;
        auto enc       = vision_encoder_load(mmproj_path, be, vlp);
        rep.check("embedding width = the LLM's", enc->n_embd() == lm.n_embd_inp(), std::to_string(enc->n_embd()));
        printf("vision: %s; llm: %s\n", enc->name().c_str(), lm.desc().c_str());

        lmm_session ls(lm, lp);
        lmm_params  lp16 = lp;
        lp16.kv_f32      = false;
        lp16.tap_dump    = false;
        lp16.n_batch     = 8;
        lmm_session ls16(lm, lp16);

        // the golden's chat template around the image (its <|vision_start|>/<|vision_end|> come from mtmd)
        const json &      pr    = cj.at("prompt");
        std::string       templ = pr.at("template").get<std::string>();
        auto              subst = [&](const std::string & key, const std::string & val) {
            const size_t at = templ.find(key);
            if (at == std::string::npos) {
                fail("cases.json prompt.template has no %s", key.c_str());
            }
            templ.replace(at, key.size(), val);
        };
        subst("{sys}", pr.at("system").get<std::string>());
        subst("<|vision_start|>{pads}<|vision_end|>", "<image>");
        subst("{q}", "{prompt}");
        const int image_pad = cj.at("tokenizer").at("special_ids").at("<|image_pad|>").get<int>();

        for (const auto & [name, c] : cj.at("cases").items()) {
            printf("--- case %s\n", name.c_str());
            const std::string p     = name + ".";
            const image_u8    img   = image_load(dir + "/" + c.at("image").get<std::string>());
            const json &      lc    = c.at("llama_cpp_mtmd");
            const bool        agree = lc.at("agrees_with_hf").get<bool>();
            const bool        same_px = lc.at("pixels_agree_with_hf").get<bool>();

            // 1. preprocessing: grid and rectangle of what mtmd encodes from the original image
            const vision_output vo = enc->encode(img);
            vo.layout.validate("mtmd layout");
            const auto & g  = vo.layout.grids[0];
            const json & gh = lc.at("merged_grid_hw");
            rep.check(p + "grid = llama.cpp's smart_resize (rows x cols)",
                      g.rows == gh[0].get<int>() && g.cols == gh[1].get<int>() && vo.n_tokens == g.rows * g.cols,
                      strfmt("%dx%d, %d tokens; llama.cpp %dx%d", g.rows, g.cols, vo.n_tokens, gh[0].get<int>(),
                             gh[1].get<int>()));
            const json & hh = c.at("hf").at("merged_grid_hw");
            rep.check(p + std::string(agree ? "grid = the reference's" : "grid differs from the reference's (known)"),
                      agree == (g.rows == hh[0].get<int>() && g.cols == hh[1].get<int>()),
                      strfmt("HF %dx%d", hh[0].get<int>(), hh[1].get<int>()));
            const grid_rect want_rect = rect_from_letterbox(lc.at("letterbox"), lc.at("resized_wh"), img.w, img.h);
            rep.check(p + "grid rectangle = mtmd's letterbox mapped back", g.rect == want_rect,
                      rect_str(g.rect) + " vs " + rect_str(want_rect));
            rep.check(p + "M-RoPE positions: n_pos = max(rows, cols)",
                      vo.decode.n_pos == std::max(g.rows, g.cols) && (int) vo.decode.mrope_pos.size() == 4 * vo.n_tokens,
                      std::to_string(vo.decode.n_pos));

            // the encode whose grid is the reference's: the image itself, or the reference's resized image
            const vision_output vr = agree && same_px ? vo
                                                      : enc->encode(image_load(dir + "/" +
                                                                               c.at("resized_image").get<std::string>()));
            const st_tensor &   vt = st.get(p + "vision_tokens");
            const int           n_img = (int) vt.shape[0];
            rep.check(p + "reference grid from " + (agree && same_px ? "the image" : "resized_" + name + ".png"),
                      vr.n_tokens == n_img && vr.layout.grids[0].rows == hh[0].get<int>(),
                      strfmt("%d tokens", vr.n_tokens));
            // the reference's pixel_values are resized_<case>.png (the aligned image mtmd copies as is when fed it)
            // normalised and cut into Qwen's rows: so where the vision tokens are compared on that png, both sides saw
            // the same pixels. Row order (t, h/m, w/m, m, m), row = (C, T, p, p), the image repeated to T frames.
            {
                const image_u8 rz   = image_load(dir + "/" + c.at("resized_image").get<std::string>());
                const json &   vis  = cj.at("model").at("vision");
                const json &   proc = cj.at("processor");
                const int      ps = vis.at("patch").get<int>(), m = vis.at("spatial_merge").get<int>();
                const int      tp = vis.at("temporal_patch").get<int>();
                const st_tensor & pvt = st.get(p + "pixel_values");
                const std::vector<float> pv = pvt.to_f32();
                const int gh = rz.h / ps, gw = rz.w / ps, row = 3 * tp * ps * ps;
                if ((int) pvt.shape.size() != 2 || (int) pvt.shape[0] != gh * gw || (int) pvt.shape[1] != row) {
                    fail("%s: %spixel_values shape does not fit resized_%s.png (%dx%d) and patch %d", dir.c_str(),
                         p.c_str(), name.c_str(), rz.w, rz.h, ps);
                }
                double err = 0;
                size_t r   = 0;
                for (int by = 0; by < gh / m; ++by) {
                    for (int bx = 0; bx < gw / m; ++bx) {
                        for (int iy = 0; iy < m; ++iy) {
                            for (int ix = 0; ix < m; ++ix, ++r) {
                                size_t k = 0;
                                for (int ch = 0; ch < 3; ++ch) {
                                    const double mean = proc.at("image_mean")[ch].get<double>();
                                    const double sd   = proc.at("image_std")[ch].get<double>();
                                    for (int t = 0; t < tp; ++t) {
                                        for (int y = 0; y < ps; ++y) {
                                            for (int x = 0; x < ps; ++x, ++k) {
                                                const int px = (bx * m + ix) * ps + x, py = (by * m + iy) * ps + y;
                                                const double v = (rz.at(px, py)[ch] / 255.0 - mean) / sd;
                                                err = glm::test::max_err(err, std::fabs(v - pv[r * row + k]));
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                rep.check(p + "pixel_values = resized png normalised, in Qwen's row order", err <= k_tol_pixels,
                          strfmt("max abs %.3g", err));
            }
            // 2. image embeddings
            const std::vector<float> ref_embd = vt.to_f32();
            rep.compare(p + "vision_tokens (mtmd vs reference)", vr.embd, ref_embd, k_tol_vision);

            // 3. the reference's vision tokens through our session
            const std::vector<int32_t> ids        = st.get(p + "input_ids").to_i32();
            const int                  prompt_len = st.get(p + "prompt_len").to_i32()[0];
            const std::vector<int32_t> cont(ids.begin() + prompt_len, ids.end());
            gen_params                 gp;
            gp.templ         = templ;
            gp.prompt        = pr.at("question").get<std::string>();
            gp.parse_special = true;
            gp.forced        = cont;
            gp.keep_logits   = true;
            const gen_result r = ls.generate(ref_embd.data(), n_img, gp, &vr.decode);
            std::vector<int32_t> seq = r.prompt_pre;
            seq.insert(seq.end(), (size_t) n_img, image_pad);
            seq.insert(seq.end(), r.prompt_post.begin(), r.prompt_post.end());
            rep.check(p + "prompt ids (template + mtmd's markers)",
                      seq == std::vector<int32_t>(ids.begin(), ids.begin() + prompt_len),
                      strfmt("%zu ids vs %d", seq.size(), prompt_len));
            const json & sq = c.at("sequence");
            rep.check(p + "image cells start at the first image token",
                      r.image_start == sq.at("image_token_first").get<int>(), std::to_string(r.image_start));
            rep.check(p + "text after the image at start + max(h, w)",
                      r.pos_after_image == sq.at("first_text_position_after_image").get<int>(),
                      std::to_string(r.pos_after_image));
            // the M-RoPE position ids we decoded (text: p in every section; image: the block start + (t, row, col)
            // from mtmd; the text after the image and the continuation from pos_after_image on) vs get_rope_index's
            {
                const int          T = (int) ids.size();
                std::vector<int32_t> pos((size_t) 3 * T);
                int                  tok = 0;
                auto                 put = [&](int t, int h, int w) {
                    pos[(size_t) tok] = t;
                    pos[(size_t) T + tok] = h;
                    pos[(size_t) 2 * T + tok] = w;
                    ++tok;
                };
                for (int i = 0; i < r.image_start; ++i) {
                    put(i, i, i);
                }
                for (int k = 0; k < n_img; ++k) {
                    put(r.image_pos + vr.decode.mrope_pos[(size_t) k], r.image_pos + vr.decode.mrope_pos[(size_t) n_img + k],
                        r.image_pos + vr.decode.mrope_pos[(size_t) 2 * n_img + k]);
                }
                for (int j = 0; tok < T; ++j) {
                    put(r.pos_after_image + j, r.pos_after_image + j, r.pos_after_image + j);
                }
                rep.check(p + "M-RoPE position ids (3 x T) = get_rope_index's", pos == st.get(p + "position_ids").to_i32());
                const int max_pos = *std::max_element(pos.begin(), pos.end());
                rep.check(p + "rope_delta", max_pos + 1 - T == st.get(p + "rope_delta").to_i32()[0],
                          std::to_string(max_pos + 1 - T));
                std::vector<int32_t> img_pos, qpos;
                for (int k = 0; k < n_img; ++k) {
                    img_pos.push_back(r.image_start + k);
                }
                for (int k = 0; k < (int) cont.size(); ++k) {
                    qpos.push_back(r.prompt_len - 1 + k);
                }
                rep.check(p + "image token indices", img_pos == st.get(p + "image_positions").to_i32());
                rep.check(p + "query rows", qpos == st.get(p + "query_positions").to_i32());
                const auto & rg    = vr.layout.grids[0];
                const json & vis   = cj.at("model").at("vision");
                const int    merge = vis.at("spatial_merge").get<int>(), cell = merge * vis.at("patch").get<int>();
                rep.check(p + "grid_thw (t, rows, cols in patches)",
                          st.get(p + "image_grid_thw").to_i32() ==
                              std::vector<int32_t>{ 1, merge * rg.rows, merge * rg.cols });
                rep.check(p + "resized size = the grid's canvas (h, w)",
                          st.get(p + "resized_hw").to_i32() == std::vector<int32_t>{ cell * rg.rows, cell * rg.cols });
            }
            rep.compare(p + "logits (teacher forced)", r.logits, st.get(p + "logits").to_f32(), k_tol_logits);
            const st_tensor & at = st.get(p + "attn");
            const int L = (int) at.shape[0], H = (int) at.shape[1], Q = (int) at.shape[2];
            rep.check(p + "tap shape", r.maps.n_layer == L && r.maps.n_head == H && r.maps.n_rows == Q &&
                                           r.maps.n_img == n_img);
            rep.compare(p + "attn [Q, L, H, N]", r.maps.full, lhqn_to_qlhn(at.to_f32(), L, H, Q, n_img), k_tol_attn);
            rep.compare(p + "attn_mean", r.maps.mean, st.get(p + "attn_mean").to_f32(), k_tol_attn_mean);
            rep.compare(p + "attn_map (grid of the layout)", layout_grid_maps(vr.layout, 0, r.maps.mean, r.maps.n_rows),
                        st.get(p + "attn_map").to_f32(), k_tol_attn_mean);

            // greedy: ids while the reference's top-2 margin is clear of our error, and each step's mean map
            const std::vector<int32_t> want_g = st.get(p + "greedy_ids").to_i32();
            const std::vector<float>   want_m = st.get(p + "greedy_top2_margin").to_f32();
            gen_params                 gg     = gp;
            gg.forced.clear();
            gg.n_predict = (int) want_g.size();
            const gen_result g2 = ls.generate(ref_embd.data(), n_img, gg, &vr.decode);
            const std::vector<int32_t> got_g = g2.ids();
            bool         same  = true;
            const size_t n_cmp = golden::greedy_prefix(got_g, want_g, want_m, 4 * k_tol_margin, &same);
            rep.check(p + strfmt("greedy ids (first %zu steps)", n_cmp), same && n_cmp > 0);
            // the gap between the two best logits at each compared step
            std::vector<float> margin;
            const size_t       n_vocab = g2.tokens.empty() ? 0 : g2.logits.size() / g2.tokens.size();
            for (size_t k = 0; n_vocab >= 2 && k < n_cmp; ++k) {
                std::vector<float> row(g2.logits.begin() + k * n_vocab, g2.logits.begin() + (k + 1) * n_vocab);
                std::partial_sort(row.begin(), row.begin() + 2, row.end(), std::greater<float>());
                margin.push_back(row[0] - row[1]);
            }
            rep.compare(p + strfmt("greedy_top2_margin (first %zu steps)", n_cmp), margin,
                        std::vector<float>(want_m.begin(), want_m.begin() + n_cmp), k_tol_margin);
            const std::vector<float> gm = st.get(p + "greedy_attn_mean").to_f32();
            rep.compare(p + strfmt("greedy_attn_mean (first %zu steps)", n_cmp),
                        std::vector<float>(g2.maps.mean.begin(), g2.maps.mean.begin() + n_cmp * n_img),
                        std::vector<float>(gm.begin(), gm.begin() + n_cmp * n_img), k_tol_attn_mean);

            // 4. the chain: mtmd's own embeddings; the F16 cache
            const gen_result rc = ls.generate(vr.embd.data(), n_img, gp, &vr.decode);
            rep.compare(p + "chain (mtmd embeddings): logits", rc.logits, st.get(p + "logits").to_f32(),
                        k_tol_chain_logits);
            rep.compare(p + "chain (mtmd embeddings): attn_mean", rc.maps.mean, st.get(p + "attn_mean").to_f32(),
                        k_tol_chain_attn_mean);
            const gen_result r16 = ls16.generate(ref_embd.data(), n_img, gp, &vr.decode);
            rep.compare(p + "kv f16, n_batch 8: logits", r16.logits, st.get(p + "logits").to_f32(), k_tol_f16_logits);
            rep.compare(p + "kv f16, n_batch 8: attn_mean", r16.maps.mean, st.get(p + "attn_mean").to_f32(),
                        k_tol_f16_attn_mean);
        }
        // 5. the library pipeline (what groundlmm ground / serve / the C API run): the LLM loads before libmtmd, the
        //    image block reaches the session, stage 2 maps the grid; the tiny GGUF has no chat template, so the
        //    default prompt is refused with the reason and the golden's template is given
        {
            printf("--- pipeline\n");
            pipeline_model_params mp;
            mp.llm          = llm_path;
            mp.vision       = mmproj_path;
            mp.refiner.name = "none";
            mp.n_threads    = 2;
            mp.use_gpu      = false;
            pipeline_context_params cp;
            cp.n_ctx  = 1024;
            cp.kv_f32 = true;
            pipeline     pl(pipeline_model::load(mp), cp);
            // the first case whose pixels mtmd and HF agree on (its grid and rectangle are the reference's)
            std::string case_name;
            for (const auto & [n, cc] : cj.at("cases").items()) {
                if (case_name.empty() && cc.at("llama_cpp_mtmd").at("pixels_agree_with_hf").get<bool>()) {
                    case_name = n;
                }
            }
            if (case_name.empty()) {
                fail("cases.json: no case with llama_cpp_mtmd.pixels_agree_with_hf for the pipeline check");
            }
            printf("(case %s)\n", case_name.c_str());
            const json &   c   = cj.at("cases").at(case_name);
            const image_u8 img = image_load(dir + "/" + c.at("image").get<std::string>());
            const json &   mg  = c.at("hf").at("merged_grid_hw");
            const int      want_rows = mg[0].get<int>(), want_cols = mg[1].get<int>();
            run_settings s;
            s.gen.prompt = pr.at("question").get<std::string>();
            s.gen.answer = pr.at("continuation").get<std::string>();
            std::string err;
            try {
                pl.attend(img, s);
            } catch (const std::exception & e) {
                err = e.what();
            }
            rep.check("pipeline: no chat template in the GGUF is refused with the reason",
                      err.find("no chat template") != std::string::npos, err);
            s.gen.templ = templ;
            const grounding gr = pl.run(img, s);
            const auto &    gd = gr.att.layout.grids[0];
            rep.check(strfmt("pipeline: layout %dx%d over the whole image", want_rows, want_cols),
                      gd.rows == want_rows && gd.cols == want_cols && gd.rect == grid_rect{ 0, 0, img.w, img.h },
                      strfmt("%dx%d %s", gd.rows, gd.cols, rect_str(gd.rect).c_str()));
            const std::vector<int32_t> got = gr.att.out.ids();
            const std::vector<int32_t> ids    = st.get(case_name + ".input_ids").to_i32();
            const int                  pl_len = st.get(case_name + ".prompt_len").to_i32()[0];
            rep.check("pipeline: answer tokens = the reference continuation",
                      got == std::vector<int32_t>(ids.begin() + pl_len, ids.end()));
            rep.compare("pipeline: maps (mtmd embeddings, F32 KV)", gr.att.out.maps.mean,
                        st.get(case_name + ".attn_mean").to_f32(), k_tol_chain_attn_mean);
            bool points_in = !gr.g.phrases.empty();
            for (const auto & ph : gr.g.phrases) {
                points_in = points_in && ph.x >= 0 && ph.x < img.w && ph.y >= 0 && ph.y < img.h;
            }
            rep.check("pipeline: stage 2 points every phrase inside the image",
                      points_in && gr.g.grid_w == want_cols && gr.g.grid_h == want_rows,
                      strfmt("%zu phrases", gr.g.phrases.size()));
        }
    } catch (const golden::stop &) {
    } catch (const std::exception & e) {
        rep.check("exception", false, e.what());
    }
    return rep.finish("test-golden-qwen25vl");
}
