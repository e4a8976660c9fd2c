// groundlmm serve, end to end and in-process: the tiny golden LLaVA (tests/golden/llava) + SAM converted from
// tests/golden/sam/sam-tiny.pth behind the real HTTP stack on an ephemeral port, driven by httplib's client.
// Checks: /health; /ground (multipart and JSON) gives result.json whose phrases have points inside the image and
// masks of the image's size, identical to the library pipeline run directly; /attend's maps; concurrent requests
// are serialised (never two jobs at once) and all answered alike; bad image / bad option → 400; oversized → 413;
// queue overflow → 503; time-out → 503 (job withdrawn); a request over the context → 400; graceful stop.
#include "attend.h"
#include "common.h"
#include "ground.h"
#include "models/clip.h"
#include "outputs.h"
#include "refine-sam.h"
#include "serve-http.h"
#include "util/golden-models.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

using namespace glm;
using json = nlohmann::json;

static const std::string k_root   = GLM_GOLDEN_ROOT;
static const std::string k_answer = "The image shows a red circle next to a blue square.";

static std::string file_text(const std::string & path) {
    const std::vector<uint8_t> b = read_file(path);
    return std::string(b.begin(), b.end());
}

// Blocks the inference loop at the start of each job until opened: makes queue states deterministic.
struct gate {
    std::mutex              m;
    std::condition_variable cv;
    bool                    open    = true;
    int                     started = 0;
    std::atomic<int>        active{ 0 }, max_active{ 0 };

    void on_start() {
        const int now = ++active;
        int       mx  = max_active.load();
        while (now > mx && !max_active.compare_exchange_weak(mx, now)) {
        }
        std::unique_lock<std::mutex> lock(m);
        ++started;
        cv.notify_all();
        cv.wait(lock, [&] { return open; });
    }
    void on_end() { --active; }
    void set_open(bool o) {
        std::lock_guard<std::mutex> lock(m);
        open = o;
        cv.notify_all();
    }
    bool wait_started(int n) {
        std::unique_lock<std::mutex> lock(m);
        return cv.wait_for(lock, std::chrono::seconds(60), [&] { return started >= n; });
    }
};

class Serve : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        signal(SIGPIPE, SIG_IGN);
        log_route_ggml(false);
        dir_ = test::fresh_tmp_dir("serve");

        serve_model_params mp;
        const lmm_params lp    = test::golden_llm_params(k_root + "/llava/llava-tiny-f32.gguf");
        mp.model.llm           = lp.model;
        mp.model.n_threads     = 2;
        mp.model.vision        = k_root + "/llava/mmproj-llava-tiny-f32.gguf";
        mp.model.refiner.sam_path = test::convert_golden_sam(k_root + "/sam", dir_);
        mp.context.n_ctx       = lp.n_ctx;
        engine_sam_      = new serve_engine(mp);
        mp.model.refiner.name = "none";  // points only: the queue and validation tests need no masks (SAM is slow here)
        engine_points_   = new serve_engine(mp);
        image_           = file_text(k_root + "/llava/image.png");
    }
    static void TearDownTestSuite() {
        delete engine_sam_;
        delete engine_points_;
        engine_sam_ = engine_points_ = nullptr;
    }

    // A server on an ephemeral port, with the gate's hooks; with SAM, or points only.
    std::unique_ptr<serve_server> start(serve_params sp = {}, bool sam = false) {
        sp.host         = "127.0.0.1";
        sp.port         = 0;
        sp.on_job_start = [this](const serve_request &) { gate_.on_start(); };
        sp.on_job_end   = [this](const serve_request &) { gate_.on_end(); };
        auto srv        = std::make_unique<serve_server>(sam ? *engine_sam_ : *engine_points_, sp);
        port_           = srv->start();
        EXPECT_GT(port_, 0);
        return srv;
    }
    std::unique_ptr<httplib::Client> client() const {
        auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
        c->set_read_timeout(120);
        c->set_write_timeout(120);
        return c;
    }
    httplib::Result post_form(const std::string & path, const httplib::MultipartFormDataItems & items) const {
        return client()->Post(path.c_str(), items);
    }
    httplib::Result post_json(const std::string & path, const json & body) const {
        return client()->Post(path.c_str(), body.dump(), "application/json");
    }
    static json forced_body() {
        return { { "image_b64", base64_encode((const uint8_t *) image_.data(), image_.size()) }, { "answer", k_answer } };
    }
    // An error reply: the status and a one-line message.
    static void expect_error(const httplib::Result & r, int status, const std::string & needle) {
        ASSERT_TRUE(r) << "no reply: " << httplib::to_string(r.error());
        EXPECT_EQ(r->status, status) << r->body;
        const json j = json::parse(r->body);
        ASSERT_TRUE(j.contains("error")) << r->body;
        const std::string msg = j["error"].get<std::string>();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << "'" << msg << "' lacks '" << needle << "'";
    }

    static serve_engine * engine_sam_;
    static serve_engine * engine_points_;
    static std::string    dir_, image_;
    gate                  gate_;
    int                   port_ = 0;
};

