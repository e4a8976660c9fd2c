// test-golden-difflmm: the DiffLMM visual encoder against tests/golden/difflmm (diffusers + transformers + the
// official SDCLIPBlock on tiny random weights). The test lays the golden's weights.safetensors out as the
// folders users convert (diffusers unet/ vae/ scheduler/, an HF CLIP folder, the projector, DiffLMM's
// config.json: tests/util/difflmm-golden.*), converts them with the real converter, then compares every
// intermediate: each stage is fed
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
#include "util/difflmm-golden.h"
#include "util/max-error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

using json = nlohmann::json;
namespace fs = std::filesystem;

// Tolerances, each 10-35x the worst error measured on tests/golden/difflmm and tests/golden/difflmm-variant (f32
// GGUF, CPU), given beside it; relative ones are max|diff| / max|reference|. Where the measured error is 0 (PIL-exact
// resampling, elementwise float32 formulas) the tolerance allows a few float32 ulps of another compiler's rounding.
static const double k_tol_alpha   = 1e-7;  // alphas_cumprod[100], abs (measured 0; one ulp at 0.89 is 6e-8)
static const double k_tol_sd      = 1e-6;  // sd_input in [-1, 1], abs (measured 0)
static const double k_tol_clip_in = 5e-6;  // clip_input, rel (measured 2.3e-7)
static const double k_tol_clip    = 1e-5;  // clip_features, rel (measured 7.3e-7)
static const double k_tol_caption = 5e-6;  // implicit_caption, rel (measured 1.8e-7)
static const double k_tol_vae     = 5e-5;  // vae_mean, vae_std, rel (measured 2.5e-6, 1.6e-6)
static const double k_tol_latent  = 1e-6;  // latent, noisy_latent, rel (measured 0)
static const double k_tol_unet    = 2e-5;  // up0..up3, rel (measured 1.1e-6, 9.7e-7, 1.1e-6, 9.5e-7)
static const double k_tol_proj    = 5e-6;  // image_embeddings from the reference up block, rel (measured 1.9e-7)
static const double k_tol_chain   = 1e-5;  // image_embeddings from image.png, rel (measured 3.9e-7)
static const double k_tol_np      = 5e-6;  // implicit caption + null-prompt mean, rel (measured 1.5e-7)

