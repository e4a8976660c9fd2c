// test-golden-sam: Segment Anything against tests/golden/sam (the official SamPredictor on a tiny random
// model). The test converts the golden's sam-tiny.pth with the real converter (f32) into a temp folder, then
// compares each stage on its own, fed with the reference output of the stage before:
//   preprocessing   our resize vs image_resized.png (one grey level), input tensor stats
//   encoder         from image_resized.png: image embeddings (relative)
//   decoder         from the reference embeddings: low-res logits, IoU scores, masks, for every case
// and last the whole chain from image.png. The safetensors copy of the checkpoint must convert to the same
// GGUF. Nothing here knows the golden's shapes: they come from the checkpoint and cases.json.
//
// usage: test-golden-sam [golden folder] [--keep] [--force-window]
#include "backend.h"
#include "common.h"
#include "golden-util.h"
#include "image.h"
#include "safetensors.h"
#include "sam-convert.h"
#include "sam.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using json   = nlohmann::json;
namespace fs = std::filesystem;

// Tolerances, each 10-30x the worst error measured on tests/golden/sam and tests/golden/sam-variant (f32 GGUF, CPU,
// 2 threads), which is given beside it. Relative ones are max|diff| / max|reference|.
static const double k_tol_stats      = 5e-8;  // input_tensor_stats, rel (measured 2.8e-9)
static const double k_tol_embd       = 2e-5;  // image_embeddings from image_resized.png, rel (measured 9.2e-7)
static const double k_tol_embd_chain = 2e-5;  // image_embeddings from image.png, rel (measured 9.2e-7)

struct case_tols {
    double logits;       // low_res_logits, abs
    double iou;          // iou_predictions, abs
    size_t mask_pixels;  // mask pixels that may differ, per case (a logit within rounding of 0 flips a pixel)
};
// the decoder on the reference embeddings, one case at a time or batched (measured: logits 1.0e-6, IoU 6.6e-7,
// 1 mask pixel)
static const case_tols k_tol_decoder = { 2e-5, 1e-5, 10 };
// the whole chain from image.png (measured: logits 1.4e-6, IoU 8.9e-7, 1 mask pixel)
static const case_tols k_tol_chain = { 3e-5, 2e-5, 10 };

// A case of cases.json; "mask_input" (optional) names a low-res logits tensor of cases.safetensors.
static glm::sam_prompt case_prompt(const json & c, const glm::safetensors_file & ref) {
    glm::sam_prompt p;
    if (c.contains("mask_input") && !c["mask_input"].is_null()) {
        p.mask_input = ref.get(c["mask_input"].get<std::string>()).to_f32();
    }
    if (c.contains("points")) {
        const json & pts = c["points"];
        const json & lab = c["labels"];
        for (size_t i = 0; i < pts.size(); ++i) {
            p.points.push_back({ pts[i][0].get<float>(), pts[i][1].get<float>(), lab[i].get<int>() });
        }
    }
    if (c.contains("box") && !c["box"].is_null()) {
        p.has_box = true;
        for (int k = 0; k < 4; ++k) {
            p.box[k] = c["box"][k].get<float>();
        }
    }
    p.multimask = c.value("multimask", true);
    return p;
}

// The prompt tensors the golden stores beside cases.json (<case>.points, .labels, .box, written from the prompt the
// reference ran) must be the prompt we run: compared exactly, and a tensor without its cases.json field fails (not
// every case stores them: sam-variant's mask_prompt has its point in cases.json only).
static void check_prompt_tensors(golden::report & rep, const glm::safetensors_file & ref, const std::string & name,
                                 const glm::sam_prompt & p) {
    std::vector<float>   pts;
    std::vector<int32_t> labels;
    for (const glm::sam_point & q : p.points) {
        pts.push_back(q.x);
        pts.push_back(q.y);
        labels.push_back(q.label);
    }
    if (ref.has(name + ".points")) {
        rep.compare(name + ".points (cases.json)", pts, ref.get(name + ".points").to_f32(), 0.0);
    }
    if (ref.has(name + ".labels")) {
        rep.check(name + ".labels (cases.json)", ref.get(name + ".labels").to_i32() == labels);
    }
    if (ref.has(name + ".box")) {
        rep.check(name + ".box in cases.json", p.has_box);
        rep.compare(name + ".box (cases.json)", std::vector<float>(p.box, p.box + 4), ref.get(name + ".box").to_f32(), 0.0);
    }
}

