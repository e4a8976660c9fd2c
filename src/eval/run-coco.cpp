// eval/run-coco.cpp: eval-coco runs (stage 1, stage 2, random-point baseline) and their merge (see run-coco.h).
#include "eval/run-coco.h"

#include "common.h"
#include "eval/category-match.h"
#include "phrases.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace glm {

using json = nlohmann::json;

static const char * k_result_format = "groundlmm.eval-coco/1";

const char * coco_method_name(coco_method m) {
    return m == coco_method::random_point ? "random-point" : "attend-and-segment";
}

// The ground truth's categories present in each image, ascending id (the official ref_category_ids order).
static std::map<int64_t, std::vector<category_candidate>> image_categories(const coco_dataset & gt) {
    std::map<int64_t, std::set<int64_t>> ids;
    for (const auto & a : gt.annotations) {
        ids[a.image_id].insert(a.category_id);
    }
    std::map<int64_t, std::vector<category_candidate>> out;
    for (const auto & kv : ids) {
        for (int64_t c : kv.second) {
            out[kv.first].push_back({ c, gt.categories[gt.category_index.at(c)].name });
        }
    }
    return out;
}

static double effective_thresh(const coco_run_params & p) {
    return p.category_thresh >= 0 ? p.category_thresh : p.similarity_default_thresh;
}

static json stage2_settings(const coco_run_params & p) {
    json s = {
        { "refiner", p.run.refiner_name },
        { "more_masks", p.run.ground.more_masks },
        { "mask_select", mask_select_name(p.run.ground.select) },
    };
    if (p.method == coco_method::attend_segment) {
        s                    = eval_stage2_settings(p.run.ground);
        s["refiner"]         = p.run.refiner_name;
        s["similarity"]      = p.similarity_name;
        s["category_thresh"] = effective_thresh(p);
    } else {
        s["seed"] = p.baseline_seed;
    }
    return s;
}

