// serve-http.h: the HTTP transport of `groundlmm serve`: one event-loop thread that owns every socket, a few
// parsing threads, the bounded queue and the one inference loop thread that owns the models.
//
//   GET  /        → the page (serve-page.h), GET /props → models + settings table (both by the event loop)
//   GET  /health  → {"status", "models", "queue", ...}             (answered by the event loop itself)
//   POST /ground  → result.json's content (+ overlay_png_b64 / answer_html); with "stream": true a
//                   text/event-stream of token, phrase, mask events and a last done (the result) or error
//   POST /attend  → attend.json's content with the maps inline
// Statuses: 400 bad field or image, 404/405 no such endpoint or method, 408 request not received in time,
// 411/413/414/415/431/501/505 refused framing, size or encoding, 503 queue full / busy / timed out / shutting down,
// 500 inference error; every error body is {"error": "<one line>"}. docs/server.md has the whole API and the
// guarantees.
//
// Why not an HTTP library: the Debian cpp-httplib (0.11.4, a compiled .so) gives every connection a pool thread
// for its whole keep-alive life, reads request lines and chunked or gzip bodies without bound before any hook
// runs, and times out per read only; none of that can be changed from outside. Here the event loop polls every
// socket (non-blocking), so a slow or idle client costs a file descriptor and a bounded buffer, never a thread:
//   - every request has a whole-request deadline (first byte to last body byte) and every reply a write
//     deadline; idle keep-alive connections are closed after idle_timeout_s;
//   - the head is capped (serve-http-parse.h), the body is refused from its headers (Content-Length over the
//     limit, a Content-Encoding, an unsupported Content-Type) before it is read, a chunked body at the limit;
//   - bodies being read share a byte budget (503 beyond), connections are capped (503 beyond);
//   - a request waiting for its reply holds no thread: its socket is watched, and a client that hangs up has
//     its job withdrawn from the queue.
//
// Thread-safety: start() and stop() from the owning thread (stop() is idempotent; never from a signal
// handler); port(), running() and stats() from any thread. The engine is used by the loop thread alone.
#pragma once

#include "serve-engine.h"
#include "serve-queue.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace glm {

struct serve_params {
    std::string host             = "127.0.0.1";
    int         port             = 8080;      // 0 = any free port (read it back with serve_server::port())
    int         queue            = 16;        // requests waiting for the models (the running one not counted)
    double      max_image_mb     = 20.0;      // encoded image size (MiB); the body limit follows (base64 + 1 MiB)
    int64_t     max_image_pixels = 40000000;  // decoded width x height
    double      timeout_s        = 600.0;     // how long a request waits for its reply once received (queue + run)
    double      request_timeout_s = 60.0;     // whole request: from its first byte to its last body byte (408 after)
    double      idle_timeout_s    = 5.0;      // a connection with no request under way is closed after this
    double      write_timeout_s   = 60.0;     // whole reply: a client that does not read it is disconnected
    int         max_connections   = 64;       // open connections; more are answered 503 and closed
    int         http_threads      = 0;        // parsing threads (JSON, multipart, base64, image check); 0 = 2
    double      max_inflight_mb   = 0;        // bodies being received, all connections together (MiB); 0 = 4 bodies
    int         max_n_predict     = 0;        // upper bound of n_predict; 0 = the context length
    // Called on the loop thread around each job (metrics, tests); may be empty.
    std::function<void(const serve_request &)> on_job_start;
    std::function<void(const serve_request &)> on_job_end;
};

struct serve_conn;       // one client connection (serve-http.cpp)
struct serve_event;      // a parsing thread or the queue reporting to the event loop

class serve_server {
public:
    serve_server(serve_engine & engine, const serve_params & params);
    ~serve_server();  // stop()
    serve_server(const serve_server &)             = delete;
    serve_server & operator=(const serve_server &) = delete;

    // Binds host:port, starts the inference loop, the parsing threads and the event loop; returns the bound port.
    // Throws glm::error when the address cannot be bound.
    int  start();
    // Refuses new connections and jobs, closes connections with no request waiting for a reply, answers waiting
    // jobs with 503, lets the running job finish and its reply be written (within write_timeout_s), then joins.
    void stop();

    int               port() const { return port_; }
    bool              running() const;  // the event loop is accepting
    serve_queue_stats stats() const { return queue_.stats(); }
    size_t            connections() const { return n_conns_; }

private:
    struct parse_task {
        uint64_t    conn = 0, seq = 0;
        serve_kind  kind = serve_kind::ground;
        std::string content_type;
        std::string body;
        size_t      reserved = 0;  // bytes of the in-flight budget this body holds until parsed
    };

    void event_loop();
    void parse_worker();
    void parse_and_post(parse_task & t);
    void push_event(serve_event && ev);
    void wake();
    std::string health_json() const;
    std::string props_json() const;

    // event-loop helpers (event-loop thread only)
    void on_readable(serve_conn & c);
    bool feed(serve_conn & c, const char * data, size_t n);  // false: the connection is to be closed
    bool vet_head(serve_conn & c);
    void dispatch(serve_conn & c);
    void reply(serve_conn & c, int status, const std::string & body, bool close, const char * extra = "",
               const char * content_type = "application/json");
    void stream_begin(serve_conn & c);
    void stream_flush(serve_conn & c);
    void stream_end(serve_conn & c, int status, const std::string & body);
    void flush(serve_conn & c);
    void finish_reply(serve_conn & c);
    void close_conn(uint64_t id);
    void on_event(serve_event & ev);
    void check_deadlines(double now);

    serve_engine & engine_;
    serve_params   params_;
    serve_limits   limits_;
    serve_queue    queue_;
    size_t         body_limit_     = 0;
    size_t         inflight_limit_ = 0;
    size_t         inflight_       = 0;  // body bytes reserved by connections being read (event loop only)

    int                      listen_fd_ = -1, wake_fd_ = -1;
    std::map<uint64_t, std::unique_ptr<serve_conn>> conns_;  // by id; event loop only
    uint64_t                 next_conn_ = 1;
    std::atomic<size_t>      n_conns_{ 0 };

    std::mutex                 ev_m_;
    std::vector<serve_event>   events_;     // for the event loop
    std::mutex                 task_m_;
    std::condition_variable    task_cv_;
    std::deque<parse_task>     tasks_;
    bool                       tasks_closed_ = false;

    std::thread                loop_, io_;
    std::vector<std::thread>   workers_;
    std::atomic<bool>          started_{ false }, stopping_{ false }, drain_{ false }, io_done_{ false };
    int                        port_ = 0;
};

}  // namespace glm
