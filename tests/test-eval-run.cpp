// End-to-end tests of the evaluation runners on datasets the test builds itself: toy-world scenes with their COCO
// ground truth (eval-coco) and a GranD-f-shaped GCG set made from toy scenes (eval-gcg, string image ids). The LMM is
// the tiny golden LLaVA (tests/golden/llava) teacher-forced to each scene's caption, so the phrases are the scene's
// objects ("a small red ring"); masks come from the region-growing refiner (the toy world's refiner) or the tiny
// golden SAM. The LMM is random, so the points (and therefore the metrics) are not meaningful: these tests check
// the plumbing — tables print, sharded + merged equals unsharded, a killed run resumes where it stopped, stage 2
// reuses stage 1, and bad input gives clear errors or counted misses.
#include "common.h"
#include "eval/category-match.h"
#include "eval/cocoeval.h"
#include "eval/gcg.h"
#include "eval/run-coco.h"
#include "eval/run-gcg.h"
#include "eval/text-sim.h"
#include "models/clip.h"
#include "phrases.h"
#include "refine-region.h"
#include "refine-sam.h"
#include "toy/world.h"
#include "util/golden-models.h"
#include "util/tiny-bert.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

using namespace glm;
using json = nlohmann::json;
namespace fs = std::filesystem;

static const std::string k_root = GLM_GOLDEN_ROOT;

static std::string tmp_dir(const std::string & name) { return test::fresh_tmp_dir("eval-run-" + name); }

// ---- the models: loaded once per process, handed out through eval_models ----

struct shared_models {
    test::golden_llava               m{ k_root + "/llava" };
    phrase_chunker                   chunker;
    std::unique_ptr<word_similarity> words = word_similarity_wordnet();
    std::string                      sam_path;

    shared_models() { log_route_ggml(false); }
    const std::string & sam() {  // the golden tiny SAM, converted from its official-format checkpoint
        if (sam_path.empty()) {
            sam_path = test::convert_golden_sam(k_root + "/sam", tmp_dir("sam"));
        }
        return sam_path;
    }
};

static shared_models & shared() {
    static shared_models s;
    return s;
}

struct test_models : eval_models {
    std::string                        refiner_kind = "region";
    std::unique_ptr<refiner>           ref;
    std::unique_ptr<text_similarity>   txt;
    std::string                        bert_path;
    int n_lmm = 0, n_refine = 0;

    vision_encoder & encoder() override { return shared().m.enc; }
    lmm_session &    lmm() override {
        ++n_lmm;
        return shared().m.ls;
    }
    refiner & refine() override {
        ++n_refine;
        if (!ref) {
            if (refiner_kind == "sam") {
                ref = std::make_unique<sam_refiner>(sam_model::load(shared().sam(), shared().m.be), shared().m.be);
            } else {
                ref = std::make_unique<region_refiner>();
            }
        }
        return *ref;
    }
    const phrase_chunker &  chunker() override { return shared().chunker; }
    const word_similarity & words() override { return *shared().words; }
    text_similarity &       text() override {
        if (!txt) {
            if (!bert_path.empty()) {
                bert_params bp;
                bp.n_threads = 2;
                bp.cpu_only  = true;
                txt          = std::make_unique<bert_similarity>(bert_path, bp);
            } else {
                txt = std::make_unique<head_noun_similarity>(*shared().words, shared().chunker);
            }
        }
        return *txt;
    }
    std::string text_name() const {
        return bert_path.empty() ? "fallback:wordnet-wup of head nouns (not BERT)"
                                 : "bert:" + fs::path(bert_path).filename().string();
    }
};

// ---- datasets ----

// Toy-world scenes written as a COCO dataset; captions by image id (the forced answers).
struct toy_coco {
    std::string                    dir, ann;
    std::map<std::string, std::string> captions;
};

static toy_coco make_toy_coco(const std::string & name, int n, uint64_t seed) {
    toy_coco t;
    t.dir = tmp_dir(name);
    toy::world_params p = toy::world_default_params();
    p.size              = 64;
    toy::world_write_split(t.dir, p, seed, toy::world_split::test, n);
    t.ann        = t.dir + "/annotations.json";
    const json j = json::parse(std::ifstream(t.ann));
    for (const auto & im : j["images"]) {
        t.captions[std::to_string(im["id"].get<int64_t>())] = im["caption"].get<std::string>();
    }
    return t;
}

