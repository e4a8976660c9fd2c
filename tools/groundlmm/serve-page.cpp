#include "serve-page.h"

#include "settings.h"

#include <cstring>

extern "C" {
extern const char glm_page_html_begin[], glm_page_html_end[];
}

namespace glm {

using json = nlohmann::json;

std::string_view serve_page_html() { return { glm_page_html_begin, (size_t) (glm_page_html_end - glm_page_html_begin) }; }

// The choices the server offers where they are narrower than the table's (attn_heads: no dump, and head sets are
// typed as text, not offered as a menu).
static std::vector<std::string> served_choices(const setting_def & d) {
    if (std::strcmp(d.name, "attn_heads") == 0) {
        return { "all", "official" };
    }
    return d.choices;
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
        // POST /ground reads every setting of the table under its own name (serve-request.cpp)
        e["field"] = { { "name", d.name }, { "inverted", false }, { "choices", served_choices(d) }, { "default", def } };
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
