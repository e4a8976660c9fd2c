// golden-mutate: the mutation check of a golden test. It perturbs one stored tensor (or one JSON value) at a time in
// a temporary copy of a golden folder and runs the golden test program on the copy, which must fail. Every
// perturbation the test lets through is listed, and the exit status is 1 if there is any.
//
//   golden-mutate SPEC.json NAME FOLDER -- TEST-PROGRAM [ARGS...]
//
// SPEC.json (tests/data/golden-mutations.json) has one entry per kind of golden folder, NAME picks it. An entry
// names the files to perturb: safetensors files (every tensor, each with the first rule whose pattern matches its
// name: "name" exactly or "*suffix") and JSON files (values at JSON pointers). A rule perturbs one element:
//   "abs": x    adds x (integers: at least 1)          "rel": x   adds x * max|tensor|
//   "flip": k   0/1 data: flips k consecutive values    "nan": false   no extra NaN run (default: float tensors and
//                                                                      JSON numbers also get a NaN)
//   "negate": true   every value negated (an input the model is nearly blind to element by element)
//   "delete": true (JSON only) removes the value
// The amounts are about 100x the error the test measures on that tensor (the spec gives it as "measured"), so each
// perturbation is far outside the tolerance. A tensor that no rule matches is an error: new golden data must get a
// rule. In ARGS, "{}" stands for the perturbed copy; the copy holds links to the folder's other files.
// With GLM_GOLDEN_FAIL_FAST=1 (set here) the golden programs stop at their first failed check.
#include "common.h"

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using json   = nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct mutation {
    std::string file, target, what;  // file in the folder, tensor name or JSON pointer, description
    std::vector<uint8_t> bytes;      // the whole perturbed file
};

