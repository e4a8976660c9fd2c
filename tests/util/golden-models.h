// golden-models.h: the tiny golden models (tests/golden/llava, tests/golden/sam) set up as the unit and end-to-end
// tests use them, and fresh temporary folders. One instance per test process; nothing here is thread-safe.
#pragma once

#include "backend.h"
#include "ground.h"
#include "maps.h"
#include "lmm.h"
#include "models/clip.h"

#include <string>

namespace glm::test {

// <system temp>/glm-test-<name>, emptied and created.
std::string fresh_tmp_dir(const std::string & name);

// LLM settings of the tests: the given GGUF, a 1024-token context, 2 threads.
lmm_params golden_llm_params(const std::string & model);

// The golden SAM as a user gets it: <sam_dir>/sam-tiny.pth converted by convert-sam into <out_dir>/sam-tiny.gguf
// (the decoder's head count, which the checkpoint does not store, from <sam_dir>/cases.json). Returns the GGUF path.
std::string convert_golden_sam(const std::string & sam_dir, const std::string & out_dir);

// The tiny LLaVA of a llava-format golden folder: our CLIP encoder on its mmproj and a libllama session on its LLM.
struct golden_llava {
    compute_backend be;
    clip_encoder    enc;
    lmm_params      lp;
    lmm_model       lm;
    lmm_session     ls;

    explicit golden_llava(const std::string & llava_dir, const backend_params & bp = { 2, true, 0 });
};

// The points the reference's own maps give to the phrases of `g`, an answer teacher-forced to the golden's
// continuation: <llava_dir>/cases.safetensors' attn_mean (the layer-and-head mean, [K, n_img]) or attn_head_m2
// (heads == official) through maps_ground with the settings, grid, image size and token groups of `g`.
// So an end-to-end test can check its points against the reference rather than only their range.
maps_result golden_reference_points(const std::string & llava_dir, const ground_result & g);

}  // namespace glm::test
