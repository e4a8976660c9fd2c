// difflmm.h: the DiffLMM visual encoder (Cao, Gui, Wang: "Emerging Pixel Grounding in Large Multimodal Models
// Without Grounding Supervision"), as the official SDCLIPVisionTower + SDCLIPBlock compute it:
//
//   image -> expand2square (int(0.5*255) grey) -> PIL bicubic S x S -> [-1, 1]                    = sd_input
//   sd_input -> bilinear (align_corners=False) S*7/8 -> CLIP normalisation                      = clip_input
//   CLIP ViT -> hidden_states[-2] without CLS                                                = clip_features
//   clip_projector MLP + clip_pe (+ mean of SD's null-prompt text embeddings)             = implicit_caption
//   VAE: latent = (mean + std * vae_noise) * scaling_factor; DDIM add_noise at t with unet_noise = noisy
//   UNet(noisy, t, implicit_caption) -> up block `select_layer` (averaged over the ensemble draws)
//   LayerNorm(channels) -> 1x1 conv -> GELU -> concat CLIP map -> row-major tokens -> Linear-GELU-Linear
//   -> + vt_pe                                                                             = image embeddings
//
// Noise: by default a generator that reproduces PyTorch's CPU generator, i.e. what the official code draws on
// a CPU device after torch.manual_seed(seed): vae_noise = torch.randn(E, C, h, w), then unet_noise =
// torch.randn(E, C, h, w) (MT19937 + PyTorch's 16-wide Box-Muller, equal to torch up to float rounding of
// log/sin/cos). The official code runs on CUDA (Philox), whose draws cannot be reproduced; a caller can
// inject its own noise with difflmm_params::noise.
//
// difflmm_model is immutable after load; difflmm_encoder runs its graphs on one compute_backend, one thread at
// a time.
#pragma once

#include "gguf-loader.h"
#include "models/clip.h"
#include "models/sd-unet.h"
#include "models/sd-vae.h"
#include "vision.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace glm {

// Model facts of a DiffLMM vision GGUF (keys difflmm.*).
struct difflmm_hparams {
    int   image_size       = 384;   // SD-branch input side (mm_vision_resolution)
    float image_mean[3]    = { 0.5f, 0.5f, 0.5f };  // SD-branch normalisation (-> [-1, 1]); pad = int(mean*255)
    float image_std[3]     = { 0.5f, 0.5f, 0.5f };
    int   timestep         = 100;   // mm_vision_sd_timestep
    int   ensemble_size    = 1;     // mm_vision_sd_ensemble_size (noise draws averaged)
    int   select_layer     = 1;     // UNet up block fed to the projector (mm_vision_select_layer)
    bool  concat_clip      = true;  // mm_vision_sd_concat_clip
    bool  implicit_caption = true;  // mm_vision_sd_implicit_caption (else the null-prompt embeddings)
    // DDIM training schedule
    int         num_train_timesteps = 1000;
    float       beta_start          = 0.00085f;
    float       beta_end            = 0.012f;
    std::string beta_schedule       = "scaled_linear";  // or "linear"
    // derived
    int grid      = 0;  // tokens per side
    int n_embd    = 0;  // output width (the LLM's n_embd)
    int cross_dim = 0;  // UNet cross-attention width (= clip_projector output)
};

// The SDCLIPBlock projector (with the captioner MLP that the tower borrows from it).
struct difflmm_projector {
    sd_linear     clip_proj0, clip_proj2;    // implicit captioner: Linear-GELU-Linear
    ggml_tensor * clip_pe     = nullptr;     // [cross_dim, n_tokens] or nullptr
    ggml_tensor * null_prompt = nullptr;     // [cross_dim, n_text] SD text-encoder output for "" or nullptr
    sd_norm       sd_ln;                     // LayerNorm over the UNet channels (sd_norm_layer)
    sd_conv       sd_proj;                   // 1x1 conv [1, 1, C_sd, n_embd / 4]
    sd_linear     linear0, linear2;
    ggml_tensor * vt_pe = nullptr;           // [n_embd, n_tokens] or nullptr
};

struct difflmm_model {
    explicit difflmm_model(const std::string & path, ggml_backend_t backend);

    gguf_loader       loader;
    difflmm_hparams   hp;
    clip_model        clip;
    sd_vae_model      vae;
    sd_unet_model     unet;
    difflmm_projector proj;
    std::vector<float> null_prompt_mean;  // mean over the null-prompt tokens (host), empty without null_prompt
};

// A source of standard Gaussian noise: fills vae_noise and unet_noise (n values each, C x h x w of one draw)
// for ensemble draw `draw`.
typedef void (*difflmm_noise_fn)(int draw, float * vae_noise, float * unet_noise, size_t n, void * user_data);

// User settings.
struct difflmm_params {
    uint64_t         seed            = 0;        // seed of the PyTorch-compatible generator (per encode call)
    int              ensemble_size   = 0;        // noise draws averaged; 0 = the file's value
    int              timestep        = -1;       // diffusion timestep; -1 = the file's value
    difflmm_noise_fn noise           = nullptr;  // replaces the generator when set (tests, other samplers)
    void *           noise_user_data = nullptr;
};

difflmm_params difflmm_default_params();

