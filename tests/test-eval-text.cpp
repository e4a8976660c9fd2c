// Unit tests of the evaluation runners' building blocks: shards (LLaVA's get_chunk), atomic result files, manifests,
// the progress bar, category matching (WordNet Wu-Palmer and word-vector files), and the phrase similarity: a tiny
// random BERT GGUF written here and run through libllama, checked against a naive re-implementation of BERT's
// forward pass (mean over all tokens, [CLS] and [SEP] included), and the head-noun fallback.
#include "common.h"
#include "util/max-error.h"
#include "eval/category-match.h"
#include "eval/progress.h"
#include "eval/run-util.h"
#include "eval/text-sim.h"
#include "eval/wordnet-nouns.h"
#include "gguf-loader.h"
#include "phrases.h"
#include "util/golden-models.h"
#include "util/tiny-bert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>

using namespace glm;
using json = nlohmann::json;

static std::string tmp_dir(const char * name) { return test::fresh_tmp_dir(std::string("eval-text-") + name); }

// ---- shards, files, manifests ----

// LLaVA's split_list/get_chunk, written the Python way
static std::vector<std::pair<int64_t, int64_t>> python_chunks(int64_t n, int k) {
    const int64_t cs = (int64_t) std::ceil((double) n / k);
    std::vector<std::pair<int64_t, int64_t>> out;
    for (int64_t i = 0; i < n; i += cs) {
        out.push_back({ i, std::min(n, i + cs) });
    }
    return out;
}

TEST(EvalUtil, ChunksAreLlavaGetChunkAndCoverEverythingOnce) {
    for (int64_t n : { 0, 1, 5, 9, 10, 11, 5000 }) {
        for (int k : { 1, 2, 3, 4, 7, 16 }) {
            const auto ref  = python_chunks(n, k);
            int64_t    next = 0;
            for (int i = 0; i < k; ++i) {
                int64_t b = 0, e = 0;
                eval_chunk_range(n, { k, i }, &b, &e);
                if (i < (int) ref.size()) {
                    EXPECT_EQ(b, ref[i].first) << n << " " << k << " " << i;
                    EXPECT_EQ(e, ref[i].second) << n << " " << k << " " << i;
                } else {
                    EXPECT_EQ(b, e) << "chunks past the last are empty (Python would raise IndexError)";
                }
                EXPECT_EQ(b, std::min(next, n));
                next = std::max(next, e);
            }
            EXPECT_EQ(next, n);
        }
    }
    int64_t b, e;
    EXPECT_THROW(eval_chunk_range(10, { 0, 0 }, &b, &e), glm::error);
    EXPECT_THROW(eval_chunk_range(10, { 4, 4 }, &b, &e), glm::error);
    EXPECT_THROW(eval_chunk_range(10, { 4, -1 }, &b, &e), glm::error);
}

TEST(EvalUtil, AtomicResultsAndCompleteness) {
    const std::string d = tmp_dir("files");
    std::string       why;
    EXPECT_FALSE(eval_result_complete(d + "/1.json", &why));
    EXPECT_EQ(why, "missing");
    write_file(d + "/2.json", std::string("{\"complete\": true, \"x\": [1, 2"));  // truncated by a kill
    EXPECT_FALSE(eval_result_complete(d + "/2.json", &why));
    EXPECT_EQ(why, "malformed JSON");
    write_file(d + "/3.json", std::string("{\"x\": 1}"));
    EXPECT_FALSE(eval_result_complete(d + "/3.json", &why));
    EXPECT_EQ(why, "not marked complete");
    EXPECT_THROW(eval_read_result(d + "/2.json"), glm::error);
    write_file_atomic(d + "/4.json", "{\"complete\": true, \"v\": 4}");
    EXPECT_TRUE(eval_result_complete(d + "/4.json"));
    EXPECT_EQ(eval_read_result(d + "/4.json")["v"], 4);
    write_file(d + "/5.json.tmp-123", std::string("{"));  // a temporary left by a killed writer
    const auto ids = list_result_files(d);
    EXPECT_EQ(ids, (std::vector<std::string>{ "2", "3", "4" }));
    EXPECT_TRUE(list_result_files(d + "/absent").empty());
    EXPECT_EQ(eval_id_filename("sa_10010541"), "sa_10010541");
    EXPECT_THROW(eval_id_filename("../x"), glm::error);
    EXPECT_THROW(eval_id_filename(""), glm::error);
}

