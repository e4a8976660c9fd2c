// groundlmm eval-gcg: grounded conversation generation on GranD-f (GLaMM's GCG benchmark): describe each image,
// attend-and-segment, one SAM mask per noun phrase, phrase similarities for the recall. Resumable and shardable;
// eval-merge computes METEOR, AP50, mIoU and recall.
#include "cli-eval.h"
#include "common.h"
#include "eval/run-gcg.h"

#include <cstdio>

int cmd_eval_gcg(int argc, char ** argv) {
    CLI::App       app("Grounded conversation generation (GranD-f GCG): METEOR, AP50, mIoU, recall", argv[0]);
    cli_model_opts mo;
    cli_settings   so;
    cli_eval_opts  eo;
    std::string    cap_gt, mask_gt, bert, word_vectors;
    mo.add(app, /*require_model=*/false);
    mo.add_refiner(app);
    so.add(app, /*stage1=*/true, /*stage2=*/true, { "answer" });
    eo.add(app);
    app.add_option("--gt-caption", cap_gt, "val_gcg_coco_caption_gt.json (or test_)")->required();
    app.add_option("--gt-mask", mask_gt, "val_gcg_coco_mask_gt.json (or test_)")->required();
    app.add_option("--images", eo.images, "image folder (GranDf_HA_images/val_test/)")->required();
    app.add_option("--bert", bert,
                   "bert-base-uncased GGUF (llama.cpp convert_hf_to_gguf.py) for the recall's phrase similarity; "
                   "without it a labelled fallback (head-noun word similarity) is used");
    app.add_option("--word-vectors", word_vectors, "word vectors for the fallback's head-noun similarity (default WordNet)");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    const int stage = eo.stage_number();
    eo.check(true, stage, mo);
    if (bert.empty() && stage != 1) {
        fprintf(stderr, "eval-gcg: no --bert given: recall uses the FALLBACK phrase similarity (head nouns), labelled "
                        "as such in the table; it is not GLaMM's BERT recall\n");
    }
    cli_eval_models models(mo, eo);
    const glm::run_settings settings = so.get();
    models.word_vectors = word_vectors;
    models.bert_path    = bert;

    glm::gcg_run_params p;
    p.run             = eo.run_params(mo, settings);
    p.caption_gt_path = cap_gt;
    p.mask_gt_path    = mask_gt;
    p.text_sim_name   = models.text_name();
    const glm::eval_run_summary s = glm::gcg_run(models, p);
    cli_print_summary("eval-gcg", s, eo);
    return 0;
}
