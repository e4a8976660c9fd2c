#include "toy/world.h"

#include "common.h"
#include "rle.h"
#include "toy/rng.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace glm::toy {

namespace {

const float k_pi = 3.14159265358979323846f;

// Base colours of the objects (before jitter), in the order of world_colours().
const uint8_t k_colour_rgb[7][3] = {
    { 220, 40, 40 },   // red
    { 40, 180, 60 },   // green
    { 50, 90, 235 },   // blue
    { 235, 215, 40 },  // yellow
    { 150, 60, 205 },  // purple
    { 240, 240, 240 }, // white
    { 245, 140, 30 },  // orange
};

enum shape_id { SH_CIRCLE, SH_SQUARE, SH_TRIANGLE, SH_STAR, SH_RING, SH_CROSS, SH_DIAMOND };

uint8_t clamp_u8(float v) { return (uint8_t) std::lround(std::min(255.0f, std::max(0.0f, v))); }

// Even-odd point-in-polygon test.
bool in_polygon(const float * xs, const float * ys, int n, float x, float y) {
    bool in = false;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        if ((ys[i] > y) != (ys[j] > y) && x < (xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i]) + xs[i]) {
            in = !in;
        }
    }
    return in;
}

// The textured background: a low-saturation base colour modulated by one of five textures, plus noise.
void draw_background(image_u8 & img, rng & g) {
    const int   S    = img.w;
    const float hue  = g.uniform(0.0f, 6.0f);
    const float sat  = g.uniform(0.0f, 0.25f);
    const float val  = g.uniform(45.0f, 140.0f);
    float       base[3];
    {
        const int   hi = (int) hue % 6;
        const float f  = hue - std::floor(hue);
        const float p = val * (1 - sat), q = val * (1 - sat * f), t = val * (1 - sat * (1 - f));
        const float tab[6][3] = { { val, t, p }, { q, val, p }, { p, val, t }, { p, q, val }, { t, p, val }, { val, p, q } };
        for (int c = 0; c < 3; ++c) {
            base[c] = tab[hi][c];
        }
    }
    const int   kind   = g.below(5);
    const float amp    = g.uniform(8.0f, 28.0f);
    const float period = g.uniform(4.0f, 16.0f) * S / 64.0f;
    const float theta  = g.uniform(0.0f, k_pi);
    float bx[4], by[4], bs[4], ba[4];  // blotches
    for (int i = 0; i < 4; ++i) {
        bx[i] = g.uniform(0.0f, (float) S);
        by[i] = g.uniform(0.0f, (float) S);
        bs[i] = g.uniform(0.1f, 0.3f) * S;
        ba[i] = g.uniform(-1.0f, 1.0f);
    }
    for (int y = 0; y < S; ++y) {
        for (int x = 0; x < S; ++x) {
            float m = 0.0f;
            switch (kind) {
                case 0: m = g.uniform(-1.0f, 1.0f); break;
                case 1: m = std::sin(2 * k_pi * (x * std::cos(theta) + y * std::sin(theta)) / period); break;
                case 2: m = (((int) (x / period) + (int) (y / period)) & 1) ? 1.0f : -1.0f; break;
                case 3: m = ((x * std::cos(theta) + y * std::sin(theta)) / S) * 2.0f - 1.0f; break;
                default:
                    for (int i = 0; i < 4; ++i) {
                        const float dx = x - bx[i], dy = y - by[i];
                        m += ba[i] * std::exp(-(dx * dx + dy * dy) / (2 * bs[i] * bs[i]));
                    }
                    break;
            }
            const float n = g.uniform(-5.0f, 5.0f);
            uint8_t *   p = img.at(x, y);
            for (int c = 0; c < 3; ++c) {
                p[c] = clamp_u8(base[c] + amp * m + n);
            }
        }
    }
}

