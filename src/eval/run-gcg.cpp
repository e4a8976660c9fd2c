// eval/run-gcg.cpp: eval-gcg runs on GranD-f and their merge (see run-gcg.h).
#include "eval/run-gcg.h"

#include "common.h"
#include "eval/ptb-tokenize.h"
#include "eval/text-sim.h"
#include "phrases.h"

#include <algorithm>
#include <set>

namespace glm {

using json = nlohmann::json;

static const char * k_result_format = "groundlmm.eval-gcg/1";

static std::string id_text(const json & v, const std::string & where) {
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_number_integer()) {
        return std::to_string(v.get<int64_t>());
    }
    fail("%s: expected a string or integer image id, got %s", where.c_str(), v.dump().c_str());
}

static const json & member(const json & o, const char * key, const std::string & where) {
    if (!o.is_object() || !o.contains(key)) {
        fail("%s: missing '%s'", where.c_str(), key);
    }
    return o.at(key);
}

gcg_ground_truth gcg_load_ground_truth(const std::string & caption_path, const std::string & mask_path) {
    gcg_ground_truth gt;
    const json       cap  = coco_read_json(caption_path);
    const json &     imgs = member(cap, "images", caption_path);
    if (!imgs.is_array()) {
        fail("%s: 'images' must be an array", caption_path.c_str());
    }
    for (size_t i = 0; i < imgs.size(); ++i) {
        const std::string w = caption_path + ": images[" + std::to_string(i) + "]";
        gcg_gt_image      im;
        im.id     = id_text(member(imgs[i], "id", w), w + ".id");
        im.num_id = (int64_t) i + 1;
        eval_id_filename(im.id);
        im.file_name = imgs[i].contains("file_name") && imgs[i]["file_name"].is_string()
                           ? imgs[i]["file_name"].get<std::string>()
                           : im.id + ".jpg";
        im.width  = imgs[i].value("width", 0);
        im.height = imgs[i].value("height", 0);
        if (!gt.index.emplace(im.id, gt.images.size()).second) {
            fail("%s: image id '%s' appears twice", w.c_str(), im.id.c_str());
        }
        gt.images.push_back(std::move(im));
    }
    const json &     anns = member(cap, "annotations", caption_path);
    std::set<size_t> has_caption;
    for (size_t i = 0; i < anns.size(); ++i) {
        const std::string w  = caption_path + ": annotations[" + std::to_string(i) + "]";
        const std::string id = id_text(member(anns[i], "image_id", w), w + ".image_id");
        auto              it = gt.index.find(id);
        if (it == gt.index.end()) {
            fail("%s: image_id '%s' is not among the file's images", w.c_str(), id.c_str());
        }
        gcg_gt_image & im = gt.images[it->second];
        const json &   c  = member(anns[i], "caption", w);
        if (!c.is_string()) {
            fail("%s: expected a string 'caption'", w.c_str());
        }
        im.captions.push_back(c.get<std::string>());  // every caption is a METEOR reference (COCOEvalCap)
        if (!has_caption.insert(it->second).second) {
            continue;  // the recall takes the labels of the first caption of an image
        }
        const json & l = member(anns[i], "labels", w);
        if (!l.is_array()) {
            fail("%s: expected a list 'labels'", w.c_str());
        }
        im.caption = c.get<std::string>();
        for (const auto & x : l) {
            if (!x.is_string()) {
                fail("%s: labels must be strings", w.c_str());
            }
            im.labels.push_back(x.get<std::string>());
        }
    }
    for (size_t i = 0; i < gt.images.size(); ++i) {
        if (!has_caption.count(i)) {
            fail("%s: image '%s' has no caption annotation", caption_path.c_str(), gt.images[i].id.c_str());
        }
    }
    // the mask file with its (string) image ids mapped to the caption file's numbering
    json        mj   = coco_read_json(mask_path);
    json &      mimg = mj["images"];
    int64_t     next = (int64_t) gt.images.size() + 1;
    std::map<std::string, int64_t> num;
    for (const auto & im : gt.images) {
        num[im.id] = im.num_id;
    }
    if (!mimg.is_array() || !mj.contains("annotations") || !mj["annotations"].is_array()) {
        fail("%s: expected COCO instances ('images' and 'annotations' arrays)", mask_path.c_str());
    }
    for (size_t i = 0; i < mimg.size(); ++i) {
        const std::string w  = mask_path + ": images[" + std::to_string(i) + "]";
        const std::string id = id_text(member(mimg[i], "id", w), w + ".id");
        auto              it = num.find(id);
        mimg[i]["id"]        = it != num.end() ? it->second : (num[id] = next++);
    }
    for (size_t i = 0; i < mj["annotations"].size(); ++i) {
        json &            a  = mj["annotations"][i];
        const std::string w  = mask_path + ": annotations[" + std::to_string(i) + "]";
        const std::string id = id_text(member(a, "image_id", w), w + ".image_id");
        auto              it = num.find(id);
        if (it == num.end()) {
            fail("%s: image_id '%s' is not among the mask file's images", w.c_str(), id.c_str());
        }
        a["image_id"] = it->second;
    }
    if (!mj.contains("categories")) {
        mj["categories"] = json::array({ { { "id", 1 }, { "name", "object" } } });
    }
    gt.masks = coco_parse_dataset(mj, mask_path);
    return gt;
}

