#include "difflmm.h"

#include "common.h"

#include <cmath>

namespace glm {

difflmm_params difflmm_default_params() { return difflmm_params(); }

// ---------------------------------------------------------------------------------------------------------
// model

static void read_rgb(const gguf_loader & ml, const std::string & key, float out[3]) {
    const std::vector<float> v = ml.get_arr_f32(key);
    if (v.size() != 3) {
        fail("%s: %s must have 3 values, got %zu", ml.path().c_str(), key.c_str(), v.size());
    }
    for (int c = 0; c < 3; ++c) {
        out[c] = v[(size_t) c];
    }
}

difflmm_model::difflmm_model(const std::string & path, ggml_backend_t backend) : loader(path) {
    const std::string & f    = path;
    const std::string   arch = loader.get_str("general.architecture", "");
    if (arch != "difflmm") {
        fail("%s: general.architecture is '%s', expected 'difflmm' (convert with groundlmm convert-difflmm)",
             f.c_str(), arch.c_str());
    }
    const std::string k = "difflmm.";
    hp.image_size       = (int) loader.get_int(k + "image_size");
    read_rgb(loader, k + "image_mean", hp.image_mean);
    read_rgb(loader, k + "image_std", hp.image_std);
    hp.timestep            = (int) loader.get_int(k + "timestep");
    hp.ensemble_size       = (int) loader.get_int(k + "ensemble_size");
    hp.select_layer        = (int) loader.get_int(k + "select_layer");
    hp.concat_clip         = loader.get_bool(k + "concat_clip");
    hp.implicit_caption    = loader.get_bool(k + "implicit_caption");
    hp.num_train_timesteps = (int) loader.get_int(k + "scheduler.num_train_timesteps");
    hp.beta_start          = (float) loader.get_float(k + "scheduler.beta_start");
    hp.beta_end            = (float) loader.get_float(k + "scheduler.beta_end");
    hp.beta_schedule       = loader.get_str(k + "scheduler.beta_schedule");
    hp.n_embd              = (int) loader.get_int(k + "embedding_length");
    if (hp.beta_schedule != "scaled_linear" && hp.beta_schedule != "linear") {
        fail("%s: beta_schedule '%s' is not supported (scaled_linear, linear)", f.c_str(), hp.beta_schedule.c_str());
    }
    if (hp.timestep < 0 || hp.timestep >= hp.num_train_timesteps || hp.ensemble_size < 1) {
        fail("%s: timestep %d / ensemble_size %d out of range", f.c_str(), hp.timestep, hp.ensemble_size);
    }

    loader.load(backend);
    clip.load(loader, /*require_projector=*/false, "v", "clip.vision");
    vae.load(loader, "difflmm.vae", "vae");
    unet.load(loader, "difflmm.unet", "unet");

    // consistency of the parts
    if (vae.hp.latent_channels != unet.hp.in_channels) {
        fail("%s: VAE latent channels %d != UNet in_channels %d", f.c_str(), vae.hp.latent_channels,
             unet.hp.in_channels);
    }
    if (hp.image_size % (vae.hp.downscale() * unet.hp.downscale()) != 0) {
        fail("%s: image_size %d is not a multiple of %d (VAE x UNet downscaling)", f.c_str(), hp.image_size,
             vae.hp.downscale() * unet.hp.downscale());
    }
    if (hp.image_size * 7 / 8 != clip.hp.image_size) {
        fail("%s: the CLIP branch resizes %d to %d (x 7/8) but the CLIP tower takes %d", f.c_str(), hp.image_size,
             hp.image_size * 7 / 8, clip.hp.image_size);
    }
    if (hp.select_layer < 0 || hp.select_layer >= unet.hp.n_up_stored) {
        fail("%s: select_layer %d but the file stores %d UNet up blocks", f.c_str(), hp.select_layer,
             unet.hp.n_up_stored);
    }
    hp.grid      = clip.hp.grid();
    hp.cross_dim = unet.hp.cross_dim;
    const int L  = hp.image_size / vae.hp.downscale();
    const int nb = unet.hp.n_blocks();
    const int side = hp.select_layer < nb - 1 ? L >> (nb - 2 - hp.select_layer) : L;
    if (side != hp.grid) {
        fail("%s: UNet up block %d gives a %dx%d map but the CLIP grid is %dx%d", f.c_str(), hp.select_layer, side,
             side, hp.grid, hp.grid);
    }
    if (hp.n_embd <= 0 || hp.n_embd % 4 != 0) {
        fail("%s: embedding_length %d is not a positive multiple of 4", f.c_str(), hp.n_embd);
    }

    // the SDCLIPBlock (official llava/model/multimodal_projector/builder.py)
    const int64_t T = (int64_t) hp.grid * hp.grid, CC = clip.hp.n_embd, X = hp.cross_dim, E = hp.n_embd;
    const int64_t CS = unet.hp.block_out[(size_t) (nb - 1 - hp.select_layer)];
    proj.clip_proj0  = sd_load_linear(loader, "mm.clip_proj.0", CC, X);
    proj.clip_proj2  = sd_load_linear(loader, "mm.clip_proj.2", X, X);
    proj.clip_pe     = loader.get_opt("mm.clip_pe", { X, T });
    proj.sd_ln     = sd_load_norm(loader, "mm.sd_norm", CS);
    proj.sd_proj     = sd_load_conv(loader, "mm.sd_proj", CS, E / 4, 1);
    proj.linear0     = sd_load_linear(loader, "mm.linear.0", E / 4 + (hp.concat_clip ? CC : 0), E);
    proj.linear2     = sd_load_linear(loader, "mm.linear.2", E, E);
    proj.vt_pe       = loader.get_opt("mm.vt_pe", { E, T });
    if (loader.has_tensor("mm.null_prompt")) {
        const int64_t n_text = loader.get_int(k + "null_prompt_tokens");
        proj.null_prompt     = loader.get("mm.null_prompt", { X, n_text });
        // null_prompt_embeds.mean(1): average of the token rows
        const std::vector<float> np = tensor_to_f32(proj.null_prompt);
        null_prompt_mean.assign((size_t) X, 0.0f);
        for (int64_t c = 0; c < X; ++c) {
            double s = 0.0;
            for (int64_t t = 0; t < n_text; ++t) {
                s += np[(size_t) (t * X + c)];
            }
            null_prompt_mean[(size_t) c] = (float) (s / (double) n_text);
        }
    } else if (!hp.implicit_caption) {
        fail("%s: implicit_caption is off but the file has no null-prompt embeddings (mm.null_prompt)", f.c_str());
    }
    loader.check_all_used();
}

// ---------------------------------------------------------------------------------------------------------
// noise and schedule

torch_randn::torch_randn(uint64_t seed) {
    // at::mt19937 seeded like torch.manual_seed: init_genrand with the low 32 bits
    mt_[0] = (uint32_t) (seed & 0xffffffffu);
    for (int i = 1; i < 624; ++i) {
        mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + (uint32_t) i;
    }
}

uint32_t torch_randn::next_u32() {
    if (idx_ >= 624) {
        for (int k = 0; k < 624; ++k) {
            const uint32_t y = (mt_[k] & 0x80000000u) | (mt_[(k + 1) % 624] & 0x7fffffffu);
            mt_[k]           = mt_[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        idx_ = 0;
    }
    uint32_t y = mt_[idx_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

std::vector<float> torch_randn::randn(size_t n) {
    if (n < 16) {
        fail("torch_randn: %zu values requested; only sizes >= 16 follow PyTorch's vectorised path", n);
    }
    // ATen normal_fill: uniform floats (24 random bits), then Box-Muller on blocks of 16 (j, j + 8); a tail
    // that is not a multiple of 16 redraws the last 16 values.
    std::vector<float> d(n);
    auto uniform = [&] { return (float) (next_u32() & ((1u << 24) - 1)) * (1.0f / 16777216.0f); };
    auto fill16  = [&](float * p) {
        for (int j = 0; j < 8; ++j) {
            const float u1     = 1.0f - p[j];
            const float u2     = p[j + 8];
            const float radius = std::sqrt(-2.0f * std::log(u1));
            const float theta  = 2.0f * (float) M_PI * u2;
            p[j]               = radius * std::cos(theta);
            p[j + 8]           = radius * std::sin(theta);
        }
    };
    for (size_t i = 0; i < n; ++i) {
        d[i] = uniform();
    }
    for (size_t i = 0; i + 16 <= n; i += 16) {
        fill16(&d[i]);
    }
    if (n % 16 != 0) {
        float * p = &d[n - 16];
        for (int i = 0; i < 16; ++i) {
            p[i] = uniform();
        }
        fill16(p);
    }
    return d;
}

float difflmm_alpha_cumprod(const difflmm_hparams & hp, int t) {
    // diffusers DDIMScheduler.__init__: betas = linspace(b0**0.5, b1**0.5, N, float32)**2 (scaled_linear) or
    // linspace(b0, b1, N); alphas_cumprod = cumprod(1 - betas). ATen's linspace: start + step*i in the first
    // half, end - step*(N-1-i) in the second; its CPU cumprod accumulates in double.
    const int   N     = hp.num_train_timesteps;
    const bool  sq    = hp.beta_schedule == "scaled_linear";
    const float start = sq ? (float) std::sqrt((double) hp.beta_start) : hp.beta_start;
    const float end   = sq ? (float) std::sqrt((double) hp.beta_end) : hp.beta_end;
    const float step  = (end - start) / (float) (N - 1);
    double      acc   = 1.0;
    float       out   = 1.0f;
    for (int i = 0; i <= t; ++i) {
        const float lin  = i < N / 2 ? start + step * (float) i : end - step * (float) (N - 1 - i);
        const float beta = sq ? lin * lin : lin;
        acc *= (double) (1.0f - beta);
        out = (float) acc;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// encoder

difflmm_encoder::difflmm_encoder(const std::string & path, compute_backend & backend, const difflmm_params & params)
    : model_(path, backend.primary()), backend_(backend), params_(params) {}

std::string difflmm_encoder::name() const {
    const auto & h = model_.hp;
    return strfmt("difflmm (SD VAE+UNet up block %d at t=%d, %d draw(s); CLIP %d layers of %d) -> %d", h.select_layer,
                  h.timestep, h.ensemble_size, model_.clip.hp.n_layer, model_.clip.hp.n_embd, h.n_embd);
}

int difflmm_encoder::up_side(int i) const {
    const int L = latent_side(), nb = model_.unet.hp.n_blocks();
    return i < nb - 1 ? L >> (nb - 2 - i) : L;
}

int difflmm_encoder::up_channels(int i) const {
    return model_.unet.hp.block_out[(size_t) (model_.unet.hp.n_blocks() - 1 - i)];
}

std::vector<float> difflmm_encoder::preprocess(const image_u8 & img, pad_geometry * geom) const {
    // SDCLIPVisionTower: CLIPImageProcessor(size=S, crop_size=S, mean=std=0.5) after LLaVA's expand2square
    const difflmm_hparams & h = model_.hp;
    return llava_pad_preprocess(img, h.image_size, h.image_mean, h.image_std, geom);
}

std::vector<float> difflmm_encoder::clip_input(const std::vector<float> & sd_input) const {
    // SDCLIPFeaturizer.sd_to_clip_img: bilinear to S*7/8, x * 0.5 + 0.5 (the SD normalisation undone), CLIP
    // normalisation; in float32 like the PyTorch ops
    const int S = model_.hp.image_size, R = clip_side();
    if (sd_input.size() != (size_t) 3 * S * S) {
        fail("difflmm: sd_input has %zu values, expected 3x%dx%d", sd_input.size(), S, S);
    }
    std::vector<float> x = torch_interpolate(sd_input.data(), 3, S, S, R, R, interp_mode::bilinear);
    const clip_hparams & ch = model_.clip.hp;
    for (int c = 0; c < 3; ++c) {
        const float sm = model_.hp.image_std[c], mm = model_.hp.image_mean[c];
        float *     p  = &x[(size_t) c * R * R];
        for (int i = 0; i < R * R; ++i) {
            const float v = p[i] * sm + mm;
            p[i]          = (v - ch.mean[c]) / ch.std_[c];
        }
    }
    return x;
}

// clip_projector(features) + clip_pe + null-prompt mean: [cross_dim, T]
static ggml_tensor * build_caption(ggml_context * ctx, const difflmm_model & m, ggml_tensor * feats,
                                   ggml_tensor ** null_mean) {
    ggml_tensor * x = sd_linear_fwd(ctx, m.proj.clip_proj0, feats);
    x               = sd_linear_fwd(ctx, m.proj.clip_proj2, ggml_gelu_erf(ctx, x));
    if (m.proj.clip_pe) {
        x = ggml_add(ctx, x, m.proj.clip_pe);
    }
    *null_mean = nullptr;
    if (!m.null_prompt_mean.empty()) {
        *null_mean = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, (int64_t) m.null_prompt_mean.size());
        ggml_set_input(tname(*null_mean, "null_prompt_mean"));
        x = ggml_add(ctx, x, *null_mean);
    }
    return tname(x, "implicit_caption");
}

void difflmm_encoder::clip_branch(const std::vector<float> & clip_in, std::vector<float> * features,
                                  std::vector<float> * caption, run_state rs) const {
    const double t0 = now_s();
    const int    R  = model_.clip.hp.image_size;
    if (clip_in.size() != (size_t) 3 * R * R) {
        fail("difflmm: clip_input has %zu values, expected 3x%dx%d", clip_in.size(), R, R);
    }
    graph_ctx     g;
    ggml_tensor * inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, R, R, 3, 1);
    ggml_set_input(tname(inp, "clip_input"));
    ggml_tensor * feats = clip_build_features(g.ctx(), model_.clip, inp);  // [C_clip, T]
    ggml_tensor * nm    = nullptr;
    ggml_tensor * cap   = build_caption(g.ctx(), model_, feats, &nm);
    ggml_set_output(feats);
    ggml_set_output(cap);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, feats);
    ggml_build_forward_expand(gf, cap);
    rs.be.run(gf, [&] {
        ggml_backend_tensor_set(inp, clip_in.data(), 0, clip_in.size() * sizeof(float));
        if (nm) {
            ggml_backend_tensor_set(nm, model_.null_prompt_mean.data(), 0, ggml_nbytes(nm));
        }
    });
    if (features) {
        *features = tensor_to_f32(feats);
    }
    if (caption) {
        *caption = tensor_to_f32(cap);
    }
    rs.t.clip += now_s() - t0;
}

std::vector<float> difflmm_encoder::caption_from_features(const std::vector<float> & features, run_state rs) const {
    const int64_t CC = model_.clip.hp.n_embd, T = (int64_t) model_.hp.grid * model_.hp.grid;
    if (features.size() != (size_t) (CC * T)) {
        fail("difflmm: clip features have %zu values, expected %lldx%lld", features.size(), (long long) T,
             (long long) CC);
    }
    graph_ctx     g;
    ggml_tensor * inp = ggml_new_tensor_2d(g.ctx(), GGML_TYPE_F32, CC, T);
    ggml_set_input(tname(inp, "clip_features"));
    ggml_tensor * nm  = nullptr;
    ggml_tensor * cap = build_caption(g.ctx(), model_, inp, &nm);
    ggml_set_output(cap);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, cap);
    rs.be.run(gf, [&] {
        ggml_backend_tensor_set(inp, features.data(), 0, features.size() * sizeof(float));
        if (nm) {
            ggml_backend_tensor_set(nm, model_.null_prompt_mean.data(), 0, ggml_nbytes(nm));
        }
    });
    return tensor_to_f32(cap);
}

std::vector<float> difflmm_encoder::null_prompt_context() const {
    if (!model_.proj.null_prompt) {
        fail("difflmm: the model has no null-prompt embeddings");
    }
    return tensor_to_f32(model_.proj.null_prompt);
}

void difflmm_encoder::vae_encode(const std::vector<float> & sd_input, std::vector<float> * mean,
                                 std::vector<float> * std_, run_state rs) const {
    const double t0 = now_s();
    const int    S  = model_.hp.image_size;
    if (sd_input.size() != (size_t) 3 * S * S) {
        fail("difflmm: sd_input has %zu values, expected 3x%dx%d", sd_input.size(), S, S);
    }
    graph_ctx     g;
    ggml_tensor * inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, S, S, model_.vae.hp.in_channels, 1);
    ggml_set_input(tname(inp, "sd_input"));
    sd_vae_output o = sd_vae_build_encoder(g.ctx(), model_.vae, inp);
    ggml_set_output(o.mean);
    ggml_set_output(o.std_);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, o.mean);
    ggml_build_forward_expand(gf, o.std_);
    rs.be.run(gf, [&] { ggml_backend_tensor_set(inp, sd_input.data(), 0, sd_input.size() * sizeof(float)); });
    *mean = tensor_to_f32(o.mean);
    *std_ = tensor_to_f32(o.std_);
    rs.t.vae += now_s() - t0;
}

std::vector<float> difflmm_encoder::sample_latent(const std::vector<float> & mean, const std::vector<float> & std_,
                                                  const std::vector<float> & noise) const {
    // DiagonalGaussianDistribution.sample() * scaling_factor
    if (std_.size() != mean.size() || noise.size() != mean.size()) {
        fail("difflmm: mean/std/noise sizes differ (%zu, %zu, %zu)", mean.size(), std_.size(), noise.size());
    }
    const float        sf = model_.vae.hp.scaling_factor;
    std::vector<float> out(mean.size());
    for (size_t i = 0; i < out.size(); ++i) {
        const float sn = std_[i] * noise[i];
        const float x  = mean[i] + sn;
        out[i]         = x * sf;
    }
    return out;
}

std::vector<float> difflmm_encoder::add_noise(const std::vector<float> & latent, const std::vector<float> & noise,
                                              int t) const {
    // DDIMScheduler.add_noise: sqrt(a_t) * x + sqrt(1 - a_t) * noise, in float32
    if (noise.size() != latent.size()) {
        fail("difflmm: latent and noise sizes differ (%zu vs %zu)", latent.size(), noise.size());
    }
    if (t < 0 || t >= model_.hp.num_train_timesteps) {
        fail("difflmm: timestep %d out of range 0..%d", t, model_.hp.num_train_timesteps - 1);
    }
    const float        a  = difflmm_alpha_cumprod(model_.hp, t);
    const float        sa = std::sqrt(a);
    const float        s1 = std::sqrt(1.0f - a);
    std::vector<float> out(latent.size());
    for (size_t i = 0; i < out.size(); ++i) {
        const float p = sa * latent[i];
        const float q = s1 * noise[i];
        out[i]        = p + q;
    }
    return out;
}

std::vector<std::vector<float>> difflmm_encoder::unet_up(const std::vector<float> & noisy,
                                                         const std::vector<float> & context, int t, int n_up,
                                                         run_state rs) const {
    const double            t0 = now_s();
    const sd_unet_hparams & uh = model_.unet.hp;
    const int               L  = latent_side();
    if (n_up < 1 || n_up > uh.n_up_stored) {
        fail("difflmm: %d up blocks requested, the file stores %d", n_up, uh.n_up_stored);
    }
    if (noisy.size() != (size_t) uh.in_channels * L * L) {
        fail("difflmm: latent has %zu values, expected %dx%dx%d", noisy.size(), uh.in_channels, L, L);
    }
    if (context.empty() || context.size() % (size_t) uh.cross_dim != 0) {
        fail("difflmm: context has %zu values, not a multiple of cross_attention_dim %d", context.size(), uh.cross_dim);
    }
    const int64_t      n_ctx = (int64_t) (context.size() / (size_t) uh.cross_dim);
    std::vector<float> temb  = sd_timestep_embedding(uh.block_out[0], (float) t, uh.flip_sin_to_cos, uh.freq_shift);

    graph_ctx     g;
    ggml_tensor * lat = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, L, L, uh.in_channels, 1);
    ggml_tensor * te  = ggml_new_tensor_2d(g.ctx(), GGML_TYPE_F32, uh.block_out[0], 1);
    ggml_tensor * ctx = ggml_new_tensor_3d(g.ctx(), GGML_TYPE_F32, uh.cross_dim, n_ctx, 1);
    ggml_set_input(tname(lat, "noisy_latent"));
    ggml_set_input(tname(te, "t_emb"));
    ggml_set_input(tname(ctx, "context"));
    std::vector<ggml_tensor *> ups = sd_unet_build(g.ctx(), model_.unet, lat, te, ctx, n_up);
    ggml_cgraph *              gf  = g.new_graph();
    for (ggml_tensor * u : ups) {
        ggml_set_output(u);
        ggml_build_forward_expand(gf, u);
    }
    rs.be.run(gf, [&] {
        ggml_backend_tensor_set(lat, noisy.data(), 0, ggml_nbytes(lat));
        ggml_backend_tensor_set(te, temb.data(), 0, ggml_nbytes(te));
        ggml_backend_tensor_set(ctx, context.data(), 0, ggml_nbytes(ctx));
    });
    std::vector<std::vector<float>> out;
    for (ggml_tensor * u : ups) {
        out.push_back(tensor_to_f32(u));
    }
    rs.t.unet += now_s() - t0;
    return out;
}