static std::map<std::string, std::string> * g_answers = nullptr;

static std::string forced_answer(const std::string & id, void *) {
    auto it = g_answers->find(id);
    return it == g_answers->end() ? std::string() : it->second;
}

static coco_run_params coco_params(const toy_coco & t, const std::string & out) {
    coco_run_params p;
    p.ann_path                  = t.ann;
    p.run.images_dir            = t.dir;
    p.run.out_dir               = out;
    p.run.stage1.gen.n_predict  = 64;
    p.run.stage1.llm_name       = "llava-tiny-f32.gguf";
    p.run.stage1.vision_name    = "mmproj-llava-tiny-f32.gguf";
    p.run.stage1.forced_answer  = forced_answer;
    p.similarity_name           = "wordnet-wup";
    p.similarity_default_thresh = 0.8;
    p.run.refiner_name          = "region";
    p.run.progress.enabled      = false;
    return p;
}

static toy_coco & coco6() {
    static toy_coco t = make_toy_coco("coco6", 6, 3);
    g_answers         = &t.captions;
    return t;
}

// The metrics part of a report (what must not depend on sharding).
static json metrics(const coco_report & r) {
    json j = r.to_json();
    j.erase("run_dirs");
    return j;
}

static coco_report & unsharded_report() {
    static coco_report rep = [] {
        const toy_coco & t = coco6();
        const std::string out = tmp_dir("coco-unsharded");
        test_models         m;
        const eval_run_summary s = coco_run(m, coco_params(t, out));
        EXPECT_EQ(s.n_computed, 6);
        EXPECT_EQ(s.n_stage1, 6);
        return coco_merge({ out });
    }();
    return rep;
}

TEST(EvalCoco, EndToEndTable) {
    const coco_report & r = unsharded_report();
    const std::string   md = coco_report_markdown({ r });
    printf("%s", md.c_str());
    EXPECT_NE(md.find("| attend-and-segment (llava-tiny-f32.gguf, region) |"), std::string::npos);
    EXPECT_EQ(r.n_images_gt, 6);
    EXPECT_EQ(r.n_images_evaluated, 6);
    EXPECT_FALSE(r.partial);
    // every object of a scene is named in its caption by its shape word, a category name: all match
    const json gt = json::parse(std::ifstream(coco6().ann));
    EXPECT_GE(r.n_matched, (int64_t) gt["annotations"].size());
    EXPECT_EQ(r.n_detections + r.n_empty_masks, r.n_matched);  // one mask per matched phrase
    EXPECT_EQ(r.pacc.n_total, r.n_detections);                 // one point per detection (official rule)
    for (double v : r.eval.stats) {
        EXPECT_TRUE(v == -1.0 || (v >= 0.0 && v <= 1.0));
    }
    EXPECT_EQ(r.detections.size(), (size_t) r.n_detections);
    // the content: the table's numbers are those of its detections, evaluated on their own by COCOeval and the point
    // rule (both checked against pycocotools by test-golden-coco); the detections are the phrases' masks and points
    const coco_dataset ds = coco_load_dataset(coco6().ann);
    ASSERT_GT(r.n_detections, 0);
    const cocoeval_result e = coco_evaluate_segm(ds, coco_parse_results(ds, r.detections, "report detections"));
    for (int i = 0; i < 12; ++i) {
        EXPECT_EQ(e.stats[i], r.eval.stats[i]) << coco_stat_names()[i];
    }
    std::vector<coco_point> pts;
    for (const json & d : r.detections) {
        pts.push_back({ d.at("image_id").get<int64_t>(), d.at("category_id").get<int64_t>(), d.at("point")[0].get<int>(),
                        d.at("point")[1].get<int>() });
    }
    const point_accuracy pa = coco_point_accuracy(ds, pts);
    EXPECT_EQ(pa.n_correct, r.pacc.n_correct);
    EXPECT_EQ(pa.n_total, r.pacc.n_total);
    EXPECT_GT(r.eval.stats[0], -1.0);  // AP computed (-1 would mean no ground truth was evaluated)
}

