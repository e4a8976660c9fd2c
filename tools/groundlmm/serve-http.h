// serve-http.h: the HTTP transport of `groundlmm serve` (cpp-httplib): routes, body parsing (multipart form or
// JSON), validation before queuing, the bounded queue and the one inference loop thread that owns the models.
//
//   GET  /health  → {"status", "models", "queue", ...}             (never waits for the models)
//   POST /ground  → result.json's content (+ overlay_png_b64 / answer_html)
//   POST /attend  → attend.json's content with the maps inline
// Statuses: 400 bad field or image, 413 body or image too large, 503 queue full / timed out / shutting down,
// 500 inference error; every error body is {"error": "<one line>"}. docs/server.md has the whole API.
//
// Thread-safety: start() and stop() from the owning thread (stop() is idempotent; never from a signal
// handler); port(), running() and stats() from any thread. HTTP handlers run on httplib's thread pool and
// only parse, post and wait; the engine is used by the loop thread alone.
#pragma once

#include "serve-engine.h"
#include "serve-queue.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace glm {

struct serve_params {
    std::string host             = "127.0.0.1";
    int         port             = 8080;      // 0 = any free port (read it back with serve_server::port())
    int         queue            = 16;        // requests waiting for the models (the running one not counted)
    double      max_image_mb     = 20.0;      // encoded image size (MiB); the body limit follows (base64 + 1 MiB)
    int64_t     max_image_pixels = 40000000;  // decoded width x height
    double      timeout_s        = 600.0;     // how long a request waits for its reply (queue + inference)
    int         http_threads     = 0;         // handler threads; 0 = queue + 4 (a waiting request holds one)
    int         max_n_predict    = 0;         // upper bound of n_predict; 0 = the context length
    // Called on the loop thread around each job (metrics, tests); may be empty.
    std::function<void(const serve_request &)> on_job_start;
    std::function<void(const serve_request &)> on_job_end;
};

class serve_server {
public:
    serve_server(serve_engine & engine, const serve_params & params);
    ~serve_server();  // stop()
    serve_server(const serve_server &)             = delete;
    serve_server & operator=(const serve_server &) = delete;

    // Binds host:port, starts the inference loop and the HTTP listener; returns the bound port.
    // Throws glm::error when the address cannot be bound.
    int  start();
    // Refuses new connections and jobs, answers waiting jobs with 503, lets the running job finish and
    // its handler reply, then joins the threads.
    void stop();

    int               port() const { return port_; }
    bool              running() const;  // the listener is accepting
    serve_queue_stats stats() const { return queue_.stats(); }

private:
    void on_health(const httplib::Request & req, httplib::Response & res);
    void on_run(serve_kind kind, const httplib::Request & req, httplib::Response & res);

    serve_engine &                   engine_;
    serve_params                     params_;
    serve_limits                     limits_;
    serve_queue                      queue_;
    std::unique_ptr<httplib::Server> http_;
    std::thread                      loop_, listener_;
    std::atomic<bool>                stopping_{ false };
    std::atomic<bool>                listener_done_{ false };  // listen_after_bind returned
    int                              port_ = 0;
};

}  // namespace glm