// One image of stage 2 (or the baseline): the per-image result object.
static json process_image(eval_models & m, const coco_run_params & p, const coco_dataset & gt, const coco_image & im,
                          const std::vector<category_candidate> & cands, const std::string & image_path,
                          const std::string & attend_dir, eval_run_summary & sum) {
    json r = {
        { "format", k_result_format },
        { "image_id", im.id },
        { "file_name", im.file_name },
        { "width", im.width },
        { "height", im.height },
        { "status", "ok" },
        { "answer", "" },
        { "phrases", json::array() },
        { "detections", json::array() },
    };
    json counts = { { "phrases", 0 }, { "matched", 0 }, { "unmatched", 0 }, { "no_tokens", 0 },
                    { "empty_masks", 0 }, { "detections", 0 } };
    auto finish = [&](const char * status) {
        r["status"]   = status;
        r["counts"]   = counts;
        r["complete"] = true;
        return r;
    };
    if (cands.empty()) {
        return finish("no-gt-categories");
    }
    if (!eval_image_present(image_path)) {
        GLM_LOG_WARN("eval-coco: image %lld: %s is missing (its objects count as misses)\n", (long long) im.id,
                     image_path.c_str());
        ++sum.n_missing_images;
        return finish("missing-image");
    }
    const image_u8 img = image_load(image_path);
    if ((im.width > 0 && img.w != im.width) || (im.height > 0 && img.h != im.height)) {
        fail("image %lld: %s is %dx%d but the annotations say %dx%d", (long long) im.id, image_path.c_str(), img.w,
             img.h, im.width, im.height);
    }
    const double t0 = now_s();
    // (phrase index, point, category) of each prompt
    struct prompt {
        int     phrase;
        int     x, y;
        int64_t category;
    };
    std::vector<prompt> prompts;
    if (p.method == coco_method::random_point) {
        uint64_t state = eval_mix64(p.baseline_seed, (uint64_t) im.id);
        for (const auto & c : cands) {
            const int x = (int) eval_uniform(&state, img.w);
            const int y = (int) eval_uniform(&state, img.h);
            prompts.push_back({ -1, x, y, c.id });
        }
    } else {
        const attend_result att =
            eval_attend_load_or_run(m, p.run.stage1, img, image_path, attend_dir, std::to_string(im.id), &sum);
        if (att.image_w != img.w || att.image_h != img.h) {
            fail("image %lld: the stage-1 output in %s/%lld was made on a %dx%d image, the file is %dx%d",
                 (long long) im.id, attend_dir.c_str(), (long long) im.id, att.image_w, att.image_h, img.w, img.h);
        }
        r["answer"] = att.out.answer;
        ground_params gp   = p.run.ground;
        gp.keep_empty      = true;
        gp.keep_maps       = false;
        const ground_result g = ground(att, img, m.chunker(), nullptr, gp);  // points only; SAM below
        sum.n_sentences += g.n_sentences;
        sum.n_fallback_sentences += g.n_fallback_sentences;
        const double        thresh = effective_thresh(p);
        for (size_t i = 0; i < g.phrases.size(); ++i) {
            const ground_phrase & ph = g.phrases[i];
            json                  pj = {
                { "text", ph.np.text },
                { "head", ph.np.head_text },
                { "span", { ph.np.span.begin, ph.np.span.end } },
                { "x", ph.x },
                { "y", ph.y },
            };
            counts["phrases"] = counts["phrases"].get<int>() + 1;
            if (ph.tokens.empty() || ph.x < 0) {
                pj["status"]        = "no-tokens";
                counts["no_tokens"] = counts["no_tokens"].get<int>() + 1;
            } else {
                const category_match cm = match_category(m.words(), ph.np.head_text, cands, thresh);
                pj["category_id"]       = cm.category_id;
                pj["category"]          = cm.name;
                pj["similarity"]        = cm.score;
                pj["status"]            = cm.matched ? "matched" : "unmatched";
                if (cm.matched) {
                    counts["matched"] = counts["matched"].get<int>() + 1;
                    prompts.push_back({ (int) i, ph.x, ph.y, cm.category_id });
                } else {
                    counts["unmatched"] = counts["unmatched"].get<int>() + 1;
                }
            }
            r["phrases"].push_back(pj);
        }
        if (att.out.answer.empty()) {
            r["status"] = "empty-answer";
        } else if (g.phrases.empty()) {
            r["status"] = "no-phrases";
        }
    }
    const double t1 = now_s();
    if (!prompts.empty()) {
        refiner & ref = m.refine();
        ref.set_image(img);  // one image embedding serves every prompt
        for (const prompt & q : prompts) {
            const eval_masks em = eval_refine_point(ref, q.x, q.y, p.run.ground.select, p.run.ground.more_masks);
            for (size_t k = 0; k < em.masks.size(); ++k) {
                if (rle_area(em.masks[k]) == 0) {
                    counts["empty_masks"] = counts["empty_masks"].get<int>() + 1;
                    continue;
                }
                json d = {
                    { "image_id", im.id },
                    { "category_id", q.category },
                    { "segmentation", eval_rle_json(em.masks[k]) },
                    { "score", em.scores[k] },
                    { "point", { q.x, q.y } },
                    { "mask_index", em.index[k] },
                };
                if (q.phrase >= 0) {
                    d["phrase"]      = q.phrase;
                    d["noun_phrase"] = r["phrases"][q.phrase]["text"];
                }
                r["detections"].push_back(d);
                counts["detections"] = counts["detections"].get<int>() + 1;
            }
        }
    }
    r["seconds"] = { { "ground", t1 - t0 }, { "refine", now_s() - t1 } };
    const std::string status = r["status"].get<std::string>();
    return finish(status.c_str());
}

