// groundlmm convert-sam: an official Segment Anything checkpoint (.pth, or the same state_dict as
// .safetensors) to the GGUF file `groundlmm segment` and the SAM refiner read.
#include "cli-common.h"
#include "common.h"
#include "sam-convert.h"

#include <cstdio>
#include <sstream>

int cmd_convert_sam(int argc, char ** argv) {
    CLI::App                app("Convert a Segment Anything checkpoint (sam_vit_{b,l,h}_*.pth) to GGUF", argv[0]);
    glm::sam_convert_params p;
    std::string             type = "f16";
    std::string             global;
    app.add_option("checkpoint", p.input, "official checkpoint: .pth (torch.save) or .safetensors")->required();
    app.add_option("-o,--output", p.output, "output GGUF")->required();
    app.add_option("--type", type, "type of the large linear weights (norms, biases, convolutions and small tensors "
                                   "stay f32)")
        ->check(CLI::IsMember({ "f32", "f16", "q8_0" }))
        ->capture_default_str();
    app.add_option("--encoder-heads", p.encoder_heads,
                   "image-encoder heads (default: width / head_dim of the rel-pos tables)")
        ->check(CLI::Range(1, 4096));
    app.add_option("--decoder-heads", p.decoder_heads,
                   "mask-decoder heads, which a state_dict does not record (default: the file's metadata, else 8 as "
                   "in every released model)")
        ->check(CLI::Range(1, 4096));
    app.add_option("--window-size", p.window_size,
                   "windowed-attention side (default: detected from the rel-pos tables; 0 = all blocks global)")
        ->check(CLI::Range(0, 4096));
    app.add_option("--global-attn", global, "with --window-size: comma-separated indexes of the global blocks");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    p.type = type == "f32" ? GGML_TYPE_F32 : type == "f16" ? GGML_TYPE_F16 : GGML_TYPE_Q8_0;
    if (!global.empty()) {
        if (p.window_size < 0) {
            glm::fail("--global-attn needs --window-size");
        }
        std::stringstream ss(global);
        std::string       item;
        while (std::getline(ss, item, ',')) {
            try {
                p.global_attn.push_back(std::stoi(item));
            } catch (...) {
                glm::fail("--global-attn: '%s' is not an integer", item.c_str());
            }
        }
    }
    const double           t0 = glm::now_s();
    const glm::sam_hparams hp = glm::sam_convert(p);
    std::string            g;
    for (int i : hp.global_attn) {
        g += (g.empty() ? "" : ",") + std::to_string(i);
    }
    fprintf(stderr,
            "wrote %s in %.1f s: ViT %d wide, %d blocks, %d heads, window %d, global [%s], image %d, patch %d; "
            "prompt %d; decoder %d blocks, %d heads, MLP %d\n",
            p.output.c_str(), glm::now_s() - t0, hp.enc_embd, hp.enc_depth, hp.enc_heads, hp.window_size, g.c_str(),
            hp.image_size, hp.patch_size, hp.prompt_embd, hp.dec_depth, hp.dec_heads, hp.dec_mlp);
    return 0;
}
