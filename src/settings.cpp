#include "settings.h"

#include "common.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace glm {

using json = nlohmann::json;

run_settings::run_settings() { ground = ground_default_params(); }

const char * setting_type_name(setting_type t) {
    switch (t) {
        case setting_type::integer: return "integer";
        case setting_type::number:  return "number";
        case setting_type::boolean: return "boolean";
        case setting_type::text:    return "text";
        case setting_type::choice:  return "choice";
    }
    return "?";
}

static std::vector<setting_def> build_table() {
    std::vector<setting_def> t;
    auto add = [&](setting_def d) { t.push_back(std::move(d)); };
    const setting_stage S1 = setting_stage::stage1, S2 = setting_stage::stage2;

    // ---- stage 1: the LMM run --------------------------------------------------------------------------------
    {
        setting_def d{ "prompt", setting_type::text, S1, "the question about the image" };
        d.min = 1;  // at least one byte
        d.cli_short = "-p";
        d.get = [](const run_settings & s) { return json(s.gen.prompt); };
        d.set = [](run_settings & s, const json & v) { s.gen.prompt = v.get<std::string>(); };
        add(d);
    }
    {
        setting_def d{ "template", setting_type::text, S1,
                       "prompt template: a name (llava_v1, llava_llama_3 = the official llama3-llava-next run with "
                       "its double BOS, llama3, mistral_instruct) or a text with <image> and {prompt}; empty: the "
                       "model's (its groundlmm.prompt_template, else the one matching its chat template, else "
                       "llava_v1)" };
        d.get = [](const run_settings & s) { return json(s.gen.templ); };
        d.set = [](run_settings & s, const json & v) { s.gen.templ = v.get<std::string>(); };
        add(d);
    }
    {
        setting_def d{ "n_predict", setting_type::integer, S1, "max tokens to generate", 1, 1 << 20 };
        d.cli_short = "-n";
        d.get = [](const run_settings & s) { return json(s.gen.n_predict); };
        d.set = [](run_settings & s, const json & v) { s.gen.n_predict = v.get<int>(); };
        add(d);
    }
    {
        setting_def d{ "temp", setting_type::number, S1, "sampling temperature (0 = greedy)", 0, 100 };
        d.get = [](const run_settings & s) { return json(s.gen.temp); };
        d.set = [](run_settings & s, const json & v) { s.gen.temp = v.get<float>(); };
        add(d);
    }
    {
        setting_def d{ "top_k", setting_type::integer, S1, "top-k sampling (0 = off)", 0, 1 << 20 };
        d.get = [](const run_settings & s) { return json(s.gen.top_k); };
        d.set = [](run_settings & s, const json & v) { s.gen.top_k = v.get<int>(); };
        add(d);
    }
    {
        setting_def d{ "top_p", setting_type::number, S1, "top-p sampling (1 = off)", 0, 1 };
        d.get = [](const run_settings & s) { return json(s.gen.top_p); };
        d.set = [](run_settings & s, const json & v) { s.gen.top_p = v.get<float>(); };
        add(d);
    }
    {
        setting_def d{ "seed", setting_type::integer, S1, "seed of sampling and of encoder noise (DiffLMM)", 0,
                       4294967295.0 };
        d.cli_short = "-s";
        d.get = [](const run_settings & s) { return json(s.gen.seed); };
        d.set = [](run_settings & s, const json & v) { s.gen.seed = (uint32_t) v.get<int64_t>(); };
        add(d);
    }
    {
        setting_def d{ "attn_heads", setting_type::text, S1,
                       "map used downstream: all (mean over layers and heads, the paper), official (head H-2 "
                       "averaged over layers, the released code), dump (all, and keep every layer and head), "
                       "layers:A-B (every head of layers A..B), a list of layer.head pairs (1.0,1.2) or a head-set "
                       "file (.json, from calibrate-heads); see src/head-set.h" };
        d.min = 1;
        d.get = [](const run_settings & s) {
            return json(s.heads == attn_heads::set ? s.head_sel.spec : std::string(attn_heads_name(s.heads)));
        };
        d.set = [](run_settings & s, const json & v) {
            s.head_sel        = head_set_parse(v.get<std::string>());
            s.heads           = s.head_sel.kind;
            s.ground.heads    = s.heads;
            s.ground.head_sel = s.head_sel;
        };
        add(d);
    }
    {
        setting_def d{ "map_layers", setting_type::choice, S1,
                       "layers the maps average: global (every layer whose attention sees the whole image: all but "
                       "sliding-window layers, e.g. 1 of 6 in Gemma 3; all layers elsewhere) or all" };
        d.choices = { "global", "all" };
        d.get     = [](const run_settings & s) { return json(s.gen.map_all_layers ? "all" : "global"); };
        d.set     = [](run_settings & s, const json & v) { s.gen.map_all_layers = v.get<std::string>() == "all"; };
        add(d);
    }
    {
        setting_def d{ "answer", setting_type::text, S1,
                       "ground this answer instead of generating one (teacher forcing); empty = generate" };
        d.get = [](const run_settings & s) { return json(s.gen.answer); };
        d.set = [](run_settings & s, const json & v) { s.gen.answer = v.get<std::string>(); };
        add(d);
    }

    // ---- stage 2: maps, points, masks ------------------------------------------------------------------------
    {
        setting_def d{ "aspect", setting_type::choice, S2,
                       "where the image-token grid lies on the image: auto (what the vision model's layout says), "
                       "pad (LLaVA-1.5's padded square, the official default) or original (stretched to the image)" };
        d.choices = { "auto", "pad", "original" };
        d.get = [](const run_settings & s) {
            return json(s.ground.aspect_auto ? "auto" : map_aspect_name(s.ground.maps.aspect));
        };
        d.set = [](run_settings & s, const json & v) {
            const std::string a  = v.get<std::string>();
            s.ground.aspect_auto = a == "auto";
            if (!s.ground.aspect_auto) {
                s.ground.maps.aspect = map_aspect_from_name(a);
            }
        };
        add(d);
    }
    {
        setting_def d{ "map_grid", setting_type::choice, S2,
                       "the image-token grid the maps are read from: primary (the vision model's default: LLaVA-NeXT's "
                       "unpadded high-res grid, as the official code), base (LLaVA-NeXT's squashed overview, the "
                       "official --use-base-patches), highres, image (the only grid of LLaVA-1.5 and the others)" };
        d.choices = { "primary", "base", "highres", "image" };
        d.get = [](const run_settings & s) { return json(s.ground.grid_role.empty() ? "primary" : s.ground.grid_role); };
        d.set = [](run_settings & s, const json & v) {
            const std::string g = v.get<std::string>();
            s.ground.grid_role  = g == "primary" ? "" : g;
        };
        add(d);
    }
    {
        setting_def d{ "normalize", setting_type::boolean, S2, "subtract the mean map over the output tokens" };
        d.get = [](const run_settings & s) { return json(s.ground.maps.normalize); };
        d.set = [](run_settings & s, const json & v) { s.ground.maps.normalize = v.get<bool>(); };
        add(d);
    }
    {
        setting_def d{ "remove_corner", setting_type::boolean, S2,
                       "set the 4 corner cells of every phrase map to the global minimum (official --remove-corner)" };
        d.get = [](const run_settings & s) { return json(s.ground.maps.remove_corner); };
        d.set = [](run_settings & s, const json & v) { s.ground.maps.remove_corner = v.get<bool>(); };
        add(d);
    }
    {
        setting_def d{ "mask_select", setting_type::choice, S2,
                       "SAM multimask output kept: index2 (the official code's third mask) or best (highest score)" };
        d.choices       = { "index2", "best" };
        d.value_aliases = { { "2", "index2" } };
        d.aliases       = { { "mask_index" } };
        d.get = [](const run_settings & s) { return json(mask_select_name(s.ground.select)); };
        d.set = [](run_settings & s, const json & v) { s.ground.select = mask_select_from_name(v.get<std::string>()); };
        add(d);
    }
    {
        setting_def d{ "min_score", setting_type::number, S2, "drop masks whose refiner score is below", 0, 1 };
        d.aliases = { { "score_thresh" } };
        d.get = [](const run_settings & s) { return json(s.ground.min_score); };
        d.set = [](run_settings & s, const json & v) { s.ground.min_score = v.get<float>(); };
        add(d);
    }
    {
        setting_def d{ "keep_empty", setting_type::boolean, S2,
                       "list phrases whose head noun spans no output token (no point, no mask)" };
        d.aliases = { { "drop_empty", true } };
        d.get = [](const run_settings & s) { return json(s.ground.keep_empty); };
        d.set = [](run_settings & s, const json & v) { s.ground.keep_empty = v.get<bool>(); };
        add(d);
    }
    {
        setting_def d{ "more_masks", setting_type::boolean, S2, "keep every SAM candidate mask (evaluation's --more-masks)" };
        d.get = [](const run_settings & s) { return json(s.ground.more_masks); };
        d.set = [](run_settings & s, const json & v) { s.ground.more_masks = v.get<bool>(); };
        add(d);
    }
    return t;
}

