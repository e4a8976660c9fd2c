// serve-http-parse.h: a strict, incremental HTTP/1.1 request parser and a multipart/form-data splitter for
// `groundlmm serve`, written for hostile input: every buffer it fills is bounded before it is filled.
//   - the request line and the headers together are at most http_limits::max_head_bytes (else 431, or 414 when
//     the request line alone is too long), at most max_headers header lines;
//   - a body is framed by one Content-Length (digits only; several, or with chunked, is 400) or by
//     Transfer-Encoding: chunked (any other transfer coding is 501); a Content-Length above max_body_bytes is
//     refused (413) before one byte of the body is read, and a chunked body as soon as its decoded size would pass
//     the limit;
//   - a Content-Encoding other than identity is refused (415): bodies are never inflated;
//   - obsolete header folding, control characters, a bare CR, or spaces in the request target are 400.
// The parser never allocates more than the limits allow plus the bytes of one feed() call.
// Pure code, no I/O: one parser per connection, not thread-safe; parse_multipart is a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace glm {

struct http_limits {
    size_t max_line_bytes = 8192;      // the request line (method, target, version)
    size_t max_head_bytes = 16384;     // request line + headers + blank line
    size_t max_headers    = 64;        // header lines
    size_t max_body_bytes = 1u << 20;  // decoded body
};

struct http_request {
    std::string method;   // as sent (case-sensitive, RFC 9110)
    std::string target;   // the request target as sent
    std::string path;     // the target up to '?'
    int         minor = 1;            // HTTP/1.<minor>
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
    std::string body;     // decoded (de-chunked) body
    bool        keep_alive      = true;   // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
    bool        expect_continue = false;  // "Expect: 100-continue"
    bool        chunked         = false;
    int64_t     content_length  = -1;     // -1: none given

    // The value of a header (name lower-case), nullptr if absent.
    const std::string * header(const char * lname) const;
};

class http_request_parser {
public:
    enum class state { head, body, done, error };

    explicit http_request_parser(const http_limits & limits) : lim_(limits) {}

    // Consumes bytes of one request; returns how many were used. It stops at the end of the request (state done,
    // the rest belongs to the next request on the connection) or at an error (state error).
    size_t feed(const char * data, size_t n);

    state                st() const { return st_; }
    bool                 started() const { return st_ != state::head || !buf_.empty(); }
    int                  error_status() const { return err_status_; }
    const std::string &  error_message() const { return err_msg_; }
    http_request &       request() { return req_; }
    const http_request & request() const { return req_; }
    size_t               body_bytes() const { return req_.body.size(); }  // buffered so far
    void                 reset();  // for the next request on the same connection

private:
    bool fail(int status, const std::string & msg);
    bool parse_head();  // buf_ holds the whole head; fills req_ and chooses the body framing
    size_t feed_chunked(const char * data, size_t n);

    http_limits  lim_;
    state        st_ = state::head;
    std::string  buf_;          // the head being read; then a chunk-size or trailer line
    bool         line1_done_ = false;  // the request line is complete
    http_request req_;
    int          err_status_ = 0;
    std::string  err_msg_;
    // chunked decoding
    enum class chunk_state { size_line, data, data_crlf, trailer };
    chunk_state  cst_     = chunk_state::size_line;
    uint64_t     chunk_left_ = 0;
    size_t       trailer_bytes_ = 0;
};

// The value of a Content-Type parameter (e.g. "boundary"), unquoted; "" if absent.
std::string http_header_param(const std::string & value, const char * name);
// The media type of a Content-Type value, lower-cased, without parameters ("application/json").
std::string http_media_type(const std::string & content_type);

struct multipart_part {
    std::string name;          // form field name (Content-Disposition: form-data; name="...")
    std::string filename;      // "" if none
    std::string content_type;  // "" if none
    std::string data;
};

// Splits a multipart/form-data body (RFC 7578) with the given boundary. At most max_parts parts, each with at
// most 16 header lines of at most 1 KiB; throws glm::error with a one-line message on any malformed input.
std::vector<multipart_part> parse_multipart(const std::string & body, const std::string & boundary,
                                            size_t max_parts = 64);

// "HTTP/1.1 <status> <reason>"'s reason phrase.
const char * http_reason(int status);

}  // namespace glm
