// cambrian-convert.h: writes the Cambrian-1 aggregator GGUF (general.architecture "cambrian", read by
// models/cambrian.h) from a safetensors file with the official state_dict names of CambrianLlamaForCausalLM
// (model.mm_projector_aux_{i}.*, model.vision_sampler_0.layers.{l}.*, model.vision_sampler_layers.{k}.layers.0.*,
// model.vision_query, model.image_newline, model.mm_projector.*) and, optionally, the OpenAI CLIP tower from its
// own file (the released checkpoint holds no tower weights: openai/clip-vit-large-patch14-336's model.safetensors,
// HF CLIPVisionModel / CLIPModel names vision_model.*; only the layers up to hidden_states[-2] are written, as
// llama.cpp mmproj names cl.*). The LLaMA weights are not written (they go through llama.cpp's converter); the
// SigLIP (timm names, as in the hub's open_clip_model.safetensors under visual.trunk.) and DINOv2 (HF names) towers
// and ConvNeXt (timm names) come from their own files too.
//
// Sizes are read from the tensor shapes; what the weights cannot say (query grid, tower grids, head counts,
// image_position, the in-LLM block schedule) comes from cambrian_convert_params (the checkpoint's config.json).
// Stateless; safe to call from several threads on different outputs.
#pragma once

#include "ggml.h"

#include <array>
#include <string>

namespace glm {

struct cambrian_convert_params {
    // Each path: one .safetensors file or a folder of them (shards). SigLIP / ConvNeXt names may carry open_clip's
    // "visual.trunk." prefix (open_clip_model.safetensors), which is stripped.
    std::string input;                 // .safetensors with the official names
    std::string clip;                  // the CLIP tower's .safetensors ("" = none)
    std::string siglip;                // the SigLIP tower: timm VisionTransformer trunk names (open_clip visual.trunk.*,
                                       // prefix dropped) ("" = none)
    std::string dino;                  // the DINOv2 tower: HF Dinov2Model names ("" = none)
    std::string convnext;              // the ConvNeXt tower: timm ConvNeXt trunk names ("" = none)
    std::string output;                // the GGUF to write
    int         query_side       = 24;  // sqrt(image_token_len)
    std::array<int, 4> tower_side{ 24, 24, 24, 96 };  // sqrt(mm_vision_tower_aux_token_len_list)
    int         image_position   = 91;
    int         llm_block_start  = 0;   // start_of_vision_sampler_layers
    int         llm_block_stride = 3;   // stride_of_vision_sampler_layers
    int         clip_heads       = 16;  // CLIP ViT-L/14 num_attention_heads
    float       clip_eps         = 1e-5f;
    int         clip_select_layer = -2;  // mm_vision_select_layer
    int         siglip_heads     = 16;    // SO400M
    int         siglip_image_size = 384;  // the trunk's img_size (its grid is image_size / 14 = 27)
    float       siglip_eps       = 1e-6f;
    int         dino_heads       = 24;    // DINOv2-giant
    float       dino_eps         = 1e-6f;
    int         dino_image_size  = 378;   // Cambrian's "-res378": the position embeddings are interpolated to 27x27
    int         convnext_image_size = 1024;  // Cambrian's default resolution for clip-convnext-XXL
    float       convnext_eps     = 1e-5f;
    bool        require_clip     = false;  // fail when the CLIP tower weights are absent
    ggml_type   type             = GGML_TYPE_F32;  // matrices: GGML_TYPE_F32 or GGML_TYPE_F16
};

// Fills the settings the weights cannot tell from a Cambrian config.json (image_token_len,
// mm_vision_tower_aux_token_len_list, image_position, start_/stride_of_vision_sampler_layers,
// mm_vision_select_layer, the DINOv2 "-res<N>" of mm_vision_tower_aux_list); keys it lacks keep their defaults
// (logged). Throws naming the file and key on a wrong value.
void cambrian_convert_read_config(const std::string & config_json, cambrian_convert_params * p);

// Writes params.output; throws glm::error naming the file and tensor on bad input.
void cambrian_convert(const cambrian_convert_params & params);

// The LLM of the checkpoint (model.embed_tokens, model.layers.*, model.norm, lm_head: plain Llama-3 weights; the
// aggregator and tower tensors are skipped) as a llama.cpp "llama" GGUF that unmodified libllama loads: q/k rows
// permuted to llama.cpp's RoPE order as its converter does, sizes from the shapes, the rest from config.json.
// llama.cpp's convert_hf_to_gguf.py does not know CambrianLlamaForCausalLM. The tokenizer is copied from
// `tokenizer_from` (any Llama-3-8B-Instruct GGUF: tokenizer.* keys; its vocabulary size must match), or, when
// empty, written as "none" with the right vocabulary size (embeddings-only use, as the tests).
// Holds the converted tensors in memory until written (~16 GB at F16 for the 8B model).
struct cambrian_llm_convert_params {
    std::string input;           // checkpoint .safetensors file or folder
    std::string config;          // its config.json (hidden sizes, heads, rope_theta, rms_norm_eps)
    std::string tokenizer_from;  // a Llama-3 GGUF whose tokenizer.* keys are copied ("" = "none")
    std::string output;
    ggml_type   type = GGML_TYPE_F16;
};
void cambrian_convert_llm(const cambrian_llm_convert_params & params);

}  // namespace glm
