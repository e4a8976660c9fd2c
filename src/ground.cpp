#include "ground.h"

#include "common.h"

namespace glm {

const char * mask_select_name(mask_select m) { return m == mask_select::index2 ? "index2" : "best"; }

mask_select mask_select_from_name(const std::string & s) {
    if (s == "2" || s == "index2") {
        return mask_select::index2;
    }
    if (s == "best") {
        return mask_select::best;
    }
    fail("mask selection: expected 2 (official) or best, got '%s'", s.c_str());
}

ground_params ground_default_params() { return ground_params(); }

ground_result ground(const attend_result & att, const image_u8 & img, const phrase_chunker & chunker, refiner * ref,
                     const ground_params & p) {
    if (img.w != att.image_w || img.h != att.image_h) {
        fail("the image is %dx%d but the attention maps were computed on a %dx%d image", img.w, img.h, att.image_w,
             att.image_h);
    }
    if (p.min_score < 0.0f || p.min_score > 1.0f) {
        fail("score threshold %g out of range [0, 1]", p.min_score);
    }
    ground_result r;
    r.answer  = att.out.answer;
    r.width   = img.w;
    r.height  = img.h;
    r.grid_w  = att.grid_w;
    r.grid_h  = att.grid_h;
    r.params  = p;
    r.refiner = ref ? ref->name() : "";

    // 1. noun phrases and their head nouns
    double              t0 = now_s();
    const phrase_result ph = chunker.chunk(att.out.answer);
    r.n_sentences          = (int) ph.sentences.size();
    r.n_fallback_sentences = ph.n_fallback;
    r.t_phrases_s          = now_s() - t0;

    // 2. each phrase's tokens: those whose span overlaps the head noun (official group_tokens)
    std::vector<char_span> spans;
    for (const gen_token & t : att.out.tokens) {
        spans.push_back({ t.begin, t.end });
    }
    std::vector<std::vector<int>> groups;
    for (const noun_phrase & np : ph.phrases) {
        groups.push_back(tokens_overlapping(spans, np.head));
    }

    // 3. maps -> points
    t0 = now_s();
    token_maps tm;
    tm.n_tokens = att.out.maps.n_rows;
    tm.gh       = att.grid_h;
    tm.gw       = att.grid_w;
    tm.data     = p.heads == attn_heads::official ? att.out.maps.official : att.out.maps.mean;
    maps_params mp     = p.maps;
    mp.keep_upsampled  = false;
    const maps_result mr = maps_ground(tm, groups, img.w, img.h, mp);
    r.t_maps_s           = now_s() - t0;

    // 4. refinement
    t0 = now_s();
    if (ref && !ph.phrases.empty()) {
        ref->set_image(img);
    }
    for (size_t i = 0; i < ph.phrases.size(); ++i) {
        ground_phrase g;
        g.np     = ph.phrases[i];
        g.tokens = groups[i];
        const phrase_map & m = mr.phrases[i];
        if (p.keep_maps) {
            g.grid = m.grid;
        }
        if (m.empty) {
            g.status = "no-tokens";
            if (p.keep_empty) {
                r.phrases.push_back(std::move(g));
            }
            continue;
        }
        g.x    = m.x;
        g.y    = m.y;
        g.peak = m.peak;
        if (!ref) {
            g.status = "no-refiner";
            r.phrases.push_back(std::move(g));
            continue;
        }
        refined_mask rm = ref->refine(g.x, g.y, p.select, p.more_masks);
        g.score         = rm.score;
        g.mask_index    = rm.index;
        g.all_scores    = rm.all_scores;
        for (const auto & mm : rm.all_masks) {
            g.all_masks.push_back(rle_encode(mm.data(), rm.h, rm.w));
        }
        if (rm.score < p.min_score) {
            g.status = "low-score";
        } else {
            g.has_mask = true;
            g.mask     = rle_encode(rm.mask.data(), rm.h, rm.w);
        }
        r.phrases.push_back(std::move(g));
    }
    r.t_refine_s = now_s() - t0;
    return r;
}

}  // namespace glm
