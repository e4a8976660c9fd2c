#include "serve-engine.h"

#include "serve-chips.h"

#include "attend.h"
#include "common.h"
#include "ground.h"
#include "outputs.h"

namespace glm {

using json = nlohmann::json;

serve_engine::serve_engine(const serve_model_params & params) : params_(params) {
    if (params_.model.llm.empty() || params_.model.vision.empty()) {
        fail("serve: give the LLM (-m) and the vision model (--mmproj)");
    }
    auto model = pipeline_model::load(params_.model);
    model->preload();  // every file is checked before the server listens
    pipeline_ = std::make_unique<pipeline>(model, params_.context);
    n_ctx_    = pipeline_->n_ctx();
    n_img_    = model->n_image_tokens();
    info_     = model->info();
    info_["n_ctx"] = n_ctx_;
    if (!(params_.segment_cache_mb >= 0) || params_.segment_cache_entries < 0) {
        fail("serve: the /segment cache size must be >= 0 (got %g MiB, %d images)", params_.segment_cache_mb,
             params_.segment_cache_entries);
    }
    segment_ = std::make_unique<serve_segmenter>(*pipeline_, (size_t) (params_.segment_cache_mb * 1048576.0),
                                                 (size_t) params_.segment_cache_entries);
}

serve_engine::~serve_engine() = default;

void serve_engine::check_fits(const serve_request & r) const {
    if (r.kind == serve_kind::segment) {
        return;  // no LLM
    }
    gen_params gp = r.gen;
    gp.answer     = r.answer;
    try {
        gen_plan(pipeline_->model().llm(), gp, n_img_, n_ctx_);
    } catch (const glm::error & e) {
        throw serve_http_error(400, strfmt("the request does not fit the model: %s", e.what()));
    }
}

// The LMM pass shared by both endpoints: generate, or teacher-force the given answer. `chips` (streamed /ground):
// each token also goes to the early phrase chips (serve-chips.h).
static attend_result run_stage1(pipeline & p, int n_ctx, const serve_request & r, serve_chip_stream * chips = nullptr) {
    run_settings s;
    s.gen      = r.gen;
    s.heads    = r.heads;
    s.head_sel = r.head_sel;
    if (r.emit) {  // streaming: each generated (or teacher-forced) token as it comes
        s.gen.on_token = [&r, chips](const gen_token & t, int k) {
            const json e = { { "k", k }, { "text", t.text }, { "eog", t.eog } };
            r.emit("token", e.dump(-1, ' ', false, json::error_handler_t::replace));
            if (chips) {
                chips->add(t, k);
            }
            return true;
        };
    }
    if (!r.answer.empty()) {
        const size_t n = p.model().llm().tokenize(r.answer, false).size();
        if (n == 0) {
            throw serve_http_error(400, "field 'answer': no tokens");
        }
        if ((int) n >= n_ctx) {
            throw serve_http_error(400, strfmt("field 'answer': %zu tokens, the context holds %d", n, n_ctx));
        }
        s.gen.answer = r.answer;
    }
    attend_result att = p.attend(r.image, s);
    if (chips) {
        chips->finish();
    }
    return att;
}

// Streaming, from stage 2's per-phrase hook (ground_params::on_phrase): a phrase event per phrase as soon as every
// point is known (result.json's entry without its masks, plus its map over the grid for the heat map), before the
// refiner encodes the image; then a mask event per phrase that gets a mask, as each is computed. The phrases were
// announced earlier as chip events, sentence by sentence during generation (serve-chips.h).
static void emit_phrase(const serve_request & r, const ground_phrase & p, int index, bool refined, int grid_w,
                        int grid_h) {
    const json entry = ground_phrase_to_json(p);
    if (!refined) {
        json e = entry;
        e.erase("mask");
        e.erase("all_masks");
        e["index"] = index;
        e["grid"]  = { { "w", grid_w }, { "h", grid_h } };
        e["map"]   = p.grid;  // [grid.h * grid.w], row-major; empty for a phrase without tokens
        r.emit("phrase", e.dump(-1, ' ', false, json::error_handler_t::replace));
        return;
    }
    if (!p.has_mask) {
        return;
    }
    json e = { { "index", index }, { "mask", entry["mask"] } };
    for (const char * k : { "score", "mask_index", "all_masks", "all_scores" }) {
        if (entry.contains(k)) {
            e[k] = entry[k];
        }
    }
    r.emit("mask", e.dump(-1, ' ', false, json::error_handler_t::replace));
}

json serve_engine::run_ground(const serve_request & r) {
    std::unique_ptr<serve_chip_stream> chips;
    if (r.emit) {
        chips = std::make_unique<serve_chip_stream>(pipeline_->model().chunker(),
                                                    [&r](const std::string & e) { r.emit("chip", e); });
    }
    const attend_result att = run_stage1(*pipeline_, n_ctx_, r, chips.get());
    if (r.emit) {  // the per-token maps (the heads the request chose), for the page's token scrubber
        const attn_maps &          m = att.out.maps;
        const std::vector<float> & v = r.heads == attn_heads::official ? m.official : m.mean;
        const json e = { { "rows", m.n_rows }, { "grid", { { "w", att.grid_w }, { "h", att.grid_h } } },
                         { "heads", attn_heads_name(r.heads) },
                         { "encoding", "base64 float32 little-endian, row-major [rows, grid.h, grid.w]" },
                         { "maps", base64_encode((const uint8_t *) v.data(), v.size() * sizeof(float)) } };
        r.emit("maps", e.dump());
    }
    run_settings        s;
    s.heads             = r.heads;
    s.head_sel          = r.head_sel;
    s.ground            = r.ground;
    if (r.emit) {
        s.ground.on_phrase = [&r](const ground_result & so_far, int index, bool refined) {
            emit_phrase(r, so_far.phrases[(size_t) index], index, refined, so_far.grid_w, so_far.grid_h);
        };
    }
    const ground_result g = pipeline_->ground(att, r.image, s);
    json                j = ground_to_json(g, att);
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
    const attend_result att = run_stage1(*pipeline_, n_ctx_, r);
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

serve_reply serve_engine::process(const serve_request & r, const std::function<bool()> & keep_going) {
    struct progress_guard {  // the pipeline asks keep_going during this request only, and keeps no image after it
        pipeline & p;
        ~progress_guard() {
            p.set_progress(nullptr);
            p.clear_cache();  // a waiting job must not find the last client's full-size image still resident
        }
    } guard{ *pipeline_ };
    if (keep_going) {
        pipeline_->set_progress([&keep_going](const char *, float) { return keep_going(); });
    }
    const json j = r.kind == serve_kind::ground ? run_ground(r) : r.kind == serve_kind::attend ? run_attend(r)
                                                                                               : segment_->run(r);
    // token pieces can be partial UTF-8 characters (byte-fallback tokens): invalid bytes become U+FFFD
    return { 200, j.dump(-1, ' ', false, json::error_handler_t::replace) };
}

}  // namespace glm