TEST(EvalUtil, ManifestIsWrittenOnceAndChecked) {
    const std::string d = tmp_dir("manifest");
    const json        m = { { "kind", "coco" }, { "settings", { { "a", 1 }, { "b", { { "c", "x" } } } } } };
    eval_manifest_check_or_write(d, m);
    EXPECT_NO_THROW(eval_manifest_check_or_write(d, m));
    json m2                    = m;
    m2["settings"]["b"]["c"]   = "y";
    try {
        eval_manifest_check_or_write(d, m2);
        FAIL() << "expected an error";
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("settings.b.c"), std::string::npos) << e.what();
    }
    EXPECT_EQ(json_first_difference(json{ { "x", 1 } }, json{ { "x", 1.0 } }), "");
    EXPECT_EQ(json_first_difference(json{ { "x", 1 } }, json{ { "y", 1 } }), "x");
    EXPECT_THROW(eval_manifest_read(d + "/nothing"), glm::error);
}

TEST(EvalUtil, SeededDrawsAreUniformAndStable) {
    uint64_t s = eval_mix64(0, 139);
    std::vector<int> hist(7, 0);
    for (int i = 0; i < 7000; ++i) {
        const int64_t v = eval_uniform(&s, 7);
        ASSERT_GE(v, 0);
        ASSERT_LT(v, 7);
        hist[v]++;
    }
    for (int h : hist) {
        EXPECT_GT(h, 850);
        EXPECT_LT(h, 1150);
    }
    uint64_t a = eval_mix64(5, 1), b = eval_mix64(5, 1);
    EXPECT_EQ(eval_uniform(&a, 1000), eval_uniform(&b, 1000));
    EXPECT_NE(eval_mix64(5, 1), eval_mix64(5, 2));
}

TEST(EvalUtil, ProgressLineAndDurations) {
    EXPECT_EQ(progress_bar::format_duration(5), "5s");
    EXPECT_EQ(progress_bar::format_duration(185), "3m05s");
    EXPECT_EQ(progress_bar::format_duration(3725), "1h02m");
    progress_params pp;
    pp.enabled = false;
    progress_bar bar("eval", 10, pp);
    bar.skip(3);
    bar.tick(2);
    const std::string l = bar.line();
    EXPECT_NE(l.find("5/10"), std::string::npos) << l;
    EXPECT_NE(l.find("50%"), std::string::npos) << l;
    EXPECT_NE(l.find("(3 resumed)"), std::string::npos) << l;
    EXPECT_NE(l.find("ETA"), std::string::npos) << l;
    EXPECT_EQ(bar.done(), 5);
}

// ---- category matching ----

static const word_similarity & wordnet() {
    static std::unique_ptr<word_similarity> s = word_similarity_wordnet();
    return *s;
}

TEST(CategoryMatch, WordNetMorphologyAndSenses) {
    wordnet_nouns wn;
    EXPECT_GT(wn.n_synsets(), 80000u);
    EXPECT_EQ(wn.lemmas("mice"), (std::vector<std::string>{ "mouse" }));
    EXPECT_EQ(wn.lemmas("men"), (std::vector<std::string>{ "men", "man" }));      // noun.exc: form and base
    EXPECT_EQ(wn.lemmas("dogs"), (std::vector<std::string>{ "dog" }));
    EXPECT_EQ(wn.lemmas("Traffic Light"), (std::vector<std::string>{ "traffic_light" }));
    EXPECT_EQ(wn.lemmas("people"), (std::vector<std::string>{ "people", "person" }));
    EXPECT_TRUE(wn.lemmas("xqzzy").empty());
    EXPECT_EQ(wn.first_lemma(wn.synsets("dog")[0]), "dog");  // most frequent sense first
    EXPECT_DOUBLE_EQ(wn.wup(wn.synsets("dog")[0], wn.synsets("dog")[0]), 1.0);
}

