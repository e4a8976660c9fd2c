// eval/vqa-llava-bench.cpp: LLaVA-Bench's judge requests, score parsing and summary (see vqa-llava-bench.h).
#include "eval/vqa-llava-bench.h"

#include "common.h"
#include "eval/cocoeval.h"
#include "eval/vqa-questions.h"
#include "eval/vqa-text.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

namespace glm {

using json = nlohmann::json;

const char * const k_llava_bench_judge_system = "You are a helpful and precise assistant for checking the quality of the answer.";

// The non-blank lines of a JSONL file as objects (file:line in errors).
static std::vector<std::pair<int64_t, json>> jsonl_objects(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail("%s: cannot open", path.c_str());
    }
    std::vector<std::pair<int64_t, json>> out;
    std::string                           line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r\n") == std::string::npos) {
            continue;
        }
        try {
            json j = json::parse(line);
            if (!j.is_object()) {
                fail("%s:%lld: expected a JSON object", path.c_str(), (long long) n);
            }
            out.emplace_back(n, std::move(j));
        } catch (const json::exception & e) {
            fail("%s:%lld: not JSON (%s)", path.c_str(), (long long) n, e.what());
        }
    }
    return out;
}

static std::string str_field(const json & j, const char * f, const std::string & where) {
    if (!j.contains(f) || !j[f].is_string()) {
        fail("%s: \"%s\" must be a string", where.c_str(), f);
    }
    return j[f].get<std::string>();
}

namespace {

struct bench_item {
    json        question_id, answer1_id, answer2_id;
    std::string category, request;
};

std::vector<bench_item> build_items(const llava_bench_params & p) {
    const auto qs   = jsonl_objects(p.questions_path);
    const auto a1   = jsonl_objects(p.reference_path);
    const auto a2   = jsonl_objects(p.answers_path);
    const auto ctxs = jsonl_objects(p.context_path);
    const json rule = coco_read_json(p.rule_path);
    std::map<std::string, std::string> captions;  // image -> caption text (a later line replaces an earlier one)
    for (const auto & c : ctxs) {
        const std::string w = strfmt("%s:%lld", p.context_path.c_str(), (long long) c.first);
        const json &      cap = c.second.contains("caption") ? c.second["caption"] : json();
        std::string       text;
        if (cap.is_array()) {
            for (size_t i = 0; i < cap.size(); ++i) {
                if (!cap[i].is_string()) {
                    fail("%s: caption list must hold strings", w.c_str());
                }
                text += (i ? "\n" : "") + cap[i].get<std::string>();
            }
        } else if (cap.is_string()) {
            text = cap.get<std::string>();
        } else {
            fail("%s: \"caption\" must be a string or a list of strings", w.c_str());
        }
        captions[str_field(c.second, "image", w)] = text;
    }
    if (a1.size() != qs.size() || a2.size() != qs.size()) {
        fail("llava-bench: %zu questions (%s), %zu reference answers (%s), %zu answers (%s): the official script pairs "
             "them by line, so every question needs both",
             qs.size(), p.questions_path.c_str(), a1.size(), p.reference_path.c_str(), a2.size(), p.answers_path.c_str());
    }
    std::vector<bench_item> items;
    for (size_t i = 0; i < qs.size(); ++i) {
        const json &      q  = qs[i].second;
        const std::string w  = strfmt("%s:%lld", p.questions_path.c_str(), (long long) qs[i].first);
        const std::string w1 = strfmt("%s:%lld", p.reference_path.c_str(), (long long) a1[i].first);
        const std::string w2 = strfmt("%s:%lld", p.answers_path.c_str(), (long long) a2[i].first);
        if (!q.contains("question_id")) {
            fail("%s: no question_id", w.c_str());
        }
        for (const auto * a : { &a1[i], &a2[i] }) {
            const std::string wa = a == &a1[i] ? w1 : w2;
            if (!a->second.contains("question_id") || a->second["question_id"] != q["question_id"]) {
                fail("%s: question_id %s, but the question on the same line (%s) is %s; the files are paired by line",
                     wa.c_str(), a->second.value("question_id", json()).dump().c_str(), w.c_str(),
                     q["question_id"].dump().c_str());
            }
        }
        const std::string image = str_field(q, "image", w);
        const auto        cap   = captions.find(image);
        if (cap == captions.end()) {
            fail("%s: image %s has no context in %s", w.c_str(), image.c_str(), p.context_path.c_str());
        }
        bench_item it;
        it.category = "llava_bench_" + str_field(q, "category", w);
        if (!rule.contains(it.category) || !rule[it.category].is_object()) {
            fail("%s: category %s is not in the rule file %s", w.c_str(), it.category.c_str(), p.rule_path.c_str());
        }
        const std::string role   = str_field(rule[it.category], "role", p.rule_path + " " + it.category);
        const std::string prompt = str_field(rule[it.category], "prompt", p.rule_path + " " + it.category);
        it.request = "[Context]\n" + cap->second + "\n\n[Question]\n" + str_field(q, "text", w) + "\n\n[" + role +
                     " 1]\n" + str_field(a1[i].second, "text", w1) + "\n\n[End of " + role + " 1]\n\n[" + role +
                     " 2]\n" + str_field(a2[i].second, "text", w2) + "\n\n[End of " + role + " 2]\n\n[System]\n" +
                     prompt + "\n\n";
        it.question_id = q["question_id"];
        it.answer1_id  = a1[i].second.contains("answer_id") ? a1[i].second["answer_id"] : a1[i].second["question_id"];
        if (!a2[i].second.contains("answer_id")) {
            fail("%s: no answer_id", w2.c_str());
        }
        it.answer2_id = a2[i].second["answer_id"];
        items.push_back(std::move(it));
    }
    return items;
}

// Python's float(str): surrounding whitespace, sign, digits with single '_' between them, '.', exponent, inf/nan.
bool py_float(const std::string & text, double * out) {
    std::string s = py_strip(text);
    std::string l = py_lower(s);
    size_t      i = (!l.empty() && (l[0] == '+' || l[0] == '-')) ? 1 : 0;
    const std::string body = l.substr(i);
    if (body == "inf" || body == "infinity" || body == "nan") {
        *out = body == "nan" ? NAN : (l[0] == '-' ? -INFINITY : INFINITY);
        return true;
    }
    std::string clean = s.substr(0, i);
    bool        digits = false, dot = false, exp = false, prev_digit = false;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c >= '0' && c <= '9') {
            digits = prev_digit = true;
            clean += c;
        } else if (c == '_' && prev_digit && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') {
            prev_digit = false;
        } else if (c == '.' && !dot && !exp) {
            dot        = true;
            prev_digit = false;
            clean += c;
        } else if ((c == 'e' || c == 'E') && digits && !exp) {
            exp = true;
            digits = prev_digit = false;
            clean += c;
            if (i + 1 < s.size() && (s[i + 1] == '+' || s[i + 1] == '-')) {
                clean += s[++i];
            }
        } else {
            return false;
        }
    }
    if (!digits) {
        return false;
    }
    *out = strtod(clean.c_str(), nullptr);
    return true;
}

}  // namespace

