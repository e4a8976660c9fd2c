// eval/run-vqa.cpp: eval-vqa over the shared run protocol, and the merge into LLaVA's answers JSONL (see run-vqa.h).
#include "eval/run-vqa.h"

#include "common.h"
#include "eval/vqa-mmbench.h"

#include <filesystem>
#include <fstream>

namespace glm {

using json = nlohmann::json;

std::vector<uint8_t> vqa_base64_decode(const std::string & s, const std::string & what) {
    std::vector<uint8_t> out;
    uint32_t             acc = 0;
    int                  n = 0, pad = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        int        v;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+') {
            v = 62;
        } else if (c == '/') {
            v = 63;
        } else if (c == '=') {
            ++pad;
            continue;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        } else {
            fail("%s: not base64 (character %zu)", what.c_str(), i);
        }
        if (pad) {
            fail("%s: not base64 (data after '=')", what.c_str());
        }
        acc = (acc << 6) | (uint32_t) v;
        if (++n == 4) {
            out.push_back((uint8_t) (acc >> 16));
            out.push_back((uint8_t) (acc >> 8));
            out.push_back((uint8_t) acc);
            acc = 0;
            n   = 0;
        }
    }
    if (n == 2) {
        out.push_back((uint8_t) (acc >> 4));
    } else if (n == 3) {
        out.push_back((uint8_t) (acc >> 10));
        out.push_back((uint8_t) (acc >> 2));
    } else if (n == 1) {
        fail("%s: not base64 (truncated)", what.c_str());
    }
    return out;
}

namespace {

// One question to run, whatever the benchmark's file format.
struct vqa_item {
    vqa_question q;
    vqa_prompt   prompt;
    std::string  image_base64;  // MMBench: the image itself
};

std::vector<vqa_item> load_items(const vqa_run_params & p) {
    std::vector<vqa_item> items;
    if (p.bench == vqa_bench::mmbench) {
        const mmbench_table t = mmbench_read_tsv(p.questions_path);
        for (const auto & r : t.rows) {
            vqa_item it;
            it.q.question_id = r.index;
            it.q.key         = vqa_id_key(it.q.question_id);
            it.q.text        = mmbench_question_text(r);
            it.q.line        = r.line;
            it.prompt        = mmbench_make_prompt(r);
            it.image_base64  = r.image_base64;
            if (it.image_base64.empty()) {
                fail("%s:%lld: index %lld has no image", p.questions_path.c_str(), (long long) r.line,
                     (long long) r.index);
            }
            items.push_back(std::move(it));
        }
        return items;
    }
    for (auto & q : vqa_read_questions(p.bench, p.questions_path)) {
        vqa_item it;
        it.prompt = vqa_make_prompt(p.bench, q);
        it.q      = std::move(q);
        items.push_back(std::move(it));
    }
    return items;
}

std::string item_id(int64_t i) { return strfmt("%08lld", (long long) i); }

}  // namespace

