// test-golden-llava <folder>: our CLIP encoder and the libllama run with the attention tap against the
// float32 PyTorch LLaVA-1.5 reference (tests/golden/llava, see its cases.json).
//
//  1. preprocessing: pixel values within about one grey level (PIL-exact resampling gives ~0)
//  2. vision features and image embeddings computed from the image (F16 weights in the mmproj: ~1e-3 rel)
//  3. with the reference embeddings fed to libllama (F32 KV cache): prompt token ids, the logits and attention
//     maps of the teacher-forced continuation (every layer and head, their mean, head H-2), and greedy ids
//  4. the production settings: F16 KV cache, small batches (n_batch 8), and the whole chain from the image
//     (our pixels -> our CLIP -> libllama), within the golden's suggested F16-KV tolerances
#include "golden-util.h"

#include "common.h"
#include "lmm.h"
#include "models/clip.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

using namespace glm;

int main(int argc, char ** argv) {
    const std::string dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    golden::report    rep;
    log_route_ggml(false);
    try {
        const nlohmann::json cases = nlohmann::json::parse(std::ifstream(dir + "/cases.json"));
        const safetensors_file st(dir + "/cases.safetensors");
        const std::string mmproj = dir + "/" + cases["gguf"]["files"]["mmproj_f32"].get<std::string>();
        const std::string image  = dir + "/" + cases["image"]["file"].get<std::string>();

        compute_backend be({ /*n_threads=*/2, /*use_gpu=*/true });
        clip_encoder    enc(mmproj, be);
        printf("vision: %s on %s\n", enc.name().c_str(), be.name().c_str());

        const image_u8     img = image_load(image);
        pad_geometry       geom;
        std::vector<float> px  = clip_preprocess(enc.model().hp, img, &geom);
        const st_tensor &  ref_px = st.get("pixel_values");
        const std::vector<float> want_px = ref_px.to_f32();
        // one grey level after normalisation is 1/255/std ~ 0.015
        rep.compare("pixel_values", px, want_px, 1.0 / 255.0 / 0.26 + 1e-6);

        std::vector<float> feats;
        std::vector<float> embd = enc.encode_pixels(want_px, &feats);
        rep.compare("vision_features (reference pixels)", feats, st.get("vision_features").to_f32(), 1e-3, true);
        rep.compare("image_embeddings (reference pixels)", embd, st.get("image_embeddings").to_f32(), 1e-3, true);
        std::vector<float> embd2 = enc.encode_pixels(px);
        rep.compare("image_embeddings (our pixels)", embd2, st.get("image_embeddings").to_f32(), 1e-3, true);

        // --- the LLM with the reference embeddings
        lmm_params lp;
        lp.model    = dir + "/" + cases["gguf"]["files"]["text_f32"].get<std::string>();
        lp.n_ctx    = 2048;
        lp.n_threads = 2;
        lp.kv_f32   = true;
        lp.tap_dump = true;
        lmm_model   lm(lp);
        lmm_session ls(lm, lp);
        const auto  tol = cases["suggested_tolerances"]["golden_embeddings__f32_gguf__kv_f32"];
        const std::vector<float> ref_embd = st.get("image_embeddings").to_f32();
        const int   n_img = (int) st.get("image_embeddings").shape[0];

        gen_params gp;
        gp.prompt      = cases["config"]["question"].get<std::string>();
        gp.forced      = st.get("continuation_ids").to_i32();
        gp.keep_logits = true;
        const gen_result r = ls.generate(ref_embd.data(), n_img, gp);
        rep.check("prompt_ids_pre", r.prompt_pre == st.get("prompt_ids_pre").to_i32());
        rep.check("prompt_ids_post", r.prompt_post == st.get("prompt_ids_post").to_i32());
        rep.check("image_start", r.image_start == st.get("image_start").to_i32()[0],
                  std::to_string(r.image_start));
        rep.check("prompt_len", r.prompt_len == st.get("prompt_len").to_i32()[0], std::to_string(r.prompt_len));
        rep.compare("logits (teacher forced)", r.logits, st.get("logits").to_f32(), tol["logits"].get<double>());
        rep.compare("attn [K, L, H, n_img]", r.maps.full, st.get("attn").to_f32(), tol["attn"].get<double>());
        rep.compare("attn_mean", r.maps.mean, st.get("attn_mean").to_f32(), tol["attn_mean"].get<double>());
        rep.compare("attn_head_m2", r.maps.official, st.get("attn_head_m2").to_f32(),
                    tol["attn_head_m2"].get<double>());
        rep.check("answer text", r.answer == cases["config"]["continuation"].get<std::string>(), r.answer);

        gen_params gg;
        gg.prompt    = gp.prompt;
        const std::vector<int32_t> want_greedy = st.get("greedy_ids").to_i32();
        gg.n_predict = (int) want_greedy.size();
        const gen_result g = ls.generate(ref_embd.data(), n_img, gg);
        std::vector<int32_t> got_greedy;
        for (const auto & t : g.tokens) {
            got_greedy.push_back(t.id);
        }
        rep.check("greedy ids", got_greedy == want_greedy);
        rep.check("one map row per generated token", g.maps.n_rows == (int) g.tokens.size());

        // --- production settings: F16 KV cache, prompt decoded in batches of 8, embeddings from our encoder
        lmm_params lp16 = lp;
        lp16.kv_f32     = false;
        lp16.tap_dump   = false;
        lp16.n_batch    = 8;
        lmm_session ls16(lm, lp16);
        const auto  tol16 = cases["suggested_tolerances"]["golden_embeddings__f32_gguf__kv_f16_default"];
        const gen_result r16 = ls16.generate(ref_embd.data(), n_img, gp);
        rep.compare("kv f16, n_batch 8: logits", r16.logits, st.get("logits").to_f32(), tol16["logits"].get<double>());
        rep.compare("kv f16, n_batch 8: attn_mean", r16.maps.mean, st.get("attn_mean").to_f32(),
                    tol16["attn_mean"].get<double>());
        rep.compare("kv f16, n_batch 8: attn_head_m2", r16.maps.official, st.get("attn_head_m2").to_f32(),
                    tol16["attn_head_m2"].get<double>());
        const gen_result e2e = ls16.generate(embd2.data(), n_img, gp);
        rep.compare("image -> our CLIP -> kv f16: attn_mean", e2e.maps.mean, st.get("attn_mean").to_f32(),
                    tol16["attn_mean"].get<double>());
    } catch (const std::exception & e) {
        rep.check("exception", false, e.what());
    }
    return rep.finish("test-golden-llava");
}
