#include "attend.h"

#include "common.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace glm {

using json = nlohmann::json;

static const char * k_format = "groundlmm.attend/1";

const char * attn_heads_name(attn_heads h) {
    switch (h) {
        case attn_heads::all:      return "all";
        case attn_heads::official: return "official";
        case attn_heads::dump:     return "dump";
        case attn_heads::set:      return "set";
    }
    return "?";
}

attn_heads attn_heads_from_name(const std::string & s) {
    if (s == "all" || s == "mean") {
        return attn_heads::all;
    }
    if (s == "official") {
        return attn_heads::official;
    }
    if (s == "dump") {
        return attn_heads::dump;
    }
    fail("--attn-heads: expected all, official or dump, got '%s'", s.c_str());
}

const float * attend_result::map(int k, attn_heads which) const {
    if (k < 0 || k >= out.maps.n_rows) {
        fail("attention map %d out of range (%d rows)", k, out.maps.n_rows);
    }
    if (which == attn_heads::set && out.maps.selected.empty()) {
        fail("attention map %d: this stage-1 result kept no head-set map", k);
    }
    const std::vector<float> & m = which == attn_heads::official ? out.maps.official
                                 : which == attn_heads::set      ? out.maps.selected
                                                                 : out.maps.mean;
    return m.data() + (size_t) k * out.maps.n_img;
}

const float * attend_result::map(int k) const { return map(k, heads); }

std::vector<float> attend_head_maps(const attend_result & r, const head_set & hs) {
    const attn_maps & m = r.out.maps;
    if (hs.kind == attn_heads::official) {
        return m.official;
    }
    if (hs.kind != attn_heads::set) {
        return m.mean;
    }
    const std::vector<head_pair> want = hs.resolve(m.n_layer, m.n_head);
    if (!m.selected.empty() && m.selected_heads == want) {
        return m.selected;
    }
    if (m.full.empty()) {
        fail("heads '%s' (%s): the stage-1 result kept the maps of %s only; rerun stage 1 with these heads or with "
             "attn_heads dump", hs.spec.c_str(), head_pairs_text(want).c_str(),
             m.selected_heads.empty() ? "all and official" : ("all, official and " + head_pairs_text(m.selected_heads)).c_str());
    }
    std::vector<float> out((size_t) m.n_rows * m.n_img, 0.0f);
    for (int row = 0; row < m.n_rows; ++row) {
        float * dst = &out[(size_t) row * m.n_img];
        for (const head_pair & p : want) {
            const float * src = &m.full[(((size_t) row * m.n_layer + p.first) * m.n_head + p.second) * m.n_img];
            for (int j = 0; j < m.n_img; ++j) {
                dst[j] += src[j];
            }
        }
        for (int j = 0; j < m.n_img; ++j) {
            dst[j] /= (float) want.size();
        }
    }
    return out;
}

attend_result attend_run(vision_encoder & enc, lmm_session & lmm, const image_u8 & img, const gen_params & gp,
                         const head_set & heads) {
    if (enc.n_embd() != lmm.model().n_embd_inp()) {
        fail("the vision model outputs embeddings of width %d but the LLM %s expects %d: mismatched model pair",
             enc.n_embd(), lmm.model().path().c_str(), lmm.model().n_embd_inp());
    }
    if (!lmm.tapping()) {
        fail("attend: the LMM session was created without the attention tap");
    }
    attend_result r;
    r.image_w     = img.w;
    r.image_h     = img.h;
    r.gen         = gp;
    r.heads       = heads.kind;
    r.head_sel    = heads;
    lmm.set_tap_heads(heads.kind == attn_heads::set ? heads.resolve(lmm.model().n_layer(), lmm.model().n_head())
                                                    : std::vector<head_pair>());
    r.templ       = gp.templ.empty() ? lmm.model().prompt_template() : gp.templ;
    r.llm_path    = lmm.model().path();
    r.llm_desc    = lmm.model().desc();
    r.vision_desc = enc.name();

    enc.set_seed(gp.seed);  // encoders that draw noise (DiffLMM) use the run's seed
    const double  t0 = now_s();
    vision_output v  = enc.encode(img);
    r.t_vision_s     = now_s() - t0;
    v.layout.validate("vision model layout");
    if (v.layout.n_tokens != v.n_tokens) {
        fail("attend: the vision model's layout describes %d image tokens, it returned %d", v.layout.n_tokens,
             v.n_tokens);
    }
    r.layout         = v.layout;
    r.grid_w         = v.layout.grids[(size_t) v.layout.primary].cols;
    r.grid_h         = v.layout.grids[(size_t) v.layout.primary].rows;
    r.geom           = v.geom;
    gen_params g     = gp;
    if (v.decode.chat_template) {  // libmtmd families: the LLM's chat template, its special tokens parsed
        g.parse_special = true;
        if (g.templ.empty()) {
            g.templ = lmm.model().chat_prompt_template(v.decode.chat_image);
            r.templ = g.templ;
        }
    }
    r.out            = lmm.generate(v.embd.data(), v.n_tokens, g, &v.decode);
    if (r.out.maps.n_img != r.layout.n_tokens) {
        fail("attend: %d image cells captured for %d image tokens", r.out.maps.n_img, r.layout.n_tokens);
    }
    return r;
}

