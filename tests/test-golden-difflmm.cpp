// test-golden-difflmm: the DiffLMM visual encoder against tests/golden/difflmm (diffusers + transformers + the
// official SDCLIPBlock on tiny random weights). The test lays the golden's weights.safetensors out as the
// folders users convert (diffusers unet/ vae/ scheduler/, an HF CLIP folder, the projector, DiffLMM's
// config.json), converts them with the real converter, then compares every intermediate: each stage is fed
// the reference output of the previous one, so errors do not accumulate; the whole chain is checked last.
//
// usage: test-golden-difflmm [golden folder] [--keep] [--write-gguf tiny-difflmm-vision.gguf]
// (--write-gguf keeps the converted tiny model, e.g. for end-to-end runs of groundlmm with DiffLMM)
#include "backend.h"
#include "common.h"
#include "difflmm-convert.h"
#include "difflmm.h"
#include "golden-util.h"
#include "image.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <unistd.h>

using json = nlohmann::json;
namespace fs = std::filesystem;

static std::vector<float> get(const glm::safetensors_file & f, const std::string & n) { return f.get(n).to_f32(); }

// Writes the tensors "<prefix>*" of `src` into `path`, renamed by dropping `strip`.
static void write_subset(const glm::safetensors_file & src, const std::string & prefix, const std::string & strip,
                         const std::string & path) {
    glm::safetensors_writer w;
    int                     n = 0;
    for (const std::string & name : src.names()) {
        if (name.rfind(prefix, 0) != 0) {
            continue;
        }
        const glm::st_tensor & t = src.get(name);
        w.add(name.substr(strip.size()), t.dtype, t.shape, t.data);
        ++n;
    }
    if (n == 0) {
        glm::fail("%s: no tensors named %s*", src.path().c_str(), prefix.c_str());
    }
    w.write(path);
}

