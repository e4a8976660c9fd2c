// groundlmm ground: attend-and-segment end to end — describe the image, find the noun phrases, point at each
// from its attention map, and refine the point into a mask (SAM, or region growing for the toy world).
// Writes result.json, overlay.png, answer.html (+ heat maps) and the stage-1 files (attend.json,
// attention.safetensors), so that `--from <folder>` reruns the second stage with other settings.
#include "cli-common.h"
#include "common.h"
#include "outputs.h"

#include <cstdio>

int cmd_ground(int argc, char ** argv) {
    CLI::App       app("Attend-and-segment: answer, noun phrases, points and masks for an image", argv[0]);
    cli_model_opts mo;
    cli_settings   so;
    std::string    image, out, from;
    bool           heatmaps = false;
    mo.add(app, /*require_model=*/false);
    mo.add_refiner(app);
    so.add(app, /*stage1=*/true, /*stage2=*/true);
    app.add_option("--image", image, "input image (PNG, JPEG, ...)")->required();
    app.add_option("-o,--output", out, "output folder");
    app.add_option("--from", from, "rerun stage 2 on a saved attend folder (no LLM needed)");
    app.add_flag("--heatmaps", heatmaps, "write a heat map per phrase");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    if (mo.refiner.empty() && mo.sam_path.empty()) {
        glm::fail("no refiner: give --sam sam.gguf, or --refiner region (toy world) or --refiner none (points only)");
    }
    if (from.empty() && (mo.model.empty() || mo.vision.empty())) {
        glm::fail("give -m and --mmproj (or --from a saved attend folder)");
    }
    glm::run_settings s = so.get();
    s.ground.keep_maps  = heatmaps;
    const glm::image_u8 img = glm::image_load(image);

    glm::grounding r;
    if (!from.empty()) {
        // stage 2 only: the saved maps, the heads they were saved with unless asked otherwise; no LLM is loaded
        r.att = glm::attend_load(from);
        if (!so.given("attn_heads")) {
            s.heads    = r.att.heads;
            s.head_sel = r.att.head_sel;
        }
        glm::pipeline_model_params mp = mo.model_params();
        mp.llm    = mp.llm.empty() ? r.att.llm_path : mp.llm;
        mp.vision = mp.vision.empty() ? r.att.vision_path : mp.vision;
        glm::log_route_ggml(mo.verbose);
        glm::pipeline ctx(glm::pipeline_model::load(mp), mo.context_params());
        r.g = ctx.ground(r.att, img, s);
    } else {
        glm::pipeline ctx(mo.load(), mo.context_params());
        r = ctx.run(img, s, image);
    }

    cli_print_grounded(r.g);
    if (!out.empty()) {
        if (from.empty()) {
            glm::attend_save(r.att, out);
        }
        glm::ground_save(out, img, r.g, r.att, { heatmaps });
        fprintf(stderr, "wrote %s/{result.json, overlay.png, answer.html%s}\n", out.c_str(),
                from.empty() ? ", attend.json, attention.safetensors" : "");
    }
    return 0;
}
