// attend.h: stage 1 of attend-and-segment as one library call — encode the image, run the LMM with the attention
// tap, and keep everything later stages need: the answer, its tokens with byte spans, one attention map per
// token over the image-token grid (layer-and-head mean, official head H-2 mean, optionally every layer and head),
// the image size and the preprocessing geometry (pad offsets and scale) that map grid cells back to pixels.
//
// The result saves to and loads from a folder (attend.json + attention.safetensors, documented in
// docs/formats.md), so that evaluation can run stage 2 (maps -> points -> masks) without rerunning the LMM.
// attend_run uses the encoder's and the session's state: one call at a time per encoder/session pair.
#pragma once

#include "head-set.h"
#include "image.h"
#include "layout.h"
#include "lmm.h"
#include "vision.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace glm {

// Which map later stages use by default (head-set.h): the paper's mean over all layers and heads, the official
// code's head H-2 averaged over layers, or the mean over a head set. The first two are always stored; a set adds its
// own map; 'dump' also stores every layer and head.
const char * attn_heads_name(attn_heads h);                 // all, official, dump, set
attn_heads   attn_heads_from_name(const std::string & s);  // all, official, dump; throws on another name

struct attend_result {
    // what was asked
    std::string image_path;    // "" when the image came from memory
    int         image_w = 0, image_h = 0;
    gen_params  gen;           // prompt, template, sampling settings (forced tokens omitted when saved)
    attn_heads  heads = attn_heads::all;
    head_set    head_sel;      // the setting as given (kind = heads); for a set, out.maps.selected_heads resolves it
    std::string templ;         // the template actually used
    // the models
    std::string llm_path, llm_desc, vision_path, vision_desc;
    // the run
    gen_result   out;          // answer, tokens with spans, prompt ids, maps, stop reason
    image_layout layout;       // where the image tokens sit and which pixels each grid covers (layout.h)
    int          grid_w = 0, grid_h = 0;  // the primary grid's size
    pad_geometry geom;         // the encoder's letterbox geometry (informative; stage 2 reads the layout)
    double       t_vision_s = 0;

    int n_tokens() const { return (int) out.tokens.size(); }
    // The map row of token k under the chosen head setting: one value per image token (layout.n_tokens floats).
    const float * map(int k) const;
    const float * map(int k, attn_heads which) const;  // set: the head set's map (fails when none was kept)
};

// The maps (n_rows x n_img) of a head choice from a stage-1 result: mean, official, the result's own head-set map
// when it holds the same heads, or the mean of the heads from the full dump; fails naming what stage 1 kept.
std::vector<float> attend_head_maps(const attend_result & r, const head_set & heads);

// Runs the encoder and the LMM on one image. The encoder's width must equal the LLM's embedding width.
attend_result attend_run(vision_encoder & enc, lmm_session & lmm, const image_u8 & img, const gen_params & gp,
                         const head_set & heads = head_set());

// attend.json's content (docs/formats.md); the maps themselves are not in it (attention.safetensors).
nlohmann::json attend_to_json(const attend_result & r);
void          attend_save(const attend_result & r, const std::string & dir);
attend_result attend_load(const std::string & dir);

}  // namespace glm