TEST(CategoryMatch, WordNetSimilarityKeepsHyponymsAndDropsUnrelated) {
    const word_similarity & s = wordnet();
    EXPECT_EQ(s.name(), "wordnet-wup");
    const double t = s.default_threshold();
    EXPECT_DOUBLE_EQ(t, 0.8);
    for (const char * w : { "man", "woman", "boy", "girl", "child", "people", "men", "player", "skier" }) {
        EXPECT_GE(s.similarity(w, "person"), t) << w;
    }
    for (const auto & p : std::vector<std::pair<const char *, const char *>>{
             { "puppy", "dog" }, { "automobile", "car" }, { "motorbike", "motorcycle" }, { "table", "dining table" },
             { "light", "traffic light" }, { "glass", "wine glass" }, { "sofa", "couch" }, { "television", "tv" } }) {
        EXPECT_GE(s.similarity(p.first, p.second), t) << p.first << " " << p.second;
    }
    for (const auto & p : std::vector<std::pair<const char *, const char *>>{
             { "image", "person" }, { "shirt", "person" }, { "sky", "person" }, { "wall", "person" },
             { "background", "person" }, { "it", "person" }, { "kite", "bird" }, { "xqzzy", "dog" } }) {
        EXPECT_LT(s.similarity(p.first, p.second), t) << p.first << " " << p.second;
    }
    EXPECT_DOUBLE_EQ(s.similarity("The Dog", "dog"), 1.0);  // official normalisation: lower case, article removed
}

TEST(CategoryMatch, ArgmaxFirstMaximumAndThreshold) {
    const word_similarity &               s     = wordnet();
    const std::vector<category_candidate> cands = { { 1, "person" }, { 18, "dog" }, { 17, "cat" } };
    category_match                        m     = match_category(s, "puppy", cands, 0.8);
    EXPECT_EQ(m.category_id, 18);
    EXPECT_TRUE(m.matched);
    m = match_category(s, "sky", cands, 0.8);
    EXPECT_FALSE(m.matched);
    EXPECT_GE(m.category_id, 0);  // the argmax is still reported
    // ties: the first candidate in order wins, as torch.argmax
    m = match_category(s, "dog", { { 5, "dog" }, { 3, "dog" } }, 0.5);
    EXPECT_EQ(m.category_id, 5);
    EXPECT_EQ(match_category(s, "dog", {}, 0.5).category_id, -1);
}

TEST(CategoryMatch, WordVectorFiles) {
    const std::string d = tmp_dir("vectors");
    // GloVe: no header; "dog" and "puppy" close, "car" orthogonal; a word with a space (GloVe 840B has some)
    write_file(d + "/glove.txt", std::string("dog 1 0 0\npuppy 0.9 0.1 0\ncar 0 0 1\nhot 0 1 0\nice cream 0 1 1\n"));
    auto g = word_similarity_vectors(d + "/glove.txt");
    EXPECT_EQ(g->name(), "vectors:glove.txt");
    EXPECT_DOUBLE_EQ(g->default_threshold(), 0.5);
    EXPECT_NEAR(g->similarity("dog", "dog"), 1.0, 1e-12);
    EXPECT_NEAR(g->similarity("The puppy", "dog"), 0.9 / std::sqrt(0.82), 1e-6);
    EXPECT_NEAR(g->similarity("dog", "car"), 0.0, 1e-12);
    // spaCy's Doc.vector: mean over tokens, unknown tokens as zeros (a direction-preserving scale here)
    EXPECT_NEAR(g->similarity("hot dog", "dog"), 1.0 / std::sqrt(2.0), 1e-6);
    EXPECT_NEAR(g->similarity("zzz dog", "dog"), 1.0, 1e-6);
    EXPECT_DOUBLE_EQ(g->similarity("zzz", "dog"), 0.0);
    // fastText: "count dim" header
    write_file(d + "/ft.vec", std::string("2 2\ncat 1 0\nkitten 1 1\n"));
    auto f = word_similarity_vectors(d + "/ft.vec");
    EXPECT_NEAR(f->similarity("cat", "kitten"), 1.0 / std::sqrt(2.0), 1e-6);
    // malformed: a short line, a non-number
    write_file(d + "/bad1.txt", std::string("dog 1 0 0\ncat 1 0\n"));
    try {
        word_similarity_vectors(d + "/bad1.txt");
        FAIL();
    } catch (const glm::error & e) {
        EXPECT_NE(std::string(e.what()).find("bad1.txt:2"), std::string::npos) << e.what();
    }
    write_file(d + "/bad2.txt", std::string("dog 1 x 0\n"));
    EXPECT_THROW(word_similarity_vectors(d + "/bad2.txt"), glm::error);
    EXPECT_THROW(word_similarity_vectors(d + "/absent.txt"), glm::error);
}

// ---- BERT through libllama ----

