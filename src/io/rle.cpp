#include "rle.h"

#include "common.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace glm {

rle rle_encode(const uint8_t * m, int h, int w) {
    rle r;
    r.h            = h;
    r.w            = w;
    uint8_t  p     = 0;
    uint32_t c     = 0;
    for (int x = 0; x < w; ++x) {
        for (int y = 0; y < h; ++y) {
            const uint8_t v = m[(size_t) y * w + x] ? 1 : 0;
            if (v != p) {
                r.counts.push_back(c);
                c = 0;
                p = v;
            }
            ++c;
        }
    }
    r.counts.push_back(c);
    return r;
}

std::vector<uint8_t> rle_decode(const rle & r) {
    std::vector<uint8_t> m((size_t) r.h * r.w, 0);
    const size_t n = m.size();
    size_t       j = 0;
    uint8_t      v = 0;
    for (uint32_t c : r.counts) {
        if (j + c > n) {
            fail("RLE counts sum beyond the %dx%d mask", r.h, r.w);
        }
        for (uint32_t k = 0; k < c; ++k, ++j) {
            if (v) {
                const size_t y = j % (size_t) r.h, x = j / (size_t) r.h;
                m[y * r.w + x] = 1;
            }
        }
        v = !v;
    }
    return m;
}

std::string rle_to_string(const rle & r) {
    std::string s;
    for (size_t i = 0; i < r.counts.size(); ++i) {
        long x = (long) r.counts[i];
        if (i > 2) {
            x -= (long) r.counts[i - 2];
        }
        bool more = true;
        while (more) {
            char c = (char) (x & 0x1f);
            x >>= 5;
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) {
                c |= 0x20;
            }
            s.push_back((char) (c + 48));
        }
    }
    return s;
}

rle rle_from_string(const std::string & s, int h, int w) {
    rle r;
    r.h      = h;
    r.w      = w;
    size_t p = 0;
    while (p < s.size()) {
        long x    = 0;
        int  k    = 0;
        bool more = true;
        while (more) {
            if (p >= s.size()) {
                fail("malformed RLE string (ends inside a count)");
            }
            const int c = s[p] - 48;
            if (c < 0 || c > 63) {
                fail("malformed RLE string (character '%c' out of range)", s[p]);
            }
            x |= (long) (c & 0x1f) << (5 * k);
            more = (c & 0x20) != 0;
            ++p;
            ++k;
            if (!more && (c & 0x10)) {
                x |= (long) (~0UL << (5 * k));
            }
        }
        const size_t m = r.counts.size();
        if (m > 2) {
            x += (long) r.counts[m - 2];
        }
        r.counts.push_back((uint32_t) x);
    }
    return r;
}

uint64_t rle_area(const rle & r) {
    uint64_t a = 0;
    for (size_t i = 1; i < r.counts.size(); i += 2) {
        a += r.counts[i];
    }
    return a;
}

void rle_bbox(const rle & r, double bb[4]) {
    // pycocotools rleToBbox
    size_t m = r.counts.size() & ~(size_t) 1;  // even number of runs
    if (m == 0) {
        bb[0] = bb[1] = bb[2] = bb[3] = 0;
        return;
    }
    const uint32_t h  = (uint32_t) r.h;
    uint32_t       xs = (uint32_t) r.w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
    for (size_t j = 0; j < m; ++j) {
        cc += r.counts[j];
        const uint32_t t = cc - (j % 2);
        const uint32_t y = t % h, x = (t - y) / h;
        if (j % 2 == 0) {
            xp = x;
        } else if (xp < x) {
            ys = 0;
            ye = h - 1;
        }
        xs = std::min(xs, x);
        xe = std::max(xe, x);
        ys = std::min(ys, y);
        ye = std::max(ye, y);
    }
    bb[0] = xs;
    bb[2] = xe - xs + 1;
    bb[1] = ys;
    bb[3] = ye - ys + 1;
}

rle rle_from_counts(const std::vector<uint32_t> & counts, int h, int w) {
    uint64_t sum = 0;
    for (uint32_t c : counts) {
        sum += c;
    }
    if (h < 0 || w < 0 || sum != (uint64_t) h * (uint64_t) w) {
        fail("uncompressed RLE: counts sum to %llu, expected h*w = %d*%d", (unsigned long long) sum, h, w);
    }
    rle r;
    r.h      = h;
    r.w      = w;
    r.counts = counts;
    return r;
}

// C's (int) cast of a double as x86 performs it (cvttsd2si): NaN and out-of-range values become INT_MIN.
// maskApi.c divides 0/0 for a polygon edge of length zero; this keeps that case defined here.
static int c_int(double v) {
    if (!(v > -2147483649.0 && v < 2147483648.0)) {
        return INT32_MIN;
    }
    return (int) v;
}

