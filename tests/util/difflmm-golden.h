// difflmm-golden.h: the DiffLMM golden folder (tests/golden/difflmm) laid out as the pieces users convert —
// diffusers unet/ vae/ scheduler/ folders, an HF CLIP folder, the projector with its "mm_projector." names,
// DiffLMM's config.json — and converted with the real converter. Configs the golden's cases.json gives are
// taken from it; counts it leaves out are read from the weight names and shapes. For the golden and unit tests.
#pragma once

#include <cstdint>
#include <string>

namespace glm {

// Writes the folders under `dir` (created).
void difflmm_golden_model_dirs(const std::string & golden, const std::string & dir);

// difflmm_golden_model_dirs + convert-difflmm (f32, no null prompt); returns the GGUF path (in dir).
// up_blocks: UNet up blocks to keep (0 = up to the projector's).
std::string difflmm_golden_convert(const std::string & golden, const std::string & dir, int up_blocks = 0);

// A random CLIP text encoder of the given width and a tokenizer folder (dir/text_encoder, dir/tokenizer), so
// that the converter's null-prompt path can run on the golden model.
void difflmm_random_text_encoder(const std::string & dir, int64_t width);

}  // namespace glm
