// groundlmm ground: attend-and-segment end to end — describe the image, find the noun phrases, point at each
// from its attention map, and refine the point into a mask (SAM, or region growing for the toy world).
// Writes result.json, overlay.png, answer.html (+ heat maps) and the stage-1 files (attend.json,
// attention.safetensors), so that `--from <folder>` reruns the second stage with other settings.
#include "cli-common.h"
#include "common.h"
#include "ground.h"
#include "outputs.h"
#include "refine-region.h"
#include "refine-sam.h"

#include <cstdio>

int cmd_ground(int argc, char ** argv) {
    CLI::App       app("Attend-and-segment: answer, noun phrases, points and masks for an image", argv[0]);
    cli_model_opts mo;
    cli_gen_opts   go;
    std::string    image, out, from, sam_path, refiner_name, aspect = "pad", mask_index = "2";
    float          min_score = 0.0f;
    bool           remove_corner = false, no_normalize = false, heatmaps = false, drop_empty = false, more = false;
    mo.add(app, /*require_model=*/false);
    go.add(app);
    app.add_option("--image", image, "input image (PNG, JPEG, ...)")->required();
    app.add_option("-o,--output", out, "output folder");
    app.add_option("--from", from, "rerun stage 2 on a saved attend folder (no LLM needed)");
    app.add_option("--sam", sam_path, "SAM GGUF (groundlmm convert-sam)");
    app.add_option("--refiner", refiner_name, "sam (default with --sam), region (colour region growing) or none")
        ->check(CLI::IsMember({ "sam", "region", "none" }));
    app.add_option("--mask-index", mask_index, "SAM multimask output kept: 2 (official) or best")
        ->capture_default_str()
        ->check(CLI::IsMember({ "2", "best" }));
    app.add_option("--score-thresh", min_score, "drop masks whose score is below")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
    app.add_option("--aspect", aspect, "pad (LLaVA-1.5) or original")->capture_default_str()->check(CLI::IsMember({ "pad", "original" }));
    app.add_flag("--remove-corner", remove_corner, "set the 4 corner cells of every map to the global minimum");
    app.add_flag("--no-normalize", no_normalize, "do not subtract the mean map over the output tokens");
    app.add_flag("--drop-empty", drop_empty, "leave out phrases whose head noun spans no token");
    app.add_flag("--more-masks", more, "keep all SAM candidates in result.json");
    app.add_flag("--heatmaps", heatmaps, "write a heat map per phrase");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    if (refiner_name.empty()) {
        refiner_name = sam_path.empty() ? "" : "sam";
        if (refiner_name.empty()) {
            glm::fail("no refiner: give --sam sam.gguf, or --refiner region (toy world) or --refiner none (points only)");
        }
    }
    if (refiner_name == "sam" && sam_path.empty()) {
        glm::fail("--refiner sam needs --sam sam.gguf");
    }
    if (from.empty() && (mo.model.empty() || mo.vision.empty())) {
        glm::fail("give -m and --mmproj (or --from a saved attend folder)");
    }
    glm::log_route_ggml(mo.verbose);
    const glm::image_u8 img = glm::image_load(image);

    // stage 1: the answer and the attention maps
    glm::attend_result att;
    if (!from.empty()) {
        att = glm::attend_load(from);
    } else {
        cli_lmm lmm(mo, go.attn_heads() == glm::attn_heads::dump);
        att             = glm::attend_run(*lmm.encoder, *lmm.session, img, go.gen_params(), go.attn_heads());
        att.image_path  = image;
        att.vision_path = mo.vision;
    }

    // stage 2
    glm::ground_params gp;
    gp.heads              = from.empty() ? go.attn_heads() : att.heads;
    gp.maps.aspect        = glm::map_aspect_from_name(aspect);
    gp.maps.normalize     = !no_normalize;
    gp.maps.remove_corner = remove_corner;
    gp.select             = glm::mask_select_from_name(mask_index);
    gp.min_score          = min_score;
    gp.keep_empty         = !drop_empty;
    gp.more_masks         = more;
    gp.keep_maps          = heatmaps;
    glm::compute_backend             backend(mo.backend_params());
    std::unique_ptr<glm::refiner>    ref;
    if (refiner_name == "sam") {
        ref = std::make_unique<glm::sam_refiner>(glm::sam_model::load(sam_path, backend), backend);
    } else if (refiner_name == "region") {
        ref = std::make_unique<glm::region_refiner>();
    }
    const glm::phrase_chunker chunker;
    const glm::ground_result  g = glm::ground(att, img, chunker, ref.get(), gp);

    cli_print_grounded(g);
    if (!out.empty()) {
        if (from.empty()) {
            glm::attend_save(att, out);
        }
        glm::ground_save(out, img, g, att, { heatmaps });
        fprintf(stderr, "wrote %s/{result.json, overlay.png, answer.html%s}\n", out.c_str(),
                from.empty() ? ", attend.json, attention.safetensors" : "");
    }
    return 0;
}
