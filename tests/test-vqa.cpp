// test-vqa: the general-VQA pieces one rule at a time: the answer normalisations, the parsing rules of POPE,
// ScienceQA and TextVQA, the question readers and LLaVA-1.5's prompts, and the errors for bad files (file and line
// named). The official numbers themselves are checked by test-golden-vqa.
#include "common.h"
#include "eval/vqa-mmbench.h"
#include "eval/vqa-questions.h"
#include "eval/vqa-score.h"
#include "eval/vqa-text.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("test-vqa-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
    std::string write(const std::string & name, const std::string & text) const {
        const fs::path p = path / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }
};

// The message of the glm::error fn throws ("" when it does not throw).
template <typename F> std::string error_of(F fn) {
    try {
        fn();
    } catch (const glm::error & e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(VqaText, EvalAIProcessor) {
    using glm::vqa_evalai_process;
    EXPECT_EQ(vqa_evalai_process("Yes,"), "yes");
    EXPECT_EQ(vqa_evalai_process("Two"), "2");
    EXPECT_EQ(vqa_evalai_process("A dog."), "dog");
    EXPECT_EQ(vqa_evalai_process("cant"), "can't");
    EXPECT_EQ(vqa_evalai_process("10,000"), "10000");       // LLaVA's processor drops every comma first
    EXPECT_EQ(vqa_evalai_process("3.5."), "3.5");           // a period before a digit stays
    EXPECT_EQ(vqa_evalai_process("t-shirt"), "t shirt");    // no space next to '-': replaced by a space
    EXPECT_EQ(vqa_evalai_process("T - Shirt"), "t shirt");  // a space next to '-': removed
    EXPECT_EQ(vqa_evalai_process("It's red"), "it 's red");
    EXPECT_EQ(vqa_evalai_process("yes\nno"), "yes no");
    EXPECT_EQ(vqa_evalai_process(std::string(40, '.')), std::string(8, '.'));  // at most 32 periods removed
    EXPECT_EQ(vqa_evalai_process("CAF\xc3\x89"), "caf\xc3\xa9");                // Unicode lower case
}

TEST(VqaText, ToolPunctuationCommaRule) {
    // the VQA tool's comma test is one comma between digits; EvalAI's a run of commas
    EXPECT_EQ(glm::vqa_tool_punctuation("1,2 (x)"), "12 x");
    EXPECT_EQ(glm::vqa_tool_punctuation("1,,2 (x)"), "1  2 x ");  // checked against vqaEval.py
    EXPECT_EQ(glm::vqa_tool_digit_article("The Two  dogs"), "2 dogs");
}

TEST(VqaText, PythonHelpers) {
    EXPECT_EQ(glm::py_round(2.675, 2), 2.67);  // the binary value is below 2.675, as Python's round sees it
    EXPECT_EQ(glm::py_round(46.666666, 2), 46.67);
    EXPECT_EQ(glm::py_split("a\xc2\xa0" "b  c"), (std::vector<std::string>{ "a", "b", "c" }));  // NBSP splits
    EXPECT_EQ(glm::py_lower("\xc4\xb0"), "i\xcc\x87");  // U+0130 lowers to two code points
    EXPECT_NE(error_of([] { glm::utf8_decode("\xff", "x.jsonl:3"); }).find("x.jsonl:3"), std::string::npos);
}

TEST(VqaText, LeaveOneOutAccuracy) {
    const std::vector<std::string> gt = { "a", "a", "a", "b", "b", "b", "b", "c", "c", "c" };
    // "a": ground truth a (3 of them) sees 2 others -> 2/3; the 7 others see 3 -> 1: (3*2/3 + 7) / 10
    EXPECT_DOUBLE_EQ(glm::vqa_leave_one_out_accuracy("a", gt), (2.0 / 3 + 2.0 / 3 + 2.0 / 3 + 7) / 10);
    EXPECT_EQ(glm::vqa_leave_one_out_accuracy("z", gt), 0.0);
}

TEST(VqaParse, PopeYesNo) {
    EXPECT_TRUE(glm::vqa_pope_is_no("No"));
    EXPECT_TRUE(glm::vqa_pope_is_no("No, there is not."));
    EXPECT_TRUE(glm::vqa_pope_is_no("There is no dog."));
    EXPECT_FALSE(glm::vqa_pope_is_no("NO"));           // only "No", "no", "not" count
    EXPECT_FALSE(glm::vqa_pope_is_no("Yes. No."));     // the first sentence only
    EXPECT_FALSE(glm::vqa_pope_is_no("Yes,no"));       // commas dropped: "Yesno"
    EXPECT_TRUE(glm::vqa_pope_is_no("no,"));           // "no"
    EXPECT_FALSE(glm::vqa_pope_is_no("no\nyes"));      // split on ' ' only: "no\nyes" is one word
}

TEST(VqaParse, ScienceQALetter) {
    using glm::vqa_sqa_parse_letter;
    EXPECT_EQ(vqa_sqa_parse_letter("B"), "B");
    EXPECT_EQ(vqa_sqa_parse_letter("C. the cat"), "C");
    EXPECT_EQ(vqa_sqa_parse_letter("B.the cat"), "FAILED");
    EXPECT_EQ(vqa_sqa_parse_letter("The answer is D."), "D");
    EXPECT_EQ(vqa_sqa_parse_letter("The answer is C"), "FAILED");  // needs one more character
    EXPECT_EQ(vqa_sqa_parse_letter("The answer is A. The answer is B."), "FAILED");  // two matches
    EXPECT_EQ(vqa_sqa_parse_letter("The answer is Z!"), "Z");       // then out of the options: wrong
    EXPECT_EQ(vqa_sqa_parse_letter("a"), "FAILED");
    EXPECT_EQ(vqa_sqa_parse_letter(""), "FAILED");
}

TEST(VqaParse, TextVQAQuestion) {
    using glm::vqa_textvqa_question;
    EXPECT_EQ(vqa_textvqa_question("What Is It?\nReference OCR token: a, b\nAnswer briefly.", "w"), "what is it?");
    EXPECT_EQ(vqa_textvqa_question("Reference OCR token: a\nWhat?\nAnswer.", "w"), "what?");
    EXPECT_EQ(vqa_textvqa_question("Q?\nAnswer.", "w"), "q?");
    EXPECT_EQ(vqa_textvqa_question("OCR tokens: x Question: Why? Short answer:", "w"), "why?");
    EXPECT_NE(error_of([] { vqa_textvqa_question("one line", "a.jsonl:7"); }).find("a.jsonl:7"), std::string::npos);
}

TEST(VqaQuestions, ReadersAndPrompts) {
    temp_dir    t;
    std::string qf = t.write("q.jsonl", "{\"question_id\": 5, \"image\": \"a.jpg\", \"text\": \"What?\\nAnswer the "
                                        "question using a single word or phrase.\", \"category\": \"random\"}\n\n"
                                        "{\"question_id\": \"x7\", \"image\": \"b.jpg\", \"text\": \"Why?\"}\n");
    const auto  qs = glm::vqa_read_questions_jsonl(qf);
    ASSERT_EQ(qs.size(), 2u);
    EXPECT_EQ(qs[0].key, "5");
    EXPECT_EQ(qs[1].key, "\"x7\"");
    EXPECT_EQ(qs[1].line, 3);
    EXPECT_EQ(qs[0].category, "random");
    const glm::vqa_prompt p = glm::vqa_make_prompt(glm::vqa_bench::vqav2, qs[0]);
    EXPECT_EQ(p.user_text, qs[0].text);
    EXPECT_EQ(p.max_new_tokens, 128);
    EXPECT_EQ(p.temperature, 0.0f);
    EXPECT_EQ(p.conv_mode, "vicuna_v1");
    const auto rec = glm::vqa_answer_record(qs[0], p, "Yes", "id1", "m");
    EXPECT_EQ(rec["question_id"], 5);
    EXPECT_EQ(rec["prompt"], qs[0].text);

    std::string sf = t.write("sqa.json",
                             "[{\"id\": \"10\", \"image\": \"10/image.png\", \"conversations\": [{\"from\": \"human\", "
                             "\"value\": \"<image>\\nWhich is it?\\nOptions: (A) x (B) y\"}, {\"from\": \"gpt\", "
                             "\"value\": \"A\"}]}, {\"id\": \"11\", \"conversations\": [{\"from\": \"human\", \"value\": "
                             "\"Text only?\\n\"}]}]");
    const auto sq = glm::vqa_read_questions(glm::vqa_bench::scienceqa, sf);
    ASSERT_EQ(sq.size(), 2u);
    const auto sp = glm::vqa_make_prompt(glm::vqa_bench::scienceqa, sq[0]);
    EXPECT_TRUE(sp.has_image);
    EXPECT_EQ(sp.user_text, "Which is it?\nOptions: (A) x (B) y\nAnswer with the option's letter from the given "
                            "choices directly.");
    EXPECT_EQ(sp.answer_prompt, "<image>\n" + sp.user_text);
    EXPECT_EQ(sp.max_new_tokens, 1024);
    const auto tp = glm::vqa_make_prompt(glm::vqa_bench::scienceqa, sq[1]);
    EXPECT_FALSE(tp.has_image);
    EXPECT_EQ(tp.answer_prompt, "Text only?\nAnswer with the option's letter from the given choices directly.");
}

TEST(VqaErrors, FilesAndLines) {
    temp_dir t;
    // malformed line, missing field, duplicate id: file and line named
    const std::string bad = t.write("bad.jsonl", "{\"question_id\": 1, \"text\": \"a\"}\n{not json\n");
    EXPECT_NE(error_of([&] { glm::vqa_read_answers(bad); }).find("bad.jsonl:2"), std::string::npos);
    const std::string notext = t.write("notext.jsonl", "{\"question_id\": 1, \"answer\": \"a\"}\n");
    EXPECT_NE(error_of([&] { glm::vqa_read_answers(notext); }).find("notext.jsonl:1: \"text\""), std::string::npos);
    const std::string dup = t.write("dup.jsonl", "{\"question_id\": 1, \"text\": \"a\"}\n{\"question_id\": 1, "
                                                 "\"text\": \"b\"}\n");
    const std::string e   = error_of([&] { glm::vqa_read_answers(dup); });
    EXPECT_NE(e.find("dup.jsonl:2"), std::string::npos);
    EXPECT_NE(e.find("line 1"), std::string::npos);
    EXPECT_NE(error_of([] { glm::vqa_bench_from_name("vqa3"); }).find("vqav2"), std::string::npos);

    // an answer to an unknown question (GQA)
    const std::string gq = t.write("gqa/q.json", "{\"1\": {\"isBalanced\": true, \"answer\": \"yes\", \"types\": "
                                                 "{\"structural\": \"verify\", \"semantic\": \"attr\"}}}");
    const std::string ga = t.write("gqa/a.jsonl", "{\"question_id\": \"1\", \"text\": \"Yes.\"}\n{\"question_id\": "
                                                  "\"2\", \"text\": \"no\"}\n");
    glm::vqa_score_params p;
    p.bench     = glm::vqa_bench::gqa;
    p.pred_path = ga;
    p.gt_path   = gq;
    EXPECT_NE(error_of([&] { glm::vqa_score(p); }).find("a.jsonl:2: question_id \"2\""), std::string::npos);
    t.write("gqa/a.jsonl", "{\"question_id\": \"1\", \"text\": \"Yes.\"}\n");
    EXPECT_EQ(glm::vqa_score(p).metrics["accuracy"].get<double>(), 100.0);
    t.write("gqa/a.jsonl", "{\"question_id\": 1, \"text\": \"Yes.\"}\n");  // 1 is not "1", as in Python
    EXPECT_NE(error_of([&] { glm::vqa_score(p); }).find("a.jsonl:1"), std::string::npos);
}

TEST(VqaErrors, PopeOrderChecked) {
    temp_dir t;
    t.write("pope/llava_pope_test.jsonl",
            "{\"question_id\": 1, \"image\": \"i1.jpg\", \"text\": \"Is there a dog in the image?\", \"category\": "
            "\"random\"}\n{\"question_id\": 2, \"image\": \"i2.jpg\", \"text\": \"Is there a cat in the image?\", "
            "\"category\": \"random\"}\n");
    t.write("pope/coco/coco_pope_random.json",
            "{\"question_id\": 1, \"image\": \"i1.jpg\", \"text\": \"Is there a dog in the image?\", \"label\": "
            "\"yes\"}\n{\"question_id\": 2, \"image\": \"i2.jpg\", \"text\": \"Is there a cat in the image?\", "
            "\"label\": \"no\"}\n");
    glm::vqa_score_params p;
    p.bench     = glm::vqa_bench::pope;
    p.gt_path   = (t.path / "pope/coco/coco_pope_random.json").string();
    p.pred_path = t.write("a.jsonl", "{\"question_id\": 1, \"text\": \"Yes\"}\n{\"question_id\": 2, \"text\": \"No\"}\n");
    const auto m = glm::vqa_score(p).metrics["categories"]["random"];
    EXPECT_EQ(m["accuracy"].get<double>(), 1.0);
    EXPECT_EQ(m["yes_ratio"].get<double>(), 0.5);
    // the official script would pair these by position with the wrong labels: refused
    p.pred_path = t.write("b.jsonl", "{\"question_id\": 2, \"text\": \"No\"}\n{\"question_id\": 1, \"text\": \"Yes\"}\n");
    EXPECT_NE(error_of([&] { glm::vqa_score(p); }).find("b.jsonl:1"), std::string::npos);
    p.pred_path = t.write("c.jsonl", "{\"question_id\": 1, \"text\": \"Yes\"}\n");
    EXPECT_NE(error_of([&] { glm::vqa_score(p); }).find("1 answers"), std::string::npos);
}

TEST(VqaMMBench, TsvPromptAndInference) {
    temp_dir          t;
    const std::string tsv = t.write(
        "mmb.tsv",
        "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\tl2-category\tsplit\timage\n"
        "0\tWhat is it?\t\"A hint\twith a tab\nand a newline, \"\"quoted\"\"\"\tred apple\tpear\tNone\t\tA\tc1\t"
        "logic_reasoning\tdev\tiVBO\n"
        "1000000\tWhat is it?\tnan\tpear\tred apple\t\t\tB\tc1\tlogic_reasoning\tdev\tiVBO\n");
    const glm::mmbench_table tb = glm::mmbench_read_tsv(tsv);
    ASSERT_EQ(tb.rows.size(), 2u);
    EXPECT_EQ(tb.rows[0].hint, "A hint\twith a tab\nand a newline, \"quoted\"");
    EXPECT_EQ(tb.rows[0].options, (std::vector<std::string>{ "red apple", "pear" }));  // "None" is missing, as pandas
    EXPECT_EQ(tb.rows[1].line, 4);  // the quoted newline moved the second row down a line
    EXPECT_FALSE(tb.rows[1].has_hint);
    const glm::vqa_prompt p = glm::mmbench_make_prompt(tb.rows[0]);
    EXPECT_EQ(p.answer_prompt, tb.rows[0].hint + "\nWhat is it?\nA. red apple\nB. pear");
    EXPECT_EQ(p.user_text, p.answer_prompt + "\nAnswer with the option's letter from the given choices directly.");
    EXPECT_EQ(p.max_new_tokens, 1024);

    const std::map<char, std::string> ch = { { 'A', "red apple" }, { 'B', "pear" } };
    EXPECT_EQ(glm::mmbench_can_infer("B.", ch), "B");
    EXPECT_EQ(glm::mmbench_can_infer("the red apple", ch), "A");                // by the option text
    EXPECT_EQ(glm::mmbench_can_infer("I think it is the red apple", ch), "");  // longer than twice the options
    EXPECT_EQ(glm::mmbench_can_infer("A or B", ch), "");                         // two letters, both texts absent
    EXPECT_EQ(glm::mmbench_can_infer("answer is **b**", ch), "B");
    EXPECT_EQ(glm::mmbench_can_infer("Z", ch), "Z");
    EXPECT_EQ(glm::mmbench_can_infer("Cannot determine the answer", ch), "Z");
    EXPECT_EQ(glm::mmbench_can_infer("It is A because the thing in the picture is red", ch), "");  // A too early

    glm::vqa_score_params sp;
    sp.bench     = glm::vqa_bench::mmbench;
    sp.gt_path   = tsv;
    sp.pred_path = t.write("a.jsonl", "{\"question_id\": 0, \"text\": \"A\"}\n{\"question_id\": 1000000, \"text\": "
                                      "\"B\"}\n");
    const auto res = glm::vqa_score(sp);
    const auto m   = res.metrics;
    EXPECT_TRUE(res.submission.is_null());  // no source/comment columns: LLaVA's converter could not run either
    EXPECT_EQ(m["accuracy"]["Overall"]["dev"].get<double>(), 1.0);
    EXPECT_EQ(m["accuracy"]["LR"]["dev"].get<double>(), 1.0);
    sp.pred_path = t.write("b.jsonl", "{\"question_id\": 0, \"text\": \"A\"}\n");  // a rotated copy unanswered
    EXPECT_NE(error_of([&] { glm::vqa_score(sp); }).find("index 1000000"), std::string::npos);
}
