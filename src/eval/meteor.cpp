// eval/meteor.cpp: Meteor's Aligner (matchers, fixed matches, beam search), MeteorScorer and MeteorStats.
// Names in comments are those of the Java classes (edu/cmu/meteor/aligner, edu/cmu/meteor/scorer).
#include "eval/meteor.h"

#include "eval/meteor-impl.h"

#include "common.h"

#include <libstemmer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_set>

namespace glm {

using namespace meteor_detail;

meteor_params meteor_default_params() { return meteor_params(); }

// --- MeteorStats -----------------------------------------------------------------------------------------

static std::string jdouble(double v) {  // Java's Double.toString for the integral values stats hold
    char buf[64];
    if (std::floor(v) == v && std::fabs(v) < 1e7) {
        snprintf(buf, sizeof(buf), "%.1f", v);
    } else {
        snprintf(buf, sizeof(buf), "%.17g", v);
    }
    return buf;
}

std::string meteor_stats::to_string() const {
    std::string s = jdouble(test_length) + " " + jdouble(ref_length) + " " + jdouble(test_function_words) + " " +
                    jdouble(ref_function_words);
    for (int i = 0; i < 4; ++i) {
        s += " " + jdouble(test_content[i]) + " " + jdouble(ref_content[i]) + " " + jdouble(test_function[i]) + " " +
             jdouble(ref_function[i]);
    }
    return s + " " + jdouble(chunks) + " " + jdouble(test_word_matches) + " " + jdouble(ref_word_matches);
}

meteor_stats meteor_stats::parse(const std::string & str) {
    std::vector<double> v;
    const char *        p = str.c_str();
    while (true) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (!*p) {
            break;
        }
        char *       end = nullptr;
        const double d   = strtod(p, &end);
        if (end == p) {
            fail("Meteor stats: not a number at '%.20s'", p);
        }
        v.push_back(d);
        p = end;
    }
    if (v.size() < 23) {
        fail("Meteor stats: %zu numbers, expected 23", v.size());
    }
    meteor_stats s;
    s.test_length         = v[0];
    s.ref_length          = v[1];
    s.test_function_words = v[2];
    s.ref_function_words  = v[3];
    for (int i = 0; i < 4; ++i) {
        s.test_content[i]  = v[4 + 4 * i];
        s.ref_content[i]   = v[5 + 4 * i];
        s.test_function[i] = v[6 + 4 * i];
        s.ref_function[i]  = v[7 + 4 * i];
    }
    s.chunks            = v[20];
    s.test_word_matches = v[21];
    s.ref_word_matches  = v[22];
    return s;
}

double meteor_stats::test_total_matches() const {
    double t = 0;
    for (int i = 0; i < 4; ++i) {
        t += test_content[i];
        t += test_function[i];
    }
    return t;
}

double meteor_stats::ref_total_matches() const {
    double t = 0;
    for (int i = 0; i < 4; ++i) {
        t += ref_content[i];
        t += ref_function[i];
    }
    return t;
}

// --- scorer state --------------------------------------------------------------------------------------

struct meteor_scorer::impl {
    meteor_params                      p;
    synonym_dict                       syn;
    std::unordered_set<std::u32string> function_words;
    nbp_map                            nbp;
    bool                               exact_resources = false;
};

