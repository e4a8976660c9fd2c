// models/cambrian.h: Cambrian-1's spatial vision aggregator (SVA) in ggml, and the geometry it works on
// (docs/cambrian.md). What is here (first part of issue 13):
//   - the per-tower projections mm_projector_aux_i (Linear, GELU, Linear, LayerNorm) and the global context (mean
//     of projected SigLIP over the whole q x q grid);
//   - the windowing of each tower's grid (q*r)x(q*r) into r x r windows per query cell and the padding masks
//     (cambrian_arch.py unmask_attention_mask / rearrange_vision_tower_features_inference, int() geometry);
//   - VisionCrossAttentionLayer (vision_sampler.py) for the connector (q_dim = vision hidden, 3 layers) and for the
//     blocks inside the LLM (q_dim = LLM width, one layer each, run on the unpadded grid);
//   - mm_projector and the unpadded h' x (w'+1) image-token layout with image_newline;
//   - the OpenAI CLIP tower, reusing models/clip.h (layer -2, no CLS); SigLIP, DINOv2 and ConvNeXt
//     (models/cambrian-towers.h).
// The in-LLM blocks run inside libllama through models/cambrian-llm.h; the encoder of the pipeline is
// models/cambrian-vision.h.
//
// cambrian_model is immutable after load and may be shared; the run functions compute on the caller's
// compute_backend (one thread at a time per backend).
#pragma once

#include "backend.h"
#include "gguf-loader.h"
#include "models/cambrian-towers.h"
#include "models/clip.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace glm {

constexpr int k_cambrian_towers = 4;  // SigLIP, CLIP, DINOv2, ConvNeXt, in the order of mm_vision_tower_aux_list

struct cambrian_hparams {
    int   query_side    = 0;      // q: the query grid side (24), image_token_len = q*q
    int   vision_hidden = 0;      // vh: SVA width (1024)
    int   llm_hidden    = 0;      // H: LLM width (4096)
    int   n_head        = 16;     // VisionCrossAttentionLayer's fixed num_heads
    int   connector_depth = 0;    // layers of vision_sampler_0 (3)
    int   n_llm_blocks  = 0;      // vision_sampler_layers (10)
    int   llm_block_start  = 0;   // start_of_vision_sampler_layers (0)
    int   llm_block_stride = 0;   // stride_of_vision_sampler_layers (3)
    int   image_position   = 0;   // config.image_position (91): where the in-LLM blocks read, whatever the prompt
    float eps           = 1e-5f;  // nn.LayerNorm default, every LayerNorm of the aggregator
    std::array<int, k_cambrian_towers> tower_width{};  // C_i: tower feature widths (1152, 1024, 1536, 5760)
    std::array<int, k_cambrian_towers> tower_side{};   // G_i: the tower grid side after Cambrian's interpolate
    int window(int i) const { return tower_side[i] / query_side; }  // r_i (1, 1, 1, 4)
};

// One VisionCrossAttentionLayer (vision_sampler.py L248-327). Names as in the GGUF (src/convert/cambrian-convert.h).
struct cambrian_sva_layer {
    int           q_dim = 0;
    ggml_tensor * ctx_w = nullptr;             // proj_context [vh -> vh], no bias
    ggml_tensor * in_w  = nullptr;             // proj_in [(q_dim + vh) -> vh], no bias
    ggml_tensor * q_ln_w = nullptr, * q_ln_b = nullptr, * q_w = nullptr;
    std::array<ggml_tensor *, k_cambrian_towers> k_ln_w{}, k_ln_b{}, k_w{}, v_ln_w{}, v_ln_b{}, v_w{};
    std::array<ggml_tensor *, k_cambrian_towers> pos{};  // [vh, r*r] for towers with r > 1, else null
    ggml_tensor * o_w    = nullptr;            // o_proj, no bias
    ggml_tensor * norm_w = nullptr, * norm_b = nullptr;
    ggml_tensor * out1_w = nullptr, * out2_w = nullptr;  // proj_out MLP: vh -> vh -> q_dim, GELU, no bias
};

