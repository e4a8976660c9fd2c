#include "serve-segment.h"

#include "common.h"
#include "pipeline.h"
#include "refine-region.h"
#include "refine-sam.h"
#include "rle.h"

#include <chrono>

namespace glm {

using json = nlohmann::json;

std::string serve_image_hash(const image_u8 & img) {
    uint64_t h   = 1469598103934665603ull;
    auto     mix = [&h](const uint8_t * d, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            h = (h ^ d[i]) * 1099511628211ull;
        }
    };
    const int32_t wh[2] = { img.w, img.h };
    mix((const uint8_t *) wh, sizeof(wh));
    mix(img.rgb.data(), img.rgb.size());
    return strfmt("%016llx", (unsigned long long) h);
}

serve_embed_cache::serve_embed_cache(size_t max_bytes, size_t max_entries) {
    st_.max_bytes   = max_bytes;
    st_.max_entries = max_entries;
}

std::shared_ptr<const serve_embed_entry> serve_embed_cache::get(const std::string & hash) {
    std::lock_guard<std::mutex> lock(m_);
    for (auto it = lru_.begin(); it != lru_.end(); ++it) {
        if ((*it)->hash == hash) {
            lru_.splice(lru_.begin(), lru_, it);
            ++st_.hits;
            return lru_.front();
        }
    }
    ++st_.misses;
    return nullptr;
}

bool serve_embed_cache::put(std::shared_ptr<const serve_embed_entry> e) {
    std::lock_guard<std::mutex> lock(m_);
    for (auto it = lru_.begin(); it != lru_.end(); ++it) {
        if ((*it)->hash == e->hash) {
            st_.bytes -= (*it)->bytes();
            lru_.erase(it);
            break;
        }
    }
    if (e->bytes() > st_.max_bytes || st_.max_entries == 0) {
        st_.entries = lru_.size();
        return false;
    }
    st_.bytes += e->bytes();
    lru_.push_front(std::move(e));
    while (st_.bytes > st_.max_bytes || lru_.size() > st_.max_entries) {
        st_.bytes -= lru_.back()->bytes();
        lru_.pop_back();
        ++st_.evictions;
    }
    st_.entries = lru_.size();
    return true;
}

serve_embed_stats serve_embed_cache::stats() const {
    std::lock_guard<std::mutex> lock(m_);
    return st_;
}

serve_segmenter::serve_segmenter(pipeline & p, size_t cache_bytes, size_t cache_entries)
    : p_(p), refiner_(p.model().refiner_name()), cache_(cache_bytes, cache_entries) {
    if (refiner_ == "sam") {
        auto s = std::make_unique<sam_refiner>(p.model().sam(), p.backend());
        sam_   = s.get();
        ref_   = std::move(s);
    } else if (refiner_ == "region") {
        ref_ = std::make_unique<region_refiner>();
    }
}

serve_segmenter::~serve_segmenter() = default;

static json rle_json(const rle & r) { return { { "size", { r.h, r.w } }, { "counts", rle_to_string(r) } }; }

json serve_segmenter::run(const serve_request & r) {
    using clock        = std::chrono::steady_clock;
    const auto t0      = clock::now();
    const serve_segment & q = r.seg;
    if (!ref_) {
        throw serve_http_error(400, "/segment needs a refiner: this server runs with --refiner none");
    }
    std::shared_ptr<const serve_embed_entry> e;
    std::string                              hash = q.image_hash;
    if (!r.image.empty()) {
        hash = serve_image_hash(r.image);
    }
    e                  = cache_.get(hash);
    const bool cached  = e != nullptr;
    double     t_enc_s = 0;
    if (!e) {
        if (r.image.empty()) {
            const serve_embed_stats st = cache_.stats();
            throw serve_http_error(400, strfmt("image_hash '%s' is not in the cache (never sent, or evicted: it holds %zu "
                                               "images, %.0f MiB at most); send the image again",
                                               hash.c_str(), st.entries, st.max_bytes / 1048576.0));
        }
        auto ne  = std::make_shared<serve_embed_entry>();
        ne->hash = hash;
        ne->img  = r.image;
        current_.clear();  // not valid while encoding (an error leaves no stale state)
        const auto te = clock::now();
        if (sam_) {
            sam_->state().set_image(ne->img);
            ne->emb = sam_->state().image_embedding_chw();
        } else {
            ref_->set_image(ne->img);
        }
        t_enc_s  = std::chrono::duration<double>(clock::now() - te).count();
        current_ = hash;
        cache_.put(ne);
        e = ne;
    } else if (current_ != hash) {  // another cached image: give the refiner its embedding, no encoder run
        current_.clear();
        if (sam_) {
            sam_->state().set_embedding(e->emb, e->img.w, e->img.h);
        } else {
            ref_->set_image(e->img);
        }
        current_ = hash;
    }
    const int W = e->img.w, H = e->img.h;
    for (size_t i = 0; i < q.points.size(); ++i) {
        const refine_point & p = q.points[i];
        if (p.x < 0 || p.y < 0 || p.x >= W || p.y >= H) {
            throw serve_http_error(400, strfmt("field 'points': point %zu (%d, %d) is outside the %dx%d image", i, p.x,
                                               p.y, W, H));
        }
    }
    if (q.has_box && (q.box[0] < 0 || q.box[1] < 0 || q.box[2] > W || q.box[3] > H)) {
        throw serve_http_error(400, strfmt("field 'box': [%d, %d, %d, %d] is outside the %dx%d image", q.box[0],
                                           q.box[1], q.box[2], q.box[3], W, H));
    }
    refine_prompt pr;
    pr.points   = q.points;
    pr.has_box  = q.has_box;
    for (int k = 0; k < 4; ++k) {
        pr.box[k] = q.box[k];
    }
    pr.select   = q.select;
    pr.keep_all = q.keep_all;
    const auto         td = clock::now();
    refined_mask       m;
    try {
        m = ref_->refine(pr);
    } catch (const glm::error & err) {  // a prompt this refiner does not take (region: a box alone)
        throw serve_http_error(400, strfmt("the %s refiner cannot take this prompt: %s", refiner_.c_str(), err.what()));
    }
    const double       t_dec_s = std::chrono::duration<double>(clock::now() - td).count();
    json j = {
        { "format", "groundlmm.segment/1" },
        { "image_hash", hash },
        { "width", W },
        { "height", H },
        { "cached", cached },
        { "refiner", refiner_ },
        { "mask", rle_json(rle_encode(m.mask.data(), m.h, m.w)) },
        { "score", m.score },
        { "mask_index", m.index },
        { "all_scores", m.all_scores },
    };
    if (q.keep_all) {
        json am = json::array();
        for (const auto & c : m.all_masks) {
            am.push_back(rle_json(rle_encode(c.data(), m.h, m.w)));
        }
        j["all_masks"] = am;
    }
    j["timings"] = { { "encode_s", t_enc_s }, { "decode_s", t_dec_s },
                     { "total_s", std::chrono::duration<double>(clock::now() - t0).count() } };
    return j;
}

}  // namespace glm
