// settings.h: the one table of run settings (stage 1: prompt and generation; stage 2: maps, points, masks), from
// which every front-end derives its spelling: the CLI options (--name-with-dashes), the server's JSON fields and the
// C API (names as below), result.json's "settings" and the evaluation manifests. One name per setting everywhere;
// old spellings stay accepted as aliases and log a deprecation note.
//
// A run_settings value holds the typed settings; settings_set() is the only way a front-end writes one by name:
// it checks the type (strictly: "0x10" is not a number, 2.5 is not an integer), the range or the allowed values,
// and throws glm::error naming the setting, what was expected and what was given.
//
// Thread safety: the table is immutable (built on first use, thread-safe); run_settings is a plain value.
#pragma once

#include "attend.h"
#include "ground.h"
#include "lmm.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace glm {

// Every user setting of one attend-and-segment run.
struct run_settings {
    gen_params    gen;                      // prompt, template, n_predict, sampling, seed, answer (teacher forcing)
    attn_heads    heads = attn_heads::all;  // which map (dump: also keep every layer and head; set: head_sel)
    head_set      head_sel;                 // the attn_heads setting parsed (head-set.h); ground.head_sel follows it
    ground_params ground;                   // stage 2; ground.heads follows heads

    run_settings();
};

enum class setting_type { integer, number, boolean, text, choice };
enum class setting_stage { stage1, stage2 };

const char * setting_type_name(setting_type t);

struct setting_alias {
    const char * name;            // old spelling (CLI without dashes: "mask_index" is also --mask-index)
    bool         invert = false;  // a boolean alias meaning the opposite ("drop_empty" = !keep_empty)
};

struct setting_def {
    const char *                name;      // canonical, snake_case
    setting_type                type;
    setting_stage               stage;
    const char *                help;
    double                      min = 0, max = 0;           // integer / number range (inclusive)
    std::vector<std::string>    choices;                    // choice: the allowed values (first = canonical)
    std::vector<std::pair<std::string, std::string>> value_aliases;  // choice: accepted spelling -> canonical
    std::vector<setting_alias>  aliases;
    const char *                cli_short = nullptr;        // "-p", "-n", "-s" (the llama.cpp conventions)
    std::function<nlohmann::json(const run_settings &)>        get;
    std::function<void(run_settings &, const nlohmann::json &)> set;  // value already checked and canonical
};

// The table, in a stable order (stage 1 first).
const std::vector<setting_def> & settings_table();

// The definition for a name or an alias (*inverted set for an inverting alias); null when unknown.
const setting_def * settings_find(const std::string & name, bool * inverted = nullptr);

// Sets one setting from a JSON value (numbers, booleans and strings; a string is parsed strictly as the setting's
// type, as multipart form fields and the command line give them). `where` prefixes errors ("field", "--option").
void settings_set(run_settings & s, const std::string & name, const nlohmann::json & value, const char * where = "setting");

// The settings as a JSON object {name: value}, canonical names and values; stage filter optional.
nlohmann::json settings_to_json(const run_settings & s);
nlohmann::json settings_to_json(const run_settings & s, setting_stage stage);

// The JSON text of a setting's default (for help texts).
std::string settings_default_text(const setting_def & d);

}  // namespace glm
