// eval/run-common.cpp: stage 1 per image and point refinement for the evaluation runners (see run-common.h).
#include "eval/run-common.h"

#include "common.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace glm {

using json = nlohmann::json;

json eval_stage1_settings(const eval_stage1_params & p) {
    return {
        { "llm", p.llm_name },
        { "vision", p.vision_name },
        { "lora", p.lora_name },
        { "prompt", p.gen.prompt },
        { "template", p.gen.templ },
        { "n_predict", p.gen.n_predict },
        { "temp", p.gen.temp },
        { "top_k", p.gen.top_k },
        { "top_p", p.gen.top_p },
        { "seed", p.gen.seed },
        { "heads", attn_heads_name(p.heads) },
        { "forced", p.forced_answer != nullptr },
    };
}

bool eval_attend_exists(const std::string & attend_dir, const std::string & id) {
    const std::string d = attend_dir + "/" + eval_id_filename(id);
    return file_exists(d + "/attend.json") && file_exists(d + "/attention.safetensors");
}

attend_result eval_attend_run_and_save(eval_models & m, const eval_stage1_params & p, const image_u8 & img,
                                       const std::string & image_path, const std::string & attend_dir,
                                       const std::string & id) {
    gen_params gp = p.gen;
    if (p.forced_answer) {
        const std::string text = p.forced_answer(id, p.forced_user_data);
        if (!text.empty()) {
            gp.forced = m.lmm().model().tokenize(text, false);
        }
    }
    attend_result r = attend_run(m.encoder(), m.lmm(), img, gp, p.heads);
    r.image_path    = image_path;
    r.vision_path   = p.vision_name;
    // write into a private folder, then rename: the final folder exists only when complete
    namespace fs          = std::filesystem;
    const std::string fin = attend_dir + "/" + eval_id_filename(id);
    const std::string tmp = fin + ".tmp-" + std::to_string((long long) getpid());
    std::error_code   ec;
    fs::remove_all(tmp, ec);
    attend_save(r, tmp);
    fs::remove_all(fin, ec);  // an incomplete folder from an older writer (no attention file)
    fs::rename(tmp, fin, ec);
    if (ec) {
        fail("cannot rename %s to %s: %s", tmp.c_str(), fin.c_str(), ec.message().c_str());
    }
    return r;
}

eval_masks eval_refine_point(refiner & ref, int x, int y, mask_select select, bool more_masks) {
    const refined_mask rm = ref.refine(x, y, select, more_masks);
    eval_masks         out;
    if (more_masks && !rm.all_masks.empty()) {
        for (size_t k = 0; k < rm.all_masks.size(); ++k) {
            out.masks.push_back(rle_encode(rm.all_masks[k].data(), rm.h, rm.w));
            out.scores.push_back(k < rm.all_scores.size() ? rm.all_scores[k] : rm.score);
            out.index.push_back((int) k);
        }
    } else {
        out.masks.push_back(rle_encode(rm.mask.data(), rm.h, rm.w));
        out.scores.push_back(rm.score);
        out.index.push_back(rm.index);
    }
    return out;
}

bool eval_image_present(const std::string & path) { return file_exists(path); }

}  // namespace glm
