// check-cambrian-run: checks what the CLI wrote for one case of a Cambrian golden folder (tests/golden/cambrian and
// folders of its format) against the folder's cases.json / cases.safetensors.
//
//   check-cambrian-run GOLDEN CASE DIR [--expect-differ]
//
// DIR is the output folder of `groundlmm attend` or `groundlmm ground` run on the case's image with the GGUFs of
// make-cambrian-tiny and the case's template (prompt.json). Checked: the layout (h' x (w'+1) tokens, one grid of
// h' x w' cells skipping the newline after each row, over the whole image), the prompt (image_start and the ids
// before / after the image = the case's input_ids), and the first answer row's maps (the row of the last prompt
// token: GL cambrian.py's step 0) on the grid cells against maps.all (maps_mean) and maps.head (maps_official, head
// H-2). The CLI runs our towers on the image, so the chain's error is in them (test-golden-cambrian: image tokens rel
// 6.2e-7). With --expect-differ (a run without the in-LLM blocks) both maps must differ from the golden by more than
// the tolerance: the tolerance tells a run without the blocks apart. Prints one line per check; exit 1 if any fails.
#include "common.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

using json = nlohmann::json;

// absolute, on maps of ~1/n_keys (F32 weights and KV cache; measured <= 1.7e-8 on both folders, CPU; without the
// in-LLM blocks the maps move by 4e-3 .. 1e-2)
static const double k_tol_map = 1e-5;

static int n_bad = 0;

static void check(bool ok, const std::string & what, const std::string & detail = "") {
    printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
    n_bad += ok ? 0 : 1;
}

static json load_json(const std::string & path) {
    std::ifstream f(path);
    if (!f) {
        glm::fail("%s: cannot open", path.c_str());
    }
    return json::parse(f);
}

int main(int argc, char ** argv) {
    if (argc != 4 && !(argc == 5 && std::string(argv[4]) == "--expect-differ")) {
        fprintf(stderr, "usage: check-cambrian-run GOLDEN CASE DIR [--expect-differ]\n");
        return 2;
    }
    const std::string dir = argv[1], c = argv[2], out = argv[3];
    const bool        differ = argc == 5;
    try {
        const json cases = load_json(dir + "/cases.json");
        json       cj;
        for (const json & x : cases.at("cases")) {
            if (x.at("name") == c) {
                cj = x;
            }
        }
        if (cj.is_null()) {
            glm::fail("%s/cases.json: no case '%s'", dir.c_str(), c.c_str());
        }
        const glm::safetensors_file st(dir + "/cases.safetensors");
        const int W = cj.at("width").get<int>(), H = cj.at("height").get<int>();
        const int hq = cj.at("unpad_h").get<int>(), wq = cj.at("unpad_w").get<int>();
        const int n_img = cj.at("image_tokens").get<int>();
        check(n_img == hq * (wq + 1), "the folder agrees with itself", glm::strfmt("%d = %d x (%d + 1)", n_img, hq, wq));

        const json   a = load_json(out + "/attend.json");
        const json & l = a.at("layout");
        check(l.at("n_tokens").get<int>() == n_img, "layout.n_tokens",
              glm::strfmt("%d, want %d", l["n_tokens"].get<int>(), n_img));
        check(l.at("grids").size() == 1 && l.at("primary").get<int>() == 0, "one grid, primary");
        const json & g       = l["grids"].at(0);
        std::vector<int> cells;
        bool cells_ok = g.at("rows").get<int>() == hq && g.at("cols").get<int>() == wq && g.at("cells").is_array() &&
                        g["cells"].size() == (size_t) hq * wq;
        for (int r = 0; cells_ok && r < hq; ++r) {
            for (int col = 0; col < wq; ++col) {
                cells.push_back(g["cells"][(size_t) r * wq + col].get<int>());
                cells_ok = cells_ok && cells.back() == r * (wq + 1) + col;
            }
        }
        check(cells_ok, "grid h' x w', one newline after each row", glm::strfmt("%d x %d", hq, wq));
        check(g.at("rect") == json::array({ 0, 0, W, H }), "the grid covers the whole image");

        std::vector<int32_t> pre, post;
        bool                 after = false;
        for (const json & v : cj.at("input_ids")) {
            const int id = v.get<int>();
            if (id == -200) {
                after = true;
            } else {
                (after ? post : pre).push_back(id);
            }
        }
        const json & p = a.at("prompt");
        check(p.at("image_start").get<int>() == cj.at("image_start").get<int>(), "prompt.image_start",
              glm::strfmt("%d", p["image_start"].get<int>()));
        check(p.at("text_ids_pre").get<std::vector<int32_t>>() == pre &&
                  p.at("text_ids_post").get<std::vector<int32_t>>() == post,
              "prompt ids before and after the image = input_ids");

        const int                   K = (int) a.at("tokens").size();
        const glm::safetensors_file maps(out + "/" + a.at("maps").at("file").get<std::string>());
        const std::vector<float>    mean = maps.get("maps_mean", { K, n_img }).to_f32();
        const std::vector<float>    off  = maps.get("maps_official", { K, n_img }).to_f32();
        for (int which = 0; which < 2 && cells_ok; ++which) {
            const std::vector<float> & got  = which == 0 ? mean : off;
            const std::vector<float>   want = st.get(c + (which == 0 ? ".maps.all" : ".maps.head"), { hq, wq }).to_f32();
            double                     e    = 0.0;
            for (size_t i = 0; i < cells.size(); ++i) {
                e = std::fmax(e, std::fabs((double) got[(size_t) cells[i]] - want[i]));  // row 0: step 0
            }
            const std::string what = which == 0 ? "maps_mean (step 0) vs maps.all" : "maps_official (step 0) vs maps.head";
            if (differ) {
                check(e > k_tol_map, what + " differ without the in-LLM blocks",
                      glm::strfmt("max abs %.3g (tol %.0e)", e, k_tol_map));
            } else {
                check(e <= k_tol_map, what, glm::strfmt("max abs %.3g (tol %.0e)", e, k_tol_map));
            }
        }
        if (std::ifstream(out + "/result.json").good()) {
            const json r = load_json(out + "/result.json");
            check(r.at("grid").at("h").get<int>() == hq && r["grid"].at("w").get<int>() == wq, "result.json grid",
                  glm::strfmt("%d x %d", r["grid"]["h"].get<int>(), r["grid"]["w"].get<int>()));
            check(r.at("image").at("width").get<int>() == W && r["image"].at("height").get<int>() == H,
                  "result.json image size");
        }
    } catch (const std::exception & e) {
        check(false, "exception", e.what());
    }
    printf("check-cambrian-run %s %s: %s\n", c.c_str(), out.c_str(), n_bad ? "FAIL" : "PASS");
    return n_bad ? 1 : 0;
}
