// groundlmm serve's streaming and point editing (issue 15), in-process with the tiny golden LLaVA and SAM converted
// from tests/golden/sam/sam-tiny.pth, driven by httplib's client (an independent HTTP implementation):
//   - POST /ground with "stream": true: 200 text/event-stream, one token event per answer token (joined: the answer),
//     one chip event per phrase among them (the first sentence's before the second sentence's tokens; text, span,
//     head, sentence and tokens equal to the result's phrases), one maps event, one phrase event per phrase, one mask event per SAM mask, and a done event equal to the reply
//     without stream (timings aside); a job that fails after it was queued ends its stream with an error event
//     carrying the status (500) and the message;
//   - POST /segment with SAM: the first request encodes (cached false, encode_s > 0) and its mask is the library's
//     (sam_refiner on the same image and point); by hash, another point is a cache hit with no encoder run; after
//     another image took the refiner, the first image's hash gives the first mask again (the embedding restored
//     from the cache); the counters in /health; an evicted hash is 400;
//   - a client that hangs up mid-stream while its job runs: the server stays healthy and serves the next stream.
#include "common.h"
#include "refine-sam.h"
#include "rle.h"
#include "serve-http.h"
#include "util/golden-models.h"
#include "util/raw-http.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

using namespace glm;
using json = nlohmann::json;

static const std::string k_root   = GLM_GOLDEN_ROOT;
static const std::string k_answer = "The image shows a red circle next to a blue square.";
static const std::string k_answer_two = "The image shows a red circle. A blue square is next to the circle.";

static std::string file_text(const std::string & path) {
    const std::vector<uint8_t> b = read_file(path);
    return std::string(b.begin(), b.end());
}

struct sse_event {
    std::string name;
    json        data;
};

static std::vector<sse_event> parse_sse(const std::string & body) {
    std::vector<sse_event> out;
    size_t                 at = 0;
    while (at < body.size()) {
        const size_t end = body.find("\n\n", at);
        EXPECT_NE(end, std::string::npos) << "an unterminated event at byte " << at;
        if (end == std::string::npos) {
            break;
        }
        const std::string frame = body.substr(at, end - at);
        at                      = end + 2;
        EXPECT_EQ(frame.rfind("event: ", 0), 0u) << frame.substr(0, 80);
        const size_t nl = frame.find('\n');
        EXPECT_EQ(frame.compare(nl + 1, 6, "data: "), 0) << frame.substr(0, 80);
        out.push_back({ frame.substr(7, nl - 7), json::parse(frame.substr(nl + 7)) });
    }
    return out;
}

class ServeStream : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        signal(SIGPIPE, SIG_IGN);
        log_route_ggml(false);
        dir_ = test::fresh_tmp_dir("serve-stream");
        serve_model_params mp;
        const lmm_params   lp     = test::golden_llm_params(k_root + "/llava/llava-tiny-f32.gguf");
        mp.model.llm              = lp.model;
        mp.model.n_threads        = 2;
        mp.model.vision           = k_root + "/llava/mmproj-llava-tiny-f32.gguf";
        mp.model.refiner.sam_path = test::convert_golden_sam(k_root + "/sam", dir_);
        mp.context.n_ctx          = lp.n_ctx;
        mp.segment_cache_entries  = 2;
        engine_                   = new serve_engine(mp);
        image_                    = file_text(k_root + "/llava/image.png");
    }
    static void TearDownTestSuite() {
        delete engine_;
        engine_ = nullptr;
    }
    std::unique_ptr<serve_server> start(serve_params sp = {}) {
        sp.host  = "127.0.0.1";
        sp.port  = 0;
        auto srv = std::make_unique<serve_server>(*engine_, sp);
        port_    = srv->start();
        EXPECT_GT(port_, 0);
        return srv;
    }
    httplib::Result post(const std::string & path, const json & body) const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(120);
        return c.Post(path.c_str(), body.dump(), "application/json");
    }
    static json image_field(const std::string & file) {
        return base64_encode((const uint8_t *) file.data(), file.size());
    }

    static serve_engine * engine_;
    static std::string    dir_, image_;
    int                   port_ = 0;
};

