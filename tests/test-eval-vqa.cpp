// End-to-end tests of eval-vqa on the tiny golden LLaVA (tests/golden/llava) over small sets in each benchmark's
// LLaVA form (POPE-style JSONL, ScienceQA JSON with a text-only problem, MMBench TSV with base64 images): answers
// JSONL after merge, sharded + merged equals unsharded, a stopped run resumes, vqa-score reads what eval-vqa writes,
// and bad input fails naming the file and line. The model is random, so the answers are not meaningful.
#include "common.h"
#include "eval/run-vqa.h"
#include "eval/vqa-judge.h"
#include "eval/vqa-llava-bench.h"
#include "eval/vqa-score.h"
#include "util/golden-models.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace glm;
using json   = nlohmann::json;
namespace fs = std::filesystem;

static const std::string k_root = GLM_GOLDEN_ROOT;

static test::golden_llava & llava() {
    static bool               quiet = (log_route_ggml(false), true);
    static test::golden_llava m{ k_root + "/llava" };
    (void) quiet;
    return m;
}

struct vqa_test_models : eval_models {
    int              n_lmm = 0;
    vision_encoder & encoder() override { return llava().enc; }
    lmm_session &    lmm() override {
        ++n_lmm;
        return llava().ls;
    }
    refiner &               refine() override { fail("eval-vqa needs no refiner"); }
    const phrase_chunker &  chunker() override { fail("eval-vqa needs no chunker"); }
    const word_similarity & words() override { fail("eval-vqa needs no word similarity"); }
    text_similarity &       text() override { fail("eval-vqa needs no text similarity"); }
};

