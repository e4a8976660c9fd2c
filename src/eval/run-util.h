// eval/run-util.h: what the evaluation runners share — shards, atomic per-image results, the run manifest.
//
// A run folder holds:
//   eval.json            the manifest: kind ("coco" | "gcg"), method, ground-truth files and every setting that
//                        changes results; written by the first shard, checked by every later one (a resumed or
//                        parallel shard with other settings is an error, never a silent mix)
//   attend/<id>/         stage 1 per image (attend.json + attention.safetensors, docs/formats.md)
//   images/<id>.json     stage 2 per image, with "complete": true; written to a temporary file and renamed, so a
//                        killed run leaves either the whole file or none, and a rerun skips exactly the images done
// Shards are contiguous chunks of the ground truth's image list, as LLaVA's get_chunk (chunk size
// ceil(n / num_chunks); the last chunks may be shorter or empty), so any scheduler can run chunk i of N.
//
// Thread safety: pure functions, apart from the file system.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct eval_shard {
    int num_chunks = 1;  // >= 1
    int chunk_idx  = 0;  // 0 <= chunk_idx < num_chunks
};

// [begin, end) of chunk `s` over n items (LLaVA's split_list/get_chunk); throws on bad settings.
void eval_chunk_range(int64_t n, const eval_shard & s, int64_t * begin, int64_t * end);

// Writes `text` to path via path.tmp-<pid> and rename(): readers see the old file, or the new one whole.
void write_file_atomic(const std::string & path, const std::string & text);

// A per-image result file that exists, parses, and says "complete": true. `why` (optional) gets the reason when not.
bool eval_result_complete(const std::string & path, std::string * why = nullptr);
// Reads a per-image result; throws glm::error naming the file when it is malformed or incomplete.
nlohmann::json eval_read_result(const std::string & path);

// The ids (file stems) of the per-image result files <dir>/*.json, sorted; temporary files are ignored; an absent
// folder has none.
std::vector<std::string> list_result_files(const std::string & dir);

// The result file <dir>/images/<id>.json of the first run folder that has one; "" when none has.
std::string eval_find_result(const std::vector<std::string> & run_dirs, const std::string & id);
// A merge's coverage: fails when images have no result and !allow_partial (finish the shards, or --partial), or when
// no image has one; returns whether the merge is partial.
bool eval_check_coverage(int64_t n_missing_results, int64_t n_images_gt, int64_t n_evaluated,
                         const std::vector<std::string> & run_dirs, bool allow_partial);

// A file-name-safe form of an image id ("139", "sa_10010541"); throws for ids that cannot name a file.
std::string eval_id_filename(const std::string & id);

// The manifest: written when absent; otherwise its "settings" must equal `settings` (a clear error naming the
// first differing field otherwise). Returns the manifest as stored.
nlohmann::json eval_manifest_check_or_write(const std::string & run_dir, const nlohmann::json & manifest);
nlohmann::json eval_manifest_read(const std::string & run_dir);
// The manifest of the first of `run_dirs` (the shards of one run, to be merged), after checking that it is a run of
// `kind` ("coco", "gcg") and that every other shard has the same kind and settings (a clear error otherwise).
nlohmann::json eval_manifest_of_shards(const std::vector<std::string> & run_dirs, const char * kind);

// The file name of a path (what follows the last '/'), recorded in manifests' settings.
std::string eval_base_name(const std::string & path);

// The absolute form of a path (recorded in manifests, so that a merge from another folder finds the files).
std::string abs_path(const std::string & path);

// The first path (dotted) where two JSON values differ, "" when equal.
std::string json_first_difference(const nlohmann::json & a, const nlohmann::json & b, const std::string & prefix = "");

// Seeded, sharding-independent randomness: a 64-bit mix of (seed, key) (splitmix64).
uint64_t eval_mix64(uint64_t seed, uint64_t key);
// A uniform integer in [0, n) from a state advanced by splitmix64.
int64_t  eval_uniform(uint64_t * state, int64_t n);
// A stable 64-bit hash of a string (FNV-1a), for string image ids.
uint64_t eval_hash(const std::string & s);

}  // namespace glm
