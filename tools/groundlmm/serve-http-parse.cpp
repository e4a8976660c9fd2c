#include "serve-http-parse.h"

#include "common.h"

#include <algorithm>
#include <cstring>

namespace glm {

static bool is_tchar(unsigned char c) {  // RFC 9110 token characters
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

static std::string lower(std::string s) {
    for (char & c : s) {
        if (c >= 'A' && c <= 'Z') {
            c = (char) (c - 'A' + 'a');
        }
    }
    return s;
}

static std::string trim_ows(const std::string & s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) {
        ++b;
    }
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) {
        --e;
    }
    return s.substr(b, e - b);
}

// A printable excerpt of client bytes for an error message.
static std::string excerpt(const std::string & s, size_t max = 40) {
    std::string o;
    for (size_t i = 0; i < s.size() && i < max; ++i) {
        const unsigned char c = (unsigned char) s[i];
        o += c >= 0x20 && c < 0x7F ? (char) c : '?';
    }
    return s.size() > max ? o + "..." : o;
}

const std::string * http_request::header(const char * lname) const {
    for (const auto & kv : headers) {
        if (kv.first == lname) {
            return &kv.second;
        }
    }
    return nullptr;
}

void http_request_parser::reset() {
    st_ = state::head;
    buf_.clear();
    line1_done_ = false;
    req_ = http_request();
    err_status_ = 0;
    err_msg_.clear();
    cst_           = chunk_state::size_line;
    chunk_left_    = 0;
    trailer_bytes_ = 0;
}

bool http_request_parser::fail(int status, const std::string & msg) {
    st_         = state::error;
    err_status_ = status;
    err_msg_    = msg;
    buf_.clear();
    buf_.shrink_to_fit();
    return false;
}

size_t http_request_parser::feed(const char * data, size_t n) {
    if (st_ == state::head) {
        for (size_t i = 0; i < n; ++i) {
            const char c = data[i];
            if (buf_.empty() && (c == '\r' || c == '\n')) {
                continue;  // empty lines before the request line are ignored (RFC 9112 2.2)
            }
            buf_ += c;
            if (c == '\n') {
                const size_t len = buf_.size();
                const bool   end = (len >= 2 && buf_[len - 2] == '\n') ||
                                 (len >= 3 && buf_[len - 2] == '\r' && buf_[len - 3] == '\n');
                if (end) {
                    parse_head();
                    return i + 1;  // the caller vets the head before the body is read
                }
                line1_done_ = true;
            } else if (!line1_done_ && buf_.size() > lim_.max_line_bytes) {
                fail(414, strfmt("request line longer than %zu bytes", lim_.max_line_bytes));
                return i + 1;
            }
            if (buf_.size() > lim_.max_head_bytes) {
                fail(431, strfmt("request head (request line and headers) longer than %zu bytes", lim_.max_head_bytes));
                return i + 1;
            }
        }
        return n;
    }
    if (st_ != state::body) {
        return 0;
    }
    if (req_.chunked) {
        return feed_chunked(data, n);
    }
    const size_t want = (size_t) req_.content_length - req_.body.size();
    const size_t take = std::min(want, n);
    req_.body.append(data, take);
    if (req_.body.size() == (size_t) req_.content_length) {
        st_ = state::done;
    }
    return take;
}