// Radius range of each size class for a 64-pixel scene.
void size_range(size_class s, float * lo, float * hi) {
    switch (s) {
        case size_class::small:  *lo = 5.0f;  *hi = 6.5f;  break;
        case size_class::medium: *lo = 7.5f;  *hi = 9.5f;  break;
        case size_class::large:  *lo = 10.5f; *hi = 13.0f; break;
    }
}

// Builds a caption word by word, tracking character offsets.
struct caption_builder {
    std::string text;
    void word(const std::string & w) {
        if (!text.empty() && w != "." && w != "," && w != ";") {
            text += ' ';
        }
        text += w;
    }
    void words(std::initializer_list<const char *> ws) {
        for (const char * w : ws) {
            word(w);
        }
    }
    // "a [size] colour shape" with the spans recorded in o.
    void phrase(world_object & o, rng & g) {
        const char * size_word = o.size == size_class::small ? "small"
                               : o.size == size_class::large ? (g.chance(0.5f) ? "big" : "large")
                                                             : nullptr;
        const std::string lead = size_word ? size_word : world_colours()[o.colour];
        word(std::string("aeiou").find(lead[0]) != std::string::npos ? "an" : "a");
        o.size_begin = o.size_end = -1;
        bool first = true;
        auto mark  = [&](int * b, int * e, const std::string & w) {
            word(w);
            *e = (int) text.size();
            *b = *e - (int) w.size();
            if (first) {
                o.phrase_begin = *b;
                first          = false;
            }
        };
        if (size_word) {
            mark(&o.size_begin, &o.size_end, size_word);
        }
        mark(&o.colour_begin, &o.colour_end, world_colours()[o.colour]);
        mark(&o.shape_begin, &o.shape_end, world_shapes()[o.shape]);
        o.phrase_end = o.shape_end;
    }
};

// Spatial relation of a to b: "above", "below", "left", "right", or "" when none is clear.
const char * relation(const world_object & a, const world_object & b, int S) {
    const float dx = b.cx - a.cx, dy = b.cy - a.cy, t = 0.15f * S;
    if (std::fabs(dy) > std::fabs(dx)) {
        return dy > t ? "above" : dy < -t ? "below" : "";
    }
    return dx > t ? "left" : dx < -t ? "right" : "";
}

// Absolute region of an object: "left", "right", "top", "bottom", "middle" or "" (none clear).
const char * region(const world_object & o, int S, rng & g) {
    const bool l = o.cx < S / 3.0f, r = o.cx > 2 * S / 3.0f, t = o.cy < S / 3.0f, b = o.cy > 2 * S / 3.0f;
    const char * h = l ? "left" : r ? "right" : nullptr;
    const char * v = t ? "top" : b ? "bottom" : nullptr;
    if (h && v) {
        return g.chance(0.5f) ? h : v;
    }
    if (h) {
        return h;
    }
    if (v) {
        return v;
    }
    const float dx = o.cx - S / 2.0f, dy = o.cy - S / 2.0f;
    return dx * dx + dy * dy < (0.12f * S) * (0.12f * S) ? "middle" : "";
}

void region_words(caption_builder & cb, const std::string & reg) {
    if (reg == "left" || reg == "right") {
        cb.words({ "on", "the" });
    } else if (reg == "top" || reg == "bottom") {
        cb.words({ "at", "the" });
    } else {
        cb.words({ "in", "the" });
    }
    cb.word(reg);
}

void relation_words(caption_builder & cb, const std::string & rel) {
    if (rel == "left" || rel == "right") {
        cb.words({ "to", "the", rel.c_str(), "of" });
    } else {
        cb.word(rel);
    }
}

