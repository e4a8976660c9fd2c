// eval/vqa-score-choice.cpp: the benchmarks scored by exact match of a parsed answer (GQA, ScienceQA, POPE); see
// vqa-score.h.
#include "common.h"
#include "eval/cocoeval.h"
#include "eval/vqa-score.h"
#include "eval/vqa-text.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace glm {

using json   = nlohmann::json;
namespace fs = std::filesystem;

// ---- GQA ----

vqa_score_result vqa_score_gqa(const std::vector<vqa_answer> & answers, const vqa_score_params & p) {
    if (p.gt_path.empty()) {
        fail("gqa: give --gt, the balanced questions JSON (testdev_balanced_questions.json)");
    }
    const json qs = coco_read_json(p.gt_path);
    if (!qs.is_object()) {
        fail("%s: expected GQA's questions JSON (an object keyed by question id), got %s", p.gt_path.c_str(),
             qs.type_name());
    }
    // convert_gqa_for_eval.py: {"questionId": question_id, "prediction": text.rstrip('.').lower()}
    std::map<std::string, std::string> pred;
    for (const auto & a : answers) {
        if (!a.question_id.is_string() || !qs.contains(a.question_id.get<std::string>())) {
            fail("%s:%lld: question_id %s is not a question of %s%s", p.pred_path.c_str(), (long long) a.line,
                 a.key.c_str(), p.gt_path.c_str(),
                 a.question_id.is_string() ? "" : " (GQA's ids are strings; eval.py would not find a number either)");
        }
        pred[a.question_id.get<std::string>()] = py_lower(py_rstrip_chars(a.text, '.'));
    }
    std::vector<double>                               acc, bin, open;
    std::map<std::string, std::vector<double>>        per_struct, per_sem;
    for (auto it = qs.begin(); it != qs.end(); ++it) {
        const json &      q = it.value();
        const std::string w = strfmt("%s: question %s", p.gt_path.c_str(), it.key().c_str());
        if (!q.is_object() || !q.contains("isBalanced") || !q["isBalanced"].is_boolean() || !q.contains("answer") ||
            !q["answer"].is_string() || !q.contains("types") || !q["types"].is_object() ||
            !q["types"].contains("structural") || !q["types"]["structural"].is_string() ||
            !q["types"].contains("semantic") || !q["types"]["semantic"].is_string()) {
            fail("%s: expected isBalanced (bool), answer (string), types.structural and types.semantic (strings)",
                 w.c_str());
        }
        if (!q["isBalanced"].get<bool>()) {
            continue;
        }
        const auto pit = pred.find(it.key());
        if (pit == pred.end()) {
            // eval.py: "no prediction for question ... Please add prediction for all questions."
            fail("gqa: question %s of %s has no answer in %s (GQA's eval.py needs all balanced questions)",
                 it.key().c_str(), p.gt_path.c_str(), p.pred_path.c_str());
        }
        const double      score = pit->second == q["answer"].get<std::string>() ? 1.0 : 0.0;
        const std::string st    = q["types"]["structural"].get<std::string>();
        acc.push_back(score);
        per_struct[st].push_back(score);
        per_sem[q["types"]["semantic"].get<std::string>()].push_back(score);
        (st == "query" ? open : bin).push_back(score);
    }
    // eval.py's avg(l) (0 for an empty list), times 100
    auto avg100 = [](const std::vector<double> & l) {
        if (l.empty()) {
            return 0.0;
        }
        double s = 0;
        for (double v : l) {
            s += v;
        }
        return s / (double) l.size() * 100;
    };
    json js = json::object(), jm = json::object();
    for (const auto & e : per_struct) {
        js[e.first] = avg100(e.second);
    }
    for (const auto & e : per_sem) {
        jm[e.first] = avg100(e.second);
    }
    vqa_score_result r;
    r.metrics = json{ { "bench", "gqa" },
                      { "n_questions", (int64_t) acc.size() },
                      { "accuracy", avg100(acc) },
                      { "binary", avg100(bin) },
                      { "open", avg100(open) },
                      { "accuracyPerStructuralType", js },
                      { "accuracyPerSemanticType", jm } };
    return r;
}

