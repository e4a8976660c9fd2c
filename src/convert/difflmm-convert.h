// difflmm-convert.h: builds a DiffLMM vision GGUF (general.architecture "difflmm") from the released pieces:
// a diffusers Stable Diffusion folder (unet/, vae/, scheduler/, and text_encoder/ + tokenizer/ for the
// null-prompt embeddings the implicit caption adds), a Hugging Face CLIP vision folder, the official projector
// weights (non_lora_trainables.bin or a .safetensors with the SDCLIPBlock names, optionally prefixed
// "...mm_projector.") and optionally DiffLMM's LLaVA config.json (mm_vision_* settings).
//
// Every config value becomes metadata (difflmm.unet.*, difflmm.vae.*, difflmm.scheduler.*, clip.vision.*);
// the CLIP tower is written with llama.cpp mmproj names (v.*) and keeps the layers up to hidden_states[-2].
// Stateless; safe to call from several threads on different outputs.
#pragma once

#include "ggml.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct difflmm_convert_params {
    std::string sd_dir;             // diffusers folder: unet/ and vae/ (config.json + *.safetensors), scheduler/
    std::string clip_dir;           // HF CLIP folder: config.json + model.safetensors (CLIPModel or CLIPVisionModel)
    std::string projector;          // projector weights: .safetensors, or a PyTorch checkpoint (.bin/.pt/.pth)
    std::string llava_config;       // DiffLMM config.json with mm_vision_* keys; "" = the released settings
    std::string output;             // the GGUF to write
    ggml_type   type        = GGML_TYPE_F16;  // matrices and convolution kernels: GGML_TYPE_F32 or GGML_TYPE_F16
    bool        null_prompt = true; // compute SD's text-encoder output for "" (needs text_encoder/ + tokenizer/)
    int         up_blocks   = 0;    // UNet up blocks to keep; 0 = only those up to the projector's select layer
};

// A tensor read for the output, under its GGUF name, with its PyTorch shape.
struct difflmm_named_tensor {
    std::string          name;
    std::vector<int64_t> shape;
    std::vector<float>   data;
};

// The SDCLIPBlock's tensors under their GGUF names (mm.*) from a .safetensors file or a PyTorch checkpoint
// (torch.save), taking the names that contain "mm_projector." (any prefix: "model.", "base_model.model.model.")
// and skipping the others; unknown projector names are an error.
std::vector<difflmm_named_tensor> difflmm_read_projector(const std::string & path);

// Writes params.output; throws glm::error naming the file and field on bad input.
void difflmm_convert(const difflmm_convert_params & params);

}  // namespace glm