serve_engine * Serve::engine_sam_    = nullptr;
serve_engine * Serve::engine_points_ = nullptr;
std::string    Serve::dir_, Serve::image_;

static void expect_phrases_inside(const json & j, int w, int h) {
    ASSERT_EQ(j.at("format"), "groundlmm.ground/1");
    EXPECT_EQ(j["image"]["width"], w);
    EXPECT_EQ(j["image"]["height"], h);
    for (const json & p : j["phrases"]) {
        if (p["point"].is_null()) {
            EXPECT_EQ(p["status"], "no-tokens") << p.dump();
            continue;
        }
        const int x = p["point"][0], y = p["point"][1];
        EXPECT_TRUE(x >= 0 && x < w && y >= 0 && y < h) << p.dump();
        ASSERT_FALSE(p["mask"].is_null()) << p.dump();
        EXPECT_EQ(p["mask"]["size"], json({ h, w }));
    }
}

TEST_F(Serve, Health) {
    auto srv = start({}, /*sam=*/true);
    auto r   = client()->Get("/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    const json j = json::parse(r->body);
    EXPECT_EQ(j["status"], "ok");
    EXPECT_EQ(j["queue"], 0);
    EXPECT_EQ(j["queue_max"], 16);
    EXPECT_EQ(j["models"]["refiner"].get<std::string>().rfind("sam", 0), 0u) << j["models"]["refiner"];
    EXPECT_EQ(j["models"]["n_ctx"], 1024);
    EXPECT_NE(j["models"]["llm"]["desc"].get<std::string>().find("3 layers"), std::string::npos) << j.dump();
    expect_error(client()->Get("/nope"), 404, "no such endpoint");
}

// Multipart, the model's own (random-weight) answer, overlay and HTML.
TEST_F(Serve, GroundMultipart) {
    auto srv = start({}, /*sam=*/true);
    auto r   = post_form("/ground", { { "image", image_, "image.png", "image/png" },
                                      { "n_predict", "24", "", "" },
                                      { "overlay", "1", "", "" },
                                      { "html", "1", "", "" } });
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    EXPECT_FALSE(j["answer"].get<std::string>().empty());
    EXPECT_FALSE(j["phrases"].empty()) << j["answer"];
    expect_phrases_inside(j, 400, 300);
    EXPECT_EQ(j["settings"]["n_predict"], 24);
    const std::string png = base64_decode(j["overlay_png_b64"].get<std::string>());
    const image_u8    ov  = image_decode((const uint8_t *) png.data(), png.size(), "overlay");
    EXPECT_EQ(ov.w, 400);
    const std::string html = j["answer_html"];
    EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
}

// JSON body with a teacher-forced answer: the same result as the library pipeline run directly.
TEST_F(Serve, GroundJsonMatchesLibrary) {
    json reply;
    {
        auto srv = start({}, /*sam=*/true);
        json b   = forced_body();
        b["mask_index"] = "best";
        auto r          = post_json("/ground", b);
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 200) << r->body;
        reply = json::parse(r->body);
    }
    expect_phrases_inside(reply, 400, 300);
    ASSERT_EQ(reply["phrases"].size(), 3u);
    EXPECT_EQ(reply["phrases"][0]["text"], "The image");
    EXPECT_EQ(reply["settings"]["mask_select"], "best");

    test::golden_llava m(k_root + "/llava");
    const image_u8     img = image_decode((const uint8_t *) image_.data(), image_.size(), "image");
    gen_params         gp;
    gp.forced                 = m.lm.tokenize(k_answer, false);
    const attend_result att   = attend_run(m.enc, m.ls, img, gp);
    sam_refiner         sam(sam_model::load(dir_ + "/sam-tiny.gguf", m.be), m.be);
    const phrase_chunker chunker;
    ground_params        gprm = ground_default_params();
    gprm.select               = mask_select::best;
    const json direct         = ground_to_json(ground(att, img, chunker, &sam, gprm), att);
    EXPECT_EQ(reply["answer"], direct["answer"]);
    ASSERT_EQ(reply["phrases"].size(), direct["phrases"].size());
    for (size_t i = 0; i < direct["phrases"].size(); ++i) {
        const json & a = reply["phrases"][i];
        const json & d = direct["phrases"][i];
        EXPECT_EQ(a["text"], d["text"]);
        EXPECT_EQ(a["point"], d["point"]);
        EXPECT_EQ(a["mask"], d["mask"]);
        EXPECT_EQ(a["mask_index"], d["mask_index"]);
        EXPECT_NEAR(a["score"].get<double>(), d["score"].get<double>(), 1e-6);
    }
}

