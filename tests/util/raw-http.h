// raw-http.h: a loopback HTTP client made of raw sockets for the server tests: it sends exactly the bytes it is
// given (malformed, slow, endless), so that a test can play a hostile client, and reads replies with deadlines.
// Also the process's resident memory, for memory bounds. Not thread-safe: one raw_client per thread.
#pragma once

#include <cstddef>
#include <string>

namespace glm::test {

class raw_client {
public:
    explicit raw_client(int port);  // connects to 127.0.0.1:port (fails the test's expectations if it cannot)
    ~raw_client();
    raw_client(const raw_client &)             = delete;
    raw_client & operator=(const raw_client &) = delete;

    bool connected() const { return fd_ >= 0; }
    // Sends the bytes, waiting at most timeout_s for the socket to take them; returns how many were sent.
    size_t send_all(const std::string & bytes, double timeout_s = 10.0);
    // True when a reply (or the server's close) can be read now, waiting at most timeout_s.
    bool   readable(double timeout_s = 0.0);
    // One reply: status line, headers, Content-Length body; "" when none came within timeout_s.
    std::string read_reply(double timeout_s = 10.0);
    // True when the server closes the connection within timeout_s (whatever it sends first is dropped).
    bool   closed_within(double timeout_s);
    void   close_now();

private:
    int         fd_ = -1;
    std::string buf_;  // bytes read past the last reply
};

int         reply_status(const std::string & reply);  // 0 if none
std::string reply_body(const std::string & reply);
std::string reply_header(const std::string & reply, const std::string & name);  // "" if absent

// Sends one request on a fresh connection and returns the reply ("" if none within timeout_s).
std::string http_roundtrip(int port, const std::string & request, double timeout_s = 30.0);

// Resident memory of this process (MiB), and its peak since the last reset_peak_rss().
double rss_mib();
double peak_rss_mib();
bool   reset_peak_rss();  // false where /proc/self/clear_refs cannot be written: peaks are then not measurable

}  // namespace glm::test
