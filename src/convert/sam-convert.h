// sam-convert.h: official Segment Anything checkpoints (sam_vit_{b,l,h}_*.pth, a torch.save zip of the
// state_dict, or the same state_dict as .safetensors) to the GGUF file sam.h reads.
//
// Every hparam is read from the checkpoint's own shapes: widths, depths, MLP widths, patch and image size,
// the encoder's head count (head_dim is the width of the rel-pos tables), its global-attention blocks and
// window size (a global block's rel-pos table has 2*grid-1 rows at the image size, a windowed one
// 2*window-1), the prompt and mask-decoder sizes. What a state_dict cannot tell (the decoder's head count)
// comes from the file's metadata when it has some, else an option, else the value every released model
// uses. A checkpoint that is not SAM (a tensor missing, of another shape, or left over) is refused.
// Free functions: thread-safe.
#pragma once

#include "models/sam-hparams.h"

#include "ggml.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct sam_convert_params {
    std::string      input;                    // .pth / .pt (torch.save zip) or .safetensors
    std::string      output;                   // .gguf to write
    ggml_type        type = GGML_TYPE_F32;     // type of the large linear weights: F32, F16 or Q8_0
    int              encoder_heads = 0;        // 0 = from the rel-pos tables (or the file's metadata)
    int              decoder_heads = 0;        // 0 = from the file's metadata, else 8 (every released SAM)
    int              window_size   = -1;       // -1 = detect; >= 0 forces it (0 = all blocks global)
    std::vector<int> global_attn;              // with window_size >= 0: the global blocks
    int64_t          min_quant_elements = 65536;  // linear weights with fewer elements stay F32
};

// Converts; returns the hparams written. Throws glm::error (one line) on any problem.
sam_hparams sam_convert(const sam_convert_params & params);

// Reads the hparams of a checkpoint without writing anything (the same detection as sam_convert).
sam_hparams sam_checkpoint_hparams(const sam_convert_params & params);

}  // namespace glm