TEST(EvalCoco, ShardedAndMergedEqualsUnsharded) {
    const toy_coco &  t   = coco6();
    const json        ref = metrics(unsharded_report());
    // three shards writing into one folder (a shared file system), each with its own process state
    const std::string one = tmp_dir("coco-shards-one");
    for (int k = 0; k < 3; ++k) {
        test_models     m;
        coco_run_params p = coco_params(t, one);
        p.run.shard = { 3, k };
        const auto s      = coco_run(m, p);
        EXPECT_EQ(s.n_chunk, 2);
        EXPECT_EQ(s.n_computed, 2);
    }
    const coco_report a = coco_merge({ one });
    EXPECT_EQ(metrics(a), ref);
    EXPECT_EQ(a.detections, unsharded_report().detections);
    // four shards in four folders (the last chunk is empty: 6 images, chunk size 2); stage 1 shared
    std::vector<std::string> dirs;
    for (int k = 0; k < 4; ++k) {
        dirs.push_back(tmp_dir("coco-shards-" + std::to_string(k)));
        test_models     m;
        coco_run_params p = coco_params(t, dirs.back());
        p.run.attend_dir = one + "/attend";
        p.run.shard      = { 4, k };
        const auto s      = coco_run(m, p);
        EXPECT_EQ(s.n_stage1, 0);  // stage-1 outputs reused
        EXPECT_EQ(m.n_lmm, 0);
    }
    const coco_report b = coco_merge(dirs);
    EXPECT_EQ(metrics(b), ref);
    // a folder of another run cannot be merged as a shard
    const std::string other = tmp_dir("coco-other");
    {
        test_models     m;
        coco_run_params p = coco_params(t, other);
        p.run.attend_dir  = one + "/attend";
        p.category_thresh = 0.5;
        p.run.shard       = { 6, 0 };
        coco_run(m, p);
    }
    EXPECT_THROW(coco_merge({ one, other }), glm::error);
}

// A per-image result without its timings (what must not depend on how the run went).
static json result_without_timings(const std::string & path) {
    json j = eval_read_result(path);
    j.erase("seconds");
    return j;
}

TEST(EvalCoco, KilledRunResumesWhereItStopped) {
    const toy_coco &  t   = coco6();
    unsharded_report();  // the reference results
    const std::string ref = fs::temp_directory_path().string() + "/glm-test-eval-run-coco-unsharded";
    const std::string out = tmp_dir("coco-resume");
    coco_run_params   p   = coco_params(t, out);
    p.run.shard = { 2, 0 };  // images 1..3
    {
        test_models     m;
        coco_run_params q = p;
        q.run.max_images = 1;  // "killed" after one image
        const auto s      = coco_run(m, q);
        EXPECT_EQ(s.n_computed, 1);
        EXPECT_TRUE(s.stopped_early);
    }
    ASSERT_EQ(list_result_files(out + "/images"), (std::vector<std::string>{ "1" }));
    const auto mtime = fs::last_write_time(out + "/images/1.json");
    // what a kill during a write can leave: a temporary file, and (from a non-atomic writer) a truncated file
    write_file(out + "/images/2.json.tmp-12345", std::string("{\"complete\": tr"));
    write_file(out + "/images/2.json", std::string("{\"complete\": true, \"detections\": ["));
    {
        test_models m;
        const auto  s = coco_run(m, p);
        EXPECT_EQ(s.n_skipped, 1);
        EXPECT_EQ(s.n_computed, 2);  // the truncated 2.json is recomputed
        EXPECT_EQ(s.n_stage1, 2);    // stage 1 only for the images not done
    }
    EXPECT_EQ(fs::last_write_time(out + "/images/1.json"), mtime);  // not rewritten
    for (const char * id : { "1", "2", "3" }) {  // the same results as the uninterrupted run
        EXPECT_EQ(result_without_timings(out + "/images/" + id + ".json"),
                  result_without_timings(ref + "/images/" + id + ".json"))
            << id;
    }
    // a lost stage-2 result with its stage-1 output kept: only stage 2 runs again
    fs::remove(out + "/images/3.json");
    {
        test_models m;
        const auto  s = coco_run(m, p);
        EXPECT_EQ(s.n_computed, 1);
        EXPECT_EQ(s.n_stage1, 0);
        EXPECT_EQ(m.n_lmm, 0);
    }
    // a rerun with other stage-2 settings into the same folder is refused
    p.run.ground.more_masks = true;
    test_models m;
    try {
        coco_run(m, p);
        FAIL() << "expected a settings mismatch";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("more_masks"), std::string::npos) << e.what();
    }
}