serve_engine * ServeStream::engine_ = nullptr;
std::string    ServeStream::dir_, ServeStream::image_;

TEST_F(ServeStream, EventsAndDoneEqualThePlainReply) {
    auto       srv  = start();
    // two sentences: the first one's chips must come while the second one's tokens still stream
    const json body = { { "image_b64", image_field(image_) }, { "answer", k_answer_two } };
    auto       plain = post("/ground", body);
    ASSERT_TRUE(plain);
    ASSERT_EQ(plain->status, 200) << plain->body;
    json want = json::parse(plain->body);

    json sbody      = body;
    sbody["stream"] = true;
    auto r          = post("/ground", sbody);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/event-stream", 0), 0u);
    const std::vector<sse_event> ev = parse_sse(r->body);
    ASSERT_FALSE(ev.empty());
    std::string joined, order;
    size_t      n_tok = 0, n_phrase = 0, n_mask = 0, n_chip = 0;
    std::vector<size_t> chip_after;  // tokens streamed before each chip
    for (const sse_event & e : ev) {
        order += e.name == "maps" ? 'M' : e.name[0];
        if (e.name == "chip") {  // early phrases, sentence by sentence: the result's phrases, text, span and tokens
            EXPECT_EQ(e.data.at("chip").get<size_t>(), n_chip);
            EXPECT_EQ(e.data.at("after_token").get<size_t>() + 1, n_tok);
            EXPECT_TRUE(e.data.at("provisional").get<bool>());
            if (n_chip < want["phrases"].size()) {
                const json & p = want["phrases"][n_chip];
                EXPECT_EQ(e.data.at("text"), p["text"]);
                EXPECT_EQ(e.data.at("span"), p["span"]);
                EXPECT_EQ(e.data.at("head_span"), p["head_span"]);
                EXPECT_EQ(e.data.at("sentence"), p["sentence"]);
                EXPECT_EQ(e.data.at("tokens"), p["tokens"]);
            }
            chip_after.push_back(n_tok);
            ++n_chip;
        } else if (e.name == "token") {
            EXPECT_EQ(e.data.at("k").get<size_t>(), n_tok);
            joined += e.data.at("text").get<std::string>();
            ++n_tok;
        } else if (e.name == "phrase") {
            EXPECT_EQ(e.data.at("index").get<size_t>(), n_phrase);
            EXPECT_EQ(e.data.at("text"), want["phrases"][n_phrase]["text"]);
            ++n_phrase;
        } else if (e.name == "mask") {
            const size_t i = e.data.at("index");
            EXPECT_EQ(e.data.at("mask"), want["phrases"][i]["mask"]);
            ++n_mask;
        } else if (e.name == "maps") {
            EXPECT_EQ(base64_decode(e.data.at("maps")).size(),
                      (size_t) e.data.at("rows") * (int) e.data["grid"]["w"] * (int) e.data["grid"]["h"] * 4);
        }
    }
    auto trim = [](std::string t) {
        t.erase(0, t.find_first_not_of(' '));
        return t;
    };
    EXPECT_EQ(trim(joined), trim(want["answer"].get<std::string>()));
    EXPECT_GT(n_tok, 5u);
    size_t with_mask = 0;
    for (const json & p : want["phrases"]) {
        with_mask += !p["mask"].is_null();
    }
    EXPECT_GT(with_mask, 0u);
    EXPECT_EQ(n_phrase, want["phrases"].size());
    EXPECT_EQ(n_mask, with_mask);
    EXPECT_EQ(n_chip, want["phrases"].size());
    // the chips of the first sentence come while tokens still stream (the answer has more than one sentence)
    ASSERT_FALSE(chip_after.empty());
    EXPECT_LT(chip_after.front(), n_tok);
    std::string no_chips = order;
    no_chips.erase(std::remove(no_chips.begin(), no_chips.end(), 'c'), no_chips.end());
    EXPECT_EQ(no_chips, std::string(n_tok, 't') + "M" + std::string(n_phrase, 'p') + std::string(n_mask, 'm') + "d");
    EXPECT_EQ(order.find('c') < order.rfind('t'), true) << order;
    json done = ev.back().data;
    done.erase("timings");
    want.erase("timings");
    EXPECT_EQ(done, want);
}

