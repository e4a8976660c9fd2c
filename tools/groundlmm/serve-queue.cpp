#include "serve-queue.h"

#include "common.h"

#include <algorithm>
#include <vector>

namespace glm {

std::string serve_error_json(const std::string & msg) {
    return nlohmann::json{ { "error", msg } }.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

static size_t request_bytes(const serve_request & r) { return r.image_data.size() + r.image.rgb.size(); }

serve_queue::serve_queue(size_t capacity) { st_.capacity = capacity; }

serve_queue::post_result serve_queue::post(serve_request && req, serve_done_fn on_done, serve_job_ptr & job) {
    std::lock_guard<std::mutex> lock(m_);
    if (st_.stopped) {
        ++st_.refused;
        return post_result::stopped;
    }
    if (waiting_.size() >= st_.capacity) {
        ++st_.refused;
        return post_result::full;
    }
    job          = std::make_shared<serve_job>();
    job->id      = next_id_++;
    job->req     = std::move(req);
    job->bytes   = request_bytes(job->req);
    job->on_done = std::move(on_done);
    waiting_.push_back(job);
    st_.waiting = waiting_.size();
    st_.waiting_bytes += job->bytes;
    cv_work_.notify_one();
    return post_result::ok;
}

bool serve_queue::withdraw(const serve_job_ptr & job) {
    std::lock_guard<std::mutex> lock(m_);
    if (!job || job->st != serve_job::state::waiting) {
        if (job && job->st == serve_job::state::running) {
            job->on_done   = nullptr;  // the reply is dropped
            job->cancelled = true;     // and the run stops at its next check
        }
        return false;
    }
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), job), waiting_.end());
    st_.waiting = waiting_.size();
    st_.waiting_bytes -= job->bytes;
    ++st_.withdrawn;
    job->st      = serve_job::state::withdrawn;
    job->req     = serve_request();
    job->on_done = nullptr;
    return true;
}

void serve_queue::run(const process_fn & process) {
    for (;;) {
        serve_job_ptr job;
        {
            std::unique_lock<std::mutex> lock(m_);
            cv_work_.wait(lock, [&] { return st_.stopped || !waiting_.empty(); });
            if (st_.stopped) {
                return;  // stop() answered the waiting jobs
            }
            job = waiting_.front();
            waiting_.pop_front();
            job->st     = serve_job::state::running;
            st_.waiting = waiting_.size();
            st_.waiting_bytes -= job->bytes;
            st_.running = true;
        }
        serve_reply reply;
        try {
            reply = process(job->req, job->cancelled);
        } catch (const serve_http_error & e) {  // a request the models refuse (e.g. an image that does not decode)
            reply = { e.status, serve_error_json(e.what()) };
        } catch (const glm::error & e) {
            reply = { 500, serve_error_json(e.what()) };
        } catch (const std::exception & e) {
            reply = { 500, serve_error_json(std::string("internal error: ") + e.what()) };
        }
        serve_done_fn done;
        {
            std::lock_guard<std::mutex> lock(m_);
            job->req    = serve_request();  // the image and settings are no longer needed
            job->reply  = std::move(reply);
            job->st     = serve_job::state::done;
            st_.running = false;
            ++st_.done;
            st_.cancelled += job->cancelled && job->reply.status != 200;
            done.swap(job->on_done);
        }
        if (done) {
            done(*job);
        }
    }
}

void serve_queue::stop() {
    std::vector<serve_job_ptr> cancelled;
    {
        std::lock_guard<std::mutex> lock(m_);
        if (st_.stopped) {
            return;
        }
        st_.stopped = true;
        for (const serve_job_ptr & job : waiting_) {
            job->req   = serve_request();
            job->reply = { 503, serve_error_json("the server is shutting down; the request was not run") };
            job->st    = serve_job::state::done;
            ++st_.withdrawn;
            cancelled.push_back(job);
        }
        waiting_.clear();
        st_.waiting       = 0;
        st_.waiting_bytes = 0;
        cv_work_.notify_all();
    }
    for (const serve_job_ptr & job : cancelled) {
        if (job->on_done) {
            job->on_done(*job);
            job->on_done = nullptr;
        }
    }
}

serve_queue_stats serve_queue::stats() const {
    std::lock_guard<std::mutex> lock(m_);
    return st_;
}

}  // namespace glm