namespace {

struct match {
    int start, match_start, module;  // line2 (reference) index, line1 (test) index; all matches have length 1
};

// PartialAlignment
struct partial {
    std::vector<int>     matches;  // per reference word: index into all_matches, -1 none
    int                  matches1 = 0, matches2 = 0, all1 = 0, all2 = 0, chunks = 0, idx = 0, last_end = -1, distance = 0;
    std::vector<uint8_t> used1, used2;
};

// Constants.PARTIAL_COMPARE_TOTAL as a strict weak order (x before y)
bool partial_before(const partial & x, const partial & y) {
    const int md = (y.matches1 + y.matches2) - (x.matches1 + x.matches2);
    if (md != 0) {
        return md < 0;
    }
    if (x.chunks != y.chunks) {
        return x.chunks < y.chunks;
    }
    return x.distance < y.distance;
}

struct stemmer {
    sb_stemmer * st;
    stemmer() : st(sb_stemmer_new("english", "UTF_8")) {
        if (!st) {
            fail("libstemmer: no English stemmer");
        }
    }
    ~stemmer() { sb_stemmer_delete(st); }
    std::string stem(const std::string & w) {
        const sb_symbol * r = sb_stemmer_stem(st, (const sb_symbol *) w.data(), (int) w.size());
        if (!r) {
            fail("libstemmer: out of memory");
        }
        return std::string((const char *) r, sb_stemmer_length(st));
    }
};

}  // namespace

meteor_scorer::meteor_scorer(const meteor_params & params) : p_(new impl) {
    p_->p = params;
    if (params.modules.size() != params.weights.size() || params.modules.empty() || params.modules.size() > 3) {
        fail("METEOR: %zu modules and %zu weights (expected 1 to 3 of each)", params.modules.size(), params.weights.size());
    }
    for (auto m : params.modules) {
        if (m == METEOR_SYNONYM && p_->syn.synsets.empty()) {
            // Meteor's own synonym files when its resources are given (their synset offsets are Princeton's;
            // Debian's patched data files shift some offsets, see the header), else WordNet itself
            const std::string own = params.resources_dir + "/synonym";
            if (!params.resources_dir.empty() && file_exists(own + "/english.synsets")) {
                p_->syn.load_meteor(own);
            } else {
                p_->syn.load(params.wordnet_dir);
            }
        }
    }
    if (!params.resources_dir.empty()) {
        const std::vector<uint8_t> fw = read_file(params.resources_dir + "/function/english.words");
        std::string                text(fw.begin(), fw.end());
        size_t                     b = 0;
        while (b < text.size()) {  // BufferedReader.readLine: each whole line is a word
            size_t e = text.find('\n', b);
            if (e == std::string::npos) {
                e = text.size();
            }
            std::string line = text.substr(b, e - b);
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            p_->function_words.insert(utf8_to_u32(line));
            b = e + 1;
        }
        const std::vector<uint8_t> nb = read_file(params.resources_dir + "/nonbreaking/english.prefixes");
        p_->nbp                       = parse_nbp(std::string(nb.begin(), nb.end()));
        p_->exact_resources           = true;
    } else {
        GLM_LOG_WARN("METEOR: no Meteor resources folder given (function words, nonbreaking prefixes); "
                     "scores are approximate");
    }
}

meteor_scorer::~meteor_scorer() = default;

bool meteor_scorer::exact_resources() const { return p_->exact_resources; }

std::vector<std::string> meteor_scorer::tokenize(const std::string & line) const {
    std::u32string s = utf8_to_u32(line);
    if (p_->p.normalize) {
        s = java_lower(normalize_line(s, p_->nbp));
    }
    std::vector<std::string> out;
    for (const auto & t : java_tokenize(s)) {
        out.push_back(u32_to_utf8(t));
    }
    return out;
}