TEST(EvalCoco, TwoStagesWithSamAndMoreMasks) {
    toy_coco t = make_toy_coco("coco2", 2, 11);
    g_answers  = &t.captions;
    const std::string s1 = tmp_dir("coco-stage1");
    {
        test_models     m;
        coco_run_params p = coco_params(t, s1);
        p.run.stage = 1;
        const auto s      = coco_run(m, p);
        EXPECT_EQ(s.n_stage1, 2);
        EXPECT_EQ(m.n_refine, 0);  // stage 1 never needs the refiner
        EXPECT_FALSE(file_exists(s1 + "/eval.json"));
        EXPECT_EQ(eval_manifest_read(s1 + "/attend")["kind"], "attend");
    }
    {  // stage 2 on a folder without stage 1 is an error, before any work
        test_models     m;
        coco_run_params p = coco_params(t, tmp_dir("coco-no-stage1"));
        p.run.stage = 2;
        EXPECT_THROW(coco_run(m, p), glm::error);
    }
    const std::string s2 = tmp_dir("coco-stage2-sam");
    test_models       m;
    m.refiner_kind    = "sam";
    coco_run_params p = coco_params(t, s2);
    p.run.stage             = 2;
    p.run.attend_dir        = s1 + "/attend";
    p.run.refiner_name      = "sam:sam-tiny.gguf";
    p.run.ground.more_masks = true;
    const auto s      = coco_run(m, p);
    EXPECT_EQ(s.n_computed, 2);
    EXPECT_EQ(m.n_lmm, 0);
    const coco_report r = coco_merge({ s2 });
    printf("%s", coco_report_markdown({ r }).c_str());
    // SAM's three candidates per matched phrase, each with its own predicted IoU
    EXPECT_EQ(r.n_detections + r.n_empty_masks, 3 * r.n_matched);
    std::set<int> idx;
    for (const auto & d : r.detections) {
        idx.insert(d["mask_index"].get<int>());
        EXPECT_GE(d["score"].get<double>(), -1.0);
    }
    EXPECT_GE(idx.size(), 2u);
    EXPECT_NE(r.label.find("more masks"), std::string::npos);
}

TEST(EvalCoco, RandomPointBaseline) {
    const toy_coco &  t   = coco6();
    const std::string one = tmp_dir("coco-random");
    test_models       m;
    coco_run_params   p = coco_params(t, one);
    p.method            = coco_method::random_point;
    p.baseline_seed     = 42;
    coco_run(m, p);
    EXPECT_EQ(m.n_lmm, 0);  // no LMM for the baseline
    const coco_report r = coco_merge({ one });
    printf("%s", coco_report_markdown({ unsharded_report(), r }).c_str());
    // one point per ground-truth category of each image
    const json                                gt = json::parse(std::ifstream(t.ann));
    std::set<std::pair<int64_t, int64_t>> pairs;
    for (const auto & a : gt["annotations"]) {
        pairs.insert({ a["image_id"].get<int64_t>(), a["category_id"].get<int64_t>() });
    }
    EXPECT_EQ(r.n_detections + r.n_empty_masks, (int64_t) pairs.size());
    EXPECT_EQ(r.label, "random-point (region)");
    // the same points whatever the sharding
    const std::string two = tmp_dir("coco-random-shards");
    for (int k = 0; k < 2; ++k) {
        test_models m2;
        p.run.out_dir = two;
        p.run.shard   = { 2, k };
        coco_run(m2, p);
    }
    EXPECT_EQ(metrics(coco_merge({ two })), metrics(r));
}

