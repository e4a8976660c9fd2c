// groundlmm demo: attend-and-segment out of the box. Runs the whole production pipeline — toy-vit vision module,
// libllama with the attention tap, noun phrases, maps, points, region-growing refiner — with the toy LMM that is
// embedded in this binary (models/toy, trained on toy-world captions only: see models/toy/README.md), on the
// bundled toy-world scene or on --image. Writes result.json, overlay.png and answer.html, plus the model files and
// the scene, so that `groundlmm ground` can be run on them with other settings.
#include "cli-common.h"
#include "serve-page.h"
#include "common.h"
#include "ground.h"
#include "outputs.h"

#include <cstdio>
#include <string>

extern "C" {
extern const unsigned char glm_toy_llm_begin[], glm_toy_llm_end[];
extern const unsigned char glm_toy_vit_begin[], glm_toy_vit_end[];
extern const unsigned char glm_toy_scene_begin[], glm_toy_scene_end[];
}

int cmd_demo(int argc, char ** argv) {
    CLI::App    app("Attend-and-segment on the embedded toy model and a bundled scene (no downloads)", argv[0]);
    std::string out = "groundlmm-demo", image;
    int         n_threads = 1, n_predict = 64;
    bool        verbose = false;
    app.add_option("-o,--output", out, "output folder")->capture_default_str();
    app.add_option("--image", image, "another image instead of the bundled scene (the toy model only knows toy-world scenes)");
    app.add_option("-t,--threads", n_threads, "CPU threads (0 = all)")->capture_default_str()->check(CLI::Range(0, 1024));
    app.add_option("-n,--n-predict", n_predict, "max tokens to generate")->capture_default_str()->check(CLI::Range(1, 200));
    app.add_flag("-v,--verbose", verbose, "show ggml/libllama logs");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    const std::string mdir = out + "/model";
    glm::make_dirs(mdir);
    glm::write_file(mdir + "/toy-llm.gguf", glm_toy_llm_begin, (size_t) (glm_toy_llm_end - glm_toy_llm_begin));
    glm::write_file(mdir + "/toy-vit.gguf", glm_toy_vit_begin, (size_t) (glm_toy_vit_end - glm_toy_vit_begin));
    if (image.empty()) {
        image = out + "/scene.png";
        glm::write_file(image, glm_toy_scene_begin, (size_t) (glm_toy_scene_end - glm_toy_scene_begin));
    }
    const glm::image_u8 img = glm::image_load(image);

    cli_model_opts mo;
    mo.model     = mdir + "/toy-llm.gguf";
    mo.vision    = mdir + "/toy-vit.gguf";
    mo.refiner   = "region";
    mo.n_threads = n_threads;
    mo.n_ctx     = 512;
    mo.verbose   = verbose;
    glm::pipeline     ctx(mo.load(), mo.context_params());
    glm::run_settings s;  // the model's own template (its prompt is fixed: "describe the scene.")
    s.gen.n_predict    = n_predict;
    s.ground.keep_maps = true;
    s.ground.min_score = 0.5f;  // the region refiner scores 1 - area/image: a point on the background floods it
    const glm::grounding r   = ctx.run(img, s, image);
    const glm::attend_result & att = r.att;
    const glm::ground_result & g   = r.g;

    cli_print_grounded(g);
    glm::attend_save(att, out);
    glm::ground_save(out, img, g, att, { /*heatmaps=*/true });
    const std::string_view page = glm::serve_page_html();  // the server's page: views result.json without a server
    glm::write_file(out + "/index.html", page.data(), page.size());
    fprintf(stderr,
            "wrote %s/{overlay.png, answer.html, result.json, heatmap-*.png, index.html} (model: %s, scene: %s)\n"
            "same run by hand: groundlmm ground -m %s/toy-llm.gguf --mmproj %s/toy-vit.gguf --image %s --refiner "
            "region --min-score 0.5 --heatmaps -c 512 -o %s\n",
            out.c_str(), mdir.c_str(), image.c_str(), mdir.c_str(), mdir.c_str(), image.c_str(), out.c_str());
    return 0;
}
