#include "serve-request.h"

#include "common.h"
#include "serve-http-parse.h"
#include "settings.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>

namespace glm {

using json = nlohmann::json;

const char * serve_kind_name(serve_kind k) {
    return k == serve_kind::ground ? "ground" : k == serve_kind::attend ? "attend" : "segment";
}

[[noreturn]] static void bad(const std::string & msg) { throw serve_http_error(400, msg); }

// A printable excerpt of client text for an error message.
static std::string excerpt(const std::string & s) {
    std::string o;
    for (size_t i = 0; i < s.size() && i < 40; ++i) {
        o += (unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7F ? s[i] : '?';
    }
    return s.size() > 40 ? o + "..." : o;
}

// [-]digits, or with `real` also [-]digits[.digits][(e|E)[+|-]digits] and [-].digits: what a person types,
// never hex, inf, nan or surrounding spaces (strtod accepts all of those).
static bool is_decimal(const std::string & s, bool real) {
    size_t i = s.size() > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    size_t digits = 0;
    while (i < s.size() && isdigit((unsigned char) s[i])) {
        ++i, ++digits;
    }
    if (real && i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && isdigit((unsigned char) s[i])) {
            ++i, ++digits;
        }
    }
    if (digits == 0) {
        return false;
    }
    if (real && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
            ++i;
        }
        const size_t e0 = i;
        while (i < s.size() && isdigit((unsigned char) s[i])) {
            ++i;
        }
        if (i == e0) {
            return false;
        }
    }
    return i == s.size();
}

// One request's fields, read with the types the endpoint expects; every read marks the field as known.
class field_reader {
public:
    field_reader(const json & j, bool form) : j_(j), form_(form) {
        if (!j_.is_object()) {
            bad("the request body must be a JSON object");
        }
    }

    const json & at(const char * name) const { return j_.at(name); }
    bool         form() const { return form_; }

    // A given field; null is not "absent": a client that sends null means something we cannot guess.
    bool has(const char * name) {
        known_.insert(name);
        if (!j_.contains(name)) {
            return false;
        }
        if (j_.at(name).is_null()) {
            bad(strfmt("field '%s': null is not a value (leave the field out for its default)", name));
        }
        return true;
    }

    std::string str(const char * name, const std::string & def, size_t max_bytes) {
        if (!has(name)) {
            return def;
        }
        const json & v = j_.at(name);
        if (!v.is_string()) {
            bad(strfmt("field '%s': expected a string, got %s", name, v.type_name()));
        }
        const std::string s = v.get<std::string>();
        if (s.size() > max_bytes) {
            bad(strfmt("field '%s': %zu bytes, at most %zu", name, s.size(), max_bytes));
        }
        return s;
    }

    int64_t integer(const char * name, int64_t def, int64_t lo, int64_t hi) {
        if (!has(name)) {
            return def;
        }
        const json & v = j_.at(name);
        int64_t      x = 0;
        if (v.is_number_integer()) {
            x = v.is_number_unsigned() && v.get<uint64_t>() > (uint64_t) INT64_MAX ? INT64_MAX : v.get<int64_t>();
        } else if (v.is_string() && form_) {  // form fields are text: decimal digits only
            const std::string s = v.get<std::string>();
            char *            end = nullptr;
            errno                 = 0;
            x                     = std::strtoll(s.c_str(), &end, 10);
            if (!is_decimal(s, false) || *end != '\0' || errno == ERANGE) {
                bad(strfmt("field '%s': expected a decimal integer, got '%s'", name, excerpt(s).c_str()));
            }
        } else {
            bad(strfmt("field '%s': expected an integer, got %s", name, v.type_name()));
        }
        if (x < lo || x > hi) {
            bad(strfmt("field '%s': %lld is out of range [%lld, %lld]", name, (long long) x, (long long) lo,
                       (long long) hi));
        }
        return x;
    }