// ---- ScienceQA ----

std::string vqa_sqa_parse_letter(const std::string & text) {
    static const char * options = "ABCDE";
    if (text.size() == 1 && text[0] && strchr(options, text[0])) {
        return text;
    }
    // len(pred_text) >= 3 and pred_text[0] in options and pred_text[1:3] == ". " (an ASCII first character is one
    // byte, so bytes 1-2 are code points 1-2)
    if (text.size() >= 3 && text[0] && strchr(options, text[0]) && text[1] == '.' && text[2] == ' ') {
        return text.substr(0, 1);
    }
    // re.findall(r'The answer is ([A-Z]).') must find exactly one; '.' is any code point but a newline
    const std::u32string t   = utf8_decode(text, "answer");
    const std::u32string pre = U"The answer is ";
    int                  n   = 0;
    char                 letter = 0;
    for (size_t i = 0; i + pre.size() + 2 <= t.size();) {
        if (t.compare(i, pre.size(), pre) == 0) {
            const uint32_t c = t[i + pre.size()];
            if (c >= U'A' && c <= U'Z' && t[i + pre.size() + 1] != U'\n') {
                ++n;
                letter = (char) c;
                i += pre.size() + 2;
                continue;
            }
        }
        ++i;
    }
    return n == 1 ? std::string(1, letter) : "FAILED";
}

vqa_score_result vqa_score_scienceqa(const std::vector<vqa_answer> & answers, const vqa_score_params & p) {
    if (p.gt_path.empty()) {
        fail("scienceqa: give --gt, the folder of ScienceQA's problems.json and pid_splits.json");
    }
    const std::string splits_path   = (fs::path(p.gt_path) / "pid_splits.json").string();
    const std::string problems_path = (fs::path(p.gt_path) / "problems.json").string();
    const json        splits        = coco_read_json(splits_path);
    const json        problems      = coco_read_json(problems_path);
    if (!splits.is_object() || !splits.contains(p.split) || !splits[p.split].is_array()) {
        fail("%s: no split \"%s\" (an array of problem ids)", splits_path.c_str(), p.split.c_str());
    }
    if (!problems.is_object()) {
        fail("%s: expected an object keyed by problem id", problems_path.c_str());
    }
    std::set<std::string> ids;
    for (const auto & id : splits[p.split]) {
        if (!id.is_string() || !problems.contains(id.get<std::string>())) {
            fail("%s: split \"%s\" lists %s, which %s does not have", splits_path.c_str(), p.split.c_str(),
                 id.dump().c_str(), problems_path.c_str());
        }
        ids.insert(id.get<std::string>());
    }
    std::map<std::string, const vqa_answer *> pred;
    for (const auto & a : answers) {
        if (!a.question_id.is_string() || !ids.count(a.question_id.get<std::string>())) {
            fail("%s:%lld: question_id %s is not a problem of split \"%s\" in %s%s", p.pred_path.c_str(),
                 (long long) a.line, a.key.c_str(), p.split.c_str(), splits_path.c_str(),
                 a.question_id.is_string() ? "" : " (ScienceQA's ids are strings; eval_science_qa.py would not find a "
                                                  "number either)");
        }
        if (!a.has_prompt) {
            fail("%s:%lld: no \"prompt\" (eval_science_qa.py tells image questions by \"<image>\" in it)",
                 p.pred_path.c_str(), (long long) a.line);
        }
        pred[a.question_id.get<std::string>()] = &a;
    }
    static const char * options = "ABCDE";
    int64_t             correct = 0, total = 0, img_correct = 0, img_total = 0, n_missing = 0;
    json                parsed  = json::object();
    std::string         first_missing;
    for (const auto & idj : splits[p.split]) {
        const std::string id   = idj.get<std::string>();
        const json &      prob = problems[id];
        if (!prob.is_object() || !prob.contains("choices") || !prob["choices"].is_array() ||
            !prob.contains("answer") || !prob["answer"].is_number_integer()) {
            fail("%s: problem %s needs choices (array) and answer (integer)", problems_path.c_str(), id.c_str());
        }
        const auto        it     = pred.find(id);
        const std::string text   = it == pred.end() ? "FAILED" : it->second->text;
        const std::string prompt = it == pred.end() ? "Unknown" : it->second->prompt;
        if (it == pred.end() && n_missing++ == 0) {
            first_missing = id;
        }
        const std::string letter  = vqa_sqa_parse_letter(text);
        const size_t      n_ch    = std::min<size_t>(prob["choices"].size(), 5);
        const char *      pos     = letter.size() == 1 ? strchr(options, letter[0]) : nullptr;
        const int64_t     idx     = pos && (size_t) (pos - options) < n_ch ? pos - options : -1;
        const bool        ok      = idx == prob["answer"].get<int64_t>();
        const bool        img     = prompt.find("<image>") != std::string::npos;
        parsed[id]                = idx;
        total++;
        correct += ok;
        img_total += img;
        img_correct += ok && img;
    }
    if (n_missing > 0) {
        GLM_LOG_WARN("vqa-score scienceqa: %lld of %lld problems have no answer (first: %s); counted as FAILED, and "
                     "not as image questions, as eval_science_qa.py does\n",
                     (long long) n_missing, (long long) total, first_missing.c_str());
    }
    vqa_score_result r;
    r.metrics = json{ { "bench", "scienceqa" },
                      { "split", p.split },
                      { "acc", total ? json((double) correct / (double) total * 100) : json(nullptr) },
                      { "correct", correct },
                      { "count", total },
                      { "img_acc", img_total ? json((double) img_correct / (double) img_total * 100) : json(nullptr) },
                      { "img_correct", img_correct },
                      { "img_count", img_total },
                      { "n_missing", n_missing },
                      { "parsed", parsed } };
    return r;
}