// Compares one case's outputs; `tag` tells which run (decoder on the reference embedding, or end to end).
static void compare_case(golden::report & rep, const glm::safetensors_file & ref, const std::string & name,
                         const glm::sam_result & r, const std::string & tag, const case_tols & tol) {
    const std::string    pre = tag + " " + name;
    const glm::st_tensor & lt = ref.get(name + ".low_res_logits");
    const glm::st_tensor & it = ref.get(name + ".iou_predictions");
    const glm::st_tensor & mt = ref.get(name + ".masks");
    if (!rep.check(pre + " mask count", (int64_t) r.n_masks == it.shape[0] && lt.shape[0] == it.shape[0],
                   std::to_string(r.n_masks) + " vs " + std::to_string(it.shape[0]))) {
        return;
    }
    rep.compare(pre + " low_res_logits", r.low_res_logits, lt.to_f32(), tol.logits);
    rep.compare(pre + " iou_predictions", r.iou, it.to_f32(), tol.iou);
    const std::vector<float> want = mt.to_f32();
    if (!rep.check(pre + " masks shape", want.size() == r.masks.size() && mt.shape[1] == r.height && mt.shape[2] == r.width)) {
        return;
    }
    size_t diff = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        diff += (want[i] > 0.5f) != (r.masks[i] != 0);
    }
    rep.check(pre + " masks", diff <= tol.mask_pixels,
              glm::strfmt("%zu of %zu pixels differ (tol %zu)", diff, want.size(), tol.mask_pixels));
}