    float real(const char * name, float def, float lo, float hi) {
        if (!has(name)) {
            return def;
        }
        const json & v = j_.at(name);
        double       x = 0;
        if (v.is_number()) {
            x = v.get<double>();
        } else if (v.is_string() && form_) {  // form fields are text: a decimal number (no hex, inf or nan)
            const std::string s   = v.get<std::string>();
            char *            end = nullptr;
            x                     = std::strtod(s.c_str(), &end);
            if (!is_decimal(s, true) || *end != '\0') {
                bad(strfmt("field '%s': expected a decimal number, got '%s'", name, excerpt(s).c_str()));
            }
        } else {
            bad(strfmt("field '%s': expected a number, got %s", name, v.type_name()));
        }
        if (!std::isfinite(x) || x < lo || x > hi) {
            bad(strfmt("field '%s': %g is out of range [%g, %g]", name, x, (double) lo, (double) hi));
        }
        return (float) x;
    }

    bool flag(const char * name, bool def) {
        if (!has(name)) {
            return def;
        }
        const json & v = j_.at(name);
        if (v.is_boolean()) {
            return v.get<bool>();
        }
        if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)) {
            return v.get<int64_t>() == 1;
        }
        if (v.is_string() && form_) {
            const std::string s = v.get<std::string>();
            if (s == "1" || s == "true") {
                return true;
            }
            if (s == "0" || s == "false") {
                return false;
            }
        }
        bad(strfmt("field '%s': expected 0 or 1 (or true/false), got %s", name,
                   v.is_string() ? ("'" + excerpt(v.get<std::string>()) + "'").c_str() : v.dump().c_str()));
    }

    std::string choice(const char * name, const std::string & def, const std::vector<std::string> & allowed) {
        const std::string s = str(name, def, 64);
        for (const auto & a : allowed) {
            if (s == a) {
                return s;
            }
        }
        std::string list;
        for (const auto & a : allowed) {
            list += (list.empty() ? "" : ", ") + a;
        }
        bad(strfmt("field '%s': '%s' is not one of: %s", name, s.c_str(), list.c_str()));
    }

    // A given field's JSON value as it is; a form field's text parsed as JSON (arrays in multipart forms).
    json value(const char * name) {
        if (!has(name)) {
            return json();
        }
        const json & v = j_.at(name);
        if (v.is_string() && form_) {
            try {
                return json::parse(v.get<std::string>());
            } catch (const std::exception &) {
                bad(strfmt("field '%s': expected JSON text, got '%s'", name, excerpt(v.get<std::string>()).c_str()));
            }
        }
        return v;
    }

    // Refuses the fields no read asked for.
    void check_all_known(serve_kind kind) const {
        for (auto it = j_.begin(); it != j_.end(); ++it) {
            if (!known_.count(it.key())) {
                bad(strfmt("unknown field '%s' for /%s", it.key().c_str(), serve_kind_name(kind)));
            }
        }
    }

private:
    const json &          j_;
    bool                  form_;  // values are the text of multipart form fields
    std::set<std::string> known_;
};

static void check_image(const std::string & image, const serve_limits & limits);

