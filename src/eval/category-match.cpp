// eval/category-match.cpp: head noun -> ground-truth category by word similarity (see category-match.h).
#include "eval/category-match.h"

#include "common.h"
#include "eval/wordnet-nouns.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace glm {

std::string category_text_normalize(const std::string & s) {
    std::string t = s;
    for (char & c : t) {
        c = (char) std::tolower((unsigned char) c);
    }
    for (const char * art : { "the ", "an ", "a " }) {  // the official order: 'the ', then 'an ', then 'a '
        const size_t n = strlen(art);
        if (t.compare(0, n, art) == 0) {
            return t.substr(n);
        }
    }
    return t;
}

std::vector<std::string> category_text_words(const std::string & s) {
    std::vector<std::string> out;
    std::string              cur;
    auto                     flush = [&]() {
        if (!cur.empty()) {
            out.push_back(cur);
            cur.clear();
        }
    };
    for (unsigned char c : s) {
        if (std::isspace(c)) {
            flush();
        } else if (c < 128 && std::ispunct(c) && c != '\'') {
            flush();
            out.emplace_back(1, (char) c);
        } else {
            cur += (char) c;
        }
    }
    flush();
    return out;
}

category_match match_category(const word_similarity & sim, const std::string & head,
                              const std::vector<category_candidate> & candidates, double threshold) {
    category_match m;
    for (const auto & c : candidates) {
        const double s = sim.similarity(head, c.name);
        if (m.category_id < 0 || s > m.score) {
            m.category_id = c.id;
            m.name        = c.name;
            m.score       = s;
        }
    }
    m.matched = m.category_id >= 0 && m.score >= threshold;
    return m;
}

// ---- WordNet ----

namespace {

class wordnet_similarity : public word_similarity {
public:
    explicit wordnet_similarity(const std::string & dir) : wn_(dir) {}
    std::string name() const override { return "wordnet-wup"; }
    double      default_threshold() const override { return k_category_thresh_wordnet; }
    double      similarity(const std::string & a, const std::string & b) const override {
        const auto fa = forms(a), fb = forms(b);
        double     best = 0.0;
        for (const auto & x : fa) {
            for (const auto & y : fb) {
                best = std::max(best, wn_.word_wup(x, y));
            }
        }
        return best;
    }

private:
    // the whole text as one lemma, and for several words also its last word
    static std::vector<std::string> forms(const std::string & s) {
        std::vector<std::string> words;
        for (const auto & w : category_text_words(category_text_normalize(s))) {
            if (!(w.size() == 1 && std::ispunct((unsigned char) w[0])) || w == "-") {
                words.push_back(w);
            }
        }
        if (words.empty()) {
            return {};
        }
        std::string joined;
        for (size_t i = 0; i < words.size(); ++i) {
            if (words[i] == "-") {
                joined += "-";
                continue;
            }
            if (!joined.empty() && joined.back() != '-') {
                joined += "_";
            }
            joined += words[i];
        }
        std::vector<std::string> out = { joined };
        if (words.size() > 1 && words.back() != "-" && words.back() != joined) {
            out.push_back(words.back());
        }
        return out;
    }

    wordnet_nouns wn_;
};

// ---- word vectors ----

class vector_similarity : public word_similarity {
public:
    vector_similarity(const std::string & path, int64_t max_words) : path_(path) { load(max_words); }
    std::string name() const override {
        const size_t slash = path_.find_last_of('/');
        return "vectors:" + (slash == std::string::npos ? path_ : path_.substr(slash + 1));
    }
    double default_threshold() const override { return k_category_thresh_vectors; }
    double similarity(const std::string & a, const std::string & b) const override {
        const std::vector<double> va = embed(a), vb = embed(b);
        double                    dot = 0, na = 0, nb = 0;
        for (int i = 0; i < dim_; ++i) {
            dot += va[i] * vb[i];
            na += va[i] * va[i];
            nb += vb[i] * vb[i];
        }
        // torch.cosine_similarity: x.y / (max(|x|, eps) * max(|y|, eps)), eps = 1e-8
        return dot / (std::max(std::sqrt(na), 1e-8) * std::max(std::sqrt(nb), 1e-8));
    }

private:
    // spaCy's Doc.vector: the mean over tokens, out-of-vocabulary tokens as zero vectors
    std::vector<double> embed(const std::string & s) const {
        std::vector<double> v(dim_, 0.0);
        const auto          words = category_text_words(category_text_normalize(s));
        for (const auto & w : words) {
            auto it = index_.find(w);
            if (it == index_.end()) {
                continue;
            }
            const float * row = data_.data() + (size_t) it->second * dim_;
            for (int i = 0; i < dim_; ++i) {
                v[i] += row[i];
            }
        }
        if (!words.empty()) {
            for (double & x : v) {
                x /= (double) words.size();
            }
        }
        return v;
    }

