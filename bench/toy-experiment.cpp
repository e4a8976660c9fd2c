// toy-experiment: does grounding emerge in the toy LMM trained on captions only? Runs the production path
// (toy-vit module -> libllama with the attention tap -> maps -> phrases -> region refiner) on held-out toy-world
// scenes and scores, against the ground-truth visible masks (never seen in training):
//   - point accuracy (PAcc): the phrase's argmax point lies in the visible mask of the object it names;
//   - mask recall: some phrase whose head noun names the object's category (shape) has a mask with IoU >= 0.5;
// for the paper's variants (mean over all layers and heads; the official head H-2 averaged over layers; no
// normalisation; every layer; every head), for the maps of the head noun (the official grouping), of the colour
// word and of the whole phrase (size + colour + shape words), and for the objects whose colour another object of
// the scene shares. Baselines: a uniformly random point and the image centre.
// Two modes: 'forced' decodes the ground-truth caption (teacher forcing through the same runner: grounding alone)
// and 'generated' lets the model caption the scene greedily (objects it does not name count as misses).
//
// Head choices of the pipeline: all, official and, with --heads, a head-set file (calibrate-heads); the best single
// head chosen with the scenes' own labels is reported as a reference. --seeds 2,3,4 runs several world seeds and
// prints the spread (mean, sd, min, max) of the headline numbers; the answer sentences chunked by the fallback rules
// are counted (and logged only at debug level).
//
// usage: toy-experiment [-m models/toy] [--n 500] [--seeds 1[,2,...]] [--split test] [-o results.json] [-t 1]
//                       [--size <model input>] [--heads head-set.json]
// (--size renders the scenes at another resolution than the model's input size, which training used; the vision
// module resizes them to its input size)
#include "attend.h"
#include "common.h"
#include "gguf-loader.h"
#include "ground.h"
#include "lmm.h"
#include "maps.h"
#include "phrases.h"
#include "refine-region.h"
#include "rle.h"
#include "toy/model.h"
#include "toy/rng.h"
#include "toy/world.h"
#include "vision.h"

#include <nlohmann/json.hpp>

#include "llama.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace glm;
using namespace glm::toy;

