#include "serve-http.h"
#include "serve-page.h"

#include "common.h"
#include "serve-http-parse.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace glm {

using json = nlohmann::json;

// One client connection: the parser of the request being read, or the request waiting for its reply, or the
// reply being written. Owned and used by the event loop alone.
struct serve_conn {
    enum class phase {
        reading,  // a request is being read (or none has started: idle)
        parsing,  // the body is with a parsing thread
        queued,   // the job is in the queue or running
        writing,  // the reply is being written
        closing,  // an error reply was written; the client's rest is read and dropped until it hangs up
    };
    uint64_t            id = 0;
    int                 fd = -1;
    http_request_parser parser;
    phase               ph       = phase::reading;
    double              deadline = 0;      // reading: idle or whole-request deadline; writing, closing: theirs
    double              job_deadline = 0;  // parsing, queued: the reply deadline (--timeout-s)
    uint64_t            seq      = 0;      // requests dispatched on this connection; events carry it
    serve_job_ptr       job;
    std::string         out;
    size_t              out_off     = 0;
    bool                close_after = false;
    bool                vetted      = false;  // the head of the current request passed vet_head
    bool                dead        = false;
    bool                streaming   = false;  // the reply is text/event-stream: its head is sent, events follow
    size_t              reserved    = 0;      // in-flight budget held by the body being read
    std::string         pending;              // bytes after the current request (pipelining)
    std::string         method, path;         // of the current request, for the log
    double              t_begin = 0;

    explicit serve_conn(const http_limits & lim) : parser(lim) {}
};

struct serve_event {
    enum class type { posted, reply, chunk } t = type::reply;  // chunk: a streamed event (in reply.body)
    uint64_t      conn = 0, seq = 0;
    serve_job_ptr job;
    serve_reply   reply;
    std::string   extra;        // extra header lines of the reply
    size_t        release = 0;  // in-flight budget bytes to give back
    bool          stream  = false;  // the request asked for text/event-stream
};

static size_t mib_to_bytes(double mb) { return (size_t) std::llround(mb * 1024.0 * 1024.0); }

serve_server::serve_server(serve_engine & engine, const serve_params & params)
    : engine_(engine), params_(params), queue_((size_t) std::max(0, params.queue)) {
    if (params_.queue < 1) {
        fail("--queue must be at least 1 (got %d)", params_.queue);
    }
    if (!(params_.max_image_mb > 0) || !(params_.timeout_s > 0) || !(params_.request_timeout_s > 0) ||
        !(params_.idle_timeout_s > 0) || !(params_.write_timeout_s > 0)) {
        fail("--max-image-mb and the time-outs must be positive");
    }
    if (params_.max_connections < 1) {
        fail("--max-conns must be at least 1 (got %d)", params_.max_connections);
    }
    limits_.max_image_bytes  = mib_to_bytes(params_.max_image_mb);
    limits_.max_image_pixels = params_.max_image_pixels;
    limits_.max_n_predict    = params_.max_n_predict > 0 ? params_.max_n_predict : engine_.n_ctx();
    // the body carries the image, base64 in JSON (4/3), plus the other fields
    body_limit_     = limits_.max_image_bytes / 3 * 4 + 4 + (1u << 20);
    inflight_limit_ = params_.max_inflight_mb > 0 ? mib_to_bytes(params_.max_inflight_mb) : 4 * body_limit_;
}

serve_server::~serve_server() { stop(); }

bool serve_server::running() const { return started_ && !stopping_ && !io_done_; }

void serve_server::wake() {
    const uint64_t one = 1;
    if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        GLM_LOG_WARN("serve: cannot wake the event loop: %s", strerror(errno));
    }
}

void serve_server::push_event(serve_event && ev) {
    {
        std::lock_guard<std::mutex> lock(ev_m_);
        events_.push_back(std::move(ev));
    }
    wake();
}

// ---------------------------------------------------------------------------------------------------------
// parsing threads: body → fields + image → validated request → queue

