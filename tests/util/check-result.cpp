// check-result: checks the output folder of `groundlmm ground` / `groundlmm demo` for CTest.
//
//   check-result --expect EXPECTED.json DIR   DIR/result.json must match EXPECTED.json (a file committed in tests/):
//                                             every field but timings and file paths, strings, integers and
//                                             masks exactly, other numbers within 1e-5 (see k_float_tol); and
//                                             the content checks of --consistent
//   check-result --write EXPECTED.json DIR    writes EXPECTED.json from DIR/result.json (after a deliberate change)
//   check-result --consistent DIR             content checks that need no expected file: result.json and
//                                             attend.json parse, agree with each other and with the image, every
//                                             phrase's text, span, tokens, point, mask and scores are coherent
//
// Prints one line per problem and exits 1 if there is any (or the folder's files are missing / not JSON).
#include "common.h"
#include "rle.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

using json = nlohmann::json;

// Numbers that are not integers (peaks, scores) come from float arithmetic: the same binary gives the same bits,
// another CPU's SIMD path may move them in the last digits. Integers, strings and masks compare exactly.
static const double k_float_tol = 1e-5;

static int n_problems = 0;

static void problem(const std::string & where, const std::string & what) {
    printf("FAIL %s: %s\n", where.c_str(), what.c_str());
    ++n_problems;
}

static json load(const std::string & path) {
    const std::vector<uint8_t> b = glm::read_file(path);
    try {
        return json::parse(b.begin(), b.end());
    } catch (const json::exception & e) {
        glm::fail("%s: not valid JSON (%s)", path.c_str(), e.what());
    }
}

// result.json without what changes from run to run or machine to machine: timings and file paths
static json deterministic_view(json r) {
    r.erase("timings");
    r.erase("models");
    if (r.contains("image")) {
        r["image"].erase("path");
    }
    return r;
}

static void compare(const std::string & where, const json & got, const json & want) {
    if (want.is_number_float() || (want.is_number() && got.is_number_float())) {
        const double g = got.is_number() ? got.get<double>() : std::nan("");
        const double w = want.get<double>();
        if (!std::isfinite(g) || !(std::fabs(g - w) <= k_float_tol)) {
            problem(where, glm::strfmt("%.9g, expected %.9g (tol %.0e)", g, w, k_float_tol));
        }
        return;
    }
    if (got.type() != want.type()) {
        problem(where, "got " + got.dump() + ", expected " + want.dump());
        return;
    }
    if (want.is_object()) {
        for (const auto & kv : want.items()) {
            if (!got.contains(kv.key())) {
                problem(where + "." + kv.key(), "missing");
            } else {
                compare(where + "." + kv.key(), got[kv.key()], kv.value());
            }
        }
        for (const auto & kv : got.items()) {
            if (!want.contains(kv.key())) {
                problem(where + "." + kv.key(), "not in the expected file: " + kv.value().dump());
            }
        }
    } else if (want.is_array()) {
        if (got.size() != want.size()) {
            problem(where, glm::strfmt("%zu elements, expected %zu: got %s", got.size(), want.size(),
                                       got.dump().substr(0, 200).c_str()));
            return;
        }
        for (size_t i = 0; i < want.size(); ++i) {
            compare(where + "[" + std::to_string(i) + "]", got[i], want[i]);
        }
    } else if (got != want) {
        problem(where, "got " + got.dump().substr(0, 200) + ", expected " + want.dump().substr(0, 200));
    }
}

static void require(bool ok, const std::string & where, const std::string & what) {
    if (!ok) {
        problem(where, what);
    }
}

