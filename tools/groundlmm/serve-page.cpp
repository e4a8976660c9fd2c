#include "serve-page.h"

#include "settings.h"

#include <cstring>

extern "C" {
extern const char glm_page_html_begin[], glm_page_html_end[];
}

namespace glm {

using json = nlohmann::json;

std::string_view serve_page_html() { return { glm_page_html_begin, (size_t) (glm_page_html_end - glm_page_html_begin) }; }

// How POST /ground spells a setting of the table (serve-request.cpp reads these fields; test-serve-page checks that
// each is accepted with each of its values). Old spellings where the server kept them; choices the server accepts.
struct served_field {
    const char *             setting;
    const char *             field;
    bool                     inverted;
    std::vector<std::string> choices;  // empty: the table's type and range apply as they are
    const char *             def;      // the server's default where it differs from the table's; null = the table's
};

static const std::vector<served_field> & served_fields() {
    static const std::vector<served_field> f = {
        { "prompt", "prompt", false, {}, nullptr },
        { "n_predict", "n_predict", false, {}, nullptr },
        { "temp", "temp", false, {}, nullptr },
        { "top_k", "top_k", false, {}, nullptr },
        { "top_p", "top_p", false, {}, nullptr },
        { "seed", "seed", false, {}, nullptr },
        { "attn_heads", "attn_heads", false, { "all", "official" }, nullptr },
        { "answer", "answer", false, {}, nullptr },
        { "aspect", "aspect", false, { "pad", "original" }, "pad" },
        { "normalize", "normalize", false, {}, nullptr },
        { "remove_corner", "remove_corner", false, {}, nullptr },
        { "mask_select", "mask_index", false, { "2", "best" }, "2" },
        { "min_score", "score_thresh", false, {}, nullptr },
        { "keep_empty", "drop_empty", true, {}, nullptr },
        { "more_masks", "more_masks", false, {}, nullptr },
    };
    return f;
}

json serve_props_json(const json & models, const json & server) {
    json settings = json::array();
    for (const setting_def & d : settings_table()) {
        const json def = d.get(run_settings());
        json       e   = { { "name", d.name },
                           { "stage", d.stage == setting_stage::stage1 ? 1 : 2 },
                           { "type", setting_type_name(d.type) },
                           { "default", def },
                           { "min", d.type == setting_type::integer ? json((int64_t) d.min) : json(d.min) },
                           { "max", d.type == setting_type::integer ? json((int64_t) d.max) : json(d.max) },
                           { "choices", d.choices },
                           { "help", d.help },
                           { "field", nullptr } };
        for (const served_field & f : served_fields()) {
            if (std::strcmp(f.setting, d.name) != 0) {
                continue;
            }
            json fd = { { "name", f.field }, { "inverted", f.inverted },
                        { "choices", f.choices.empty() ? json(d.choices) : json(f.choices) } };
            if (f.def) {
                fd["default"] = f.def;
            } else if (d.type == setting_type::boolean && f.inverted) {
                fd["default"] = !def.get<bool>();
            } else {
                fd["default"] = def;
            }
            e["field"] = fd;
        }
        settings.push_back(std::move(e));
    }
    return { { "models", models }, { "settings", settings }, { "server", server } };
}

std::string serve_sse(const char * event, const std::string & data) {
    std::string s = "event: ";
    s += event;
    s += "\ndata: ";
    for (char c : data) {  // JSON text has no raw newline; keep the frame one line whatever comes
        s += c == '\n' || c == '\r' ? ' ' : c;
    }
    s += "\n\n";
    return s;
}

}  // namespace glm