TEST_F(ServeStream, FailureAfterQueueingEndsWithAnErrorEvent) {
    serve_params sp;
    sp.on_job_start = [](const serve_request &) { fail("the models are on fire (test)"); };
    auto srv        = start(sp);
    auto r          = post("/ground", { { "image_b64", image_field(image_) }, { "answer", k_answer }, { "stream", true } });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);  // the head went out when the job was queued
    const std::vector<sse_event> ev = parse_sse(r->body);
    ASSERT_EQ(ev.size(), 1u) << r->body;
    EXPECT_EQ(ev[0].name, "error");
    EXPECT_EQ(ev[0].data.at("status"), 500);
    EXPECT_NE(ev[0].data.at("error").get<std::string>().find("on fire"), std::string::npos) << ev[0].data.dump();
    // refused before queueing: the plain JSON error, no stream
    auto bad = post("/ground", { { "image_b64", image_field(image_) }, { "stream", true }, { "n_predict", 0 } });
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    EXPECT_EQ(bad->get_header_value("Content-Type"), "application/json");
}

// A client that reads the stream's head and hangs up while its job runs: the job finishes unobserved, the server
// stays healthy and answers the next stream in full. (One that hangs up while its job still waits withdraws it.)
TEST_F(ServeStream, ClientHangsUpMidStream) {
    std::atomic<int> started{ 0 };
    serve_params     sp;
    sp.on_job_start = [&started](const serve_request &) {
        if (started++ == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the first job: time to hang up
        }
    };
    auto              srv  = start(sp);
    const std::string body = json({ { "image_b64", image_field(image_) }, { "answer", k_answer }, { "stream", true } }).dump();
    {
        test::raw_client c(port_);
        c.send_all("POST /ground HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
        ASSERT_TRUE(c.readable(10.0));  // the head, sent when the job was queued
        for (int i = 0; i < 500 && started.load() == 0; ++i) {  // hang up once it runs (a waiting one is withdrawn)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ASSERT_EQ(started.load(), 1);
        c.close_now();
    }
    auto r = post("/ground", json::parse(body));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    const std::vector<sse_event> ev = parse_sse(r->body);
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev.back().name, "done");
    httplib::Client c("127.0.0.1", port_);
    auto            h = c.Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(json::parse(h->body)["done"], 2);
    EXPECT_EQ(json::parse(h->body)["connections"], 1);  // this one: the hung-up stream is closed
}

TEST_F(ServeStream, SegmentThroughTheEmbeddingCache) {
    auto srv = start();
    // the library's answer for the first point: sam_refiner on the same pixels
    const image_u8 img = image_decode((const uint8_t *) image_.data(), image_.size(), "image");
    const int      px = img.w / 3, py = img.h / 2;
    std::string    want_counts;
    {
        compute_backend be(backend_params{ 2, true, 0 });  // the device the engine computes on
        sam_refiner     sam(sam_model::load(dir_ + "/sam-tiny.gguf", be), be);
        sam.set_image(img);
        const refined_mask m = sam.refine(px, py, mask_select::index2, false);
        want_counts          = rle_to_string(rle_encode(m.mask.data(), m.h, m.w));
    }
    auto r1 = post("/segment", { { "image_b64", image_field(image_) }, { "points", { { px, py } } } });
    ASSERT_TRUE(r1);
    ASSERT_EQ(r1->status, 200) << r1->body;
    const json j1 = json::parse(r1->body);
    EXPECT_EQ(j1["cached"], false);
    EXPECT_GT(j1["timings"]["encode_s"].get<double>(), 0.0);
    EXPECT_EQ(j1["mask"]["size"], json({ img.h, img.w }));
    EXPECT_EQ(j1["mask"]["counts"], want_counts);
    const std::string hash = j1["image_hash"];

    auto r2 = post("/segment", { { "image_hash", hash }, { "points", { { img.w - 2, 1 }, { px, py, 0 } } } });
    ASSERT_TRUE(r2);
    ASSERT_EQ(r2->status, 200) << r2->body;
    const json j2 = json::parse(r2->body);
    EXPECT_EQ(j2["cached"], true);
    EXPECT_EQ(j2["timings"]["encode_s"], 0.0);
    EXPECT_NE(j2["mask"]["counts"], j1["mask"]["counts"]);

    // another image takes the refiner (a mirrored copy), then the first image's hash gives the first mask again
    image_u8 flip = img;
    for (int y = 0; y < img.h; ++y) {
        for (int x = 0; x < img.w; ++x) {
            std::copy_n(img.at(img.w - 1 - x, y), 3, flip.at(x, y));
        }
    }
    const std::vector<uint8_t> fpng = image_encode_png(flip);
    auto r3 = post("/segment", { { "image_b64", base64_encode(fpng.data(), fpng.size()) }, { "points", { { px, py } } } });
    ASSERT_TRUE(r3);
    ASSERT_EQ(r3->status, 200) << r3->body;
    EXPECT_NE(json::parse(r3->body)["image_hash"], hash);
    auto r4 = post("/segment", { { "image_hash", hash }, { "points", { { px, py } } } });
    ASSERT_TRUE(r4);
    ASSERT_EQ(r4->status, 200) << r4->body;
    const json j4 = json::parse(r4->body);
    EXPECT_EQ(j4["cached"], true);
    EXPECT_EQ(j4["timings"]["encode_s"], 0.0);
    EXPECT_EQ(j4["mask"], j1["mask"]);

    httplib::Client c("127.0.0.1", port_);
    auto            h = c.Get("/health");
    ASSERT_TRUE(h);
    const json sc = json::parse(h->body)["segment_cache"];
    EXPECT_EQ(sc["entries"], 2);
    EXPECT_EQ(sc["misses"], 2);
    EXPECT_EQ(sc["hits"], 2);
    EXPECT_EQ(sc["evictions"], 0);

    // a third image evicts the least recently used one (the mirrored copy; 2 entries at most)
    image_u8 dark = img;
    for (uint8_t & v : dark.rgb) {
        v = (uint8_t) (v / 2);
    }
    const std::vector<uint8_t> dpng = image_encode_png(dark);
    const json j5 = json::parse(post("/segment", { { "image_b64", base64_encode(dpng.data(), dpng.size()) },
                                                    { "points", { { px, py } } } })->body);
    auto       r6 = post("/segment", { { "image_hash", json::parse(r3->body)["image_hash"] }, { "points", { { 1, 1 } } } });
    ASSERT_TRUE(r6);
    EXPECT_EQ(r6->status, 400);
    EXPECT_NE(r6->body.find("not in the cache"), std::string::npos) << r6->body;
    auto r7 = post("/segment", { { "image_hash", hash }, { "points", { { img.w, 0 } } } });
    ASSERT_TRUE(r7);
    EXPECT_EQ(r7->status, 400);
    EXPECT_NE(r7->body.find("outside"), std::string::npos) << r7->body;
    EXPECT_EQ(json::parse(c.Get("/health")->body)["segment_cache"]["evictions"], 1);
    (void) j5;
}