std::vector<std::string> llava_bench_requests(const llava_bench_params & p) {
    std::vector<std::string> out;
    for (const auto & it : build_items(p)) {
        out.push_back(it.request);
    }
    return out;
}

std::pair<double, double> llava_bench_parse_score(const std::string & review) {
    std::string first = review.substr(0, review.find('\n'));
    first             = py_replace(first, ",", " ");
    std::vector<std::string> sp;
    for (size_t i = 0;;) {
        const size_t k = first.find(' ', i);
        sp.push_back(first.substr(i, k == std::string::npos ? std::string::npos : k - i));
        if (k == std::string::npos) {
            break;
        }
        i = k + 1;
    }
    double a = 0, b = 0;
    if (sp.size() == 2 && py_float(sp[0], &a) && py_float(sp[1], &b)) {
        return { a, b };
    }
    return { -1, -1 };
}

int64_t llava_bench_review(const llava_bench_params & p, const llava_bench_judge_fn & judge) {
    const auto items    = build_items(p);
    size_t     n_have   = 0;
    if (file_exists(p.reviews_path)) {
        n_have = jsonl_objects(p.reviews_path).size();
    }
    std::ofstream out(p.reviews_path, std::ios::binary | std::ios::app);
    if (!out) {
        fail("%s: cannot write", p.reviews_path.c_str());
    }
    int64_t n_new = 0;
    for (size_t i = n_have; i < items.size(); ++i) {
        const auto &      it     = items[i];
        const std::string review = judge(k_llava_bench_judge_system, it.request);
        const auto        sc     = llava_bench_parse_score(review);
        const json        rec    = { { "id", (int64_t) i + 1 },      { "question_id", it.question_id },
                                     { "answer1_id", it.answer1_id }, { "answer2_id", it.answer2_id },
                                     { "category", it.category },     { "content", review },
                                     { "tuple", { sc.first, sc.second } } };
        out << rec.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        out.flush();
        ++n_new;
    }
    return n_new;
}

json llava_bench_summary(const std::string & reviews_path) {
    std::map<std::string, std::vector<std::pair<double, double>>> scores;
    for (const auto & r : jsonl_objects(reviews_path)) {
        const std::string w = strfmt("%s:%lld", reviews_path.c_str(), (long long) r.first);
        const json &      t = r.second.contains("tuple") ? r.second["tuple"] : r.second.value("score", json());
        if (!t.is_array() || t.size() != 2 || !t[0].is_number() || !t[1].is_number()) {
            fail("%s: expected \"tuple\": [score 1, score 2]", w.c_str());
        }
        const std::pair<double, double> s = { t[0].get<double>(), t[1].get<double>() };
        if (r.second.contains("category")) {
            scores[str_field(r.second, "category", w)].push_back(s);
        }
        scores["all"].push_back(s);
    }
    json out = json::object();
    for (const auto & e : scores) {
        double s0 = 0, s1 = 0;
        for (const auto & s : e.second) {
            s0 += s.first;
            s1 += s.second;
        }
        const double m0 = py_round(s0 / (double) e.second.size(), 3), m1 = py_round(s1 / (double) e.second.size(), 3);
        out[e.first] = { { "n", (int64_t) e.second.size() },
                         { "mean", { m0, m1 } },
                         { "relative", m0 != 0 ? json(py_round(m1 / m0 * 100, 1)) : json(nullptr) },
                         { "reference", py_round(m0 * 10, 1) },
                         { "model", py_round(m1 * 10, 1) } };
    }
    return out;
}

}  // namespace glm
