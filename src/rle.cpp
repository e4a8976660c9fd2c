#include "rle.h"

#include "common.h"

#include <algorithm>

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

}  // namespace glm
