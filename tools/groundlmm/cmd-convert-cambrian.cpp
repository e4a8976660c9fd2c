// groundlmm convert-cambrian: the Cambrian-1 aggregator and vision-tower GGUF from the released pieces (the
// cambrian-8b checkpoint folder, which holds no tower weights, and each tower's own public checkpoint).
// The LLaMA weights go through llama.cpp's converter. docs/cambrian.md.
#include "cambrian-convert.h"
#include "cli-common.h"
#include "common.h"

#include <cstdio>
#include <filesystem>

int cmd_convert_cambrian(int argc, char ** argv) {
    CLI::App app("Convert Cambrian-1's spatial vision aggregator and its four vision towers to one GGUF", argv[0]);
    glm::cambrian_convert_params p;
    std::string                  config, type = "f16", llm_output, tokenizer_from;
    app.add_option("--checkpoint", p.input, "nyu-visionx/cambrian-8b: the folder of *.safetensors (or one file) with "
                                            "the official names")
        ->required();
    app.add_option("--config", config, "the checkpoint's config.json (default: <checkpoint>/config.json when it exists)");
    app.add_option("--siglip", p.siglip, "timm/ViT-SO400M-14-SigLIP-384: open_clip_model.safetensors (or a folder)");
    app.add_option("--clip", p.clip, "openai/clip-vit-large-patch14-336: model.safetensors (or a folder)");
    app.add_option("--dino", p.dino, "facebook/dinov2-giant: model.safetensors (or a folder)");
    app.add_option("--convnext", p.convnext, "laion/CLIP-convnext_xxlarge-laion2B-s34B-b82K-augreg-soup: "
                                             "open_clip_model.safetensors (or a folder)");
    app.add_option("-o,--output", p.output, "output GGUF")->required();
    app.add_option("--type", type, "type of matrices")->check(CLI::IsMember({ "f32", "f16" }))->capture_default_str();
    app.add_option("--llm-output", llm_output, "also write the checkpoint's Llama-3 LLM as a llama.cpp GGUF here "
                                               "(~16 GB of memory at f16)");
    app.add_option("--tokenizer-from", tokenizer_from, "with --llm-output: a Llama-3-8B-Instruct GGUF whose tokenizer "
                                                       "is copied (default: no tokenizer, embeddings-only use)");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    if (config.empty() && std::filesystem::is_directory(p.input) &&
        std::filesystem::exists(std::filesystem::path(p.input) / "config.json")) {
        config = (std::filesystem::path(p.input) / "config.json").string();
    }
    if (!config.empty()) {
        glm::cambrian_convert_read_config(config, &p);
    }
    p.type = type == "f32" ? GGML_TYPE_F32 : GGML_TYPE_F16;
    const double t0 = glm::now_s();
    glm::cambrian_convert(p);
    fprintf(stderr, "wrote %s in %.1f s\n", p.output.c_str(), glm::now_s() - t0);
    if (!llm_output.empty()) {
        if (config.empty()) {
            fprintf(stderr, "convert-cambrian: --llm-output needs the checkpoint's config.json (--config)\n");
            return 1;
        }
        glm::cambrian_llm_convert_params lp;
        lp.input          = p.input;
        lp.config         = config;
        lp.tokenizer_from = tokenizer_from;
        lp.output         = llm_output;
        lp.type           = p.type;
        glm::cambrian_convert_llm(lp);
        fprintf(stderr, "wrote %s in %.1f s\n", llm_output.c_str(), glm::now_s() - t0);
    }
    return 0;
}