// Aligner.align() + MeteorScorer.getMeteorStats(Alignment)
meteor_stats meteor_scorer::stats(const std::string & test, const std::string & ref, meteor_alignment * out) const {
    const meteor_params & P  = p_->p;
    const auto            w1 = tokenize(test), w2 = tokenize(ref);
    const size_t          n1 = w1.size(), n2 = w2.size();
    std::vector<std::u32string> u1, u2;
    std::vector<int32_t>        k1, k2;  // Stage word keys
    for (const auto & w : w1) {
        u1.push_back(utf8_to_u32(w));
        k1.push_back(java_hash(u1.back()));
    }
    for (const auto & w : w2) {
        u2.push_back(utf8_to_u32(w));
        k2.push_back(java_hash(u2.back()));
    }
    std::vector<match>            all;
    std::vector<std::vector<int>> at(n2);  // Stage.matches: matches starting at each reference word
    std::vector<int>              cov1(n1, 0), cov2(n2, 0);
    auto add = [&](int j, int i, int module) {
        at[j].push_back((int) all.size());
        all.push_back({ j, i, module });
        cov1[i]++;
        cov2[j]++;
    };
    // identical sentences need only exact matches (prevents beam search errors)
    const size_t mods_used = (n1 == n2 && k1 == k2) ? 1 : P.modules.size();
    for (size_t mod = 0; mod < mods_used; ++mod) {
        const meteor_module m = P.modules[mod];
        if (m == METEOR_EXACT) {
            for (size_t j = 0; j < n2; ++j) {
                for (size_t i = 0; i < n1; ++i) {
                    if (k1[i] == k2[j]) {
                        add((int) j, (int) i, (int) mod);
                    }
                }
            }
        } else if (m == METEOR_STEM) {
            stemmer              st;
            std::vector<int32_t> s1, s2;
            for (const auto & w : w1) {
                s1.push_back(java_hash(utf8_to_u32(st.stem(w))));
            }
            for (const auto & w : w2) {
                s2.push_back(java_hash(utf8_to_u32(st.stem(w))));
            }
            for (size_t j = 0; j < n2; ++j) {
                for (size_t i = 0; i < n1; ++i) {
                    if (s1[i] == s2[j] && k1[i] != k2[j]) {
                        add((int) j, (int) i, (int) mod);
                    }
                }
            }
        } else {
            std::vector<std::vector<int32_t>> y1, y2;
            for (const auto & w : w1) {
                y1.push_back(p_->syn.lookup(w));
            }
            for (const auto & w : w2) {
                y2.push_back(p_->syn.lookup(w));
            }
            for (size_t j = 0; j < n2; ++j) {
                for (size_t i = 0; i < n1; ++i) {
                    bool shared = false;
                    for (size_t a = 0, b = 0; a < y1[i].size() && b < y2[j].size() && !shared;) {
                        if (y1[i][a] == y2[j][b]) {
                            shared = true;
                        } else if (y1[i][a] < y2[j][b]) {
                            a++;
                        } else {
                            b++;
                        }
                    }
                    if (shared && k1[i] != k2[j]) {
                        add((int) j, (int) i, (int) mod);
                    }
                }
            }
        }
    }
    // one-to-one, non-overlapping matches are definite
    partial start;
    start.matches.assign(n2, -1);
    start.used1.assign(n1, 0);
    start.used2.assign(n2, 0);
    for (size_t j = 0; j < n2; ++j) {
        if (at[j].size() == 1) {
            const match & m = all[at[j][0]];
            if (cov2[j] == 1 && cov1[m.match_start] == 1) {
                start.matches[j]            = at[j][0];
                start.used2[j]              = 1;
                start.used1[m.match_start]  = 1;
            }
        }
    }
    // Aligner.resolve(): left-to-right beam search. Alignment weights are 1.0 for exact and 0.5 otherwise
    // (MeteorScorer sets them), and Java's `int += double` truncates: only exact matches raise matches1/2.
    auto w_align = [&](int module) { return P.modules[module] == METEOR_EXACT ? 1.0 : 0.5; };
    auto take    = [&](partial & q, const match & m) {
        q.matches1 = (int) ((double) q.matches1 + 1 * w_align(m.module));
        q.matches2 = (int) ((double) q.matches2 + 1 * w_align(m.module));
        q.all1 += 1;
        q.all2 += 1;
        if (q.last_end != -1 && m.match_start != q.last_end) {
            q.chunks++;
        }
        q.idx      = m.start + 1;
        q.last_end = m.match_start + 1;
    };
    std::vector<partial> next = { start }, paths;
    for (size_t cur = 0; cur <= n2; ++cur) {
        paths.swap(next);
        next.clear();
        std::stable_sort(paths.begin(), paths.end(), partial_before);
        for (size_t rank = 0; rank < (size_t) P.beam_size && rank < paths.size(); ++rank) {
            partial & path = paths[rank];
            if (cur == n2) {  // complete: close the last chunk
                if (path.last_end != -1) {
                    path.chunks++;
                }
                next.push_back(path);
                continue;
            }
            if (path.used2[cur]) {
                if ((int) cur < path.idx) {
                    next.push_back(path);
                } else if (path.matches[path.idx] != -1) {  // fixed match
                    const match & m = all[path.matches[path.idx]];
                    take(path, m);
                    path.distance += std::abs(m.start - m.match_start);
                    next.push_back(path);
                }
                continue;
            }
            for (int mi : at[cur]) {
                const match & m = all[mi];
                if (path.used2[m.start] || path.used1[m.match_start]) {
                    continue;
                }
                partial np             = path;
                np.used2[m.start]      = 1;
                np.used1[m.match_start] = 1;
                np.matches[cur]        = mi;
                take(np, m);
                path.distance += std::abs(m.start - m.match_start);  // sic: Meteor adds it to the parent path
                next.push_back(std::move(np));
            }
            if (path.last_end != -1) {  // skip this word
                path.chunks++;
                path.last_end = -1;
            }
            path.idx++;
            next.push_back(path);
        }
        if (next.empty()) {
            next.push_back(paths[0]);
        }
    }
    std::stable_sort(next.begin(), next.end(), partial_before);
    const partial & best = next[0];

    // function words and per-module totals
    meteor_stats st;
    st.test_length = (double) n1;
    st.ref_length  = (double) n2;
    std::vector<uint8_t> fw1(n1), fw2(n2);
    for (size_t i = 0; i < n1; ++i) {
        fw1[i] = p_->function_words.count(java_lower(u1[i])) > 0;
        st.test_function_words += fw1[i];
    }
    for (size_t j = 0; j < n2; ++j) {
        fw2[j] = p_->function_words.count(java_lower(u2[j])) > 0;
        st.ref_function_words += fw2[j];
    }
    for (size_t j = 0; j < n2; ++j) {
        if (best.matches[j] == -1) {
            continue;
        }
        const match & m = all[best.matches[j]];
        (fw1[m.match_start] ? st.test_function : st.test_content)[m.module] += 1;
        (fw2[m.start] ? st.ref_function : st.ref_content)[m.module] += 1;
    }
    // Aligner.getCountAndChunks()
    int chunks = 0, last_end = -1, matches1 = 0, matches2 = 0;
    for (size_t j = 0; j < n2;) {
        if (best.matches[j] == -1) {
            if (last_end != -1) {
                chunks++;
                last_end = -1;
            }
            j++;
        } else {
            const match & m = all[best.matches[j]];
            matches1++;
            matches2++;
            if (last_end != -1 && m.match_start != last_end) {
                chunks++;
            }
            j        = m.start + 1;
            last_end = m.match_start + 1;
        }
    }
    if (last_end != -1) {
        chunks++;
    }
    st.chunks            = chunks;
    st.test_word_matches = matches1;
    st.ref_word_matches  = matches2;
    if (out) {
        out->test_words = w1;
        out->ref_words  = w2;
        out->ref_to_test.assign(n2, -1);
        out->ref_stage.assign(n2, -1);
        for (size_t j = 0; j < n2; ++j) {
            if (best.matches[j] != -1) {
                out->ref_to_test[j] = all[best.matches[j]].match_start;
                out->ref_stage[j]   = all[best.matches[j]].module;
            }
        }
        out->chunks = chunks;
    }
    return st;
}