struct cambrian_model {
    cambrian_hparams hp;
    // mm_projector_aux_i: Linear(C_i, vh), GELU, Linear(vh, vh), LayerNorm(vh)
    std::array<ggml_tensor *, k_cambrian_towers> aux_fc1_w{}, aux_fc1_b{}, aux_fc2_w{}, aux_fc2_b{}, aux_ln_w{},
        aux_ln_b{};
    ggml_tensor *                   query   = nullptr;  // vision_query [vh]
    ggml_tensor *                   newline = nullptr;  // image_newline [H]
    ggml_tensor *                   proj_fc1_w = nullptr, * proj_fc1_b = nullptr, * proj_fc2_w = nullptr,
                                  * proj_fc2_b = nullptr;  // mm_projector: Linear(vh, H), GELU, Linear(H, H)
    std::vector<cambrian_sva_layer> connector;   // vision_sampler_0.layers
    std::vector<cambrian_sva_layer> llm_blocks;  // vision_sampler_layers[k].layers[0]
    clip_model                      clip;        // tower 1
    bool                            has_clip = false;
    cambrian_vit                    siglip;      // tower 0
    bool                            has_siglip = false;
    cambrian_vit                    dino;        // tower 2
    bool                            has_dino = false;
    cambrian_convnext               convnext;    // tower 3
    bool                            has_convnext = false;

    void load(const gguf_loader & ml);
};

// --- geometry (pure functions, docs/cambrian.md "windows and masks")

// unpad_image's kept range on a side x side grid for an image of w x h: rows [y0, y1) and columns [x0, x1).
struct cambrian_span {
    int y0 = 0, y1 = 0, x0 = 0, x1 = 0;
    int rows() const { return y1 - y0; }
    int cols() const { return x1 - x0; }
};
cambrian_span cambrian_unpad(int side, int w, int h);

// The key windows of one tower for the kept query cells: for each query (row-major over the kept cells) its r*r
// token indices into the tower's G x G grid (dy-major, then dx) and its mask (1 = attend), after
// unmask_attention_mask at G and the all-masked -> all-attend reset. unpad = false keeps every q x q cell.
struct cambrian_windows {
    int                  n_query = 0, r = 0;
    std::vector<int32_t> index;  // [n_query * r * r]
    std::vector<float>   mask;   // [n_query * r * r], 1 or 0
};
cambrian_windows cambrian_tower_windows(int q, int G, int w, int h, bool unpad);

// --- compute

struct cambrian_connector_out {
    std::array<std::vector<float>, k_cambrian_towers> aux;  // projected towers [T_i, vh] row-major
    std::vector<float>              context;                // global context [vh]
    std::vector<std::vector<float>> layers;                 // each connector layer's output [q*q, vh]
    std::vector<float>              projector;              // mm_projector output [q*q, H]
    std::vector<float>              image_tokens;           // [h' * (w'+1), H]: unpadded rows + image_newline
    cambrian_span                   span;                   // the kept cells of the q x q grid
};

// The four towers on an image (each with its own preprocessing, docs/cambrian.md section 1): features[i] as
// cambrian_run_connector takes them. Needs all four towers in the file (fails naming the missing ones).
std::array<std::vector<float>, k_cambrian_towers> cambrian_run_towers(const cambrian_model & m, compute_backend & compute,
                                                                      const image_u8 & img);

// features[i]: tower i's features [G_i * G_i, C_i] row-major (the tower's output after its interpolate).
// w, h: the original image size (image_sizes).
cambrian_connector_out cambrian_run_connector(const cambrian_model & m, compute_backend & compute,
                                              const std::array<std::vector<float>, k_cambrian_towers> & features,
                                              int w, int h);

// In-LLM block k on the image rows of the hidden states (newline column dropped): rows [h'*w', H] row-major,
// with the connector's projected towers and context. Returns the new rows [h'*w', H].
std::vector<float> cambrian_run_llm_block(const cambrian_model & m, compute_backend & compute, int k,
                                          const std::vector<float> & rows, const cambrian_connector_out & conn,
                                          int w, int h);

}  // namespace glm
