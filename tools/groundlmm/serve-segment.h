// serve-segment.h: POST /segment of `groundlmm serve` — refiner prompts (points, a box) against an image sent now or
// earlier, through a bounded cache of image embeddings keyed by the image's hash, so that editing a point re-runs
// only SAM's mask decoder (milliseconds), not its image encoder.
//
//   serve_embed_cache  LRU by bytes and entries; an entry holds the decoded image and, for SAM, its embedding
//                      ([P][grid][grid] floats). Thread-safe (a mutex): the loop thread uses it, /health reads stats().
//   serve_segmenter    the refiner /segment runs on (its own SAM state or region refiner, apart from the pipeline's,
//                      so that a /segment never changes what /ground's refiner holds). Loop thread only.
#pragma once
#include "refine.h"
#include "serve-request.h"

#include <nlohmann/json.hpp>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace glm {

class pipeline;
class sam_refiner;

// The key of an image: FNV-1a 64 over its width, height and RGB pixels, as 16 hex digits (the same pixels from
// another file format give the same key).
std::string serve_image_hash(const image_u8 & img);

struct serve_embed_entry {
    std::string        hash;
    image_u8           img;
    std::vector<float> emb;          // SAM's image embedding [P][grid][grid]; empty for the region refiner
    size_t             bytes() const { return img.rgb.size() + emb.size() * sizeof(float); }
};

struct serve_embed_stats {
    size_t   entries = 0, bytes = 0, max_bytes = 0, max_entries = 0;
    uint64_t hits = 0, misses = 0, evictions = 0;
};

class serve_embed_cache {
public:
    serve_embed_cache(size_t max_bytes, size_t max_entries);
    // The entry, now the most recently used; null on a miss. Counts a hit or a miss.
    std::shared_ptr<const serve_embed_entry> get(const std::string & hash);
    // Adds (or replaces) an entry and evicts the least recently used ones beyond the limits. An entry larger than
    // max_bytes on its own is not kept (returns false).
    bool put(std::shared_ptr<const serve_embed_entry> e);
    serve_embed_stats stats() const;

private:
    mutable std::mutex                                    m_;
    std::list<std::shared_ptr<const serve_embed_entry>>   lru_;  // front: most recent
    serve_embed_stats                                     st_;
};

class serve_segmenter {
public:
    // The refiner of the pipeline's model (sam or region; none refuses every request with 400).
    serve_segmenter(pipeline & p, size_t cache_bytes, size_t cache_entries);
    ~serve_segmenter();
    // One /segment request (loop thread): {"image_hash", "width", "height", "cached", "mask", "score", "mask_index",
    // "all_scores", ["all_masks"], "timings"}. Throws serve_http_error 400 for an unknown hash, a point or box
    // outside the image, or a server without a refiner.
    nlohmann::json run(const serve_request & r);
    serve_embed_stats cache_stats() const { return cache_.stats(); }

private:
    pipeline &                 p_;
    std::string                refiner_;    // sam | region | none
    serve_embed_cache          cache_;
    std::unique_ptr<refiner>   ref_;        // a sam_refiner of its own (on the pipeline's backend) or a region refiner
    sam_refiner *              sam_ = nullptr;  // ref_ when it is SAM's
    std::string                current_;    // the hash whose embedding the refiner holds now
};

}  // namespace glm