static std::string write(const std::string & path, const std::string & text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

static std::string read_text(const std::string & path) {
    std::ifstream     in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A POPE-shaped set: 5 questions of category "random" on two images, their labels under coco/.
static std::string make_pope(const std::string & dir) {
    fs::create_directories(dir + "/images");
    fs::copy_file(k_root + "/llava/image.png", dir + "/images/a.png", fs::copy_options::overwrite_existing);
    fs::copy_file(k_root + "/llava/image_mtmd_preproc.png", dir + "/images/b.png", fs::copy_options::overwrite_existing);
    std::string q, l;
    const char * objs[] = { "dog", "cat", "ring", "box", "tree" };
    for (int i = 0; i < 5; ++i) {
        const std::string img = i % 2 ? "b.png" : "a.png";
        const std::string txt = std::string("Is there a ") + objs[i] + " in the image?";
        q += json{ { "question_id", 100 + i }, { "image", img }, { "text", txt + "\nAnswer the question using a single "
                                                                                  "word or phrase." },
                   { "category", "random" } }.dump() + "\n";
        l += json{ { "question_id", i + 1 }, { "image", img }, { "text", txt }, { "label", i % 3 ? "yes" : "no" } }.dump() +
             "\n";
    }
    write(dir + "/coco/coco_pope_random.json", l);
    return write(dir + "/llava_pope_test.jsonl", q);
}

static vqa_run_params pope_params(const std::string & dir, const std::string & out) {
    vqa_run_params p;
    p.bench                 = vqa_bench::pope;
    p.questions_path        = dir + "/llava_pope_test.jsonl";
    p.run.images_dir        = dir + "/images";
    p.run.out_dir           = out;
    p.run.progress.enabled  = false;
    p.run.stage1.llm_name   = "llava-tiny-f32.gguf";
    p.model_id              = "llava-tiny";
    p.max_new_tokens        = 6;
    return p;
}

TEST(EvalVqa, PopeRunMergeScore) {
    const std::string dir = test::fresh_tmp_dir("eval-vqa-pope");
    make_pope(dir);
    vqa_test_models m;
    const auto      s = vqa_run(m, pope_params(dir, dir + "/run"));
    EXPECT_EQ(s.run.n_computed, 5);
    EXPECT_EQ(m.n_lmm, 5);
    const int64_t n = vqa_merge_answers({ dir + "/run" }, dir + "/answers.jsonl", false);
    EXPECT_EQ(n, 5);
    const auto answers = vqa_read_answers(dir + "/answers.jsonl");
    ASSERT_EQ(answers.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(answers[i].question_id, 100 + i);  // question-file order
        EXPECT_NE(answers[i].prompt.find("Answer the question using a single word or phrase."), std::string::npos);
    }
    // what eval-vqa writes is what vqa-score reads
    vqa_score_params sp;
    sp.bench     = vqa_bench::pope;
    sp.pred_path = dir + "/answers.jsonl";
    sp.gt_path   = dir + "/coco";
    const auto r = vqa_score(sp);
    EXPECT_EQ(r.metrics["categories"]["random"]["n"], 5);

    // a rerun has nothing left: no model call
    vqa_test_models m2;
    const auto      s2 = vqa_run(m2, pope_params(dir, dir + "/run"));
    EXPECT_EQ(s2.run.n_computed, 0);
    EXPECT_EQ(s2.run.n_skipped, 5);
    EXPECT_EQ(m2.n_lmm, 0);
}

TEST(EvalVqa, ShardedAndResumedEqualsUnsharded) {
    const std::string dir = test::fresh_tmp_dir("eval-vqa-shards");
    make_pope(dir);
    vqa_test_models m;
    vqa_run(m, pope_params(dir, dir + "/full"));
    vqa_merge_answers({ dir + "/full" }, dir + "/full.jsonl", false);
    // two shards in two folders; the second stopped after one question, then resumed
    auto p0               = pope_params(dir, dir + "/s0");
    p0.run.shard          = { 2, 0 };
    auto p1               = pope_params(dir, dir + "/s1");
    p1.run.shard          = { 2, 1 };
    p1.run.max_images     = 1;
    EXPECT_EQ(vqa_run(m, p0).run.n_computed, 3);  // ceil(5 / 2)
    const auto first = vqa_run(m, p1);
    EXPECT_TRUE(first.run.stopped_early);
    EXPECT_EQ(first.run.n_computed, 1);
    // merging now is refused (a question has no result), unless partial
    EXPECT_THROW(vqa_merge_answers({ dir + "/s0", dir + "/s1" }, dir + "/part.jsonl", false), glm::error);
    int64_t n_missing = 0;
    EXPECT_EQ(vqa_merge_answers({ dir + "/s0", dir + "/s1" }, dir + "/part.jsonl", true, &n_missing), 4);
    EXPECT_EQ(n_missing, 1);
    p1.run.max_images = -1;
    const auto second = vqa_run(m, p1);
    EXPECT_EQ(second.run.n_skipped, 1);
    EXPECT_EQ(second.run.n_computed, 1);
    vqa_merge_answers({ dir + "/s0", dir + "/s1" }, dir + "/sharded.jsonl", false);
    // the answer ids name the question position, so the files are equal byte for byte
    EXPECT_EQ(read_text(dir + "/sharded.jsonl"), read_text(dir + "/full.jsonl"));

    // other settings into the same folder are refused, never mixed
    auto other           = pope_params(dir, dir + "/full");
    other.max_new_tokens = 7;
    EXPECT_THROW(vqa_run(m, other), glm::error);
}

TEST(EvalVqa, MissingImageNamesFileAndLine) {
    const std::string dir = test::fresh_tmp_dir("eval-vqa-missing");
    make_pope(dir);
    fs::remove(dir + "/images/b.png");
    vqa_test_models m;
    try {
        vqa_run(m, pope_params(dir, dir + "/run"));
        FAIL() << "no error";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("llava_pope_test.jsonl:2: question_id 101: image"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(m.n_lmm, 0);  // checked before any model call
}

TEST(EvalVqa, ScienceQAAndMMBenchFormats) {
    const std::string dir = test::fresh_tmp_dir("eval-vqa-formats");
    fs::create_directories(dir + "/images/10");
    fs::copy_file(k_root + "/llava/image.png", dir + "/images/10/image.png");
    // ScienceQA: one image problem, one text-only problem (not run: the session needs an image)
    write(dir + "/llava_test_CQM-A.json",
          "[{\"id\": \"10\", \"image\": \"10/image.png\", \"conversations\": [{\"from\": \"human\", \"value\": "
          "\"<image>\\nWhich is it?\\nOptions: (A) x (B) y\"}]}, {\"id\": \"11\", \"conversations\": [{\"from\": "
          "\"human\", \"value\": \"Text only?\\nOptions: (A) x (B) y\"}]}]");
    vqa_run_params p;
    p.bench                = vqa_bench::scienceqa;
    p.questions_path       = dir + "/llava_test_CQM-A.json";
    p.run.images_dir       = dir + "/images";
    p.run.out_dir          = dir + "/sqa";
    p.run.progress.enabled = false;
    p.max_new_tokens       = 4;
    vqa_test_models m;
    const auto      s = vqa_run(m, p);
    EXPECT_EQ(s.n_text_only, 1);
    EXPECT_EQ(m.n_lmm, 1);
    EXPECT_EQ(vqa_merge_answers({ dir + "/sqa" }, dir + "/sqa.jsonl", false), 1);
    const auto a = vqa_read_answers(dir + "/sqa.jsonl");
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].question_id, "10");
    EXPECT_EQ(a[0].prompt, "<image>\nWhich is it?\nOptions: (A) x (B) y\nAnswer with the option's letter from the "
                           "given choices directly.");

    // MMBench: the image is base64 in the TSV; two rotations of one question
    const auto   png = read_file(k_root + "/llava/image.png");
    static const char * tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string  b64;
    for (size_t i = 0; i < png.size(); i += 3) {
        const uint32_t v = (uint32_t) png[i] << 16 | (i + 1 < png.size() ? (uint32_t) png[i + 1] << 8 : 0) |
                           (i + 2 < png.size() ? png[i + 2] : 0);
        b64 += tbl[v >> 18];
        b64 += tbl[(v >> 12) & 63];
        b64 += i + 1 < png.size() ? tbl[(v >> 6) & 63] : '=';
        b64 += i + 2 < png.size() ? tbl[v & 63] : '=';
    }
    EXPECT_EQ(vqa_base64_decode(b64, "test"), png);
    write(dir + "/mmb.tsv", "index\tquestion\thint\tA\tB\tanswer\tcategory\tl2-category\tsplit\timage\n"
                            "0\tWhat is it?\tnan\tring\tbox\tA\tc\tlogic_reasoning\tdev\t" + b64 + "\n"
                            "1000000\tWhat is it?\tnan\tbox\tring\tB\tc\tlogic_reasoning\tdev\t" + b64 + "\n");
    vqa_run_params mp      = p;
    mp.bench               = vqa_bench::mmbench;
    mp.questions_path      = dir + "/mmb.tsv";
    mp.run.out_dir         = dir + "/mmb";
    EXPECT_EQ(vqa_run(m, mp).run.n_computed, 2);
    vqa_merge_answers({ dir + "/mmb" }, dir + "/mmb.jsonl", false);
    vqa_score_params sp;
    sp.bench     = vqa_bench::mmbench;
    sp.pred_path = dir + "/mmb.jsonl";
    sp.gt_path   = dir + "/mmb.tsv";
    const auto r = vqa_score(sp);
    EXPECT_EQ(r.metrics["n_questions"], 1);
    EXPECT_EQ(r.metrics["n_rows"], 2);
}

TEST(EvalVqa, LlavaBenchLocalJudge) {
    const std::string dir = test::fresh_tmp_dir("eval-vqa-llava-bench");
    write(dir + "/questions.jsonl", "{\"question_id\": 0, \"image\": \"a.jpg\", \"text\": \"What is it?\", \"category\": "
                                    "\"conv\"}\n{\"question_id\": 1, \"image\": \"a.jpg\", \"text\": \"Describe it.\", "
                                    "\"category\": \"detail\"}\n");
    write(dir + "/context.jsonl", "{\"image\": \"a.jpg\", \"caption\": \"A red ring.\"}\n");
    write(dir + "/rule.json", "{\"llava_bench_conv\": {\"role\": \"Assistant\", \"prompt\": \"Rate.\"}, "
                              "\"llava_bench_detail\": {\"role\": \"Assistant\", \"prompt\": \"Rate.\"}}");
    write(dir + "/ref.jsonl", "{\"question_id\": 0, \"text\": \"A ring.\"}\n{\"question_id\": 1, \"text\": \"Red.\"}\n");
    write(dir + "/ans.jsonl", "{\"question_id\": 0, \"text\": \"ring\", \"answer_id\": \"x0\"}\n{\"question_id\": 1, "
                              "\"text\": \"red\", \"answer_id\": \"x1\"}\n");
    llava_bench_params p;
    p.questions_path = dir + "/questions.jsonl";
    p.context_path   = dir + "/context.jsonl";
    p.rule_path      = dir + "/rule.json";
    p.reference_path = dir + "/ref.jsonl";
    p.answers_path   = dir + "/ans.jsonl";
    p.reviews_path   = dir + "/reviews.jsonl";
    llm_judge_params jp;
    jp.model         = k_root + "/llava/llava-tiny-f32.gguf";
    jp.chat_template = "vicuna";  // the tiny GGUF has none of its own
    jp.n_ctx         = 512;
    jp.max_tokens    = 6;
    jp.n_threads     = 2;
    jp.n_gpu_layers  = 0;
    llm_judge judge(jp);
    int       n_asked = 0;
    auto      ask     = [&](const std::string & s, const std::string & u) {
        ++n_asked;
        return judge.ask(s, u);
    };
    EXPECT_EQ(llava_bench_review(p, ask), 2);
    EXPECT_EQ(llava_bench_review(p, ask), 0);  // resumed: nothing left to ask
    EXPECT_EQ(n_asked, 2);
    // the same request twice gives the same reply (greedy)
    EXPECT_EQ(judge.ask("s", "u"), judge.ask("s", "u"));
    const json s = llava_bench_summary(p.reviews_path);
    EXPECT_EQ(s["all"]["n"], 2);
    EXPECT_TRUE(s.contains("llava_bench_conv"));
    // the answers file must pair with the questions by line
    write(dir + "/ans.jsonl", "{\"question_id\": 1, \"text\": \"red\", \"answer_id\": \"x1\"}\n{\"question_id\": 0, "
                              "\"text\": \"ring\", \"answer_id\": \"x0\"}\n");
    EXPECT_THROW(llava_bench_requests(p), glm::error);
}
