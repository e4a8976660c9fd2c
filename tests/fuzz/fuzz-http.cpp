// Fuzz target: the HTTP/1.1 request parser of groundlmm serve, fed in pieces whose sizes come from the input,
// with pipelined requests, then the multipart splitter on every body. Checks the parser's own invariants: the
// buffered body never passes the limit, feed() never claims more bytes than it was given, and a finished request
// has exactly its Content-Length of body.
#include "common.h"
#include "serve-http-parse.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 2) {
        return 0;
    }
    glm::http_limits lim;
    lim.max_line_bytes = 256;
    lim.max_head_bytes = 1024;
    lim.max_headers    = 16;
    lim.max_body_bytes = 4096;
    glm::http_request_parser p(lim);
    const size_t             step = 1 + data[0] % 64;  // piece size: byte-at-a-time to whole
    const char *             in   = (const char *) data + 1;
    size_t                   n = size - 1, off = 0;
    for (int requests = 0; off < n && requests < 64;) {
        const size_t piece = std::min(step, n - off);
        const size_t used  = p.feed(in + off, piece);
        if (used > piece || p.body_bytes() > lim.max_body_bytes) {
            abort();
        }
        off += used;
        if (p.st() == glm::http_request_parser::state::error) {
            if (p.error_status() < 400 || p.error_message().empty()) {
                abort();
            }
            break;
        }
        if (p.st() == glm::http_request_parser::state::done) {
            const glm::http_request & r = p.request();
            if (!r.chunked && r.content_length >= 0 && r.body.size() != (size_t) r.content_length) {
                abort();
            }
            const std::string * ct = r.header("content-type");
            if (ct) {
                try {
                    glm::parse_multipart(r.body, glm::http_header_param(*ct, "boundary"));
                } catch (const glm::error &) {
                }
            }
            p.reset();
            ++requests;
        } else if (used == 0 && piece > 0 && p.st() == glm::http_request_parser::state::head) {
            abort();  // a parser reading a head must consume what it is given
        }
    }
    return 0;
}