TEST_F(Serve, Attend) {
    auto srv = start();
    json b   = forced_body();
    auto r   = post_json("/attend", b);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j["format"], "groundlmm.attend/1");
    const int T = j["maps"]["rows"], gw = j["grid"]["w"], gh = j["grid"]["h"];
    EXPECT_EQ(T, (int) j["tokens"].size());
    EXPECT_EQ(j["maps"]["shape"], json({ T, gh, gw }));
    for (const char * name : { "mean", "official" }) {
        const std::string raw = base64_decode(j["maps"][name].get<std::string>());
        ASSERT_EQ(raw.size(), (size_t) T * gh * gw * sizeof(float)) << name;
        const float * f = (const float *) raw.data();
        for (int k = 0; k < T; ++k) {  // softmax rows restricted to the image tokens: in (0, 1]
            double s = 0;
            for (int c = 0; c < gh * gw; ++c) {
                ASSERT_GE(f[(size_t) k * gh * gw + c], 0.0f);
                s += f[(size_t) k * gh * gw + c];
            }
            EXPECT_GT(s, 0.0);
            EXPECT_LE(s, 1.0 + 1e-5);
        }
    }
    // the same maps as JSON arrays
    b["maps"] = "json";
    auto r2   = post_json("/attend", b);
    ASSERT_TRUE(r2);
    ASSERT_EQ(r2->status, 200) << r2->body;
    const json        j2  = json::parse(r2->body);
    const std::string raw = base64_decode(j["maps"]["mean"].get<std::string>());
    ASSERT_EQ(j2["maps"]["mean"].size(), (size_t) T);
    ASSERT_EQ(j2["maps"]["mean"][0].size(), (size_t) gh * gw);
    EXPECT_FLOAT_EQ(j2["maps"]["mean"][T - 1][5].get<float>(), ((const float *) raw.data())[(size_t) (T - 1) * gh * gw + 5]);
}

TEST_F(Serve, ConcurrentRequestsAreSerialised) {
    auto                          srv = start();
    const int                     n   = 4;
    std::vector<std::future<httplib::Result>> fs;
    for (int i = 0; i < n; ++i) {
        fs.push_back(std::async(std::launch::async, [&] { return post_json("/ground", forced_body()); }));
    }
    std::vector<json> replies;
    for (auto & f : fs) {
        httplib::Result r = f.get();
        ASSERT_TRUE(r) << httplib::to_string(r.error());
        ASSERT_EQ(r->status, 200) << r->body;
        replies.push_back(json::parse(r->body));
    }
    EXPECT_EQ(gate_.max_active.load(), 1);  // never two jobs on the models at once
    EXPECT_EQ(srv->stats().done, (uint64_t) n);
    for (int i = 1; i < n; ++i) {  // greedy, same input: the same result whatever the interleaving
        EXPECT_EQ(replies[i]["answer"], replies[0]["answer"]);
        EXPECT_EQ(replies[i]["phrases"], replies[0]["phrases"]);
    }
}

TEST_F(Serve, BadImage) {
    auto srv = start();
    expect_error(post_form("/ground", { { "image", "this is not an image", "x.png", "image/png" } }), 400, "image");
    expect_error(post_form("/ground", { { "prompt", "hi", "", "" } }), 400, "no image");
    expect_error(post_json("/ground", { { "image_b64", "@@not base64@@" } }), 400, "base64");
    const std::string half = image_.substr(0, image_.size() / 2);  // a truncated PNG
    expect_error(post_json("/ground", { { "image_b64", base64_encode((const uint8_t *) half.data(), half.size()) } }), 400,
                 "image");
    EXPECT_EQ(srv->stats().done, 0u);  // refused before the queue
}