bool http_request_parser::parse_head() {
    // lines, without their line ends; a CR anywhere else is refused
    std::vector<std::string> lines;
    size_t                   pos = 0;
    while (pos < buf_.size()) {
        const size_t nl   = buf_.find('\n', pos);
        std::string  line = buf_.substr(pos, nl - pos);
        pos               = nl + 1;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.find('\r') != std::string::npos) {
            return fail(400, "bare CR in the request head");
        }
        if (line.empty()) {
            break;
        }
        lines.push_back(std::move(line));
    }
    buf_.clear();
    if (lines.size() - 1 > lim_.max_headers) {
        return fail(431, strfmt("%zu header lines, at most %zu", lines.size() - 1, lim_.max_headers));
    }

    // request line: method SP target SP HTTP/1.x
    const std::string & rl = lines[0];
    const size_t        sp1 = rl.find(' ');
    const size_t        sp2 = sp1 == std::string::npos ? sp1 : rl.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos || rl.find(' ', sp2 + 1) != std::string::npos) {
        return fail(400, strfmt("malformed request line '%s' (expected 'METHOD /path HTTP/1.1')", excerpt(rl).c_str()));
    }
    req_.method             = rl.substr(0, sp1);
    req_.target             = rl.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string ver   = rl.substr(sp2 + 1);
    if (req_.method.empty() || !std::all_of(req_.method.begin(), req_.method.end(), [](char c) { return is_tchar(c); })) {
        return fail(400, strfmt("malformed method '%s'", excerpt(req_.method).c_str()));
    }
    if (req_.target.empty() || req_.target[0] != '/' ||
        std::any_of(req_.target.begin(), req_.target.end(), [](char c) { return (unsigned char) c <= 0x20 || c == 0x7F; })) {
        return fail(400, strfmt("malformed request target '%s' (expected an absolute path)", excerpt(req_.target).c_str()));
    }
    req_.path = req_.target.substr(0, req_.target.find('?'));
    if (ver == "HTTP/1.1") {
        req_.minor = 1;
    } else if (ver == "HTTP/1.0") {
        req_.minor = 0;
    } else if (ver.size() == 8 && ver.compare(0, 5, "HTTP/") == 0 && isdigit((unsigned char) ver[5]) && ver[6] == '.' &&
               isdigit((unsigned char) ver[7])) {
        return fail(505, strfmt("HTTP version %s is not supported (HTTP/1.0 and HTTP/1.1 are)", ver.c_str()));
    } else {
        return fail(400, strfmt("malformed HTTP version '%s'", excerpt(ver).c_str()));
    }

    // headers
    for (size_t i = 1; i < lines.size(); ++i) {
        const std::string & l = lines[i];
        if (l[0] == ' ' || l[0] == '\t') {
            return fail(400, "obsolete header line folding is not accepted");
        }
        const size_t colon = l.find(':');
        if (colon == std::string::npos || colon == 0) {
            return fail(400, strfmt("malformed header line '%s'", excerpt(l).c_str()));
        }
        for (size_t k = 0; k < colon; ++k) {
            if (!is_tchar((unsigned char) l[k])) {
                return fail(400, strfmt("malformed header name '%s'", excerpt(l.substr(0, colon)).c_str()));
            }
        }
        std::string value = trim_ows(l.substr(colon + 1));
        for (char c : value) {
            const unsigned char u = (unsigned char) c;
            if ((u < 0x20 && u != '\t') || u == 0x7F) {
                return fail(400, strfmt("control character in header '%s'", excerpt(l.substr(0, colon)).c_str()));
            }
        }
        req_.headers.emplace_back(lower(l.substr(0, colon)), std::move(value));
    }

    // framing and the headers that change how the body is read
    int n_cl = 0, n_te = 0;
    req_.keep_alive = req_.minor == 1;
    for (const auto & kv : req_.headers) {
        const std::string & name = kv.first;
        const std::string   v    = lower(kv.second);
        if (name == "content-length") {
            if (++n_cl > 1) {
                return fail(400, "several Content-Length headers");
            }
            if (v.empty() || v.size() > 15 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                return fail(400, strfmt("Content-Length '%s' is not a byte count", excerpt(kv.second).c_str()));
            }
            req_.content_length = std::stoll(v);
        } else if (name == "transfer-encoding") {
            if (++n_te > 1 || v != "chunked") {
                return fail(501, strfmt("Transfer-Encoding '%s' is not supported (only 'chunked' is)", excerpt(kv.second).c_str()));
            }
            req_.chunked = true;
        } else if (name == "content-encoding") {
            if (v != "identity") {
                return fail(415, strfmt("Content-Encoding '%s' is not accepted: send the body uncompressed",
                                        excerpt(kv.second).c_str()));
            }
        } else if (name == "connection") {
            size_t b = 0;
            while (b <= v.size()) {
                size_t            e   = v.find(',', b);
                e                     = e == std::string::npos ? v.size() : e;
                const std::string tok = trim_ows(v.substr(b, e - b));
                if (tok == "close") {
                    req_.keep_alive = false;
                } else if (tok == "keep-alive" && req_.minor == 0) {
                    req_.keep_alive = true;
                }
                b = e + 1;
            }
        } else if (name == "expect") {
            if (v != "100-continue") {
                return fail(417, strfmt("Expect '%s' is not supported", excerpt(kv.second).c_str()));
            }
            req_.expect_continue = true;
        }
    }
    if (req_.chunked && (n_cl > 0 || req_.minor == 0)) {
        return fail(400, n_cl > 0 ? "both Content-Length and Transfer-Encoding given"
                                   : "Transfer-Encoding in an HTTP/1.0 request");
    }
    if (req_.content_length > 0 && (uint64_t) req_.content_length > lim_.max_body_bytes) {
        return fail(413, strfmt("request body too large: %lld bytes, the limit is %zu bytes", (long long) req_.content_length,
                                lim_.max_body_bytes));
    }
    if (req_.chunked) {
        st_ = state::body;
    } else if (req_.content_length > 0) {
        req_.body.reserve((size_t) req_.content_length);
        st_ = state::body;
    } else {
        st_ = state::done;
    }
    return true;
}