// pycocotools rleFrPoly (5x upsampling, rounding by +.5 and truncation).
rle rle_from_polygon(const std::vector<double> & xy, int h, int w) {
    const double scale = 5;
    const size_t k     = xy.size() / 2;
    rle          r;
    r.h = h;
    r.w = w;
    if (k == 0) {  // maskApi.c yields the empty mask
        r.counts.push_back((uint32_t) ((uint64_t) h * w));
        return r;
    }
    std::vector<int> x(k + 1), y(k + 1);
    for (size_t j = 0; j < k; ++j) {
        x[j] = c_int(scale * xy[j * 2 + 0] + .5);
        y[j] = c_int(scale * xy[j * 2 + 1] + .5);
    }
    x[k] = x[0];
    y[k] = y[0];
    // dense points along the whole boundary
    std::vector<int> u, v;
    for (size_t j = 0; j < k; ++j) {
        int        xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
        const int  dx = std::abs(xe - xs), dy = std::abs(ys - ye);
        const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if (flip) {
            std::swap(xs, xe);
            std::swap(ys, ye);
        }
        const double s = dx >= dy ? (double) (ye - ys) / dx : (double) (xe - xs) / dy;
        if (dx >= dy) {
            for (int d = 0; d <= dx; ++d) {
                const int t = flip ? dx - d : d;
                u.push_back(t + xs);
                v.push_back(c_int(ys + s * t + .5));
            }
        } else {
            for (int d = 0; d <= dy; ++d) {
                const int t = flip ? dy - d : d;
                v.push_back(t + ys);
                u.push_back(c_int(xs + s * t + .5));
            }
        }
    }
    // points along the y-boundary, downsampled
    std::vector<uint32_t> a;
    for (size_t j = 1; j < u.size(); ++j) {
        if (u[j] == u[j - 1]) {
            continue;
        }
        double xd = (double) (u[j] < u[j - 1] ? u[j] : u[j] - 1);
        xd        = (xd + .5) / scale - .5;
        if (std::floor(xd) != xd || xd < 0 || xd > (double) ((size_t) w - 1)) {
            continue;
        }
        double yd = (double) (v[j] < v[j - 1] ? v[j] : v[j - 1]);
        yd        = (yd + .5) / scale - .5;
        if (yd < 0) {
            yd = 0;
        } else if (yd > h) {
            yd = h;
        }
        yd = std::ceil(yd);
        a.push_back((uint32_t) ((int) xd * h + (int) yd));
    }
    // run lengths from the sorted boundary positions
    a.push_back((uint32_t) ((size_t) h * (size_t) w));
    std::sort(a.begin(), a.end());
    uint32_t p = 0;
    for (auto & t : a) {
        const uint32_t cur = t;
        t -= p;
        p = cur;
    }
    size_t j = 0;
    r.counts.push_back(a[j++]);
    while (j < a.size()) {
        if (a[j] > 0) {
            r.counts.push_back(a[j++]);
        } else {
            ++j;
            if (j < a.size()) {
                r.counts.back() += a[j++];
            }
        }
    }
    return r;
}

rle rle_from_bbox(const double bb[4], int h, int w) {
    const double xs = bb[0], xe = xs + bb[2];
    const double ys = bb[1], ye = ys + bb[3];
    return rle_from_polygon({ xs, ys, xs, ye, xe, ye, xe, ys }, h, w);
}

rle rle_from_polygons(const std::vector<std::vector<double>> & parts, int h, int w) {
    if (parts.empty()) {
        fail("polygon segmentation: empty list of polygons");
    }
    // pycocotools frPyObjects dispatches on the first part: 4 numbers go to frBbox, which rejects a list
    // (TypeError); fewer than 4 are "input type is not supported". Later parts may have any length.
    const size_t n0 = parts[0].size();
    if (n0 <= 4) {
        fail("polygon segmentation: first polygon has %zu numbers, expected more than 4 (pycocotools rejects it too)",
             n0);
    }
    std::vector<rle> rs;
    for (const auto & p : parts) {
        rs.push_back(rle_from_polygon(p, h, w));
    }
    return rle_merge(rs, false);
}

