// head-set.h: which attention heads make the map that stage 2 points from (the attn_heads setting).
//
//   all            the mean over every layer and head (the paper's text)
//   official       head H-2 averaged over layers (the released code: attentions[..., -2, ...])
//   dump           all, and stage 1 also keeps every layer's and head's map (research; memory rows x L x H x image)
//   layers:A-B     every head of layers A..B (0-based, inclusive; "layers:A" is one layer)
//   L.H,L.H,...    an explicit list of layer.head pairs (0-based), e.g. "1.0" or "14.24,14.13"
//   <file>.json    a head-set file (groundlmm calibrate-heads writes one; format below); "file:<path>" for any name
//
// A set is resolved against the model's shape (head_set::resolve) when stage 1 runs; the attention tap then reduces
// the chosen heads on the fly (one extra row of image-token values per output token, never a full dump), attend.json
// records the resolved heads and stage 2 uses their mean map.
//
// Head-set file (format "groundlmm.heads/1"):
//   { "format": "groundlmm.heads/1", "model": "<the LLM it was chosen for>", "n_layer": L, "n_head": H,
//     "heads": [[layer, head], ...], "criteria": {...how they were chosen...}, "counts": [...] }
// Only "format", "heads" (and n_layer/n_head when present, checked against the model) are read.
//
// Thread safety: plain values and pure functions (head_set_parse reads the file once, when parsing).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace glm {

// all, official and dump are the built-in maps; set is a head_set's own heads.
enum class attn_heads { all, official, dump, set };

using head_pair = std::pair<int, int>;  // (layer, head), 0-based

struct head_set {
    attn_heads             kind = attn_heads::all;
    std::string            spec = "all";                // the text as canonical ("all", "layers:0-1", "1.0,1.2", a path)
    std::vector<head_pair> pairs;                       // set from a list or a file (sorted, unique)
    int                    layer_first = -1, layer_last = -1;  // set from a layer range (pairs empty)
    std::string            file;                        // the head-set file it was read from ("" otherwise)
    std::string            file_model;                  // the file's "model"
    int                    file_n_layer = -1, file_n_head = -1;  // the file's model shape (-1: not given)

    head_set() = default;
    head_set(attn_heads k);  // NOLINT: a built-in map converts implicitly (all, official, dump)

    // The chosen heads for a model of n_layer x n_head, layer-major: every head for all and dump, head H-2 of every
    // layer for official. Throws glm::error naming the head or layer out of range, or a head-set file made for a
    // model of another shape.
    std::vector<head_pair> resolve(int n_layer, int n_head) const;
};

// Parses the setting's text (see above); throws glm::error saying what was expected. read_file = false keeps a file
// spec unread (results that only record it).
head_set head_set_parse(const std::string & text, bool read_file = true);

// "1.0,1.2" for a list of pairs.
std::string head_pairs_text(const std::vector<head_pair> & pairs);

// The file's JSON (format above) and writing it.
nlohmann::json head_set_file_json(const std::string & model, int n_layer, int n_head, const std::vector<head_pair> & heads,
                                  const nlohmann::json & criteria, const nlohmann::json & counts);

}  // namespace glm