size_t http_request_parser::feed_chunked(const char * data, size_t n) {
    size_t i = 0;
    while (i < n && st_ == state::body) {
        if (cst_ == chunk_state::data) {
            const size_t take = (size_t) std::min<uint64_t>(chunk_left_, n - i);
            req_.body.append(data + i, take);
            i += take;
            chunk_left_ -= take;
            if (chunk_left_ == 0) {
                cst_ = chunk_state::data_crlf;
            }
            continue;
        }
        const char c = data[i++];
        if (c != '\n') {
            buf_ += c;
            if (buf_.size() > 1024) {
                return fail(400, "chunk-size or trailer line longer than 1024 bytes"), i;
            }
            continue;
        }
        std::string line = buf_;
        buf_.clear();
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (cst_ == chunk_state::data_crlf) {
            if (!line.empty()) {
                return fail(400, "chunk data longer than its chunk size"), i;
            }
            cst_ = chunk_state::size_line;
        } else if (cst_ == chunk_state::size_line) {
            const std::string hex = trim_ows(line.substr(0, line.find(';')));
            if (hex.empty() || hex.size() > 15 || !std::all_of(hex.begin(), hex.end(), [](char h) { return isxdigit((unsigned char) h); })) {
                return fail(400, strfmt("malformed chunk size '%s'", excerpt(line).c_str())), i;
            }
            const uint64_t size = std::stoull(hex, nullptr, 16);
            if (size == 0) {
                cst_ = chunk_state::trailer;
            } else if (req_.body.size() + size > lim_.max_body_bytes) {
                return fail(413, strfmt("request body too large: the chunked body exceeds the limit of %zu bytes",
                                        lim_.max_body_bytes)), i;
            } else {
                chunk_left_ = size;
                cst_        = chunk_state::data;
            }
        } else {  // trailer fields are read and dropped, bounded like the head
            trailer_bytes_ += line.size() + 2;
            if (trailer_bytes_ > lim_.max_head_bytes) {
                return fail(431, "chunked trailer too long"), i;
            }
            if (line.empty()) {
                st_ = state::done;
            }
        }
    }
    return i;
}

std::string http_media_type(const std::string & content_type) {
    return lower(trim_ows(content_type.substr(0, content_type.find(';'))));
}