std::string make_caption(std::vector<world_object> & objs, int S, caption_order order, rng & g) {
    const int n = (int) objs.size();
    // order in which the caption names the objects
    std::vector<int> ord(n);
    for (int i = 0; i < n; ++i) {
        ord[i] = i;
    }
    const float u = g.uniform();  // drawn in both orders, so the rest of the caption's choices are the same
    if (order == caption_order::left_to_right) {
        std::sort(ord.begin(), ord.end(), [&](int a, int b) {
            return objs[a].cx != objs[b].cx ? objs[a].cx < objs[b].cx : objs[a].cy != objs[b].cy ? objs[a].cy < objs[b].cy : a < b;
        });
    } else if (u < 0.5f) {
        for (int i = n - 1; i > 0; --i) {
            std::swap(ord[i], ord[g.below(i + 1)]);
        }
    } else if (u < 0.7f) {
        std::sort(ord.begin(), ord.end(), [&](int a, int b) { return objs[a].cx < objs[b].cx; });
    } else if (u < 0.85f) {
        std::sort(ord.begin(), ord.end(), [&](int a, int b) { return objs[a].cy < objs[b].cy; });
    } else {
        std::sort(ord.begin(), ord.end(), [&](int a, int b) { return objs[a].cx > objs[b].cx; });
    }

    caption_builder cb;
    if (n > 1 && g.chance(0.3f)) {
        // a list: "[there is|i see] a A, a B and a C."
        const int intro = g.below(3);
        if (intro == 1) {
            cb.words({ "there", "is" });
        } else if (intro == 2) {
            cb.words({ "i", "see" });
        }
        for (int i = 0; i < n; ++i) {
            if (i > 0) {
                cb.word(i == n - 1 ? "and" : ",");
            }
            cb.phrase(objs[ord[i]], g);
        }
        cb.word(".");
        return cb.text;
    }
    // clauses of one or two objects, joined by ";", "," or "and"
    const char * joiner = g.chance(0.4f) ? ";" : g.chance(0.5f) ? "," : "and";
    for (int i = 0; i < n;) {
        if (i > 0) {
            cb.word(joiner);
        }
        const bool pair = i + 1 < n && g.chance(0.6f);
        if (pair) {
            world_object & a   = objs[ord[i]];
            world_object & b   = objs[ord[i + 1]];
            const std::string rel = relation(a, b, S);
            const int form = g.below(3);
            if (form == 1) {
                cb.words({ "there", "is" });
            }
            cb.phrase(a, g);
            if (form == 2 && !rel.empty()) {
                cb.word("is");
            }
            if (rel.empty()) {
                cb.word("and");
            } else {
                relation_words(cb, rel);
            }
            cb.phrase(b, g);
            i += 2;
        } else {
            world_object &    o   = objs[ord[i]];
            const std::string reg = region(o, S, g);
            const int         form = reg.empty() ? g.below(2) : g.below(5);
            switch (form) {
                case 0: cb.phrase(o, g); break;                                     // a X
                case 1: cb.words({ "there", "is" }); cb.phrase(o, g); break;        // there is a X
                case 2: cb.phrase(o, g); cb.word("is"); region_words(cb, reg); break;  // a X is on the left
                case 3: region_words(cb, reg); cb.phrase(o, g); break;              // on the left a X
                default: cb.phrase(o, g); region_words(cb, reg); break;             // a X on the left
            }
            i += 1;
        }
    }
    cb.word(".");
    return cb.text;
}

}  // namespace

const std::vector<std::string> & world_shapes() {
    static const std::vector<std::string> v = { "circle", "square", "triangle", "star", "ring", "cross", "diamond" };
    return v;
}

const std::vector<std::string> & world_colours() {
    static const std::vector<std::string> v = { "red", "green", "blue", "yellow", "purple", "white", "orange" };
    return v;
}

const std::vector<std::string> & world_caption_words() {
    static const std::vector<std::string> v = [] {
        std::vector<std::string> w = { "a",   "an", "there", "is",  "i",     "see",    "and",   "above", "below",
                                       "to",  "the",   "left", "right", "of",    "on",    "at",    "top",
                                       "bottom", "in", "middle", "small", "large", "big" };
        for (const auto & c : world_colours()) {
            w.push_back(c);
        }
        for (const auto & s : world_shapes()) {
            w.push_back(s);
        }
        for (const char * p : { ".", ",", ";" }) {
            w.push_back(p);
        }
        return w;
    }();
    return v;
}