eval_run_summary coco_run(eval_models & m, const coco_run_params & p) {
    if (p.method == coco_method::random_point && p.run.stage == 1) {
        fail("the random-point baseline has no stage 1 (it runs no LMM)");
    }
    eval_run_check(p.run);
    const double       t_start = now_s();
    const coco_dataset gt      = coco_load_dataset(p.ann_path);
    const auto         cats    = image_categories(gt);
    const bool         uses_lmm = p.method == coco_method::attend_segment;

    eval_run_images_params e;
    e.kind     = "coco";
    e.name     = "eval-coco";
    e.uses_lmm = uses_lmm;
    e.settings = { { "ann", eval_base_name(p.ann_path) },
                   { "n_images", (int64_t) gt.images.size() },
                   { "method", coco_method_name(p.method) },
                   { "stage2", stage2_settings(p) } };
    e.manifest = { { "ann_path", abs_path(p.ann_path) } };
    e.n_images = (int64_t) gt.images.size();
    e.t_start  = t_start;
    e.id       = [&](int64_t i) { return std::to_string(gt.images[i].id); };
    e.image_path = [&](int64_t i) {
        const coco_image & im = gt.images[i];
        if (im.file_name.empty()) {
            fail("%s: image %lld has no file_name", p.ann_path.c_str(), (long long) im.id);
        }
        return p.run.images_dir + "/" + im.file_name;
    };
    e.needs_stage1 = [&](int64_t i) { return cats.count(gt.images[i].id) > 0; };  // no categories: nothing to match
    e.process = [&](int64_t i, const std::string & path, const std::string & attend_dir, eval_run_summary & sum) {
        static const std::vector<category_candidate> none;
        const coco_image & im = gt.images[i];
        auto               it = cats.find(im.id);
        return process_image(m, p, gt, im, it == cats.end() ? none : it->second, path, attend_dir, sum);
    };
    return eval_run_images(m, p.run, e);
}

// ---- merge ----

static std::string row_label(const json & settings) {
    const std::string method = settings.value("method", "?");
    const json &      s2     = settings.value("stage2", json::object());
    std::string       label  = method;
    if (settings.contains("stage1")) {
        label += " (" + settings["stage1"].value("llm", std::string("?"));
    } else {
        label += " (";
    }
    const std::string ref = s2.value("refiner", std::string(""));
    if (!ref.empty()) {
        label += (label.back() == '(' ? "" : ", ") + ref;
    }
    if (s2.value("more_masks", false)) {
        label += ", more masks";
    }
    label += ")";
    return label;
}

coco_report coco_merge(const std::vector<std::string> & run_dirs, const coco_merge_params & p) {
    coco_report rep;
    rep.run_dirs = run_dirs;
    rep.manifest = eval_manifest_of_shards(run_dirs, "coco");
    rep.label = row_label(rep.manifest["settings"]);
    const std::string ann = p.ann_path.empty() ? rep.manifest.value("ann_path", std::string()) : p.ann_path;
    const coco_dataset gt = coco_load_dataset(ann);
    if ((int64_t) gt.images.size() != rep.manifest["settings"].value("n_images", (int64_t) -1)) {
        fail("%s has %zu images, the run was made on %lld: not the same ground truth", ann.c_str(), gt.images.size(),
             (long long) rep.manifest["settings"].value("n_images", (int64_t) -1));
    }
    rep.n_images_gt = (int64_t) gt.images.size();

    // every result file must belong to a ground-truth image
    std::set<std::string> gt_ids;
    for (const auto & im : gt.images) {
        gt_ids.insert(std::to_string(im.id));
    }
    for (const auto & dir : run_dirs) {
        for (const auto & f : list_result_files(dir + "/images")) {
            if (!gt_ids.count(f)) {
                fail("%s/images/%s.json: image id %s is not in the ground truth %s", dir.c_str(), f.c_str(),
                     f.c_str(), ann.c_str());
            }
        }
    }

    std::vector<int64_t> evaluated;
    std::vector<coco_point> points;
    rep.detections = json::array();
    for (const auto & im : gt.images) {
        const std::string id = std::to_string(im.id);
        const std::string path = eval_find_result(run_dirs, id);
        if (path.empty()) {
            ++rep.n_missing_results;
            continue;
        }
        const json r = eval_read_result(path);
        if (r.value("image_id", (int64_t) -1) != im.id) {
            fail("%s: image_id %s, expected %lld", path.c_str(), r.value("image_id", json()).dump().c_str(),
                 (long long) im.id);
        }
        evaluated.push_back(im.id);
        const std::string status = r.value("status", std::string());
        rep.n_missing_images += status == "missing-image";
        rep.n_no_gt_categories += status == "no-gt-categories";
        rep.n_empty_answers += status == "empty-answer";
        rep.n_no_phrases += status == "no-phrases";
        const json & c = r.at("counts");
        rep.n_phrases += c.value("phrases", 0);
        rep.n_matched += c.value("matched", 0);
        rep.n_unmatched += c.value("unmatched", 0);
        rep.n_no_tokens += c.value("no_tokens", 0);
        rep.n_empty_masks += c.value("empty_masks", 0);
        for (const auto & d : r.at("detections")) {
            rep.detections.push_back(d);
            const auto & pt = d.at("point");
            points.push_back({ im.id, d.at("category_id").get<int64_t>(), pt.at(0).get<int>(), pt.at(1).get<int>() });
        }
    }
    rep.n_images_evaluated = (int64_t) evaluated.size();
    rep.n_detections       = (int64_t) rep.detections.size();
    rep.partial = eval_check_coverage(rep.n_missing_results, rep.n_images_gt, rep.n_images_evaluated, run_dirs,
                                      p.allow_partial);
    cocoeval_params ep;
    ep.img_ids = evaluated;
    const std::vector<coco_annotation> dts = coco_parse_results(gt, rep.detections, "merged detections");
    rep.eval                               = coco_evaluate_segm(gt, dts, ep);
    rep.pacc                               = coco_point_accuracy(gt, points);
    return rep;
}

