// serve-page.h: what `groundlmm serve` gives a browser: the page at GET / (web/index.html, linked into the binary by
// serve-page.S: no file, CDN or network needed), GET /props (the models, the settings table with defaults and ranges,
// and the field that sets each one over HTTP, from which the page builds its controls), and the framing of the
// text/event-stream events of POST /ground with "stream": true.
// Pure functions over constant data: thread-safe.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace glm {

// The page (HTML with its script and style inline).
std::string_view serve_page_html();

// GET /props: {"models": models, "settings": [...], "server": server}. Each settings entry is the table's
// (`groundlmm settings --json`: name, stage, type, default, min, max, choices, help; an integer setting's range as
// JSON integers) plus "field": how /ground sets
// it — {"name", "inverted", "choices" (the values the server accepts, in the table's order), "default"} — or null
// for a setting the server does not take.
nlohmann::json serve_props_json(const nlohmann::json & models, const nlohmann::json & server);

// One server-sent event: "event: <name>\ndata: <data>\n\n" (data is one line of JSON).
std::string serve_sse(const char * event, const std::string & data);

}  // namespace glm
