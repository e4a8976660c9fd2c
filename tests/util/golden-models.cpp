#include "util/golden-models.h"

#include "common.h"
#include "safetensors.h"
#include "sam-convert.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace glm::test {

std::string fresh_tmp_dir(const std::string & name) {
    const std::string d = (std::filesystem::temp_directory_path() / ("glm-test-" + name)).string();
    std::filesystem::remove_all(d);
    make_dirs(d);
    return d;
}

lmm_params golden_llm_params(const std::string & model) {
    lmm_params p;
    p.model     = model;
    p.n_ctx     = 1024;
    p.n_threads = 2;
    return p;
}

std::string convert_golden_sam(const std::string & sam_dir, const std::string & out_dir) {
    const nlohmann::json sc = nlohmann::json::parse(std::ifstream(sam_dir + "/cases.json"));
    sam_convert_params   cp;
    cp.input         = sam_dir + "/sam-tiny.pth";
    cp.output        = out_dir + "/sam-tiny.gguf";
    cp.decoder_heads = sc["model"].value("decoder_heads", 0);
    sam_convert(cp);
    return cp.output;
}

golden_llava::golden_llava(const std::string & llava_dir, const backend_params & bp) :
    be(bp),
    enc(llava_dir + "/mmproj-llava-tiny-f32.gguf", be),
    lp(golden_llm_params(llava_dir + "/llava-tiny-f32.gguf")),
    lm(lp),
    ls(lm, lp) {}

maps_result golden_reference_points(const std::string & llava_dir, const ground_result & g) {
    const safetensors_file st(llava_dir + "/cases.safetensors");
    const st_tensor &      t = st.get(g.params.heads == attn_heads::official ? "attn_head_m2" : "attn_mean");
    token_maps             tm;
    tm.n_tokens = (int) t.shape.at(0);
    tm.gh       = g.grid_h;
    tm.gw       = g.grid_w;
    tm.data     = t.to_f32();
    if (tm.data.size() != (size_t) tm.n_tokens * g.grid_h * g.grid_w) {
        fail("%s: %s has shape %s, expected [K, %d]", st.path().c_str(), t.name.c_str(), t.shape_str().c_str(),
             g.grid_h * g.grid_w);
    }
    std::vector<std::vector<int>> groups;
    for (const ground_phrase & p : g.phrases) {
        groups.push_back(p.tokens);
    }
    return maps_ground(tm, groups, g.width, g.height, g.params.maps);
}

}  // namespace glm::test