// Seconds spent in each stage of the last encode() (or of the stage calls since reset).
struct difflmm_timings {
    double preprocess = 0, clip = 0, vae = 0, unet = 0, projector = 0;
    double total() const { return preprocess + clip + vae + unet + projector; }
};

// PyTorch CPU torch.randn(n) after torch.manual_seed(seed), continuing one generator across calls.
class torch_randn {
public:
    explicit torch_randn(uint64_t seed);
    std::vector<float> randn(size_t n);  // n >= 16 (PyTorch's vectorised path; smaller sizes differ)

private:
    uint32_t mt_[624];
    int      idx_ = 624;
    uint32_t next_u32();
};

// alphas_cumprod[t] of the DDPM/DDIM training schedule, computed as diffusers does in float32 (linspace, then
// betas, 1 - betas, cumprod accumulated in double as PyTorch's CPU kernel does).
float difflmm_alpha_cumprod(const difflmm_hparams & hp, int t);

class difflmm_encoder : public vision_encoder {
public:
    difflmm_encoder(const std::string & path, compute_backend & backend,
                    const difflmm_params & params = difflmm_default_params());

    std::string   name() const override;
    int           n_embd() const override { return model_.hp.n_embd; }
    int           grid_w() const override { return model_.hp.grid; }
    int           grid_h() const override { return model_.hp.grid; }
    vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const override;
    vision_output encode(const image_u8 & img) override;  // load backend, params().seed; keeps timings()
    void          set_seed(uint64_t seed) override { params_.seed = seed; }

    // --- the stages, for tests and benchmarks. Maps are CHW, token lists token-major [T, C].
    std::vector<float> preprocess(const image_u8 & img, pad_geometry * geom = nullptr) const;  // sd_input
    std::vector<float> clip_input(const std::vector<float> & sd_input) const;
    // CLIP features [T, C_clip] and the implicit caption (UNet context) [T, cross_dim] in one graph.
    void               clip_branch(const std::vector<float> & clip_input, std::vector<float> * features,
                                   std::vector<float> * caption) {
        clip_branch(clip_input, features, caption, { backend_, timings_ });
    }
    std::vector<float> caption_from_features(const std::vector<float> & features) {
        return caption_from_features(features, { backend_, timings_ });
    }
    // The UNet context when implicit_caption is off: the null-prompt embeddings [n_text, cross_dim].
    std::vector<float> null_prompt_context() const;
    void               vae_encode(const std::vector<float> & sd_input, std::vector<float> * mean,
                                  std::vector<float> * std_) {
        vae_encode(sd_input, mean, std_, { backend_, timings_ });
    }
    std::vector<float> sample_latent(const std::vector<float> & mean, const std::vector<float> & std_,
                                     const std::vector<float> & noise) const;
    std::vector<float> add_noise(const std::vector<float> & latent, const std::vector<float> & noise, int t) const;
    // Outputs of up blocks 0..n_up-1 (CHW each) for one noisy latent; context [T_ctx, cross_dim].
    std::vector<std::vector<float>> unet_up(const std::vector<float> & noisy, const std::vector<float> & context,
                                            int t, int n_up) {
        return unet_up(noisy, context, t, n_up, { backend_, timings_ });
    }
    // The SDCLIPBlock on the selected up-block map (CHW) and the CLIP features [T, C_clip] -> [T, n_embd].
    std::vector<float> project(const std::vector<float> & sd_map, const std::vector<float> & clip_features) {
        return project(sd_map, clip_features, { backend_, timings_ });
    }

    int latent_channels() const { return model_.vae.hp.latent_channels; }
    int latent_side() const { return model_.hp.image_size / model_.vae.hp.downscale(); }
    int clip_side() const { return model_.hp.image_size * 7 / 8; }
    // up block i's map is side x side with channels(i) channels
    int up_side(int i) const;
    int up_channels(int i) const;
    int n_up_blocks() const { return model_.unet.hp.n_up_stored; }

    const difflmm_model &   model() const { return model_; }
    const difflmm_params &  params() const { return params_; }
    void                    set_params(const difflmm_params & p) { params_ = p; }
    const difflmm_timings & timings() const { return timings_; }
    void                    reset_timings() { timings_ = difflmm_timings(); }

private:
    // where a stage computes and where it adds its time: the load backend and timings_ (one thread), or a caller's
    // compute state and a per-call record (encode(img, compute, seed), thread-safe)
    struct run_state {
        compute_backend & be;
        difflmm_timings & t;
    };
    void clip_branch(const std::vector<float> & clip_input, std::vector<float> * features, std::vector<float> * caption,
                     run_state rs) const;
    std::vector<float> caption_from_features(const std::vector<float> & features, run_state rs) const;
    void vae_encode(const std::vector<float> & sd_input, std::vector<float> * mean, std::vector<float> * std_,
                    run_state rs) const;
    std::vector<std::vector<float>> unet_up(const std::vector<float> & noisy, const std::vector<float> & context, int t,
                                            int n_up, run_state rs) const;
    std::vector<float> project(const std::vector<float> & sd_map, const std::vector<float> & clip_features,
                               run_state rs) const;
    vision_output      encode(const image_u8 & img, run_state rs, uint64_t seed) const;

    difflmm_model     model_;
    compute_backend & backend_;
    difflmm_params    params_;
    difflmm_timings   timings_;
};

}  // namespace glm