json attend_to_json(const attend_result & r) {
    const attn_maps & m = r.out.maps;
    const int         T = m.n_rows;
    json              toks = json::array();
    for (const gen_token & t : r.out.tokens) {
        toks.push_back({ { "id", t.id }, { "text", t.text }, { "span", { t.begin, t.end } }, { "eog", t.eog } });
    }
    std::vector<int32_t> prompt_ids = r.out.prompt_pre;
    prompt_ids.insert(prompt_ids.end(), r.out.prompt_post.begin(), r.out.prompt_post.end());
    json j = {
        { "format", k_format },
        { "answer", r.out.answer },
        { "tokens", toks },
        { "image", { { "path", r.image_path }, { "width", r.image_w }, { "height", r.image_h } } },
        { "geometry",
          { { "side", r.geom.side },
            { "pad_x", r.geom.pad_x },
            { "pad_y", r.geom.pad_y },
            { "input_size", r.geom.input_size },
            { "scale", r.geom.scale } } },
        { "grid", { { "w", r.grid_w }, { "h", r.grid_h } } },
        { "layout", layout_to_json(r.layout) },
        { "model",
          { { "llm", r.llm_path },
            { "llm_desc", r.llm_desc },
            { "vision", r.vision_path },
            { "vision_desc", r.vision_desc },
            { "n_layer", m.n_layer },
            { "n_head", m.n_head },
            { "head_official", m.head_official } } },
        { "prompt",
          { { "text", r.gen.prompt },
            { "template", r.templ },
            { "image_start", r.out.image_start },
            { "prompt_len", r.out.prompt_len },
            { "text_ids_pre", r.out.prompt_pre },
            { "text_ids_post", r.out.prompt_post } } },
        { "generation",
          { { "n_predict", r.gen.n_predict },
            { "temp", r.gen.temp },
            { "top_k", r.gen.top_k },
            { "top_p", r.gen.top_p },
            { "seed", r.gen.seed },
            { "stop_reason", r.out.stop_reason } } },
        { "maps",
          { { "file", "attention.safetensors" },
            { "heads", r.head_sel.spec.empty() ? std::string(attn_heads_name(r.heads)) : r.head_sel.spec },
            { "head_set", m.selected_heads.empty() ? json(nullptr) : json{
                  { "heads", m.selected_heads }, { "file", r.head_sel.file }, { "file_model", r.head_sel.file_model } } },
            { "selected", m.selected.empty() ? json(nullptr) : json("maps_selected") },
            { "rows", T },
            { "row_k", "attention of the query that predicts token k, over the image-token grid (row-major)" },
            { "mean", "maps_mean" },
            { "official", "maps_official" },
            { "full", m.full.empty() ? json(nullptr) : json("attn_full") } } },
        { "timings", { { "vision_s", r.t_vision_s }, { "prompt_s", r.out.t_prompt_s }, { "gen_s", r.out.t_gen_s } } },
    };
    return j;
}