json coco_report::to_json() const {
    json stats = json::object();
    for (size_t i = 0; i < 12; ++i) {
        stats[coco_stat_names()[i]] = eval.stats[i];
    }
    return {
        { "kind", "coco" },
        { "label", label },
        { "partial", partial },
        { "run_dirs", run_dirs },
        { "settings", manifest.at("settings") },
        { "segm", stats },
        { "point_accuracy", { { "percent", pacc.percent }, { "correct", pacc.n_correct }, { "total", pacc.n_total } } },
        { "counts",
          { { "images_gt", n_images_gt },
            { "images_evaluated", n_images_evaluated },
            { "images_without_result", n_missing_results },
            { "images_missing_file", n_missing_images },
            { "images_without_gt_categories", n_no_gt_categories },
            { "empty_answers", n_empty_answers },
            { "answers_without_phrases", n_no_phrases },
            { "phrases", n_phrases },
            { "phrases_matched", n_matched },
            { "phrases_unmatched_dropped", n_unmatched },
            { "phrases_without_tokens", n_no_tokens },
            { "empty_masks_skipped", n_empty_masks },
            { "detections", n_detections },
            { "detections_unknown_category", eval.n_dt_unknown_category } } },
    };
}

static std::string pct(double v) { return v < 0 ? "-" : strfmt("%.1f", 100.0 * v); }

std::string coco_report_markdown(const std::vector<coco_report> & reports) {
    std::string s = "| Method | PAcc | AP | AP50 | AP75 | AP_S | AP_M | AP_L | AR1 | AR10 | AR100 | AR_S | AR_M | AR_L |\n"
                    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto & r : reports) {
        s += "| " + r.label + (r.partial ? " **PARTIAL**" : "") + " | " + strfmt("%.1f", r.pacc.percent);
        for (double v : r.eval.stats) {
            s += " | " + pct(v);
        }
        s += " |\n";
    }
    s += "\n";
    for (const auto & r : reports) {
        s += strfmt("- %s: %lld/%lld images evaluated%s; %lld missing image files and %lld empty answers (counted as "
                    "misses); %lld images without ground-truth objects; %lld phrases: %lld matched to a category, "
                    "%lld unmatched (dropped), %lld without tokens (dropped); %lld empty masks skipped; %lld detections; "
                    "point accuracy %d/%d.\n",
                    r.label.c_str(), (long long) r.n_images_evaluated, (long long) r.n_images_gt,
                    r.partial ? strfmt(" (PARTIAL: %lld without results)", (long long) r.n_missing_results).c_str()
                              : "",
                    (long long) r.n_missing_images, (long long) r.n_empty_answers, (long long) r.n_no_gt_categories,
                    (long long) r.n_phrases, (long long) r.n_matched, (long long) r.n_unmatched,
                    (long long) r.n_no_tokens, (long long) r.n_empty_masks, (long long) r.n_detections,
                    r.pacc.n_correct, r.pacc.n_total);
    }
    return s;
}

}  // namespace glm