vqa_run_summary vqa_run(eval_models & m, const vqa_run_params & p) {
    eval_run_check(p.run);
    if (p.run.stage != 0) {
        fail("eval-vqa has one stage (no --stage)");
    }
    if (p.questions_path.empty()) {
        fail("no question file (--questions)");
    }
    if (p.bench == vqa_bench::llava_bench) {
        GLM_LOG_INFO("eval-vqa llava-bench: answers only; LLaVA-Bench's score needs an LLM judge (GPT-4 in the paper)\n");
    }
    const double                t0    = now_s();
    const std::vector<vqa_item> items = load_items(p);

    // every image of this shard must exist before the first model call
    int64_t b = 0, e = 0;
    eval_chunk_range((int64_t) items.size(), p.run.shard, &b, &e);
    vqa_run_summary sum;
    for (int64_t i = b; i < e; ++i) {
        const vqa_item & it = items[i];
        if (!it.prompt.has_image) {
            ++sum.n_text_only;
            continue;
        }
        if (p.bench != vqa_bench::mmbench && !file_exists(p.run.images_dir + "/" + it.q.image)) {
            fail("%s:%lld: question_id %s: image %s/%s is missing", p.questions_path.c_str(), (long long) it.q.line,
                 it.q.key.c_str(), p.run.images_dir.c_str(), it.q.image.c_str());
        }
    }
    if (sum.n_text_only > 0) {
        GLM_LOG_WARN("eval-vqa %s: %lld text-only questions are not run (the LMM session needs an image)\n",
                     vqa_bench_name(p.bench), (long long) sum.n_text_only);
    }

    const std::string templ = p.templ.empty() ? std::string(k_vqa_template_vicuna_v1) : p.templ;
    eval_run_images_params e_params;
    e_params.kind     = "vqa";
    e_params.name     = "eval-vqa";
    e_params.uses_lmm = false;  // no attention stage: process() runs the LMM itself
    e_params.settings = json{ { "bench", vqa_bench_name(p.bench) },
                              { "questions", eval_base_name(p.questions_path) },
                              { "questions_size", (int64_t) std::filesystem::file_size(p.questions_path) },
                              { "model_id", p.model_id },
                              { "template", templ },
                              { "max_new_tokens", p.max_new_tokens },
                              { "llm", p.run.stage1.llm_name },
                              { "vision", p.run.stage1.vision_name },
                              { "lora", p.run.stage1.lora_name } };
    e_params.manifest   = json{ { "questions_path", abs_path(p.questions_path) } };
    e_params.n_images   = (int64_t) items.size();
    e_params.t_start    = t0;
    e_params.id         = [](int64_t i) { return item_id(i); };
    e_params.image_path = [&](int64_t i) {
        return items[i].q.image.empty() ? std::string() : p.run.images_dir + "/" + items[i].q.image;
    };
    e_params.process = [&](int64_t i, const std::string & path, const std::string &, eval_run_summary &) {
        const vqa_item & it = items[i];
        json             rec;
        if (!it.prompt.has_image) {
            rec = json{ { "question_id", it.q.question_id }, { "skipped", "text-only" } };
        } else {
            const image_u8 img =
                it.image_base64.empty()
                    ? image_load(path)
                    : [&] {
                          const auto bytes = vqa_base64_decode(it.image_base64, strfmt("%s:%lld image", p.questions_path.c_str(),
                                                                                      (long long) it.q.line));
                          return image_decode(bytes.data(), bytes.size(),
                                              strfmt("%s:%lld image", p.questions_path.c_str(), (long long) it.q.line));
                      }();
            gen_params gp;
            gp.prompt    = it.prompt.user_text;
            gp.templ     = templ;
            gp.n_predict = p.max_new_tokens > 0 ? p.max_new_tokens : it.prompt.max_new_tokens;
            gp.temp      = it.prompt.temperature;
            const gen_result g = m.attend(img, gp, attn_heads::all).out;
            rec = vqa_answer_record(it.q, it.prompt, g.answer, strfmt("%s-%s", vqa_bench_name(p.bench), item_id(i).c_str()),
                                    p.model_id);
        }
        rec["index"]    = i;
        rec["complete"] = true;
        return rec;
    };
    sum.run = eval_run_images(m, p.run, e_params);
    return sum;
}

int64_t vqa_merge_answers(const std::vector<std::string> & run_dirs, const std::string & out_path, bool allow_partial,
                          int64_t * n_missing_out) {
    const json        manifest = eval_manifest_of_shards(run_dirs, "vqa");
    const std::string qpath    = manifest.value("questions_path", "");
    vqa_run_params    p;
    p.bench          = vqa_bench_from_name(manifest["settings"]["bench"].get<std::string>());
    p.questions_path = qpath;
    const auto items = load_items(p);
    std::ofstream out(out_path, std::ios::binary);
    if (!out) {
        fail("%s: cannot write", out_path.c_str());
    }
    int64_t     n = 0, n_missing = 0, n_skipped = 0;
    std::string first;
    for (size_t i = 0; i < items.size(); ++i) {
        const std::string path = eval_find_result(run_dirs, item_id((int64_t) i));
        if (path.empty()) {
            if (n_missing++ == 0) {
                first = items[i].q.key;
            }
            continue;
        }
        json rec = eval_read_result(path);
        if (rec.contains("skipped")) {
            ++n_skipped;
            continue;
        }
        rec.erase("index");
        rec.erase("complete");
        out << rec.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        ++n;
    }
    if (n_missing > 0 && !allow_partial) {
        out.close();
        std::filesystem::remove(out_path);
        fail("eval-vqa merge: %lld of %zu questions of %s have no result (first: question_id %s); finish the shards or "
             "give --partial",
             (long long) n_missing, items.size(), qpath.c_str(), first.c_str());
    }
    if (n_skipped > 0) {
        GLM_LOG_INFO("eval-vqa merge: %lld text-only questions left out\n", (long long) n_skipped);
    }
    if (n_missing_out) {
        *n_missing_out = n_missing;
    }
    return n;
}

}  // namespace glm