static json process_image(eval_models & m, const gcg_run_params & p, const gcg_gt_image & im,
                          const std::string & path, const std::string & attend_dir, eval_run_summary & sum) {
    json r = {
        { "format", k_result_format },
        { "image_id", im.id },
        { "status", "ok" },
        { "caption", "" },
        { "phrases", json::array() },
        { "pred_masks", json::array() },
        { "points", json::array() },
        { "heads", json::array() },
        { "scores", json::array() },
    };
    json counts = { { "phrases", 0 }, { "no_tokens", 0 }, { "masks", 0 }, { "empty_masks", 0 } };
    std::vector<std::string> phrases;
    if (!eval_image_present(path)) {
        GLM_LOG_WARN("eval-gcg: image %s: %s is missing (an empty prediction)\n", im.id.c_str(), path.c_str());
        ++sum.n_missing_images;
        r["status"] = "missing-image";
    } else {
        const image_u8 img = image_load(path);
        const attend_result att = eval_attend_load_or_run(m, p.run.stage1, img, path, attend_dir, im.id, &sum);
        if (att.image_w != img.w || att.image_h != img.h) {
            fail("image %s: the stage-1 output was made on a %dx%d image, the file is %dx%d", im.id.c_str(),
                 att.image_w, att.image_h, img.w, img.h);
        }
        r["caption"]     = att.out.answer;
        ground_params gp = p.run.ground;
        gp.keep_empty    = true;
        gp.more_masks    = false;
        gp.keep_maps     = false;
        const ground_result g = ground(att, img, m.chunker(), nullptr, gp);
        sum.n_sentences += g.n_sentences;
        sum.n_fallback_sentences += g.n_fallback_sentences;
        bool                  image_set = false;
        for (const auto & ph : g.phrases) {
            counts["phrases"] = counts["phrases"].get<int>() + 1;
            if (ph.tokens.empty() || ph.x < 0) {
                counts["no_tokens"] = counts["no_tokens"].get<int>() + 1;
                continue;
            }
            refiner & ref = m.refine();
            if (!image_set) {
                ref.set_image(img);
                image_set = true;
            }
            const eval_masks em = eval_refine_point(ref, ph.x, ph.y, p.run.ground.select, false);
            counts["masks"]     = counts["masks"].get<int>() + 1;
            if (rle_area(em.masks[0]) == 0) {
                counts["empty_masks"] = counts["empty_masks"].get<int>() + 1;  // kept, as the official code does
            }
            phrases.push_back(ph.np.text);
            r["phrases"].push_back(ph.np.text);
            r["heads"].push_back(ph.np.head_text);
            r["pred_masks"].push_back(eval_rle_json(em.masks[0]));
            r["points"].push_back({ ph.x, ph.y });
            r["scores"].push_back(em.scores[0]);
        }
        if (att.out.answer.empty()) {
            r["status"] = "empty-answer";
        }
    }
    // phrase similarity [ground-truth label][predicted phrase]
    json matrix = json::array();
    if (!phrases.empty()) {
        text_similarity & ts = m.text();
        for (const auto & gl : im.labels) {
            json row = json::array();
            for (const auto & pp : phrases) {
                row.push_back(ts.similarity(gl, pp));
            }
            matrix.push_back(row);
        }
    } else {
        for (size_t i = 0; i < im.labels.size(); ++i) {
            matrix.push_back(json::array());
        }
    }
    r["text_similarity"] = { { "name", p.text_sim_name }, { "gt_labels", im.labels }, { "matrix", matrix } };
    r["counts"]          = counts;
    r["complete"]        = true;
    return r;
}

