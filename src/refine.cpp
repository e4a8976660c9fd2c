#include "refine.h"

#include "common.h"

namespace glm {

const char * mask_select_name(mask_select m) { return m == mask_select::index2 ? "index2" : "best"; }

mask_select mask_select_from_name(const std::string & s) {
    if (s == "2" || s == "index2") {
        return mask_select::index2;
    }
    if (s == "best") {
        return mask_select::best;
    }
    fail("mask selection: expected index2 (official, also '2') or best, got '%s'", s.c_str());
}

refine_prompt refine_prompt::point(int x, int y, mask_select select, bool keep_all) {
    refine_prompt p;
    p.points.push_back({ x, y, 1 });
    p.select   = select;
    p.keep_all = keep_all;
    return p;
}

const std::vector<std::string> & refiner_names() {
    static const std::vector<std::string> names = { "sam", "region", "none" };
    return names;
}

std::string refiner_resolve(const refiner_params & p) {
    const std::string name = p.name.empty() ? (p.sam_path.empty() ? "none" : "sam") : p.name;
    bool              known = false;
    for (const std::string & n : refiner_names()) {
        known = known || n == name;
    }
    if (!known) {
        fail("unknown refiner '%s' (expected sam, region or none)", name.c_str());
    }
    if (name == "sam" && p.sam_path.empty()) {
        fail("refiner 'sam' needs a SAM model file (--sam sam.gguf)");
    }
    return name;
}

}  // namespace glm