std::vector<float> difflmm_encoder::project(const std::vector<float> & sd_map,
                                            const std::vector<float> & clip_features, run_state rs) const {
    const double              t0 = now_s();
    const difflmm_model &     m  = model_;
    const int64_t             G = m.hp.grid, T = G * G, CC = m.clip.hp.n_embd, E = m.hp.n_embd;
    const int64_t             CS = up_channels(m.hp.select_layer);
    if (sd_map.size() != (size_t) (CS * T) || clip_features.size() != (size_t) (CC * T)) {
        fail("difflmm: projector inputs have %zu and %zu values, expected %lldx%lldx%lld and %lldx%lld", sd_map.size(),
             clip_features.size(), (long long) CS, (long long) G, (long long) G, (long long) T, (long long) CC);
    }
    graph_ctx     g;
    ggml_context * c   = g.ctx();
    ggml_tensor *  sdm = ggml_new_tensor_4d(c, GGML_TYPE_F32, G, G, CS, 1);
    ggml_tensor *  cf  = ggml_new_tensor_2d(c, GGML_TYPE_F32, CC, T);
    ggml_set_input(tname(sdm, "sd_features"));
    ggml_set_input(tname(cf, "clip_features"));
    // SDCLIPBlock.forward: LayerNorm over channels, 1x1 conv + GELU (a pointwise linear map on the tokens)
    ggml_tensor * y = sd_layer_norm(c, sd_map_to_tokens(c, sdm), m.proj.sd_ln, 1e-5f);  // [CS, T, 1]
    y               = ggml_reshape_2d(c, y, CS, T);
    ggml_tensor * w = ggml_reshape_2d(c, m.proj.sd_proj.w, CS, E / 4);
    y               = ggml_gelu_erf(c, ggml_add(c, ggml_mul_mat(c, w, y), m.proj.sd_proj.b));  // [E/4, T]
    if (m.hp.concat_clip) {
        y = ggml_concat(c, y, cf, 0);  // torch.cat([sd, clip], dim=1): SD channels first
    }
    y = sd_linear_fwd(c, m.proj.linear0, tname(y, "projector_in"));
    y = sd_linear_fwd(c, m.proj.linear2, ggml_gelu_erf(c, y));
    if (m.proj.vt_pe) {
        y = ggml_add(c, y, m.proj.vt_pe);
    }
    tname(y, "image_embeddings");
    ggml_set_output(y);
    ggml_cgraph * gf = g.new_graph();
    ggml_build_forward_expand(gf, y);
    rs.be.run(gf, [&] {
        ggml_backend_tensor_set(sdm, sd_map.data(), 0, ggml_nbytes(sdm));
        ggml_backend_tensor_set(cf, clip_features.data(), 0, ggml_nbytes(cf));
    });
    std::vector<float> out = tensor_to_f32(y);
    rs.t.projector += now_s() - t0;
    return out;
}