// ---- POPE ----

bool vqa_pope_is_no(const std::string & answer) {
    std::string text = answer;
    const size_t dot = text.find('.');
    if (dot != std::string::npos) {
        text = text.substr(0, dot);  // the first sentence
    }
    text = py_replace(text, ",", "");
    for (size_t i = 0;;) {  // text.split(' ')
        const size_t      k = text.find(' ', i);
        const std::string w = text.substr(i, k == std::string::npos ? std::string::npos : k - i);
        if (w == "No" || w == "not" || w == "no") {
            return true;
        }
        if (k == std::string::npos) {
            return false;
        }
        i = k + 1;
    }
}

struct pope_label {
    std::string image, text, label;
    int64_t     line;
};

static std::vector<pope_label> read_pope_labels(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail("%s: cannot open", path.c_str());
    }
    std::vector<pope_label> out;
    std::string             line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r\n") == std::string::npos) {
            continue;
        }
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception & e) {
            fail("%s:%lld: not JSON (%s)", path.c_str(), (long long) n, e.what());
        }
        if (!j.is_object() || !j.contains("label") || !j["label"].is_string() || !j.contains("image") ||
            !j["image"].is_string() || !j.contains("text") || !j["text"].is_string()) {
            fail("%s:%lld: expected a POPE label {question_id, image, text, label}", path.c_str(), (long long) n);
        }
        out.push_back({ j["image"].get<std::string>(), j["text"].get<std::string>(), j["label"].get<std::string>(), n });
    }
    return out;
}

