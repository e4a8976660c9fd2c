// Fuzz target: a POST body of groundlmm serve as the parsing threads see it: the first byte picks the
// Content-Type (JSON, or multipart with the boundary "B"), the rest is the body. Runs the body parser (JSON,
// multipart, base64), the field validation and the image decoding (size capped). Any exception other than
// serve_http_error with a 4xx status is a bug.
#include "common.h"
#include "serve-request.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 1) {
        return 0;
    }
    const std::string ctype = data[0] & 1 ? "multipart/form-data; boundary=B" : "application/json";
    std::string       body((const char *) data + 1, size - 1);
    glm::serve_limits lim;
    lim.max_image_bytes  = 1 << 16;
    lim.max_image_pixels = 1 << 20;
    lim.max_n_predict    = 1024;
    try {
        nlohmann::json fields;
        std::string    image;
        bool           form = false;
        glm::serve_parse_body(ctype, body, lim, fields, image, form);
        const glm::serve_kind kind = data[0] & 2 ? glm::serve_kind::attend : glm::serve_kind::ground;
        glm::serve_request    r    = glm::serve_parse_request(kind, fields, image, lim, form);
        glm::serve_request_decode_image(r, lim);  // what the queue does when the job starts
        if (r.image.w <= 0 || r.image.h <= 0 || r.image.rgb.size() != (size_t) r.image.w * r.image.h * 3) {
            abort();
        }
    } catch (const glm::serve_http_error & e) {
        if (e.status < 400 || e.status > 499) {
            abort();
        }
    }
    return 0;
}