namespace {

enum words { W_HEAD = 0, W_COLOUR = 1, W_PHRASE = 2 };
const char * k_words[3] = { "head noun", "colour word", "whole phrase" };

struct counts {
    int64_t n = 0, hit = 0, n_hard = 0, hit_hard = 0;
    void add(bool h, bool hard) {
        n++;
        hit += h;
        n_hard += hard;
        hit_hard += hard && h;
    }
    double acc() const { return n ? (double) hit / n : 0.0; }
    double acc_hard() const { return n_hard ? (double) hit_hard / n_hard : 0.0; }
};

// A map variant over the tap's full dump [row][layer][head][img].
struct variant {
    std::string name;
    int         layer = -1;  // -1 = all layers
    int         head  = -1;  // -1 = all heads; -2 = head H-2
    bool        norm  = true;
    std::vector<head_pair> set;  // when not empty: the mean over these heads (layer and head ignored)
    bool        sinks = false;   // mask attention sinks (below)
};

// Attention sinks, by a documented criterion: an image token is a sink of an answer when it draws more than twice the
// uniform share (2 / n_img) of a row's image attention in at least 90% of the answer's rows, i.e. whatever the word.
// Masking sets a sink's value in every row to that row's smallest non-sink value (before normalisation), so it can
// no longer win the argmax. Returns the number of sink cells.
int mask_sinks(std::vector<float> & maps, int n_rows, int n_img) {
    std::vector<int> sink;
    for (int j = 0; j < n_img; ++j) {
        int hot = 0;
        for (int r = 0; r < n_rows; ++r) {
            double row_sum = 0;
            for (int i = 0; i < n_img; ++i) {
                row_sum += maps[(size_t) r * n_img + i];
            }
            hot += maps[(size_t) r * n_img + j] > 2.0 * row_sum / n_img;
        }
        if (n_rows > 0 && hot >= 0.9 * n_rows) {
            sink.push_back(j);
        }
    }
    if (sink.empty() || (int) sink.size() == n_img) {  // none, or every token: nothing to mask
        return 0;
    }
    for (int r = 0; r < n_rows; ++r) {
        float * row = &maps[(size_t) r * n_img];
        float   lo  = INFINITY;
        for (int i = 0, k = 0; i < n_img; ++i) {
            if (k < (int) sink.size() && sink[k] == i) {
                ++k;
                continue;
            }
            lo = std::min(lo, row[i]);
        }
        for (int j : sink) {
            row[j] = lo;
        }
    }
    return (int) sink.size();
}

std::vector<float> select_maps(const attn_maps & m, const variant & v, int64_t * n_sinks = nullptr) {
    std::vector<float> out((size_t) m.n_rows * m.n_img, 0.0f);
    for (int r = 0; r < m.n_rows; ++r) {
        int n = 0;
        for (int l = 0; l < m.n_layer; ++l) {
            if (v.set.empty() && v.layer >= 0 && l != v.layer) {
                continue;
            }
            for (int h = 0; h < m.n_head; ++h) {
                if (!v.set.empty()) {
                    if (std::find(v.set.begin(), v.set.end(), head_pair{ l, h }) == v.set.end()) {
                        continue;
                    }
                } else if ((v.head >= 0 && h != v.head) || (v.head == -2 && h != m.head_official)) {
                    continue;
                }
                const float * src = &m.full[(((size_t) r * m.n_layer + l) * m.n_head + h) * m.n_img];
                for (int j = 0; j < m.n_img; ++j) {
                    out[(size_t) r * m.n_img + j] += src[j];
                }
                ++n;
            }
        }
        for (int j = 0; j < m.n_img; ++j) {
            out[(size_t) r * m.n_img + j] /= n;
        }
    }
    if (v.sinks) {
        const int k = mask_sinks(out, m.n_rows, m.n_img);
        if (n_sinks) {
            *n_sinks += k;
        }
    }
    return out;
}

// One ground-truth object's tokens in an answer (empty when the answer does not name it).
struct named {
    int              obj = -1;
    std::vector<int> tok[3];
    int              shape_tok = -1;
};

std::string trim(const std::string & s) {
    size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Finds "[a|an] [size] colour shape" in the generated tokens and matches each to an unclaimed object of the same
// colour and shape. Phrases naming no object of the scene are counted as hallucinated.
std::vector<named> parse_answer(const attend_result & att, const world_scene & sc, int * n_phrases, int * n_halluc) {
    const auto &             toks = att.out.tokens;
    std::vector<std::string> w;
    for (const auto & t : toks) {
        w.push_back(trim(t.text));
    }
    auto index_of = [](const std::vector<std::string> & v, const std::string & s) {
        return (int) (std::find(v.begin(), v.end(), s) - v.begin());
    };
    std::vector<named> out;
    std::vector<bool>  claimed(sc.objects.size(), false);
    for (int k = 1; k < (int) toks.size(); ++k) {
        const int shape  = index_of(world_shapes(), w[k]);
        const int colour = index_of(world_colours(), w[k - 1]);
        if (shape >= (int) world_shapes().size() || colour >= (int) world_colours().size()) {
            continue;
        }
        ++*n_phrases;
        int obj = -1;
        for (size_t i = 0; i < sc.objects.size(); ++i) {
            if (!claimed[i] && sc.objects[i].shape == shape && sc.objects[i].colour == colour) {
                obj = (int) i;
                break;
            }
        }
        if (obj < 0) {
            ++*n_halluc;
            continue;
        }
        claimed[obj] = true;
        named n;
        n.obj         = obj;
        n.shape_tok   = k;
        n.tok[W_HEAD] = { k };
        n.tok[W_COLOUR] = { k - 1 };
        const bool sized = k >= 2 && (w[k - 2] == "small" || w[k - 2] == "large" || w[k - 2] == "big");
        n.tok[W_PHRASE] = sized ? std::vector<int>{ k - 2, k - 1, k } : std::vector<int>{ k - 1, k };
        out.push_back(n);
    }
    return out;
}

// With the ground-truth caption forced, the answer is the caption: the objects' spans give their tokens.
std::vector<named> forced_tokens(const attend_result & att, const world_scene & sc) {
    if (att.out.answer != sc.caption) {
        fail("forced decoding gave \"%s\", expected \"%s\"", att.out.answer.c_str(), sc.caption.c_str());
    }
    std::vector<char_span> spans;
    for (const auto & t : att.out.tokens) {
        spans.push_back({ t.begin, t.end });
    }
    std::vector<named> out;
    for (size_t i = 0; i < sc.objects.size(); ++i) {
        const world_object & o = sc.objects[i];
        named                n;
        n.obj           = (int) i;
        n.tok[W_HEAD]   = tokens_overlapping(spans, { o.shape_begin, o.shape_end });
        n.tok[W_COLOUR] = tokens_overlapping(spans, { o.colour_begin, o.colour_end });
        n.tok[W_PHRASE] = tokens_overlapping(spans, { o.phrase_begin, o.phrase_end });
        n.shape_tok     = n.tok[W_HEAD].empty() ? -1 : n.tok[W_HEAD][0];
        out.push_back(n);
    }
    return out;
}

bool colour_shared(const world_scene & sc, int obj) {
    int n = 0;
    for (const auto & o : sc.objects) {
        n += o.colour == sc.objects[obj].colour;
    }
    return n > 1;
}

double iou(const std::vector<uint8_t> & a, const std::vector<uint8_t> & b) {
    int64_t in = 0, un = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        in += a[i] && b[i];
        un += a[i] || b[i];
    }
    return un ? (double) in / un : 0.0;
}

struct mode_stats {
    std::map<std::string, counts> pacc;         // "<variant>|<words>"
    std::vector<counts>           recall, pacc_ground;  // per head choice of the pipeline (all, official, [set])
    int64_t                       n_objects = 0, n_named = 0, n_phrases = 0, n_halluc = 0, n_point_mismatch = 0;
    int64_t                       n_chunker_missed = 0;  // named objects whose shape word is no phrase head
    int64_t                       n_sentences = 0, n_fallback = 0;  // answer sentences; chunked by the fallback rules
    int64_t                       n_sink_cells = 0;  // image tokens flagged as sinks (mask_sinks), summed over answers
};

// The pipeline's head choices: all, official, and a head-set file when given.
struct choice {
    std::string key;   // results.json: pacc_<key>, mask_recall_<key>
    std::string name;  // table row
    head_set    heads;
};

// Everything one world seed needs: the models and the map variants.
struct setup {
    std::string            dir, split;
    int                    n = 500, size = 64;
    vision_encoder *       enc = nullptr;
    lmm_model *            lm  = nullptr;
    lmm_session *          ses = nullptr;
    phrase_chunker *       chunker = nullptr;
    region_refiner *       region  = nullptr;
    std::vector<variant>   variants;
    std::vector<choice>    choices;
    caption_order          order = caption_order::mixed;
};


}  // namespace

