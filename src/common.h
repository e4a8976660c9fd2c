// common.h: errors, logging and small helpers shared by every module.
//
// Library code never prints directly: it logs through glm_log(), whose sink the application may replace.
// Bad input throws glm::error with a one-line message naming the problem (file, field, expected vs got);
// the public API boundary turns it into an error string for the caller.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace glm {

// An error caused by input (files, options, data): a clear one-line message, never a crash.
struct error : std::runtime_error {
    explicit error(const std::string & msg) : std::runtime_error(msg) {}
};

std::string strfmt(const char * fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void fail(const char * fmt, ...) __attribute__((format(printf, 1, 2)));

enum class log_level { debug = 0, info = 1, warn = 2, error = 3, none = 4 };

// The log sink: by default lines at or above the threshold go to stderr.
typedef void (*log_callback)(log_level level, const char * text, void * user_data);
void log_set(log_callback cb, void * user_data);
void log_set_level(log_level min_level);
log_level log_get_level();
void log_write(log_level level, const char * fmt, ...) __attribute__((format(printf, 2, 3)));

// Routes the logs of ggml and libllama: printed only when verbose; their last error line is always kept.
void log_route_ggml(bool verbose);
// The last error line ggml/libllama logged since the previous call ("" if none), to explain a failed call.
std::string backend_last_error();

// Reads a whole file; throws glm::error naming the file when it cannot.
std::vector<uint8_t> read_file(const std::string & path);
void write_file(const std::string & path, const void * data, size_t size);
void write_file(const std::string & path, const std::string & text);
bool file_exists(const std::string & path);
void make_dirs(const std::string & path);

// Monotonic time in seconds, for progress reports and benchmarks.
double now_s();

}  // namespace glm

#define GLM_LOG_DEBUG(...) ::glm::log_write(::glm::log_level::debug, __VA_ARGS__)
#define GLM_LOG_INFO(...)  ::glm::log_write(::glm::log_level::info, __VA_ARGS__)
#define GLM_LOG_WARN(...)  ::glm::log_write(::glm::log_level::warn, __VA_ARGS__)
#define GLM_LOG_ERROR(...) ::glm::log_write(::glm::log_level::error, __VA_ARGS__)