TEST_F(Serve, BadOption) {
    auto srv = start();
    json b   = forced_body();
    b["temp"] = -1;
    expect_error(post_json("/ground", b), 400, "temp");
    b         = forced_body();
    b["mask_index"] = "3";
    expect_error(post_json("/ground", b), 400, "mask_index");
    expect_error(post_form("/ground", { { "image", image_, "i.png", "" }, { "n_predict", "0", "", "" } }), 400,
                 "n_predict");
    expect_error(post_form("/ground", { { "image", image_, "i.png", "" }, { "overlay", "yes", "", "" } }), 400, "overlay");
    expect_error(post_form("/ground", { { "image", image_, "i.png", "" }, { "sccore_thresh", "0.5", "", "" } }), 400,
                 "unknown field 'sccore_thresh'");
    expect_error(post_form("/attend", { { "image", image_, "i.png", "" }, { "overlay", "1", "", "" } }), 400,
                 "unknown field 'overlay'");
    expect_error(client()->Post("/ground", "{\"image_b64\": ", "application/json"), 400, "invalid JSON");
    expect_error(client()->Post("/ground", "image=1", "text/plain"), 415, "multipart/form-data or application/json");
    EXPECT_EQ(srv->stats().done, 0u);
}

TEST_F(Serve, Oversized) {
    serve_params sp;
    sp.max_image_mb = 4.0 / 1024;  // 4 KiB: the 7.5 KB test image is too large
    auto srv        = start(sp);
    // image over the image limit, body under the body limit: refused by validation
    expect_error(post_form("/ground", { { "image", image_, "image.png", "image/png" } }), 413, "at most 4096");
    // body over the body limit: refused while reading
    const std::string big(3u << 20, 'x');
    expect_error(post_form("/ground", { { "image", big, "big.png", "image/png" } }), 413, "too large");
    expect_error(post_json("/ground", { { "image_b64", std::string(4u << 20, 'A') } }), 413, "too large");
    EXPECT_EQ(srv->stats().done, 0u);
}

TEST_F(Serve, QueueOverflow) {
    serve_params sp;
    sp.queue = 1;
    auto srv = start(sp);
    gate_.set_open(false);
    auto first = std::async(std::launch::async, [&] { return post_json("/ground", forced_body()); });
    ASSERT_TRUE(gate_.wait_started(1));  // running, held at the gate
    auto second = std::async(std::launch::async, [&] { return post_json("/ground", forced_body()); });
    for (int i = 0; i < 6000 && srv->stats().waiting < 1; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(srv->stats().waiting, 1u);  // the queue of one is full
    std::vector<std::future<httplib::Result>> more;
    for (int i = 0; i < 3; ++i) {
        more.push_back(std::async(std::launch::async, [&] { return post_json("/ground", forced_body()); }));
    }
    for (auto & f : more) {
        expect_error(f.get(), 503, "queue is full");
    }
    const json h = json::parse(client()->Get("/health")->body);  // health answers while the models are busy
    EXPECT_EQ(h["queue"], 1);
    EXPECT_EQ(h["running"], true);
    gate_.set_open(true);
    for (auto * f : { &first, &second }) {
        httplib::Result r = f->get();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200) << r->body;
    }
    EXPECT_EQ(srv->stats().refused, 3u);
    EXPECT_EQ(srv->stats().done, 2u);
}

TEST_F(Serve, TimeoutWithdrawsWaitingJob) {
    serve_params sp;
    sp.timeout_s = 0.5;
    auto srv     = start(sp);
    gate_.set_open(false);
    auto first = std::async(std::launch::async, [&] { return post_json("/ground", forced_body()); });
    ASSERT_TRUE(gate_.wait_started(1));
    expect_error(post_json("/ground", forced_body()), 503, "no reply within");  // waited 0.5 s in the queue
    EXPECT_EQ(srv->stats().withdrawn, 1u);
    EXPECT_EQ(srv->stats().waiting, 0u);
    expect_error(first.get(), 503, "no reply within");  // the running one outlived its deadline too
    gate_.set_open(true);
    srv->stop();
    EXPECT_EQ(srv->stats().done, 1u);  // ... but it finished; the withdrawn one never ran
}