nlohmann::json run_seed(setup & su, uint64_t seed) {
        const double           t0 = now_s();
        vision_encoder *       enc = su.enc;
        lmm_model &            lm  = *su.lm;
        lmm_session &          ses = *su.ses;
        const phrase_chunker & chunker = *su.chunker;
        region_refiner &       region  = *su.region;
        const std::vector<variant> & variants = su.variants;
        const std::string &    dir = su.dir;
        const std::string &    split = su.split;
        const int              n = su.n, size = su.size;
        world_params wp;
        wp.size  = size;
        wp.order = su.order;
        mode_stats         st[2];  // 0 forced, 1 generated
        for (mode_stats & m : st) {
            m.recall.resize(su.choices.size());
            m.pacc_ground.resize(su.choices.size());
        }
        counts             base_rand, base_centre, rec_rand, rec_centre, rec_oracle;
        rng                g(seed * 7919 + 17);
        double             t_attend = 0;
        int att_n_img = 0;
        for (int s = 0; s < n; ++s) {
            const world_scene sc = world_generate(wp, seed, world_split_from_string(split), s);
            const int         W = sc.img.w, Hh = sc.img.h;
            region.set_image(sc.img);
            // baselines, per object
            for (size_t i = 0; i < sc.objects.size(); ++i) {
                const auto & o    = sc.objects[i];
                const bool   hard = colour_shared(sc, (int) i);
                for (int k = 0; k < 16; ++k) {
                    const int x = g.below(W), y = g.below(Hh);
                    base_rand.add(o.mask[(size_t) y * W + x], hard);
                    if (k == 0) {
                        rec_rand.add(iou(region.refine(x, y, mask_select::best, false).mask, o.mask) >= 0.5, hard);
                    }
                }
                base_centre.add(o.mask[(size_t) (Hh / 2) * W + W / 2], hard);
                rec_centre.add(iou(region.refine(W / 2, Hh / 2, mask_select::best, false).mask, o.mask) >= 0.5, hard);
                // the refiner's ceiling: seeded at the object's innermost visible pixel
                const int inner = world_mask_inner_point(o.mask, W);
                const int xs = inner % W, ys = inner / W;
                rec_oracle.add(iou(region.refine(xs, ys, mask_select::best, false).mask, o.mask) >= 0.5, hard);
            }
            for (int mode = 0; mode < 2; ++mode) {
                mode_stats & ms = st[mode];
                gen_params   gp;
                gp.n_predict = 64;
                if (mode == 0) {
                    for (int32_t id : lm.tokenize(sc.caption, false)) {
                        gp.forced.push_back(id);
                    }
                    gp.forced.push_back(llama_vocab_eos(lm.vocab()));
                }
                const double        ta  = now_s();
                const attend_result att = attend_run(*enc, ses, sc.img, gp, attn_heads::dump);
                t_attend += now_s() - ta;
                att_n_img = att.out.maps.n_img;
                int                      n_ph = 0, n_hal = 0;
                const std::vector<named> nm   = mode == 0 ? forced_tokens(att, sc) : parse_answer(att, sc, &n_ph, &n_hal);
                ms.n_objects += (int64_t) sc.objects.size();
                ms.n_named += (int64_t) nm.size();
                ms.n_phrases += n_ph;
                ms.n_halluc += n_hal;
                std::vector<bool> is_named(sc.objects.size(), false);
                for (const auto & x : nm) {
                    is_named[x.obj] = true;
                }
                // every variant and word choice through the production maps code
                std::vector<std::vector<int>> groups;
                for (const auto & x : nm) {
                    for (int w = 0; w < 3; ++w) {
                        groups.push_back(x.tok[w]);
                    }
                }
                std::vector<std::pair<int, int>> head_points(nm.size(), { -1, -1 });
                for (const variant & v : variants) {
                    token_maps tm;
                    tm.n_tokens = att.out.maps.n_rows;
                    tm.gh       = att.grid_h;
                    tm.gw       = att.grid_w;
                    tm.data     = select_maps(att.out.maps, v, v.sinks && v.norm ? &ms.n_sink_cells : nullptr);
                    maps_params mp;
                    mp.normalize         = v.norm;
                    const maps_result mr = maps_ground(tm, groups, W, Hh, mp);
                    for (size_t k = 0; k < nm.size(); ++k) {
                        for (int w = 0; w < 3; ++w) {
                            const phrase_map & pm = mr.phrases[k * 3 + w];
                            const bool hit = !pm.empty && sc.objects[nm[k].obj].mask[(size_t) pm.y * W + pm.x];
                            ms.pacc[v.name + "|" + k_words[w]].add(hit, colour_shared(sc, nm[k].obj));
                            if (&v == &variants[0] && w == W_HEAD) {
                                head_points[k] = { pm.x, pm.y };
                            }
                        }
                    }
                }
                // objects the answer does not name are misses in every variant
                for (size_t i = 0; i < sc.objects.size(); ++i) {
                    if (is_named[i]) {
                        continue;
                    }
                    for (const variant & v : variants) {
                        for (int w = 0; w < 3; ++w) {
                            ms.pacc[v.name + "|" + k_words[w]].add(false, colour_shared(sc, (int) i));
                        }
                    }
                }
                // the official pipeline: chunker + head-noun grouping + maps + region refiner, for each head choice
                // (the answer is chunked once: its fallback sentences are counted once)
                const phrase_result ph = chunker.chunk(att.out.answer);
                ms.n_sentences += (int64_t) ph.sentences.size();
                ms.n_fallback += ph.n_fallback;
                for (size_t which = 0; which < su.choices.size(); ++which) {
                    ground_params gpar;
                    gpar.heads             = su.choices[which].heads.kind;
                    gpar.head_sel          = su.choices[which].heads;
                    const ground_result gr = ground(att, sc.img, ph, &region, gpar);
                    counts & rec = ms.recall[which];
                    counts & pac = ms.pacc_ground[which];
                    for (size_t i = 0; i < sc.objects.size(); ++i) {
                        const world_object & o  = sc.objects[i];
                        bool                 ok = false;
                        for (const auto & p : gr.phrases) {
                            if (p.has_mask && p.np.head_text == world_shapes()[o.shape] &&
                                iou(rle_decode(p.mask), o.mask) >= 0.5) {
                                ok = true;
                                break;
                            }
                        }
                        rec.add(ok, colour_shared(sc, (int) i));
                        // the point of the phrase whose head noun is the object's (matched) shape token
                        bool hit = false;
                        for (size_t k = 0; k < nm.size(); ++k) {
                            if (nm[k].obj != (int) i) {
                                continue;
                            }
                            const gen_token & st_tok = att.out.tokens[nm[k].shape_tok];
                            bool              found  = false;
                            for (const auto & p : gr.phrases) {
                                if (p.x >= 0 && p.np.head.begin < st_tok.end && p.np.head.end > st_tok.begin) {
                                    found = true;
                                    hit   = o.mask[(size_t) p.y * W + p.x];
                                    if (which == 0 && (p.x != head_points[k].first || p.y != head_points[k].second)) {
                                        ms.n_point_mismatch++;
                                    }
                                    break;
                                }
                            }
                            ms.n_chunker_missed += which == 0 && !found;
                        }
                        pac.add(hit, colour_shared(sc, (int) i));
                    }
                }
            }
            if ((s + 1) % 50 == 0 || s + 1 == n) {
                fprintf(stderr, "\r%d/%d scenes, %.0fs", s + 1, n, now_s() - t0);
                fflush(stderr);
            }
        }
        fprintf(stderr, "\n");

        // ---- report
        nlohmann::json j;
        j["model"]   = dir;
        j["scenes"]  = { { "split", split }, { "seed", seed }, { "n", n }, { "size", size }, { "caption_order", caption_order_name(su.order) } };
        j["objects"] = st[0].n_objects;
        auto cj      = [](const counts & c) {
            return nlohmann::json{ { "n", c.n }, { "acc", c.acc() }, { "n_hard", c.n_hard }, { "acc_hard", c.acc_hard() } };
        };
        j["baselines"] = { { "random_point", cj(base_rand) }, { "centre_point", cj(base_centre) },
                           { "random_point_mask_recall", cj(rec_rand) }, { "centre_point_mask_recall", cj(rec_centre) },
                           { "refiner_seeded_at_innermost_pixel_mask_recall", cj(rec_oracle) } };
        const char * mode_name[2] = { "forced", "generated" };
        for (int mode = 0; mode < 2; ++mode) {
            const mode_stats & ms = st[mode];
            nlohmann::json     m;
            m["objects_named"]       = (double) ms.n_named / ms.n_objects;
            m["phrases"]             = ms.n_phrases;
            m["hallucinated_phrases"] = ms.n_halluc;
            m["pipeline_point_mismatches"] = ms.n_point_mismatch;
            m["chunker_missed_objects"]    = ms.n_chunker_missed;
            m["sentences"]           = ms.n_sentences;
            m["fallback_sentences"]  = ms.n_fallback;
            m["sink_cells"]          = ms.n_sink_cells;
            for (size_t c = 0; c < su.choices.size(); ++c) {
                m["pipeline"]["pacc_" + su.choices[c].key]        = cj(ms.pacc_ground[c]);
                m["pipeline"]["mask_recall_" + su.choices[c].key] = cj(ms.recall[c]);
            }
            for (const auto & kv : ms.pacc) {
                m["pacc"][kv.first] = cj(kv.second);
            }
            j[mode_name[mode]] = m;
        }
        // the best single head, chosen with the labels of these very scenes (a reference, not a method)
        std::string best;
        for (const variant & v : variants) {
            if (v.set.empty() && v.layer >= 0 && v.head >= 0 &&
                (best.empty() || st[0].pacc.at(v.name + "|head noun").acc() > st[0].pacc.at(best + "|head noun").acc())) {
                best = v.name;
            }
        }
        j["best_single_head_with_labels"] = { { "variant", best },
                                              { "forced", cj(st[0].pacc.at(best + "|head noun")) },
                                              { "generated", cj(st[1].pacc.at(best + "|head noun")) } };
        j["seconds"]          = now_s() - t0;
        j["seconds_attend"]   = t_attend;

        const double rnd = base_rand.acc();
        printf("toy-experiment: %s, %d %s scenes (seed %llu), %lld objects, %.0fs\n\n", dir.c_str(), n, split.c_str(),
               (unsigned long long) seed, (long long) st[0].n_objects, now_s() - t0);
        printf("| method | PAcc, forced | mask recall, forced | PAcc, generated | mask recall, generated | "
               "PAcc, shared colour, forced | PAcc, shared colour, generated |\n");
        printf("|---|---|---|---|---|---|---|\n");
        printf("| random point | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", rnd, rec_rand.acc(), rnd, rec_rand.acc(),
               base_rand.acc_hard(), base_rand.acc_hard());
        printf("| centre point | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", base_centre.acc(), rec_centre.acc(),
               base_centre.acc(), rec_centre.acc(), base_centre.acc_hard(), base_centre.acc_hard());
        for (size_t c = 0; c < su.choices.size(); ++c) {
            printf("| attend-and-segment, %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", su.choices[c].name.c_str(),
                   st[0].pacc_ground[c].acc(), st[0].recall[c].acc(), st[1].pacc_ground[c].acc(), st[1].recall[c].acc(),
                   st[0].pacc_ground[c].acc_hard(), st[1].pacc_ground[c].acc_hard());
        }
        {
            const counts & bf = st[0].pacc.at(best + "|head noun");
            const counts & bg = st[1].pacc.at(best + "|head noun");
            printf("| reference: best single head with these scenes' labels (%s), maps code | %.3f | - | %.3f | - | %.3f | %.3f |\n",
                   best.c_str(), bf.acc(), bg.acc(), bf.acc_hard(), bg.acc_hard());
        }
        printf("\nratio to the random point (mean over layers and heads): %.1fx forced, %.1fx generated\n",
               st[0].pacc_ground[0].acc() / std::max(1e-9, rnd), st[1].pacc_ground[0].acc() / std::max(1e-9, rnd));
        printf("image tokens flagged as attention sinks (mask_sinks), summed over answers: %lld forced, %lld generated "
               "(of %d per answer)\n", (long long) st[0].n_sink_cells, (long long) st[1].n_sink_cells,
               att_n_img);
        printf("answer sentences chunked by the fallback rules: %lld of %lld forced, %lld of %lld generated\n",
               (long long) st[0].n_fallback, (long long) st[0].n_sentences, (long long) st[1].n_fallback,
               (long long) st[1].n_sentences);
        printf("objects named by the generated captions: %.3f; phrases %lld, naming no object of the scene %lld\n",
               (double) st[1].n_named / st[1].n_objects, (long long) st[1].n_phrases, (long long) st[1].n_halluc);
        printf("refiner ceiling (seeded at each object's innermost pixel): mask recall %.3f\n\n", rec_oracle.acc());
        for (int mode = 0; mode < 2; ++mode) {
            printf("| PAcc by map, %s captions | head noun | colour word | whole phrase | head noun, shared colour |\n",
                   mode_name[mode]);
            printf("|---|---|---|---|---|\n");
            for (const variant & v : variants) {
                const auto & ms = st[mode].pacc;
                printf("| %s | %.3f | %.3f | %.3f | %.3f |\n", v.name.c_str(), ms.at(v.name + "|head noun").acc(),
                       ms.at(v.name + "|colour word").acc(), ms.at(v.name + "|whole phrase").acc(),
                       ms.at(v.name + "|head noun").acc_hard());
            }
            printf("\n");
        }
        printf("pipeline point vs experiment point (mean map, head noun) mismatches: %lld forced, %lld generated\n",
               (long long) st[0].n_point_mismatch, (long long) st[1].n_point_mismatch);
        printf("named objects whose shape word the noun-phrase chunker did not make a phrase head: %lld forced, %lld "
               "generated\n", (long long) st[0].n_chunker_missed, (long long) st[1].n_chunker_missed);
        return j;
}

