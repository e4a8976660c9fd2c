#include "util/difflmm-golden.h"

#include "common.h"
#include "difflmm-convert.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

using json = nlohmann::json;

namespace glm {

// Writes the tensors "<prefix>*" of `src` into `path`, renamed by dropping `strip`.
static void write_subset(const safetensors_file & src, const std::string & prefix, const std::string & strip,
                         const std::string & path) {
    safetensors_writer w;
    int                     n = 0;
    for (const std::string & name : src.names()) {
        if (name.rfind(prefix, 0) != 0) {
            continue;
        }
        const st_tensor & t = src.get(name);
        w.add(name.substr(strip.size()), t.dtype, t.shape, t.data);
        ++n;
    }
    if (n == 0) {
        fail("%s: no tensors named %s*", src.path().c_str(), prefix.c_str());
    }
    w.write(path);
}

static int count_blocks(const safetensors_file & w, const std::string & fmt) {
    int n = 0;
    while (true) {
        char buf[256];
        snprintf(buf, sizeof(buf), fmt.c_str(), n);
        bool found = false;
        for (const std::string & name : w.names()) {
            if (name.rfind(buf, 0) == 0) {
                found = true;
                break;
            }
        }
        if (!found) {
            return n;
        }
        ++n;
    }
}

static bool has_prefix(const safetensors_file & w, const std::string & p) {
    for (const std::string & name : w.names()) {
        if (name.rfind(p, 0) == 0) {
            return true;
        }
    }
    return false;
}

static void write_json(const std::string & path, const json & j) { write_file(path, j.dump(2)); }

// The golden's configs, laid out as diffusers / transformers / LLaVA config.json files. Values the cases.json
// "config" section gives are taken from it; counts it leaves out are read from the weight names and shapes.
void difflmm_golden_model_dirs(const std::string & golden, const std::string & dir) {
    const json                cases = json::parse(read_file(golden + "/cases.json"));
    const json &              cfg   = cases.at("config");
    const safetensors_file w(golden + "/weights.safetensors");
    for (const char * d : { "unet", "vae", "scheduler", "clip" }) {
        make_dirs(dir + "/" + d);
    }

    // UNet
    const int nb = (int) cfg.at("unet_block_out_channels").size();
    json      down = json::array(), up = json::array();
    for (int i = 0; i < nb; ++i) {
        down.push_back(has_prefix(w, "unet.down_blocks." + std::to_string(i) + ".attentions.") ? "CrossAttnDownBlock2D"
                                                                                                : "DownBlock2D");
        up.push_back(has_prefix(w, "unet.up_blocks." + std::to_string(i) + ".attentions.") ? "CrossAttnUpBlock2D"
                                                                                            : "UpBlock2D");
    }
    // transformer_layers_per_block and the projection kind, from the names and shapes of the weights
    json tl = json::array();
    bool linear_proj = false;
    for (int i = 0; i < nb; ++i) {
        const std::string a = "unet.down_blocks." + std::to_string(i) + ".attentions.0.";
        // a last block without attentions: the mid block's depth (diffusers gives it transformer_layers_per_block[-1])
        const std::string c = has_prefix(w, a) || i + 1 < nb ? a : "unet.mid_block.attentions.0.";
        tl.push_back(has_prefix(w, c) ? std::max(1, count_blocks(w, c + "transformer_blocks.%d.")) : 1);
        if (w.has(a + "proj_in.weight")) {
            linear_proj = w.get(a + "proj_in.weight").shape.size() == 2;
        }
    }
    const json unet = {
        { "_class_name", "UNet2DConditionModel" },
        { "in_channels", w.get("unet.conv_in.weight").shape[1] },
        { "out_channels", w.get("unet.conv_out.weight").shape[0] },
        { "block_out_channels", cfg.at("unet_block_out_channels") },
        { "layers_per_block", cfg.at("layers_per_block") },
        { "down_block_types", down },
        { "up_block_types", up },
        { "mid_block_type", "UNetMidBlock2DCrossAttn" },
        { "attention_head_dim", cfg.at("attention_head_dim(=num heads)") },
        { "norm_num_groups", cfg.at("norm_num_groups") },
        { "cross_attention_dim", cfg.at("cross_attention_dim") },
        { "flip_sin_to_cos", true },
        { "freq_shift", 0 },
        { "norm_eps", 1e-5 },
        { "downsample_padding", 1 },
        { "use_linear_projection", linear_proj },
        { "transformer_layers_per_block", tl },
    };
    write_json(dir + "/unet/config.json", unet);
    write_subset(w, "unet.", "unet.", dir + "/unet/diffusion_pytorch_model.safetensors");

    // VAE
    const json vae = {
        { "_class_name", "AutoencoderKL" },
        { "in_channels", w.get("vae.encoder.conv_in.weight").shape[1] },
        { "latent_channels", w.get("vae.quant_conv.weight").shape[0] / 2 },
        { "block_out_channels", cfg.at("vae_block_out_channels") },
        { "down_block_types", json::array() },
        { "layers_per_block", count_blocks(w, "vae.encoder.down_blocks.0.resnets.%d.") },
        { "norm_num_groups", cfg.at("norm_num_groups") },
        { "scaling_factor", cfg.at("vae_scaling_factor") },
        { "act_fn", "silu" },
    };
    write_json(dir + "/vae/config.json", vae);
    write_subset(w, "vae.", "vae.", dir + "/vae/diffusion_pytorch_model.safetensors");

    // DDIM schedule as cases.json describes it ("DDIM, scaled_linear betas 0.00085..0.012, 1000 steps")
    write_json(dir + "/scheduler/scheduler_config.json",
               { { "_class_name", "DDIMScheduler" }, { "num_train_timesteps", 1000 }, { "beta_start", 0.00085 },
                 { "beta_end", 0.012 }, { "beta_schedule", "scaled_linear" } });

    // CLIP vision tower (transformers CLIPVisionModel names without "vision_model.")
    const json & c    = cfg.at("clip");
    const json   clip = {
        { "model_type", "clip_vision_model" },
        { "hidden_size", c.at("hidden") },
        { "num_hidden_layers", c.at("layers") },
        { "num_attention_heads", c.at("heads") },
        { "image_size", c.at("image") },
        { "patch_size", c.at("patch") },
        { "hidden_act", c.at("act") },
        { "intermediate_size", w.get("clip.encoder.layers.0.mlp.fc1.weight").shape[0] },
        { "layer_norm_eps", 1e-5 },
    };
    write_json(dir + "/clip/config.json", clip);
    write_subset(w, "clip.", "clip.", dir + "/clip/model.safetensors");

    // projector, with the "mm_projector." prefix the official checkpoints carry
    write_subset(w, "mm_projector.", "", dir + "/projector.safetensors");

    const safetensors_file cs(golden + "/cases.safetensors");
    const json llava = {
        { "mm_projector_type", "SDCLIPBlock" },
        { "mm_vision_select_layer", 1 },  // the pipeline's "up1"
        { "mm_vision_sd_timestep", cfg.at("timestep") },
        { "mm_vision_sd_ensemble_size", 1 },
        { "mm_vision_sd_concat_clip", true },
        { "mm_vision_sd_implicit_caption", true },
        { "mm_vision_sd_pe", cfg.at("tokens") },
        { "mm_vision_resolution", cs.get("sd_input").shape[1] },
        { "image_aspect_ratio", "pad" },
    };
    write_json(dir + "/llava-config.json", llava);
}

// A random CLIP text encoder of the UNet's cross-attention width and a tokenizer folder, so that the converter's
// null-prompt path can be exercised on the golden model (test-difflmm checks the text encoder itself).
void difflmm_random_text_encoder(const std::string & dir, int64_t width) {
    const int64_t V = 64, P = 77, F = 2 * width, L = 2;
    const int64_t H = width % 4 == 0 ? 4 : width % 3 == 0 ? 3 : width % 2 == 0 ? 2 : 1;  // heads dividing the width
    make_dirs(dir + "/text_encoder");
    make_dirs(dir + "/tokenizer");
    write_json(dir + "/text_encoder/config.json",
               { { "vocab_size", V }, { "max_position_embeddings", P }, { "hidden_size", width },
                 { "intermediate_size", F }, { "num_attention_heads", H }, { "num_hidden_layers", L },
                 { "hidden_act", "quick_gelu" }, { "layer_norm_eps", 1e-5 } });
    safetensors_writer w;
    uint32_t                state = 12345;
    auto                    rnd   = [&](std::vector<int64_t> shape, float scale, float offset) {
        int64_t n = 1;
        for (int64_t d : shape) {
            n *= d;
        }
        std::vector<float> v((size_t) n);
        for (float & x : v) {
            state = state * 1664525u + 1013904223u;
            x     = offset + scale * ((float) (state >> 8) / 16777216.0f - 0.5f);
        }
        return v;
    };
    auto add = [&](const std::string & n, std::vector<int64_t> shape, float scale, float offset = 0.0f) {
        w.add_f32("text_model." + n, shape, rnd(shape, scale, offset));
    };
    add("embeddings.token_embedding.weight", { V, width }, 2.0f);
    add("embeddings.position_embedding.weight", { P, width }, 1.0f);
    for (int i = 0; i < L; ++i) {
        const std::string p = "encoder.layers." + std::to_string(i) + ".";
        for (const char * n : { "layer_norm1", "layer_norm2" }) {
            add(p + n + ".weight", { width }, 0.2f, 1.0f);
            add(p + n + ".bias", { width }, 0.2f);
        }
        for (const char * n : { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj" }) {
            add(p + n + ".weight", { width, width }, 0.5f);
            add(p + n + ".bias", { width }, 0.2f);
        }
        add(p + "mlp.fc1.weight", { F, width }, 0.5f);
        add(p + "mlp.fc1.bias", { F }, 0.2f);
        add(p + "mlp.fc2.weight", { width, F }, 0.5f);
        add(p + "mlp.fc2.bias", { width }, 0.2f);
    }
    add("final_layer_norm.weight", { width }, 0.2f, 1.0f);
    add("final_layer_norm.bias", { width }, 0.2f);
    w.write(dir + "/text_encoder/model.safetensors");
    json vocab = json::object();
    for (int i = 0; i < V - 2; ++i) {
        vocab["t" + std::to_string(i)] = i;
    }
    vocab["<|startoftext|>"] = V - 2;
    vocab["<|endoftext|>"]   = V - 1;
    write_json(dir + "/tokenizer/vocab.json", vocab);
    write_json(dir + "/tokenizer/special_tokens_map.json", { { "pad_token", "<|endoftext|>" } });
}

std::string difflmm_golden_convert(const std::string & golden, const std::string & dir, int up_blocks) {
    difflmm_golden_model_dirs(golden, dir);
    difflmm_convert_params cp;
    cp.sd_dir       = dir;
    cp.clip_dir     = dir + "/clip";
    cp.projector    = dir + "/projector.safetensors";
    cp.llava_config = dir + "/llava-config.json";
    cp.output       = dir + "/difflmm-vision.gguf";
    cp.type         = GGML_TYPE_F32;
    cp.null_prompt  = false;  // the golden has no SD text encoder: its implicit caption has no null-prompt term
    cp.up_blocks    = up_blocks;
    difflmm_convert(cp);
    return cp.output;
}

}  // namespace glm