// /segment: {"points": [[x, y], [x, y, label], ...], "box": [x0, y0, x1, y1], "image_hash", "mask_select",
// "more_masks"}; the image itself, or its hash from an earlier /segment reply.
static serve_request parse_segment(field_reader & f, const std::string & image, const serve_limits & limits) {
    serve_request   r;
    serve_segment & g = r.seg;
    r.kind            = serve_kind::segment;
    g.image_hash      = f.str("image_hash", "", 64);
    auto coord = [](const json & v, const char * what, size_t i, size_t k) {
        if (!v.is_number_integer() || v.get<int64_t>() < -1000000 || v.get<int64_t>() > 1000000) {
            bad(strfmt("field '%s': element %zu, value %zu must be an integer pixel coordinate, got %s", what, i, k,
                       v.dump().c_str()));
        }
        return (int) v.get<int64_t>();
    };
    const json pts = f.value("points");
    if (!pts.is_null()) {
        if (!pts.is_array() || pts.size() > 64) {
            bad("field 'points': expected an array of at most 64 points [x, y] or [x, y, label]");
        }
        for (size_t i = 0; i < pts.size(); ++i) {
            const json & p = pts[i];
            if (!p.is_array() || p.size() < 2 || p.size() > 3) {
                bad(strfmt("field 'points': element %zu must be [x, y] or [x, y, label], got %s", i, p.dump().c_str()));
            }
            refine_point rp{ coord(p[0], "points", i, 0), coord(p[1], "points", i, 1), 1 };
            if (p.size() == 3) {
                if (!p[2].is_number_integer() || (p[2].get<int64_t>() != 0 && p[2].get<int64_t>() != 1)) {
                    bad(strfmt("field 'points': element %zu: the label must be 1 (positive) or 0 (negative), got %s", i,
                               p[2].dump().c_str()));
                }
                rp.label = (int) p[2].get<int64_t>();
            }
            g.points.push_back(rp);
        }
    }
    const json box = f.value("box");
    if (!box.is_null()) {
        if (!box.is_array() || box.size() != 4) {
            bad(strfmt("field 'box': expected [x0, y0, x1, y1], got %s", box.dump().c_str()));
        }
        for (size_t k = 0; k < 4; ++k) {
            g.box[k] = coord(box[k], "box", 0, k);
        }
        if (g.box[2] <= g.box[0] || g.box[3] <= g.box[1]) {
            bad(strfmt("field 'box': [%d, %d, %d, %d] is empty (x1 > x0 and y1 > y0 expected)", g.box[0], g.box[1],
                       g.box[2], g.box[3]));
        }
        g.has_box = true;
    }
    if (g.points.empty() && !g.has_box) {
        bad("/segment needs 'points' or a 'box'");
    }
    // the settings table's mask_select (old spelling mask_index) and more_masks, as on /ground
    run_settings s;
    for (const char * name : { "mask_select", "mask_index", "more_masks" }) {
        if (f.has(name)) {
            const json & v = f.at(name);
            if (!f.form() && std::strcmp(name, "more_masks") == 0 && v.is_string()) {
                bad("field 'more_masks': expected a boolean, got a string");
            }
            try {
                settings_set(s, name, v, "field");
            } catch (const glm::error & e) {
                bad(e.what());
            }
        }
    }
    g.select   = s.ground.select;
    g.keep_all = s.ground.more_masks;
    f.check_all_known(serve_kind::segment);
    if (image.empty() && g.image_hash.empty()) {
        bad("no image: send the file ('image' or 'image_b64') or the 'image_hash' of an earlier /segment reply");
    }
    if (!image.empty() && !g.image_hash.empty()) {
        bad("give the image or its 'image_hash', not both");
    }
    if (!image.empty()) {
        check_image(image, limits);
        r.image_data = image;
    }
    return r;
}