// Mean, sample standard deviation, min and max over the seeds of a number at a JSON pointer of each seed's result.
nlohmann::json spread_of(const nlohmann::json & per_seed, const std::string & ptr) {
    std::vector<double> v;
    for (const auto & j : per_seed) {
        v.push_back(j.at(nlohmann::json::json_pointer(ptr)).get<double>());
    }
    double mean = 0, var = 0;
    for (double x : v) {
        mean += x / (double) v.size();
    }
    for (double x : v) {
        var += (x - mean) * (x - mean) / (double) std::max<size_t>(1, v.size() - 1);
    }
    return { { "mean", mean }, { "sd", std::sqrt(var) }, { "min", *std::min_element(v.begin(), v.end()) },
             { "max", *std::max_element(v.begin(), v.end()) }, { "values", v } };
}

// The headline numbers over the seeds: one table, mean ± sd [min, max].
nlohmann::json print_spread(const setup & su, const nlohmann::json & per_seed) {
    struct row {
        std::string name, forced, generated, hard;
    };
    std::vector<row> rows = { { "random point", "/baselines/random_point/acc", "/baselines/random_point/acc",
                                "/baselines/random_point/acc_hard" } };
    for (const choice & c : su.choices) {
        rows.push_back({ "attend-and-segment, " + c.name, "/forced/pipeline/pacc_" + c.key + "/acc",
                         "/generated/pipeline/pacc_" + c.key + "/acc", "/forced/pipeline/pacc_" + c.key + "/acc_hard" });
    }
    rows.push_back({ "reference: best single head with each seed's labels", "/best_single_head_with_labels/forced/acc",
                     "/best_single_head_with_labels/generated/acc", "/best_single_head_with_labels/forced/acc_hard" });
    std::string seeds;
    for (const auto & j : per_seed) {
        seeds += (seeds.empty() ? "" : ", ") + std::to_string(j.at("scenes").at("seed").get<uint64_t>());
    }
    printf("over world seeds %s (mean ± sd [min, max]):\n\n", seeds.c_str());
    printf("| method | PAcc, forced | PAcc, generated | PAcc, shared colour, forced |\n|---|---|---|---|\n");
    auto cell = [](const nlohmann::json & s) {
        return strfmt("%.3f ± %.3f [%.3f, %.3f]", s.at("mean").get<double>(), s.at("sd").get<double>(),
                      s.at("min").get<double>(), s.at("max").get<double>());
    };
    nlohmann::json out;
    for (const row & r : rows) {
        const nlohmann::json f = spread_of(per_seed, r.forced), g = spread_of(per_seed, r.generated),
                             h = spread_of(per_seed, r.hard);
        out[r.name] = { { "pacc_forced", f }, { "pacc_generated", g }, { "pacc_shared_colour_forced", h } };
        printf("| %s | %s | %s | %s |\n", r.name.c_str(), cell(f).c_str(), cell(g).c_str(), cell(h).c_str());
    }
    const nlohmann::json named = spread_of(per_seed, "/generated/objects_named");
    out["objects_named_generated"] = named;
    printf("\nobjects named exactly by the generated captions: %s\n", cell(named).c_str());
    return out;
}