TEST(EvalCoco, BadInputIsAnErrorOrACountedMiss) {
    const toy_coco & t = coco6();
    // malformed ground truth
    const std::string bad = tmp_dir("coco-bad");
    write_file(bad + "/ann.json", std::string("{\"images\": [ {\"id\": 1,"));
    {
        test_models     m;
        coco_run_params p = coco_params(t, bad + "/run");
        p.ann_path        = bad + "/ann.json";
        EXPECT_THROW(coco_run(m, p), glm::error);
    }
    // a missing image file: counted, its objects are misses
    toy_coco miss = make_toy_coco("coco-missing", 3, 3);
    g_answers     = &miss.captions;
    fs::remove(miss.dir + "/images/000002.png");
    const std::string mo = tmp_dir("coco-missing-run");
    {
        test_models m;
        const auto  s = coco_run(m, coco_params(miss, mo));
        EXPECT_EQ(s.n_missing_images, 1);
        EXPECT_EQ(s.n_computed, 3);
    }
    coco_report mr = coco_merge({ mo });
    EXPECT_EQ(mr.n_missing_images, 1);
    const std::string md = coco_report_markdown({ mr });
    EXPECT_NE(md.find("1 missing image files"), std::string::npos) << md;
    // a result for an image the ground truth does not have
    write_file(mo + "/images/999.json", std::string("{\"complete\": true, \"image_id\": 999}"));
    try {
        coco_merge({ mo });
        FAIL() << "expected an error";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not in the ground truth"), std::string::npos) << e.what();
    }
    fs::remove(mo + "/images/999.json");
    // a missing result: an error unless the merge is explicitly partial
    fs::remove(mo + "/images/3.json");
    EXPECT_THROW(coco_merge({ mo }), glm::error);
    coco_merge_params pp;
    pp.allow_partial = true;
    mr               = coco_merge({ mo }, pp);
    EXPECT_TRUE(mr.partial);
    EXPECT_EQ(mr.n_images_evaluated, 2);
    EXPECT_NE(coco_report_markdown({ mr }).find("PARTIAL"), std::string::npos);
    // an image whose size differs from its annotation
    json gj = json::parse(std::ifstream(miss.ann));
    gj["images"][0]["width"] = 65;
    write_file(bad + "/size.json", gj.dump());
    {
        test_models     m;
        coco_run_params p = coco_params(miss, bad + "/size-run");
        p.ann_path        = bad + "/size.json";
        EXPECT_THROW(coco_run(m, p), glm::error);
    }
    // empty predictions (answers without noun phrases) and an empty answer: misses, counted
    std::map<std::string, std::string> answers = { { "1", "Yes." }, { "2", "No." }, { "3", " " } };
    g_answers = &answers;
    const std::string eo = tmp_dir("coco-empty");
    {
        test_models m;
        coco_run(m, coco_params(miss, eo));
    }
    g_answers = &coco6().captions;
    const coco_report er = coco_merge({ eo });
    EXPECT_EQ(er.n_detections, 0);
    EXPECT_EQ(er.eval.stats[0], 0.0);
    EXPECT_EQ(er.n_missing_images, 1);
    EXPECT_EQ(er.n_no_phrases + er.n_empty_answers, 2);
    printf("%s", coco_report_markdown({ er }).c_str());
}

// ---- GCG ----

struct toy_gcg {
    std::string                        dir, cap, mask, images;
    std::map<std::string, std::string> captions;
};

// A GranD-f-shaped set: string ids, one label (the object's phrase) and one mask per object.
static toy_gcg make_toy_gcg(const std::string & name, int n, uint64_t seed) {
    toy_gcg t;
    t.dir    = tmp_dir(name);
    t.images = t.dir + "/images";
    make_dirs(t.images);
    toy::world_params p = toy::world_default_params();
    p.size              = 64;
    json cimgs = json::array(), canns = json::array(), mimgs = json::array(), manns = json::array();
    int64_t ann_id = 1;
    for (int i = 0; i < n; ++i) {
        const toy::world_scene sc = toy::world_generate(p, seed, toy::world_split::test, i);
        const std::string      id = strfmt("toy_%03d", i + 1);
        image_save_png(t.images + "/" + id + ".jpg", sc.img);  // GLaMM's <id>.jpg naming (PNG bytes: decoded by content)
        t.captions[id] = sc.caption;
        json labels    = json::array();
        for (const auto & o : sc.objects) {
            labels.push_back("a " + toy::world_phrase(o));
            const rle r = rle_encode(o.mask.data(), p.size, p.size);
            manns.push_back({ { "id", ann_id++ },
                              { "image_id", id },
                              { "category_id", 1 },
                              { "segmentation", { { "size", { r.h, r.w } }, { "counts", rle_to_string(r) } } },
                              { "area", o.area },
                              { "iscrowd", 0 } });
        }
        cimgs.push_back({ { "id", id }, { "height", p.size }, { "width", p.size } });
        mimgs.push_back({ { "id", id }, { "height", p.size }, { "width", p.size } });
        canns.push_back({ { "id", i + 1 }, { "image_id", id }, { "caption", sc.caption }, { "labels", labels } });
    }
    t.cap  = t.dir + "/val_gcg_coco_caption_gt.json";
    t.mask = t.dir + "/val_gcg_coco_mask_gt.json";
    write_file(t.cap, json{ { "images", cimgs }, { "annotations", canns } }.dump());
    write_file(t.mask, json{ { "images", mimgs }, { "annotations", manns }, { "categories", { { { "id", 1 }, { "name", "object" } } } } }.dump());
    return t;
}