eval_run_summary gcg_run(eval_models & m, const gcg_run_params & p) {
    eval_run_check(p.run);
    const double           t_start = now_s();
    const gcg_ground_truth gt      = gcg_load_ground_truth(p.caption_gt_path, p.mask_gt_path);
    const ground_params &  g       = p.run.ground;

    eval_run_images_params e;
    e.kind     = "gcg";
    e.name     = "eval-gcg";
    e.settings = {
        { "caption_gt", eval_base_name(p.caption_gt_path) },
        { "mask_gt", eval_base_name(p.mask_gt_path) },
        { "n_images", (int64_t) gt.images.size() },
        { "method", "attend-and-segment" },
        { "stage2", [&] {
             json s2               = eval_stage2_settings(g);
             s2["refiner"]         = p.run.refiner_name;
             s2["text_similarity"] = p.text_sim_name;
             return s2;
         }() },
    };
    e.manifest = { { "caption_gt_path", abs_path(p.caption_gt_path) }, { "mask_gt_path", abs_path(p.mask_gt_path) } };
    e.n_images   = (int64_t) gt.images.size();
    e.t_start    = t_start;
    e.id         = [&](int64_t i) { return gt.images[i].id; };
    e.image_path = [&](int64_t i) { return p.run.images_dir + "/" + gt.images[i].file_name; };
    e.process    = [&](int64_t i, const std::string & path, const std::string & attend_dir, eval_run_summary & sum) {
        return process_image(m, p, gt.images[i], path, attend_dir, sum);
    };
    return eval_run_images(m, p.run, e);
}

// ---- merge ----

