#include "ground.h"

#include "common.h"

namespace glm {

ground_params ground_default_params() { return ground_params(); }

ground_result ground(const attend_result & att, const image_u8 & img, const phrase_chunker & chunker, refiner * ref,
                     const ground_params & p) {
    const double  t0 = now_s();
    phrase_result ph = chunker.chunk(att.out.answer);
    const double  t1 = now_s();
    ground_result r  = ground(att, img, ph, ref, p);
    r.t_phrases_s    = t1 - t0;
    return r;
}

ground_result ground(const attend_result & att, const image_u8 & img, const phrase_result & ph, refiner * ref,
                     const ground_params & p) {
    if (img.w != att.image_w || img.h != att.image_h) {
        fail("the image is %dx%d but the attention maps were computed on a %dx%d image", img.w, img.h, att.image_w,
             att.image_h);
    }
    if (p.min_score < 0.0f || p.min_score > 1.0f) {
        fail("score threshold %g out of range [0, 1]", p.min_score);
    }
    const image_layout & lay = att.layout;
    int                  gi  = p.grid < 0 ? lay.primary : p.grid;
    if (!p.grid_role.empty() && p.grid_role != "primary") {
        gi = lay.find(grid_role_from_name(p.grid_role));
        if (gi < 0) {
            std::string have;
            for (const token_grid & g : lay.grids) {
                have += std::string(have.empty() ? "" : ", ") + grid_role_name(g.role);
            }
            fail("map grid '%s': the vision model's image layout has no such grid (it has: %s)", p.grid_role.c_str(),
                 have.c_str());
        }
    }
    if (gi >= (int) lay.grids.size()) {
        fail("grid %d: the image layout has %zu grids", gi, lay.grids.size());
    }
    const token_grid & grid = lay.grids[(size_t) gi];
    ground_result      r;
    r.answer  = att.out.answer;
    r.width   = img.w;
    r.height  = img.h;
    r.grid_w  = grid.cols;
    r.grid_h  = grid.rows;
    r.params  = p;
    r.params.on_phrase = nullptr;  // the caller's hook does not outlive this call
    r.params.grid = gi;
    if (p.aspect_auto) {  // what the layout says, named as the official settings where it is one of them
        r.params.aspect_auto = false;
        r.params.maps.rect   = grid.rect;
        r.params.maps.aspect = grid.rect == rect_padded_square(img.w, img.h) ? map_aspect::pad
                             : grid.rect == grid_rect{ 0, 0, img.w, img.h } ? map_aspect::original
                                                                             : map_aspect::rect;
    }
    r.refiner = ref ? ref->name() : "";

    // 1. noun phrases and their head nouns (chunked by the caller)
    r.n_sentences          = (int) ph.sentences.size();
    r.n_fallback_sentences = ph.n_fallback;

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
    double t0 = now_s();
    token_maps tm;
    tm.n_tokens = att.out.maps.n_rows;
    tm.gh       = grid.rows;
    tm.gw       = grid.cols;
    tm.data     = layout_grid_maps(lay, gi, attend_head_maps(att, p.heads == attn_heads::set ? p.head_sel : head_set(p.heads)),
                                   att.out.maps.n_rows);
    maps_params mp     = r.params.maps;
    mp.keep_upsampled  = false;
    const maps_result mr = maps_ground(tm, groups, img.w, img.h, mp);
    r.t_maps_s           = now_s() - t0;

    // 4. the listed phrases with their points (reported at once: the refiner's image encoding comes next)
    std::vector<size_t> from;  // each listed phrase's index in ph.phrases / mr.phrases
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
            if (!p.keep_empty) {
                continue;
            }
        } else {
            g.x    = m.x;
            g.y    = m.y;
            g.peak = m.peak;
            if (!ref) {
                g.status = "no-refiner";
            }
        }
        r.phrases.push_back(std::move(g));
        from.push_back(i);
    }
    if (p.on_phrase) {
        for (size_t k = 0; k < r.phrases.size(); ++k) {
            p.on_phrase(r, (int) k, false);
        }
    }

    // 5. refinement
    t0 = now_s();
    if (ref && !ph.phrases.empty()) {
        ref->set_image(img);
    }
    for (size_t k = 0; k < r.phrases.size(); ++k) {
        ground_phrase & g = r.phrases[k];
        if (ref && !mr.phrases[from[k]].empty) {
            // the official prompt: the point as one positive click; the phrase's map travels with it for refiners
            // that use it (the SAM and region refiners do not)
            refine_prompt q = refine_prompt::point(g.x, g.y, p.select, p.more_masks);
            q.map           = mr.phrases[from[k]].grid.data();
            q.map_rows      = grid.rows;
            q.map_cols      = grid.cols;
            q.map_rect      = r.params.maps.aspect == map_aspect::rect ? r.params.maps.rect
                            : r.params.maps.aspect == map_aspect::pad  ? rect_padded_square(img.w, img.h)
                                                                       : grid_rect{ 0, 0, img.w, img.h };
            refined_mask rm = ref->refine(q);
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
        }
        if (p.on_phrase) {
            p.on_phrase(r, (int) k, true);
        }
    }
    r.t_refine_s = now_s() - t0;
    return r;
}

}  // namespace glm