// Content checks of one output folder that hold for any model and image.
static void check_consistent(const std::string & dir) {
    const json r = load(dir + "/result.json");
    const json a = load(dir + "/attend.json");
    require(r.at("format") == "groundlmm.ground/1", "result.json format", r.at("format").dump());
    require(a.at("format") == "groundlmm.attend/1", "attend.json format", a.at("format").dump());
    const std::string answer = r.at("answer");
    require(!answer.empty(), "answer", "empty");
    require(a.at("answer") == answer, "answer", "result.json and attend.json differ");
    const int w = r.at("image").at("width"), h = r.at("image").at("height");
    require(w > 0 && h > 0, "image", glm::strfmt("%dx%d", w, h));
    require(a.at("image").at("width") == w && a.at("image").at("height") == h, "image size",
            "result.json and attend.json differ");
    // the answer is the concatenation of the generated tokens' spans
    const json & toks = a.at("tokens");
    require(!toks.empty(), "tokens", "none");
    int prev_end = 0;
    for (size_t i = 0; i < toks.size(); ++i) {
        const int b = toks[i].at("span")[0], e = toks[i].at("span")[1];
        require(b == prev_end && b <= e && e <= (int) answer.size(), glm::strfmt("tokens[%zu].span", i),
                glm::strfmt("[%d, %d) after %d, answer of %zu bytes", b, e, prev_end, answer.size()));
        prev_end = e;
    }
    require(prev_end == (int) answer.size(), "tokens", "their spans do not cover the answer");
    const json & ph = r.at("phrases");
    int n_ok = 0;
    for (size_t i = 0; i < ph.size(); ++i) {
        const json &      p     = ph[i];
        const std::string where = glm::strfmt("phrases[%zu] '%s'", i, p.at("text").get<std::string>().c_str());
        const int         sb = p.at("span")[0], se = p.at("span")[1], hb = p.at("head_span")[0], he = p.at("head_span")[1];
        require(0 <= sb && sb < se && se <= (int) answer.size() && answer.substr(sb, se - sb) == p.at("text"), where,
                "text is not answer[span]");
        require(sb <= hb && hb < he && he <= se && answer.substr(hb, he - hb) == p.at("head"), where,
                "head is not answer[head_span] inside the span");
        for (const json & t : p.at("tokens")) {
            const int k = t;
            require(k >= 0 && k < (int) toks.size(), where, "token index " + std::to_string(k));
            if (k >= 0 && k < (int) toks.size()) {  // a token of the phrase overlaps its head
                require((int) toks[k].at("span")[0] < he && (int) toks[k].at("span")[1] > hb, where,
                        "token " + std::to_string(k) + " outside the head");
            }
        }
        const std::string status = p.at("status");
        if (status == "ok" || status == "low-score") {
            ++n_ok;
            require(!p.at("tokens").empty(), where, "a point without tokens");
            const json & pt = p.at("point");
            require(pt.is_array() && pt[0] >= 0 && pt[0] < w && pt[1] >= 0 && pt[1] < h, where,
                    "point " + pt.dump() + glm::strfmt(" outside the %dx%d image", w, h));
            require(std::isfinite(p.at("peak").get<double>()) && p.at("peak").get<double>() > 0, where,
                    "peak " + p.at("peak").dump());
        } else {
            require(p.at("point").is_null() && p.at("mask").is_null(), where, "status " + status + " with a point or mask");
        }
        if (!p.at("mask").is_null()) {
            require(status == "ok", where, "a mask with status " + status);
            const json & m = p.at("mask");
            require(m.at("size")[0] == h && m.at("size")[1] == w, where, "mask size " + m.at("size").dump());
            const glm::rle r = glm::rle_from_string(m.at("counts").get<std::string>(), h, w);
            const uint64_t area = glm::rle_area(r);
            require(area > 0 && area < (uint64_t) w * h, where, glm::strfmt("mask area %llu", (unsigned long long) area));
            const std::vector<uint8_t> bits = glm::rle_decode(r);
            require(bits.size() == (size_t) w * h, where, "mask does not decode to the image size");
            const json &    sc  = p.at("all_scores");
            const int       idx = p.at("mask_index");
            const double    s   = p.at("score");
            require(std::isfinite(s) && idx >= 0 && idx < (int) sc.size() && sc[idx].get<double>() == s, where,
                    "score is not all_scores[mask_index]");
        }
    }
    require(n_ok > 0 || ph.empty(), "phrases", "none grounded");
}

int main(int argc, char ** argv) {
    try {
        if (argc == 4 && (!strcmp(argv[1], "--expect") || !strcmp(argv[1], "--write"))) {
            const json got = deterministic_view(load(std::string(argv[3]) + "/result.json"));
            if (!strcmp(argv[1], "--write")) {
                glm::write_file(argv[2], got.dump(1) + "\n");
                printf("wrote %s\n", argv[2]);
                return 0;
            }
            compare("result", got, load(argv[2]));
            check_consistent(argv[3]);
            if (got.at("phrases").empty()) {
                problem("result.phrases", "empty: the check would prove little");
            }
        } else if (argc == 3 && !strcmp(argv[1], "--consistent")) {
            check_consistent(argv[2]);
        } else {
            fprintf(stderr, "usage: %s --expect|--write EXPECTED.json DIR | --consistent DIR\n", argv[0]);
            return 2;
        }
    } catch (const std::exception & e) {
        problem("run", e.what());
    }
    printf("check-result: %s (%d problem%s)\n", n_problems ? "FAIL" : "ok", n_problems, n_problems == 1 ? "" : "s");
    return n_problems ? 1 : 0;
}
