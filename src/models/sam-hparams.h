// models/sam-hparams.h: the shape of a Segment Anything model, as the GGUF file of `groundlmm convert-sam`
// stores it (keys `sam.*`), and the tensor names shared by the converter and the loader.
//
// Every size is read from the checkpoint's own tensors at conversion (never from constants), except what a
// PyTorch state_dict cannot tell: the decoder's head count (8 in every released model), the LayerNorm
// epsilons and the pixel normalisation, which the official builder fixes. A plain value type: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

class gguf_loader;
struct gguf_writer;

struct sam_hparams {
    // image encoder (ViT)
    int   image_size  = 0;   // encoder input side (pixels), 1024 for released models
    int   patch_size  = 0;   // 16
    int   enc_embd    = 0;   // ViT width (768 / 1024 / 1280 for B / L / H)
    int   enc_depth   = 0;   // number of blocks
    int   enc_heads   = 0;   // attention heads
    int   enc_mlp     = 0;   // MLP width (4 x enc_embd)
    int   window_size = 0;   // windowed-attention side in tokens (14); 0 = every block is global
    std::vector<int> global_attn;  // indexes of the blocks with global attention
    bool  use_rel_pos = true;      // decomposed relative position bias in every block
    float enc_eps     = 1e-6f;     // LayerNorm epsilon of the ViT blocks

    // prompt encoder and mask decoder
    int   prompt_embd     = 0;   // transformer / embedding width (256 released; = encoder neck channels)
    int   mask_in_chans   = 0;   // hidden channels of the dense mask-prompt encoder (16)
    int   dec_depth       = 0;   // two-way transformer blocks (2)
    int   dec_heads       = 0;   // attention heads of the two-way transformer (8)
    int   dec_mlp         = 0;   // MLP width of the two-way transformer (2048)
    int   dec_downsample  = 0;   // attention_downsample_rate of the cross attentions (2)
    float dec_eps         = 1e-5f;  // nn.LayerNorm epsilon in the two-way transformer (PyTorch default)
    int   n_multimask     = 0;   // num_multimask_outputs (3); the decoder has n_multimask + 1 mask tokens
    int   iou_head_depth  = 0;   // layers of the IoU MLP (3)
    int   iou_head_hidden = 0;   // hidden width of the IoU MLP (256)
    float ln2d_eps        = 1e-6f;  // LayerNorm2d epsilon (neck, mask downscaling, output upscaling)

    // preprocessing and postprocessing facts of the model (Sam.pixel_mean / pixel_std / mask_threshold)
    float pixel_mean[3]  = { 123.675f, 116.28f, 103.53f };
    float pixel_std[3]   = { 58.395f, 57.12f, 57.375f };
    float mask_threshold = 0.0f;

    int  grid() const { return image_size / patch_size; }    // image-embedding side (64)
    int  low_res() const { return 4 * grid(); }              // low-res mask side (256)
    int  n_mask_tokens() const { return n_multimask + 1; }
    bool is_global(int il) const;

    // Throws glm::error naming `what` when the values are inconsistent (zero sizes, heads not dividing...).
    void validate(const std::string & what) const;
};

sam_hparams sam_hparams_read(const gguf_loader & ml);
void        sam_hparams_write(gguf_writer & w, const sam_hparams & hp);

// GGUF tensor names. The image encoder reuses gguf-py's `v.sam.*` names (MODEL_TENSOR.V_SAM_*); the prompt
// encoder and mask decoder, which gguf-py does not define, follow the same style under `sam.prompt.*` and
// `sam.dec.*`.
namespace sam_tn {
std::string enc_blk(int il, const char * name);        // "v.sam.blk.<il>.<name>"
std::string enc_neck(int i, const char * suffix);      // "v.sam.neck.<i>.<suffix>"
std::string dec_blk(int il, const char * name);        // "sam.dec.blk.<il>.<name>"
std::string dec_hyper(int i, int j, const char * suffix);  // "sam.dec.hyper.<i>.<j>.<suffix>"
std::string dec_iou(int j, const char * suffix);       // "sam.dec.iou_head.<j>.<suffix>"
std::string prompt_point(int i);                       // "sam.prompt.point_embd.<i>.weight"
std::string prompt_mask_down(int i, const char * suffix);  // "sam.prompt.mask_down.<i>.<suffix>"
}  // namespace sam_tn

}  // namespace glm
