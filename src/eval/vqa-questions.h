// eval/vqa-questions.h: the question files of the general VQA benchmarks in the form LLaVA-1.5's evaluation prepares
// them, LLaVA's answers JSONL, and LLaVA-1.5's per-benchmark prompt and generation settings.
//
// Question files:
//  - JSONL (VQAv2, GQA, VizWiz, TextVQA, POPE, LLaVA-Bench; llava/eval/model_vqa_loader.py and model_vqa.py): one
//    object per line with question_id (number or string), image (file relative to the image folder) and text (the
//    question as LLaVA feeds it, its suffix such as "\nAnswer the question using a single word or phrase." included);
//    POPE's adds category;
//  - ScienceQA (llava_test_CQM-A.json, model_vqa_science.py): a JSON array of {id, image (absent for text-only
//    problems), conversations: [{from: "human", value}, ...]}.
// Answers JSONL (what model_vqa_loader.py writes): {question_id, prompt, text, answer_id, model_id, metadata}.
//
// Prompts and settings (LLaVA-1.5, scripts/v1_5/eval/*.sh with the model_vqa*.py they call): the user turn is
// "<image>\n" + the question text, in conversation template vicuna_v1, greedy (--temperature 0, one beam); up to 128
// new tokens for model_vqa_loader.py (VQAv2, GQA, VizWiz, TextVQA, POPE) and 1024 for model_vqa_science.py (ScienceQA,
// with --single-pred-prompt: "\nAnswer with the option's letter from the given choices directly." appended) and
// model_vqa.py (LLaVA-Bench). A text-only ScienceQA problem gets no image.
//
// Every reader fails with the file and line (1-based) of a malformed record, a missing or mistyped field, or a
// duplicate question id. Thread safety: pure functions apart from reading files.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

enum class vqa_bench { vqav2, gqa, vizwiz, textvqa, pope, scienceqa, mmbench, llava_bench };

// "vqav2", "gqa", "vizwiz", "textvqa", "pope", "scienceqa", "mmbench", "llava-bench"; an unknown name fails listing
// them.
vqa_bench   vqa_bench_from_name(const std::string & name);
const char * vqa_bench_name(vqa_bench b);
std::string vqa_bench_names();  // "vqav2, gqa, ..." for messages and --help

// A question id as the identity Python's dicts give it: the JSON value (1 and "1" are different questions).
std::string vqa_id_key(const nlohmann::json & id);

struct vqa_question {
    nlohmann::json question_id;  // as written in the file
    std::string    key;          // vqa_id_key(question_id)
    std::string    image;        // "" = no image (text-only ScienceQA problems)
    std::string    text;         // the question as the file gives it (ScienceQA: the human turn's value)
    std::string    category;     // POPE's category, "" elsewhere
    int64_t        line = 0;     // 1-based line (JSONL) or array index + 1 (ScienceQA JSON)
};

// LLaVA's question JSONL (question_id, image, text; category kept when present).
std::vector<vqa_question> vqa_read_questions_jsonl(const std::string & path);
// LLaVA's ScienceQA question JSON (llava_test_CQM-A.json).
std::vector<vqa_question> vqa_read_questions_sqa(const std::string & path);
// The question file of a benchmark in its LLaVA form (ScienceQA's JSON, JSONL otherwise).
std::vector<vqa_question> vqa_read_questions(vqa_bench b, const std::string & path);

// What one question becomes for the model.
struct vqa_prompt {
    std::string user_text;         // the user turn after the image placeholder ("<image>\n" + this when has_image)
    std::string answer_prompt;     // the answers file's "prompt" field, as LLaVA writes it
    bool        has_image = true;
    std::string conv_mode = "vicuna_v1";  // LLaVA's conversation template
    std::string templ;                    // that template as gen_params.templ ("<image>" and "{prompt}" placeholders)
    int         max_new_tokens = 128;
    float       temperature    = 0.0f;    // 0 = greedy
    int         num_beams      = 1;
};

vqa_prompt vqa_make_prompt(vqa_bench b, const vqa_question & q);

// The whole prompt text as LLaVA's conv.get_prompt() gives it: the template with {prompt} = user_text, and without
// "<image>\n" for a question without image.
std::string vqa_full_prompt(const vqa_prompt & p);

// LLaVA's conv_vicuna_v1 with one image turn: system + " USER: <image>\n{prompt} ASSISTANT:" (SeparatorStyle.TWO).
extern const char * const k_vqa_template_vicuna_v1;

// One line of LLaVA's answers JSONL (model_vqa_loader.py's fields; answer_id is given by the caller).
nlohmann::json vqa_answer_record(const vqa_question & q, const vqa_prompt & p, const std::string & text,
                                 const std::string & answer_id, const std::string & model_id);

struct vqa_answer {
    nlohmann::json question_id;
    std::string    key;     // vqa_id_key(question_id)
    std::string    text;
    std::string    prompt;  // "" when the line has none (has_prompt false)
    bool           has_prompt = false;
    int64_t        line = 0;
};

// LLaVA's answers JSONL: every non-blank line an object with question_id (number or string) and text (string);
// prompt kept when present. With unique_ids, a second answer to the same question id fails naming both lines
// (TextVQA's question_id is the image id, shared by the questions of an image: its scorer checks (id, question)).
std::vector<vqa_answer> vqa_read_answers(const std::string & path, bool unique_ids = true);

}  // namespace glm
