#include "layout.h"

#include "common.h"

#include <algorithm>

namespace glm {

using json = nlohmann::json;

const char * grid_role_name(grid_role r) {
    switch (r) {
        case grid_role::image:   return "image";
        case grid_role::base:    return "base";
        case grid_role::tile:    return "tile";
        case grid_role::highres: return "highres";
    }
    return "?";
}

grid_role grid_role_from_name(const std::string & s) {
    for (grid_role r : { grid_role::image, grid_role::base, grid_role::tile, grid_role::highres }) {
        if (s == grid_role_name(r)) {
            return r;
        }
    }
    fail("grid role: expected image, base, tile or highres, got '%s'", s.c_str());
}

bool token_grid::contiguous() const {
    for (size_t i = 0; i < cells.size(); ++i) {
        if (cells[i] != (int) i) {
            return false;
        }
    }
    return true;
}

image_layout image_layout::single(int rows, int cols, grid_rect rect, grid_role role) {
    image_layout l;
    l.n_tokens = rows * cols;
    token_grid g;
    g.role = role;
    g.rows = rows;
    g.cols = cols;
    g.rect = rect;
    g.cells.resize((size_t) rows * cols);
    for (size_t i = 0; i < g.cells.size(); ++i) {
        g.cells[i] = (int) i;
    }
    l.grids.push_back(std::move(g));
    return l;
}

void image_layout::validate(const char * what) const {
    if (n_tokens <= 0) {
        fail("%s: %d image tokens", what, n_tokens);
    }
    if (grids.empty()) {
        fail("%s: no grid", what);
    }
    if (primary < 0 || primary >= (int) grids.size()) {
        fail("%s: primary grid %d out of range (%zu grids)", what, primary, grids.size());
    }
    std::vector<char> used((size_t) n_tokens, 0);
    for (size_t gi = 0; gi < grids.size(); ++gi) {
        const token_grid & g = grids[gi];
        if (g.rows <= 0 || g.cols <= 0) {
            fail("%s: grid %zu is %dx%d", what, gi, g.rows, g.cols);
        }
        if (g.cells.size() != (size_t) g.rows * g.cols) {
            fail("%s: grid %zu (%dx%d) lists %zu cells, expected %d", what, gi, g.rows, g.cols, g.cells.size(),
                 g.rows * g.cols);
        }
        if (g.rect.w <= 0 || g.rect.h <= 0) {
            fail("%s: grid %zu covers an empty rectangle (%dx%d)", what, gi, g.rect.w, g.rect.h);
        }
        for (int c : g.cells) {
            if (c < 0 || c >= n_tokens) {
                fail("%s: grid %zu has cell token %d outside the %d image tokens", what, gi, c, n_tokens);
            }
            if (used[(size_t) c]++) {
                fail("%s: image token %d belongs to two cells", what, c);
            }
        }
    }
}

int image_layout::find(grid_role r) const {
    for (size_t i = 0; i < grids.size(); ++i) {
        if (grids[i].role == r) {
            return (int) i;
        }
    }
    return -1;
}

grid_rect rect_padded_square(int width, int height) {
    const int side = std::max(width, height);
    return { -((side - width) / 2), -((side - height) / 2), side, side };
}

json layout_to_json(const image_layout & l) {
    json grids = json::array();
    for (const token_grid & g : l.grids) {
        json jg = {
            { "role", grid_role_name(g.role) },
            { "rows", g.rows },
            { "cols", g.cols },
            { "rect", { g.rect.x, g.rect.y, g.rect.w, g.rect.h } },
        };
        if (g.contiguous()) {
            jg["cells"] = { { "first", 0 }, { "count", (int) g.cells.size() } };  // 0..n-1, written short
        } else {
            jg["cells"] = g.cells;
        }
        grids.push_back(std::move(jg));
    }
    return { { "n_tokens", l.n_tokens }, { "primary", l.primary }, { "grids", std::move(grids) } };
}

image_layout layout_from_json(const json & j) {
    image_layout l;
    try {
        l.n_tokens = j.at("n_tokens").get<int>();
        l.primary  = j.at("primary").get<int>();
        for (const json & jg : j.at("grids")) {
            token_grid g;
            g.role            = grid_role_from_name(jg.at("role").get<std::string>());
            g.rows            = jg.at("rows").get<int>();
            g.cols            = jg.at("cols").get<int>();
            const json & r    = jg.at("rect");
            g.rect            = { r.at(0).get<int>(), r.at(1).get<int>(), r.at(2).get<int>(), r.at(3).get<int>() };
            const json & c    = jg.at("cells");
            if (c.is_object()) {
                const int first = c.at("first").get<int>(), count = c.at("count").get<int>();
                if (count < 0) {
                    fail("layout: cells.count %d < 0", count);
                }
                for (int i = 0; i < count; ++i) {
                    g.cells.push_back(first + i);
                }
            } else {
                g.cells = c.get<std::vector<int>>();
            }
            l.grids.push_back(std::move(g));
        }
    } catch (const json::exception & e) {
        fail("layout: missing or malformed field (%s)", e.what());
    }
    l.validate("layout");
    return l;
}

std::vector<float> layout_grid_maps(const image_layout & l, int grid, const std::vector<float> & block_maps,
                                    int n_rows) {
    if (grid < 0 || grid >= (int) l.grids.size()) {
        fail("layout: grid %d out of range (%zu grids)", grid, l.grids.size());
    }
    if (block_maps.size() != (size_t) n_rows * l.n_tokens) {
        fail("layout: %zu map values for %d rows of %d image tokens", block_maps.size(), n_rows, l.n_tokens);
    }
    const token_grid & g = l.grids[(size_t) grid];
    if (g.contiguous() && (int) g.cells.size() == l.n_tokens) {
        return block_maps;
    }
    const size_t       n = g.cells.size();
    std::vector<float> out((size_t) n_rows * n);
    for (int k = 0; k < n_rows; ++k) {
        const float * src = block_maps.data() + (size_t) k * l.n_tokens;
        float *       dst = out.data() + (size_t) k * n;
        for (size_t i = 0; i < n; ++i) {
            dst[i] = src[g.cells[i]];
        }
    }
    return out;
}

}  // namespace glm
