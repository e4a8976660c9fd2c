// groundlmm settings: the one settings table (src/settings.cpp) as markdown or JSON: each setting's name (the server's
// JSON field and the C API's field), its command-line option, type, default, range or values, old spellings and help.
// docs/settings.md is this command's output (a CTest test keeps them equal).
#include "cli-common.h"
#include "common.h"

#include <cstdio>

static std::string option_of(const std::string & name) {
    std::string f = "--" + name;
    for (char & c : f) {
        c = c == '_' ? '-' : c;
    }
    return f;
}

int cmd_settings(int argc, char ** argv) {
    CLI::App app("The run settings: one name for the CLI, the server, the C API, result.json and eval manifests", argv[0]);
    bool     as_json = false;
    app.add_flag("--json", as_json, "JSON instead of markdown");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    nlohmann::json js = nlohmann::json::array();
    std::string    md =
        "# Run settings\n\n"
        "One table (`src/settings.cpp`) gives every setting one name: the server's JSON field and the C API's field "
        "are the name, the command-line option is `--name-with-dashes` (booleans also `--no-name`), and result.json's "
        "`settings` and the evaluation manifests use the same names and values. Old spellings are accepted and log a "
        "deprecation note. Made by `groundlmm settings`.\n\n"
        "| name | option | stage | type | default | values | old spellings | what |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
    for (const glm::setting_def & d : glm::settings_table()) {
        std::string values;
        if (d.type == glm::setting_type::integer) {
            values = glm::strfmt("%.0f .. %.0f", d.min, d.max);
        } else if (d.type == glm::setting_type::number) {
            values = glm::strfmt("%g .. %g", d.min, d.max);
        } else if (d.type == glm::setting_type::choice) {
            for (const std::string & c : d.choices) {
                values += (values.empty() ? "" : ", ") + std::string("`") + c + "`";
            }
            for (const auto & va : d.value_aliases) {
                values += ", `" + va.first + "` (= `" + va.second + "`)";
            }
        } else if (d.type == glm::setting_type::boolean) {
            values = "true, false";
        } else {
            values = d.min > 0 ? "non-empty text" : "text";
        }
        std::string aliases;
        for (const glm::setting_alias & a : d.aliases) {
            aliases += (aliases.empty() ? "" : ", ") + std::string("`") + a.name + "`" + (a.invert ? " (inverted)" : "");
        }
        std::string opt = "`" + option_of(d.name) + "`";
        if (d.cli_short) {
            opt = "`" + std::string(d.cli_short) + "`, " + opt;
        }
        if (d.type == glm::setting_type::boolean) {
            opt += ", `--no-" + option_of(d.name).substr(2) + "`";
        }
        const std::string def   = glm::settings_default_text(d);
        std::string       help;  // markdown: <image> is not an HTML tag
        for (const char * c = d.help; *c; ++c) {
            help += *c == '<' ? std::string("&lt;") : *c == '>' ? std::string("&gt;") : std::string(1, *c);
        }
        const char *      stage = d.stage == glm::setting_stage::stage1 ? "1" : "2";
        md += glm::strfmt("| `%s` | %s | %s | %s | `%s` | %s | %s | %s |\n", d.name, opt.c_str(), stage,
                          glm::setting_type_name(d.type), def.c_str(), values.c_str(), aliases.c_str(), help.c_str());
        nlohmann::json a = nlohmann::json::array();
        for (const glm::setting_alias & al : d.aliases) {
            a.push_back({ { "name", al.name }, { "inverted", al.invert } });
        }
        js.push_back({ { "name", d.name }, { "stage", std::stoi(stage) }, { "type", glm::setting_type_name(d.type) },
                       { "default", d.get(glm::run_settings()) }, { "min", d.min }, { "max", d.max },
                       { "choices", d.choices }, { "aliases", a }, { "help", d.help } });
    }
    printf("%s", as_json ? (js.dump(2) + "\n").c_str() : md.c_str());
    return 0;
}
