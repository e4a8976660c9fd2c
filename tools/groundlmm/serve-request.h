// serve-request.h: what a `groundlmm serve` request asks for, parsed and validated before it is queued.
// The HTTP layer turns a multipart form or a JSON body into one JSON object of fields plus the image bytes;
// serve_parse_request checks every field (known name, type, range), decodes the image within the size limits,
// and returns a self-contained serve_request for the inference loop — or throws serve_http_error with the
// HTTP status (400 bad field or image, 413 too large) and a one-line message. Pure functions: thread-safe.
#pragma once

#include "attend.h"
#include "ground.h"
#include "image.h"
#include "refine.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace glm {

// An error that maps to an HTTP status: the handler replies {"error": what()} with this status.
struct serve_http_error : std::runtime_error {
    int status;
    serve_http_error(int status_, const std::string & msg) : std::runtime_error(msg), status(status_) {}
};

// The endpoints that run the models.
enum class serve_kind { ground, attend, segment };
const char * serve_kind_name(serve_kind k);

// How /attend returns the per-token maps.
enum class serve_maps { b64, json, none };

// Limits applied while parsing (server settings, not model facts).
struct serve_limits {
    size_t  max_image_bytes  = 20u << 20;  // encoded image size (bytes); larger → 413
    int64_t max_image_pixels = 40000000;   // decoded width x height; larger → 400
    int     max_n_predict    = 4096;       // n_predict upper bound (tokens; the context length is a natural cap)
    size_t  max_text_bytes   = 16384;      // prompt / answer length (bytes)
};

// POST /segment: a refiner prompt against an image sent now or earlier (by its hash, while it is in the cache).
struct serve_segment {
    std::string               image_hash;  // "" = the image is in this request
    std::vector<refine_point> points;      // pixels of the image; label 1 positive, 0 negative
    bool                      has_box = false;
    int                       box[4]  = { 0, 0, 0, 0 };  // x0, y0, x1, y1 (pixels, x1/y1 exclusive)
    mask_select               select   = mask_select::index2;
    bool                      keep_all = false;          // every candidate mask too (more_masks)
};

struct serve_request {
    serve_kind    kind = serve_kind::ground;
    image_u8      image;                      // the pixels, once serve_request_decode_image ran
    std::string   image_data;                 // the encoded image (checked), until serve_request_decode_image
    gen_params    gen;                        // prompt, n_predict, temp, top_k, top_p, seed
    std::string   answer;                     // "" = generate; else this text is teacher-forced and grounded
    attn_heads    heads = attn_heads::all;    // all | official | set (dump is not served: it keeps every head)
    head_set      head_sel;                   // with heads = set: the layer range or layer.head list (never a file)
    ground_params ground;                     // aspect, normalize, remove_corner, mask choice, thresholds
    bool          overlay = false;            // /ground: add overlay_png_b64
    bool          html    = false;            // /ground: add answer_html (with the overlay embedded)
    serve_maps    maps    = serve_maps::b64;  // /attend: how the maps come back
    // /ground with "stream": true: the reply is text/event-stream. The transport sets `emit` before queueing; the
    // engine calls it on the loop thread with each event's name (token, phrase, mask) and its JSON data; the last
    // event (done, or error) is the job's reply.
    bool                                                             stream = false;
    serve_segment                                                    seg;  // /segment only
    std::function<void(const char * event, const std::string & data)> emit;
};

// The body of a POST as one JSON object of fields plus the encoded image bytes: a multipart/form-data body
// (`form` set; the image is the part 'image', or base64 in 'image_b64') or a JSON object (the image base64 in
// 'image_b64'). Frees `body` as soon as it is parsed. Throws serve_http_error (400 malformed, 413 image too large).
void serve_parse_body(const std::string & content_type, std::string & body, const serve_limits & limits,
                      nlohmann::json & fields, std::string & image, bool & form);

// Parses the fields of one request and checks its image (fully decoded, pixels dropped: r.image_data holds the
// file, r.image stays empty). `fields` is a JSON object whose values are JSON values (a JSON body, form
// false: numbers must be JSON numbers, flags booleans or 0/1, text strings) or the strings of multipart form fields
// (form true: numbers in decimal, flags 0/1/true/false). null is refused, not taken as "absent". `image` holds the
// encoded image bytes. Unknown fields are refused (a typo must not silently fall back to a default).
serve_request serve_parse_request(serve_kind kind, const nlohmann::json & fields, const std::string & image,
                                  const serve_limits & limits, bool form = false);

// A request keeps its encoded image while it waits in the queue (serve_parse_request checks that it decodes
// but keeps no pixels), so that a waiting job holds its encoded bytes only; this decodes it when the job starts
// (throws serve_http_error(400) like the check). Decoding is deterministic: the pixels are those checked.
void serve_request_decode_image(serve_request & r, const serve_limits & limits);

// Standard base64 (RFC 4648, with padding). Decoding skips ASCII whitespace, accepts a "data:...;base64,"
// prefix and throws serve_http_error(400) on any other character or a bad length.
std::string base64_encode(const uint8_t * data, size_t n);
std::string base64_decode(const std::string & text);

}  // namespace glm
