// eval/progress.h: a progress bar with rate and ETA for long evaluation runs, written to stderr.
//
// On a terminal the bar is redrawn in place (at most a few times a second); otherwise (a log file, a Slurm or
// Kubernetes job) one plain line is printed every `line_interval_s` seconds and at the end, so that logs stay
// readable. Items skipped because their results already exist (a resumed run) are shown but do not count
// towards the rate, so the ETA is that of the work left.
//
// Thread safety: one progress_bar serves one thread.
#pragma once

#include <cstdio>
#include <string>

namespace glm {

struct progress_params {
    bool   enabled         = true;   // false: print nothing
    double redraw_s        = 0.25;   // terminal: minimum seconds between redraws
    double line_interval_s = 30.0;   // not a terminal: seconds between plain lines
    int    width           = 30;     // characters of the bar
    FILE * out             = stderr;
};

class progress_bar {
public:
    progress_bar(const std::string & label, int64_t total, const progress_params & params = progress_params());
    ~progress_bar();

    void skip(int64_t n = 1);  // items already done (resumed): counted as done, not in the rate
    void tick(int64_t n = 1);  // items computed now
    void finish();             // final line (also called by the destructor)

    int64_t done() const { return skipped_ + computed_; }
    // "1h02m", "3m05s", "12s"
    static std::string format_duration(double seconds);
    // The text of the current state ("label [=====>    ] 12/40  30%  0.8 img/s  ETA 35s"), for tests.
    std::string line() const;

private:
    void draw(bool force);

    std::string     label_;
    int64_t         total_ = 0, skipped_ = 0, computed_ = 0;
    progress_params p_;
    bool            tty_ = false, finished_ = false;
    double          t0_ = 0, t_first_ = -1, last_draw_ = -1e30;
};

}  // namespace glm