int main(int argc, char ** argv) {
    std::string dir = std::string(GLM_SOURCE_DIR) + "/models/toy", out_json, split = "test", heads_file, seeds_text = "1", order_text;
    int         n = 500, n_threads = 1, size = 0;  // size 0: the model's input size
    for (int i = 1; i < argc; ++i) {
        const std::string a    = argv[i];
        auto              next = [&]() -> std::string {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s needs a value\n", a.c_str());
                exit(2);
            }
            return argv[++i];
        };
        if (a == "-m") {
            dir = next();
        } else if (a == "--n") {
            n = std::stoi(next());
        } else if (a == "--seed" || a == "--seeds") {
            seeds_text = next();
        } else if (a == "--split") {
            split = next();
        } else if (a == "-o") {
            out_json = next();
        } else if (a == "-t") {
            n_threads = std::stoi(next());
        } else if (a == "--size") {
            size = std::stoi(next());
        } else if (a == "--heads") {
            heads_file = next();
        } else if (a == "--caption-order") {
            order_text = next();
        } else {
            fprintf(stderr, "usage: %s [-m models/toy] [--n 500] [--seeds 1[,2,...]] [--split test] [-o results.json] [-t 1] "
                            "[--size <model input>] [--heads head-set.json] [--caption-order <the model's>]\n", argv[0]);
            return 2;
        }
    }
    try {
        std::vector<uint64_t> seeds;
        for (size_t p = 0; p <= seeds_text.size();) {
            const size_t      c    = std::min(seeds_text.find(',', p), seeds_text.size());
            const std::string item = seeds_text.substr(p, c - p);
            if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos) {
                fail("--seeds: expected world seeds separated by commas (e.g. 2,3,4), got '%s'", seeds_text.c_str());
            }
            seeds.push_back(std::stoull(item));
            p = c + 1;
        }
        log_route_ggml(false);
        compute_backend backend(backend_params{ n_threads, false, 0 });
        auto            enc = vision_encoder_load(dir + "/" + k_toy_vit_file, backend);
        lmm_params      lp;
        lp.model     = dir + "/" + k_toy_llm_file;
        if (size <= 0) {  // the scenes as training rendered them: at the encoder's input size
            size = toyvit_read_hparams(gguf_loader(dir + "/" + k_toy_vit_file)).image_size;
        }
        const gguf_loader llm_meta(dir + "/" + k_toy_llm_file);
        lp.n_ctx = (int) llm_meta.get_int("llama.context_length");
        // forced captions in the style the model was trained on, unless told otherwise
        const caption_order order = order_text.empty() ? toy_read_caption_order(llm_meta) : caption_order_from_string(order_text);
        lp.n_threads = n_threads;
        lp.tap       = true;
        lp.tap_dump  = true;
        lmm_model      lm(lp);
        lmm_session    ses(lm, lp);
        phrase_chunker chunker;
        region_refiner region;
        const int      L = lm.n_layer(), H = lm.n_head();

        setup su;
        su.dir = dir, su.split = split, su.n = n, su.size = size;
        su.order = order;
        su.enc = enc.get(), su.lm = &lm, su.ses = &ses, su.chunker = &chunker, su.region = &region;
        su.choices = { { "mean", "mean over layers and heads", head_set(attn_heads::all) },
                       { "official", "head H-2 (official)", head_set(attn_heads::official) } };
        su.variants = { { "mean over layers and heads", -1, -1, true, {} },
                        { "head H-2, mean over layers (official)", -1, -2, true, {} },
                        { "mean over layers and heads, not normalised", -1, -1, false, {} },
                        { "head H-2, not normalised", -1, -2, false, {} },
                        { "mean over layers and heads, sinks masked", -1, -1, true, {}, true },
                        { "mean over layers and heads, sinks masked, not normalised", -1, -1, false, {}, true } };
        if (!heads_file.empty()) {
            const head_set hs = head_set_parse(heads_file);
            const auto     hp = hs.resolve(L, H);
            su.choices.push_back({ "calibrated", "calibrated heads " + head_pairs_text(hp) + " (label-free)", hs });
            su.variants.push_back({ "calibrated heads " + head_pairs_text(hp), -1, -1, true, hp });
        }
        for (int l = 0; l < L; ++l) {
            su.variants.push_back({ strfmt("layer %d, mean over heads", l), l, -1, true, {} });
        }
        for (int l = 0; l < L; ++l) {
            for (int h = 0; h < H; ++h) {
                su.variants.push_back({ strfmt("layer %d head %d", l, h), l, h, true, {} });
            }
        }
        nlohmann::json per_seed = nlohmann::json::array();
        for (uint64_t seed : seeds) {
            per_seed.push_back(run_seed(su, seed));
            printf("\n");
        }
        nlohmann::json out = seeds.size() == 1 ? per_seed[0] : nlohmann::json{ { "seeds", per_seed } };
        if (seeds.size() > 1) {
            out["spread"] = print_spread(su, per_seed);
        }
        if (!heads_file.empty()) {
            out["heads_file"] = heads_file;
        }
        if (!out_json.empty()) {
            write_file(out_json, out.dump(1));
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "toy-experiment: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