void serve_server::parse_and_post(parse_task & t) {
    serve_event ev;
    ev.conn    = t.conn;
    ev.seq     = t.seq;
    ev.release = t.reserved;
    try {
        json        fields;
        std::string image;
        bool        form = false;
        serve_parse_body(t.content_type, t.body, limits_, fields, image, form);
        serve_request sr = serve_parse_request(t.kind, fields, image, limits_, form);  // image checked, not kept
        image.clear();
        image.shrink_to_fit();
        engine_.check_fits(sr);
        const uint64_t conn = t.conn, seq = t.seq;
        if (sr.stream) {  // the engine's events go to the event loop in order, ahead of the job's reply
            sr.emit = [this, conn, seq](const char * event, const std::string & data) {
                serve_event e;
                e.t          = serve_event::type::chunk;
                e.stream     = true;
                e.conn       = conn;
                e.seq        = seq;
                e.reply.body = serve_sse(event, data);
                push_event(std::move(e));
            };
        }
        const bool     stream = sr.stream;
        serve_done_fn  done = [this, conn, seq, stream](const serve_job & j) {
            serve_event e;
            e.conn  = conn;
            e.seq   = seq;
            e.stream = stream;
            e.reply = j.reply;
            push_event(std::move(e));
        };
        serve_job_ptr job;
        switch (queue_.post(std::move(sr), std::move(done), job)) {
            case serve_queue::post_result::ok:
                ev.t      = serve_event::type::posted;
                ev.job    = job;
                ev.stream = stream;
                push_event(std::move(ev));
                return;
            case serve_queue::post_result::full:
                ev.extra = "Retry-After: 1\r\n";
                throw serve_http_error(503, strfmt("the queue is full (%d requests waiting, --queue); retry later",
                                                   params_.queue));
            case serve_queue::post_result::stopped:
                throw serve_http_error(503, "the server is shutting down");
        }
    } catch (const serve_http_error & e) {
        ev.reply = { e.status, serve_error_json(e.what()) };
    } catch (const glm::error & e) {
        ev.reply = { 400, serve_error_json(e.what()) };
    } catch (const std::exception & e) {
        ev.reply = { 500, serve_error_json(std::string("internal error: ") + e.what()) };
    }
    push_event(std::move(ev));
}

void serve_server::parse_worker() {
    for (;;) {
        parse_task t;
        {
            std::unique_lock<std::mutex> lock(task_m_);
            task_cv_.wait(lock, [&] { return tasks_closed_ || !tasks_.empty(); });
            if (tasks_.empty()) {
                return;
            }
            t = std::move(tasks_.front());
            tasks_.pop_front();
        }
        parse_and_post(t);
    }
}

// ---------------------------------------------------------------------------------------------------------
// the event loop

std::string serve_server::props_json() const {
    const json server = {
        { "max_image_mb", params_.max_image_mb },
        { "max_image_px", params_.max_image_pixels },
        { "max_n_predict", limits_.max_n_predict },
        { "max_text_bytes", limits_.max_text_bytes },
        { "queue_max", params_.queue },
        { "timeout_s", params_.timeout_s },
        { "endpoints", { "GET /", "GET /props", "GET /health", "POST /ground", "POST /attend", "POST /segment" } },
    };
    return serve_props_json(engine_.info(), server).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string serve_server::health_json() const {
    const serve_queue_stats s = queue_.stats();
    json                    j = {
        { "status", s.stopped || stopping_ ? "stopping" : "ok" },
        { "models", engine_.info() },
        { "queue", s.waiting },
        { "queue_max", s.capacity },
        { "queue_bytes", s.waiting_bytes },
        { "running", s.running },
        { "done", s.done },
        { "refused", s.refused },
        { "withdrawn", s.withdrawn },
        { "cancelled", s.cancelled },
        { "connections", n_conns_.load() },
    };
    const serve_embed_stats seg = engine_.segment_stats();
    j["segment_cache"] = { { "entries", seg.entries }, { "bytes", seg.bytes }, { "max_bytes", seg.max_bytes },
                           { "max_entries", seg.max_entries }, { "hits", seg.hits }, { "misses", seg.misses },
                           { "evictions", seg.evictions } };
    return j.dump();
}

void serve_server::reply(serve_conn & c, int status, const std::string & body, bool close, const char * extra,
                         const char * content_type) {
    if (c.streaming) {  // the head went out with the first event: the reply is the last event
        stream_end(c, status, body);
        return;
    }
    c.close_after = close || !c.parser.request().keep_alive || stopping_;
    c.out         = strfmt("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: %s\r\n\r\n",
                           status, http_reason(status), content_type, body.size(), extra, c.close_after ? "close" : "keep-alive");
    c.out += body;
    c.out_off  = 0;
    c.ph       = serve_conn::phase::writing;
    c.deadline = now_s() + params_.write_timeout_s;
    c.job.reset();
    if (inflight_ >= c.reserved) {
        inflight_ -= c.reserved;
    }
    c.reserved = 0;
    if (status >= 400) {
        GLM_LOG_INFO("serve: %s %s -> %d: %s", c.method.empty() ? "-" : c.method.c_str(), c.path.empty() ? "-" : c.path.c_str(),
                     status, body.c_str());
    } else {
        GLM_LOG_INFO("serve: %s %s -> %d (%.2f s)", c.method.c_str(), c.path.c_str(), status, now_s() - c.t_begin);
    }
    flush(c);
}

// Sends what the socket takes of c.out: true when all of it went, false when the rest waits for the socket to be
// writable or the client is gone (c.dead).
static bool send_pending(serve_conn & c) {
    while (c.out_off < c.out.size()) {
        const ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c.out_off += (size_t) n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return false;  // the rest when the socket is writable
        } else {
            c.dead = true;  // the client is gone (a streamed job still waiting is withdrawn by close_conn)
            return false;
        }
    }
    return true;
}