vqa_score_result vqa_score_pope(const std::vector<vqa_answer> & answers, const vqa_score_params & p) {
    if (p.gt_path.empty()) {
        fail("pope: give --gt, a label file coco/coco_pope_<category>.json or the coco/ folder");
    }
    // the categories: one label file, or every coco_pope_<category>.json of a folder (eval_pope.py's --annotation-dir)
    std::vector<std::pair<std::string, std::string>> cats;  // (category, label file)
    const fs::path                                   gt(p.gt_path);
    auto add = [&](const fs::path & f) {
        const std::string name = f.filename().string();
        if (name.rfind("coco_pope_", 0) != 0 || name.size() <= 15 || name.substr(name.size() - 5) != ".json") {
            fail("%s: POPE label files are named coco_pope_<category>.json", f.string().c_str());
        }
        cats.emplace_back(name.substr(10, name.size() - 15), f.string());
    };
    fs::path qdefault;
    if (fs::is_directory(gt)) {
        std::vector<fs::path> files;
        for (const auto & e : fs::directory_iterator(gt)) {
            files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        for (const auto & f : files) {
            add(f);
        }
        if (cats.empty()) {
            fail("%s: no POPE label files", p.gt_path.c_str());
        }
        fs::path dir = fs::absolute(gt).lexically_normal();
        if (dir.filename().empty()) {  // "coco/"
            dir = dir.parent_path();
        }
        qdefault = dir.parent_path() / "llava_pope_test.jsonl";
    } else {
        add(gt);
        qdefault = fs::absolute(gt).parent_path().parent_path() / "llava_pope_test.jsonl";
    }
    const std::string qpath = p.questions_path.empty() ? qdefault.string() : p.questions_path;
    const auto        qs    = vqa_read_questions_jsonl(qpath);
    std::map<std::string, const vqa_question *> qby;
    for (const auto & q : qs) {
        qby[q.key] = &q;
    }
    for (const auto & a : answers) {
        if (!qby.count(a.key)) {
            fail("%s:%lld: question_id %s is not a question of %s", p.pred_path.c_str(), (long long) a.line,
                 a.key.c_str(), qpath.c_str());
        }
    }
    vqa_score_result r;
    r.metrics = json{ { "bench", "pope" }, { "questions", qpath }, { "categories", json::object() } };
    for (const auto & c : cats) {
        const auto              labels = read_pope_labels(c.second);
        std::vector<const vqa_answer *> cur;
        for (const auto & a : answers) {
            if (qby[a.key]->category == c.first) {
                cur.push_back(&a);
            }
        }
        if (cur.size() != labels.size()) {
            fail("pope %s: %zu answers in %s for %zu labels in %s (eval_pope.py pairs them by position: every "
                 "question needs its answer)",
                 c.first.c_str(), cur.size(), p.pred_path.c_str(), labels.size(), c.second.c_str());
        }
        int64_t tp = 0, fp = 0, tn = 0, fn = 0, n_yes = 0;
        for (size_t i = 0; i < cur.size(); ++i) {
            const vqa_question & q = *qby[cur[i]->key];
            const pope_label &   l = labels[i];
            if (q.image != l.image || q.text.compare(0, l.text.size(), l.text) != 0) {
                fail("pope %s: %s:%lld (question_id %s: %s, \"%s\") is paired by position with %s:%lld (%s, \"%s\"), "
                     "a different question; the answers must follow the label file's order",
                     c.first.c_str(), p.pred_path.c_str(), (long long) cur[i]->line, cur[i]->key.c_str(),
                     q.image.c_str(), q.text.c_str(), c.second.c_str(), (long long) l.line, l.image.c_str(),
                     l.text.c_str());
            }
            const int pred  = vqa_pope_is_no(cur[i]->text) ? 0 : 1;
            const int label = l.label == "no" ? 0 : 1;
            n_yes += pred;
            tp += pred == 1 && label == 1;
            fp += pred == 1 && label == 0;
            tn += pred == 0 && label == 0;
            fn += pred == 0 && label == 1;
        }
        auto ratio = [](int64_t a, int64_t b) { return b ? json((double) a / (double) b) : json(nullptr); };
        const json prec = ratio(tp, tp + fp), rec = ratio(tp, tp + fn);
        json       f1   = nullptr;
        if (prec.is_number() && rec.is_number() && prec.get<double>() + rec.get<double>() > 0) {
            f1 = 2 * prec.get<double>() * rec.get<double>() / (prec.get<double>() + rec.get<double>());
        }
        r.metrics["categories"][c.first] = json{ { "n", (int64_t) cur.size() },
                                                 { "TP", tp },
                                                 { "FP", fp },
                                                 { "TN", tn },
                                                 { "FN", fn },
                                                 { "accuracy", ratio(tp + tn, tp + tn + fp + fn) },
                                                 { "precision", prec },
                                                 { "recall", rec },
                                                 { "f1", f1 },
                                                 { "yes_ratio", ratio(n_yes, (int64_t) cur.size()) } };
    }
    return r;
}

}  // namespace glm