TEST_F(Serve, ContextOverflowIs400BeforeQueueing) {
    auto srv = start();
    // 576 image tokens + the prompt + 1000 generated tokens do not fit a context of 1024
    expect_error(post_form("/ground", { { "image", image_, "i.png", "" }, { "n_predict", "1000", "", "" } }), 400,
                 "does not fit the context");
    EXPECT_EQ(srv->stats().done, 0u);
    // the loop survives: the next request works
    auto r = post_json("/ground", forced_body());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(Serve, GracefulStop) {
    auto srv = start();
    gate_.set_open(false);
    auto running = std::async(std::launch::async, [&] { return post_json("/ground", forced_body()); });
    ASSERT_TRUE(gate_.wait_started(1));
    auto waiting = std::async(std::launch::async, [&] { return post_json("/ground", forced_body()); });
    for (int i = 0; i < 6000 && srv->stats().waiting < 1; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(srv->stats().waiting, 1u);
    std::thread stopper([&] { srv->stop(); });
    expect_error(waiting.get(), 503, "shutting down");  // cancelled, never run
    gate_.set_open(true);
    httplib::Result r = running.get();  // finished
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    stopper.join();
    EXPECT_FALSE(srv->running());
    EXPECT_EQ(srv->stats().done, 1u);
    auto c = client();
    c->set_connection_timeout(2);
    EXPECT_FALSE(c->Get("/health"));  // no longer listening
}

// LLaVA-NeXT files behind the server (tests/golden/llava-next: the anyres mmproj and its LLM): one /ground request
// with the golden's continuation as the answer; the reply's grid is the case's unpadded high-res grid from cases.json
// and its answer the one sent.
TEST(ServeNext, GroundLoadsLlavaNext) {
    signal(SIGPIPE, SIG_IGN);
    log_route_ggml(false);
    const std::string dir   = k_root + "/llava-next";
    const json        cases = json::parse(std::ifstream(dir + "/cases.json"));
    const json &      c     = cases["cases"]["landscape"];
    serve_model_params mp;
    mp.model.llm          = dir + "/" + cases["gguf"]["files"]["text_f32"].get<std::string>();
    mp.model.vision       = dir + "/" + cases["gguf"]["files"]["mmproj_f32"].get<std::string>();
    mp.model.n_threads    = 2;
    mp.model.refiner.name = "none";
    mp.context.n_ctx      = 2048;
    serve_engine engine(mp);
    serve_params sp;
    sp.host = "127.0.0.1";
    sp.port = 0;
    serve_server srv(engine, sp);
    const int    port = srv.start();
    ASSERT_GT(port, 0);
    const std::string img = file_text(dir + "/" + c["image"]["file"].get<std::string>());
    const std::string ans = cases["config"]["continuation"];
    const json        body = { { "image_b64", base64_encode((const uint8_t *) img.data(), img.size()) },
                               { "answer", ans },
                               { "prompt", cases["config"]["question"] } };
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(120);
    auto r = cli.Post("/ground", body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j["answer"], ans);
    EXPECT_EQ(j["grid"]["h"], c["nx"]["hr_grid_rows_cols"][0]);
    EXPECT_EQ(j["grid"]["w"], c["nx"]["hr_grid_rows_cols"][1]);
    EXPECT_EQ(j["image"]["width"], c["image"]["size_wh"][0]);
    EXPECT_FALSE(j["phrases"].empty());
    srv.stop();
}

TEST(ServeRequest, Base64) {
    for (size_t n = 0; n < 8; ++n) {  // every padding case round-trips
        std::string raw;
        for (size_t i = 0; i < n; ++i) {
            raw += (char) (0xF0 + 7 * i);
        }
        const std::string b64 = base64_encode((const uint8_t *) raw.data(), raw.size());
        EXPECT_EQ(b64.size(), (n + 2) / 3 * 4);
        EXPECT_EQ(base64_decode(b64), raw) << b64;
    }
    EXPECT_EQ(base64_encode((const uint8_t *) "Man", 3), "TWFu");
    EXPECT_EQ(base64_decode("data:image/png;base64,TWE="), "Ma");
    EXPECT_EQ(base64_decode("TW\nFu"), "Man");  // line breaks are skipped
    EXPECT_THROW(base64_decode("TWF"), serve_http_error);     // truncated
    EXPECT_THROW(base64_decode("TW=u"), serve_http_error);    // data after padding
    EXPECT_THROW(base64_decode("TWF*"), serve_http_error);    // not base64
    EXPECT_THROW(base64_decode("data:,TWFu"), serve_http_error);  // data URL without ;base64
}
