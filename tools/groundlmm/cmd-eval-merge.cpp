// groundlmm eval-merge: merges the per-image results of eval-coco / eval-gcg run folders (shards of a run, and
// several runs side by side) and prints the metrics table (markdown) like the paper's Tables 1 and 2; writes
// metrics.md and metrics.json (and detections.json, COCO result format, for eval-coco runs).
#include "cli-common.h"
#include "common.h"
#include "eval/run-coco.h"
#include "eval/run-gcg.h"
#include "eval/run-vqa.h"
#include "eval/vqa-score.h"

#include <cstdio>
#include <map>

int cmd_eval_merge(int argc, char ** argv) {
    CLI::App                 app("Merge eval-coco / eval-gcg shards and print the metrics table", argv[0]);
    std::vector<std::string> dirs;
    std::string              out, ann, cap_gt, mask_gt, vqa_gt, meteor_res, wordnet = "/usr/share/wordnet";
    bool                     partial = false, json_only = false;
    app.add_option("runs", dirs, "run folders: the shards of one run, and/or several runs (one table row each)")
        ->required();
    app.add_option("-o,--output", out, "where metrics.md / metrics.json go (default: the first run folder)");
    app.add_flag("--partial", partial, "evaluate only the images that have results (the table says PARTIAL)");
    app.add_option("--ann", ann, "eval-coco: the COCO instances file, if it moved since the run");
    app.add_option("--gt-caption", cap_gt, "eval-gcg: the caption ground truth, if it moved");
    app.add_option("--gt-mask", mask_gt, "eval-gcg: the mask ground truth, if it moved");
    app.add_option("--meteor-resources", meteor_res,
                   "Meteor's resources folder (function/english.words, nonbreaking/english.prefixes) for exact METEOR");
    app.add_option("--wordnet", wordnet, "WordNet folder for METEOR's synonym module")->capture_default_str();
    app.add_option("--vqa-gt", vqa_gt, "eval-vqa: the benchmark's ground truth, to score the merged answers (vqa-score --gt)");
    app.add_flag("--json", json_only, "print the JSON instead of the markdown table");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    // group the folders into runs: same kind and settings = shards of one run
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;  // (kind, folders)
    std::vector<std::string>                                      keys;
    for (const auto & d : dirs) {
        const nlohmann::json m   = glm::eval_manifest_read(d);
        const std::string    key = m["kind"].dump() + m["settings"].dump();
        size_t               g   = 0;
        while (g < keys.size() && keys[g] != key) {
            ++g;
        }
        if (g == keys.size()) {
            keys.push_back(key);
            groups.push_back({ m["kind"].get<std::string>(), {} });
        }
        groups[g].second.push_back(d);
    }
    std::string                   md;  // VQA runs add their section as they merge; COCO and GCG tables below
    std::vector<glm::coco_report> coco;
    std::vector<glm::gcg_report>  gcg;
    nlohmann::json                all = nlohmann::json::array();
    for (const auto & g : groups) {
        if (g.first == "coco") {
            glm::coco_merge_params cp;
            cp.ann_path      = ann;
            cp.allow_partial = partial;
            coco.push_back(glm::coco_merge(g.second, cp));
            glm::write_file(g.second[0] + "/detections.json", coco.back().detections.dump() + "\n");
            all.push_back(coco.back().to_json());
        } else if (g.first == "gcg") {
            glm::gcg_merge_params gp;
            gp.caption_gt_path      = cap_gt;
            gp.mask_gt_path         = mask_gt;
            gp.allow_partial        = partial;
            gp.meteor.wordnet_dir   = wordnet;
            gp.meteor.resources_dir = meteor_res;
            gcg.push_back(glm::gcg_merge(g.second, gp));
            all.push_back(gcg.back().to_json());
        } else if (g.first == "vqa") {
            // the shards' answers as one LLaVA answers file, scored when the ground truth is given
            const std::string answers = g.second[0] + "/answers.jsonl";
            int64_t           missing = 0;
            const int64_t     n       = glm::vqa_merge_answers(g.second, answers, partial, &missing);
            const nlohmann::json m    = glm::eval_manifest_read(g.second[0]);
            nlohmann::json       rep  = { { "kind", "vqa" }, { "runs", g.second }, { "answers", answers }, { "n_answers", n },
                                          { "n_missing", missing }, { "bench", m["settings"]["bench"] } };
            if (!vqa_gt.empty()) {
                glm::vqa_score_params sp;
                sp.bench        = glm::vqa_bench_from_name(m["settings"]["bench"].get<std::string>());
                sp.pred_path    = answers;
                sp.gt_path      = vqa_gt;
                rep["metrics"]  = glm::vqa_score(sp).metrics;
            }
            md += glm::strfmt("### VQA (%s)\n\n%lld answers in %s%s%s\n", rep["bench"].get<std::string>().c_str(),
                              (long long) n, answers.c_str(), missing ? " (partial)" : "",
                              rep.contains("metrics") ? ("\n\n```json\n" + rep["metrics"].dump(2) + "\n```").c_str()
                                                      : "; score them with groundlmm vqa-score (or --vqa-gt)");
            all.push_back(rep);
        } else {
            glm::fail("%s: run kind '%s' cannot be merged (stage-1 folders have no metrics)", g.second[0].c_str(),
                      g.first.c_str());
        }
    }
    if (!coco.empty()) {
        md += std::string(md.empty() ? "" : "\n") + "### Instance segmentation from descriptions (COCO segm, %)\n\n" +
              glm::coco_report_markdown(coco);
    }
    if (!gcg.empty()) {
        md += std::string(md.empty() ? "" : "\n") + "### Grounded conversation generation (%)\n\n" +
              glm::gcg_report_markdown(gcg);
    }
    const std::string dest = out.empty() ? dirs[0] : out;
    glm::make_dirs(dest);
    glm::write_file(dest + "/metrics.md", md);
    glm::write_file(dest + "/metrics.json", all.dump(2) + "\n");
    printf("%s", json_only ? (all.dump(2) + "\n").c_str() : md.c_str());
    fflush(stdout);
    fprintf(stderr, "wrote %s/metrics.md and %s/metrics.json\n", dest.c_str(), dest.c_str());
    return 0;
}