serve_request serve_parse_request(serve_kind kind, const json & fields, const std::string & image,
                                  const serve_limits & limits, bool form) {
    field_reader  f(fields, form);
    if (kind == serve_kind::segment) {
        return parse_segment(f, image, limits);
    }
    serve_request r;
    r.kind = kind;

    // the run settings under the settings table's names (docs/settings.md; old spellings such as mask_index and
    // score_thresh are its aliases): stage 1 on both endpoints, stage 2 on /ground only
    run_settings s;
    s.gen.n_predict = std::min(s.gen.n_predict, limits.max_n_predict);
    for (const setting_def & d : settings_table()) {
        if (d.stage == setting_stage::stage2 && kind != serve_kind::ground) {
            continue;
        }
        std::vector<std::string> names = { d.name };
        for (const setting_alias & a : d.aliases) {
            names.push_back(a.name);
        }
        for (const std::string & name : names) {
            if (!f.has(name.c_str())) {
                continue;
            }
            const json & v = fields.at(name);
            // JSON bodies carry typed values; only multipart form fields are text to be read as numbers
            if (!form && v.is_string() && d.type != setting_type::text && d.type != setting_type::choice) {
                bad(strfmt("field '%s': expected a %s, got a string", name.c_str(),
                           d.type == setting_type::boolean ? "boolean" : "number"));
            }
            if (d.type == setting_type::text && v.is_string() && v.get<std::string>().size() > limits.max_text_bytes) {
                bad(strfmt("field '%s': %zu bytes, at most %zu", name.c_str(), v.get<std::string>().size(),
                           limits.max_text_bytes));
            }
            bool file_named = false;
            try {
                if (d.name == std::string("attn_heads") && v.is_string()) {  // never open a file a client names
                    file_named = !head_set_parse(v.get<std::string>(), /*read_file=*/false).file.empty();
                }
                if (!file_named) {
                    settings_set(s, name, v, "field");
                }
            } catch (const glm::error & e) {
                bad(e.what());
            }
            if (file_named) {
                bad("field 'attn_heads': head-set files are not served; give a layer range (layers:A-B) or layer.head "
                    "pairs");
            }
        }
    }
    if (s.gen.n_predict > limits.max_n_predict) {
        bad(strfmt("field 'n_predict': %d is out of range [1, %d] (the server's limit)", s.gen.n_predict,
                   limits.max_n_predict));
    }
    if (s.heads == attn_heads::dump) {
        bad("field 'attn_heads': 'dump' is not served (it keeps every layer and head; use groundlmm attend)");
    }
    if (s.heads == attn_heads::set && !s.head_sel.file.empty()) {  // a client must not make the server read its files
        bad("field 'attn_heads': head-set files are not served; give a layer range (layers:A-B) or layer.head pairs");
    }
    r.answer     = s.gen.answer;
    s.gen.answer = "";
    r.gen        = s.gen;
    r.heads      = s.heads;
    r.head_sel   = s.head_sel;
    r.ground     = s.ground;
    r.ground.heads = s.heads;
    r.ground.head_sel = s.head_sel;

    if (kind == serve_kind::ground) {
        r.overlay          = f.flag("overlay", false);
        r.html             = f.flag("html", false);
        r.stream           = f.flag("stream", false);
        r.ground.keep_maps = r.stream;  // the phrase events carry each phrase's map (the page's heat map)
    } else {
        const std::string m = f.choice("maps", "b64", { "b64", "json", "none" });
        r.maps              = m == "b64" ? serve_maps::b64 : m == "json" ? serve_maps::json : serve_maps::none;
    }
    f.check_all_known(kind);

    // the image, last: the cheap checks above answer first
    if (image.empty()) {
        bad("no image: send the file as the multipart field 'image', or base64 as the JSON field 'image_b64'");
    }
    check_image(image, limits);
    r.image_data = image;
    return r;
}

static void check_image(const std::string & image, const serve_limits & limits) {
    if (image.size() > limits.max_image_bytes) {
        throw serve_http_error(413, strfmt("image of %zu bytes, the server accepts at most %zu (--max-image-mb)",
                                           image.size(), limits.max_image_bytes));
    }
    try {  // the whole file is decoded to check it, its pixels are not kept: see serve_request_decode_image
        image_verify((const uint8_t *) image.data(), image.size(), "image", limits.max_image_pixels);
    } catch (const glm::error & e) {
        bad(e.what());
    }
}

void serve_parse_body(const std::string & content_type, std::string & body, const serve_limits & limits, json & fields,
                      std::string & image, bool & form) {
    fields = json::object();
    auto b64_image = [&](const std::string & text) {
        if (text.size() / 4 * 3 > limits.max_image_bytes + 2) {
            throw serve_http_error(413, strfmt("image_b64 of %zu characters exceeds the server's image limit of %zu "
                                               "bytes (--max-image-mb)", text.size(), limits.max_image_bytes));
        }
        image = base64_decode(text);
    };
    const std::string mt = http_media_type(content_type);
    form                 = mt == "multipart/form-data";
    if (form) {
        std::vector<multipart_part> parts;
        try {
            parts = parse_multipart(body, http_header_param(content_type, "boundary"));
        } catch (const glm::error & e) {
            throw serve_http_error(400, e.what());
        }
        body.clear();
        body.shrink_to_fit();
        for (multipart_part & p : parts) {
            if (p.name == "image" || p.name == "image_b64") {
                if (!image.empty()) {
                    throw serve_http_error(400, "the image is given more than once ('image' or 'image_b64')");
                }
                if (p.name == "image") {
                    image = std::move(p.data);
                } else {
                    b64_image(p.data);
                }
                if (image.empty()) {
                    throw serve_http_error(400, strfmt("field '%s': empty image", p.name.c_str()));
                }
            } else if (fields.contains(p.name)) {
                throw serve_http_error(400, strfmt("field '%s' given more than once", p.name.c_str()));
            } else {
                fields[p.name] = std::move(p.data);
            }
        }
        return;
    }
    try {
        fields = json::parse(body);
    } catch (const json::exception & e) {
        throw serve_http_error(400, strfmt("invalid JSON body: %s", e.what()));
    }
    body.clear();
    body.shrink_to_fit();
    if (!fields.is_object()) {
        throw serve_http_error(400, strfmt("the JSON body must be an object, got %s", fields.type_name()));
    }
    if (fields.contains("image")) {
        throw serve_http_error(400, "JSON bodies carry the image as base64 in 'image_b64' (the field 'image' is for "
                                    "multipart forms)");
    }
    if (fields.contains("image_b64")) {
        if (!fields["image_b64"].is_string()) {
            throw serve_http_error(400, strfmt("field 'image_b64': expected a base64 string, got %s",
                                               fields["image_b64"].type_name()));
        }
        b64_image(fields["image_b64"].get_ref<const std::string &>());
        fields.erase("image_b64");
    }
}