TEST(TextSim, TinyBertThroughLibllamaMatchesTheReferenceMeanPooling) {
    log_route_ggml(false);
    const std::string d = tmp_dir("bert");
    tiny_bert         tb;
    tb.write(d + "/tiny-bert.gguf", true);
    bert_params bp;
    bp.n_threads = 2;
    bp.cpu_only  = true;
    bert_similarity bert(d + "/tiny-bert.gguf", bp);
    EXPECT_EQ(bert.name(), "bert:tiny-bert.gguf");
    EXPECT_FALSE(bert.is_fallback());
    const std::vector<int32_t> ids = bert.tokens("A man in a red shirt.");
    ASSERT_GE(ids.size(), 4u);
    EXPECT_EQ(ids.front(), tb.cls);  // [CLS] ... [SEP] are in the sequence that is averaged
    EXPECT_EQ(ids.back(), tb.sep);
    auto idx = [&](const char * t) {
        return (int32_t) (std::find(tb.vocab.begin(), tb.vocab.end(), std::string("\xe2\x96\x81") + t) - tb.vocab.begin());
    };
    EXPECT_EQ(ids, (std::vector<int32_t>{ tb.cls, idx("a"), idx("man"), idx("in"), idx("a"), idx("red"), idx("shirt"),
                                          idx("."), tb.sep }));
    double max_err = 0, max_ref = 0;
    for (const char * text : { "A man in a red shirt.", "the dog on the grass", "blue sky", "cats" }) {
        const std::vector<float>  got = bert.embed(text);
        const std::vector<double> ref = tb.embed(bert.tokens(text));
        ASSERT_EQ(got.size(), ref.size());
        for (size_t i = 0; i < ref.size(); ++i) {
            max_err = test::max_err(max_err, std::fabs(got[i] - ref[i]));
            max_ref = test::max_err(max_ref, std::fabs(ref[i]));
        }
    }
    printf("tiny BERT: max |libllama - reference| = %.3g (max |ref| %.3g)\n", max_err, max_ref);
    // ggml's GELU runs through an f16 table on the CPU: errors of a few 1e-3
    EXPECT_LT(max_err, 2e-2 * std::max(1.0, max_ref));
    EXPECT_NEAR(bert.similarity("a red shirt", "a red shirt"), 1.0, 1e-6);
    const double s1 = bert.similarity("a man", "a woman"), s2 = bert.similarity("a man", "blue sky");
    const std::vector<double> ra = tb.embed(bert.tokens("a man")), rb = tb.embed(bert.tokens("a woman"));
    const double              r1 = cosine(std::vector<float>(ra.begin(), ra.end()), std::vector<float>(rb.begin(), rb.end()));
    EXPECT_NEAR(s1, r1, 1e-3);
    printf("tiny BERT: sim(a man, a woman) = %.4f (reference %.4f), sim(a man, blue sky) = %.4f\n", s1, r1, s2);
}

TEST(TextSim, UncasedFileWithoutTheLowercaseKeyIsLowercasedHere) {
    log_route_ggml(false);
    const std::string d = tmp_dir("bert-nokey");
    tiny_bert         tb;
    tb.write(d + "/old.gguf", false);
    bert_params bp;
    bp.n_threads = 2;
    bp.cpu_only  = true;
    bert_similarity bert(d + "/old.gguf", bp);
    EXPECT_TRUE(bert.lowercases_input());
    EXPECT_EQ(bert.tokens("A MAN"), bert.tokens("a man"));
    EXPECT_THROW(bert_similarity(d + "/absent.gguf", bp), glm::error);
    gguf_writer gw;  // not a BERT
    gw.set_str("general.architecture", "llama");
    gw.write(d + "/llama.gguf");
    EXPECT_THROW(bert_similarity(d + "/llama.gguf", bp), glm::error);
}

TEST(TextSim, FallbackIsLabelledAndUsesHeadNouns) {
    static phrase_chunker chunker;
    head_noun_similarity  f(wordnet(), chunker);
    EXPECT_TRUE(f.is_fallback());
    EXPECT_NE(f.name().find("fallback"), std::string::npos);
    EXPECT_NE(f.name().find("not BERT"), std::string::npos);
    EXPECT_EQ(f.head("a man in a red shirt"), "man");
    EXPECT_EQ(f.head("the large wooden table"), "table");
    EXPECT_GE(f.similarity("a young boy", "the person on the left"), 0.8);
    EXPECT_LT(f.similarity("the blue sky", "a person"), 0.8);
}
