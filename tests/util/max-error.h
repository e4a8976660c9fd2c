// max-error.h: the one way tests aggregate errors. A NaN or an infinity anywhere makes the aggregate NaN, so
// that every comparison of it with a tolerance (`err <= tol`, EXPECT_LT, EXPECT_LE) fails. `std::max(err, d)`
// is not used for this: it drops a NaN d (NaN compares false), and a result full of NaNs would pass.
// Header-only, no state: thread-safe.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace glm::test {

// max(m, d) that keeps a NaN or an infinity: once either is seen, the result is NaN.
inline double max_err(double m, double d) {
    if (!std::isfinite(m) || !std::isfinite(d)) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    return d > m ? d : m;
}

// Largest |a[i] - b[i]|; NaN when a value of either side is not finite or the sizes differ.
template <typename A, typename B> double max_abs_diff(const A * a, const B * b, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; ++i) {
        m = max_err(m, std::fabs((double) a[i] - (double) b[i]));
    }
    return m;
}

template <typename A, typename B> double max_abs_diff(const std::vector<A> & a, const std::vector<B> & b) {
    if (a.size() != b.size()) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    return max_abs_diff(a.data(), b.data(), a.size());
}

// Largest |a[i]|; NaN when a value is not finite.
template <typename A> double max_abs(const std::vector<A> & a) {
    double m = 0.0;
    for (const A & v : a) {
        m = max_err(m, std::fabs((double) v));
    }
    return m;
}

}  // namespace glm::test