static std::vector<float> get(const glm::safetensors_file & f, const std::string & n) { return f.get(n).to_f32(); }

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
        glm::difflmm_convert_params cp;
        cp.output = glm::difflmm_golden_convert(folder, tmp, n_up);
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
        r.compare("alphas_cumprod[100]", &a, std::vector<float>{ (float) a_ref }.data(), 1, k_tol_alpha);

        // 1. SD input: expand2square + PIL bicubic + [-1, 1] (PIL-exact resampling)
        const glm::image_u8 img   = glm::image_load(folder + "/image.png");
        std::vector<float>  sd_in = enc.preprocess(img);
        r.compare("sd_input", sd_in, get(cs, "sd_input"), k_tol_sd);

        // 2. CLIP input from the reference SD input: torch bilinear + renormalisation (float arithmetic)
        const std::vector<float> sd_ref  = get(cs, "sd_input");
        std::vector<float>       clip_in = enc.clip_input(sd_ref);
        r.compare("clip_input", clip_in, get(cs, "clip_input"), k_tol_clip_in, true);

        // 3. CLIP features and the implicit caption (from the reference features)
        std::vector<float> feats, cap;
        enc.clip_branch(get(cs, "clip_input"), &feats, &cap);
        r.compare("clip_features", feats, get(cs, "clip_features"), k_tol_clip, true);
        cap = enc.caption_from_features(get(cs, "clip_features"));
        r.compare("implicit_caption", cap, get(cs, "implicit_caption"), k_tol_caption, true);

        // 4. VAE
        std::vector<float> mean, sdev;
        enc.vae_encode(sd_ref, &mean, &sdev);
        r.compare("vae_mean", mean, get(cs, "vae_mean"), k_tol_vae, true);
        r.compare("vae_std", sdev, get(cs, "vae_std"), k_tol_vae, true);

        // 5. latent sample and DDIM noising (float32 elementwise: to rounding)
        const int t = cases.at("config").at("timestep").get<int>();
        r.compare("latent", enc.sample_latent(get(cs, "vae_mean"), get(cs, "vae_std"), get(cs, "vae_noise")),
                  get(cs, "latent"), k_tol_latent, true);
        r.compare("noisy_latent", enc.add_noise(get(cs, "latent"), get(cs, "unet_noise"), t), get(cs, "noisy_latent"),
                  k_tol_latent, true);

        // 6. UNet up blocks from the reference noisy latent and caption
        const std::vector<std::vector<float>> ups =
            enc.unet_up(get(cs, "noisy_latent"), get(cs, "implicit_caption"), t, n_up);
        for (int i = 0; i < n_up; ++i) {
            const std::string n = "up" + std::to_string(i);
            r.compare(n, ups[(size_t) i], get(cs, n), k_tol_unet, true);
        }

        // 7. the SDCLIPBlock on the reference up1 and CLIP features
        const int sel = enc.model().hp.select_layer;
        r.compare("image_embeddings", enc.project(get(cs, "up" + std::to_string(sel)), get(cs, "clip_features")),
                  get(cs, "image_embeddings"), k_tol_proj, true);

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
        r.compare("image_embeddings (whole chain)", vo.embd, get(cs, "image_embeddings"), k_tol_chain, true);
        // ensemble: two draws of the golden's noise average to the golden's one-draw result (a reference
        // comparison, with the whole chain's tolerance); then determinism checks of the seeded generator (no
        // reference: the same seed gives the same embeddings, another seed others)
        p.ensemble_size = 2;
        enc.set_params(p);
        r.compare("image_embeddings (ensemble of 2 golden draws)", enc.encode(img).embd, get(cs, "image_embeddings"),
                  k_tol_chain, true);
        glm::difflmm_params ps = glm::difflmm_default_params();
        ps.seed                = 7;
        enc.set_params(ps);
        const std::vector<float> s7a = enc.encode(img).embd, s7b = enc.encode(img).embd;
        ps.seed = 8;
        enc.set_params(ps);
        const std::vector<float> s8 = enc.encode(img).embd;
        r.check("determinism: seeded noise, same seed, same embeddings", s7a == s7b);
        r.check("determinism: seeded noise, other seed, other embeddings", s7a != s8);
        enc.set_params(p);
        enc.encode(img);
        const auto & tm = enc.timings();
        printf("timings: preprocess %.3f s, clip %.3f s, vae %.3f s, unet %.3f s, projector %.3f s\n", tm.preprocess,
               tm.clip, tm.vae, tm.unet, tm.projector);

        // 9. the converter's null-prompt path (an SD text encoder present): the implicit caption then adds the
        // mean of the text encoder's output for "" over its tokens, as SDCLIPFeaturizer does. The golden has no
        // text encoder, so these are consistency checks: a random text encoder (its own numbers are checked against
        // PyTorch by test-difflmm), the golden's caption plus the mean of our null-prompt context, and an encode
        // whose output must move by that term.
        glm::difflmm_random_text_encoder(tmp, enc.model().hp.cross_dim);
        cp.sd_dir       = tmp;
        cp.clip_dir     = tmp + "/clip";
        cp.projector    = tmp + "/projector.safetensors";
        cp.llava_config = tmp + "/llava-config.json";
        cp.type         = GGML_TYPE_F32;
        cp.null_prompt  = true;
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
        r.compare("consistency: implicit_caption + null-prompt mean", enc2.caption_from_features(get(cs, "clip_features")), want,
                  k_tol_np, true);
        r.check("up blocks kept by default", enc2.n_up_blocks() == enc2.model().hp.select_layer + 1,
                std::to_string(enc2.n_up_blocks()));
        glm::difflmm_params p2 = enc2.params();
        p2.noise               = inject_noise;
        p2.noise_user_data     = &gn;
        enc2.set_params(p2);
        const std::vector<float> e_np = enc2.encode(img).embd;
        const double             d_np = glm::test::max_abs_diff(e_np, vo.embd);
        r.check("consistency: encode with null prompt (finite, same size, moved by the null-prompt term)",
                e_np.size() == vo.embd.size() && std::isfinite(d_np) && d_np > 1e-3 * glm::test::max_abs(vo.embd),
                glm::strfmt("max |diff| %.3e vs the golden chain", d_np));
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
