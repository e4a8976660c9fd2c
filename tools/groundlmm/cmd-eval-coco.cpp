// groundlmm eval-coco: the pilot study of attend-and-segment — instance segmentation from free-form descriptions on
// COCO (or any COCO instances file): describe each image, attend-and-segment, map head nouns to the image's
// ground-truth categories, SAM masks; or the random-point baseline. Resumable and shardable; eval-merge makes the table.
#include "cli-eval.h"
#include "common.h"
#include "eval/run-coco.h"

#include <cstdio>

int cmd_eval_coco(int argc, char ** argv) {
    CLI::App       app("COCO instance segmentation from free-form descriptions (the paper's pilot study)", argv[0]);
    cli_model_opts mo;
    cli_settings   so;
    cli_eval_opts  eo;
    std::string    ann, baseline = "none", word_vectors;
    double         thresh   = -1.0;
    uint32_t       bseed    = 0;
    mo.add(app, /*require_model=*/false);
    mo.add_refiner(app);
    so.add(app, /*stage1=*/true, /*stage2=*/true, { "answer" });
    eo.add(app);
    app.add_option("--ann", ann, "COCO instances file (instances_val2017.json)")->required();
    app.add_option("--images", eo.images, "image folder (val2017/)")->required();
    app.add_option("--category-thresh", thresh,
                   "keep a phrase when its head noun's similarity to the best category is >= this "
                   "(default: 0.8 for WordNet, 0.5 for word vectors)");
    app.add_option("--word-vectors", word_vectors,
                   "GloVe / fastText text vectors for category matching (spaCy-like; default: WordNet Wu-Palmer)");
    app.add_option("--baseline", baseline, "random-point: one uniformly random point per ground-truth category")
        ->capture_default_str()
        ->check(CLI::IsMember({ "none", "random-point" }));
    app.add_option("--baseline-seed", bseed, "seed of the random points")->capture_default_str();
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    const bool random = baseline == "random-point";
    const int  stage  = eo.stage_number();
    eo.check(!random, stage, mo);

    cli_eval_models models(mo, eo);
    const glm::run_settings settings = so.get();
    models.word_vectors = word_vectors;

    glm::coco_run_params p;
    p.run                       = eo.run_params(mo, settings);
    p.ann_path                  = ann;
    p.method                    = random ? glm::coco_method::random_point : glm::coco_method::attend_segment;
    p.category_thresh           = thresh;
    p.similarity_name           = models.words_name();
    p.similarity_default_thresh = word_vectors.empty() ? glm::k_category_thresh_wordnet : glm::k_category_thresh_vectors;
    p.baseline_seed             = bseed;
    const glm::eval_run_summary s = glm::coco_run(models, p);
    cli_print_summary("eval-coco", s, eo);
    return 0;
}