const std::vector<setting_def> & settings_table() {
    static const std::vector<setting_def> table = build_table();  // thread-safe initialisation
    return table;
}

const setting_def * settings_find(const std::string & name, bool * inverted) {
    if (inverted) {
        *inverted = false;
    }
    for (const setting_def & d : settings_table()) {
        if (name == d.name) {
            return &d;
        }
    }
    for (const setting_def & d : settings_table()) {
        for (const setting_alias & a : d.aliases) {
            if (name == a.name) {
                if (inverted) {
                    *inverted = a.invert;
                }
                return &d;
            }
        }
    }
    return nullptr;
}

// Strict decimal numbers: an optional sign, digits, an optional fraction and exponent; no hex, inf, nan or spaces.
static bool parse_decimal(const std::string & s, bool integer, double * out) {
    size_t i = 0;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
        ++i;
    }
    size_t digits = 0;
    while (i < s.size() && isdigit((unsigned char) s[i])) {
        ++i, ++digits;
    }
    if (!integer && i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && isdigit((unsigned char) s[i])) {
            ++i, ++digits;
        }
    }
    if (digits == 0) {
        return false;
    }
    if (!integer && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
            ++i;
        }
        size_t ed = 0;
        while (i < s.size() && isdigit((unsigned char) s[i])) {
            ++i, ++ed;
        }
        if (ed == 0) {
            return false;
        }
    }
    if (i != s.size()) {
        return false;
    }
    *out = strtod(s.c_str(), nullptr);
    return std::isfinite(*out);
}