// pycocotools rleMerge.
rle rle_merge(const std::vector<rle> & rs, bool intersect) {
    if (rs.empty()) {
        return rle();
    }
    if (rs.size() == 1) {
        return rs[0];
    }
    const int h = rs[0].h, w = rs[0].w;
    std::vector<uint32_t> cnts = rs[0].counts;
    for (size_t i = 1; i < rs.size(); ++i) {
        const rle & B = rs[i];
        if (B.h != h || B.w != w) {
            fail("RLE merge: mask %zu is %dx%d, mask 0 is %dx%d", i, B.h, B.w, h, w);
        }
        const std::vector<uint32_t> A = cnts;
        if (A.empty() || B.counts.empty()) {
            fail("RLE merge: a mask has no runs");
        }
        cnts.clear();
        uint32_t ca = A[0], cb = B.counts[0], cc = 0, ct = 1;
        bool     v = false, va = false, vb = false;
        size_t   a = 1, b = 1;
        while (ct > 0) {
            const uint32_t c = std::min(ca, cb);
            cc += c;
            ct = 0;
            ca -= c;
            if (!ca && a < A.size()) {
                ca = A[a++];
                va = !va;
            }
            ct += ca;
            cb -= c;
            if (!cb && b < B.counts.size()) {
                cb = B.counts[b++];
                vb = !vb;
            }
            ct += cb;
            const bool vp = v;
            v             = intersect ? (va && vb) : (va || vb);
            if (v != vp || ct == 0) {
                cnts.push_back(cc);
                cc = 0;
            }
        }
    }
    rle r;
    r.h      = h;
    r.w      = w;
    r.counts = std::move(cnts);
    return r;
}

// pycocotools bbIou for one pair.
double bbox_iou(const double D[4], const double G[4], bool crowd) {
    const double ga = G[2] * G[3], da = D[2] * D[3];
    const double w  = std::fmin(D[2] + D[0], G[2] + G[0]) - std::fmax(D[0], G[0]);
    if (w <= 0) {
        return 0;
    }
    const double h = std::fmin(D[3] + D[1], G[3] + G[1]) - std::fmax(D[1], G[1]);
    if (h <= 0) {
        return 0;
    }
    const double i = w * h, u = crowd ? da : da + ga - i;
    return i / u;
}

// pycocotools rleIou for one pair (the box prefilter decides whether the masks are compared at all).
static double rle_iou_boxed(const rle & dt, const rle & gt, const double db[4], const double gb[4], bool crowd) {
    const double o = bbox_iou(db, gb, crowd);
    if (!(o > 0)) {
        return o;
    }
    if (dt.h != gt.h || dt.w != gt.w) {
        return -1;
    }
    uint32_t ca = dt.counts[0], cb = gt.counts[0], i = 0, u = 0, ct = 1;
    bool     va = false, vb = false;
    size_t   a = 1, b = 1;
    while (ct > 0) {
        const uint32_t c = std::min(ca, cb);
        if (va || vb) {
            u += c;
            if (va && vb) {
                i += c;
            }
        }
        ct = 0;
        ca -= c;
        if (!ca && a < dt.counts.size()) {
            ca = dt.counts[a++];
            va = !va;
        }
        ct += ca;
        cb -= c;
        if (!cb && b < gt.counts.size()) {
            cb = gt.counts[b++];
            vb = !vb;
        }
        ct += cb;
    }
    if (i == 0) {
        u = 1;
    } else if (crowd) {
        u = (uint32_t) rle_area(dt);
    }
    return (double) i / (double) u;
}

double rle_iou(const rle & dt, const rle & gt, bool gt_crowd) {
    double db[4], gb[4];
    rle_bbox(dt, db);
    rle_bbox(gt, gb);
    return rle_iou_boxed(dt, gt, db, gb, gt_crowd);
}

std::vector<double> rle_iou_matrix(const std::vector<rle> & dts, const std::vector<rle> & gts,
                                   const std::vector<uint8_t> & gt_crowd) {
    if (!gt_crowd.empty() && gt_crowd.size() != gts.size()) {
        fail("IoU: %zu crowd flags for %zu ground-truth masks", gt_crowd.size(), gts.size());
    }
    std::vector<double> db(dts.size() * 4), gb(gts.size() * 4), o(dts.size() * gts.size());
    for (size_t d = 0; d < dts.size(); ++d) {
        rle_bbox(dts[d], &db[d * 4]);
    }
    for (size_t g = 0; g < gts.size(); ++g) {
        rle_bbox(gts[g], &gb[g * 4]);
    }
    for (size_t d = 0; d < dts.size(); ++d) {
        for (size_t g = 0; g < gts.size(); ++g) {
            const bool crowd       = !gt_crowd.empty() && gt_crowd[g];
            o[d * gts.size() + g] = rle_iou_boxed(dts[d], gts[g], &db[d * 4], &gb[g * 4], crowd);
        }
    }
    return o;
}

bool rle_contains(const rle & r, int x, int y) {
    if (x < 0 || y < 0 || x >= r.w || y >= r.h) {
        return false;
    }
    const uint64_t idx = (uint64_t) x * r.h + y;
    uint64_t       pos = 0;
    for (size_t i = 0; i < r.counts.size(); ++i) {
        pos += r.counts[i];
        if (idx < pos) {
            return i % 2 == 1;
        }
    }
    return false;
}

}  // namespace glm
