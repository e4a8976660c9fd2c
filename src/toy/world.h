// toy/world.h: the synthetic "toy world": RGB scenes of 1-4 coloured shapes on textured backgrounds, a
// caption per scene that names every object in varied templates and word orders, and (for evaluation only)
// the visible instance masks after occlusion, written in COCO format.
//
// Everything is a pure function of (params, seed, split, index): the generator keeps no state, uses its own
// integer RNG (no std:: distributions, whose output differs between standard libraries), so scenes are
// identical on every machine and any scene can be regenerated alone. All functions are thread-safe.
#pragma once

#include "image.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm::toy {

// The closed vocabularies of the world (lower-case words, as they appear in captions).
const std::vector<std::string> & world_shapes();   // circle, square, triangle, star, ring, cross, diamond
const std::vector<std::string> & world_colours();  // red, green, blue, yellow, purple, white, orange
// Every word a caption can contain, punctuation included ("." "," ";"), in a fixed order.
const std::vector<std::string> & world_caption_words();

enum class world_split { train = 0, val = 1, test = 2 };
world_split world_split_from_string(const std::string & s);  // "train" | "val" | "test"; throws otherwise
const char * world_split_name(world_split s);

enum class size_class { small = 0, medium = 1, large = 2 };

// The order in which a caption names its objects. mixed (the original world): a random order in half the
// captions, left to right, top to bottom or right to left in the others. left_to_right: always by increasing
// centre x (ties by y), so the first "red" of two red objects is always the left one. Every other choice (words,
// templates, scenes) is the same in both: a scene differs only in the order of its caption's phrases.
enum class caption_order { mixed = 0, left_to_right = 1 };
caption_order caption_order_from_string(const std::string & s);  // "mixed" | "left-to-right"; throws otherwise
const char *  caption_order_name(caption_order o);

struct world_params {
    int   size          = 64;     // side of the square scene (pixels); geometry scales with it
    int   min_objects   = 1;      // objects per scene, drawn uniformly in [min_objects, max_objects]
    int   max_objects   = 4;
    float min_visible   = 0.55f;  // each object keeps at least this fraction of its pixels after occlusion
    int   max_tries     = 200;    // placements tried per object before the scene keeps fewer objects
    float pixel_noise   = 6.0f;   // amplitude of the uniform per-pixel noise on objects (grey levels)
    caption_order order = caption_order::mixed;  // order of mention in captions
};

world_params world_default_params();

struct world_object {
    int        shape  = 0;          // index into world_shapes(); also the COCO category (id = shape + 1)
    int        colour = 0;          // index into world_colours()
    size_class size   = size_class::medium;
    float      cx = 0, cy = 0;      // centre (pixels, continuous coordinates: pixel (x, y) has centre x+0.5)
    float      r  = 0;              // radius of the shape's bounding circle (pixels)
    float      angle = 0;           // rotation (radians) of triangles and stars
    uint8_t    rgb[3] = {0, 0, 0};  // the object's base colour after jitter
    int        z = 0;               // drawing order: 0 is drawn first (furthest back)
    std::vector<uint8_t> mask;      // visible pixels after occlusion, row-major size x size, 0/1
    int        full_area = 0;       // pixels the shape covers before occlusion
    int        area      = 0;       // visible pixels
    // Character spans [begin, end) in the caption: the noun phrase without its article ("small blue star"),
    // its optional size word, colour word and shape word (the head noun). size_* is -1 when no size word.
    int phrase_begin = -1, phrase_end = -1;
    int size_begin   = -1, size_end   = -1;
    int colour_begin = -1, colour_end = -1;
    int shape_begin  = -1, shape_end  = -1;
};

struct world_scene {
    uint64_t                  seed = 0;  // the per-scene seed (derived from seed, split, index)
    image_u8                  img;
    std::vector<world_object> objects;   // in drawing order (z ascending)
    std::string               caption;   // lower-case words separated by single spaces, ends with "."
};

// One scene, a pure function of its arguments.
world_scene world_generate(const world_params & p, uint64_t seed, world_split split, int64_t index);

// Whether a point (pixel-centre coordinates) lies inside the object's full (unoccluded) shape.
bool world_shape_contains(const world_object & o, float x, float y);

// The visible pixel deepest inside a mask (largest city-block distance to the outside; the first such pixel in
// row-major order): the point a perfect pointer would give. Returns y * size + x, or -1 for an empty mask.
int world_mask_inner_point(const std::vector<uint8_t> & mask, int size);

// The phrase text of an object as it appears in the caption, e.g. "small blue star".
std::string world_phrase(const world_object & o);

// Writes a split to a folder: images/<id>.png, annotations.json (COCO: images with their captions,
// annotations with RLE masks, bbox, area and the phrase spans, categories = shapes) and captions.txt
// ("<file_name>\t<caption>" per line). Returns the number of annotations written.
int64_t world_write_split(const std::string & dir, const world_params & p, uint64_t seed, world_split split,
                          int64_t n);

// The COCO json of a set of scenes (file names images/<id>.png with id = index + 1).
std::string world_coco_json(const std::vector<world_scene> & scenes, const std::vector<int64_t> & indices);

}  // namespace glm::toy