void serve_server::flush(serve_conn & c) {
    if (send_pending(c)) {
        finish_reply(c);
    }
}

void serve_server::finish_reply(serve_conn & c) {
    c.out.clear();
    c.out.shrink_to_fit();
    c.out_off = 0;
    if (c.close_after) {
        // a lingering close: the client may still be sending the body we refused; reading it for a moment lets
        // it see the reply instead of a connection reset
        shutdown(c.fd, SHUT_WR);
        c.ph       = serve_conn::phase::closing;
        c.deadline = now_s() + std::min(2.0, params_.idle_timeout_s);
        return;
    }
    c.parser.reset();
    c.vetted = false;
    c.method.clear();
    c.path.clear();
    c.ph       = serve_conn::phase::reading;
    c.deadline = now_s() + params_.idle_timeout_s;
    if (!c.pending.empty()) {
        std::string p;
        p.swap(c.pending);
        if (!feed(c, p.data(), p.size())) {
            c.dead = true;
        }
    }
}

bool serve_server::vet_head(serve_conn & c) {
    const http_request & r = c.parser.request();
    c.method               = r.method;
    c.path                 = r.path;
    const bool post        = r.path == "/ground" || r.path == "/attend" || r.path == "/segment";
    const bool page        = r.path == "/" || r.path == "/index.html" || r.path == "/props";
    if (r.path != "/health" && !post && !page) {
        reply(c, 404, serve_error_json(strfmt("no such endpoint: %s %s (GET /, GET /props, GET /health, POST /ground, POST /attend, POST /segment)",
                                              r.method.c_str(), r.path.c_str())), true);
        return false;
    }
    if (r.method != (post ? "POST" : "GET")) {
        reply(c, 405, serve_error_json(strfmt("%s %s: method not allowed (use %s)", r.method.c_str(), r.path.c_str(),
                                              post ? "POST" : "GET")), true, post ? "Allow: POST\r\n" : "Allow: GET\r\n");
        return false;
    }
    if (!post) {
        if (r.chunked || r.content_length > 0) {
            reply(c, 400, serve_error_json(strfmt("GET %s takes no body", r.path.c_str())), true);
            return false;
        }
        return true;
    }
    if (!r.chunked && r.content_length < 0) {
        reply(c, 411, serve_error_json("a POST needs a Content-Length (or Transfer-Encoding: chunked)"), true);
        return false;
    }
    const std::string * ct = r.header("content-type");
    const std::string   mt = ct ? http_media_type(*ct) : "";
    if (mt == "multipart/form-data") {
        if (http_header_param(*ct, "boundary").empty()) {
            reply(c, 400, serve_error_json("Content-Type multipart/form-data without a boundary"), true);
            return false;
        }
    } else if (mt != "application/json") {
        reply(c, 415, serve_error_json(strfmt("Content-Type must be multipart/form-data or application/json, got '%s'",
                                              ct ? ct->c_str() : "none")), true);
        return false;
    }
    const size_t need = r.chunked ? 0 : (size_t) std::max<int64_t>(0, r.content_length);
    if (inflight_ + need > inflight_limit_) {
        reply(c, 503, serve_error_json("the server is busy receiving other requests' bodies; retry later"), true,
              "Retry-After: 1\r\n");
        return false;
    }
    inflight_ += need;
    c.reserved = need;
    if (r.expect_continue && c.parser.st() == http_request_parser::state::body) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        (void) !send(c.fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    return true;
}

bool serve_server::feed(serve_conn & c, const char * data, size_t n) {
    size_t off = 0;
    while (off < n) {
        if (c.ph != serve_conn::phase::reading) {
            if (c.ph == serve_conn::phase::closing) {
                return true;  // dropped
            }
            if (c.pending.size() + (n - off) > (1u << 20)) {
                return false;  // a client pipelining megabytes behind a request it waits for
            }
            c.pending.append(data + off, n - off);
            return true;
        }
        const bool was_started = c.parser.started();
        off += c.parser.feed(data + off, n - off);
        if (!was_started && c.parser.started()) {
            c.t_begin  = now_s();
            c.deadline = c.t_begin + params_.request_timeout_s;  // the whole request, head and body
        }
        switch (c.parser.st()) {
            case http_request_parser::state::head:
                break;
            case http_request_parser::state::error:
                reply(c, c.parser.error_status(), serve_error_json(c.parser.error_message()), true);
                return true;
            case http_request_parser::state::body:
            case http_request_parser::state::done:
                if (!c.vetted) {
                    c.vetted = true;
                    if (!vet_head(c)) {
                        return true;
                    }
                }
                if (c.parser.request().chunked && c.parser.body_bytes() > c.reserved) {  // grow the reservation
                    const size_t more = c.parser.body_bytes() - c.reserved;
                    if (inflight_ + more > inflight_limit_) {
                        reply(c, 503, serve_error_json("the server is busy receiving other requests' bodies; retry later"),
                              true, "Retry-After: 1\r\n");
                        return true;
                    }
                    inflight_ += more;
                    c.reserved += more;
                }
                if (c.parser.st() == http_request_parser::state::done) {
                    dispatch(c);
                }
                break;
        }
    }
    return true;
}

void serve_server::dispatch(serve_conn & c) {
    http_request & r = c.parser.request();
    ++c.seq;
    if (r.path == "/health") {
        reply(c, 200, health_json(), false);
        return;
    }
    if (r.path == "/props") {
        reply(c, 200, props_json(), false);
        return;
    }
    if (r.path == "/" || r.path == "/index.html") {
        const std::string_view html = serve_page_html();
        reply(c, 200, std::string(html), false, "Cache-Control: no-cache\r\n", "text/html; charset=utf-8");
        return;
    }
    parse_task t;
    t.conn     = c.id;
    t.seq      = c.seq;
    t.kind     = r.path == "/ground" ? serve_kind::ground : r.path == "/attend" ? serve_kind::attend : serve_kind::segment;
    t.content_type = *r.header("content-type");
    t.body.swap(r.body);
    t.reserved     = c.reserved;  // released when the parsing thread is done with the body
    c.reserved     = 0;
    c.ph           = serve_conn::phase::parsing;
    c.job_deadline = now_s() + params_.timeout_s;
    {
        std::lock_guard<std::mutex> lock(task_m_);
        tasks_.push_back(std::move(t));
    }
    task_cv_.notify_one();
}

void serve_server::on_readable(serve_conn & c) {
    char buf[1 << 16];
    for (int round = 0; round < 16; ++round) {  // at most 1 MiB per connection per turn: fair to the others
        const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
        if (n > 0) {
            if (!feed(c, buf, (size_t) n)) {
                c.dead = true;
                return;
            }
            if (c.ph != serve_conn::phase::reading && c.ph != serve_conn::phase::closing) {
                return;  // the rest (pipelined requests) after the reply
            }
            if ((size_t) n < sizeof(buf)) {
                return;
            }
        } else if (n == 0) {
            c.dead = true;  // the client hung up (mid-request: nothing to answer)
            return;
        } else if (errno == EINTR) {
            continue;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                c.dead = true;
            }
            return;
        }
    }
}

