// test-golden-aas: the attend-and-segment post-processing (src/maps.h) against the official PyTorch code's outputs,
// and the COCO RLE cases of the coco golden (src/rle.h) against pycocotools.
//
// usage: test-golden-aas [aas-folder [coco-folder]]
//   aas-folder:  aas.json + aas.safetensors (default tests/golden/aas)
//   coco-folder: expected.json with an "rle" list (default tests/golden/coco)
// Every shape is read from the files. For each case: normalised maps, phrase maps (after corner removal when the case
// asks for it), upsampled maps where stored (from our own phrase maps and from the reference's, so that each step is
// checked on its own), all bit-exact, and points, which must be identical (both the materialised and the streaming argmax).
#include "golden-util.h"
#include "maps.h"
#include "rle.h"
#include "safetensors.h"
#include "common.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

#ifndef GLM_GOLDEN_DEFAULT
#define GLM_GOLDEN_DEFAULT "tests/golden/aas"
#endif

using json = nlohmann::json;

// The maps are bit-exact: normalised, phrase and upsampled maps of every case of tests/golden/aas and
// tests/golden/aas-variant measured 0 difference (our bicubic kernel follows PyTorch's CPU one operation by
// operation), so any difference is a failure.
static const double k_tol = 0.0;

static std::string points_str(const std::vector<int32_t> & p) {
    std::string s;
    for (size_t i = 0; i + 1 < p.size(); i += 2) {
        s += glm::strfmt("%s(%d,%d)", i ? " " : "", p[i], p[i + 1]);
    }
    return s;
}

static void check_aas(golden::report & rep, const std::string & dir) {
    const json                  meta = json::parse(glm::read_file(dir + "/aas.json"));
    const glm::safetensors_file st(dir + "/aas.safetensors");
    for (const json & c : meta.at("cases")) {
        const std::string name   = c.at("name");
        const int         width  = c.at("width");
        const int         height = c.at("height");
        const std::string pre    = name + ".";

        const glm::st_tensor & att = st.get(pre + "attention");
        if (att.shape.size() != 3) {
            glm::fail("%s: %s has shape %s, expected [T, gh, gw]", st.path().c_str(), att.name.c_str(),
                      att.shape_str().c_str());
        }
        glm::token_maps tm;
        tm.n_tokens = (int) att.shape[0];
        tm.gh       = (int) att.shape[1];
        tm.gw       = (int) att.shape[2];
        tm.data     = att.to_f32();

        std::vector<std::vector<int>> groups;
        for (const json & g : c.at("groups")) {
            groups.push_back(g.get<std::vector<int>>());
        }
        const int G = (int) groups.size();

        glm::maps_params p;
        p.aspect         = glm::map_aspect_from_name(c.at("aspect").get<std::string>());
        p.remove_corner  = c.at("remove_corner").get<bool>();
        p.keep_upsampled = true;
        printf("-- %s: T=%d grid %dx%d, image %dx%d, %s%s, %d phrases\n", name.c_str(), tm.n_tokens, tm.gh, tm.gw,
               width, height, glm::map_aspect_name(p.aspect), p.remove_corner ? ", corners removed" : "", G);

        // normalisation
        glm::token_maps norm = tm;
        glm::maps_normalize(norm);
        rep.compare(pre + "normalized", norm.data, st.get(pre + "normalized", { tm.n_tokens, tm.gh, tm.gw }).to_f32(),
                    k_tol);

        // the whole chain, materialised
        const glm::maps_result res = glm::maps_ground(tm, groups, width, height, p);
        std::vector<float>     grids;
        for (const auto & ph : res.phrases) {
            grids.insert(grids.end(), ph.grid.begin(), ph.grid.end());
        }
        const std::vector<float> want_grids = st.get(pre + "group_maps", { G, tm.gh, tm.gw }).to_f32();
        rep.compare(pre + "group_maps", grids, want_grids, k_tol);

        if (st.has(pre + "upsampled")) {
            const std::vector<float> want_up = st.get(pre + "upsampled", { G, height, width }).to_f32();
            std::vector<float>       up, up_ref;
            for (int g = 0; g < G; ++g) {
                up.insert(up.end(), res.phrases[g].upsampled.begin(), res.phrases[g].upsampled.end());
                // the upsampling step alone, on the reference's phrase maps
                std::vector<float> u = glm::maps_upsample(want_grids.data() + (size_t) g * tm.gh * tm.gw, tm.gh,
                                                          tm.gw, width, height, p.aspect);
                up_ref.insert(up_ref.end(), u.begin(), u.end());
            }
            rep.compare(pre + "upsampled", up, want_up, k_tol);
            rep.compare(pre + "upsampled (from ref group maps)", up_ref, want_up, k_tol);
        } else if (c.value("upsampled_stored", false)) {
            rep.check(pre + "upsampled", false, "the json says it is stored, the safetensors file has no tensor");
        }

        // points: materialised argmax, streaming argmax, and streaming on the reference's phrase maps
        const std::vector<int32_t> want_pts = st.get(pre + "points", { G, 2 }).to_i32();
        std::vector<int32_t>       pts, pts_stream, pts_ref;
        p.keep_upsampled                   = false;
        const glm::maps_result res_stream = glm::maps_ground(tm, groups, width, height, p);
        for (int g = 0; g < G; ++g) {
            pts.push_back(res.phrases[g].x);
            pts.push_back(res.phrases[g].y);
            pts_stream.push_back(res_stream.phrases[g].x);
            pts_stream.push_back(res_stream.phrases[g].y);
            int   x, y;
            float v;
            glm::maps_argmax(want_grids.data() + (size_t) g * tm.gh * tm.gw, tm.gh, tm.gw, width, height, p.aspect, &x,
                             &y, &v);
            pts_ref.push_back(x);
            pts_ref.push_back(y);
        }
        const std::string want_s = points_str(want_pts);
        rep.check(pre + "points", pts == want_pts, points_str(pts) + " vs " + want_s);
        rep.check(pre + "points (streaming)", pts_stream == want_pts, points_str(pts_stream) + " vs " + want_s);
        rep.check(pre + "points (from ref group maps)", pts_ref == want_pts, points_str(pts_ref) + " vs " + want_s);
    }
}

