// eval/vqa-score.cpp: dispatch, and the benchmarks scored with VQA accuracy (VQAv2, VizWiz, TextVQA); see vqa-score.h.
#include "eval/vqa-score.h"

#include "common.h"
#include "eval/cocoeval.h"
#include "eval/vqa-text.h"

#include <map>
#include <set>

namespace glm {

using json = nlohmann::json;

vqa_score_result vqa_score(const vqa_score_params & p) {
    if (p.pred_path.empty()) {
        fail("no answers file (--pred)");
    }
    const std::vector<vqa_answer> answers = vqa_read_answers(p.pred_path, p.bench != vqa_bench::textvqa);
    switch (p.bench) {
        case vqa_bench::vqav2:     return vqa_score_vqav2(answers, p);
        case vqa_bench::vizwiz:    return vqa_score_vizwiz(answers, p);
        case vqa_bench::textvqa:   return vqa_score_textvqa(answers, p);
        case vqa_bench::gqa:       return vqa_score_gqa(answers, p);
        case vqa_bench::scienceqa: return vqa_score_scienceqa(answers, p);
        case vqa_bench::pope:      return vqa_score_pope(answers, p);
        case vqa_bench::mmbench:   return vqa_score_mmbench(answers, p);
        case vqa_bench::llava_bench:
            fail("llava-bench is scored by an LLM judge, which vqa-score does not run");
    }
    fail("unknown benchmark");
}

// The answers by question key, after checking that each one's question is among `known` (file and line otherwise).
static std::map<std::string, const vqa_answer *> answers_by_key(const std::vector<vqa_answer> & answers,
                                                                const std::set<std::string> & known,
                                                                const std::string & pred_path,
                                                                const std::string & known_what) {
    std::map<std::string, const vqa_answer *> by;
    for (const auto & a : answers) {
        if (!known.count(a.key)) {
            fail("%s:%lld: question_id %s is not a question of %s", pred_path.c_str(), (long long) a.line,
                 a.key.c_str(), known_what.c_str());
        }
        by[a.key] = &a;
    }
    return by;
}

static void warn_missing(const char * bench, int64_t n_missing, int64_t n, const std::string & first) {
    if (n_missing > 0) {
        GLM_LOG_WARN("vqa-score %s: %lld of %lld questions have no answer (first: question_id %s); scored as the "
                     "official pipeline does\n",
                     bench, (long long) n_missing, (long long) n, first.c_str());
    }
}

// ---- VQAv2 ----

struct vqa_annotation {
    json                     question_id;
    std::string              key, question_type, answer_type;
    std::vector<std::string> answers;  // as written
    std::vector<std::string> records;  // each answer dict without "answer" (the tool compares whole dicts)
};

static std::vector<vqa_annotation> read_vqa_annotations(const std::string & path) {
    const json j = coco_read_json(path);
    if (!j.is_object() || !j.contains("annotations") || !j["annotations"].is_array()) {
        fail("%s: expected the official VQA annotation file (an object with an \"annotations\" array)", path.c_str());
    }
    std::vector<vqa_annotation> out;
    std::set<std::string>       seen;
    for (size_t i = 0; i < j["annotations"].size(); ++i) {
        const json &      a = j["annotations"][i];
        const std::string w = strfmt("%s: annotations[%zu]", path.c_str(), i);
        if (!a.is_object() || !a.contains("question_id") || !a.contains("answers") || !a["answers"].is_array() ||
            !a.contains("question_type") || !a["question_type"].is_string() || !a.contains("answer_type") ||
            !a["answer_type"].is_string()) {
            fail("%s: expected question_id, question_type (string), answer_type (string) and answers (array)", w.c_str());
        }
        vqa_annotation r;
        r.question_id   = a["question_id"];
        r.key           = vqa_id_key(r.question_id);
        r.question_type = a["question_type"].get<std::string>();
        r.answer_type   = a["answer_type"].get<std::string>();
        if (a["answers"].empty()) {
            fail("%s: no answers", w.c_str());
        }
        for (const auto & ans : a["answers"]) {
            if (!ans.is_object() || !ans.contains("answer") || !ans["answer"].is_string()) {
                fail("%s: every answer must be an object with a string \"answer\"", w.c_str());
            }
            json rest = ans;
            rest.erase("answer");
            r.answers.push_back(ans["answer"].get<std::string>());
            r.records.push_back(rest.dump());
        }
        if (!seen.insert(r.key).second) {
            fail("%s: question_id %s again", w.c_str(), r.key.c_str());
        }
        out.push_back(std::move(r));
    }
    return out;
}

// The VQA tool's answer clean-up before any processing: newlines and tabs to spaces, stripped.
static std::string tool_clean(const std::string & s) {
    return py_strip(py_replace(py_replace(s, "\n", " "), "\t", " "));
}

// VQAEval.evaluate for one question: the submitted (already EvalAI-processed) answer against the ten.
static double vqa_tool_accuracy(const std::string & submitted, const vqa_annotation & ann) {
    std::string              res = tool_clean(submitted);
    std::vector<std::string> gts;
    for (const auto & g : ann.answers) {
        gts.push_back(tool_clean(g));
    }
    if (std::set<std::string>(gts.begin(), gts.end()).size() > 1) {
        for (auto & g : gts) {
            g = vqa_tool_digit_article(vqa_tool_punctuation(g));
        }
        res = vqa_tool_digit_article(vqa_tool_punctuation(res));
    }
    return vqa_leave_one_out_accuracy(res, gts, &ann.records);
}

vqa_score_result vqa_score_vqav2(const std::vector<vqa_answer> & answers, const vqa_score_params & p) {
    std::vector<vqa_annotation> anns;
    if (!p.gt_path.empty()) {
        anns = read_vqa_annotations(p.gt_path);
    }
    // the submission's question list: --questions (LLaVA's split JSONL), else the annotations
    std::vector<std::pair<json, std::string>> qlist;
    std::string                               qsource;
    if (!p.questions_path.empty()) {
        for (const auto & q : vqa_read_questions_jsonl(p.questions_path)) {
            qlist.emplace_back(q.question_id, q.key);
        }
        qsource = p.questions_path;
    } else if (!anns.empty() || !p.gt_path.empty()) {
        for (const auto & a : anns) {
            qlist.emplace_back(a.question_id, a.key);
        }
        qsource = p.gt_path;
    } else {
        fail("vqav2: give --gt (the official annotations, to score) or --questions (LLaVA's question JSONL, for a "
             "submission file only)");
    }
    std::set<std::string> known;
    for (const auto & q : qlist) {
        known.insert(q.second);
    }
    const auto by = answers_by_key(answers, known, p.pred_path, qsource);

    vqa_score_result r;
    r.submission = json::array();
    std::map<std::string, std::string> submitted;
    int64_t                            n_missing = 0;
    std::string                        first_missing;
    for (const auto & q : qlist) {
        const auto        it  = by.find(q.second);
        const std::string ans = it == by.end() ? "" : vqa_evalai_process(it->second->text);
        if (it == by.end() && n_missing++ == 0) {
            first_missing = q.second;
        }
        r.submission.push_back(json{ { "question_id", q.first }, { "answer", ans } });
        submitted[q.second] = ans;
    }
    warn_missing("vqav2", n_missing, (int64_t) qlist.size(), first_missing);
    r.metrics = json{ { "bench", "vqav2" }, { "n_questions", (int64_t) qlist.size() },
                      { "n_answers", (int64_t) answers.size() }, { "n_missing", n_missing } };
    if (p.gt_path.empty()) {
        return r;
    }
    // the tool's loadRes: the submission must hold exactly the annotations' questions
    if (qlist.size() != anns.size()) {
        fail("vqav2: %s has %zu questions but %s has %zu annotations; the official tool needs the same set",
             qsource.c_str(), qlist.size(), p.gt_path.c_str(), anns.size());
    }
    double                                     sum = 0;
    std::map<std::string, std::pair<double, int64_t>> per_q, per_a;
    for (const auto & a : anns) {
        const auto it = submitted.find(a.key);
        if (it == submitted.end()) {
            fail("vqav2: annotation question_id %s is not in %s", a.key.c_str(), qsource.c_str());
        }
        const double acc = vqa_tool_accuracy(it->second, a);
        sum += acc;
        per_q[a.question_type].first += acc;
        per_q[a.question_type].second++;
        per_a[a.answer_type].first += acc;
        per_a[a.answer_type].second++;
    }
    json jq = json::object(), ja = json::object();
    for (const auto & e : per_q) {
        jq[e.first] = py_round(100 * e.second.first / (double) e.second.second, 2);
    }
    for (const auto & e : per_a) {
        ja[e.first] = py_round(100 * e.second.first / (double) e.second.second, 2);
    }
    r.metrics["accuracy"] = json{ { "overall", py_round(100 * sum / (double) anns.size(), 2) },
                                  { "perQuestionType", jq },
                                  { "perAnswerType", ja } };
    return r;
}

// ---- VizWiz ----

vqa_score_result vqa_score_vizwiz(const std::vector<vqa_answer> & answers, const vqa_score_params & p) {
    if (!p.gt_path.empty()) {
        fail("vizwiz: no local scoring (VizWiz test is scored by its evaluation server); give --questions "
             "llava_test.jsonl to write the submission file");
    }
    if (p.questions_path.empty()) {
        fail("vizwiz: give --questions (LLaVA's llava_test.jsonl) for the submission file");
    }
    const auto            qs = vqa_read_questions_jsonl(p.questions_path);
    std::set<std::string> known;
    for (const auto & q : qs) {
        known.insert(q.key);
    }
    const auto       by = answers_by_key(answers, known, p.pred_path, p.questions_path);
    vqa_score_result r;
    r.submission = json::array();
    for (const auto & q : qs) {
        const auto it = by.find(q.key);
        if (it == by.end()) {
            // convert_vizwiz_for_submission.py asserts that every question has an answer
            fail("vizwiz: question_id %s (%s:%lld) has no answer in %s; the submission needs every question",
                 q.key.c_str(), p.questions_path.c_str(), (long long) q.line, p.pred_path.c_str());
        }
        r.submission.push_back(json{ { "image", q.image }, { "answer", vqa_evalai_process(it->second->text) } });
    }
    r.metrics = json{ { "bench", "vizwiz" }, { "n_questions", (int64_t) qs.size() },
                      { "n_answers", (int64_t) answers.size() }, { "n_missing", 0 } };
    return r;
}

// ---- TextVQA ----

std::string vqa_textvqa_question(const std::string & prompt, const std::string & where) {
    std::vector<std::string> lines;
    for (size_t i = 0;;) {
        const size_t k = prompt.find('\n', i);
        lines.push_back(prompt.substr(i, k == std::string::npos ? std::string::npos : k - i));
        if (k == std::string::npos) {
            break;
        }
        i = k + 1;
    }
    std::string q;
    if (prompt.rfind("OCR tokens: ", 0) == 0) {
        // re.search(r"Question: (.*?) Short answer:", prompt, re.DOTALL)
        const size_t b = prompt.find("Question: ");
        const size_t e = b == std::string::npos ? b : prompt.find(" Short answer:", b + 10);
        if (e == std::string::npos) {
            fail("%s: a prompt starting with \"OCR tokens: \" needs \"Question: ... Short answer:\"", where.c_str());
        }
        q = prompt.substr(b + 10, e - b - 10);
    } else if (prompt.find("Reference OCR token: ") != std::string::npos && lines.size() == 3) {
        q = prompt.rfind("Reference OCR token:", 0) == 0 ? lines[1] : lines[0];
    } else if (lines.size() == 2) {
        q = lines[0];
    } else {
        fail("%s: the prompt is none of the forms eval_textvqa.py reads back (\"OCR tokens: ... Question: ... Short "
             "answer:\", three lines with \"Reference OCR token: \", or question + instruction on two lines)",
             where.c_str());
    }
    return py_lower(q);
}

vqa_score_result vqa_score_textvqa(const std::vector<vqa_answer> & answers, const vqa_score_params & p) {
    if (p.gt_path.empty()) {
        fail("textvqa: give --gt TextVQA_0.5.1_val.json");
    }
    const json j = coco_read_json(p.gt_path);
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) {
        fail("%s: expected TextVQA's annotation file (an object with a \"data\" array)", p.gt_path.c_str());
    }
    // {(image_id, question.lower()): answers}; a later duplicate replaces an earlier one, as the dict does
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> anns;
    for (size_t i = 0; i < j["data"].size(); ++i) {
        const json &      a = j["data"][i];
        const std::string w = strfmt("%s: data[%zu]", p.gt_path.c_str(), i);
        if (!a.is_object() || !a.contains("image_id") || !a.contains("question") || !a["question"].is_string() ||
            !a.contains("answers") || !a["answers"].is_array()) {
            fail("%s: expected image_id, question (string) and answers (array of strings)", w.c_str());
        }
        std::vector<std::string> gts;
        for (const auto & g : a["answers"]) {
            if (!g.is_string()) {
                fail("%s: answers must be strings", w.c_str());
            }
            gts.push_back(vqa_evalai_process(g.get<std::string>()));
        }
        anns[{ vqa_id_key(a["image_id"]), py_lower(a["question"].get<std::string>()) }] = gts;
    }
    std::map<std::pair<std::string, std::string>, int64_t> used;
    double                                                 sum = 0;
    for (const auto & a : answers) {
        const std::string w = strfmt("%s:%lld", p.pred_path.c_str(), (long long) a.line);
        if (!a.has_prompt) {
            fail("%s: no \"prompt\" (eval_textvqa.py finds the question in it)", w.c_str());
        }
        const auto key = std::make_pair(a.key, vqa_textvqa_question(a.prompt, w));
        const auto it  = anns.find(key);
        if (it == anns.end()) {
            fail("%s: no annotation in %s has image_id %s and question \"%s\"", w.c_str(), p.gt_path.c_str(),
                 a.key.c_str(), key.second.c_str());
        }
        const auto ins = used.emplace(key, a.line);
        if (!ins.second) {
            fail("%s: a second answer to image_id %s, question \"%s\" (the first is on line %lld)", w.c_str(),
                 a.key.c_str(), key.second.c_str(), (long long) ins.first->second);
        }
        if (it->second.size() != 10) {
            fail("%s: image_id %s, question \"%s\" has %zu answers; m4c's evaluator needs 10", p.gt_path.c_str(),
                 a.key.c_str(), key.second.c_str(), it->second.size());
        }
        const std::string            pred = vqa_evalai_process(a.text);
        const std::set<std::string>  uniq(it->second.begin(), it->second.end());
        sum += uniq.count(pred) ? vqa_leave_one_out_accuracy(pred, it->second) : 0.0;
    }
    if (answers.empty()) {
        fail("%s: no answers", p.pred_path.c_str());
    }
    const int64_t n_missing = (int64_t) anns.size() - (int64_t) used.size();
    if (n_missing > 0) {
        GLM_LOG_WARN("vqa-score textvqa: %lld of %zu annotated questions have no answer; the accuracy is over the "
                     "%zu answers, as eval_textvqa.py computes it\n",
                     (long long) n_missing, anns.size(), answers.size());
    }
    vqa_score_result r;
    r.metrics = json{ { "bench", "textvqa" },
                      { "n_samples", (int64_t) answers.size() },
                      { "n_missing", n_missing },
                      { "accuracy", 100. * (sum / (double) answers.size()) } };
    return r;
}

}  // namespace glm
