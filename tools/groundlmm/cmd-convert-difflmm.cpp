// groundlmm convert-difflmm: one DiffLMM vision GGUF from the released pieces (diffusers Stable Diffusion
// folder, Hugging Face CLIP folder, the official projector weights, optionally DiffLMM's config.json).
#include "cli-common.h"
#include "common.h"
#include "difflmm-convert.h"

#include <cstdio>

int cmd_convert_difflmm(int argc, char ** argv) {
    CLI::App                    app("Convert DiffLMM's visual encoder (SD VAE + UNet, CLIP, SDCLIPBlock) to one GGUF",
                                    argv[0]);
    glm::difflmm_convert_params p;
    std::string                 type = "f16";
    bool                        no_null = false;
    app.add_option("--sd", p.sd_dir, "diffusers Stable Diffusion folder (unet/, vae/, scheduler/, text_encoder/, "
                                     "tokenizer/), e.g. stable-diffusion-v1-5")
        ->required();
    app.add_option("--clip", p.clip_dir, "Hugging Face CLIP folder (config.json + model.safetensors), "
                                         "e.g. clip-vit-large-patch14-336")
        ->required();
    app.add_option("--projector", p.projector, "projector weights: non_lora_trainables.bin (PyTorch) or .safetensors")
        ->required();
    app.add_option("--config", p.llava_config, "DiffLMM's config.json (mm_vision_* settings); default: the released "
                                               "model's (up block 1, t=100, 1 draw, 384 px, pe 576)");
    app.add_option("-o,--output", p.output, "output GGUF")->required();
    app.add_option("--type", type, "type of matrices and convolution kernels")
        ->check(CLI::IsMember({ "f32", "f16" }))
        ->capture_default_str();
    app.add_option("--up-blocks", p.up_blocks, "UNet up blocks to keep (0 = up to the one the projector reads)")
        ->capture_default_str();
    app.add_flag("--no-null-prompt", no_null, "leave out SD's null-prompt embeddings (the official implicit caption "
                                              "adds their mean; only for models without a text encoder)");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    p.type        = type == "f32" ? GGML_TYPE_F32 : GGML_TYPE_F16;
    p.null_prompt = !no_null;
    const double t0 = glm::now_s();
    glm::difflmm_convert(p);
    fprintf(stderr, "wrote %s in %.1f s\n", p.output.c_str(), glm::now_s() - t0);
    return 0;
}
