#include "serve-http.h"

#include "common.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace glm {

using json = nlohmann::json;

static void reply_json(httplib::Response & res, int status, const std::string & body) {
    res.status = status;
    res.set_content(body, "application/json");
}

static void reply_error(httplib::Response & res, int status, const std::string & msg) {
    reply_json(res, status, serve_error_json(msg));
}

static size_t mib_to_bytes(double mb) { return (size_t) std::llround(mb * 1024.0 * 1024.0); }

serve_server::serve_server(serve_engine & engine, const serve_params & params)
    : engine_(engine), params_(params), queue_((size_t) std::max(0, params.queue)) {
    if (params_.queue < 1) {
        fail("--queue must be at least 1 (got %d)", params_.queue);
    }
    if (!(params_.max_image_mb > 0) || !(params_.timeout_s > 0)) {
        fail("--max-image-mb and --timeout-s must be positive");
    }
    limits_.max_image_bytes  = mib_to_bytes(params_.max_image_mb);
    limits_.max_image_pixels = params_.max_image_pixels;
    limits_.max_n_predict    = params_.max_n_predict > 0 ? params_.max_n_predict : engine_.n_ctx();
}

serve_server::~serve_server() { stop(); }

bool serve_server::running() const { return http_ && !stopping_ && !listener_done_; }

// The body as one JSON object of fields plus the encoded image bytes.
static void parse_body(const httplib::Request & req, const serve_limits & limits, json & fields, std::string & image) {
    fields = json::object();
    auto b64_image = [&](const std::string & text) {
        if (text.size() / 4 * 3 > limits.max_image_bytes + 2) {
            throw serve_http_error(413, strfmt("image_b64 of %zu characters exceeds the server's image limit of %zu "
                                               "bytes (--max-image-mb)", text.size(), limits.max_image_bytes));
        }
        image = base64_decode(text);
    };
    if (req.is_multipart_form_data()) {
        for (const auto & kv : req.files) {
            const std::string & name = kv.first;
            if (req.files.count(name) > 1) {
                throw serve_http_error(400, strfmt("field '%s' given more than once", name.c_str()));
            }
            if (name == "image") {
                image = kv.second.content;
            } else if (name == "image_b64") {
                b64_image(kv.second.content);
            } else {
                fields[name] = kv.second.content;
            }
        }
        return;
    }
    const std::string ctype = req.get_header_value("Content-Type");
    if (ctype.find("application/json") == std::string::npos && (req.body.empty() || req.body[0] != '{')) {
        throw serve_http_error(400, strfmt("expected a multipart/form-data or application/json body, got '%s'",
                                           ctype.empty() ? "no Content-Type" : ctype.c_str()));
    }
    try {
        fields = json::parse(req.body);
    } catch (const json::exception & e) {
        throw serve_http_error(400, strfmt("invalid JSON body: %s", e.what()));
    }
    if (!fields.is_object()) {
        throw serve_http_error(400, "the JSON body must be an object");
    }
    if (fields.contains("image")) {
        throw serve_http_error(400, "JSON bodies carry the image as base64 in 'image_b64' (the field 'image' is for "
                                    "multipart forms)");
    }
    if (fields.contains("image_b64")) {
        if (!fields["image_b64"].is_string()) {
            throw serve_http_error(400, "field 'image_b64': expected a base64 string");
        }
        b64_image(fields["image_b64"].get<std::string>());
        fields.erase("image_b64");
    }
}

void serve_server::on_health(const httplib::Request &, httplib::Response & res) {
    const serve_queue_stats s = queue_.stats();
    const json              j = {
        { "status", s.stopped || stopping_ ? "stopping" : "ok" },
        { "models", engine_.info() },
        { "queue", s.waiting },
        { "queue_max", s.capacity },
        { "running", s.running },
        { "done", s.done },
        { "refused", s.refused },
        { "withdrawn", s.withdrawn },
    };
    reply_json(res, 200, j.dump());
}