static toy_gcg & gcg5() {
    static toy_gcg t = make_toy_gcg("gcg5", 5, 5);
    return t;
}

static gcg_run_params toy_gcg_params(const toy_gcg & t, const std::string & out, const test_models & m) {
    gcg_run_params p;
    p.caption_gt_path          = t.cap;
    p.mask_gt_path             = t.mask;
    p.run.images_dir           = t.images;
    p.run.out_dir              = out;
    p.run.stage1.gen.n_predict = 64;
    p.run.stage1.llm_name      = "llava-tiny-f32.gguf";
    p.run.stage1.vision_name   = "mmproj-llava-tiny-f32.gguf";
    p.run.stage1.forced_answer = forced_answer;
    p.run.refiner_name         = "region";
    p.text_sim_name            = m.text_name();
    p.run.progress.enabled     = false;
    return p;
}

static json gcg_metrics(const gcg_report & r) {
    json j = r.to_json();
    j.erase("run_dirs");
    return j;
}

TEST(EvalGcg, EndToEndFallbackTableAndShards) {
    toy_gcg & t = gcg5();
    g_answers   = &t.captions;
    const std::string out = tmp_dir("gcg-unsharded");
    test_models       m;
    const auto        s = gcg_run(m, toy_gcg_params(t, out, m));
    EXPECT_EQ(s.n_computed, 5);
    const gcg_report r = gcg_merge({ out });
    const std::string md = gcg_report_markdown({ r });
    printf("%s", md.c_str());
    EXPECT_TRUE(r.text_sim_fallback);
    EXPECT_NE(md.find("FALLBACK"), std::string::npos);
    EXPECT_NE(md.find("†"), std::string::npos);
    EXPECT_GT(r.meteor, 0.9);  // the forced captions are the references
    EXPECT_GE(r.gcg.n_gt_phrases, 5);
    EXPECT_GE(r.gcg.miou, 0.0);
    EXPECT_LE(r.gcg.miou, 1.0);
    // the content: mIoU and recall are those of the per-image predictions against the ground truth's masks, paired
    // by GLaMM's rules (gcg_evaluate, checked against the reference by test-golden-coco)
    {
        const json               mj = json::parse(std::ifstream(t.mask));
        std::vector<gcg_image>   imgs;
        for (const auto & kv : t.captions) {
            const json pj = json::parse(std::ifstream(out + "/images/" + kv.first + ".json"));
            gcg_image  gi;
            for (const json & a : mj.at("annotations")) {
                if (a.at("image_id") == kv.first) {
                    gi.gt_masks.push_back(coco_segmentation_to_rle(a.at("segmentation"), 0, 0, kv.first));
                }
            }
            for (const json & pm : pj.at("pred_masks")) {
                gi.pred_masks.push_back(coco_segmentation_to_rle(pm, 0, 0, kv.first));
            }
            for (const json & row : pj.at("text_similarity").at("matrix")) {
                gi.text_similarity.push_back(row.get<std::vector<double>>());
            }
            ASSERT_EQ(gi.text_similarity.size(), gi.gt_masks.size()) << kv.first;
            imgs.push_back(std::move(gi));
        }
        const gcg_result want = gcg_evaluate(imgs, gcg_params());
        EXPECT_EQ(r.gcg.n_gt_phrases, want.n_gt_phrases);
        EXPECT_EQ(r.gcg.n_matches, want.n_matches);
        EXPECT_DOUBLE_EQ(r.gcg.miou, want.miou);
        EXPECT_DOUBLE_EQ(r.gcg.recall, want.recall);
        printf("gcg: mIoU %.4f, recall %.4f (%d of %d), recomputed from the per-image files\n", want.miou, want.recall,
               want.n_matches, want.n_gt_phrases);
    }
    // GLaMM's prediction format in each per-image file
    const json one = json::parse(std::ifstream(out + "/images/toy_001.json"));
    EXPECT_EQ(one["image_id"], "toy_001");
    EXPECT_EQ(one["phrases"].size(), one["pred_masks"].size());
    EXPECT_EQ(one["text_similarity"]["matrix"].size(), one["text_similarity"]["gt_labels"].size());
    // two shards in two folders, stage 1 reused
    std::vector<std::string> dirs;
    for (int k = 0; k < 2; ++k) {
        dirs.push_back(tmp_dir("gcg-shard-" + std::to_string(k)));
        test_models    m2;
        gcg_run_params p = toy_gcg_params(t, dirs.back(), m2);
        p.run.attend_dir = out + "/attend";
        p.run.shard      = { 2, k };
        gcg_run(m2, p);
        EXPECT_EQ(m2.n_lmm, 0);
    }
    EXPECT_EQ(gcg_metrics(gcg_merge(dirs)), gcg_metrics(r));
    // a prediction for an image the ground truth does not have
    write_file(dirs[0] + "/images/sa_1.json", std::string("{\"complete\": true, \"image_id\": \"sa_1\"}"));
    EXPECT_THROW(gcg_merge(dirs), glm::error);
}

