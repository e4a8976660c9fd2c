// vision.h: the interface every vision encoder implements (CLIP-ViT for LLaVA-1.5, the DiffLMM encoder,
// the toy ViT), so that the LMM runner feeds any of them to libllama the same way.
//
// A vision_encoder holds immutable weights on the backend it was loaded with. encode(img, compute, seed) is
// thread-safe (the caller brings its compute state); encode(img) uses the load backend's scheduler: one thread.
#pragma once

#include "backend.h"
#include "image.h"
#include "image-block.h"
#include "layout.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct llama_model;

namespace glm {

struct vision_output {
    std::vector<float> embd;         // n_tokens x n_embd, token-major (row t = token t)
    int                n_tokens = 0;
    int                n_embd   = 0;
    int                grid_w   = 0;  // the primary grid's size (layout.grids[layout.primary])
    int                grid_h   = 0;
    pad_geometry       geom;          // how the image was placed in the encoder input
    image_layout       layout;        // where the n_tokens sit and which pixels each grid covers
    image_block        decode;        // how the LLM decodes the block (default: LLaVA's consecutive positions)
};

class vision_encoder {
public:
    virtual ~vision_encoder() = default;

    virtual std::string name() const   = 0;  // e.g. "clip-vit (LLaVA-1.5 mlp projector)"
    virtual int         n_embd() const = 0;  // width of the output embeddings (= the LLM's n_embd)
    virtual int         grid_w() const = 0;
    virtual int         grid_h() const = 0;

    // Preprocesses the image exactly as the reference does and returns the embeddings fed to the LLM, computing on
    // `compute` (the caller's per-thread compute state: the weights are only read, so any number of threads may
    // encode at once, each with its own compute_backend on the device the weights were loaded to). `seed`: the noise
    // of encoders that draw it (DiffLMM's VAE sample and UNet noise); deterministic encoders ignore it.
    virtual vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const = 0;

    // The same on the backend the encoder was loaded with and the seed of set_seed: one thread at a time.
    virtual vision_output encode(const image_u8 & img) = 0;

    // Seed of the noise an encoder draws per image (DiffLMM's VAE sample and UNet noise); deterministic
    // encoders ignore it.
    virtual void set_seed(uint64_t seed) { (void) seed; }
};

struct mtmd_vision_params;

// Model-level choices of some encoders (not per-run settings).
struct vision_load_params {
    std::string                anyres_rule = "original";  // LLaVA-NeXT grid/unpad rules: original (the repository) or hf
    const llama_model *        text_model  = nullptr;     // libmtmd families: the LLM, loaded first
    const mtmd_vision_params * mtmd        = nullptr;     // libmtmd families: image token limits, threads, GPU
};

// True when the vision GGUF is a libmtmd family (clip mmproj with a projector other than LLaVA's mlp): it needs the
// LLM loaded first (vision_load_params::text_model). Fails with the reason for families that cannot give maps.
bool vision_needs_text_model(const std::string & path);

// Opens a vision GGUF and picks the encoder from its general.architecture ("clip", "toyvit", "difflmm") and, for
// clip, its keys: the anyres keys (image_grid_pinpoints, mm_patch_merge_type) are LLaVA-NeXT's; a projector other than
// mlp (qwen*vl_merger, gemma3) goes through libmtmd (models/mtmd-vision.h).
std::unique_ptr<vision_encoder> vision_encoder_load(const std::string & path, compute_backend & backend,
                                                    const vision_load_params & params = {});

}  // namespace glm