meteor_stats meteor_scorer::stats(const std::string & test, const std::vector<std::string> & refs) const {
    if (refs.empty()) {
        fail("METEOR: a hypothesis needs at least one reference");
    }
    meteor_stats best;
    double       best_score = -1;
    for (const auto & r : refs) {
        const meteor_stats s  = stats(test, r, nullptr);
        const double       sc = score(s);
        if (sc > best_score) {
            best       = s;
            best_score = sc;
        }
    }
    return best;
}

// MeteorScorer.computeMetrics(), operation for operation
double meteor_scorer::score(const meteor_stats & s) const {
    const meteor_params & P     = p_->p;
    const double          delta = P.delta, alpha = P.alpha;
    const double tw_len = (delta * (s.test_length - s.test_function_words)) + ((1.0 - delta) * s.test_function_words);
    const double rw_len = (delta * (s.ref_length - s.ref_function_words)) + ((1.0 - delta) * s.ref_function_words);
    double       tw = 0, rw = 0;
    const size_t nw = P.weights.size();
    for (size_t i = 0; i < nw; ++i) {
        tw += s.test_content[i] * P.weights[i] * delta;
    }
    for (size_t i = 0; i < nw; ++i) {
        rw += s.ref_content[i] * P.weights[i] * delta;
    }
    for (size_t i = 0; i < nw; ++i) {
        tw += s.test_function[i] * P.weights[i] * (1.0 - delta);
    }
    for (size_t i = 0; i < nw; ++i) {
        rw += s.ref_function[i] * P.weights[i] * (1.0 - delta);
    }
    const double precision = tw / tw_len;
    const double recall    = rw / rw_len;
    const double fmean     = 1.0 / (((1.0 - alpha) / precision) + (alpha / recall));
    double       frag;
    if (s.test_total_matches() == s.test_length && s.ref_total_matches() == s.ref_length && s.chunks == 1) {
        frag = 0;
    } else {
        frag = s.chunks / ((s.test_word_matches + s.ref_word_matches) / 2);
    }
    const double penalty = P.gamma * std::pow(frag, P.beta);
    const double sc      = fmean * (1.0 - penalty);
    return std::isnan(sc) ? 0.0 : std::max(sc, 0.0);
}

