// test-golden-cambrian <folder>: the parts of Cambrian-1 built so far against the official Cambrian code run on a
// tiny random model (tests/golden/cambrian, scripts/cambrian-golden.py, see its cases.json):
//
//  1. the converter: cambrian-tiny.safetensors (official names) -> GGUF, every tensor used by the loader
//  2. per case: CLIP preprocessing (pad with the CLIP mean, PIL bicubic, normalise) and the CLIP tower
//     (hidden_states[-2], CLS dropped) on the reference pixels
//  3. the windows and padding masks of every tower, for the connector (whole grid) and the in-LLM blocks
//     (unpadded grid)
//  4. the SVA connector from the reference tower features: projected towers, global context, each of the 3
//     layers, the projector, the unpadded image tokens with image_newline
//  5. each in-LLM SVA block on the reference input rows
// Sizes come from the folder's files. Tolerances: k_tol_* below, each with the error it was set from.
#include "golden-util.h"

#include "cambrian-convert.h"
#include "common.h"
#include "image.h"
#include "models/cambrian.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace glm;
namespace fs = std::filesystem;

// pixel values: PIL-exact resampling and float32 normalisation (measured 0 on tests/golden/cambrian)
static const double k_tol_pixels = 1e-6;
// CLIP features, relative to their max (F32 weights; measured 5.9e-7 on tests/golden/cambrian, CPU)
static const double k_tol_clip = 1e-5;
// SigLIP / DINOv2 / ConvNeXt features, relative (measured 1.0e-6 / 1.0e-6 / 1.4e-6 on tests/golden/cambrian, CPU)
static const double k_tol_vit = 1e-5;
// image -> our towers -> our connector -> image tokens, relative (measured 6.2e-7 on tests/golden/cambrian, CPU)
static const double k_tol_chain = 1e-5;
// F16 matrices (the CLI default), relative (measured 8.5e-4 on the chain, 4.6e-4 on an in-LLM block)
static const double k_tol_f16 = 1e-2;
// aggregator tensors, relative to their max (F32 weights; measured at most 5.0e-7 on tests/golden/cambrian, CPU;
// dropping the padding masks gives 3e-2 .. 1.5e-1 on the landscape and portrait cases)
static const double k_tol_sva = 1e-5;

