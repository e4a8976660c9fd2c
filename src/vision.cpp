#include "vision.h"

#include "common.h"
#include "difflmm.h"
#include "gguf-loader.h"
#include "models/clip.h"
#include "models/llava-next.h"
#include "models/toy-vit.h"

namespace glm {

std::unique_ptr<vision_encoder> vision_encoder_load(const std::string & path, compute_backend & backend,
                                                    const vision_load_params & params) {
    llava_next_options next;
    next.rule = anyres_rule_from_name(params.anyres_rule);  // checked even for files that do not use it
    std::string arch;
    bool        anyres = false;
    {
        gguf_loader probe(path);
        arch = probe.get_str("general.architecture", "");
        // LLaVA-NeXT (1.6) mmproj: the anyres keys; llava_next_encoder explains what is wrong with a partial set
        // ('flat' without pinpoints is LLaVA-1.5's own merge, as some converted configs spell it)
        const std::string merge = probe.get_str("clip.vision.mm_patch_merge_type", "flat");
        anyres = arch == "clip" && (merge != "flat" || probe.has_key("clip.vision.image_grid_pinpoints"));
    }
    if (arch == "clip") {
        if (anyres) {
            return std::make_unique<llava_next_encoder>(path, backend, next);
        }
        return std::make_unique<clip_encoder>(path, backend);
    }
    if (arch == "difflmm") {
        return std::make_unique<difflmm_encoder>(path, backend);
    }
    if (arch == "toyvit") {
        return std::make_unique<toyvit_encoder>(path, backend);
    }
    fail("%s: unknown vision model architecture '%s' (expected clip, toyvit or difflmm)", path.c_str(), arch.c_str());
}

}  // namespace glm
