// A stand-in for libFuzzer's main() where the compiler has no libFuzzer (GCC): replays the corpus files given
// on the command line (files or folders), then runs random mutations of them (flip, insert, erase, duplicate,
// splice) for -runs=N inputs or -max_total_time=S seconds, whichever ends first, from -seed=K. No coverage
// feedback: a smoke run for CI under the sanitizers; the long runs use libFuzzer (scripts/fuzz.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>
#include <chrono>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

static std::vector<uint8_t> read_all(const std::filesystem::path & p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

int main(int argc, char ** argv) {
    long     runs = 10000;
    double   max_s = 10.0;
    uint64_t seed = 1;
    std::vector<std::vector<uint8_t>> corpus;
    for (int i = 1; i < argc; ++i) {
        const char * a = argv[i];
        if (strncmp(a, "-runs=", 6) == 0) {
            runs = atol(a + 6);
        } else if (strncmp(a, "-max_total_time=", 16) == 0) {
            max_s = atof(a + 16);
        } else if (strncmp(a, "-seed=", 6) == 0) {
            seed = strtoull(a + 6, nullptr, 10);
        } else if (a[0] == '-') {
            fprintf(stderr, "fuzz-driver: ignoring option %s\n", a);
        } else if (std::filesystem::is_directory(a)) {
            for (const auto & e : std::filesystem::directory_iterator(a)) {
                if (e.is_regular_file()) {
                    corpus.push_back(read_all(e.path()));
                }
            }
        } else {
            corpus.push_back(read_all(a));
        }
    }
    if (corpus.empty()) {
        corpus.push_back({});
    }
    for (const auto & c : corpus) {
        LLVMFuzzerTestOneInput(c.data(), c.size());
    }
    std::mt19937_64 rng(seed);
    const auto      t0 = std::chrono::steady_clock::now();
    long            n  = 0;
    for (; n < runs; ++n) {
        if ((n & 63) == 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > max_s) {
            break;
        }
        std::vector<uint8_t> x = corpus[rng() % corpus.size()];
        const int            k = 1 + (int) (rng() % 8);
        for (int m = 0; m < k; ++m) {
            const size_t pos = x.empty() ? 0 : rng() % (x.size() + 1);
            switch (rng() % 6) {
                case 0: if (!x.empty() && pos < x.size()) { x[pos] ^= (uint8_t) (1u << (rng() % 8)); } break;
                case 1: if (!x.empty() && pos < x.size()) { x[pos] = (uint8_t) rng(); } break;
                case 2: x.insert(x.begin() + pos, (uint8_t) rng()); break;
                case 3: if (pos < x.size()) { x.erase(x.begin() + pos, x.begin() + std::min(x.size(), pos + 1 + rng() % 16)); } break;
                case 4: if (pos < x.size()) {  // duplicate a run of bytes
                            const size_t len = std::min<size_t>(x.size() - pos, 1 + rng() % 64);
                            std::vector<uint8_t> run(x.begin() + pos, x.begin() + pos + len);
                            x.insert(x.begin() + pos, run.begin(), run.end());
                        } break;
                case 5: {  // splice in part of another corpus entry
                    const auto & o = corpus[rng() % corpus.size()];
                    if (!o.empty()) {
                        const size_t b = rng() % o.size(), len = std::min<size_t>(o.size() - b, 1 + rng() % 256);
                        x.insert(x.begin() + pos, o.begin() + b, o.begin() + b + len);
                    }
                } break;
            }
        }
        LLVMFuzzerTestOneInput(x.data(), x.size());
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("fuzz-driver: %zu corpus inputs, %ld mutated inputs in %.1f s (seed %llu), no failure\n", corpus.size(), n, s,
           (unsigned long long) seed);
    return 0;
}
