#include "common.h"

#include "ggml.h"
#include "llama.h"
#include "mtmd.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace glm {

static std::string vstrfmt(const char * fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    const int n = vsnprintf(nullptr, 0, fmt, ap2);
    va_end(ap2);
    std::string out(n > 0 ? n : 0, '\0');
    if (n > 0) {
        vsnprintf(out.data(), out.size() + 1, fmt, ap);
    }
    return out;
}

std::string strfmt(const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vstrfmt(fmt, ap);
    va_end(ap);
    return s;
}

void fail(const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vstrfmt(fmt, ap);
    va_end(ap);
    throw error(s);
}

static void default_sink(log_level level, const char * text, void *) {
    static const char * tags[] = { "debug: ", "", "warning: ", "error: ", "" };
    fprintf(stderr, "%s%s", tags[(int) level], text);
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n') {
        fputc('\n', stderr);
    }
}

static log_callback g_sink      = default_sink;
static void *       g_sink_data = nullptr;
static log_level    g_min_level = log_level::info;

void log_set(log_callback cb, void * user_data) {
    g_sink      = cb ? cb : default_sink;
    g_sink_data = user_data;
}

void log_set_level(log_level min_level) { g_min_level = min_level; }

log_level log_get_level() { return g_min_level; }

void log_write(log_level level, const char * fmt, ...) {
    if (level < g_min_level) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    std::string s = vstrfmt(fmt, ap);
    va_end(ap);
    g_sink(level, s.c_str(), g_sink_data);
}

static std::string g_last_backend_error;

static void ggml_sink(enum ggml_log_level level, const char * text, void * user_data) {
    const bool verbose = user_data != nullptr;
    if (level == GGML_LOG_LEVEL_ERROR) {
        // kept so that a failed llama/ggml call can be reported in one line by the caller
        g_last_backend_error = text;
        while (!g_last_backend_error.empty() && (g_last_backend_error.back() == '\n' || g_last_backend_error.back() == ' ')) {
            g_last_backend_error.pop_back();
        }
    }
    if (!verbose) {
        return;
    }
    if (g_sink == default_sink) {
        fputs(text, stderr);  // ggml streams partial lines (level CONT); pass them through unchanged
        return;
    }
    // a sink set by the caller (glm_log_set): ggml's and libllama's lines go through it, at their level (a CONT
    // fragment at the level of the line it continues), filtered by the minimum level as ours are
    static thread_local log_level last = log_level::info;
    switch (level) {
        case GGML_LOG_LEVEL_DEBUG: last = log_level::debug; break;
        case GGML_LOG_LEVEL_WARN:  last = log_level::warn; break;
        case GGML_LOG_LEVEL_ERROR: last = log_level::error; break;
        case GGML_LOG_LEVEL_CONT:  break;
        default:                   last = log_level::info; break;
    }
    if (last >= g_min_level) {
        g_sink(last, text, g_sink_data);
    }
}

std::string backend_last_error() {
    std::string e;
    std::swap(e, g_last_backend_error);
    return e;
}

void log_route_ggml(bool verbose) {
    void * flag = verbose ? (void *) 1 : nullptr;
    ggml_log_set(ggml_sink, flag);
    llama_log_set(ggml_sink, flag);
    mtmd_log_set(ggml_sink, flag);  // libmtmd (and its clip) log through their own hook
}

std::vector<uint8_t> read_file(const std::string & path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) {
        fail("%s: cannot open file (%s)", path.c_str(), strerror(errno));
    }
    const std::streamsize size = f.tellg();
    if (size < 0) {
        fail("%s: cannot read file size", path.c_str());
    }
    std::vector<uint8_t> buf((size_t) size);
    f.seekg(0);
    if (size > 0 && !f.read((char *) buf.data(), size)) {
        fail("%s: read error", path.c_str());
    }
    return buf;
}

void write_file(const std::string & path, const void * data, size_t size) {
    std::ofstream f(path, std::ios::binary);
    if (!f) {
        fail("%s: cannot create file (%s)", path.c_str(), strerror(errno));
    }
    f.write((const char *) data, (std::streamsize) size);
    if (!f) {
        fail("%s: write error", path.c_str());
    }
}

void write_file(const std::string & path, const std::string & text) { write_file(path, text.data(), text.size()); }

bool file_exists(const std::string & path) {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
}

void make_dirs(const std::string & path) {
    if (path.empty()) {
        return;
    }
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
        fail("%s: cannot create directory (%s)", path.c_str(), ec.message().c_str());
    }
}

double now_s() {
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

}  // namespace glm
