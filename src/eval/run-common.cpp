// eval/run-common.cpp: stage 1 per image, point refinement and the run protocol of the evaluation runners (see
// run-common.h).
#include "eval/run-common.h"

#include "common.h"
#include "settings.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace glm {

using json = nlohmann::json;

json eval_stage1_settings(const eval_stage1_params & p) {
    // the settings table's stage-1 names and values (settings.h); the answer is per image (forced_answer)
    run_settings rs;
    rs.gen      = p.gen;
    rs.heads    = p.heads.kind;
    rs.head_sel = p.heads;
    json s   = settings_to_json(rs, setting_stage::stage1);
    s.erase("answer");
    s["llm"]    = p.llm_name;
    s["vision"] = p.vision_name;
    s["lora"]   = p.lora_name;
    s["forced"] = p.forced_answer != nullptr;
    return s;
}

json eval_stage2_settings(const ground_params & g) {
    run_settings rs;
    rs.heads  = g.heads;
    rs.head_sel = g.head_sel;
    rs.ground = g;
    json s    = settings_to_json(rs, setting_stage::stage2);
    s["attn_heads"] = g.heads == attn_heads::set ? g.head_sel.spec : std::string(attn_heads_name(g.heads));  // the map stage 2 reads
    return s;
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
            gp.answer = text;  // teacher forcing by text (tokenised without BOS, as generated tokens are)
        }
    }
    attend_result r = m.attend(img, gp, p.heads);
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

attend_result eval_attend_load_or_run(eval_models & m, const eval_stage1_params & p, const image_u8 & img,
                                      const std::string & image_path, const std::string & attend_dir,
                                      const std::string & id, eval_run_summary * sum) {
    if (eval_attend_exists(attend_dir, id)) {
        return attend_load(attend_dir + "/" + id);
    }
    attend_result att = eval_attend_run_and_save(m, p, img, image_path, attend_dir, id);
    ++sum->n_stage1;
    return att;
}

json eval_rle_json(const rle & r) { return { { "size", { r.h, r.w } }, { "counts", rle_to_string(r) } }; }

void eval_run_check(const eval_run_params & p) {
    if (p.stage < 0 || p.stage > 2) {
        fail("--stage must be 1, 2 or all, got %d", p.stage);
    }
    if (p.out_dir.empty()) {
        fail("no output folder (-o)");
    }
}

std::string eval_attend_dir(const eval_run_params & p) {
    return p.attend_dir.empty() ? p.out_dir + "/attend" : p.attend_dir;
}

// The manifests: <attend_dir>/eval.json for stage 1, <out_dir>/eval.json (with the stage-1 settings) for stage 2.
static void write_manifests(const eval_run_params & p, const eval_run_images_params & e, const std::string & attend_dir) {
    json stage1 = eval_stage1_settings(p.stage1);
    if (e.uses_lmm && p.stage != 2) {
        make_dirs(attend_dir);
        stage1 = eval_manifest_check_or_write(attend_dir, { { "kind", "attend" }, { "settings", stage1 } })["settings"];
    } else if (e.uses_lmm) {
        stage1 = eval_manifest_read(attend_dir)["settings"];
    }
    if (p.stage != 1) {
        json settings = e.settings;
        if (e.uses_lmm) {
            settings["stage1"] = stage1;
        }
        json manifest = e.manifest;
        manifest["kind"]       = e.kind;
        manifest["settings"]   = settings;
        manifest["images_dir"] = abs_path(p.images_dir);
        manifest["attend_dir"] = e.uses_lmm ? abs_path(attend_dir) : "";
        eval_manifest_check_or_write(p.out_dir, manifest);
        make_dirs(p.out_dir + "/images");
    }
}

// --stage 2: every image of [b, e) that needs stage 1 (and is not done, and has its file) must have its output.
static void check_stage1_done(const eval_run_images_params & e, const std::string & attend_dir,
                              const std::string & img_out, int64_t b, int64_t end) {
    int64_t     n_missing = 0;
    std::string first;
    for (int64_t i = b; i < end; ++i) {
        const std::string id = e.id(i);
        if (eval_result_complete(img_out + "/" + id + ".json") || (e.needs_stage1 && !e.needs_stage1(i)) ||
            !eval_image_present(e.image_path(i)) || eval_attend_exists(attend_dir, id)) {
            continue;
        }
        if (n_missing++ < 3) {
            first += (first.empty() ? "" : ", ") + id;
        }
    }
    if (n_missing > 0) {
        fail("--stage 2: %lld images of this chunk have no stage-1 output in %s (e.g. %s); run --stage 1 first",
             (long long) n_missing, attend_dir.c_str(), first.c_str());
    }
}

eval_run_summary eval_run_images(eval_models & m, const eval_run_params & p, const eval_run_images_params & e) {
    eval_run_summary  sum;
    const std::string attend_dir = eval_attend_dir(p);
    const std::string img_out    = p.out_dir + "/images";
    int64_t           b = 0, end = 0;
    eval_chunk_range(e.n_images, p.shard, &b, &end);
    sum.n_total = e.n_images;
    sum.n_chunk = end - b;
    write_manifests(p, e, attend_dir);
    if (e.uses_lmm && p.stage == 2) {
        check_stage1_done(e, attend_dir, img_out, b, end);
    }

    progress_bar bar(p.stage == 1 ? std::string(e.name) + " stage 1" : std::string(e.name), end - b, p.progress);
    for (int64_t i = b; i < end; ++i) {
        const std::string id   = e.id(i);
        const bool        done = p.stage == 1 ? eval_attend_exists(attend_dir, id) || (e.needs_stage1 && !e.needs_stage1(i))
                                              : eval_result_complete(img_out + "/" + id + ".json");
        if (done) {
            ++sum.n_skipped;
            bar.skip();
            continue;
        }
        if (p.max_images >= 0 && sum.n_computed >= p.max_images) {
            sum.stopped_early = true;
            break;
        }
        const std::string path = e.image_path(i);
        if (p.stage == 1) {
            if (!eval_image_present(path)) {
                GLM_LOG_WARN("%s: image %s: %s is missing\n", e.name, id.c_str(), path.c_str());
                ++sum.n_missing_images;
            } else {
                eval_attend_run_and_save(m, p.stage1, image_load(path), path, attend_dir, id);
                ++sum.n_stage1;
            }
        } else {
            const json r = e.process(i, path, attend_dir, sum);
            write_file_atomic(img_out + "/" + id + ".json", r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
        }
        ++sum.n_computed;
        bar.tick();
    }
    bar.finish();
    sum.seconds = now_s() - e.t_start;
    return sum;
}

}  // namespace glm