int main(int argc, char ** argv) {
    const std::string dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    golden::report    rep;
    log_route_ggml(false);
    const fs::path tmp = fs::temp_directory_path() / ("glm-golden-cambrian-" + std::to_string(getpid()));
    try {
        const nlohmann::json   info = nlohmann::json::parse(std::ifstream(dir + "/cases.json"));
        const safetensors_file st(dir + "/cases.safetensors");
        const nlohmann::json & cfg  = info["config"];
        const nlohmann::json & ccfg = info["cambrian_config"];
        const int              q    = cfg["q"].get<int>();

        // 1. convert the official weights
        fs::create_directories(tmp);
        cambrian_convert_params cp;
        cp.input      = dir + "/" + info["weights"]["file"].get<std::string>();
        cp.clip       = dir + "/" + info["weights"]["tower_files"]["clip"].get<std::string>();
        cp.siglip     = dir + "/" + info["weights"]["tower_files"]["siglip"].get<std::string>();
        cp.dino       = dir + "/" + info["weights"]["tower_files"]["dino"].get<std::string>();
        cp.siglip_heads    = cfg["siglip"]["heads"].get<int>();
        cp.siglip_image_size = cfg["siglip"]["res"].get<int>();
        cp.siglip_eps      = info["towers"]["siglip"]["ln_eps"].get<float>();
        cp.dino_heads      = cfg["dino"]["heads"].get<int>();
        cp.dino_eps        = info["towers"]["dino"]["ln_eps"].get<float>();
        cp.convnext        = dir + "/" + info["weights"]["tower_files"]["convnext"].get<std::string>();
        cp.convnext_eps        = info["towers"]["convnext"]["ln_eps"].get<float>();
        cp.output     = (tmp / "cambrian-tiny.gguf").string();
        {  // the Cambrian config keys through the converter's config reader
            std::ofstream(tmp / "config.json") << ccfg.dump();
            cambrian_convert_read_config((tmp / "config.json").string(), &cp);
        }
        cp.clip_heads        = cfg["clip"]["heads"].get<int>();
        cp.clip_eps          = info["towers"]["clip"]["ln_eps"].get<float>();
        cp.require_clip      = true;
        cambrian_convert(cp);

        compute_backend be({ /*n_threads=*/2, /*use_gpu=*/true });
        gguf_loader     ml(cp.output);
        ml.load(be.primary());
        cambrian_model m;
        m.load(ml);
        ml.check_all_used();
        rep.check("converter: GGUF loads, every tensor used", true);
        rep.check("converter: config.json read", cp.query_side == q && cp.dino_image_size == cfg["dino"]["res"].get<int>() &&
                                                     cp.convnext_image_size == cfg["convnext"]["res"].get<int>(),
                  strfmt("query side %d, DINOv2 %d px, ConvNeXt %d px", cp.query_side, cp.dino_image_size,
                         cp.convnext_image_size));
        rep.check("converter: sizes", m.hp.query_side == q && m.hp.connector_depth == ccfg["connector_depth"].get<int>() &&
                                          m.hp.n_llm_blocks == ccfg["num_of_vision_sampler_layers"].get<int>() &&
                                          m.hp.image_position == cp.image_position && m.has_clip &&
                                          m.has_siglip && m.has_dino && m.has_convnext,
                  strfmt("q %d, depth %d, in-LLM blocks %d, image_position %d", m.hp.query_side,
                         m.hp.connector_depth, m.hp.n_llm_blocks, m.hp.image_position));
        printf("backend: %s\n", be.name().c_str());

        const char * towers[k_cambrian_towers] = { "siglip", "clip", "dino", "convnext" };
        for (const nlohmann::json & c : info["cases"]) {
            const std::string name = c["name"].get<std::string>();
            const std::string p    = name + ".";
            const int         W = c["width"].get<int>(), H = c["height"].get<int>();
            printf("--- case %s (%dx%d)\n", name.c_str(), W, H);

            // 2. CLIP
            const image_u8     img = image_load(dir + "/image_" + name + ".png");
            pad_geometry       geom;
            std::vector<float> px = clip_preprocess(m.clip.hp, img, &geom);
            rep.compare(p + "clip.pixels", px, st.get(p + "clip.pixels").to_f32(), k_tol_pixels);
            std::vector<float> clip_feats;
            {
                graph_ctx     g;
                const int64_t S   = m.clip.hp.image_size;
                ggml_tensor * inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, S, S, 3, 1);
                ggml_set_input(inp);
                ggml_tensor * f = clip_build_features(g.ctx(), m.clip, inp);
                ggml_set_output(f);
                ggml_cgraph * gf = g.new_graph();
                ggml_build_forward_expand(gf, f);
                const std::vector<float> ref_px = st.get(p + "clip.pixels").to_f32();
                be.run(gf, [&] { ggml_backend_tensor_set(inp, ref_px.data(), 0, ref_px.size() * sizeof(float)); });
                clip_feats = tensor_to_f32(f);
            }
            rep.compare(p + "clip.features", clip_feats, st.get(p + "clip.features").to_f32(), k_tol_clip, true);

            // 2b. SigLIP and DINOv2: our preprocessing, then the tower on the reference pixels
            for (const auto & t : { std::make_pair("siglip", &m.siglip), std::make_pair("dino", &m.dino) }) {
                const cambrian_vit_hparams & th = t.second->hp;
                const std::string            n  = p + t.first;
                rep.compare(n + ".pixels", cambrian_tower_preprocess(img, th.image_size, th.fill, th.mean, th.std_),
                            st.get(n + ".pixels").to_f32(), k_tol_pixels);
                graph_ctx     g;
                ggml_tensor * inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, th.image_size, th.image_size, 3, 1);
                ggml_set_input(inp);
                ggml_tensor * f = cambrian_vit_build(g.ctx(), *t.second, inp);
                ggml_set_output(f);
                ggml_cgraph * gf = g.new_graph();
                ggml_build_forward_expand(gf, f);
                const std::vector<float> ref_px = st.get(n + ".pixels").to_f32();
                be.run(gf, [&] { ggml_backend_tensor_set(inp, ref_px.data(), 0, ref_px.size() * sizeof(float)); });
                rep.compare(n + ".features", tensor_to_f32(f), st.get(n + ".features").to_f32(), k_tol_vit, true);
            }
            {  // 2c. ConvNeXt
                const cambrian_convnext & cx = m.convnext;
                const std::string         n  = p + "convnext";
                rep.compare(n + ".pixels", cambrian_tower_preprocess(img, cx.image_size, cx.fill, cx.mean, cx.std_),
                            st.get(n + ".pixels").to_f32(), k_tol_pixels);
                graph_ctx     g;
                ggml_tensor * inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, cx.image_size, cx.image_size, 3, 1);
                ggml_set_input(inp);
                ggml_tensor * f = cambrian_convnext_build(g.ctx(), cx, inp);
                ggml_set_output(f);
                ggml_cgraph * gf = g.new_graph();
                ggml_build_forward_expand(gf, f);
                const std::vector<float> ref_px = st.get(n + ".pixels").to_f32();
                be.run(gf, [&] { ggml_backend_tensor_set(inp, ref_px.data(), 0, ref_px.size() * sizeof(float)); });
                rep.compare(n + ".features", tensor_to_f32(f), st.get(n + ".features").to_f32(), k_tol_vit, true);
            }

            // 3. windows and masks
            for (int i = 0; i < k_cambrian_towers; ++i) {
                for (int unpad = 0; unpad < 2; ++unpad) {
                    const cambrian_windows w = cambrian_tower_windows(q, m.hp.tower_side[i], W, H, unpad != 0);
                    const std::string      n = p + (unpad ? "llm.mask" : "sva.mask") + std::to_string(i);
                    rep.compare(n, w.mask, st.get(n).to_f32(), 0.0);
                }
            }

            // 4. the connector from the reference tower features
            std::array<std::vector<float>, k_cambrian_towers> feats;
            for (int i = 0; i < k_cambrian_towers; ++i) {
                feats[i] = st.get(p + towers[i] + ".features").to_f32();
            }
            const cambrian_connector_out out = cambrian_run_connector(m, be, feats, W, H);
            for (int i = 0; i < k_cambrian_towers; ++i) {
                rep.compare(p + "aux" + std::to_string(i), out.aux[i], st.get(p + "aux" + std::to_string(i)).to_f32(),
                            k_tol_sva, true);
            }
            const std::vector<float> ctx_ref = st.get(p + "llm.context").to_f32();  // [h'*w', vh], every row equal
            rep.compare(p + "context (llm.context row 0)", out.context,
                        std::vector<float>(ctx_ref.begin(), ctx_ref.begin() + m.hp.vision_hidden), k_tol_sva, true);
            for (size_t l = 0; l < out.layers.size(); ++l) {
                rep.compare(p + "sva.layer" + std::to_string(l), out.layers[l],
                            st.get(p + "sva.layer" + std::to_string(l)).to_f32(), k_tol_sva, true);
            }
            rep.compare(p + "projector", out.projector, st.get(p + "projector").to_f32(), k_tol_sva, true);
            rep.check(p + "unpadded grid", out.span.rows() == c["unpad_h"].get<int>() &&
                                               out.span.cols() == c["unpad_w"].get<int>() &&
                                               out.span.rows() * (out.span.cols() + 1) == c["image_tokens"].get<int>(),
                      strfmt("%d x %d (+ newline)", out.span.rows(), out.span.cols()));
            rep.compare(p + "image_tokens", out.image_tokens, st.get(p + "image_tokens").to_f32(), k_tol_sva, true);

            // 4b. the whole chain from the image: our preprocessing, our towers, our connector
            const cambrian_connector_out chain = cambrian_run_connector(m, be, cambrian_run_towers(m, be, img), W, H);
            rep.compare(p + "image_tokens (image -> our towers -> our connector)", chain.image_tokens,
                        st.get(p + "image_tokens").to_f32(), k_tol_chain, true);

            // 5. the in-LLM blocks on the reference rows
            for (int k = 0; k < m.hp.n_llm_blocks; ++k) {
                const std::string  n  = p + "llm.sva" + std::to_string(k);
                std::vector<float> y = cambrian_run_llm_block(m, be, k, st.get(n + ".in").to_f32(), out, W, H);
                rep.compare(n, y, st.get(n).to_f32(), k_tol_sva, true);
            }
        }
        // 6. the F16 conversion (the CLI's default): the whole chain on the first case
        {
            cambrian_convert_params c16 = cp;
            c16.type                    = GGML_TYPE_F16;
            c16.output                  = (tmp / "cambrian-tiny-f16.gguf").string();
            cambrian_convert(c16);
            gguf_loader ml16(c16.output);
            ml16.load(be.primary());
            cambrian_model m16;
            m16.load(ml16);
            ml16.check_all_used();
            const nlohmann::json & c    = info["cases"][0];
            const std::string      name = c["name"].get<std::string>();
            const image_u8         img  = image_load(dir + "/image_" + name + ".png");
            const int              W = c["width"].get<int>(), H = c["height"].get<int>();
            const cambrian_connector_out o16 = cambrian_run_connector(m16, be, cambrian_run_towers(m16, be, img), W, H);
            rep.compare(name + ".image_tokens (F16 weights, image -> towers -> connector)", o16.image_tokens,
                        st.get(name + ".image_tokens").to_f32(), k_tol_f16, true);
            const std::string n = name + ".llm.sva0";
            rep.compare(n + " (F16 weights)", cambrian_run_llm_block(m16, be, 0, st.get(n + ".in").to_f32(), o16, W, H),
                        st.get(n).to_f32(), k_tol_f16, true);
        }
    } catch (const std::exception & e) {
        rep.check("exception", false, e.what());
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return rep.finish("test-golden-cambrian");
}
