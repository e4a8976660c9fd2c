// The request side of groundlmm serve without models or sockets: the incremental HTTP/1.1 parser (framing,
// limits, byte-at-a-time feeding, pipelining), the multipart/form-data splitter, and the strict field types.
#include "common.h"
#include "serve-http-parse.h"
#include "serve-request.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace glm;
using json = nlohmann::json;

static http_limits small_limits() {
    http_limits l;
    l.max_line_bytes = 64;
    l.max_head_bytes = 256;
    l.max_headers    = 4;
    l.max_body_bytes = 100;
    return l;
}

// Feeds the whole text (in pieces of `step` bytes, vetting nothing); returns the parser's final state.
static http_request_parser::state parse(http_request_parser & p, const std::string & text, size_t step = 1 << 20,
                                        size_t * used = nullptr) {
    size_t off = 0;
    while (off < text.size() && p.st() != http_request_parser::state::done && p.st() != http_request_parser::state::error) {
        const size_t n = std::min(step, text.size() - off);
        off += p.feed(text.data() + off, n);
    }
    if (used) {
        *used = off;
    }
    return p.st();
}

TEST(HttpParse, ContentLengthBodyAnyFeedSize) {
    const std::string req = "\r\nPOST /ground?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                            "Content-Length: 5\r\n\r\nhello";
    for (size_t step : { (size_t) 1, (size_t) 3, (size_t) 1000 }) {
        http_request_parser p(small_limits());
        ASSERT_EQ(parse(p, req, step), http_request_parser::state::done) << step << ": " << p.error_message();
        EXPECT_EQ(p.request().method, "POST");
        EXPECT_EQ(p.request().path, "/ground");
        EXPECT_EQ(p.request().target, "/ground?x=1");
        EXPECT_EQ(p.request().body, "hello");
        ASSERT_NE(p.request().header("content-type"), nullptr);
        EXPECT_EQ(*p.request().header("content-type"), "application/json");
        EXPECT_TRUE(p.request().keep_alive);
    }
}

TEST(HttpParse, PipelinedRequestsStopAtTheEnd) {
    const std::string two = "GET /health HTTP/1.1\r\n\r\nGET /health HTTP/1.0\r\n\r\n";
    http_request_parser p(small_limits());
    size_t              used = 0;
    ASSERT_EQ(parse(p, two, 1 << 20, &used), http_request_parser::state::done);
    EXPECT_EQ(used, two.size() / 2);
    p.reset();
    ASSERT_EQ(parse(p, two.substr(used)), http_request_parser::state::done);
    EXPECT_EQ(p.request().minor, 0);
    EXPECT_FALSE(p.request().keep_alive);
}

TEST(HttpParse, Chunked) {
    const std::string req = "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n"
                            "6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t step : { (size_t) 1, (size_t) 7, (size_t) 1000 }) {
        http_request_parser p(small_limits());
        ASSERT_EQ(parse(p, req, step), http_request_parser::state::done) << p.error_message();
        EXPECT_EQ(p.request().body, "hello world");
    }
    // over the limit: refused at the chunk size, before its data
    http_request_parser p(small_limits());
    EXPECT_EQ(parse(p, "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n" + std::string(80, 'x') +
                           "\r\n50\r\n"), http_request_parser::state::error);
    EXPECT_EQ(p.error_status(), 413);
    EXPECT_LE(p.body_bytes(), 100u);
}

