// What groundlmm serve adds for browsers and point editing (issue 15), without models or sockets: the embedded page,
// GET /props (every served field it names is accepted by the request parser with its default and each choice), the
// event-stream framing, POST /segment's request parsing and its bounded LRU cache of image embeddings.
#include "serve-page.h"
#include "serve-request.h"
#include "serve-segment.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace glm;
using json = nlohmann::json;

static std::string tiny_png() {
    image_u8 img;
    img.w = 4;
    img.h = 3;
    img.rgb.assign(4 * 3 * 3, 128);
    const std::vector<uint8_t> png = image_encode_png(img);
    return std::string(png.begin(), png.end());
}

static int status_of(serve_kind kind, const json & fields, const std::string & image, bool form = false) {
    try {
        serve_parse_request(kind, fields, image, serve_limits{}, form);
        return 200;
    } catch (const serve_http_error & e) {
        return e.status;
    }
}

TEST(ServePage, EmbeddedPageIsWholeAndOffline) {
    const std::string_view html = serve_page_html();
    ASSERT_GT(html.size(), 1000u);
    EXPECT_EQ(html.substr(0, 15), "<!doctype html>");
    EXPECT_NE(html.find("</html>"), std::string_view::npos);
    // no asset from elsewhere: no external script, style sheet or font
    for (const char * bad : { "<script src", "<link ", "http://", "https://", "@import" }) {
        EXPECT_EQ(html.find(bad), std::string_view::npos) << bad;
    }
}

TEST(ServePage, PropsFieldsAreAcceptedByTheParser) {
    const json  props = serve_props_json({ { "llm", "x" } }, { { "queue_max", 3 } });
    const std::string png = tiny_png();
    EXPECT_EQ(props.at("models").at("llm"), "x");
    EXPECT_EQ(props.at("server").at("queue_max"), 3);
    int served = 0;
    for (const json & s : props.at("settings")) {
        ASSERT_TRUE(s.contains("default") && s.contains("help") && s.contains("type")) << s.dump();
        const json & f = s.at("field");
        if (f.is_null()) {
            continue;
        }
        ++served;
        const std::string name = f.at("name");
        json              d    = f.at("default");
        if (name == "answer" || (name == "n_predict")) {
            continue;  // an empty answer is "generate"; n_predict's default is capped by the context
        }
        EXPECT_EQ(status_of(serve_kind::ground, { { name, d } }, png), 200) << name << " = " << d.dump();
        for (const json & c : f.at("choices")) {
            EXPECT_EQ(status_of(serve_kind::ground, { { name, c } }, png), 200) << name << " = " << c.dump();
        }
        if (s.at("type") == "integer" || s.at("type") == "number") {  // the range the page puts on its control
            EXPECT_EQ(status_of(serve_kind::ground, { { name, s.at("min") } }, png), 200) << name;
            EXPECT_EQ(status_of(serve_kind::ground, { { name, s.at("max") } }, png), 200) << name;
        }
    }
    EXPECT_GE(served, 12);
    EXPECT_EQ(status_of(serve_kind::ground, { { "stream", true } }, png), 200);
    EXPECT_EQ(status_of(serve_kind::ground, { { "stream", "yes" } }, png, true), 400);
    EXPECT_EQ(status_of(serve_kind::attend, { { "stream", true } }, png), 400);  // /attend does not stream
}

TEST(ServePage, EventFraming) {
    EXPECT_EQ(serve_sse("token", "{\"k\":0}"), "event: token\ndata: {\"k\":0}\n\n");
    EXPECT_EQ(serve_sse("done", "a\nb"), "event: done\ndata: a b\n\n");  // one data line whatever comes
}

