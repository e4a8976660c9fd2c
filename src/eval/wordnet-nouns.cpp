// eval/wordnet-nouns.cpp: WordNet's noun hypernym graph (data.noun) and Wu-Palmer similarity (see wordnet-nouns.h).
#include "eval/wordnet-nouns.h"

#include "common.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <unordered_map>

namespace glm {

struct wordnet_nouns::impl {
    struct synset {
        uint32_t                 offset = 0;
        std::vector<std::string> lemmas;     // lower-case
        std::vector<int>         hypernyms;  // '@' and '@i'
        int                      min_depth = -1, max_depth = -1;
    };
    std::vector<synset>                               synsets;
    std::unordered_map<std::string, std::vector<int>> by_lemma;      // index.noun order (most frequent first)
    std::unordered_map<std::string, int>              n_tagged;      // index.noun tagsense_cnt
    std::unordered_map<std::string, std::vector<std::string>> exc;   // noun.exc: inflected form -> bases

    void load(const std::string & dir);
    int  depth(int s, bool want_max);
    // ancestors of s (s included) with their shortest hypernym-path distance
    std::vector<std::pair<int, int>> ancestors(int s) const;
};

static std::vector<std::string> split_spaces(const char * b, const char * e) {
    std::vector<std::string> out;
    while (b < e) {
        while (b < e && (*b == ' ' || *b == '\r')) {
            ++b;
        }
        const char * s = b;
        while (b < e && *b != ' ' && *b != '\r') {
            ++b;
        }
        if (b > s) {
            out.emplace_back(s, b);
        }
    }
    return out;
}

static void for_each_line(const std::string & path, const std::function<void(const std::string &, int)> & fn) {
    const std::vector<uint8_t> bytes = read_file(path);
    const char *               p     = (const char *) bytes.data();
    const char *               end   = p + bytes.size();
    int                        no    = 0;
    while (p < end) {
        const char * e = (const char *) memchr(p, '\n', end - p);
        if (!e) {
            e = end;
        }
        fn(std::string(p, e), ++no);
        p = e + 1;
    }
}

static std::string lower_ascii(std::string s) {
    for (char & c : s) {
        c = (char) std::tolower((unsigned char) c);
    }
    return s;
}

void wordnet_nouns::impl::load(const std::string & dir) {
    const std::string          path  = dir + "/data.noun";
    const std::vector<uint8_t> bytes = read_file(path);
    std::unordered_map<uint32_t, int>                  index;
    std::vector<std::vector<uint32_t>>                 hyper_offsets;
    const char *                                       p   = (const char *) bytes.data();
    const char *                                       end = p + bytes.size();
    int                                                line_no = 0;
    while (p < end) {
        const char * e = (const char *) memchr(p, '\n', end - p);
        if (!e) {
            e = end;
        }
        ++line_no;
        if (e > p && *p != ' ') {  // header lines (the licence) start with spaces
            const char * bar = (const char *) memchr(p, '|', e - p);
            const auto   t   = split_spaces(p, bar ? bar : e);
            auto         bad = [&](const char * what) {
                fail("%s:%d: malformed synset line (%s)", path.c_str(), line_no, what);
            };
            if (t.size() < 4) {
                bad("fewer than 4 fields");
            }
            synset s;
            char * ep = nullptr;
            s.offset  = (uint32_t) strtoul(t[0].c_str(), &ep, 10);
            if (*ep) {
                bad("offset");
            }
            const long w_cnt = strtol(t[3].c_str(), &ep, 16);
            if (*ep || w_cnt < 1 || (size_t) (4 + 2 * w_cnt + 1) > t.size()) {
                bad("word count");
            }
            for (long i = 0; i < w_cnt; ++i) {
                s.lemmas.push_back(lower_ascii(t[4 + 2 * i]));
            }
            size_t     k     = 4 + 2 * w_cnt;
            const long p_cnt = strtol(t[k].c_str(), &ep, 10);
            if (*ep || p_cnt < 0 || k + 1 + 4 * p_cnt > t.size()) {
                bad("pointer count");
            }
            std::vector<uint32_t> hyp;
            for (long i = 0; i < p_cnt; ++i) {
                const std::string & sym = t[k + 1 + 4 * i];
                if ((sym == "@" || sym == "@i") && t[k + 3 + 4 * i] == "n") {
                    hyp.push_back((uint32_t) strtoul(t[k + 2 + 4 * i].c_str(), nullptr, 10));
                }
            }
            index[s.offset] = (int) synsets.size();
            synsets.push_back(std::move(s));
            hyper_offsets.push_back(std::move(hyp));
        }
        p = e + 1;
    }
    if (synsets.empty()) {
        fail("%s: no noun synsets read", path.c_str());
    }
    for (size_t i = 0; i < synsets.size(); ++i) {
        for (uint32_t off : hyper_offsets[i]) {
            auto it = index.find(off);
            if (it == index.end()) {
                fail("%s: synset %08u points to a hypernym %08u that is not in the file", path.c_str(),
                     synsets[i].offset, off);
            }
            synsets[i].hypernyms.push_back(it->second);
        }
    }
    for (size_t i = 0; i < synsets.size(); ++i) {
        depth((int) i, false);
        depth((int) i, true);
    }
    // index.noun: "lemma n synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offset..." (offsets by frequency)
    const std::string ipath = dir + "/index.noun";
    for_each_line(ipath, [&](const std::string & line, int no) {
        if (line.empty() || line[0] == ' ') {
            return;
        }
        const auto t = split_spaces(line.data(), line.data() + line.size());
        if (t.size() < 4) {
            fail("%s:%d: malformed index line", ipath.c_str(), no);
        }
        const long n_syn = strtol(t[2].c_str(), nullptr, 10), p_cnt = strtol(t[3].c_str(), nullptr, 10);
        const size_t k = 4 + (size_t) std::max(0L, p_cnt);
        if (n_syn < 1 || k + 2 + (size_t) n_syn > t.size()) {
            fail("%s:%d: malformed index line", ipath.c_str(), no);
        }
        std::vector<int> v;
        for (long i = 0; i < n_syn; ++i) {
            auto it = index.find((uint32_t) strtoul(t[k + 2 + i].c_str(), nullptr, 10));
            if (it == index.end()) {
                fail("%s:%d: synset %s is not in data.noun", ipath.c_str(), no, t[k + 2 + i].c_str());
            }
            v.push_back(it->second);
        }
        by_lemma[t[0]]  = std::move(v);
        n_tagged[t[0]]  = (int) strtol(t[k + 1].c_str(), nullptr, 10);
    });
    if (by_lemma.empty()) {
        fail("%s: no lemmas read", ipath.c_str());
    }
    for_each_line(dir + "/noun.exc", [&](const std::string & line, int) {
        const auto t = split_spaces(line.data(), line.data() + line.size());
        for (size_t i = 1; i < t.size(); ++i) {
            exc[t[0]].push_back(t[i]);
        }
    });
    // the suppletive plural of "person", which noun.exc lacks ("people" is a lemma of its own: a group)
    exc["people"].push_back("person");
}

// Minimum / maximum number of hypernym steps to a root (memoised; -2 marks a synset in progress, so a cycle, which
// WordNet's noun graph does not have, is reported instead of recursing forever).
int wordnet_nouns::impl::depth(int s, bool want_max) {
    int & slot = want_max ? synsets[s].max_depth : synsets[s].min_depth;
    if (slot >= 0) {
        return slot;
    }
    if (slot == -2) {
        fail("data.noun: hypernym cycle through synset %08u", synsets[s].offset);
    }
    if (synsets[s].hypernyms.empty()) {
        return slot = 0;
    }
    slot  = -2;
    int d = want_max ? 0 : 1 << 30;
    for (int h : synsets[s].hypernyms) {
        const int hd = depth(h, want_max);
        d            = want_max ? std::max(d, hd + 1) : std::min(d, hd + 1);
    }
    return slot = d;
}

std::vector<std::pair<int, int>> wordnet_nouns::impl::ancestors(int s) const {
    std::vector<std::pair<int, int>> out = { { s, 0 } };
    for (size_t i = 0; i < out.size(); ++i) {  // breadth first: the first visit is the shortest distance
        for (int h : synsets[out[i].first].hypernyms) {
            bool seen = false;
            for (const auto & o : out) {
                if (o.first == h) {
                    seen = true;
                    break;
                }
            }
            if (!seen) {
                out.push_back({ h, out[i].second + 1 });
            }
        }
    }
    return out;
}

wordnet_nouns::wordnet_nouns(const std::string & dir) : p_(std::make_unique<impl>()) { p_->load(dir); }

wordnet_nouns::~wordnet_nouns() = default;

size_t wordnet_nouns::n_synsets() const { return p_->synsets.size(); }

uint32_t wordnet_nouns::offset(int s) const { return p_->synsets.at(s).offset; }

std::string wordnet_nouns::first_lemma(int s) const { return p_->synsets.at(s).lemmas.at(0); }

std::vector<std::string> wordnet_nouns::lemmas(const std::string & word_in) const {
    std::string w = lower_ascii(word_in);
    std::replace(w.begin(), w.end(), ' ', '_');
    std::vector<std::string> out;
    auto add = [&](const std::string & f) {
        if (p_->by_lemma.count(f) && std::find(out.begin(), out.end(), f) == out.end()) {
            out.push_back(f);
        }
    };
    if (w.empty()) {
        return out;
    }
    // NLTK's _morphy for nouns: an exception gives the form and its bases; otherwise the form and one round of
    // the suffix rules
    auto it = p_->exc.find(w);
    if (it != p_->exc.end()) {
        add(w);
        for (const auto & b : it->second) {
            add(b);
        }
        return out;
    }
    add(w);
    static const char * sufx[] = { "s", "ses", "xes", "zes", "ches", "shes", "men", "ies" };
    static const char * addr[] = { "", "s", "x", "z", "ch", "sh", "man", "y" };
    for (int i = 0; i < 8; ++i) {
        const size_t n = strlen(sufx[i]);
        if (w.size() > n && w.compare(w.size() - n, n, sufx[i]) == 0) {
            add(w.substr(0, w.size() - n) + addr[i]);
        }
    }
    return out;
}

std::vector<int> wordnet_nouns::synsets(const std::string & word, bool tagged_only) const {
    std::vector<int> out;
    for (const auto & l : lemmas(word)) {
        const auto & v = p_->by_lemma.at(l);
        const size_t n = tagged_only ? std::max<size_t>(1, std::min<size_t>(v.size(), p_->n_tagged.at(l))) : v.size();
        for (size_t i = 0; i < n; ++i) {
            if (std::find(out.begin(), out.end(), v[i]) == out.end()) {
                out.push_back(v[i]);
            }
        }
    }
    return out;
}

double wordnet_nouns::wup(int a, int b) const {
    if (a == b) {
        return 1.0;
    }
    const auto A = p_->ancestors(a), B = p_->ancestors(b);
    double     best = 0.0;
    for (const auto & x : A) {
        for (const auto & y : B) {
            if (x.first == y.first) {
                const double depth = p_->synsets[x.first].max_depth + 1;
                best               = std::max(best, 2.0 * depth / ((x.second + depth) + (y.second + depth)));
            }
        }
    }
    return best;
}

double wordnet_nouns::word_wup(const std::string & a, const std::string & b) const {
    const auto sa = synsets(a, true), sb = synsets(b, true);
    double     best = 0.0;
    for (int x : sa) {
        for (int y : sb) {
            best = std::max(best, wup(x, y));
        }
    }
    return best;
}

}  // namespace glm
