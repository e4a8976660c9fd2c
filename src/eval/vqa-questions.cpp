// eval/vqa-questions.cpp: LLaVA-format question and answer files, and LLaVA-1.5's prompts (see vqa-questions.h).
#include "eval/vqa-questions.h"

#include "common.h"
#include "eval/cocoeval.h"
#include "eval/vqa-text.h"

#include <fstream>
#include <map>

namespace glm {

using json = nlohmann::json;

static const struct {
    vqa_bench    b;
    const char * name;
} k_benches[] = {
    { vqa_bench::vqav2, "vqav2" },         { vqa_bench::gqa, "gqa" },   { vqa_bench::vizwiz, "vizwiz" },
    { vqa_bench::textvqa, "textvqa" },     { vqa_bench::pope, "pope" }, { vqa_bench::scienceqa, "scienceqa" },
    { vqa_bench::mmbench, "mmbench" },     { vqa_bench::llava_bench, "llava-bench" },
};

std::string vqa_bench_names() {
    std::string s;
    for (const auto & e : k_benches) {
        s += (s.empty() ? "" : ", ") + std::string(e.name);
    }
    return s;
}

vqa_bench vqa_bench_from_name(const std::string & name) {
    for (const auto & e : k_benches) {
        if (name == e.name) {
            return e.b;
        }
    }
    fail("unknown benchmark '%s' (expected one of: %s)", name.c_str(), vqa_bench_names().c_str());
}

const char * vqa_bench_name(vqa_bench b) {
    for (const auto & e : k_benches) {
        if (e.b == b) {
            return e.name;
        }
    }
    return "?";
}

std::string vqa_id_key(const json & id) { return id.dump(); }

// Calls fn(line_number, object) for every non-blank line of a JSONL file.
template <typename F> static void read_jsonl(const std::string & path, F fn) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail("%s: cannot open", path.c_str());
    }
    std::string line;
    int64_t     n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find_first_not_of(" \t\r\n") == std::string::npos) {
            continue;
        }
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception & e) {
            fail("%s:%lld: not a JSON object (%s)", path.c_str(), (long long) n, e.what());
        }
        if (!j.is_object()) {
            fail("%s:%lld: expected a JSON object, got %s", path.c_str(), (long long) n, j.type_name());
        }
        fn(n, j);
    }
}

static json required_id(const json & j, const char * field, const std::string & where) {
    if (!j.contains(field)) {
        fail("%s: no \"%s\"", where.c_str(), field);
    }
    const json & id = j[field];
    if (!id.is_string() && !id.is_number_integer()) {
        fail("%s: \"%s\" must be an integer or a string, got %s", where.c_str(), field, id.type_name());
    }
    return id;
}

static std::string required_string(const json & j, const char * field, const std::string & where) {
    if (!j.contains(field) || !j[field].is_string()) {
        fail("%s: \"%s\" must be a string, got %s", where.c_str(), field,
             j.contains(field) ? j[field].type_name() : "nothing");
    }
    return j[field].get<std::string>();
}

static std::string where_line(const std::string & path, int64_t line) {
    return strfmt("%s:%lld", path.c_str(), (long long) line);
}

std::vector<vqa_question> vqa_read_questions_jsonl(const std::string & path) {
    std::vector<vqa_question>      out;
    std::map<std::string, int64_t> seen;
    read_jsonl(path, [&](int64_t n, const json & j) {
        const std::string w = where_line(path, n);
        vqa_question      q;
        q.question_id = required_id(j, "question_id", w);
        q.key         = vqa_id_key(q.question_id);
        q.image       = required_string(j, "image", w);
        q.text        = required_string(j, "text", w);
        if (j.contains("category")) {
            q.category = required_string(j, "category", w);
        }
        q.line         = n;
        const auto ins = seen.emplace(q.key, n);
        if (!ins.second) {
            fail("%s: question_id %s again (first on line %lld)", w.c_str(), q.key.c_str(), (long long) ins.first->second);
        }
        out.push_back(std::move(q));
    });
    return out;
}