static void check_rle(golden::report & rep, const std::string & dir) {
    const json   exp   = json::parse(glm::read_file(dir + "/expected.json"));
    const json & cases = exp.at("rle");
    printf("-- coco rle: %zu cases from %s\n", cases.size(), dir.c_str());
    for (size_t i = 0; i < cases.size(); ++i) {
        const json &        c    = cases[i];
        const int           h    = c.at("height");
        const int           w    = c.at("width");
        const std::string   bits = c.at("row_major_bits");
        const std::string   what = glm::strfmt("rle[%zu] %dx%d", i, h, w);
        if (bits.size() != (size_t) h * w) {
            rep.check(what, false, glm::strfmt("%zu bits for %dx%d", bits.size(), h, w));
            continue;
        }
        std::vector<uint8_t> mask(bits.size());
        for (size_t k = 0; k < bits.size(); ++k) {
            mask[k] = bits[k] == '1' ? 1 : 0;
        }
        const glm::rle      r    = glm::rle_encode(mask.data(), h, w);
        const std::string   s    = glm::rle_to_string(r);
        const std::string   want = c.at("counts");
        rep.check(what + " string", s == want, s == want ? "" : "'" + s + "' vs '" + want + "'");
        const uint64_t area = glm::rle_area(r);
        rep.check(what + " area", area == c.at("area").get<uint64_t>(),
                  glm::strfmt("%llu vs %llu", (unsigned long long) area,
                              (unsigned long long) c.at("area").get<uint64_t>()));
        double bb[4];
        glm::rle_bbox(r, bb);
        const std::vector<double> want_bb = c.at("bbox").get<std::vector<double>>();
        const bool                bb_ok   = want_bb.size() == 4 && bb[0] == want_bb[0] && bb[1] == want_bb[1] &&
                            bb[2] == want_bb[2] && bb[3] == want_bb[3];
        rep.check(what + " bbox", bb_ok, glm::strfmt("[%g %g %g %g]", bb[0], bb[1], bb[2], bb[3]));
        const std::vector<uint8_t> back = glm::rle_decode(glm::rle_from_string(want, h, w));
        rep.check(what + " decode", back == mask);
    }
}

int main(int argc, char ** argv) {
    const std::string aas_dir = argc > 1 ? argv[1] : GLM_GOLDEN_DEFAULT;
    std::string       coco_dir = argc > 2 ? argv[2] : "";
    if (coco_dir.empty()) {  // the coco folder beside the repository's aas golden
        const std::string def   = GLM_GOLDEN_DEFAULT;
        const size_t      slash = def.find_last_of('/');
        coco_dir = (slash == std::string::npos ? std::string(".") : def.substr(0, slash)) + "/coco";
    }
    golden::report rep;
    try {
        check_aas(rep, aas_dir);
        check_rle(rep, coco_dir);
    } catch (const std::exception & e) {
        rep.check("exception", false, e.what());
    }
    return rep.finish("test-golden-aas");
}