gcg_report gcg_merge(const std::vector<std::string> & run_dirs, const gcg_merge_params & p) {
    gcg_report rep;
    rep.run_dirs = run_dirs;
    rep.manifest = eval_manifest_of_shards(run_dirs, "gcg");
    const json & st  = rep.manifest["settings"];
    rep.label        = "attend-and-segment (" + st["stage1"].value("llm", std::string("?")) + ", " +
                st["stage2"].value("refiner", std::string("?")) + ")";
    rep.text_sim     = st["stage2"].value("text_similarity", std::string("?"));
    rep.text_sim_fallback = rep.text_sim.rfind("bert:", 0) != 0;
    const gcg_ground_truth gt = gcg_load_ground_truth(
        p.caption_gt_path.empty() ? rep.manifest.value("caption_gt_path", std::string()) : p.caption_gt_path,
        p.mask_gt_path.empty() ? rep.manifest.value("mask_gt_path", std::string()) : p.mask_gt_path);
    if ((int64_t) gt.images.size() != st.value("n_images", (int64_t) -1)) {
        fail("the caption ground truth has %zu images, the run was made on %lld: not the same ground truth",
             gt.images.size(), (long long) st.value("n_images", (int64_t) -1));
    }
    rep.n_images_gt = (int64_t) gt.images.size();
    for (const auto & dir : run_dirs) {
        for (const auto & f : list_result_files(dir + "/images")) {
            if (!gt.index.count(f)) {
                fail("%s/images/%s.json: image id '%s' is not in the ground truth", dir.c_str(), f.c_str(), f.c_str());
            }
        }
    }
    // ground-truth masks per image, annotation order
    std::map<int64_t, std::vector<rle>> gt_masks;
    for (const auto & a : gt.masks.annotations) {
        gt_masks[a.image_id].push_back(a.segm);
    }
    std::vector<gcg_image>                evaluated;
    std::vector<std::string>              hyps;
    std::vector<std::vector<std::string>> refs;
    for (const auto & im : gt.images) {
        const std::string path = eval_find_result(run_dirs, im.id);
        if (path.empty()) {
            ++rep.n_missing_results;
            continue;
        }
        const json r = eval_read_result(path);
        if (id_text(r.at("image_id"), path) != im.id) {
            fail("%s: image_id %s, expected '%s'", path.c_str(), r.at("image_id").dump().c_str(), im.id.c_str());
        }
        const std::string status = r.value("status", std::string());
        rep.n_missing_images += status == "missing-image";
        rep.n_empty_answers += status == "empty-answer";
        const json & c = r.at("counts");
        rep.n_phrases += c.value("phrases", 0);
        rep.n_no_tokens += c.value("no_tokens", 0);
        rep.n_masks += c.value("masks", 0);
        rep.n_empty_masks += c.value("empty_masks", 0);
        const std::string ts = r.at("text_similarity").value("name", std::string());
        if (ts != rep.text_sim) {
            fail("%s: phrase similarity '%s', the run's manifest says '%s'", path.c_str(), ts.c_str(),
                 rep.text_sim.c_str());
        }
        gcg_image gi;
        gi.image_id = im.num_id;
        auto git    = gt_masks.find(im.num_id);
        if (git != gt_masks.end()) {
            gi.gt_masks = git->second;
        }
        if (gi.gt_masks.size() != im.labels.size()) {
            fail("image '%s': %zu ground-truth masks but %zu labels (the GranD-f files pair them one to one)",
                 im.id.c_str(), gi.gt_masks.size(), im.labels.size());
        }
        gi.n_gt_phrases = (int) im.labels.size();
        for (const auto & m : r.at("pred_masks")) {
            gi.pred_masks.push_back(coco_segmentation_to_rle(m, im.height, im.width, path + ": pred_masks"));
        }
        const json & mat = r.at("text_similarity").at("matrix");
        for (const auto & row : mat) {
            gi.text_similarity.push_back(row.get<std::vector<double>>());
        }
        if (gi.pred_masks.empty()) {  // an empty row per ground-truth label
            gi.text_similarity.assign(gi.gt_masks.size(), {});
        }
        evaluated.push_back(std::move(gi));
        hyps.push_back(r.value("caption", std::string()));
        refs.push_back(im.captions);
    }
    rep.n_images_evaluated = (int64_t) evaluated.size();
    rep.partial = eval_check_coverage(rep.n_missing_results, rep.n_images_gt, rep.n_images_evaluated, run_dirs,
                                      p.allow_partial);
    rep.gcg = gcg_evaluate(evaluated, gcg_params());
    if (!rep.partial) {
        rep.ap = gcg_mask_ap(gt.masks, evaluated, 1);
    } else {  // only the images done
        std::vector<coco_annotation> dts;
        cocoeval_params              ep;
        ep.cat_ids = { 1 };
        for (const auto & gi : evaluated) {
            ep.img_ids.push_back(gi.image_id);
            for (const auto & m : gi.pred_masks) {
                coco_annotation d;
                d.id          = (int64_t) dts.size() + 1;
                d.image_id    = gi.image_id;
                d.category_id = 1;
                d.segm        = m;
                d.area        = (double) rle_area(m);
                dts.push_back(std::move(d));
            }
        }
        rep.ap = coco_evaluate_segm(gt.masks, dts, ep);
    }
    // pycocoevalcap tokenises the predictions and the references as two streams of lines (images in the caption
    // file's order, an image's references in annotation order), then runs Meteor
    {
        std::vector<std::string> ref_lines;
        for (const auto & r : refs) {
            ref_lines.insert(ref_lines.end(), r.begin(), r.end());
        }
        hyps      = ptb_tokenize_captions(hyps);
        ref_lines = ptb_tokenize_captions(ref_lines);
        size_t k  = 0;
        for (auto & r : refs) {
            for (auto & line : r) {
                line = ref_lines[k++];
            }
        }
    }
    const meteor_scorer ms(p.meteor);
    rep.meteor       = ms.evaluate(hyps, refs);
    rep.meteor_exact = ms.exact_resources();
    return rep;
}

