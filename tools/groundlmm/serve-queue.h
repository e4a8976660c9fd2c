// serve-queue.h: the bounded job queue between the HTTP handlers of `groundlmm serve` and its one inference
// loop (the shape of llama.cpp's tools/server/server-queue: handlers post, one loop thread owns the models).
//   - post() never blocks: a full queue (capacity jobs waiting, the running one not counted) or a stopped one
//     refuses at once, so that the handler can answer 503;
//   - wait() blocks the handler until its reply or a deadline; a job still waiting at the deadline is withdrawn
//     and never runs (a running one finishes, unobserved);
//   - run() is the inference loop: jobs one at a time in arrival order, until stop();
//   - stop() refuses new jobs, answers every waiting job with 503 and lets the running one finish.
// Thread-safe: every member may be called from any thread, run() from exactly one.
#pragma once

#include "serve-request.h"

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

struct serve_job {
    enum class state { waiting, running, done };
    uint64_t      id = 0;     // 1, 2, ... in posting order
    serve_request req;        // dropped once the job ran
    state         st = state::waiting;
    serve_reply   reply;      // set when done
};
using serve_job_ptr = std::shared_ptr<serve_job>;

struct serve_queue_stats {
    size_t   capacity  = 0;
    size_t   waiting   = 0;      // jobs queued, not yet running
    bool     running   = false;  // a job is running now
    bool     stopped   = false;
    uint64_t done      = 0;      // jobs run (any status)
    uint64_t refused   = 0;      // posts refused: queue full or stopped
    uint64_t withdrawn = 0;      // jobs that timed out while waiting, or were cancelled by stop()
};

class serve_queue {
public:
    // Runs one job on the loop thread; exceptions become 500 replies (glm::error: its one-line message).
    using process_fn = std::function<serve_reply(const serve_request &)>;

    explicit serve_queue(size_t capacity);

    enum class post_result { ok, full, stopped };
    post_result post(serve_request && req, serve_job_ptr & job);

    // The reply of a posted job, waiting at most timeout_s; false on time-out (see above).
    bool wait(const serve_job_ptr & job, double timeout_s, serve_reply & out);

    void run(const process_fn & process);
    void stop();

    serve_queue_stats stats() const;

private:
    mutable std::mutex        m_;
    std::condition_variable   cv_work_;  // the loop waits for jobs or stop
    std::condition_variable   cv_done_;  // handlers wait for replies
    std::deque<serve_job_ptr> waiting_;
    serve_queue_stats         st_;
    uint64_t                  next_id_ = 1;
};

}  // namespace glm
