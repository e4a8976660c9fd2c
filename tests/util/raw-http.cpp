#include "util/raw-http.h"

#include "common.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace glm::test {

raw_client::raw_client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port   = htons((uint16_t) port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd_ >= 0 && connect(fd_, (sockaddr *) &a, sizeof(a)) != 0) {
        close(fd_);
        fd_ = -1;
    }
}

raw_client::~raw_client() { close_now(); }

void raw_client::close_now() {
    if (fd_ >= 0) {
        close(fd_);
        fd_ = -1;
    }
}

static int ms_left(double deadline) { return (int) std::max(0.0, (deadline - now_s()) * 1000.0); }

size_t raw_client::send_all(const std::string & bytes, double timeout_s) {
    const double deadline = now_s() + timeout_s;
    size_t       off      = 0;
    while (fd_ >= 0 && off < bytes.size()) {
        pollfd p{ fd_, POLLOUT, 0 };
        if (poll(&p, 1, ms_left(deadline)) <= 0 || (p.revents & (POLLERR | POLLHUP))) {
            break;
        }
        const ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t) n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        } else {
            break;
        }
    }
    return off;
}

bool raw_client::readable(double timeout_s) {
    if (!buf_.empty()) {
        return true;
    }
    pollfd p{ fd_, POLLIN, 0 };
    return fd_ >= 0 && poll(&p, 1, (int) (timeout_s * 1000.0)) > 0;
}

std::string raw_client::read_reply(double timeout_s) {
    const double deadline = now_s() + timeout_s;
    for (;;) {
        const size_t head_end = buf_.find("\r\n\r\n");
        if (head_end != std::string::npos) {
            const std::string cl   = reply_header(buf_.substr(0, head_end + 4), "content-length");
            const size_t      need = head_end + 4 + (cl.empty() ? 0 : (size_t) std::stoull(cl));
            if (buf_.size() >= need) {
                std::string r = buf_.substr(0, need);
                buf_.erase(0, need);
                if (reply_status(r) == 100) {  // an interim reply: the real one follows
                    continue;
                }
                return r;
            }
        }
        if (fd_ < 0) {
            return "";
        }
        pollfd p{ fd_, POLLIN, 0 };
        if (poll(&p, 1, ms_left(deadline)) <= 0) {
            return "";
        }
        char          tmp[65536];
        const ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
        if (n <= 0) {
            return "";
        }
        buf_.append(tmp, (size_t) n);
    }
}

bool raw_client::closed_within(double timeout_s) {
    const double deadline = now_s() + timeout_s;
    while (fd_ >= 0) {
        pollfd p{ fd_, POLLIN, 0 };
        if (poll(&p, 1, ms_left(deadline)) <= 0) {
            return false;
        }
        char          tmp[65536];
        const ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
        if (n <= 0) {
            return true;
        }
    }
    return true;
}

int reply_status(const std::string & r) {
    int status = 0;
    return sscanf(r.c_str(), "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}

std::string reply_body(const std::string & r) {
    const size_t p = r.find("\r\n\r\n");
    return p == std::string::npos ? "" : r.substr(p + 4);
}

std::string reply_header(const std::string & r, const std::string & name) {
    const std::string head = r.substr(0, r.find("\r\n\r\n"));
    size_t            pos  = head.find("\r\n");
    while (pos != std::string::npos) {
        const size_t next  = head.find("\r\n", pos + 2);
        std::string  line  = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        const size_t colon = line.find(':');
        if (colon != std::string::npos && strcasecmp(line.substr(0, colon).c_str(), name.c_str()) == 0) {
            size_t b = colon + 1;
            while (b < line.size() && line[b] == ' ') {
                ++b;
            }
            return line.substr(b);
        }
        pos = next;
    }
    return "";
}

std::string http_roundtrip(int port, const std::string & request, double timeout_s) {
    raw_client c(port);
    c.send_all(request, timeout_s);
    return c.read_reply(timeout_s);
}

static double status_mib(const char * key) {
    std::ifstream f("/proc/self/status");
    std::string   line;
    while (std::getline(f, line)) {
        if (line.compare(0, strlen(key), key) == 0) {
            return std::stod(line.substr(strlen(key) + 1)) / 1024.0;  // "VmRSS:   1234 kB"
        }
    }
    return 0;
}

double rss_mib() { return status_mib("VmRSS"); }
double peak_rss_mib() { return status_mib("VmHWM"); }

bool reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";  // resets VmHWM to the current RSS (Linux 4.0+)
    f.flush();
    return f.good() && peak_rss_mib() - rss_mib() < 1.0;
}

}  // namespace glm::test