// MeteorStats.addStats() over all segments, then computeMetrics()
double meteor_scorer::corpus_score(const std::vector<meteor_stats> & segs) const {
    meteor_stats a;
    for (const auto & s : segs) {
        a.test_length += s.test_length;
        a.ref_length += s.ref_length;
        a.test_function_words += s.test_function_words;
        a.ref_function_words += s.ref_function_words;
        for (int i = 0; i < 4; ++i) {
            a.test_content[i] += s.test_content[i];
            a.ref_content[i] += s.ref_content[i];
            a.test_function[i] += s.test_function[i];
            a.ref_function[i] += s.ref_function[i];
        }
        if (!(s.test_total_matches() == s.test_length && s.ref_total_matches() == s.ref_length && s.chunks == 1.0)) {
            a.chunks += s.chunks;
        }
        a.test_word_matches += s.test_word_matches;
        a.ref_word_matches += s.ref_word_matches;
    }
    return score(a);
}

double meteor_scorer::evaluate(const std::vector<std::string> & hyps, const std::vector<std::vector<std::string>> & refs,
                               std::vector<double> * per_item) const {
    if (hyps.size() != refs.size()) {
        fail("METEOR: %zu hypotheses and %zu reference lists", hyps.size(), refs.size());
    }
    std::vector<meteor_stats> segs;
    if (per_item) {
        per_item->clear();
    }
    for (size_t i = 0; i < hyps.size(); ++i) {
        std::string h = hyps[i];  // pycocoevalcap: hypothesis_str.replace('|||', '')
        for (size_t k; (k = h.find("|||")) != std::string::npos;) {
            h.erase(k, 3);
        }
        std::vector<std::string> rs;  // the jar splits the line on '|||'
        for (const auto & r : refs[i]) {
            size_t b = 0;
            while (true) {
                const size_t k = r.find("|||", b);
                rs.push_back(r.substr(b, k == std::string::npos ? std::string::npos : k - b));
                if (k == std::string::npos) {
                    break;
                }
                b = k + 3;
            }
        }
        segs.push_back(stats(h, rs));
        if (per_item) {
            per_item->push_back(score(segs.back()));
        }
    }
    return corpus_score(segs);
}

}  // namespace glm