world_split world_split_from_string(const std::string & s) {
    if (s == "train") {
        return world_split::train;
    }
    if (s == "val") {
        return world_split::val;
    }
    if (s == "test") {
        return world_split::test;
    }
    fail("unknown split '%s' (expected train, val or test)", s.c_str());
}

const char * world_split_name(world_split s) {
    switch (s) {
        case world_split::train: return "train";
        case world_split::val:   return "val";
        case world_split::test:  return "test";
    }
    return "?";
}

caption_order caption_order_from_string(const std::string & s) {
    if (s == "mixed") {
        return caption_order::mixed;
    }
    if (s == "left-to-right") {
        return caption_order::left_to_right;
    }
    fail("unknown caption order '%s' (expected mixed or left-to-right)", s.c_str());
}

const char * caption_order_name(caption_order o) {
    return o == caption_order::left_to_right ? "left-to-right" : "mixed";
}

world_params world_default_params() { return world_params{}; }

bool world_shape_contains(const world_object & o, float x, float y) {
    const float ca = std::cos(o.angle), sa = std::sin(o.angle);
    const float ux = x - o.cx, uy = y - o.cy;
    const float dx = ca * ux + sa * uy, dy = -sa * ux + ca * uy;  // rotate by -angle
    const float r  = o.r;
    switch (o.shape) {
        case SH_CIRCLE: return dx * dx + dy * dy <= r * r;
        case SH_RING: {
            const float d2 = dx * dx + dy * dy;
            return d2 <= r * r && d2 >= (0.55f * r) * (0.55f * r);
        }
        case SH_SQUARE: return std::fabs(dx) <= 0.8f * r && std::fabs(dy) <= 0.8f * r;
        case SH_DIAMOND: return std::fabs(dx) + std::fabs(dy) <= r;
        case SH_CROSS: {
            const float w = 0.3f * r, ax = std::fabs(dx), ay = std::fabs(dy);
            return (ax <= w && ay <= r) || (ay <= w && ax <= r);
        }
        case SH_TRIANGLE: {
            float xs[3], ys[3];
            for (int i = 0; i < 3; ++i) {
                const float a = -k_pi / 2 + i * 2 * k_pi / 3;
                xs[i] = r * std::cos(a);
                ys[i] = r * std::sin(a) + 0.15f * r;  // centre the triangle's box
            }
            return in_polygon(xs, ys, 3, dx, dy);
        }
        case SH_STAR: {
            float xs[10], ys[10];
            for (int i = 0; i < 10; ++i) {
                const float a  = -k_pi / 2 + i * k_pi / 5;
                const float rr = (i & 1) ? 0.45f * r : r;
                xs[i] = rr * std::cos(a);
                ys[i] = rr * std::sin(a) + 0.1f * r;
            }
            return in_polygon(xs, ys, 10, dx, dy);
        }
    }
    return false;
}

int world_mask_inner_point(const std::vector<uint8_t> & m, int S) {
    if ((int) m.size() != S * S) {
        fail("world_mask_inner_point: mask of %zu pixels is not %dx%d", m.size(), S, S);
    }
    std::vector<int> d(m.size());
    for (int y = 0; y < S; ++y) {  // forward pass: distance through the left and upper neighbours
        for (int x = 0; x < S; ++x) {
            const int i = y * S + x;
            d[i]        = !m[i] ? 0 : (x == 0 || y == 0) ? 1 : std::min(d[i - 1], d[i - S]) + 1;
        }
    }
    for (int y = S - 1; y >= 0; --y) {  // backward pass: right and lower neighbours
        for (int x = S - 1; x >= 0; --x) {
            const int i = y * S + x;
            if (m[i]) {
                d[i] = std::min(d[i], (x == S - 1 || y == S - 1) ? 1 : std::min(d[i + 1], d[i + S]) + 1);
            }
        }
    }
    const int best = (int) (std::max_element(d.begin(), d.end()) - d.begin());
    return d[best] > 0 ? best : -1;
}