void serve_server::close_conn(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) {
        return;
    }
    serve_conn & c = *it->second;
    if (c.job) {
        const bool waiting = queue_.withdraw(c.job);  // a running job is cancelled
        GLM_LOG_INFO("serve: %s %s: the client hung up; job %llu %s", c.method.c_str(), c.path.c_str(),
                     (unsigned long long) c.job->id, waiting ? "withdrawn" : "cancelled if still running");
    }
    if (inflight_ >= c.reserved) {
        inflight_ -= c.reserved;
    }
    close(c.fd);
    conns_.erase(it);
    n_conns_ = conns_.size();
}

void serve_server::on_event(serve_event & ev) {
    inflight_ -= std::min(inflight_, ev.release);
    auto               it = conns_.find(ev.conn);
    serve_conn * const c  = it == conns_.end() ? nullptr : it->second.get();
    const bool current    = c && c->seq == ev.seq && !c->dead &&
                         (c->ph == serve_conn::phase::parsing || c->ph == serve_conn::phase::queued);
    if (ev.t == serve_event::type::posted) {
        if (current && c->ph == serve_conn::phase::parsing) {
            c->job = ev.job;
            c->ph  = serve_conn::phase::queued;
            if (ev.stream && !c->streaming) {
                stream_begin(*c);
            }
        } else if (queue_.withdraw(ev.job)) {  // the client left (or timed out) while its body was parsed
            GLM_LOG_INFO("serve: job %llu withdrawn: its client is gone", (unsigned long long) ev.job->id);
        }
        return;
    }
    if (current && ev.stream && !c->streaming) {
        stream_begin(*c);  // the job ran before its posted event was taken
    }
    if (ev.t == serve_event::type::chunk) {
        if (current && c->streaming) {
            c->out += ev.reply.body;
            stream_flush(*c);
        }
        return;
    }
    if (current) {
        reply(*c, ev.reply.status, ev.reply.body, false, ev.extra.c_str());
    }
}

