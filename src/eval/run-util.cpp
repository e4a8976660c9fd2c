// eval/run-util.cpp: shards, atomic per-image results and the run manifest (see run-util.h).
#include "eval/run-util.h"

#include "common.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace glm {

using json = nlohmann::json;

void eval_chunk_range(int64_t n, const eval_shard & s, int64_t * begin, int64_t * end) {
    if (s.num_chunks < 1) {
        fail("--num-chunks must be >= 1, got %d", s.num_chunks);
    }
    if (s.chunk_idx < 0 || s.chunk_idx >= s.num_chunks) {
        fail("--chunk-idx must be in [0, %d), got %d", s.num_chunks, s.chunk_idx);
    }
    const int64_t cs = (n + s.num_chunks - 1) / s.num_chunks;  // math.ceil(len / n)
    *begin           = std::min<int64_t>(n, cs * s.chunk_idx);
    *end             = std::min<int64_t>(n, *begin + cs);
}

void write_file_atomic(const std::string & path, const std::string & text) {
    const std::string tmp = path + ".tmp-" + std::to_string((long long) getpid());
    write_file(tmp, text);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        fail("cannot rename %s to %s", tmp.c_str(), path.c_str());
    }
}

static bool parse_result(const std::string & path, json * out, std::string * why) {
    if (!file_exists(path)) {
        if (why) {
            *why = "missing";
        }
        return false;
    }
    const std::vector<uint8_t> bytes = read_file(path);
    json                       j     = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
        if (why) {
            *why = "malformed JSON";
        }
        return false;
    }
    auto it = j.find("complete");
    if (it == j.end() || !it->is_boolean() || !it->get<bool>()) {
        if (why) {
            *why = "not marked complete";
        }
        return false;
    }
    if (out) {
        *out = std::move(j);
    }
    return true;
}

bool eval_result_complete(const std::string & path, std::string * why) { return parse_result(path, nullptr, why); }

json eval_read_result(const std::string & path) {
    json        j;
    std::string why;
    if (!parse_result(path, &j, &why)) {
        fail("%s: %s per-image result (rerun the shard that owns this image to recompute it)", path.c_str(),
             why.c_str());
    }
    return j;
}

