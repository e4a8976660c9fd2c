// check-next-run: checks what the CLI wrote for one case of a LLaVA-NeXT golden folder (tests/golden/llava-next and
// folders of its format) against the folder's cases.json / cases.safetensors.
//
//   check-next-run GOLDEN CASE DIR [--grid primary|base]
//
// DIR is the output folder of `groundlmm ground` (result.json + attend.json + attention.safetensors) or of
// `groundlmm attend` (attend.json + attention.safetensors), run with the case's image, -p config.question and
// --answer config.continuation. Checked: the layout (token count, base grid g x g first, high-res grid H' x W' as
// cases[CASE].nx says, every high-res cell's token index skipping one newline per row, both grids covering the whole
// image, the high-res grid primary), the prompt (image_start, prompt_len, the text ids before and after the image),
// the teacher-forced tokens (= continuation_ids), the maps' shape, and their values against the reference's attn_mean
// / attn_head_m2 (the CLI runs our encoder, so the vision side's F16 rounding is in them: test-golden-llava-next
// measures 1.9e-4 and sets 2e-3 / 5e-3 for this chain); result.json's grid (the high-res one, or the base one with
// --grid base), image size and answer. Sizes all come from the folder. Prints one line per problem; exit 1 if any.
#include "common.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

using json = nlohmann::json;

static const double k_tol_mean    = 2e-3;  // = test-golden-llava-next's k_tol_chain_mean
static const double k_tol_head_m2 = 5e-3;  // = its k_tol_chain_head_m2

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

static bool exists(const std::string & path) {
    return std::ifstream(path).good();
}

int main(int argc, char ** argv) {
    if (argc != 4 && !(argc == 6 && std::string(argv[4]) == "--grid")) {
        fprintf(stderr, "usage: check-next-run GOLDEN CASE DIR [--grid primary|base]\n");
        return 2;
    }
    const std::string dir = argv[1], c = argv[2], out = argv[3];
    const std::string grid_mode = argc == 6 ? argv[5] : "primary";
    try {
        const json                  cases = load_json(dir + "/cases.json");
        const json &                cj    = cases.at("cases").at(c);
        const json &                nx    = cj.at("nx");
        const glm::safetensors_file st(dir + "/cases.safetensors");
        const int                   g     = cases.at("model").at("vision").at("grid_per_tile").at(0).get<int>();
        const int                   hr_r  = nx.at("hr_grid_rows_cols").at(0).get<int>();
        const int                   hr_c  = nx.at("hr_grid_rows_cols").at(1).get<int>();
        const int                   n_img = st.get(c + ".n_image_tokens").to_i32()[0];
        const int                   W = cj.at("image").at("size_wh").at(0).get<int>(), H = cj["image"]["size_wh"][1].get<int>();
        check(n_img == nx.at("n_image_tokens").get<int>() && n_img == g * g + hr_r * (hr_c + 1),
              "the folder agrees with itself", glm::strfmt("%d image tokens", n_img));

        const json a = load_json(out + "/attend.json");
        const json & l = a.at("layout");
        check(l.at("n_tokens").get<int>() == n_img, "layout.n_tokens",
              glm::strfmt("%d, want %d", l["n_tokens"].get<int>(), n_img));
        check(l.at("primary").get<int>() == 1 && l.at("grids").size() == 2, "two grids, the high-res one primary");
        const json & base = l["grids"].at(0);
        const json & hr   = l["grids"].at(1);
        check(base.at("role") == "base" && base.at("rows").get<int>() == g && base.at("cols").get<int>() == g &&
                  base.at("cells").at("first").get<int>() == 0 && base["cells"].at("count").get<int>() == g * g,
              "base grid g x g, tokens 0..g*g-1", glm::strfmt("g %d", g));
        bool cells_ok = hr.at("role") == "highres" && hr.at("rows").get<int>() == hr_r &&
                        hr.at("cols").get<int>() == hr_c && hr.at("cells").size() == (size_t) hr_r * hr_c;
        for (int r = 0; cells_ok && r < hr_r; ++r) {
            for (int col = 0; cells_ok && col < hr_c; ++col) {
                cells_ok = hr["cells"][(size_t) r * hr_c + col].get<int>() == g * g + r * (hr_c + 1) + col;
            }
        }
        check(cells_ok, "high-res grid H' x W' (one newline after each row)", glm::strfmt("%d x %d", hr_r, hr_c));
        const json rect = json::array({ 0, 0, W, H });
        check(base.at("rect") == rect && hr.at("rect") == rect, "both grids cover the whole image");

        const json & p = a.at("prompt");
        check(p.at("image_start").get<int>() == st.get(c + ".image_start").to_i32()[0], "prompt.image_start");
        check(p.at("prompt_len").get<int>() == st.get(c + ".prompt_len").to_i32()[0], "prompt.prompt_len",
              glm::strfmt("%d", p["prompt_len"].get<int>()));
        check(p.at("text_ids_pre").get<std::vector<int32_t>>() == st.get(c + ".prompt_ids_pre").to_i32() &&
                  p.at("text_ids_post").get<std::vector<int32_t>>() == st.get(c + ".prompt_ids_post").to_i32(),
              "prompt ids before and after the image");
        const std::vector<int32_t> cont = st.get(c + ".continuation_ids").to_i32();
        std::vector<int32_t>       ids;
        for (const json & t : a.at("tokens")) {
            ids.push_back(t.at("id").get<int32_t>());
        }
        check(ids == cont, "teacher-forced tokens = continuation_ids", glm::strfmt("%zu tokens", ids.size()));

        const int                   K = (int) cont.size();
        const glm::safetensors_file maps(out + "/" + a.at("maps").at("file").get<std::string>());
        const std::vector<float>    mean = maps.get("maps_mean", { K, n_img }).to_f32();
        const std::vector<float>    off  = maps.get("maps_official", { K, n_img }).to_f32();
        auto                        max_abs = [](const std::vector<float> & x, const std::vector<float> & y) {
            double m = x.size() == y.size() ? 0.0 : INFINITY;
            for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
                m = std::fmax(m, std::fabs((double) x[i] - y[i]));
            }
            return m;
        };
        const double em = max_abs(mean, st.get(c + ".attn_mean").to_f32());
        const double eo = max_abs(off, st.get(c + ".attn_head_m2").to_f32());
        check(em <= k_tol_mean, "maps_mean vs attn_mean", glm::strfmt("max abs %.3g (tol %.0e)", em, k_tol_mean));
        check(eo <= k_tol_head_m2, "maps_official vs attn_head_m2",
              glm::strfmt("max abs %.3g (tol %.0e)", eo, k_tol_head_m2));

        if (exists(out + "/result.json")) {
            const json r   = load_json(out + "/result.json");
            const int  gh  = grid_mode == "base" ? g : hr_r;
            const int  gw  = grid_mode == "base" ? g : hr_c;
            check(r.at("grid").at("h").get<int>() == gh && r["grid"].at("w").get<int>() == gw,
                  "result.json grid (" + grid_mode + ")",
                  glm::strfmt("%d x %d, want %d x %d", r["grid"]["h"].get<int>(), r["grid"]["w"].get<int>(), gh, gw));
            check(r.at("image").at("width").get<int>() == W && r["image"].at("height").get<int>() == H,
                  "result.json image size");
            check(r.at("answer") == cases.at("config").at("continuation"), "result.json answer");
        }
    } catch (const std::exception & e) {
        check(false, "exception", e.what());
    }
    printf("check-next-run %s %s: %s\n", c.c_str(), out.c_str(), n_bad ? "FAIL" : "PASS");
    return n_bad ? 1 : 0;
}