std::string world_phrase(const world_object & o) {
    std::string s;
    if (o.size == size_class::small) {
        s = "small ";
    } else if (o.size == size_class::large) {
        s = "large ";
    }
    return s + world_colours()[o.colour] + " " + world_shapes()[o.shape];
}

world_scene world_generate(const world_params & p, uint64_t seed, world_split split, int64_t index) {
    if (p.size < 16 || p.min_objects < 1 || p.max_objects < p.min_objects || p.max_objects > 8) {
        fail("toy world: bad params (size %d >= 16, 1 <= min_objects %d <= max_objects %d <= 8)", p.size,
             p.min_objects, p.max_objects);
    }
    uint64_t h = seed;
    splitmix64(h);
    h ^= 0x5851f42d4c957f2dull * (uint64_t) ((int) split + 1);
    splitmix64(h);
    h ^= (uint64_t) index * 0x2545f4914f6cdd1dull;
    uint64_t scene_seed = splitmix64(h);

    world_scene sc;
    sc.seed = scene_seed;
    rng g(scene_seed);
    const int S = p.size;
    sc.img.w = sc.img.h = S;
    sc.img.rgb.assign((size_t) S * S * 3, 0);
    draw_background(sc.img, g);

    const int n_target = p.min_objects + g.below(p.max_objects - p.min_objects + 1);
    // owner[i] = index of the object visible at pixel i, -1 = background
    std::vector<int> owner((size_t) S * S, -1);
    const float      scale = S / 64.0f;
    for (int k = 0; k < n_target; ++k) {
        world_object o;
        // a (shape, colour) pair not yet in the scene
        do {
            o.shape  = g.below((int) world_shapes().size());
            o.colour = g.below((int) world_colours().size());
        } while (std::any_of(sc.objects.begin(), sc.objects.end(),
                             [&](const world_object & q) { return q.shape == o.shape && q.colour == o.colour; }));
        o.size = (size_class) g.below(3);
        float lo, hi;
        size_range(o.size, &lo, &hi);
        o.r     = g.uniform(lo, hi) * scale;
        o.angle = (o.shape == SH_TRIANGLE || o.shape == SH_STAR) ? g.uniform(-0.25f, 0.25f) : 0.0f;
        for (int c = 0; c < 3; ++c) {
            o.rgb[c] = clamp_u8(k_colour_rgb[o.colour][c] + g.uniform(-12.0f, 12.0f));
        }
        bool placed = false;
        for (int t = 0; t < p.max_tries && !placed; ++t) {
            o.cx = g.uniform(o.r, S - o.r);
            o.cy = g.uniform(o.r, S - o.r);
            std::vector<int> cover;
            for (int y = 0; y < S; ++y) {
                for (int x = 0; x < S; ++x) {
                    if (world_shape_contains(o, x + 0.5f, y + 0.5f)) {
                        cover.push_back(y * S + x);
                    }
                }
            }
            if (cover.empty()) {
                continue;
            }
            // visible pixels each earlier object would keep
            std::vector<int> lost(sc.objects.size(), 0);
            for (int i : cover) {
                if (owner[i] >= 0) {
                    lost[owner[i]]++;
                }
            }
            bool ok = true;
            for (size_t j = 0; j < sc.objects.size(); ++j) {
                const world_object & q = sc.objects[j];
                if (q.area - lost[j] < p.min_visible * q.full_area) {
                    ok = false;
                }
            }
            if (!ok) {
                continue;
            }
            for (int i : cover) {
                if (owner[i] >= 0) {
                    sc.objects[owner[i]].area--;
                }
                owner[i] = (int) sc.objects.size();
            }
            o.full_area = o.area = (int) cover.size();
            o.z                  = (int) sc.objects.size();
            placed               = true;
        }
        if (!placed) {
            break;  // a crowded scene keeps the objects placed so far
        }
        sc.objects.push_back(o);
    }

    // paint the visible pixels and build the masks
    for (auto & o : sc.objects) {
        o.mask.assign((size_t) S * S, 0);
    }
    for (int i = 0; i < S * S; ++i) {
        if (owner[i] < 0) {
            continue;
        }
        world_object & o = sc.objects[owner[i]];
        o.mask[i]        = 1;
        uint8_t * px     = &sc.img.rgb[(size_t) i * 3];
        for (int c = 0; c < 3; ++c) {
            px[c] = clamp_u8(o.rgb[c] + g.uniform(-p.pixel_noise, p.pixel_noise));
        }
    }
    sc.caption = make_caption(sc.objects, S, p.order, g);
    return sc;
}

