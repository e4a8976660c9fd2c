#include "models/sam-hparams.h"

#include "common.h"
#include "gguf-loader.h"

#include <algorithm>

namespace glm {

// GGUF metadata keys
static const char * k_arch            = "sam";
static const char * k_image_size      = "sam.image_size";
static const char * k_patch_size      = "sam.patch_size";
static const char * k_enc_embd        = "sam.encoder.embedding_length";
static const char * k_enc_depth       = "sam.encoder.block_count";
static const char * k_enc_heads       = "sam.encoder.head_count";
static const char * k_enc_mlp         = "sam.encoder.feed_forward_length";
static const char * k_window          = "sam.encoder.window_size";
static const char * k_global          = "sam.encoder.global_attn_indexes";
static const char * k_rel_pos         = "sam.encoder.use_rel_pos";
static const char * k_enc_eps         = "sam.encoder.layer_norm_epsilon";
static const char * k_out_chans       = "sam.encoder.out_channels";
static const char * k_prompt_embd     = "sam.prompt.embedding_length";
static const char * k_mask_in_chans   = "sam.prompt.mask_in_chans";
static const char * k_dec_depth       = "sam.decoder.block_count";
static const char * k_dec_heads       = "sam.decoder.head_count";
static const char * k_dec_mlp         = "sam.decoder.feed_forward_length";
static const char * k_dec_downsample  = "sam.decoder.attention_downsample_rate";
static const char * k_dec_eps         = "sam.decoder.layer_norm_epsilon";
static const char * k_n_multimask     = "sam.decoder.num_multimask_outputs";
static const char * k_iou_depth       = "sam.decoder.iou_head_depth";
static const char * k_iou_hidden      = "sam.decoder.iou_head_hidden_dim";
static const char * k_ln2d_eps        = "sam.layer_norm_2d_epsilon";
static const char * k_mean            = "sam.image_mean";
static const char * k_std             = "sam.image_std";
static const char * k_mask_threshold  = "sam.mask_threshold";

bool sam_hparams::is_global(int il) const {
    return window_size <= 0 || std::find(global_attn.begin(), global_attn.end(), il) != global_attn.end();
}

void sam_hparams::validate(const std::string & what) const {
    auto need = [&](bool ok, const char * msg) {
        if (!ok) {
            fail("%s: invalid SAM hyperparameters: %s", what.c_str(), msg);
        }
    };
    need(image_size > 0 && patch_size > 0 && image_size % patch_size == 0, "image size must be a multiple of the patch size");
    need(enc_embd > 0 && enc_depth > 0 && enc_heads > 0 && enc_embd % enc_heads == 0,
         "encoder width must be a positive multiple of its head count");
    need(enc_mlp > 0, "encoder MLP width must be positive");
    need(window_size >= 0, "window size must be >= 0");
    for (int g : global_attn) {
        need(g >= 0 && g < enc_depth, "global-attention index out of range");
    }
    need(prompt_embd > 0 && prompt_embd % 8 == 0, "prompt embedding width must be a positive multiple of 8");
    need(prompt_embd % 2 == 0, "prompt embedding width must be even");
    need(mask_in_chans > 0 && mask_in_chans % 4 == 0, "mask_in_chans must be a positive multiple of 4");
    need(dec_depth > 0 && dec_heads > 0 && dec_mlp > 0, "decoder depth, heads and MLP width must be positive");
    need(dec_downsample > 0 && prompt_embd % dec_downsample == 0, "bad attention downsample rate");
    need(prompt_embd % dec_heads == 0 && (prompt_embd / dec_downsample) % dec_heads == 0,
         "decoder head count must divide the attention widths");
    need(n_multimask > 0, "num_multimask_outputs must be positive");
    need(iou_head_depth > 0 && iou_head_hidden > 0, "bad IoU head");
    for (int c = 0; c < 3; ++c) {
        need(pixel_std[c] > 0, "pixel std must be positive");
    }
}

sam_hparams sam_hparams_read(const gguf_loader & ml) {
    const std::string arch = ml.get_str("general.architecture", "");
    if (arch != k_arch) {
        fail("%s: not a SAM model file (general.architecture is '%s', expected '%s'; convert checkpoints with "
             "'groundlmm convert-sam')", ml.path().c_str(), arch.c_str(), k_arch);
    }
    sam_hparams hp;
    hp.image_size  = (int) ml.get_int(k_image_size);
    hp.patch_size  = (int) ml.get_int(k_patch_size);
    hp.enc_embd    = (int) ml.get_int(k_enc_embd);
    hp.enc_depth   = (int) ml.get_int(k_enc_depth);
    hp.enc_heads   = (int) ml.get_int(k_enc_heads);
    hp.enc_mlp     = (int) ml.get_int(k_enc_mlp);
    hp.window_size = (int) ml.get_int(k_window);
    for (int64_t g : ml.get_arr_int(k_global)) {
        hp.global_attn.push_back((int) g);
    }
    hp.use_rel_pos     = ml.get_bool(k_rel_pos);
    hp.enc_eps         = (float) ml.get_float(k_enc_eps);
    hp.prompt_embd     = (int) ml.get_int(k_prompt_embd);
    hp.mask_in_chans   = (int) ml.get_int(k_mask_in_chans);
    hp.dec_depth       = (int) ml.get_int(k_dec_depth);
    hp.dec_heads       = (int) ml.get_int(k_dec_heads);
    hp.dec_mlp         = (int) ml.get_int(k_dec_mlp);
    hp.dec_downsample  = (int) ml.get_int(k_dec_downsample);
    hp.dec_eps         = (float) ml.get_float(k_dec_eps);
    hp.n_multimask     = (int) ml.get_int(k_n_multimask);
    hp.iou_head_depth  = (int) ml.get_int(k_iou_depth);
    hp.iou_head_hidden = (int) ml.get_int(k_iou_hidden);
    hp.ln2d_eps        = (float) ml.get_float(k_ln2d_eps);
    const std::vector<float> mean = ml.get_arr_f32(k_mean);
    const std::vector<float> std_ = ml.get_arr_f32(k_std);
    if (mean.size() != 3 || std_.size() != 3) {
        fail("%s: %s and %s must have 3 values", ml.path().c_str(), k_mean, k_std);
    }
    for (int c = 0; c < 3; ++c) {
        hp.pixel_mean[c] = mean[c];
        hp.pixel_std[c]  = std_[c];
    }
    hp.mask_threshold = (float) ml.get_float(k_mask_threshold);
    if (ml.get_int(k_out_chans) != hp.prompt_embd) {
        fail("%s: encoder output channels %lld differ from the prompt embedding width %d", ml.path().c_str(),
             (long long) ml.get_int(k_out_chans), hp.prompt_embd);
    }
    hp.validate(ml.path());
    return hp;
}

void sam_hparams_write(gguf_writer & w, const sam_hparams & hp) {
    w.set_str("general.architecture", k_arch);
    w.set_u32(k_image_size, hp.image_size);
    w.set_u32(k_patch_size, hp.patch_size);
    w.set_u32(k_enc_embd, hp.enc_embd);
    w.set_u32(k_enc_depth, hp.enc_depth);
    w.set_u32(k_enc_heads, hp.enc_heads);
    w.set_u32(k_enc_mlp, hp.enc_mlp);
    w.set_u32(k_window, hp.window_size);
    w.set_arr_i32(k_global, std::vector<int32_t>(hp.global_attn.begin(), hp.global_attn.end()));
    w.set_bool(k_rel_pos, hp.use_rel_pos);
    w.set_f32(k_enc_eps, hp.enc_eps);
    w.set_u32(k_out_chans, hp.prompt_embd);
    w.set_u32(k_prompt_embd, hp.prompt_embd);
    w.set_u32(k_mask_in_chans, hp.mask_in_chans);
    w.set_u32(k_dec_depth, hp.dec_depth);
    w.set_u32(k_dec_heads, hp.dec_heads);
    w.set_u32(k_dec_mlp, hp.dec_mlp);
    w.set_u32(k_dec_downsample, hp.dec_downsample);
    w.set_f32(k_dec_eps, hp.dec_eps);
    w.set_u32(k_n_multimask, hp.n_multimask);
    w.set_u32(k_iou_depth, hp.iou_head_depth);
    w.set_u32(k_iou_hidden, hp.iou_head_hidden);
    w.set_f32(k_ln2d_eps, hp.ln2d_eps);
    w.set_arr_f32(k_mean, { hp.pixel_mean[0], hp.pixel_mean[1], hp.pixel_mean[2] });
    w.set_arr_f32(k_std, { hp.pixel_std[0], hp.pixel_std[1], hp.pixel_std[2] });
    w.set_f32(k_mask_threshold, hp.mask_threshold);
}

namespace sam_tn {
std::string enc_blk(int il, const char * name) { return strfmt("v.sam.blk.%d.%s", il, name); }
std::string enc_neck(int i, const char * suffix) { return strfmt("v.sam.neck.%d.%s", i, suffix); }
std::string dec_blk(int il, const char * name) { return strfmt("sam.dec.blk.%d.%s", il, name); }
std::string dec_hyper(int i, int j, const char * suffix) { return strfmt("sam.dec.hyper.%d.%d.%s", i, j, suffix); }
std::string dec_iou(int j, const char * suffix) { return strfmt("sam.dec.iou_head.%d.%s", j, suffix); }
std::string prompt_point(int i) { return strfmt("sam.prompt.point_embd.%d.weight", i); }
std::string prompt_mask_down(int i, const char * suffix) { return strfmt("sam.prompt.mask_down.%d.%s", i, suffix); }
}  // namespace sam_tn

}  // namespace glm
