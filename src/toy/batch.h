// toy/batch.h: turns toy-world scenes into the inputs of the toy model's graph (teacher forcing): patches,
// the LLaVA sequence of token ids (BOS + prompt + image slots + prompt + caption), the rows whose next-token
// prediction is scored (every caption token and the final EOS) and their targets. Pure functions.
#pragma once

#include "toy/model.h"
#include "toy/world.h"

#include <cstdint>
#include <vector>

namespace glm::toy {

struct toy_batch {
    int B = 0;  // sequences
    int T = 0;  // positions per sequence: caption_start + the longest caption
    int R = 0;  // scored rows: sum over sequences of (caption tokens + 1)
    std::vector<float>            patches;    // [patch_dim, n_patches, B]
    std::vector<int32_t>          tokens;     // [T * B]
    std::vector<int32_t>          rows;       // [R] flat positions b * T + t
    std::vector<int32_t>          targets;    // [R] token predicted at each row
    std::vector<int>              row_begin;  // first row of each sequence
    std::vector<std::vector<int>> caption;    // caption token ids of each sequence (without EOS)
};

toy_batch toy_make_batch(const toy_model & m, const std::vector<world_scene> & scenes);

// Uploads a batch and the constant inputs (keep mask, positions, causal mask) into an allocated graph.
void toy_set_inputs(const toy_model & m, const toy_graph & g, const toy_batch & b);

}  // namespace glm::toy
