#include "vision.h"

#include "common.h"
#include "difflmm.h"
#include "gguf-loader.h"
#include "models/cambrian-vision.h"
#include "models/clip.h"
#include "models/llava-next.h"
#include "models/mtmd-vision.h"
#include "models/toy-vit.h"

namespace glm {

bool vision_needs_text_model(const std::string & path) {
    const std::string proj = mtmd_projector_type(path);
    return !proj.empty() && mtmd_projector_supported(path, proj);
}

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
        const std::string proj = mtmd_projector_type(path);  // "" = LLaVA's mlp
        if (!proj.empty()) {
            if (!mtmd_projector_supported(path, proj)) {  // fails itself for the non-spatial families
                fail("%s: projector '%s' is not supported (LLaVA-1.5 'mlp' with our CLIP-ViT; qwen2vl_merger, "
                     "qwen2.5vl_merger, qwen3vl_merger and gemma3 through libmtmd)",
                     path.c_str(), proj.c_str());
            }
            return std::make_unique<mtmd_encoder>(path, params.text_model, params.mtmd ? *params.mtmd : mtmd_vision_params{});
        }
    }
    if (arch == "clip") {
        return std::make_unique<clip_encoder>(path, backend);
    }
    if (arch == "difflmm") {
        return std::make_unique<difflmm_encoder>(path, backend);
    }
    if (arch == "cambrian") {  // groundlmm convert-cambrian: towers + SVA; the LLM session runs its in-LLM blocks
        return std::make_unique<cambrian_encoder>(path, backend);
    }
    if (arch == "toyvit") {
        return std::make_unique<toyvit_encoder>(path, backend);
    }
    fail("%s: unknown vision model architecture '%s' (expected clip, cambrian, toyvit or difflmm)", path.c_str(), arch.c_str());
}

}  // namespace glm
