// eval/meteor-wordnet.cpp: Meteor's synonym dictionary from WordNet 3.0 files (Debian wordnet-base:
// /usr/share/wordnet). Builds in memory what Meteor's scripts/build_wordnet_files.py writes into
// english.synsets / english.exceptions, and looks words up as SynonymDictionary.java does:
// - synsets: index.sense, lines grouped by lemma (the text before '%') in file order; a group's set of synset
//   offsets (the second column, parsed as an integer, so offsets of different parts of speech are not told
//   apart) replaces any earlier set of the same lemma;
// - exceptions: {adj,adv,noun,verb}.exc lines "inflected base [base...]": inflected -> bases;
// - a word's synsets = its own ∪ (its bases' if it is an inflected exception, else those of morph(word)),
//   morph() being WordNet's suffix rules as Meteor codes them (first rule whose result is a lemma wins).
#include "eval/meteor-impl.h"

#include "common.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace glm {
namespace meteor_detail {

static std::vector<std::string> split_ws(const std::string & line) {
    std::vector<std::string> out;
    size_t                   i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n' || line[i] == '\f')) {
            i++;
        }
        const size_t b = i;
        while (i < line.size() && !(line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n' || line[i] == '\f')) {
            i++;
        }
        if (i > b) {
            out.push_back(line.substr(b, i - b));
        }
    }
    return out;
}

static void for_each_line(const std::string & path, const std::function<void(const std::string &)> & fn) {
    const std::vector<uint8_t> bytes = read_file(path);
    size_t                     b     = 0;
    while (b < bytes.size()) {
        size_t e = b;
        while (e < bytes.size() && bytes[e] != '\n') {
            e++;
        }
        fn(std::string((const char *) bytes.data() + b, e - b));
        b = e + 1;
    }
}

void synonym_dict::load(const std::string & dir) {
    synsets.clear();
    bases.clear();
    std::string          cur;
    std::vector<int32_t> cur_set;
    auto                 flush = [&]() {
        if (!cur.empty()) {
            std::sort(cur_set.begin(), cur_set.end());
            cur_set.erase(std::unique(cur_set.begin(), cur_set.end()), cur_set.end());
            synsets[cur] = cur_set;
        }
    };
    const std::string sense = dir + "/index.sense";
    for_each_line(sense, [&](const std::string & line) {
        const auto t = split_ws(line);
        if (t.size() < 2) {
            return;
        }
        const std::string word = t[0].substr(0, t[0].find('%'));
        char *            end  = nullptr;
        const long        off  = strtol(t[1].c_str(), &end, 10);
        if (*end != '\0') {
            fail("%s: synset offset '%s' is not a number", sense.c_str(), t[1].c_str());
        }
        if (word != cur) {
            flush();
            cur = word;
            cur_set.clear();
        }
        cur_set.push_back((int32_t) off);
    });
    flush();
    if (synsets.empty()) {
        fail("%s: no senses read", sense.c_str());
    }
    for (const char * f : { "adj.exc", "adv.exc", "noun.exc", "verb.exc" }) {
        for_each_line(dir + "/" + f, [&](const std::string & line) {
            const auto t = split_ws(line);
            for (size_t i = 1; i < t.size(); ++i) {
                bases[t[0]].push_back(t[i]);
            }
        });
    }
}

void synonym_dict::load_meteor(const std::string & dir) {
    synsets.clear();
    bases.clear();
    std::vector<std::string> lines;
    for_each_line(dir + "/english.synsets", [&](const std::string & l) { lines.push_back(l); });
    for (size_t i = 0; i + 1 < lines.size(); i += 2) {  // word, then its synset offsets
        std::vector<int32_t> set;
        for (const auto & t : split_ws(lines[i + 1])) {
            set.push_back((int32_t) strtol(t.c_str(), nullptr, 10));
        }
        std::sort(set.begin(), set.end());
        set.erase(std::unique(set.begin(), set.end()), set.end());
        synsets[lines[i]] = set;
    }
    lines.clear();
    for_each_line(dir + "/english.exceptions", [&](const std::string & l) { lines.push_back(l); });
    for (size_t i = 0; i + 1 < lines.size(); i += 2) {  // base, then its inflected forms
        for (const auto & form : split_ws(lines[i + 1])) {
            bases[form].push_back(lines[i]);
        }
    }
    if (synsets.empty()) {
        fail("%s/english.synsets: no entries", dir.c_str());
    }
}

const std::vector<int32_t> * synonym_dict::find(const std::string & w) const {
    auto it = synsets.find(w);
    return it == synsets.end() ? nullptr : &it->second;
}

// SynonymDictionary.morph(): WordNet's detachment rules; "" when no rule yields a known lemma.
std::string synonym_dict::morph(const std::string & word) const {
    static const char * sufx[] = { "s", "ses", "xes", "zes", "ches", "shes", "men", "ies",  // nouns
                                   "s", "ies", "es", "es", "ed", "ed", "ing", "ing",      // verbs
                                   "er", "est", "er", "est" };                            // adjectives
    static const char * addr[] = { "", "s", "x", "z", "ch", "sh", "man", "y", "", "y", "e", "", "e", "", "e", "",
                                   "", "", "e", "e" };
    auto ends_with = [](const std::string & s, const std::string & x) {
        return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
    };
    // Java: word.length() counts UTF-16 units
    const size_t len = utf8_to_u32(word).size();
    // words ending in "ful" keep "ful" as an ending, but the rules below are tried on the whole word (as in the
    // Java code, where tmp is reset), so no suffix can match them
    const std::string end = ends_with(word, "ful") ? "ful" : "";
    if (ends_with(word, "ss") || len <= 2) {
        return word;
    }
    for (int i = 0; i < 20; ++i) {
        if (ends_with(word, sufx[i])) {
            const std::string r = word.substr(0, word.size() - strlen(sufx[i])) + addr[i];
            if (find(r)) {
                return r + end;
            }
        }
    }
    return "";
}

std::vector<int32_t> synonym_dict::lookup(const std::string & word) const {
    std::vector<int32_t> out;
    if (auto * s = find(word)) {
        out = *s;
    }
    auto it = bases.find(word);
    if (it != bases.end()) {
        for (const auto & b : it->second) {
            if (auto * s = find(b)) {
                out.insert(out.end(), s->begin(), s->end());
            }
        }
    } else if (auto * s = find(morph(word))) {
        out.insert(out.end(), s->begin(), s->end());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace meteor_detail
}  // namespace glm
