#include "serve-queue.h"

#include "common.h"

#include <algorithm>
#include <chrono>

namespace glm {

std::string serve_error_json(const std::string & msg) {
    return nlohmann::json{ { "error", msg } }.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

serve_queue::serve_queue(size_t capacity) { st_.capacity = capacity; }

serve_queue::post_result serve_queue::post(serve_request && req, serve_job_ptr & job) {
    std::lock_guard<std::mutex> lock(m_);
    if (st_.stopped) {
        ++st_.refused;
        return post_result::stopped;
    }
    if (waiting_.size() >= st_.capacity) {
        ++st_.refused;
        return post_result::full;
    }
    job      = std::make_shared<serve_job>();
    job->id  = next_id_++;
    job->req = std::move(req);
    waiting_.push_back(job);
    st_.waiting = waiting_.size();
    cv_work_.notify_one();
    return post_result::ok;
}

bool serve_queue::wait(const serve_job_ptr & job, double timeout_s, serve_reply & out) {
    std::unique_lock<std::mutex> lock(m_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(std::max(0.0, timeout_s));
    if (!cv_done_.wait_until(lock, deadline, [&] { return job->st == serve_job::state::done; })) {
        if (job->st == serve_job::state::waiting) {
            waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), job), waiting_.end());
            st_.waiting = waiting_.size();
            ++st_.withdrawn;
            job->req = serve_request();
        }
        return false;
    }
    out = job->reply;
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
            st_.running = true;
        }
        serve_reply reply;
        try {
            reply = process(job->req);
        } catch (const serve_http_error & e) {  // a request the models refuse (e.g. an answer longer than the context)
            reply = { e.status, serve_error_json(e.what()) };
        } catch (const glm::error & e) {
            reply = { 500, serve_error_json(e.what()) };
        } catch (const std::exception & e) {
            reply = { 500, serve_error_json(std::string("internal error: ") + e.what()) };
        }
        std::lock_guard<std::mutex> lock(m_);
        job->req   = serve_request();  // the image and settings are no longer needed
        job->reply = std::move(reply);
        job->st    = serve_job::state::done;
        st_.running = false;
        ++st_.done;
        cv_done_.notify_all();
    }
}

void serve_queue::stop() {
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
    }
    waiting_.clear();
    st_.waiting = 0;
    cv_work_.notify_all();
    cv_done_.notify_all();
}

serve_queue_stats serve_queue::stats() const {
    std::lock_guard<std::mutex> lock(m_);
    return st_;
}

}  // namespace glm