TEST(ServeSegment, ParseRequest) {
    const std::string png = tiny_png();
    serve_request r = serve_parse_request(serve_kind::segment, { { "points", { { 1, 2 }, { 3, 1, 0 } } } }, png, {});
    ASSERT_EQ(r.seg.points.size(), 2u);
    EXPECT_EQ(r.seg.points[1].x, 3);
    EXPECT_EQ(r.seg.points[1].label, 0);
    EXPECT_FALSE(r.image_data.empty());
    // form fields: JSON text
    r = serve_parse_request(serve_kind::segment, { { "box", "[0, 0, 2, 2]" }, { "image_hash", "abc" } }, "", {}, true);
    EXPECT_TRUE(r.seg.has_box);
    EXPECT_EQ(r.seg.box[2], 2);
    EXPECT_EQ(r.seg.image_hash, "abc");
    EXPECT_EQ(status_of(serve_kind::segment, json::object(), png), 400);                            // no prompt
    EXPECT_EQ(status_of(serve_kind::segment, { { "points", { { 1, 2 } } } }, ""), 400);             // no image
    EXPECT_EQ(status_of(serve_kind::segment, { { "points", { { 1, 2 } } }, { "image_hash", "a" } }, png), 400);  // both
    EXPECT_EQ(status_of(serve_kind::segment, { { "points", { { 1 } } } }, png), 400);
    EXPECT_EQ(status_of(serve_kind::segment, { { "points", { { 1, 2, 5 } } } }, png), 400);          // label
    EXPECT_EQ(status_of(serve_kind::segment, { { "points", { { 1.5, 2 } } } }, png), 400);
    EXPECT_EQ(status_of(serve_kind::segment, { { "box", { 2, 2, 1, 3 } } }, png), 400);              // empty box
    EXPECT_EQ(status_of(serve_kind::segment, { { "points", "[[1,2]" } }, png, true), 400);           // bad JSON text
    EXPECT_EQ(status_of(serve_kind::segment, { { "points", { { 1, 2 } } }, { "prompt", "x" } }, png), 400);  // unknown
    json many = json::array();
    for (int i = 0; i < 65; ++i) {
        many.push_back({ 0, 0 });
    }
    EXPECT_EQ(status_of(serve_kind::segment, { { "points", many } }, png), 400);
}

static std::shared_ptr<serve_embed_entry> entry(const std::string & hash, size_t n_floats) {
    auto e  = std::make_shared<serve_embed_entry>();
    e->hash = hash;
    e->img.w = 2;
    e->img.h = 2;
    e->img.rgb.assign(12, 0);
    e->emb.assign(n_floats, 0.0f);
    return e;
}

TEST(ServeSegment, CacheEvictsLeastRecentlyUsed) {
    const size_t each = 12 + 100 * sizeof(float);
    serve_embed_cache c(3 * each, 10);
    EXPECT_TRUE(c.put(entry("a", 100)));
    EXPECT_TRUE(c.put(entry("b", 100)));
    EXPECT_TRUE(c.put(entry("c", 100)));
    EXPECT_NE(c.get("a"), nullptr);  // a is now the most recent: b goes first
    EXPECT_TRUE(c.put(entry("d", 100)));
    EXPECT_EQ(c.get("b"), nullptr);
    EXPECT_NE(c.get("a"), nullptr);
    EXPECT_NE(c.get("c"), nullptr);
    EXPECT_NE(c.get("d"), nullptr);
    serve_embed_stats s = c.stats();
    EXPECT_EQ(s.entries, 3u);
    EXPECT_EQ(s.bytes, 3 * each);
    EXPECT_EQ(s.evictions, 1u);
    EXPECT_EQ(s.hits, 4u);
    EXPECT_EQ(s.misses, 1u);
    // too large on its own: not kept, nothing evicted for it
    EXPECT_FALSE(c.put(entry("huge", 1000)));
    EXPECT_EQ(c.stats().entries, 3u);
    // replacing an entry counts its bytes once
    EXPECT_TRUE(c.put(entry("a", 100)));
    EXPECT_EQ(c.stats().bytes, 3 * each);
    // the count limit
    serve_embed_cache two(1u << 30, 2);
    two.put(entry("x", 1));
    two.put(entry("y", 1));
    two.put(entry("z", 1));
    EXPECT_EQ(two.get("x"), nullptr);
    EXPECT_EQ(two.stats().entries, 2u);
}

TEST(ServeSegment, ImageHash) {
    image_u8 a;
    a.w = 2;
    a.h = 3;
    a.rgb.assign(18, 7);
    image_u8 b = a;
    EXPECT_EQ(serve_image_hash(a), serve_image_hash(b));
    EXPECT_EQ(serve_image_hash(a).size(), 16u);
    b.rgb[5] = 8;
    EXPECT_NE(serve_image_hash(a), serve_image_hash(b));
    image_u8 c = a;  // same bytes, other shape
    c.w = 3;
    c.h = 2;
    EXPECT_NE(serve_image_hash(a), serve_image_hash(c));
}