// ---------------------------------------------------------------------------------------------------------
// streaming (POST /ground with "stream": true): once the job is queued, the head (200, text/event-stream, no
// length, Connection: close) is sent; the engine's events are appended as they come and written while the job
// runs (the connection stays `queued`: its deadline, hang-up detection and withdrawal are those of any job); the
// job's reply becomes the last event, done (200) or error (any other status), and the connection closes after it.

void serve_server::stream_begin(serve_conn & c) {
    c.streaming = true;
    c.out       = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n"
                  "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n";
    c.out_off   = 0;
    stream_flush(c);
}

void serve_server::stream_flush(serve_conn & c) {
    if (send_pending(c)) {  // events go out as they come; the connection stays open (polled while queued)
        c.out.clear();
        c.out_off = 0;
    }
}

void serve_server::stream_end(serve_conn & c, int status, const std::string & body) {
    if (status == 200) {
        c.out += serve_sse("done", body);
    } else {  // {"error": ...} plus the status the plain reply would have had
        json e;
        try {
            e = json::parse(body);
        } catch (const std::exception &) {
            e = { { "error", body } };
        }
        e["status"] = status;
        c.out += serve_sse("error", e.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    c.streaming   = false;
    c.close_after = true;
    c.ph          = serve_conn::phase::writing;
    c.deadline    = now_s() + params_.write_timeout_s;
    c.job.reset();
    GLM_LOG_INFO("serve: %s %s -> %d, streamed (%.2f s)", c.method.c_str(), c.path.c_str(), status, now_s() - c.t_begin);
    flush(c);
}

void serve_server::check_deadlines(double now) {
    for (auto & kv : conns_) {
        serve_conn & c = *kv.second;
        switch (c.ph) {
            case serve_conn::phase::reading:
                if (now >= c.deadline) {
                    if (c.parser.started()) {
                        reply(c, 408, serve_error_json(strfmt("the request was not received within %g s",
                                                              params_.request_timeout_s)), true);
                    } else {
                        c.dead = true;  // idle
                    }
                }
                break;
            case serve_conn::phase::parsing:
            case serve_conn::phase::queued:
                if (now >= c.job_deadline) {
                    const bool withdrawn = !c.job || queue_.withdraw(c.job);
                    reply(c, 503, serve_error_json(strfmt("no reply within %g s (--timeout-s); the request was %s",
                                                          params_.timeout_s, withdrawn ? "withdrawn before it ran"
                                                                                       : "stopped while it ran")), false);
                }
                break;
            case serve_conn::phase::writing:
            case serve_conn::phase::closing:
                if (now >= c.deadline) {
                    c.dead = true;
                }
                break;
        }
    }
}

void serve_server::event_loop() {
    std::vector<pollfd>   pfds;
    std::vector<uint64_t> ids;
    double                drain_deadline = 0;
    double                accept_pause_until = 0;  // after running out of file descriptors
    for (;;) {
        const bool draining = drain_;  // set once every reply is in events_: those are taken first
        {
            std::vector<serve_event> evs;
            {
                std::lock_guard<std::mutex> lock(ev_m_);
                evs.swap(events_);
            }
            for (serve_event & ev : evs) {
                on_event(ev);
            }
        }
        const double now = now_s();
        if (stopping_ && listen_fd_ >= 0) {
            close(listen_fd_);  // no new connections; those without a request waiting for a reply are closed
            listen_fd_ = -1;
            for (auto & kv : conns_) {
                if (kv.second->ph == serve_conn::phase::reading || kv.second->ph == serve_conn::phase::closing) {
                    kv.second->dead = true;
                }
            }
        }
        if (draining) {
            if (drain_deadline == 0) {
                drain_deadline = now + params_.write_timeout_s;
            }
            for (auto & kv : conns_) {
                if (kv.second->ph != serve_conn::phase::writing) {
                    kv.second->dead = true;  // every reply was delivered to the event loop before drain_
                }
            }
        }
        check_deadlines(now);
        for (auto it = conns_.begin(); it != conns_.end();) {
            const uint64_t id = it->first;
            ++it;
            if (conns_.at(id)->dead) {
                close_conn(id);
            }
        }
        if (draining && (conns_.empty() || now >= drain_deadline)) {
            break;
        }

        pfds.clear();
        ids.clear();
        pfds.push_back({ wake_fd_, POLLIN, 0 });
        const bool accepting = listen_fd_ >= 0 && now >= accept_pause_until;
        if (accepting) {
            pfds.push_back({ listen_fd_, POLLIN, 0 });
        }
        const size_t first_conn = pfds.size();
        double       next       = listen_fd_ >= 0 && !accepting ? std::min(now + 1.0, accept_pause_until) : now + 1.0;
        for (auto & kv : conns_) {
            serve_conn & c  = *kv.second;
            short        ev = 0;
            switch (c.ph) {
                case serve_conn::phase::reading:
                case serve_conn::phase::closing: ev = POLLIN | POLLRDHUP; next = std::min(next, c.deadline); break;
                case serve_conn::phase::parsing:
                case serve_conn::phase::queued:
                    ev   = c.streaming && c.out_off < c.out.size() ? POLLRDHUP | POLLOUT : POLLRDHUP;
                    next = std::min(next, c.job_deadline);
                    break;
                case serve_conn::phase::writing: ev = POLLOUT; next = std::min(next, c.deadline); break;
            }
            pfds.push_back({ c.fd, ev, 0 });
            ids.push_back(c.id);
        }
        const int timeout_ms = (int) std::ceil(std::max(0.0, next - now) * 1000.0);
        const int n          = poll(pfds.data(), pfds.size(), timeout_ms);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            GLM_LOG_ERROR("serve: poll failed: %s", strerror(errno));
            break;
        }
        if (pfds[0].revents & POLLIN) {  // events: taken at the top of the next turn
            uint64_t v;
            (void) !read(wake_fd_, &v, sizeof(v));
        }
        if (accepting && (pfds[1].revents & POLLIN)) {
            for (;;) {
                const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    if (errno == EINTR) {
                        continue;
                    }
                    if (errno == EMFILE || errno == ENFILE) {  // the listener stays readable: do not spin on it
                        GLM_LOG_WARN("serve: out of file descriptors (%d connections); not accepting for 100 ms",
                                     (int) conns_.size());
                        accept_pause_until = now_s() + 0.1;
                    }
                    break;
                }
                if ((int) conns_.size() >= params_.max_connections) {
                    const std::string body = serve_error_json(strfmt(
                        "too many connections (%d, --max-conns); retry later", params_.max_connections));
                    const std::string busy = strfmt("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                                    "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n",
                                                    body.size()) + body;
                    (void) !send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                    close(fd);
                    continue;
                }
                const int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                http_limits lim;
                lim.max_body_bytes = body_limit_;
                auto c             = std::make_unique<serve_conn>(lim);
                c->id              = next_conn_++;
                c->fd              = fd;
                c->deadline        = now_s() + params_.idle_timeout_s;
                conns_[c->id]      = std::move(c);
                n_conns_           = conns_.size();
            }
        }
        for (size_t k = 0; k < ids.size(); ++k) {
            const short re = pfds[first_conn + k].revents;
            auto        it = conns_.find(ids[k]);
            if (!re || it == conns_.end()) {
                continue;
            }
            serve_conn & c = *it->second;
            switch (c.ph) {
                case serve_conn::phase::reading:
                case serve_conn::phase::closing:
                    if (re & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) {
                        on_readable(c);
                    }
                    break;
                case serve_conn::phase::parsing:
                case serve_conn::phase::queued:
                    if (re & (POLLRDHUP | POLLHUP | POLLERR)) {
                        c.dead = true;  // the client hung up: close_conn withdraws its job
                    } else if (c.streaming && (re & POLLOUT)) {
                        stream_flush(c);
                    }
                    break;
                case serve_conn::phase::writing:
                    if (re & (POLLHUP | POLLERR)) {
                        c.dead = true;
                    } else if (re & POLLOUT) {
                        flush(c);
                    }
                    break;
            }
        }
    }
    while (!conns_.empty()) {
        close_conn(conns_.begin()->first);
    }
    if (listen_fd_ >= 0) {
        close(listen_fd_);
        listen_fd_ = -1;
    }
    io_done_ = true;
}

