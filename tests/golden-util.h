// golden-util.h: comparison helpers shared by the golden test programs.
//
// Every golden test takes its data folder as the first argument (default: the copy in tests/golden/<name>),
// prints one line per compared quantity with its max errors and tolerance, and exits 1 if any fails.
// A NaN or an infinity on either side fails a comparison (util/max-error.h), whatever the tolerance.
#pragma once

#include "util/max-error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace golden {

// Thrown by a report at its first failure when the environment sets GLM_GOLDEN_FAIL_FAST=1 (the mutation check,
// tests/util/golden-mutate.cpp, only needs to know that a test fails); the test's catch block then ends the run.
struct stop : std::runtime_error {
    stop() : std::runtime_error("stopped at the first failure (GLM_GOLDEN_FAIL_FAST)") {}
};

struct report {
    int  n_fail    = 0;
    int  n_pass    = 0;
    bool fail_fast = getenv("GLM_GOLDEN_FAIL_FAST") && strcmp(getenv("GLM_GOLDEN_FAIL_FAST"), "0") != 0;
    bool stopped   = false;

    void count(bool ok) {
        (ok ? n_pass : n_fail)++;
        // not from inside a catch block (a test's "run" failure): a throw there would end in std::terminate
        if (!ok && fail_fast && !stopped && !std::current_exception()) {
            stopped = true;
            fflush(stdout);
            throw stop();
        }
    }

    // Max absolute error |a-b| and relative error max|a-b| / max|b|; passes when within tol (of the chosen kind).
    bool compare(const std::string & what, const float * got, const float * want, size_t n, double tol,
                 bool relative = false) {
        double max_abs = 0.0, max_ref = 0.0;
        size_t worst   = 0;
        bool   finite  = true;
        for (size_t i = 0; i < n; ++i) {
            if (!std::isfinite(got[i]) || !std::isfinite(want[i])) {
                if (finite) {
                    worst = i;  // the first non-finite value is the one reported
                }
                finite = false;
                continue;
            }
            const double d = std::fabs((double) got[i] - (double) want[i]);
            if (finite && d > max_abs) {
                worst = i;
            }
            max_abs = glm::test::max_err(max_abs, d);
            max_ref = glm::test::max_err(max_ref, std::fabs((double) want[i]));
        }
        if (!finite) {
            max_abs = std::nan("");
        }
        const double rel = max_ref > 0 ? max_abs / max_ref : max_abs;
        const double err = relative ? rel : max_abs;
        const bool   ok  = finite && err <= tol;
        printf("%-4s %-40s max_abs %.3e  rel %.3e  (tol %.1e %s)", ok ? "ok" : "FAIL", what.c_str(), max_abs, rel, tol,
               relative ? "rel" : "abs");
        if (!ok && n > 0) {
            printf("  worst at %zu: got %.6g want %.6g", worst, got[worst], want[worst]);
        }
        printf("\n");
        count(ok);
        return ok;
    }

    bool compare(const std::string & what, const std::vector<float> & got, const std::vector<float> & want,
                 double tol, bool relative = false) {
        if (got.size() != want.size()) {
            return check(what, false, "size " + std::to_string(got.size()) + " vs " + std::to_string(want.size()));
        }
        return compare(what, got.data(), want.data(), got.size(), tol, relative);
    }

    bool check(const std::string & what, bool ok, const std::string & detail = "") {
        printf("%-4s %s%s%s\n", ok ? "ok" : "FAIL", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
        count(ok);
        return ok;
    }

    int finish(const char * name) const {
        printf("%s: %d passed, %d failed\n", name, n_pass, n_fail);
        return n_fail == 0 && n_pass > 0 ? 0 : 1;
    }
};

// Greedy decoding against a reference: the number of steps to compare (up to and including the first whose reference
// top-2 margin is under min_margin, since the next token then depends on a near tie) and whether the ids agree there.
inline size_t greedy_prefix(const std::vector<int32_t> & got, const std::vector<int32_t> & want,
                            const std::vector<float> & margin, float min_margin, bool * same) {
    size_t n = 0;
    *same    = true;
    while (n < want.size() && n < got.size()) {
        *same = *same && got[n] == want[n];
        if (margin[n++] < min_margin) {
            break;
        }
    }
    return n;
}

}  // namespace golden