void serve_server::on_run(serve_kind kind, const httplib::Request & req, httplib::Response & res) {
    const double t0 = now_s();
    try {
        json        fields;
        std::string image;
        parse_body(req, limits_, fields, image);
        serve_request sr = serve_parse_request(kind, fields, image, limits_);
        image.clear();
        serve_job_ptr job;
        switch (queue_.post(std::move(sr), job)) {
            case serve_queue::post_result::ok: break;
            case serve_queue::post_result::full:
                res.set_header("Retry-After", "1");
                throw serve_http_error(503, strfmt("the queue is full (%d requests waiting, --queue); retry later",
                                                   params_.queue));
            case serve_queue::post_result::stopped:
                throw serve_http_error(503, "the server is shutting down");
        }
        serve_reply reply;
        if (!queue_.wait(job, params_.timeout_s, reply)) {
            throw serve_http_error(503, strfmt("no reply within %g s (--timeout-s); the request was %s",
                                               params_.timeout_s, "withdrawn if it had not started"));
        }
        reply_json(res, reply.status, reply.body);
        GLM_LOG_INFO("serve: %s %s -> %d (job %llu, %.2f s)", req.method.c_str(), req.path.c_str(), reply.status,
                     (unsigned long long) job->id, now_s() - t0);
    } catch (const serve_http_error & e) {
        reply_error(res, e.status, e.what());
        GLM_LOG_INFO("serve: %s %s -> %d: %s", req.method.c_str(), req.path.c_str(), e.status, e.what());
    } catch (const glm::error & e) {
        reply_error(res, 400, e.what());
        GLM_LOG_INFO("serve: %s %s -> 400: %s", req.method.c_str(), req.path.c_str(), e.what());
    }
}

int serve_server::start() {
    if (http_) {
        fail("serve: the server was already started");
    }
    http_ = std::make_unique<httplib::Server>();
    const int n_threads = params_.http_threads > 0 ? params_.http_threads : params_.queue + 4;
    http_->new_task_queue = [n_threads] { return new httplib::ThreadPool((size_t) n_threads); };
    // the body carries the image, base64 in JSON (4/3), plus the other fields
    http_->set_payload_max_length(limits_.max_image_bytes / 3 * 4 + 4 + (1u << 20));
    http_->set_read_timeout(60);
    http_->set_write_timeout(60);
    http_->Get("/health", [this](const httplib::Request & q, httplib::Response & r) { on_health(q, r); });
    http_->Post("/ground", [this](const httplib::Request & q, httplib::Response & r) { on_run(serve_kind::ground, q, r); });
    http_->Post("/attend", [this](const httplib::Request & q, httplib::Response & r) { on_run(serve_kind::attend, q, r); });
    // statuses httplib sets itself (404, 413 body too large, 400 unparsable request): the same JSON error body
    http_->set_error_handler([this](const httplib::Request & q, httplib::Response & r) {
        if (!r.body.empty()) {
            return;
        }
        std::string msg = strfmt("HTTP %d", r.status);
        if (r.status == 404) {
            msg = strfmt("no such endpoint: %s %s (GET /health, POST /ground, POST /attend)", q.method.c_str(),
                         q.path.c_str());
        } else if (r.status == 413) {
            msg = strfmt("request body too large: the server accepts images up to %zu bytes (--max-image-mb)",
                         limits_.max_image_bytes);
        } else if (r.status == 400) {
            msg = "malformed HTTP request";
        }
        reply_error(r, r.status, msg);
    });
    http_->set_exception_handler([](const httplib::Request &, httplib::Response & r, std::exception_ptr ep) {
        std::string msg = "internal error";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception & e) {
            msg += std::string(": ") + e.what();
        } catch (...) {
        }
        reply_error(r, 500, msg);
    });

    if (params_.port == 0) {
        port_ = http_->bind_to_any_port(params_.host);
    } else {
        port_ = http_->bind_to_port(params_.host, params_.port) ? params_.port : -1;
    }
    if (port_ <= 0) {
        http_.reset();
        fail("serve: cannot listen on %s:%d (address in use, or not an address of this machine)",
             params_.host.c_str(), params_.port);
    }
    loop_ = std::thread([this] {
        queue_.run([this](const serve_request & r) {
            if (params_.on_job_start) {
                params_.on_job_start(r);
            }
            struct end_call {
                const serve_params & p;
                const serve_request & r;
                ~end_call() {
                    if (p.on_job_end) {
                        p.on_job_end(r);
                    }
                }
            } end{ params_, r };
            return engine_.process(r);
        });
    });
    listener_ = std::thread([this] {
        if (!http_->listen_after_bind() && !stopping_) {
            GLM_LOG_ERROR("serve: the HTTP listener stopped with an error");
        }
        listener_done_ = true;
    });
    return port_;
}

void serve_server::stop() {
    if (stopping_.exchange(true)) {
        return;
    }
    if (http_) {
        // httplib's stop() does nothing until the listener runs: wait for it to start (or to have failed)
        while (!http_->is_running() && !listener_done_) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        http_->stop();  // no new connections; requests being read still reach the handlers
    }
    queue_.stop();      // new posts refused, waiting jobs answered 503, the running job finishes
    if (loop_.joinable()) {
        loop_.join();
    }
    if (listener_.joinable()) {
        listener_.join();  // httplib's pool finishes the handlers (they have their replies now)
    }
}

}  // namespace glm