std::vector<std::string> list_result_files(const std::string & dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> out;
    std::error_code          ec;
    if (!fs::is_directory(dir, ec)) {
        return out;
    }
    for (const auto & e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0 && name.find(".tmp-") == std::string::npos) {
            out.push_back(name.substr(0, name.size() - 5));
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string eval_find_result(const std::vector<std::string> & run_dirs, const std::string & id) {
    for (const auto & dir : run_dirs) {
        if (file_exists(dir + "/images/" + id + ".json")) {
            return dir + "/images/" + id + ".json";
        }
    }
    return "";
}

bool eval_check_coverage(int64_t n_missing_results, int64_t n_images_gt, int64_t n_evaluated,
                         const std::vector<std::string> & run_dirs, bool allow_partial) {
    if (n_missing_results > 0 && !allow_partial) {
        fail("%lld of %lld images have no result in %s%s (unfinished shards?); finish them, or merge with "
             "--partial to evaluate only the images done",
             (long long) n_missing_results, (long long) n_images_gt, run_dirs[0].c_str(),
             run_dirs.size() > 1 ? " and the other folders" : "");
    }
    if (n_evaluated == 0) {
        fail("eval-merge: no image has a result yet");
    }
    return n_missing_results > 0;
}

std::string eval_id_filename(const std::string & id) {
    if (id.empty() || id == "." || id == ".." || id.size() > 200) {
        fail("image id '%s' cannot name a result file", id.c_str());
    }
    for (char c : id) {
        if (c == '/' || c == '\\' || c == '\0' || (unsigned char) c < 32) {
            fail("image id '%s' cannot name a result file (it contains '/', '\\' or a control character)", id.c_str());
        }
    }
    return id;
}

std::string eval_base_name(const std::string & path) {
    const size_t s = path.find_last_of('/');
    return s == std::string::npos ? path : path.substr(s + 1);
}

std::string abs_path(const std::string & path) {
    std::error_code ec;
    const auto      a = std::filesystem::absolute(path, ec);
    return ec ? path : a.lexically_normal().string();
}

std::string json_first_difference(const json & a, const json & b, const std::string & prefix) {
    const std::string here = prefix.empty() ? "(root)" : prefix;
    if (a.type() != b.type()) {
        // numbers of different JSON kinds (1 vs 1.0) are the same setting
        if (a.is_number() && b.is_number() && a.get<double>() == b.get<double>()) {
            return "";
        }
        return here;
    }
    if (a.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it) {
            const std::string p = prefix.empty() ? it.key() : prefix + "." + it.key();
            if (!b.contains(it.key())) {
                return p;
            }
            std::string d = json_first_difference(*it, b.at(it.key()), p);
            if (!d.empty()) {
                return d;
            }
        }
        for (auto it = b.begin(); it != b.end(); ++it) {
            if (!a.contains(it.key())) {
                return prefix.empty() ? it.key() : prefix + "." + it.key();
            }
        }
        return "";
    }
    if (a.is_array()) {
        if (a.size() != b.size()) {
            return here;
        }
        for (size_t i = 0; i < a.size(); ++i) {
            std::string d = json_first_difference(a[i], b[i], prefix + "[" + std::to_string(i) + "]");
            if (!d.empty()) {
                return d;
            }
        }
        return "";
    }
    return a == b ? "" : here;
}

json eval_manifest_read(const std::string & run_dir) {
    const std::string path = run_dir + "/eval.json";
    if (!file_exists(path)) {
        fail("%s: no eval.json (not a run folder of eval-coco / eval-gcg)", run_dir.c_str());
    }
    const std::vector<uint8_t> bytes = read_file(path);
    json                       j     = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("kind") || !j.contains("settings")) {
        fail("%s: malformed manifest (expected an object with 'kind' and 'settings')", path.c_str());
    }
    return j;
}

json eval_manifest_of_shards(const std::vector<std::string> & run_dirs, const char * kind) {
    if (run_dirs.empty()) {
        fail("eval-merge: no run folder given");
    }
    const json m = eval_manifest_read(run_dirs[0]);
    if (m["kind"] != kind) {
        fail("%s: a '%s' run, not eval-%s", run_dirs[0].c_str(), m["kind"].dump().c_str(), kind);
    }
    for (size_t i = 1; i < run_dirs.size(); ++i) {
        const json        o = eval_manifest_read(run_dirs[i]);
        const std::string d = json_first_difference(m["settings"], o["settings"], "settings");
        if (o["kind"] != kind || !d.empty()) {
            fail("%s and %s are not shards of one run (first difference: %s)", run_dirs[0].c_str(),
                 run_dirs[i].c_str(), d.empty() ? "kind" : d.c_str());
        }
    }
    return m;
}

json eval_manifest_check_or_write(const std::string & run_dir, const json & manifest) {
    make_dirs(run_dir);
    const std::string path = run_dir + "/eval.json";
    if (!file_exists(path)) {
        write_file_atomic(path, manifest.dump(2) + "\n");
        return manifest;
    }
    const json old = eval_manifest_read(run_dir);
    for (const char * key : { "kind", "settings" }) {
        const std::string d = json_first_difference(old.at(key), manifest.at(key), key);
        if (!d.empty()) {
            fail("%s was made with other settings (first difference: %s); use another output folder, or the same "
                 "settings to resume",
                 path.c_str(), d.c_str());
        }
    }
    return old;
}

uint64_t eval_mix64(uint64_t seed, uint64_t key) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (key + 1);
    z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z          = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int64_t eval_uniform(uint64_t * state, int64_t n) {
    // splitmix64 step, then Lemire-free rejection for an unbiased draw
    const uint64_t un    = (uint64_t) n;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % un;
    for (;;) {
        *state += 0x9e3779b97f4a7c15ull;
        uint64_t z = *state;
        z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z          = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        if (z < limit) {
            return (int64_t) (z % un);
        }
    }
}

uint64_t eval_hash(const std::string & s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

}  // namespace glm