int main(int argc, char ** argv) {
    std::string dir  = GLM_GOLDEN_DEFAULT;
    bool        keep = false, force_window = false;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--keep")) {
            keep = true;
        } else if (!strcmp(argv[i], "--force-window")) {
            force_window = true;  // pass cases.json's window size and global blocks to the converter
        } else {
            dir = argv[i];
        }
    }
    glm::log_set_level(glm::log_level::warn);
    golden::report rep;
    const fs::path tmp = fs::temp_directory_path() / ("glm-golden-sam-" + std::to_string(getpid()));
    try {
        fs::create_directories(tmp);
        std::ifstream cf(dir + "/cases.json");
        if (!cf) {
            glm::fail("%s/cases.json: cannot open", dir.c_str());
        }
        const json                 cj = json::parse(cf);
        const json &               mj = cj["model"];
        const glm::safetensors_file ref(dir + "/cases.safetensors");

        // --- conversion of the PyTorch checkpoint (the head count of the decoder is not in a state_dict: the
        //     golden's cases.json says it, as a user would pass --decoder-heads)
        glm::sam_convert_params cp;
        cp.input         = dir + "/sam-tiny.pth";
        cp.output        = (tmp / "sam-f32.gguf").string();
        cp.type          = GGML_TYPE_F32;
        cp.decoder_heads = mj.value("decoder_heads", 0);
        if (force_window) {  // rel-pos tables of other lengths than 2*window-1 (interpolated like get_rel_pos)
            cp.window_size = mj.value("window_size", 0);
            cp.global_attn = mj.value("encoder_global_attn_indexes", std::vector<int>{});
        }
        const glm::sam_hparams hp = glm::sam_convert(cp);
        {
            std::vector<int> glob = mj.value("encoder_global_attn_indexes", std::vector<int>{});
            const bool ok = hp.enc_embd == mj.value("encoder_embed_dim", -1) && hp.enc_depth == mj.value("encoder_depth", -1) &&
                            hp.enc_heads == mj.value("encoder_num_heads", -1) && hp.global_attn == glob &&
                            hp.window_size == mj.value("window_size", -1) && hp.patch_size == mj.value("patch_size", -1) &&
                            hp.image_size == mj.value("img_size", -1) && hp.prompt_embd == mj.value("prompt_embed_dim", -1) &&
                            hp.dec_depth == mj.value("decoder_depth", -1) && hp.dec_mlp == mj.value("decoder_mlp_dim", -1) &&
                            hp.iou_head_depth == mj.value("iou_head_depth", -1) &&
                            (hp.iou_head_depth < 2 || hp.iou_head_hidden == mj.value("iou_head_hidden_dim", -1)) &&
                            hp.mask_in_chans == mj.value("mask_in_chans", -1) &&
                            hp.n_multimask == mj.value("num_multimask_outputs", -1);
            std::string g;
            for (int i : hp.global_attn) {
                g += (g.empty() ? "" : ",") + std::to_string(i);
            }
            rep.check("hparams detected from sam-tiny.pth", ok,
                      glm::strfmt("embed %d depth %d heads %d global [%s] window %d patch %d img %d prompt %d dec %dx%d "
                                  "mlp %d iou %dx%d mask_in %d multimask %d", hp.enc_embd, hp.enc_depth, hp.enc_heads,
                                  g.c_str(), hp.window_size, hp.patch_size, hp.image_size, hp.prompt_embd, hp.dec_depth,
                                  hp.dec_heads, hp.dec_mlp, hp.iou_head_depth, hp.iou_head_hidden, hp.mask_in_chans,
                                  hp.n_multimask));
        }
        const std::string st_path = dir + "/sam-tiny.safetensors";
        if (glm::file_exists(st_path)) {
            // the same state_dict as safetensors (its metadata carries the decoder's head count)
            glm::sam_convert_params cs = cp;
            cs.input                   = st_path;
            cs.output                  = (tmp / "sam-st.gguf").string();
            cs.decoder_heads           = 0;
            glm::sam_convert(cs);
            rep.check("sam-tiny.safetensors converts to the same GGUF",
                      glm::read_file(cs.output) == glm::read_file(cp.output));
        }

        glm::backend_params bp;
        glm::compute_backend backend(bp);
        printf("backend: %s\n", backend.name().c_str());
        auto           model = glm::sam_model::load(cp.output, backend);
        glm::sam_state state(model, backend);

        // --- preprocessing on its own
        const glm::image_u8   img       = glm::image_load(dir + "/" + cj["image"]["file"].get<std::string>());
        const glm::image_u8   want_rsz  = glm::image_load(dir + "/image_resized.png");
        const glm::sam_input  in        = glm::sam_preprocess(hp, img);
        if (rep.check("resized size", in.resized.w == want_rsz.w && in.resized.h == want_rsz.h,
                      glm::strfmt("%dx%d vs %dx%d", in.resized.w, in.resized.h, want_rsz.w, want_rsz.h))) {
            int    max_d = 0;
            size_t n_d   = 0;
            for (size_t i = 0; i < want_rsz.rgb.size(); ++i) {
                const int d = std::abs((int) in.resized.rgb[i] - (int) want_rsz.rgb[i]);
                max_d       = std::max(max_d, d);
                n_d += d != 0;
            }
            // PIL-exact bilinear: measured 0 on both folders; one grey level allows another libm's rounding
            rep.check("image_resized.png", max_d <= 1,
                      glm::strfmt("max diff %d grey level(s), %zu of %zu values differ", max_d, n_d, want_rsz.rgb.size()));
        }
        {
            double sum = 0, mx = 0;
            for (float v : in.tensor) {
                sum += v;
                mx = std::max(mx, (double) std::fabs(v));
            }
            const double mean = sum / in.tensor.size();
            double       ss   = 0;
            for (float v : in.tensor) {
                ss += (v - mean) * (v - mean);
            }
            const std::vector<float> got = { (float) mean, (float) std::sqrt(ss / (in.tensor.size() - 1)), (float) mx };
            rep.compare("input_tensor_stats (mean, std, max|x|)", got, ref.get("input_tensor_stats").to_f32(), k_tol_stats, true);
        }

        // --- encoder, from the reference resized image
        state.set_input(glm::sam_preprocess_resized(hp, want_rsz, img.w, img.h));
        printf("encoder: %.3f s\n", state.encode_seconds());
        rep.compare("image_embeddings", state.image_embedding_chw(), ref.get("image_embeddings").to_f32(), k_tol_embd, true);
        const std::vector<float> our_emb = state.image_embedding_chw();

        // --- decoder, from the reference embeddings; every case, then all cases as one batched call
        state.set_embedding(ref.get("image_embeddings").to_f32(), img.w, img.h);
        std::vector<glm::sam_prompt> prompts;
        std::vector<std::string>     names;
        for (const json & c : cj["cases"]) {
            prompts.push_back(case_prompt(c, ref));
            names.push_back(c["name"].get<std::string>());
            check_prompt_tensors(rep, ref, names.back(), prompts.back());
            compare_case(rep, ref, names.back(), state.predict(prompts.back()), "decoder", k_tol_decoder);
        }
        const std::vector<glm::sam_result> batched = state.predict(prompts);
        for (size_t i = 0; i < prompts.size(); ++i) {
            compare_case(rep, ref, names[i], batched[i], "batched", k_tol_decoder);
        }

        // --- the whole chain from image.png
        state.set_image(img);
        rep.compare("end-to-end image_embeddings", state.image_embedding_chw(), ref.get("image_embeddings").to_f32(),
                    k_tol_embd_chain, true);
        for (size_t i = 0; i < prompts.size(); ++i) {
            compare_case(rep, ref, names[i], state.predict(prompts[i]), "end-to-end", k_tol_chain);
        }
    } catch (const std::exception & e) {
        rep.check("run", false, e.what());
    }
    if (!keep) {
        std::error_code ec;
        fs::remove_all(tmp, ec);
    } else {
        printf("kept %s\n", tmp.c_str());
    }
    return rep.finish("test-golden-sam");
}