std::string shell_quote(const std::string & s) {
    std::string q = "'";
    for (char c : s) {
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return q + "'";
}

const json * find_rule(const json & rules, const std::string & name) {
    for (const json & r : rules) {
        const std::string m = r.at("match");
        if (m == name || (!m.empty() && m[0] == '*' && name.size() >= m.size() - 1 &&
                          name.compare(name.size() - (m.size() - 1), m.size() - 1, m, 1) == 0)) {
            return &r;
        }
    }
    return nullptr;
}

// The element of a tensor that is perturbed: in the middle of the data, a point every compared region covers.
size_t pick(size_t n) { return n / 2; }

void safetensors_mutations(const std::string & folder, const std::string & file, const json & rules,
                           std::vector<mutation> & out) {
    const std::string          path  = folder + "/" + file;
    const std::vector<uint8_t> bytes = glm::read_file(path);
    uint64_t                   hlen  = 0;
    if (bytes.size() < 8) {
        glm::fail("%s: too short for a safetensors file", path.c_str());
    }
    memcpy(&hlen, bytes.data(), 8);
    const json   header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + (long) hlen);
    const size_t base   = 8 + hlen;
    for (const auto & kv : header.items()) {
        if (kv.key() == "__metadata__") {
            continue;
        }
        const std::string name  = kv.key();
        const std::string dtype = kv.value().at("dtype");
        const size_t      b     = base + kv.value().at("data_offsets")[0].get<size_t>();
        const size_t      e     = base + kv.value().at("data_offsets")[1].get<size_t>();
        const json *      rule  = find_rule(rules, name);
        if (!rule) {
            glm::fail("%s: no mutation rule matches tensor '%s' (add one to the spec)", path.c_str(), name.c_str());
        }
        auto add = [&](const std::string & what, const std::function<void(uint8_t *, size_t)> & edit,
                       size_t elem_size) {
            mutation m{ file, name, what, bytes };
            edit(m.bytes.data() + b, (e - b) / elem_size);
            out.push_back(std::move(m));
        };
        if (dtype == "F32") {
            const size_t n  = (e - b) / 4;
            float        mx = 0;
            for (size_t i = 0; i < n; ++i) {
                float v;
                memcpy(&v, bytes.data() + b + 4 * i, 4);
                mx = std::max(mx, std::fabs(v));
            }
            auto set = [](uint8_t * d, size_t i, float v) { memcpy(d + 4 * i, &v, 4); };
            auto get = [](const uint8_t * d, size_t i) {
                float v;
                memcpy(&v, d + 4 * i, 4);
                return v;
            };
            if (rule->value("negate", false)) {
                add("every value negated", [&](uint8_t * d, size_t n) {
                    for (size_t i = 0; i < n; ++i) {
                        set(d, i, -get(d, i));
                    }
                }, 4);
            } else {
                const double delta =
                    rule->contains("abs") ? rule->at("abs").get<double>() : rule->at("rel").get<double>() * mx;
                add(glm::strfmt("+%.3g at [%zu]", delta, pick(n)),
                    [&](uint8_t * d, size_t n) { set(d, pick(n), (float) (get(d, pick(n)) + delta)); }, 4);
            }
            if (rule->value("nan", true)) {
                add(glm::strfmt("NaN at [%zu]", pick(n)),
                    [&](uint8_t * d, size_t n) { set(d, pick(n), std::numeric_limits<float>::quiet_NaN()); }, 4);
            }
        } else if (dtype == "I32" || dtype == "I64") {
            const size_t  es    = dtype == "I32" ? 4 : 8;
            const int64_t delta = std::max<int64_t>(1, (int64_t) std::llround(rule->value("abs", 1.0)));
            add(glm::strfmt("+%lld at [%zu]", (long long) delta, pick((e - b) / es)),
                [&](uint8_t * d, size_t n) {
                    if (es == 4) {
                        int32_t v;
                        memcpy(&v, d + 4 * pick(n), 4);
                        v += (int32_t) delta;
                        memcpy(d + 4 * pick(n), &v, 4);
                    } else {
                        int64_t v;
                        memcpy(&v, d + 8 * pick(n), 8);
                        v += delta;
                        memcpy(d + 8 * pick(n), &v, 8);
                    }
                },
                es);
        } else if (dtype == "U8" || dtype == "BOOL") {
            const size_t k = rule->value("flip", 1);
            add(glm::strfmt("%zu values flipped from [%zu]", k, pick(e - b)),
                [&](uint8_t * d, size_t n) {
                    for (size_t i = pick(n); i < std::min(n, pick(n) + k); ++i) {
                        d[i] = d[i] ? 0 : 1;
                    }
                },
                1);
        } else {
            glm::fail("%s: tensor '%s' has dtype %s, which golden-mutate cannot perturb", path.c_str(), name.c_str(),
                      dtype.c_str());
        }
    }
}

void json_mutations(const std::string & folder, const std::string & file, const json & rules,
                    std::vector<mutation> & out) {
    const std::string          path  = folder + "/" + file;
    const std::vector<uint8_t> bytes = glm::read_file(path);
    const json                 doc   = json::parse(bytes.begin(), bytes.end());
    for (const json & r : rules) {
        const json::json_pointer ptr(r.at("pointer").get<std::string>());
        if (!doc.contains(ptr)) {
            glm::fail("%s: no value at %s", path.c_str(), ptr.to_string().c_str());
        }
        auto add = [&](const std::string & what, const std::function<void(json &)> & edit) {
            json d = doc;
            edit(d);
            const std::string s = d.dump(1);
            out.push_back({ file, ptr.to_string(), what, std::vector<uint8_t>(s.begin(), s.end()) });
        };
        if (r.value("delete", false)) {
            add("deleted", [&](json & d) { d.at(ptr.parent_pointer()).erase(ptr.back()); });
        }
        if (r.contains("abs")) {
            const double delta = r.at("abs");
            add(glm::strfmt("+%.3g", delta), [&](json & d) { d.at(ptr) = d.at(ptr).get<double>() + delta; });
            if (r.value("nan", true)) {
                // JSON has no NaN: a string in its place makes the reader fail, as a corrupt file should
                add("NaN (as a string)", [&](json & d) { d.at(ptr) = "NaN"; });
            }
        }
    }
}

}  // namespace

