// toy/rng.h: a small deterministic random generator (splitmix64 seeding + xoshiro256**) for the toy world and
// the toy model's initialisation. Unlike std:: distributions its output is the same with every standard
// library, so scenes and initial weights are identical on every machine. One rng per thread.
#pragma once

#include <cmath>
#include <cstdint>

namespace glm::toy {

inline uint64_t splitmix64(uint64_t & x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z          = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct rng {
    uint64_t s[4];
    explicit rng(uint64_t seed) {
        for (auto & v : s) {
            v = splitmix64(seed);
        }
    }
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t next() {
        const uint64_t r = rotl(s[1] * 5, 7) * 9;
        const uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return r;
    }
    float uniform() { return (float) (next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1), 24 bits
    float uniform(float a, float b) { return a + (b - a) * uniform(); }
    int   below(int n) { return (int) ((next() >> 33) % (uint64_t) n); }  // [0, n)
    bool  chance(float p) { return uniform() < p; }
    // standard normal (Box-Muller in double precision, one value per call)
    float normal() {
        const double u1 = ((double) (next() >> 11) + 1.0) * (1.0 / 9007199254740993.0);  // (0, 1]
        const double u2 = (double) (next() >> 11) * (1.0 / 9007199254740992.0);
        return (float) (std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
};

}  // namespace glm::toy
