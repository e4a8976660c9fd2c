// eval/progress.cpp: the progress bar of evaluation runs (see progress.h).
#include "eval/progress.h"

#include "common.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace glm {

progress_bar::progress_bar(const std::string & label, int64_t total, const progress_params & params)
    : label_(label), total_(std::max<int64_t>(total, 0)), p_(params) {
    tty_ = p_.out && isatty(fileno(p_.out));
    t0_  = now_s();
}

progress_bar::~progress_bar() { finish(); }

void progress_bar::skip(int64_t n) {
    skipped_ += n;
    draw(false);
}

void progress_bar::tick(int64_t n) {
    computed_ += n;
    draw(false);
}

void progress_bar::finish() {
    if (finished_) {
        return;
    }
    draw(true);
    finished_ = true;
    if (p_.enabled && p_.out && tty_) {
        fputc('\n', p_.out);
        fflush(p_.out);
    }
}

std::string progress_bar::format_duration(double s) {
    if (!std::isfinite(s) || s < 0) {
        return "?";
    }
    const long long t = (long long) std::llround(s);
    if (t >= 3600) {
        return strfmt("%lldh%02lldm", t / 3600, (t / 60) % 60);
    }
    if (t >= 60) {
        return strfmt("%lldm%02llds", t / 60, t % 60);
    }
    return strfmt("%llds", t);
}

std::string progress_bar::line() const {
    const int64_t done    = skipped_ + computed_;
    const double  frac    = total_ > 0 ? std::min(1.0, (double) done / (double) total_) : 1.0;
    const int     filled  = (int) std::floor(frac * p_.width);
    std::string   bar(p_.width, ' ');
    for (int i = 0; i < filled; ++i) {
        bar[i] = '=';
    }
    if (filled < p_.width && done < total_) {
        bar[filled] = '>';
    }
    const double elapsed = now_s() - t0_;
    std::string  s = strfmt("%s [%s] %lld/%lld %3d%%", label_.c_str(), bar.c_str(), (long long) done,
                            (long long) total_, (int) std::floor(frac * 100.0));
    if (skipped_ > 0) {
        s += strfmt(" (%lld resumed)", (long long) skipped_);
    }
    if (computed_ > 0 && elapsed > 0) {
        const double rate = computed_ / elapsed;
        s += rate >= 1.0 ? strfmt(" %.2f it/s", rate) : strfmt(" %.1f s/it", 1.0 / rate);
        const int64_t left = total_ - done;
        s += left > 0 ? " ETA " + format_duration(left / rate) : " took " + format_duration(elapsed);
    } else if (done < total_) {
        s += " ETA ?";
    }
    return s;
}

void progress_bar::draw(bool force) {
    if (!p_.enabled || !p_.out || finished_) {
        return;
    }
    const double t = now_s();
    if (tty_) {
        if (!force && t - last_draw_ < p_.redraw_s) {
            return;
        }
        fprintf(p_.out, "\r%s\033[K", line().c_str());
    } else {
        if (!force && t - last_draw_ < p_.line_interval_s) {
            return;
        }
        fprintf(p_.out, "%s\n", line().c_str());
    }
    fflush(p_.out);
    last_draw_ = t;
}

}  // namespace glm