std::string world_coco_json(const std::vector<world_scene> & scenes, const std::vector<int64_t> & indices) {
    using nlohmann::json;
    json images = json::array(), anns = json::array(), cats = json::array();
    for (size_t s = 0; s < world_shapes().size(); ++s) {
        cats.push_back({ { "id", (int) s + 1 }, { "name", world_shapes()[s] }, { "supercategory", "shape" } });
    }
    int64_t ann_id = 1;
    for (size_t k = 0; k < scenes.size(); ++k) {
        const world_scene & sc = scenes[k];
        const int64_t       id = indices[k] + 1;
        char                fname[64];
        snprintf(fname, sizeof(fname), "images/%06lld.png", (long long) id);
        images.push_back({ { "id", id }, { "file_name", fname }, { "width", sc.img.w }, { "height", sc.img.h },
                           { "caption", sc.caption }, { "seed", std::to_string(sc.seed) } });
        for (const auto & o : sc.objects) {
            const rle r = rle_encode(o.mask.data(), sc.img.h, sc.img.w);
            double    bb[4];
            rle_bbox(r, bb);
            json a = {
                { "id", ann_id++ },
                { "image_id", id },
                { "category_id", o.shape + 1 },
                { "segmentation", { { "size", { r.h, r.w } }, { "counts", rle_to_string(r) } } },
                { "area", (double) rle_area(r) },
                { "bbox", { bb[0], bb[1], bb[2], bb[3] } },
                { "iscrowd", 0 },
                { "colour", world_colours()[o.colour] },
                { "size_class", o.size == size_class::small ? "small" : o.size == size_class::large ? "large" : "medium" },
                { "z", o.z },
                { "centre", { o.cx, o.cy } },
                { "radius", o.r },
                { "phrase", sc.caption.substr(o.phrase_begin, o.phrase_end - o.phrase_begin) },
                { "phrase_span", { o.phrase_begin, o.phrase_end } },
                { "colour_span", { o.colour_begin, o.colour_end } },
                { "shape_span", { o.shape_begin, o.shape_end } },
            };
            if (o.size_begin >= 0) {
                a["size_span"] = { o.size_begin, o.size_end };
            }
            anns.push_back(a);
        }
    }
    json j = { { "info", { { "description", "groundlmm toy world" } } },
               { "images", images },
               { "annotations", anns },
               { "categories", cats } };
    return j.dump(1);
}

int64_t world_write_split(const std::string & dir, const world_params & p, uint64_t seed, world_split split,
                          int64_t n) {
    make_dirs(dir + "/images");
    std::vector<world_scene> scenes;
    std::vector<int64_t>     idx;
    std::string              captions;
    int64_t                  n_ann = 0;
    for (int64_t i = 0; i < n; ++i) {
        scenes.push_back(world_generate(p, seed, split, i));
        idx.push_back(i);
        char fname[64];
        snprintf(fname, sizeof(fname), "images/%06lld.png", (long long) (i + 1));
        image_save_png(dir + "/" + fname, scenes.back().img);
        captions += std::string(fname) + "\t" + scenes.back().caption + "\n";
        n_ann += (int64_t) scenes.back().objects.size();
    }
    write_file(dir + "/annotations.json", world_coco_json(scenes, idx));
    write_file(dir + "/captions.txt", captions);
    return n_ann;
}

}  // namespace glm::toy
