// eval/vqa-mmbench.cpp: MMBench's TSV, LLaVA-1.5's prompt, and VLMEvalKit's circular evaluation with exact matching
// (see vqa-mmbench.h).
#include "eval/vqa-mmbench.h"

#include "common.h"
#include "eval/vqa-score.h"
#include "eval/vqa-text.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>

namespace glm {

using json = nlohmann::json;

// ---- the TSV, as pandas.read_table reads it ----

// pandas' default missing-value strings (read_csv na_values)
static bool pandas_na(const std::string & s) {
    static const std::set<std::string> na = { "",     "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN",
                                              "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN",
                                              "None", "n/a",  "nan",  "null" };
    return na.count(s) > 0;
}

static bool looks_numeric(const std::string & s) {
    if (s.empty()) {
        return false;
    }
    char *       end = nullptr;
    const char * b   = s.c_str();
    strtod(b, &end);
    return end == b + s.size();
}

// Splits a TSV into records of fields: tab-separated, a field starting with '"' is quoted ("" inside is one '"',
// tabs and newlines inside are kept), "\r\n" or "\n" ends a record. `lines` gets each record's first line.
static std::vector<std::vector<std::string>> parse_tsv(const std::string & text, const std::string & path,
                                                      std::vector<int64_t> & lines) {
    std::vector<std::vector<std::string>> recs;
    std::vector<std::string>              rec;
    std::string                           field;
    int64_t                               line = 1, rec_line = 1;
    size_t                                i    = 0;
    const size_t                          n    = text.size();
    while (i < n) {
        // one field
        field.clear();
        if (text[i] == '"') {
            ++i;
            for (;;) {
                if (i >= n) {
                    fail("%s:%lld: a quoted field is not closed", path.c_str(), (long long) rec_line);
                }
                if (text[i] == '"') {
                    if (i + 1 < n && text[i + 1] == '"') {
                        field.push_back('"');
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                if (text[i] == '\n') {
                    ++line;
                }
                field.push_back(text[i++]);
            }
        }
        while (i < n && text[i] != '\t' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
            field.push_back(text[i++]);
        }
        rec.push_back(field);
        if (i < n && text[i] == '\t') {
            ++i;
            continue;
        }
        // end of record
        if (i < n) {
            i += text[i] == '\r' ? 2 : 1;
        }
        if (!(rec.size() == 1 && rec[0].empty())) {  // pandas skips blank lines
            recs.push_back(rec);
            lines.push_back(rec_line);
        }
        rec.clear();
        ++line;
        rec_line = line;
    }
    return recs;
}

mmbench_table mmbench_read_tsv(const std::string & path) {
    const std::vector<uint8_t> bytes = read_file(path);
    std::vector<int64_t>       lines;
    const auto recs = parse_tsv(std::string(bytes.begin(), bytes.end()), path, lines);
    if (recs.empty()) {
        fail("%s: empty (expected MMBench's TSV with a header line)", path.c_str());
    }
    const auto &          head = recs[0];
    std::map<std::string, size_t> col;
    for (size_t c = 0; c < head.size(); ++c) {
        col[head[c]] = c;
    }
    for (const char * need : { "index", "question" }) {
        if (!col.count(need)) {
            fail("%s: no \"%s\" column (expected MMBench's TSV: index, question, hint, A, B, C, D, answer, ...)",
                 path.c_str(), need);
        }
    }
    mmbench_table t;
    t.header          = head;
    t.has_answer      = col.count("answer") > 0;
    t.has_split       = col.count("split") > 0;
    t.has_category    = col.count("category") > 0;
    t.has_l2_category = col.count("l2-category") > 0;
    std::vector<char> letters;
    for (char ch = 'A'; ch <= 'Z'; ++ch) {
        if (col.count(std::string(1, ch))) {
            letters.push_back(ch);
        }
    }
    std::set<int64_t> seen;
    for (size_t r = 1; r < recs.size(); ++r) {
        const auto & f = recs[r];
        if (f.size() != head.size()) {
            fail("%s:%lld: %zu fields, the header has %zu", path.c_str(), (long long) lines[r], f.size(), head.size());
        }
        auto cell = [&](const char * name, std::string * out) {
            const auto it = col.find(name);
            if (it == col.end() || pandas_na(f[it->second])) {
                return false;
            }
            *out = f[it->second];
            return true;
        };
        t.cells.push_back(f);
        for (const auto & x : f) {
            t.na.push_back(pandas_na(x));
        }
        mmbench_row row;
        row.line = lines[r];
        std::string idx;
        char *      end = nullptr;
        if (!cell("index", &idx) || (row.index = strtoll(idx.c_str(), &end, 10), *end != '\0')) {
            fail("%s:%lld: index must be an integer, got \"%s\"", path.c_str(), (long long) row.line, idx.c_str());
        }
        if (!seen.insert(row.index).second) {
            fail("%s:%lld: index %lld again", path.c_str(), (long long) row.line, (long long) row.index);
        }
        cell("question", &row.question);
        row.has_hint   = cell("hint", &row.hint);
        row.has_answer = cell("answer", &row.answer);
        cell("category", &row.category);
        cell("l2-category", &row.l2_category);
        if (!cell("split", &row.split)) {
            row.split = t.has_split ? "nan" : "none";
        }
        cell("image", &row.image_base64);
        bool gap = false;
        for (char ch : letters) {
            std::string v;
            if (cell(std::string(1, ch).c_str(), &v)) {
                row.choices[ch] = v;
                if (ch <= 'D' && !gap) {
                    row.options.push_back(v);
                }
            } else if (ch <= 'D') {
                gap = true;
            }
        }
        t.rows.push_back(std::move(row));
    }
    for (size_t c = 0; c < head.size(); ++c) {
        bool any = false, all_num = true;
        for (size_t r = 0; r < t.cells.size(); ++r) {
            if (!t.na[r * head.size() + c]) {
                any     = true;
                all_num = all_num && looks_numeric(t.cells[r][c]);
            }
        }
        t.numeric.push_back(any && all_num);
    }
    // pandas reads a column whose every present cell is a number as numbers; their text would be Python's repr
    for (char ch : letters) {
        bool any = false, all_num = true;
        for (const auto & row : t.rows) {
            const auto it = row.choices.find(ch);
            if (it != row.choices.end()) {
                any = true;
                all_num = all_num && looks_numeric(it->second);
            }
        }
        if (any && all_num) {
            fail("%s: option column %c holds only numbers, which pandas reads as floats (not modelled here)",
                 path.c_str(), ch);
        }
    }
    return t;
}

static const std::set<std::string> k_mmb_dropped = { "hint", "category", "source", "image", "comment", "l2-category" };

bool mmbench_submission_possible(const mmbench_table & t, std::string * missing) {
    for (const auto & d : k_mmb_dropped) {
        if (std::find(t.header.begin(), t.header.end(), d) == t.header.end()) {
            if (missing) {
                *missing = d;
            }
            return false;
        }
    }
    return t.header.size() >= k_mmb_dropped.size() + 6;
}

json mmbench_submission_table(const mmbench_table & t, const std::map<int64_t, std::string> & predictions,
                              const std::string & path) {
    const auto & dropped = k_mmb_dropped;
    std::string  missing;
    if (!mmbench_submission_possible(t, &missing)) {
        fail("%s: %s; LLaVA's submission converter needs an MMBench TSV (hint, category, source, image, comment, "
             "l2-category and at least 6 other columns)",
             path.c_str(), missing.empty() ? "too few columns" : ("no \"" + missing + "\" column").c_str());
    }
    std::vector<size_t> keep;
    for (size_t c = 0; c < t.header.size(); ++c) {
        if (!dropped.count(t.header[c])) {
            keep.push_back(c);
        }
    }
    if (keep.size() < 6) {
        fail("%s: %zu columns left after dropping; the converter inserts \"prediction\" as the 7th", path.c_str(),
             keep.size());
    }
    json head = json::array();
    for (size_t k = 0; k < keep.size(); ++k) {
        if (k == 6) {
            head.push_back("prediction");
        }
        head.push_back(t.header[keep[k]]);
    }
    json rows = json::array({ head });
    for (size_t r = 0; r < t.cells.size(); ++r) {
        json row = json::array();
        for (size_t k = 0; k < keep.size(); ++k) {
            if (k == 6) {
                const auto it = predictions.find(t.rows[r].index);
                // no answer, or an empty one: an empty cell (what pandas reads back from the converter's .xlsx)
                row.push_back(it == predictions.end() || it->second.empty() ? json(nullptr) : json(it->second));
            }
            const size_t       c = keep[k];
            const std::string & v = t.cells[r][c];
            if (t.na[r * t.header.size() + c]) {
                row.push_back(nullptr);
            } else if (t.numeric[c]) {
                char *          end = nullptr;
                const long long i   = strtoll(v.c_str(), &end, 10);
                row.push_back(*end == '\0' ? json(i) : json(strtod(v.c_str(), nullptr)));
            } else {
                row.push_back(v);
            }
        }
        rows.push_back(row);
    }
    return rows;
}

// ---- LLaVA-1.5's prompt ----

std::string mmbench_question_text(const mmbench_row & r) {
    // is_none() of model_vqa_mmbench.py also takes the strings 'nan' and 'none' in any case as missing
    auto is_none = [](const std::string & s) {
        const std::string l = py_lower(s);
        return l == "nan" || l == "none";
    };
    std::string q = r.question;
    if (r.has_hint && !is_none(r.hint)) {
        q = r.hint + "\n" + q;
    }
    static const char * letters = "ABCD";
    for (size_t i = 0; i < r.options.size() && i < 4; ++i) {
        if (is_none(r.options[i])) {
            break;
        }
        q += std::string("\n") + letters[i] + ". " + r.options[i];
    }
    return q;
}

vqa_prompt mmbench_make_prompt(const mmbench_row & r) {
    vqa_prompt p;
    p.templ          = k_vqa_template_vicuna_v1;
    p.answer_prompt  = mmbench_question_text(r);
    p.user_text      = p.answer_prompt + "\nAnswer with the option's letter from the given choices directly.";
    p.max_new_tokens = 1024;
    return p;
}

// ---- can_infer (VLMEvalKit vlmeval/utils/matching_util.py) ----

static bool contains(const std::u32string & s, const std::u32string & sub) { return s.find(sub) != std::u32string::npos; }

// (?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**, searched: the letter of the first "answer is X" (0 when none).
static char verbose_answer(const std::u32string & a) {
    auto lower_ascii = [](uint32_t c) { return c >= U'A' && c <= U'Z' ? c + 32 : c; };
    auto word_at     = [&](size_t i, const char32_t * w) {
        for (size_t k = 0; w[k]; ++k) {
            if (i + k >= a.size() || lower_ascii(a[i + k]) != (uint32_t) w[k]) {
                return false;
            }
        }
        return true;
    };
    for (size_t i = 0; i < a.size(); ++i) {
        if (!word_at(i, U"answer")) {
            continue;
        }
        size_t j = i + 6, k;
        for (k = j; k < a.size() && py_isspace(a[k]); ++k) {
        }
        if (k == j || !word_at(k, U"is")) {
            continue;
        }
        j = k + 2;
        for (k = j; k < a.size() && py_isspace(a[k]); ++k) {
        }
        if (k == j) {
            continue;
        }
        while (k < a.size() && a[k] == U'*') {
            ++k;
        }
        if (k < a.size()) {
            const uint32_t c = lower_ascii(a[k]);
            if (c >= U'a' && c <= U'd') {
                return (char) (c - 32);
            }
        }
    }
    return 0;
}

static std::string can_infer_option(const std::string & answer, const std::map<char, std::string> & choices) {
    if (answer.find("Failed to obtain answer via API") != std::string::npos) {
        return "";
    }
    for (const char * err : { "Sorry, I can't help with images of people yet.", "I can't process this file.",
                              "I'm sorry, but without the image provided", "Cannot determine the answer" }) {
        if (answer.find(err) != std::string::npos) {
            return "Z";
        }
    }
    std::u32string mod = utf8_decode(answer, "answer");
    for (auto & c : mod) {
        if (std::u32string(U".()[],:;!*#{}").find(c) != std::u32string::npos) {
            c = U' ';
        }
    }
    std::vector<std::string> splits;
    {
        size_t i = 0;
        while (i < mod.size()) {
            while (i < mod.size() && py_isspace(mod[i])) {
                ++i;
            }
            size_t j = i;
            while (j < mod.size() && !py_isspace(mod[j])) {
                ++j;
            }
            if (j > i) {
                splits.push_back(utf8_encode(mod.substr(i, j - i)));
            }
            i = j;
        }
    }
    auto index_of = [&](const std::string & w) -> long {
        for (size_t k = 0; k < splits.size(); ++k) {
            if (splits[k] == w) {
                return (long) k;
            }
        }
        return -1;
    };
    int count = 0;
    for (const auto & c : choices) {
        count += index_of(std::string(1, c.first)) >= 0;
    }
    if (count == 1) {
        for (const auto & c : choices) {
            const long at = index_of(std::string(1, c.first));
            if (at >= 0 && at > (long) splits.size() - 5) {
                return std::string(1, c.first);
            }
        }
    } else if (count == 0 && index_of("Z") >= 0) {
        return "Z";
    }
    const char v = verbose_answer(utf8_decode(answer, "answer"));
    if (v && choices.count(v)) {
        return std::string(1, v);
    }
    return "";
}

static std::string can_infer_text(const std::string & answer, const std::map<char, std::string> & choices) {
    const std::u32string a     = utf8_decode(py_lower(answer), "answer");
    size_t               total = 0;
    for (const auto & c : choices) {
        total += utf8_decode(c.second, "option").size();
    }
    if (a.size() > 2 * total) {
        return "";
    }
    std::string cand;
    int         n = 0;
    for (const auto & c : choices) {
        if (contains(a, utf8_decode(py_lower(c.second), "option"))) {
            ++n;
            cand = std::string(1, c.first);
        }
    }
    return n == 1 ? cand : "";
}

std::string mmbench_can_infer(const std::string & answer, const std::map<char, std::string> & choices) {
    const std::string o = can_infer_option(answer, choices);
    return o.empty() ? can_infer_text(answer, choices) : o;
}

// ---- the circular evaluation ----

static const char * mmb_abbr(const std::string & l2) {
    static const std::map<std::string, const char *> m = {
        { "coarse_perception", "CP" },        { "finegrained_perception (instance-level)", "FP-S" },
        { "finegrained_perception (cross-instance)", "FP-C" }, { "logic_reasoning", "LR" },
        { "relation_reasoning", "RR" },       { "attribute_reasoning", "AR" },
    };
    const auto it = m.find(l2);
    return it == m.end() ? nullptr : it->second;
}

vqa_score_result vqa_score_mmbench(const std::vector<vqa_answer> & answers, const vqa_score_params & p) {
    if (p.gt_path.empty()) {
        fail("mmbench: give --gt, MMBench's dev TSV (mmbench_dev_20230712.tsv)");
    }
    const mmbench_table              t = mmbench_read_tsv(p.gt_path);
    std::map<int64_t, const mmbench_row *> by_index;
    for (const auto & r : t.rows) {
        by_index[r.index] = &r;
    }
    std::map<int64_t, std::string> pred;
    for (const auto & a : answers) {
        if (!a.question_id.is_number_integer() || !by_index.count(a.question_id.get<int64_t>())) {
            fail("%s:%lld: question_id %s is not an index of %s", p.pred_path.c_str(), (long long) a.line,
                 a.key.c_str(), p.gt_path.c_str());
        }
        pred[a.question_id.get<int64_t>()] = a.text;
    }
    vqa_score_result res;
    std::string missing;
    if (mmbench_submission_possible(t, &missing)) {
        res.submission = mmbench_submission_table(t, pred, p.gt_path);
    } else {
        GLM_LOG_INFO("vqa-score mmbench: no submission file: %s has no \"%s\" column\n", p.gt_path.c_str(),
                     missing.c_str());
    }
    if (!t.has_answer) {  // the test split: the submission only
        res.metrics = json{ { "bench", "mmbench" }, { "n_rows", (int64_t) t.rows.size() },
                            { "n_answers", (int64_t) pred.size() }, { "scored", false } };
        return res;
    }
    for (const auto & r : t.rows) {
        if (!pred.count(r.index)) {
            fail("mmbench: index %lld (%s:%lld) has no answer in %s; the circular evaluation needs every rotated copy",
                 (long long) r.index, p.gt_path.c_str(), (long long) r.line, p.pred_path.c_str());
        }
    }
    // per row: the inferred letter; per question (index < 1e6, the main row): every copy right
    json                          parsed = json::object(), hits = json::object();
    std::map<int64_t, bool>       all_right;
    for (const auto & e : by_index) {  // ascending index, as the evaluation sorts
        const mmbench_row & r  = *e.second;
        const std::string   pr = mmbench_can_infer(pred[r.index], r.choices);
        parsed[std::to_string(r.index)] = pr;
        const int64_t g  = r.index % 1000000;
        const bool    ok = r.has_answer && pr == r.answer;
        auto          it = all_right.find(g);
        all_right[g]     = (it == all_right.end() ? true : it->second) && ok;
    }
    std::vector<const mmbench_row *> mains;
    for (const auto & e : by_index) {
        if (e.first % 1000000 == e.first) {
            mains.push_back(e.second);
            hits[std::to_string(e.first)] = all_right[e.first] ? 1 : 0;
        }
    }
    // report_acc: per split; then per l2-category and per category (sorted), by split
    std::set<std::string> splits;
    for (const auto * r : mains) {
        splits.insert(r->split);
    }
    auto mean = [&](const std::string & sp, const std::function<bool(const mmbench_row &)> & in) -> json {
        int64_t n = 0, h = 0;
        for (const auto * r : mains) {
            if (r->split == sp && in(*r)) {
                ++n;
                h += all_right[r->index];
            }
        }
        return n ? json((double) h / (double) n) : json(nullptr);
    };
    json acc = json::object();
    for (const auto & sp : splits) {
        acc["Overall"][sp] = mean(sp, [](const mmbench_row &) { return true; });
    }
    for (int group = 0; group < 2; ++group) {
        if (group == 0 ? !t.has_l2_category : !t.has_category) {
            continue;
        }
        std::set<std::string> abilities;
        for (const auto * r : mains) {
            abilities.insert(group == 0 ? r->l2_category : r->category);
        }
        for (const auto & ab : abilities) {
            const char *      abbr = mmb_abbr(ab);
            const std::string name = abbr ? abbr : ab;
            for (const auto & sp : splits) {
                acc[name][sp] = mean(sp, [&](const mmbench_row & r) {
                    return (group == 0 ? r.l2_category : r.category) == ab;
                });
            }
        }
    }
    res.metrics = json{ { "bench", "mmbench" },
                        { "n_questions", (int64_t) mains.size() },
                        { "n_rows", (int64_t) t.rows.size() },
                        { "accuracy", acc },
                        { "hit", hits },
                        { "parsed", parsed } };
    return res;
}

}  // namespace glm
