// groundlmm toy-world: writes scenes of the synthetic toy world (PNG images, COCO annotations with the visible
// instance masks and phrase spans, and the captions) for training, evaluation or a look.
#include "cli-common.h"
#include "common.h"
#include "toy/world.h"

#include <cstdio>

int cmd_toy_world(int argc, char ** argv) {
    CLI::App                app("Write toy-world scenes: images/*.png, annotations.json (COCO), captions.txt", argv[0]);
    std::string             out, split = "test";
    int64_t                 n    = 500;
    uint64_t                seed = 1;
    glm::toy::world_params  wp;
    app.add_option("-o,--output", out, "output folder")->required();
    app.add_option("--split", split, "train, val or test (disjoint streams of scenes)")->capture_default_str();
    app.add_option("--n", n, "number of scenes")->capture_default_str()->check(CLI::Range((int64_t) 1, (int64_t) 10000000));
    app.add_option("--seed", seed, "world seed")->capture_default_str();
    app.add_option("--size", wp.size, "scene side in pixels (geometry scales with it)")->capture_default_str();
    app.add_option("--min-objects", wp.min_objects, "fewest objects per scene")->capture_default_str();
    app.add_option("--max-objects", wp.max_objects, "most objects per scene")->capture_default_str();
    std::string order = "mixed";
    app.add_option("--caption-order", order, "order of mention in the captions: mixed (the original world) or left-to-right")->capture_default_str();
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    wp.order = glm::toy::caption_order_from_string(order);
    const double  t0    = glm::now_s();
    const int64_t n_ann = glm::toy::world_write_split(out, wp, seed, glm::toy::world_split_from_string(split), n);
    fprintf(stderr, "wrote %lld %s scenes (%lld objects) to %s in %.2fs\n", (long long) n, split.c_str(),
            (long long) n_ann, out.c_str(), glm::now_s() - t0);
    return 0;
}