static int count_blocks(const glm::safetensors_file & w, const std::string & fmt) {
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

static bool has_prefix(const glm::safetensors_file & w, const std::string & p) {
    for (const std::string & name : w.names()) {
        if (name.rfind(p, 0) == 0) {
            return true;
        }
    }
    return false;
}

static void write_json(const std::string & path, const json & j) { glm::write_file(path, j.dump(2)); }

// The golden's configs, laid out as diffusers / transformers / LLaVA config.json files. Values the cases.json
// "config" section gives are taken from it; counts it leaves out are read from the weight names and shapes.
static void make_model_dirs(const std::string & golden, const std::string & dir, int n_up) {
    const json                cases = json::parse(glm::read_file(golden + "/cases.json"));
    const json &              cfg   = cases.at("config");
    const glm::safetensors_file w(golden + "/weights.safetensors");
    for (const char * d : { "unet", "vae", "scheduler", "clip" }) {
        glm::make_dirs(dir + "/" + d);
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
        tl.push_back(has_prefix(w, a) ? std::max(1, count_blocks(w, a + "transformer_blocks.%d.")) : 1);
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

    const glm::safetensors_file cs(golden + "/cases.safetensors");
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
    (void) n_up;
}

// A random CLIP text encoder of the UNet's cross-attention width and a tokenizer folder, so that the converter's
// null-prompt path can be exercised on the golden model (test-difflmm checks the text encoder itself).
static void make_text_encoder(const std::string & dir, int64_t width) {
    const int64_t V = 64, P = 77, F = 2 * width, L = 2;
    glm::make_dirs(dir + "/text_encoder");
    glm::make_dirs(dir + "/tokenizer");
    write_json(dir + "/text_encoder/config.json",
               { { "vocab_size", V }, { "max_position_embeddings", P }, { "hidden_size", width },
                 { "intermediate_size", F }, { "num_attention_heads", 4 }, { "num_hidden_layers", L },
                 { "hidden_act", "quick_gelu" }, { "layer_norm_eps", 1e-5 } });
    glm::safetensors_writer w;
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

struct golden_noise {
    std::vector<float> vae, unet;
};

static void inject_noise(int draw, float * vae, float * unet, size_t n, void * ud) {
    const golden_noise * g = (const golden_noise *) ud;  // every draw gets the golden's one draw
    if (n != g->vae.size()) {
        glm::fail("golden noise: draw %d of %zu values requested, the golden's has %zu", draw, n, g->vae.size());
    }
    memcpy(vae, g->vae.data(), n * sizeof(float));
    memcpy(unet, g->unet.data(), n * sizeof(float));
}

int main(int argc, char ** argv) {
    std::string folder = GLM_GOLDEN_DEFAULT;
    bool        keep   = false;
    std::string write_gguf;  // also copy the converted tiny model there (for end-to-end runs)
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--keep")) {
            keep = true;
        } else if (!strcmp(argv[i], "--write-gguf") && i + 1 < argc) {
            write_gguf = argv[++i];
        } else {
            folder = argv[i];
        }
    }
    glm::log_route_ggml(false);
    golden::report r;
    const std::string tmp = (fs::temp_directory_path() / ("glm-difflmm-" + std::to_string(getpid()))).string();
    try {
        const glm::safetensors_file cs(folder + "/cases.safetensors");
        const json                  cases = json::parse(glm::read_file(folder + "/cases.json"));
        int                         n_up  = 0;
        while (cs.has("up" + std::to_string(n_up))) {
            ++n_up;
        }

        // convert the golden's weights the way users convert the released ones
        make_model_dirs(folder, tmp, n_up);
        glm::difflmm_convert_params cp;
        cp.sd_dir       = tmp;
        cp.clip_dir     = tmp + "/clip";
        cp.projector    = tmp + "/projector.safetensors";
        cp.llava_config = tmp + "/llava-config.json";
        cp.output       = tmp + "/difflmm-vision.gguf";
        cp.type         = GGML_TYPE_F32;
        cp.null_prompt  = false;  // the golden has no SD text encoder: its implicit caption has no null-prompt term
        cp.up_blocks    = n_up;
        glm::difflmm_convert(cp);
        if (!write_gguf.empty()) {
            fs::copy_file(cp.output, write_gguf, fs::copy_options::overwrite_existing);
            printf("wrote %s\n", write_gguf.c_str());
        }

        glm::compute_backend be;
        glm::difflmm_encoder enc(cp.output, be);
        printf("backend %s; %s\n", be.name().c_str(), enc.name().c_str());

        // DDIM schedule
        const double a_ref = cases.at("config").at("alphas_cumprod[100]").get<double>();
        const float  a     = glm::difflmm_alpha_cumprod(enc.model().hp, 100);
        r.compare("alphas_cumprod[100]", &a, std::vector<float>{ (float) a_ref }.data(), 1, 1e-7);

        // 1. SD input: expand2square + PIL bicubic + [-1, 1] (resampling: one grey level = 2/255)
        const glm::image_u8 img   = glm::image_load(folder + "/image.png");
        std::vector<float>  sd_in = enc.preprocess(img);
        r.compare("sd_input", sd_in, get(cs, "sd_input"), 2.0 / 255.0 + 1e-6);

        // 2. CLIP input from the reference SD input: torch bilinear + renormalisation (float arithmetic)
        const std::vector<float> sd_ref  = get(cs, "sd_input");
        std::vector<float>       clip_in = enc.clip_input(sd_ref);
        r.compare("clip_input", clip_in, get(cs, "clip_input"), 1e-4, true);

        // 3. CLIP features and the implicit caption (from the reference features)
        std::vector<float> feats, cap;
        enc.clip_branch(get(cs, "clip_input"), &feats, &cap);
        r.compare("clip_features", feats, get(cs, "clip_features"), 1e-4, true);
        cap = enc.caption_from_features(get(cs, "clip_features"));
        r.compare("implicit_caption", cap, get(cs, "implicit_caption"), 1e-4, true);

        // 4. VAE
        std::vector<float> mean, sdev;
        enc.vae_encode(sd_ref, &mean, &sdev);
        r.compare("vae_mean", mean, get(cs, "vae_mean"), 1e-4, true);
        r.compare("vae_std", sdev, get(cs, "vae_std"), 1e-4, true);

        // 5. latent sample and DDIM noising (float32 elementwise: to rounding)
        const int t = cases.at("config").at("timestep").get<int>();
        r.compare("latent", enc.sample_latent(get(cs, "vae_mean"), get(cs, "vae_std"), get(cs, "vae_noise")),
                  get(cs, "latent"), 1e-6, true);
        r.compare("noisy_latent", enc.add_noise(get(cs, "latent"), get(cs, "unet_noise"), t), get(cs, "noisy_latent"),
                  1e-6, true);

        // 6. UNet up blocks from the reference noisy latent and caption
        const std::vector<std::vector<float>> ups =
            enc.unet_up(get(cs, "noisy_latent"), get(cs, "implicit_caption"), t, n_up);
        for (int i = 0; i < n_up; ++i) {
            const std::string n = "up" + std::to_string(i);
            r.compare(n, ups[(size_t) i], get(cs, n), 1e-4, true);
        }

        // 7. the SDCLIPBlock on the reference up1 and CLIP features
        const int sel = enc.model().hp.select_layer;
        r.compare("image_embeddings", enc.project(get(cs, "up" + std::to_string(sel)), get(cs, "clip_features")),
                  get(cs, "image_embeddings"), 1e-4, true);

        // 8. the whole chain from the image, with the golden's noise injected (includes the resampling step)
        golden_noise        gn{ get(cs, "vae_noise"), get(cs, "unet_noise") };
        glm::difflmm_params p = enc.params();
        p.noise               = inject_noise;
        p.noise_user_data     = &gn;
        enc.set_params(p);
        const glm::vision_output vo = enc.encode(img);
        r.check("output grid", vo.n_tokens == (int) cs.get("image_embeddings").shape[0] &&
                                   vo.n_embd == (int) cs.get("image_embeddings").shape[1],
                std::to_string(vo.n_tokens) + " x " + std::to_string(vo.n_embd));
        r.compare("image_embeddings (whole chain)", vo.embd, get(cs, "image_embeddings"), 1e-3, true);
        // ensemble: two draws of the same noise average to the one-draw result; the seeded generator is
        // deterministic and its draws differ between seeds
        p.ensemble_size = 2;
        enc.set_params(p);
        r.compare("image_embeddings (2 equal draws)", enc.encode(img).embd, vo.embd, 1e-6, true);
        glm::difflmm_params ps = glm::difflmm_default_params();
        ps.seed                = 7;
        enc.set_params(ps);
        const std::vector<float> s7a = enc.encode(img).embd, s7b = enc.encode(img).embd;
        ps.seed = 8;
        enc.set_params(ps);
        const std::vector<float> s8 = enc.encode(img).embd;
        r.check("seeded noise: same seed, same embeddings", s7a == s7b);
        r.check("seeded noise: other seed, other embeddings", s7a != s8);
        enc.set_params(p);
        enc.encode(img);
        const auto & tm = enc.timings();
        printf("timings: preprocess %.3f s, clip %.3f s, vae %.3f s, unet %.3f s, projector %.3f s\n", tm.preprocess,
               tm.clip, tm.vae, tm.unet, tm.projector);

        // 9. the converter's null-prompt path (an SD text encoder present): the implicit caption then adds the
        // mean of the text encoder's output for "" over its tokens, as SDCLIPFeaturizer does
        make_text_encoder(tmp, enc.model().hp.cross_dim);
        cp.null_prompt = true;
        cp.up_blocks   = 0;  // the default: only the up blocks the projector needs
        cp.output      = tmp + "/difflmm-vision-np.gguf";
        glm::difflmm_convert(cp);
        glm::difflmm_encoder     enc2(cp.output, be);
        const std::vector<float> np = enc2.null_prompt_context();
        const size_t             X  = (size_t) enc2.model().hp.cross_dim, NT = np.size() / X;
        std::vector<float>       want = get(cs, "implicit_caption");
        for (size_t i = 0; i < want.size(); ++i) {
            double m = 0.0;
            for (size_t t = 0; t < NT; ++t) {
                m += np[t * X + i % X];
            }
            want[i] += (float) (m / (double) NT);
        }
        r.check("null prompt tokens", NT == 77, std::to_string(NT));
        r.compare("implicit_caption + null-prompt mean", enc2.caption_from_features(get(cs, "clip_features")), want,
                  1e-5, true);
        r.check("up blocks kept by default", enc2.n_up_blocks() == enc2.model().hp.select_layer + 1,
                std::to_string(enc2.n_up_blocks()));
        glm::difflmm_params p2 = enc2.params();
        p2.noise               = inject_noise;
        p2.noise_user_data     = &gn;
        enc2.set_params(p2);
        r.check("encode with null prompt", enc2.encode(img).embd.size() == vo.embd.size());
    } catch (const std::exception & e) {
        r.check("run", false, e.what());
    }
    if (!keep) {
        std::error_code ec;
        fs::remove_all(tmp, ec);
    } else {
        printf("kept %s\n", tmp.c_str());
    }
    return r.finish("test-golden-difflmm");
}
