// image-block.h: how the LLM decodes a vision model's image-token block, beyond "n embeddings at consecutive
// positions" (LLaVA): the text tokens a family puts around the block, M-RoPE positions (Qwen-VL: a 2-D grid of
// positions, the text after the image continuing at start + n_pos) and non-causal attention inside the block
// (Gemma 3). Filled by the vision model (src/models/mtmd-vision.cpp from libmtmd's public functions), read by
// lmm_session::generate. KV cells stay one per token: the attention tap counts tokens, never positions.
//
// Pure data (the Cambrian side data is immutable and shared).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace glm {

struct cambrian_prefill;  // models/cambrian-vision.h

struct image_block {
    std::vector<int32_t> text_before;  // tokens decoded right before the block (e.g. <|vision_start|>)
    std::vector<int32_t> text_after;   // tokens decoded right after it (e.g. <|vision_end|>)
    // M-RoPE: 4 positions per image token relative to the block's first position, laid out as llama_batch.pos
    // wants them for embeddings (plane-major: t[0..n), y[0..n), x[0..n), z[0..n)); empty = linear positions.
    std::vector<int32_t> mrope_pos;
    int  n_pos      = 0;      // positions the block advances (M-RoPE: max(h, w)); 0 = one per token
    bool non_causal = false;  // image tokens attend to each other both ways (one ubatch holds the block)
    bool chat_template = false;  // prompt through the LLM's chat template (GGUF), special tokens parsed
    std::string chat_image = "<image>";  // the user turn's text for the image (Gemma 3: "\n\n<image>\n\n", the
                                         // newlines HF's processor puts around <start_of_image>...<end_of_image>)
    // Cambrian-1: the image's side data for the aggregator blocks inside the LLM, run during the prompt's decode calls
    // (models/cambrian-llm.h); null for every other family. Shared and immutable: copies of the output share it.
    std::shared_ptr<const cambrian_prefill> cambrian;
};

}  // namespace glm