std::vector<vqa_question> vqa_read_questions_sqa(const std::string & path) {
    const json j = coco_read_json(path);
    if (!j.is_array()) {
        fail("%s: expected a JSON array of LLaVA ScienceQA questions (llava_test_CQM-A.json), got %s", path.c_str(),
             j.type_name());
    }
    std::vector<vqa_question>      out;
    std::map<std::string, int64_t> seen;
    for (size_t i = 0; i < j.size(); ++i) {
        const std::string w = strfmt("%s: question %zu", path.c_str(), i);
        const json &      r = j[i];
        if (!r.is_object()) {
            fail("%s: expected an object, got %s", w.c_str(), r.type_name());
        }
        vqa_question q;
        q.question_id = required_id(r, "id", w);
        q.key         = vqa_id_key(q.question_id);
        if (r.contains("image")) {
            q.image = required_string(r, "image", w);
        }
        if (!r.contains("conversations") || !r["conversations"].is_array() || r["conversations"].empty() ||
            !r["conversations"][0].is_object()) {
            fail("%s: \"conversations\" must be a non-empty array of {from, value}", w.c_str());
        }
        q.text         = required_string(r["conversations"][0], "value", w + " conversations[0]");
        q.line         = (int64_t) i + 1;
        const auto ins = seen.emplace(q.key, q.line);
        if (!ins.second) {
            fail("%s: id %s again (first at question %lld)", w.c_str(), q.key.c_str(), (long long) ins.first->second - 1);
        }
        out.push_back(std::move(q));
    }
    return out;
}

std::vector<vqa_question> vqa_read_questions(vqa_bench b, const std::string & path) {
    if (b == vqa_bench::mmbench) {
        fail("%s: MMBench's questions are its TSV (mmbench_read_tsv)", path.c_str());
    }
    return b == vqa_bench::scienceqa ? vqa_read_questions_sqa(path) : vqa_read_questions_jsonl(path);
}


const char * const k_vqa_template_vicuna_v1 =
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, "
    "and polite answers to the user's questions. USER: <image>\n{prompt} ASSISTANT:";

vqa_prompt vqa_make_prompt(vqa_bench b, const vqa_question & q) {
    vqa_prompt p;
    p.templ = k_vqa_template_vicuna_v1;
    switch (b) {
        case vqa_bench::vqav2:
        case vqa_bench::gqa:
        case vqa_bench::vizwiz:
        case vqa_bench::textvqa:
        case vqa_bench::pope:
            // model_vqa_loader.py: the text as the question file gives it (its suffix included), 128 tokens
            p.user_text      = q.text;
            p.answer_prompt  = q.text;
            p.max_new_tokens = 128;
            break;
        case vqa_bench::mmbench:
            fail("MMBench prompts come from its TSV rows (mmbench_make_prompt)");
        case vqa_bench::llava_bench:
            // model_vqa.py: the text as given, 1024 tokens
            p.user_text      = q.text;
            p.answer_prompt  = q.text;
            p.max_new_tokens = 1024;
            break;
        case vqa_bench::scienceqa: {
            // model_vqa_science.py --single-pred-prompt
            std::string qs;
            for (size_t i = 0, k; i <= q.text.size(); i = k + 7) {
                k = q.text.find("<image>", i);
                if (k == std::string::npos) {
                    qs += q.text.substr(i);
                    break;
                }
                qs += q.text.substr(i, k - i);
            }
            qs                = py_strip(qs);
            const char * sfx  = "\nAnswer with the option's letter from the given choices directly.";
            p.has_image       = !q.image.empty();
            p.user_text       = qs + sfx;
            p.answer_prompt   = (p.has_image ? "<image>\n" : "") + qs + sfx;
            p.max_new_tokens  = 1024;
            break;
        }
    }
    return p;
}

std::string vqa_full_prompt(const vqa_prompt & p) {
    std::string t = p.templ;
    if (!p.has_image) {
        const size_t at = t.find("<image>\n");
        if (at != std::string::npos) {
            t.erase(at, 8);
        }
    }
    const size_t at = t.find("{prompt}");
    if (at != std::string::npos) {
        t.replace(at, 8, p.user_text);
    }
    return t;
}

json vqa_answer_record(const vqa_question & q, const vqa_prompt & p, const std::string & text,
                       const std::string & answer_id, const std::string & model_id) {
    return json{ { "question_id", q.question_id }, { "prompt", p.answer_prompt }, { "text", text },
                 { "answer_id", answer_id },       { "model_id", model_id },      { "metadata", json::object() } };
}

std::vector<vqa_answer> vqa_read_answers(const std::string & path, bool unique_ids) {
    std::vector<vqa_answer>        out;
    std::map<std::string, int64_t> seen;
    read_jsonl(path, [&](int64_t n, const json & j) {
        const std::string w = where_line(path, n);
        vqa_answer        a;
        a.question_id = required_id(j, "question_id", w);
        a.key         = vqa_id_key(a.question_id);
        a.text        = required_string(j, "text", w);
        if (j.contains("prompt")) {
            a.prompt     = required_string(j, "prompt", w);
            a.has_prompt = true;
        }
        a.line         = n;
        const auto ins = seen.emplace(a.key, n);
        if (unique_ids && !ins.second) {
            fail("%s: a second answer to question_id %s (the first is on line %lld)", w.c_str(), a.key.c_str(),
                 (long long) ins.first->second);
        }
        out.push_back(std::move(a));
    });
    return out;
}

}  // namespace glm