std::string http_header_param(const std::string & value, const char * name) {
    size_t pos = value.find(';');
    while (pos != std::string::npos && pos < value.size()) {
        size_t b = pos + 1;
        while (b < value.size() && (value[b] == ' ' || value[b] == '\t')) {
            ++b;
        }
        const size_t eq = value.find('=', b);
        if (eq == std::string::npos) {
            return "";
        }
        const std::string key = lower(trim_ows(value.substr(b, eq - b)));
        std::string       val;
        size_t            e = eq + 1;
        if (e < value.size() && value[e] == '"') {
            ++e;
            while (e < value.size() && value[e] != '"') {
                if (value[e] == '\\' && e + 1 < value.size()) {
                    ++e;
                }
                val += value[e++];
            }
            e = value.find(';', e);
        } else {
            const size_t semi = value.find(';', e);
            val               = trim_ows(value.substr(e, semi == std::string::npos ? std::string::npos : semi - e));
            e                 = semi;
        }
        if (key == name) {
            return val;
        }
        pos = e;
    }
    return "";
}

std::vector<multipart_part> parse_multipart(const std::string & body, const std::string & boundary, size_t max_parts) {
    if (boundary.empty() || boundary.size() > 70) {
        fail("multipart/form-data: the boundary must have 1 to 70 characters (got %zu)", boundary.size());
    }
    const std::string delim = "--" + boundary;
    size_t            pos   = 0;
    if (body.compare(0, delim.size(), delim) != 0) {  // a preamble: the first delimiter starts a line
        pos = body.find("\r\n" + delim);
        if (pos == std::string::npos) {
            fail("multipart/form-data: the body does not contain the boundary '%s'", excerpt(boundary).c_str());
        }
        pos += 2;
    }
    std::vector<multipart_part> parts;
    for (;;) {
        pos += delim.size();
        if (body.compare(pos, 2, "--") == 0) {
            return parts;  // the close delimiter; an epilogue is ignored
        }
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) {
            ++pos;
        }
        if (body.compare(pos, 2, "\r\n") != 0) {
            fail("multipart/form-data: malformed delimiter line after part %zu", parts.size());
        }
        pos += 2;
        if (parts.size() == max_parts) {
            fail("multipart/form-data: more than %zu parts", max_parts);
        }
        multipart_part p;
        bool           has_name = false;
        for (int n_headers = 0;; ++n_headers) {
            const size_t eol = body.find("\r\n", pos);
            if (eol == std::string::npos || n_headers > 16 || eol - pos > 1024) {
                fail("multipart/form-data: part %zu has malformed or too long headers", parts.size());
            }
            const std::string line = body.substr(pos, eol - pos);
            pos                    = eol + 2;
            if (line.empty()) {
                break;
            }
            const size_t colon = line.find(':');
            if (colon == std::string::npos) {
                fail("multipart/form-data: part %zu: malformed header '%s'", parts.size(), excerpt(line).c_str());
            }
            const std::string name  = lower(trim_ows(line.substr(0, colon)));
            const std::string value = trim_ows(line.substr(colon + 1));
            if (name == "content-disposition") {
                if (http_media_type(value) != "form-data") {
                    fail("multipart/form-data: part %zu: Content-Disposition '%s' is not form-data", parts.size(),
                         excerpt(value).c_str());
                }
                p.name     = http_header_param(value, "name");
                p.filename = http_header_param(value, "filename");
                has_name   = value.find("name=") != std::string::npos;
            } else if (name == "content-type") {
                p.content_type = value;
            }
        }
        if (!has_name || p.name.empty()) {
            fail("multipart/form-data: part %zu has no field name (Content-Disposition: form-data; name=\"...\")",
                 parts.size());
        }
        const size_t end = body.find("\r\n" + delim, pos);
        if (end == std::string::npos) {
            fail("multipart/form-data: part '%s' is not terminated by the boundary (truncated body?)",
                 excerpt(p.name).c_str());
        }
        p.data = body.substr(pos, end - pos);
        parts.push_back(std::move(p));
        pos = end + 2;
    }
}

const char * http_reason(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default:  return "Unknown";
    }
}

}  // namespace glm