vision_output difflmm_encoder::encode(const image_u8 & img, run_state rs, uint64_t seed) const {
    rs.t = difflmm_timings();
    const difflmm_hparams & h  = model_.hp;
    const double            t0 = now_s();
    vision_output           out;
    const std::vector<float> sd_in   = preprocess(img, &out.geom);
    const std::vector<float> clip_in = clip_input(sd_in);
    rs.t.preprocess                  = now_s() - t0;

    std::vector<float> feats, caption;
    clip_branch(clip_in, &feats, h.implicit_caption ? &caption : nullptr, rs);
    if (!h.implicit_caption) {
        caption = null_prompt_context();
    }
    std::vector<float> mean, sdev;
    vae_encode(sd_in, &mean, &sdev, rs);

    const int    E = params_.ensemble_size > 0 ? params_.ensemble_size : h.ensemble_size;
    const int    t = params_.timestep >= 0 ? params_.timestep : h.timestep;
    const size_t n = mean.size();
    std::vector<float> vae_all, unet_all;
    if (!params_.noise) {
        torch_randn gen(seed);
        vae_all  = gen.randn(n * (size_t) E);
        unet_all = gen.randn(n * (size_t) E);
    }
    std::vector<float> acc;
    for (int e = 0; e < E; ++e) {
        std::vector<float> vn(n), un(n);
        if (params_.noise) {
            params_.noise(e, vn.data(), un.data(), n, params_.noise_user_data);
        } else {
            std::copy(vae_all.begin() + (ptrdiff_t) (e * n), vae_all.begin() + (ptrdiff_t) ((e + 1) * n), vn.begin());
            std::copy(unet_all.begin() + (ptrdiff_t) (e * n), unet_all.begin() + (ptrdiff_t) ((e + 1) * n), un.begin());
        }
        const std::vector<float> noisy = add_noise(sample_latent(mean, sdev, vn), un, t);
        std::vector<std::vector<float>> ups = unet_up(noisy, caption, t, h.select_layer + 1, rs);
        std::vector<float> & u = ups[(size_t) h.select_layer];
        if (acc.empty()) {
            acc = std::move(u);
        } else {
            for (size_t i = 0; i < acc.size(); ++i) {
                acc[i] += u[i];
            }
        }
    }
    if (E > 1) {
        for (float & v : acc) {
            v /= (float) E;  // .mean(0) over the ensemble
        }
    }
    out.embd     = project(acc, feats, rs);
    out.n_tokens = h.grid * h.grid;
    out.n_embd   = h.n_embd;
    out.grid_w   = h.grid;
    out.grid_h   = h.grid;
    // one square grid over LLaVA's padded square (expand2square), tokens in raster order
    out.layout = image_layout::single(out.grid_h, out.grid_w, rect_padded_square(img.w, img.h));
    GLM_LOG_DEBUG("difflmm: preprocess %.3f s, clip %.3f s, vae %.3f s, unet %.3f s, projector %.3f s\n",
                  rs.t.preprocess, rs.t.clip, rs.t.vae, rs.t.unet, rs.t.projector);
    return out;
}

vision_output difflmm_encoder::encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const {
    difflmm_timings t;
    return encode(img, { compute, t }, seed);
}

vision_output difflmm_encoder::encode(const image_u8 & img) { return encode(img, { backend_, timings_ }, params_.seed); }

}  // namespace glm