    void load(int64_t max_words) {
        FILE * f = fopen(path_.c_str(), "rb");
        if (!f) {
            fail("cannot open word-vector file %s", path_.c_str());
        }
        char *   line = nullptr;
        size_t   cap  = 0;
        ssize_t  len;
        int64_t  line_no = 0;
        std::vector<std::string> fields;
        try {
            while ((len = getline(&line, &cap, f)) >= 0) {
                ++line_no;
                fields.clear();
                const char * p = line;
                const char * e = line + len;
                while (p < e) {
                    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
                        ++p;
                    }
                    const char * b = p;
                    while (p < e && !(*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
                        ++p;
                    }
                    if (p > b) {
                        fields.emplace_back(b, p);
                    }
                }
                if (fields.empty()) {
                    continue;
                }
                if (line_no == 1 && fields.size() == 2 && fields[0].find_first_not_of("0123456789") == std::string::npos &&
                    fields[1].find_first_not_of("0123456789") == std::string::npos) {
                    continue;  // fastText header "count dim"
                }
                if (dim_ == 0) {
                    dim_ = (int) fields.size() - 1;
                    if (dim_ < 1) {
                        fail("%s:%lld: expected 'word v1 ... vd'", path_.c_str(), (long long) line_no);
                    }
                }
                if ((int) fields.size() < dim_ + 1) {
                    fail("%s:%lld: %d values, expected %d (the first line's dimension)", path_.c_str(),
                         (long long) line_no, (int) fields.size() - 1, dim_);
                }
                // a few GloVe entries contain spaces: the word is everything before the last dim values
                const size_t nw = fields.size() - dim_;
                std::string  word = fields[0];
                for (size_t i = 1; i < nw; ++i) {
                    word += " " + fields[i];
                }
                const size_t row0 = data_.size();
                data_.resize(row0 + dim_);
                for (int i = 0; i < dim_; ++i) {
                    char * ep     = nullptr;
                    data_[row0 + i] = strtof(fields[nw + i].c_str(), &ep);
                    if (*ep) {
                        fail("%s:%lld: '%s' is not a number", path_.c_str(), (long long) line_no,
                             fields[nw + i].c_str());
                    }
                }
                const int64_t row = (int64_t) (row0 / dim_);
                if (!index_.emplace(word, row).second) {
                    data_.resize(row0);  // keep the first (most frequent) entry of a repeated word
                }
                if (max_words > 0 && (int64_t) index_.size() >= max_words) {
                    break;
                }
            }
        } catch (...) {
            free(line);
            fclose(f);
            throw;
        }
        free(line);
        fclose(f);
        if (index_.empty()) {
            fail("%s: no word vectors read", path_.c_str());
        }
        GLM_LOG_INFO("word vectors: %zu words of dimension %d from %s\n", index_.size(), dim_, path_.c_str());
    }

    std::string                              path_;
    int                                      dim_ = 0;
    std::vector<float>                       data_;
    std::unordered_map<std::string, int64_t> index_;
};

}  // namespace

std::unique_ptr<word_similarity> word_similarity_wordnet(const std::string & dir) {
    return std::make_unique<wordnet_similarity>(dir);
}

std::unique_ptr<word_similarity> word_similarity_vectors(const std::string & path, int64_t max_words) {
    return std::make_unique<vector_similarity>(path, max_words);
}

}  // namespace glm