TEST(EvalGcg, BertPhraseSimilarityAndBadGroundTruth) {
    toy_gcg & t = gcg5();
    g_answers   = &t.captions;
    const std::string d = tmp_dir("gcg-bert");
    tiny_bert         tb;
    tb.write(d + "/tiny-bert.gguf", true);
    test_models m;
    m.bert_path            = d + "/tiny-bert.gguf";
    gcg_run_params p       = toy_gcg_params(t, d + "/run", m);
    p.run.attend_dir = fs::temp_directory_path().string() + "/glm-test-eval-run-gcg-unsharded/attend";
    if (!fs::exists(p.run.attend_dir)) {
        p.run.attend_dir = "";
    }
    gcg_run(m, p);
    const gcg_report r = gcg_merge({ d + "/run" });
    printf("%s", gcg_report_markdown({ r }).c_str());
    EXPECT_FALSE(r.text_sim_fallback);
    EXPECT_EQ(r.text_sim, "bert:tiny-bert.gguf");
    const json one = json::parse(std::ifstream(d + "/run/images/toy_001.json"));
    EXPECT_EQ(one["text_similarity"]["name"], "bert:tiny-bert.gguf");
    // labels and masks must pair one to one
    json cap = json::parse(std::ifstream(t.cap));
    cap["annotations"][0]["labels"].push_back("an extra label");
    write_file(d + "/cap-bad.json", cap.dump());
    gcg_merge_params mp;
    mp.caption_gt_path = d + "/cap-bad.json";
    EXPECT_THROW(gcg_merge({ d + "/run" }, mp), glm::error);
    // a second caption of an image is one more METEOR reference; the recall keeps the first caption's labels
    cap = json::parse(std::ifstream(t.cap));
    cap["annotations"].push_back({ { "id", 99 }, { "image_id", "toy_001" }, { "caption", "another text" }, { "labels", json::array() } });
    write_file(d + "/cap-two.json", cap.dump());
    const gcg_ground_truth two = gcg_load_ground_truth(d + "/cap-two.json", t.mask);
    ASSERT_EQ(two.images[0].captions.size(), 2u);
    EXPECT_EQ(two.images[0].captions[1], "another text");
    EXPECT_EQ(two.images[0].labels.size(), cap["annotations"][0]["labels"].size());
    // a caption file whose annotation names an unknown image
    cap = json::parse(std::ifstream(t.cap));
    cap["annotations"][0]["image_id"] = "nope";
    write_file(d + "/cap-bad2.json", cap.dump());
    EXPECT_THROW(gcg_load_ground_truth(d + "/cap-bad2.json", t.mask), glm::error);
}