// ---------------------------------------------------------------------------------------------------------
// start / stop

static int bind_listener(const std::string & host, int port, int & bound_port) {
    addrinfo hints{};
    hints.ai_family   = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags    = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo *        res = nullptr;
    const std::string svc = std::to_string(port);
    if (getaddrinfo(host.c_str(), svc.c_str(), &hints, &res) != 0) {
        return -1;
    }
    int fd = -1;
    for (addrinfo * a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            continue;
        }
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 128) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        sockaddr_storage ss{};
        socklen_t        len = sizeof(ss);
        getsockname(fd, (sockaddr *) &ss, &len);
        bound_port = ntohs(ss.ss_family == AF_INET6 ? ((sockaddr_in6 *) &ss)->sin6_port : ((sockaddr_in *) &ss)->sin_port);
    }
    return fd;
}

int serve_server::start() {
    if (started_) {
        fail("serve: the server was already started");
    }
    listen_fd_ = bind_listener(params_.host, params_.port, port_);
    if (listen_fd_ < 0) {
        fail("serve: cannot listen on %s:%d (address in use, or not an address of this machine)", params_.host.c_str(),
             params_.port);
    }
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        close(listen_fd_);
        listen_fd_ = -1;
        fail("serve: eventfd: %s", strerror(errno));
    }
    started_ = true;
    loop_    = std::thread([this] {
        queue_.run([this](serve_request & r, const std::atomic<bool> & cancelled) {
            serve_request_decode_image(r, limits_);  // the pixels exist only while the job runs
            if (params_.on_job_start) {
                params_.on_job_start(r);
            }
            struct end_call {
                const serve_params &  p;
                const serve_request & r;
                ~end_call() {
                    if (p.on_job_end) {
                        p.on_job_end(r);
                    }
                }
            } end{ params_, r };
            return engine_.process(r, [&cancelled] { return !cancelled.load(); });
        });
    });
    const int n_workers = params_.http_threads > 0 ? params_.http_threads : 2;
    for (int i = 0; i < n_workers; ++i) {
        workers_.emplace_back([this] { parse_worker(); });
    }
    io_ = std::thread([this] { event_loop(); });
    return port_;
}

void serve_server::stop() {
    if (!started_ || stopping_.exchange(true)) {
        return;
    }
    wake();          // the event loop closes the listener and the connections with nothing to wait for
    queue_.stop();   // new posts refused, waiting jobs answered 503, the running job finishes
    if (loop_.joinable()) {
        loop_.join();
    }
    {
        std::lock_guard<std::mutex> lock(task_m_);
        tasks_closed_ = true;  // the parsing threads finish their tasks (posts now get 503) and exit
    }
    task_cv_.notify_all();
    for (std::thread & w : workers_) {
        w.join();
    }
    drain_ = true;  // every reply has reached the event loop: write them, then exit
    wake();
    if (io_.joinable()) {
        io_.join();
    }
    close(wake_fd_);
    wake_fd_ = -1;
}

}  // namespace glm