void attend_save(const attend_result & r, const std::string & dir) {
    make_dirs(dir);
    const attn_maps & m = r.out.maps;
    const int         T = m.n_rows;
    const std::vector<int32_t> ids = r.out.ids();
    const json j = attend_to_json(r);
    // one grid covering the whole block (LLaVA-1.5): [T, rows, cols]; otherwise one value per image token
    const std::vector<int64_t> shape = r.layout.is_single_contiguous()
                                           ? std::vector<int64_t>{ T, r.grid_h, r.grid_w }
                                           : std::vector<int64_t>{ T, r.layout.n_tokens };
    std::vector<int64_t> full_shape = { T, m.n_layer, m.n_head };
    full_shape.insert(full_shape.end(), shape.begin() + 1, shape.end());
    safetensors_writer w;
    w.add_f32("maps_mean", shape, m.mean);
    w.add_f32("maps_official", shape, m.official);
    if (!m.selected.empty()) {
        w.add_f32("maps_selected", shape, m.selected);
    }
    w.add_i32("token_ids", { T }, ids);
    if (!m.full.empty()) {
        w.add_f32("attn_full", full_shape, m.full);
    }
    w.set_metadata("format", k_format);
    w.write(dir + "/attention.safetensors");
    // token pieces can be partial UTF-8 characters (byte-fallback tokens): invalid bytes become U+FFFD
    write_file(dir + "/attend.json", j.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
}

attend_result attend_load(const std::string & dir) {
    const std::string jpath = dir + "/attend.json";
    json              j;
    try {
        std::ifstream f(jpath);
        if (!f) {
            fail("%s: cannot open (not an attend output folder?)", jpath.c_str());
        }
        j = json::parse(f);
    } catch (const json::exception & e) {
        fail("%s: not valid JSON (%s)", jpath.c_str(), e.what());
    }
    attend_result r;
    try {
        if (j.at("format").get<std::string>() != k_format) {
            fail("%s: format '%s', expected '%s'", jpath.c_str(), j.at("format").get<std::string>().c_str(),
                 k_format);
        }
        r.out.answer = j.at("answer").get<std::string>();
        for (const auto & t : j.at("tokens")) {
            gen_token g;
            g.id    = t.at("id");
            g.text  = t.at("text");
            g.begin = t.at("span")[0];
            g.end   = t.at("span")[1];
            g.eog   = t.at("eog");
            r.out.tokens.push_back(g);
        }
        r.image_path     = j.at("image").at("path");
        r.image_w        = j.at("image").at("width");
        r.image_h        = j.at("image").at("height");
        const json & g   = j.at("geometry");
        r.geom.orig_w    = r.image_w;
        r.geom.orig_h    = r.image_h;
        r.geom.side      = g.at("side");
        r.geom.pad_x     = g.at("pad_x");
        r.geom.pad_y     = g.at("pad_y");
        r.geom.input_size = g.at("input_size");
        r.geom.scale     = g.at("scale");
        r.grid_w         = j.at("grid").at("w");
        r.grid_h         = j.at("grid").at("h");
        // outputs written before layouts existed: one square grid over the padded square (all encoders padded)
        r.layout = j.contains("layout") ? layout_from_json(j.at("layout"))
                                        : image_layout::single(r.grid_h, r.grid_w, rect_padded_square(r.image_w, r.image_h));
        const json & mo  = j.at("model");
        r.llm_path       = mo.at("llm");
        r.llm_desc       = mo.at("llm_desc");
        r.vision_path    = mo.at("vision");
        r.vision_desc    = mo.at("vision_desc");
        r.out.maps.n_layer       = mo.at("n_layer");
        r.out.maps.n_head        = mo.at("n_head");
        r.out.maps.head_official = mo.at("head_official");
        const json & pr  = j.at("prompt");
        r.gen.prompt     = pr.at("text");
        r.templ          = pr.at("template");
        r.gen.templ      = r.templ;
        r.out.image_start = pr.at("image_start");
        r.out.prompt_len = pr.at("prompt_len");
        r.out.prompt_pre = pr.at("text_ids_pre").get<std::vector<int32_t>>();
        r.out.prompt_post = pr.at("text_ids_post").get<std::vector<int32_t>>();
        const json & ge  = j.at("generation");
        r.gen.n_predict  = ge.at("n_predict");
        r.gen.temp       = ge.at("temp");
        r.gen.top_k      = ge.at("top_k");
        r.gen.top_p      = ge.at("top_p");
        r.gen.seed       = ge.at("seed");
        r.out.stop_reason = ge.at("stop_reason");
        const json & mj  = j.at("maps");
        if (mj.contains("head_set") && !mj.at("head_set").is_null()) {  // a head set: its resolved heads, not the file
            const json & hj = mj.at("head_set");
            r.head_sel      = head_set_parse(mj.at("heads").get<std::string>(), /*read_file=*/false);
            r.head_sel.kind = attn_heads::set;
            r.head_sel.pairs = hj.at("heads").get<std::vector<head_pair>>();
            r.head_sel.file       = hj.value("file", std::string());
            r.head_sel.file_model = hj.value("file_model", std::string());
            r.out.maps.selected_heads = r.head_sel.pairs;
        } else {
            r.head_sel = head_set(attn_heads_from_name(mj.at("heads")));
        }
        r.heads = r.head_sel.kind;
        r.t_vision_s     = j.at("timings").at("vision_s");
        r.out.t_prompt_s = j.at("timings").at("prompt_s");
        r.out.t_gen_s    = j.at("timings").at("gen_s");
    } catch (const json::exception & e) {
        fail("%s: missing or malformed field (%s)", jpath.c_str(), e.what());
    }
    const safetensors_file st(dir + "/attention.safetensors");
    const int64_t          T = (int64_t) r.out.tokens.size();
    attn_maps &            m = r.out.maps;
    m.n_rows                 = (int) T;
    m.n_img                  = r.layout.n_tokens;
    const std::vector<int64_t> shape = r.layout.is_single_contiguous()
                                           ? std::vector<int64_t>{ T, r.grid_h, r.grid_w }
                                           : std::vector<int64_t>{ T, r.layout.n_tokens };
    std::vector<int64_t> full_shape = { T, m.n_layer, m.n_head };
    full_shape.insert(full_shape.end(), shape.begin() + 1, shape.end());
    m.mean                   = st.get("maps_mean", shape).to_f32();
    m.official               = st.get("maps_official", shape).to_f32();
    if (st.get("token_ids", { T }).to_i32() != r.out.ids()) {
        fail("%s: token ids differ from %s", st.path().c_str(), jpath.c_str());
    }
    if (!m.selected_heads.empty()) {
        m.selected = st.get("maps_selected", shape).to_f32();
    }
    if (st.has("attn_full")) {
        m.full = st.get("attn_full", full_shape).to_f32();
    }
    return r;
}

}  // namespace glm
