// toy/probe.h: reads the toy model's attention and loss on ground-truth captions (teacher forcing) with the
// training graph itself, and scores how well the attention grounds each named object.
//
// This is the trainer's window on grounding (checkpoint selection, the emergence curve) and an independent
// cross-check of the production path (libllama + attention tap), which generates its own captions. The map of
// caption token i is the attention of the query that predicts token i (position caption_start - 1 + i) over
// the image positions, as the attention tap records it during generation.
//
// All functions only read the model; one call at a time per model (they use its CPU backend).
#pragma once

#include "toy/model.h"
#include "toy/world.h"

#include <string>
#include <vector>

namespace glm::toy {

// Per-scene attention maps of every caption step, layer and head.
struct probe_maps {
    int                              n_steps = 0;  // caption tokens + 1 (the step that predicts EOS)
    int                              n_layer = 0, n_head = 0, n_img = 0, grid = 0;
    std::vector<float>               attn;         // [step][layer][head][image token], softmax probabilities
    std::vector<int>                 tokens;       // caption token ids (without EOS)
    std::vector<std::pair<int, int>> spans;        // character span of each caption token in the caption
    double                           nll = 0.0;    // summed next-token loss over caption tokens + EOS (nats)

    const float * at(int step, int layer, int head) const {
        return &attn[(((size_t) step * n_layer + layer) * n_head + head) * n_img];
    }
};

// Runs the forward graph on the scenes' images and captions (batches of `batch` scenes).
std::vector<probe_maps> toy_probe(const toy_model & m, const std::vector<world_scene> & scenes, int batch = 32);

// Which attention a map is made of (the paper's variants).
enum class head_select {
    mean_all,   // mean over all layers and heads (attend-and-segment's default)
    head_h2,    // head n_head - 2 of every layer, averaged over layers (the official single-head variant)
    one,        // one (layer, head)
    layer_mean, // mean over the heads of one layer
};

// Which caption words of an object's noun phrase are averaged.
enum class phrase_words { phrase, shape, colour };

struct map_select {
    head_select  heads     = head_select::mean_all;
    int          layer     = 0;     // for one / layer_mean
    int          head      = 0;     // for one
    bool         normalise = true;  // subtract the mean map over all caption steps (the official post-processing)
    phrase_words words     = phrase_words::phrase;
};

// The grid map (grid x grid, row-major) of one caption step under a selection (no normalisation).
std::vector<float> probe_step_map(const probe_maps & pm, int step, const map_select & sel);

// The map of an object's phrase: the mean over its words' steps, normalised as sel says. Empty when the
// caption lacks the words (never for ground-truth captions).
std::vector<float> probe_object_map(const probe_maps & pm, const world_object & o, const map_select & sel);

// attend-and-segment's point: bicubic upsampling (PyTorch, align_corners=False) of the grid map to the
// scene size, then the first maximum in row-major order. Returns the pixel index y * size + x.
int map_argmax_point(const std::vector<float> & map, int grid, int size);

struct grounding_score {
    int    n_objects = 0;
    int    n_hits    = 0;      // objects whose point falls inside their visible mask
    int    n_hard    = 0;      // objects whose colour another object of the scene shares
    int    n_hard_hits = 0;
    double pacc() const { return n_objects ? (double) n_hits / n_objects : 0.0; }
    double pacc_hard() const { return n_hard ? (double) n_hard_hits / n_hard : 0.0; }
};

// Point accuracy of the attention maps over scenes (maps from toy_probe on the same scenes).
grounding_score probe_point_accuracy(const std::vector<world_scene> & scenes, const std::vector<probe_maps> & maps,
                                     const map_select & sel);

}  // namespace glm::toy
