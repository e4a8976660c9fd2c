// test-golden-llava <folder>: our CLIP encoder and the libllama run with the attention tap against the
// float32 PyTorch LLaVA-1.5 reference (tests/golden/llava, see its cases.json).
//
//  1. preprocessing: pixel values within about one grey level (PIL-exact resampling gives ~0)
//  2. vision features and image embeddings computed from the image (F16 weights in the mmproj: ~1e-3 rel)
#include "golden-util.h"

#include "common.h"
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
    } catch (const std::exception & e) {
        rep.check("exception", false, e.what());
    }
    return rep.finish("test-golden-llava");
}