void serve_request_decode_image(serve_request & r, const serve_limits & limits) {
    if (!r.image.empty() || r.image_data.empty()) {
        return;
    }
    try {
        r.image = image_decode((const uint8_t *) r.image_data.data(), r.image_data.size(), "image",
                               limits.max_image_pixels);
    } catch (const glm::error & e) {
        bad(e.what());
    }
    r.image_data.clear();
    r.image_data.shrink_to_fit();
}

static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const uint8_t * d, size_t n) {
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        const uint32_t v = (uint32_t) d[i] << 16 | (uint32_t) d[i + 1] << 8 | d[i + 2];
        out += k_b64[v >> 18];
        out += k_b64[(v >> 12) & 63];
        out += k_b64[(v >> 6) & 63];
        out += k_b64[v & 63];
    }
    if (i < n) {
        const uint32_t v = (uint32_t) d[i] << 16 | (i + 1 < n ? (uint32_t) d[i + 1] << 8 : 0);
        out += k_b64[v >> 18];
        out += k_b64[(v >> 12) & 63];
        out += i + 1 < n ? k_b64[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string base64_decode(const std::string & text) {
    size_t begin = 0;
    if (text.compare(0, 5, "data:") == 0) {
        const size_t comma = text.find(',');
        if (comma == std::string::npos || comma < 12 || text.compare(comma - 7, 7, ";base64") != 0) {
            bad("image_b64: a data: URL must be ';base64,'-encoded");
        }
        begin = comma + 1;
    }
    int8_t val[256];
    std::fill(val, val + 256, (int8_t) -1);
    for (int i = 0; i < 64; ++i) {
        val[(uint8_t) k_b64[i]] = (int8_t) i;
    }
    std::string out;
    out.reserve((text.size() - begin) / 4 * 3);
    uint32_t acc = 0;
    int      n = 0, pad = 0;
    size_t   n_chars = 0;
    for (size_t i = begin; i < text.size(); ++i) {
        const uint8_t c = (uint8_t) text[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        }
        ++n_chars;
        if (c == '=') {
            ++pad;
            continue;
        }
        if (val[c] < 0 || pad > 0) {
            bad(strfmt("image_b64: invalid base64 character at offset %zu", i));
        }
        acc = acc << 6 | (uint32_t) val[c];
        if (++n == 4) {
            out += (char) (acc >> 16);
            out += (char) (acc >> 8);
            out += (char) acc;
            acc = 0;
            n   = 0;
        }
    }
    if (n_chars % 4 != 0 || pad > 2 || (pad > 0 && n + pad != 4)) {
        bad("image_b64: truncated base64 (length not a multiple of 4, or bad padding)");
    }
    if (n == 2) {
        out += (char) (acc >> 4);
    } else if (n == 3) {
        out += (char) (acc >> 10);
        out += (char) (acc >> 2);
    }
    return out;
}

}  // namespace glm
