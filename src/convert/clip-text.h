// models/clip-text.h: transformers' CLIPTextModel in ggml (token + position embeddings, pre-LN encoder layers
// with a causal mask, final LayerNorm -> last_hidden_state), and CLIPTokenizer's encoding of the empty prompt.
//
// DiffLMM's implicit caption adds the mean of Stable Diffusion's text-encoder output for "" (the
// null_prompt_embeds of the official SDCLIPFeaturizer); the converter computes it once with this code, on
// the CPU, from the diffusers text_encoder/ and tokenizer/ folders. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace glm {

struct clip_text_hparams {
    int   n_vocab    = 0;
    int   n_pos      = 0;     // max_position_embeddings
    int   n_embd     = 0;     // hidden_size
    int   n_ff       = 0;     // intermediate_size
    int   n_head     = 0;
    int   n_layer    = 0;
    float eps        = 1e-5f; // layer_norm_eps
    bool  quick_gelu = true;  // hidden_act quick_gelu (OpenAI CLIP) or gelu (OpenCLIP)
};

// Reads the hparams from a transformers CLIPTextConfig config.json (or a CLIPConfig's text_config).
clip_text_hparams clip_text_read_config(const std::string & config_json);

// Token ids of `""` as CLIPTokenizer(padding="max_length", max_length=n) encodes it: BOS, EOS, then the pad
// token (tokenizer/special_tokens_map.json + vocab.json of a diffusers tokenizer folder).
std::vector<int32_t> clip_text_empty_prompt_ids(const std::string & tokenizer_dir, int n);

// Reads one weight by its transformers name (without "text_model."), as float32 in PyTorch's row-major order,
// checking its PyTorch shape.
typedef std::function<std::vector<float>(const std::string & name, const std::vector<int64_t> & shape)> clip_text_weight_fn;

// last_hidden_state for the token ids: [ids.size() x n_embd], token-major.
std::vector<float> clip_text_encode(const clip_text_hparams & hp, const clip_text_weight_fn & weight,
                                    const std::vector<int32_t> & ids, int n_threads = 0);

}  // namespace glm
