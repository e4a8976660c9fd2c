// serve-queue.h: the bounded job queue between the HTTP transport of `groundlmm serve` and its one inference
// loop (the shape of llama.cpp's tools/server/server-queue: the transport posts, one loop thread owns the models).
//   - post() never blocks: a full queue (capacity jobs waiting, the running one not counted) or a stopped one
//     refuses at once, so that the transport can answer 503;
//   - a job's reply is delivered through the done callback given to post(), on whichever thread finished it
//     (the loop thread, or the one that called stop());
//   - withdraw() takes back a job whose client has gone or whose deadline passed: a waiting job is removed and
//     never runs (its callback is not called); a running one is cancelled (process_fn sees the flag and stops at
//     its next check) and its reply is dropped;
//   - run() is the inference loop: jobs one at a time in arrival order, until stop();
//   - stop() refuses new jobs, answers every waiting job with 503 and lets the running one finish.
// Memory: a waiting job holds its request (the encoded image, not the decoded pixels: see serve_request), whose
// bytes are counted in serve_queue_stats::waiting_bytes.
// Thread-safe: every member may be called from any thread, run() from exactly one. Callbacks run without the
// queue's lock held and must not block.
#pragma once

#include "serve-request.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace glm {

struct serve_reply {
    int         status = 200;  // HTTP status
    std::string body;          // JSON text
};

// {"error": msg} as JSON text (invalid UTF-8 replaced).
std::string serve_error_json(const std::string & msg);

struct serve_job;
using serve_done_fn = std::function<void(const serve_job &)>;

struct serve_job {
    enum class state { waiting, running, done, withdrawn };
    uint64_t      id = 0;     // 1, 2, ... in posting order
    serve_request req;        // dropped once the job ran or was withdrawn
    size_t        bytes = 0;  // the request's image bytes while it waits
    state         st = state::waiting;
    serve_reply   reply;      // set when done
    serve_done_fn on_done;    // called once when done (never for a withdrawn job)
    std::atomic<bool> cancelled{ false };  // withdrawn while running: the run should stop
};
using serve_job_ptr = std::shared_ptr<serve_job>;

struct serve_queue_stats {
    size_t   capacity      = 0;
    size_t   waiting       = 0;      // jobs queued, not yet running
    size_t   waiting_bytes = 0;      // image bytes (encoded) held by the waiting jobs
    bool     running       = false;  // a job is running now
    bool     stopped       = false;
    uint64_t done          = 0;      // jobs run (any status)
    uint64_t refused       = 0;      // posts refused: queue full or stopped
    uint64_t withdrawn     = 0;      // waiting jobs withdrawn (client gone, deadline) or cancelled by stop()
    uint64_t cancelled     = 0;      // running jobs withdrawn (client gone, deadline) that then stopped early
};

class serve_queue {
public:
    // Runs one job on the loop thread (it may complete the request in place, e.g. decode its image); exceptions
    // become replies: serve_http_error its status, glm::error 500 with its one-line message.
    // `cancelled` turns true when the job is withdrawn while it runs: stop then (throwing is fine, the reply is
    // dropped).
    using process_fn = std::function<serve_reply(serve_request &, const std::atomic<bool> & cancelled)>;

    explicit serve_queue(size_t capacity);

    enum class post_result { ok, full, stopped };
    post_result post(serve_request && req, serve_done_fn on_done, serve_job_ptr & job);

    // True when the job was still waiting: it is removed and never runs. False when it runs or ran already.
    bool withdraw(const serve_job_ptr & job);

    void run(const process_fn & process);
    void stop();

    serve_queue_stats stats() const;

private:
    mutable std::mutex        m_;
    std::condition_variable   cv_work_;  // the loop waits for jobs or stop
    std::deque<serve_job_ptr> waiting_;
    serve_queue_stats         st_;
    uint64_t                  next_id_ = 1;
};

}  // namespace glm