TEST(HttpParse, LimitsAndFramingErrors) {
    struct tcase {
        std::string text;
        int         status;
    };
    const std::vector<tcase> cases = {
        { "GET /" + std::string(100, 'a'), 414 },                                     // endless request line
        { "GET / HTTP/1.1\r\n" + std::string(300, 'h'), 431 },                        // endless header
        { "GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n", 431 },   // too many headers
        { "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413 },                    // over the body limit
        { "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400 },
        { "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
        { "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\n", 415 },
        { "GET / HTTP/1.1\r\nExpect: x\r\n\r\n", 417 },
        { "GET / HTTP/3.0\r\n\r\n", 505 },
        { "GET / HTTX/1.1\r\n\r\n", 400 },
        { "GET  / HTTP/1.1\r\n\r\n", 400 },
        { "GET / HTTP/1.1 x\r\n\r\n", 400 },
        { "G@T / HTTP/1.1\r\n\r\n", 400 },
        { "GET x HTTP/1.1\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nA: 1\r\n 2\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nA : 1\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\n: 1\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nA: 1\r2\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nA: \x01\r\n\r\n", 400 },
        { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n", 400 },
    };
    for (const tcase & t : cases) {
        http_request_parser p(small_limits());
        EXPECT_EQ(parse(p, t.text), http_request_parser::state::error) << t.text;
        EXPECT_EQ(p.error_status(), t.status) << t.text << ": " << p.error_message();
        EXPECT_FALSE(p.error_message().empty());
    }
}

TEST(HttpParse, HeaderParams) {
    EXPECT_EQ(http_media_type(" Multipart/Form-Data ; boundary=abc"), "multipart/form-data");
    EXPECT_EQ(http_header_param("multipart/form-data; boundary=abc", "boundary"), "abc");
    EXPECT_EQ(http_header_param("multipart/form-data; charset=x; Boundary=\"a b;c\"", "boundary"), "a b;c");
    EXPECT_EQ(http_header_param("form-data; name=\"image\"; filename=\"i.png\"", "name"), "image");
    EXPECT_EQ(http_header_param("form-data; name=\"image\"; filename=\"i.png\"", "filename"), "i.png");
    EXPECT_EQ(http_header_param("text/plain", "boundary"), "");
}

TEST(Multipart, SplitsAndRefuses) {
    const std::string body = "preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
                             "Content-Type: image/png\r\n\r\n\x89PNG\r\n--X\r\n--XX\r\n"
                             "Content-Disposition: form-data; name=\"temp\"\r\n\r\n0.5\r\n--XX--\r\nepilogue";
    const auto parts = parse_multipart(body, "XX");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].name, "image");
    EXPECT_EQ(parts[0].filename, "a.png");
    EXPECT_EQ(parts[0].content_type, "image/png");
    EXPECT_EQ(parts[0].data, "\x89PNG\r\n--X");  // a partial delimiter inside the data is data
    EXPECT_EQ(parts[1].data, "0.5");
    EXPECT_THROW(parse_multipart(body, ""), glm::error);
    EXPECT_THROW(parse_multipart("--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end", "XX"), glm::error);
    EXPECT_THROW(parse_multipart("--XX\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XX--", "XX"), glm::error);
    EXPECT_THROW(parse_multipart("--XX\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XX--", "XX"), glm::error);
    EXPECT_THROW(parse_multipart("nothing here", "XX"), glm::error);
    std::string many;
    for (int i = 0; i < 70; ++i) {
        many += "--XX\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) + "\"\r\n\r\nv\r\n";
    }
    EXPECT_THROW(parse_multipart(many + "--XX--", "XX"), glm::error);
}

// JSON bodies are typed; form fields are decimal text. null is never "absent".
TEST(ServeFields, StrictTypes) {
    serve_limits lim;
    auto status = [&](const json & fields, bool form) {
        try {
            serve_parse_request(serve_kind::ground, fields, "", lim, form);
        } catch (const serve_http_error & e) {
            return std::string(e.what()).find("no image") != std::string::npos ? 0 : e.status;
        }
        return -1;
    };
    EXPECT_EQ(status({ { "temp", 0.5 } }, false), 0);  // fields fine (then: no image)
    EXPECT_EQ(status({ { "temp", "0.5" } }, false), 400);
    EXPECT_EQ(status({ { "temp", "0.5" } }, true), 0);
    EXPECT_EQ(status({ { "temp", "0x10" } }, true), 400);
    EXPECT_EQ(status({ { "temp", "inf" } }, true), 400);
    EXPECT_EQ(status({ { "temp", "nan" } }, true), 400);
    EXPECT_EQ(status({ { "temp", " 1" } }, true), 400);
    EXPECT_EQ(status({ { "temp", "1e-1" } }, true), 0);
    EXPECT_EQ(status({ { "temp", ".5" } }, true), 0);
    EXPECT_EQ(status({ { "temp", "." } }, true), 400);
    EXPECT_EQ(status({ { "n_predict", "12" } }, true), 0);
    EXPECT_EQ(status({ { "n_predict", "12" } }, false), 400);
    EXPECT_EQ(status({ { "n_predict", "1e3" } }, true), 400);
    EXPECT_EQ(status({ { "n_predict", 12.0 } }, false), 400);
    EXPECT_EQ(status({ { "prompt", nullptr } }, false), 400);
    EXPECT_EQ(status({ { "overlay", true } }, false), 0);
    EXPECT_EQ(status({ { "overlay", 1 } }, false), 0);
    EXPECT_EQ(status({ { "overlay", "1" } }, false), 400);
    EXPECT_EQ(status({ { "overlay", "true" } }, true), 0);
    EXPECT_EQ(status({ { "overlay", "yes" } }, true), 400);
}

// The fields are the settings table's names; old spellings are its aliases; stage-2 fields only on /ground.
TEST(ServeFields, SettingsTableNames) {
    serve_limits lim;
    // a 1x1 PNG: the parse goes through to the end
    static const unsigned char png1x1[] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R',
                                            0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde, 0, 0, 0, 0x0c,
                                            'I', 'D', 'A', 'T', 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0, 0, 0x03, 0x01, 0x01,
                                            0x00, 0x18, 0xdd, 0x8d, 0xb0, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60,
                                            0x82 };
    const std::string img((const char *) png1x1, sizeof(png1x1));
    auto req = [&](serve_kind kind, const json & fields) { return serve_parse_request(kind, fields, img, lim, false); };
    const serve_request a = req(serve_kind::ground, { { "aspect", "original" }, { "mask_select", "best" }, { "min_score", 0.25 } });
    EXPECT_FALSE(a.ground.aspect_auto);  // an explicit aspect overrides the layout's
    EXPECT_EQ(a.ground.maps.aspect, map_aspect::original);
    EXPECT_EQ(a.ground.select, mask_select::best);
    EXPECT_FLOAT_EQ(a.ground.min_score, 0.25f);
    const serve_request b = req(serve_kind::ground, { { "mask_index", "best" }, { "score_thresh", 0.25 }, { "drop_empty", true } });
    EXPECT_EQ(b.ground.select, mask_select::best);
    EXPECT_FLOAT_EQ(b.ground.min_score, 0.25f);
    EXPECT_FALSE(b.ground.keep_empty);
    const serve_request c = req(serve_kind::ground, json::object());
    EXPECT_TRUE(c.ground.aspect_auto);  // default: what the vision model's layout says
    EXPECT_THROW(req(serve_kind::attend, { { "mask_select", "best" } }), serve_http_error);  // stage 2 on /attend
    EXPECT_THROW(req(serve_kind::ground, { { "attn_heads", "dump" } }), serve_http_error);
    EXPECT_THROW(req(serve_kind::ground, { { "attn_heads", "/etc/passwd.json" } }), serve_http_error);  // no files
    EXPECT_THROW(req(serve_kind::ground, { { "attn_heads", "file:/etc/hosts" } }), serve_http_error);
    const serve_request h = req(serve_kind::ground, { { "attn_heads", "0.1,1.0" } });
    EXPECT_EQ(h.heads, attn_heads::set);
    EXPECT_EQ(h.head_sel.pairs.size(), 2u);
    EXPECT_EQ(h.ground.head_sel.pairs.size(), 2u);
    EXPECT_THROW(req(serve_kind::ground, { { "n_predict", 100000 } }), serve_http_error);
}