json gcg_report::to_json() const {
    return {
        { "kind", "gcg" },
        { "label", label },
        { "partial", partial },
        { "run_dirs", run_dirs },
        { "settings", manifest.at("settings") },
        { "meteor", meteor },
        { "meteor_exact_resources", meteor_exact },
        { "ap50", ap.stats[1] },
        { "miou", gcg.miou },
        { "recall", gcg.recall },
        { "recall_matches", gcg.n_matches },
        { "recall_gt_phrases", gcg.n_gt_phrases },
        { "text_similarity", text_sim },
        { "text_similarity_fallback", text_sim_fallback },
        { "counts",
          { { "images_gt", n_images_gt },
            { "images_evaluated", n_images_evaluated },
            { "images_without_result", n_missing_results },
            { "images_missing_file", n_missing_images },
            { "empty_answers", n_empty_answers },
            { "phrases", n_phrases },
            { "phrases_without_tokens", n_no_tokens },
            { "masks", n_masks },
            { "empty_masks", n_empty_masks } } },
    };
}

std::string gcg_report_markdown(const std::vector<gcg_report> & reports) {
    std::string s = "| Method | METEOR | AP50 | mIoU | Recall |\n|---|---|---|---|---|\n";
    for (const auto & r : reports) {
        s += strfmt("| %s%s | %.1f%s | %.1f | %.1f | %.1f%s |\n", r.label.c_str(), r.partial ? " **PARTIAL**" : "",
                    100.0 * r.meteor, r.meteor_exact ? "" : "*", 100.0 * std::max(0.0, r.ap.stats[1]),
                    100.0 * r.gcg.miou, 100.0 * r.gcg.recall, r.text_sim_fallback ? "†" : "");
    }
    s += "\n";
    for (const auto & r : reports) {
        s += strfmt("- %s: %lld/%lld images evaluated%s; %lld missing image files and %lld empty answers (empty "
                    "predictions); %lld phrases, %lld without tokens (dropped), %lld masks (%lld empty); recall %d/%d "
                    "labels; phrase similarity %s.\n",
                    r.label.c_str(), (long long) r.n_images_evaluated, (long long) r.n_images_gt,
                    r.partial ? strfmt(" (PARTIAL: %lld without results)", (long long) r.n_missing_results).c_str()
                              : "",
                    (long long) r.n_missing_images, (long long) r.n_empty_answers, (long long) r.n_phrases,
                    (long long) r.n_no_tokens, (long long) r.n_masks, (long long) r.n_empty_masks, r.gcg.n_matches,
                    r.gcg.n_gt_phrases, r.text_sim.c_str());
        if (!r.meteor_exact) {
            s += "  \\* METEOR approximate: Meteor's function-word and nonbreaking-prefix lists were not given "
                 "(--meteor-resources); the paraphrase module is never available.\n";
        }
        if (r.text_sim_fallback) {
            s += "  † Recall with the FALLBACK phrase similarity (" + r.text_sim +
                 "), not GLaMM's BERT cosine: not comparable with published numbers (give --bert).\n";
        }
    }
    return s;
}

}  // namespace glm
