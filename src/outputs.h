// outputs.h: what attend-and-segment gives people — result.json (the answer, phrases with spans, head nouns,
// token indices, points, COCO-RLE masks, scores and the settings used), overlay.png (coloured masks, points and a
// legend), answer.html (the answer with each phrase coloured like its mask) and optional per-phrase heat maps.
// The JSON reads back (ground_load_json) so that other tools and tests can consume it. All functions are pure.
#pragma once

#include "attend.h"
#include "ground.h"
#include "image.h"

#include <nlohmann/json.hpp>

#include <string>

namespace glm {

// The colour of phrase i in the overlay, the HTML and the heat maps.
void phrase_color(int i, uint8_t rgb[3]);

nlohmann::json ground_to_json(const ground_result & g, const attend_result & att);
// One phrase's entry of result.json's "phrases" (as ground_to_json writes it).
nlohmann::json ground_phrase_to_json(const ground_phrase & p);
ground_result  ground_from_json(const nlohmann::json & j);  // throws glm::error naming the bad field

image_u8    render_overlay(const image_u8 & img, const ground_result & g);
std::string render_answer_html(const ground_result & g, const std::string & overlay_file = "overlay.png");
// The phrase's map upsampled to the image, as a colour heat map blended over the image.
image_u8    render_heatmap(const image_u8 & img, const ground_result & g, int phrase);

struct ground_save_params {
    bool heatmaps = false;  // heatmap-<i>.png per phrase (needs ground_params::keep_maps)
};

// Writes result.json, overlay.png, answer.html (and heat maps) into dir.
void ground_save(const std::string & dir, const image_u8 & img, const ground_result & g, const attend_result & att,
                 const ground_save_params & p = {});

}  // namespace glm
