#include "serve-engine.h"

#include "attend.h"
#include "common.h"
#include "ground.h"
#include "outputs.h"
#include "refine-region.h"
#include "refine-sam.h"

namespace glm {

using json = nlohmann::json;

serve_engine::serve_engine(const serve_model_params & params) : params_(params) {
    if (params_.lmm.model.empty() || params_.vision.empty()) {
        fail("serve: give the LLM (-m) and the vision model (--mmproj)");
    }
    std::string ref = params_.refiner.empty() ? (params_.sam.empty() ? "none" : "sam") : params_.refiner;
    if (ref != "sam" && ref != "region" && ref != "none") {
        fail("unknown refiner '%s' (expected sam, region or none)", ref.c_str());
    }
    if (ref == "sam" && params_.sam.empty()) {
        fail("--refiner sam needs --sam sam.gguf");
    }
    params_.refiner      = ref;
    params_.lmm.tap      = true;
    params_.lmm.tap_dump = false;

    backend_ = std::make_unique<compute_backend>(params_.backend);
    encoder_ = vision_encoder_load(params_.vision, *backend_);
    model_   = std::make_unique<lmm_model>(params_.lmm);
    if (encoder_->n_embd() != model_->n_embd()) {
        fail("mismatched model pair: %s outputs embeddings of width %d, the LLM %s expects %d", params_.vision.c_str(),
             encoder_->n_embd(), params_.lmm.model.c_str(), model_->n_embd());
    }
    session_ = std::make_unique<lmm_session>(*model_, params_.lmm);
    n_ctx_   = session_->n_ctx();
    if (ref == "sam") {
        refiner_ = std::make_unique<sam_refiner>(sam_model::load(params_.sam, *backend_), *backend_);
    } else if (ref == "region") {
        refiner_ = std::make_unique<region_refiner>();
    }
    chunker_ = std::make_unique<phrase_chunker>();

    info_ = {
        { "llm", { { "path", params_.lmm.model }, { "desc", model_->desc() }, { "lora", params_.lmm.lora } } },
        { "vision", { { "path", params_.vision }, { "desc", encoder_->name() } } },
        { "refiner", refiner_ ? json(refiner_->name()) : json("none") },
        { "sam", params_.sam.empty() ? json(nullptr) : json(params_.sam) },
        { "backend", backend_->name() },
        { "n_ctx", n_ctx_ },
    };
}

serve_engine::~serve_engine() = default;

void serve_engine::check_fits(const serve_request & r) const {
    gen_params gp = r.gen;
    gp.answer     = r.answer;
    try {
        gen_plan(*model_, gp, encoder_->grid_w() * encoder_->grid_h(), n_ctx_);
    } catch (const glm::error & e) {
        throw serve_http_error(400, strfmt("the request does not fit the model: %s", e.what()));
    }
}

// The LMM pass shared by both endpoints: generate, or teacher-force the given answer.
static attend_result run_stage1(vision_encoder & enc, lmm_model & model, lmm_session & session, int n_ctx,
                                const serve_request & r, const std::string & vision_path) {
    gen_params gp = r.gen;
    if (!r.answer.empty()) {
        gp.forced = model.tokenize(r.answer, false);
        if (gp.forced.empty()) {
            throw serve_http_error(400, "field 'answer': no tokens");
        }
        if ((int) gp.forced.size() >= n_ctx) {
            throw serve_http_error(400, strfmt("field 'answer': %zu tokens, the context holds %d", gp.forced.size(),
                                               n_ctx));
        }
    }
    attend_result att = attend_run(enc, session, r.image, gp, r.heads);
    att.vision_path   = vision_path;
    return att;
}

json serve_engine::run_ground(const serve_request & r) {
    const attend_result att = run_stage1(*encoder_, *model_, *session_, n_ctx_, r, params_.vision);
    const ground_result g   = ground(att, r.image, *chunker_, refiner_.get(), r.ground);
    json                j   = ground_to_json(g, att);
    if (r.overlay || r.html) {
        const std::vector<uint8_t> png = image_encode_png(render_overlay(r.image, g));
        const std::string          b64 = base64_encode(png.data(), png.size());
        if (r.html) {  // self-contained: the overlay is embedded as a data URL
            j["answer_html"] = render_answer_html(g, "data:image/png;base64," + b64);
        }
        if (r.overlay) {
            j["overlay_png_b64"] = b64;
        }
    }
    return j;
}

json serve_engine::run_attend(const serve_request & r) {
    const attend_result att = run_stage1(*encoder_, *model_, *session_, n_ctx_, r, params_.vision);
    json                j   = attend_to_json(att);
    const attn_maps &   m   = att.out.maps;
    json &              jm  = j["maps"];
    jm["file"]              = nullptr;  // the maps travel in this reply
    jm["shape"]             = { m.n_rows, att.grid_h, att.grid_w };
    if (r.maps == serve_maps::b64) {
        jm["encoding"]     = "base64 float32 little-endian, row-major [rows, grid.h, grid.w]";
        jm["mean"]         = base64_encode((const uint8_t *) m.mean.data(), m.mean.size() * sizeof(float));
        jm["official"]     = base64_encode((const uint8_t *) m.official.data(), m.official.size() * sizeof(float));
    } else if (r.maps == serve_maps::json) {
        jm["encoding"] = "json: one array of grid.h x grid.w floats (row-major) per output token";
        for (const char * name : { "mean", "official" }) {
            const std::vector<float> & v    = name[0] == 'm' ? m.mean : m.official;
            json                       rows = json::array();
            for (int k = 0; k < m.n_rows; ++k) {
                rows.push_back(std::vector<float>(v.begin() + (size_t) k * m.n_img, v.begin() + (size_t) (k + 1) * m.n_img));
            }
            jm[name] = std::move(rows);
        }
    } else {
        jm["encoding"] = "none";
        jm["mean"]     = nullptr;
        jm["official"] = nullptr;
    }
    jm["full"] = nullptr;
    return j;
}

serve_reply serve_engine::process(const serve_request & r) {
    const json j = r.kind == serve_kind::ground ? run_ground(r) : run_attend(r);
    // token pieces can be partial UTF-8 characters (byte-fallback tokens): invalid bytes become U+FFFD
    return { 200, j.dump(-1, ' ', false, json::error_handler_t::replace) };
}

}  // namespace glm