static std::string range_text(const setting_def & d) {
    if (d.type == setting_type::integer) {
        return strfmt("an integer in [%.0f, %.0f]", d.min, d.max);
    }
    return strfmt("a number in [%g, %g]", d.min, d.max);
}

void settings_set(run_settings & s, const std::string & name, const json & value, const char * where) {
    bool                inverted = false;
    const setting_def * d        = settings_find(name, &inverted);
    if (!d) {
        fail("%s '%s': unknown setting", where, name.c_str());
    }
    if (strcmp(d->name, name.c_str()) != 0) {
        GLM_LOG_WARN("%s '%s' is deprecated: use '%s'%s\n", where, name.c_str(), d->name, inverted ? " (inverted)" : "");
    }
    const std::string shown = value.is_string() ? "'" + value.get<std::string>() + "'" : value.dump();
    json              v;
    switch (d->type) {
        case setting_type::integer:
        case setting_type::number: {
            const bool integer = d->type == setting_type::integer;
            double     x       = 0;
            if (value.is_number_integer() || value.is_number_unsigned()) {
                x = value.get<double>();
            } else if (value.is_number_float() && !integer) {  // 12.0 is not an integer: types are strict
                x = value.get<double>();
            } else if (!value.is_string() || !parse_decimal(value.get<std::string>(), integer, &x)) {
                fail("%s '%s': expected %s, got %s", where, name.c_str(), range_text(*d).c_str(), shown.c_str());
            }
            if (!(x >= d->min && x <= d->max)) {
                fail("%s '%s': expected %s, got %s", where, name.c_str(), range_text(*d).c_str(), shown.c_str());
            }
            v = integer ? json((int64_t) x) : json(x);
            break;
        }
        case setting_type::boolean: {
            bool b = false;
            if (value.is_boolean()) {
                b = value.get<bool>();
            } else if (value.is_number_integer() && (value.get<int64_t>() == 0 || value.get<int64_t>() == 1)) {
                b = value.get<int64_t>() == 1;
            } else if (value.is_string() && (value == "1" || value == "true")) {
                b = true;
            } else if (value.is_string() && (value == "0" || value == "false")) {
                b = false;
            } else {
                fail("%s '%s': expected true/false (or 1/0), got %s", where, name.c_str(), shown.c_str());
            }
            v = inverted ? !b : b;
            break;
        }
        case setting_type::text: {
            if (!value.is_string()) {
                fail("%s '%s': expected a string, got %s", where, name.c_str(), shown.c_str());
            }
            if (value.get<std::string>().size() < (size_t) d->min) {
                fail("%s '%s': empty", where, name.c_str());
            }
            v = value;
            break;
        }
        case setting_type::choice: {
            std::string c = value.is_string() ? value.get<std::string>()
                          : value.is_number_integer() ? std::to_string(value.get<int64_t>()) : std::string("\x01");
            for (const auto & va : d->value_aliases) {
                if (c == va.first) {
                    c = va.second;
                }
            }
            bool ok = false;
            for (const std::string & a : d->choices) {
                ok = ok || a == c;
            }
            if (!ok) {
                std::string list;
                for (const std::string & a : d->choices) {
                    list += (list.empty() ? "" : ", ") + a;
                }
                fail("%s '%s': expected one of %s, got %s", where, name.c_str(), list.c_str(), shown.c_str());
            }
            v = c;
            break;
        }
    }
    try {
        d->set(s, v);
    } catch (const error & e) {  // a value the table's type check cannot judge (a head set): name the setting
        fail("%s '%s': %s", where, name.c_str(), e.what());
    }
}

json settings_to_json(const run_settings & s) {
    json j = json::object();
    for (const setting_def & d : settings_table()) {
        j[d.name] = d.get(s);
    }
    return j;
}

json settings_to_json(const run_settings & s, setting_stage stage) {
    json j = json::object();
    for (const setting_def & d : settings_table()) {
        if (d.stage == stage) {
            j[d.name] = d.get(s);
        }
    }
    return j;
}

std::string settings_default_text(const setting_def & d) {
    const json v = d.get(run_settings());
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace glm