int main(int argc, char ** argv) {
    int sep = 1;
    while (sep < argc && strcmp(argv[sep], "--") != 0) {
        ++sep;
    }
    if (sep != 4 || sep + 1 >= argc) {  // NOLINT: exactly three arguments before "--"
        fprintf(stderr, "usage: %s SPEC.json NAME FOLDER -- TEST-PROGRAM [ARGS with {} for the folder]\n", argv[0]);
        return 2;
    }
    const std::string spec_path = argv[1], name = argv[2], folder = argv[3];
    std::vector<std::string> cmd(argv + sep + 1, argv + argc);
    const fs::path           tmp = fs::temp_directory_path() / ("glm-mutate-" + name + "-" + std::to_string(getpid()));
    int                      n_caught = 0, n_through = 0;
    std::vector<std::string> through;
    try {
        const std::vector<uint8_t> sb   = glm::read_file(spec_path);
        const json                 spec = json::parse(sb.begin(), sb.end());
        if (!spec.contains(name)) {
            glm::fail("%s: no entry '%s'", spec_path.c_str(), name.c_str());
        }
        const json &          entry = spec.at(name);
        std::vector<mutation> muts;
        for (const auto & kv : entry.at("files").items()) {
            if (kv.key().size() > 12 && kv.key().compare(kv.key().size() - 12, 12, ".safetensors") == 0) {
                safetensors_mutations(folder, kv.key(), kv.value(), muts);
            } else {
                json_mutations(folder, kv.key(), kv.value(), muts);
            }
        }
        setenv("GLM_GOLDEN_FAIL_FAST", "1", 1);
        printf("golden-mutate %s: %zu perturbations of %s\n", name.c_str(), muts.size(), folder.c_str());
        fflush(stdout);
        // first the control: the unperturbed copy (same links, same file rewritten) must pass, or every
        // perturbation below would be "caught" for another reason
        const std::string first_file = muts.empty() ? std::string() : muts[0].file;
        muts.insert(muts.begin(), mutation{ first_file, "(none)", "control, unperturbed",
                                            glm::read_file(folder + "/" + first_file) });
        for (const mutation & m : muts) {
            const bool control = &m == &muts[0];
            fs::remove_all(tmp);
            fs::create_directories(tmp);
            for (const auto & f : fs::directory_iterator(folder)) {
                if (f.path().filename() != m.file) {
                    fs::create_symlink(fs::absolute(f.path()), tmp / f.path().filename());
                }
            }
            glm::write_file((tmp / m.file).string(), m.bytes.data(), m.bytes.size());
            std::string line;
            for (const std::string & a : cmd) {
                line += (line.empty() ? "" : " ") + shell_quote(a == "{}" ? tmp.string() : a);
            }
            line += " > " + shell_quote((tmp / "log.txt").string()) + " 2>&1";
            const auto t0 = std::chrono::steady_clock::now();
            const int  st = std::system(line.c_str());
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const bool   failed = !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            const std::string what = m.file + " " + m.target + ": " + m.what;
            if (control) {
                printf("%-8s %s (%.1f s)\n", failed ? "FAIL" : "ok", what.c_str(), s);
                if (failed) {
                    glm::fail("the golden test fails on the unperturbed copy of %s; its output:\n%s", folder.c_str(),
                              [&] {
                                  const std::vector<uint8_t> log = glm::read_file((tmp / "log.txt").string());
                                  return std::string(log.begin(), log.end());
                              }()
                                  .c_str());
                }
                continue;
            }
            printf("%-8s %s (%.1f s%s)\n", failed ? "caught" : "THROUGH", what.c_str(), s,
                   WIFEXITED(st) ? glm::strfmt(", exit %d", WEXITSTATUS(st)).c_str() : ", killed by a signal");
            fflush(stdout);
            if (failed) {
                ++n_caught;
            } else {
                ++n_through;
                through.push_back(what);
            }
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "golden-mutate: %s\n", e.what());
        std::error_code ec;
        fs::remove_all(tmp, ec);
        return 1;
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);
    printf("golden-mutate %s: %d caught, %d let through\n", name.c_str(), n_caught, n_through);
    for (const std::string & t : through) {
        printf("  let through: %s\n", t.c_str());
    }
    return n_through == 0 && n_caught > 0 ? 0 : 1;
}
