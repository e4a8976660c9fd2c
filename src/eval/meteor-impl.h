// eval/meteor-impl.h: internals shared by meteor.cpp, meteor-text.cpp and meteor-wordnet.cpp (not a public
// API). Text is handled as UTF-32 code points, as Java's regex engine sees it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace glm {
namespace meteor_detail {

std::u32string utf8_to_u32(const std::string & s);  // malformed bytes become U+FFFD, as Java's decoder does
std::string    u32_to_utf8(const std::u32string & s);
int32_t        java_hash(const std::u32string & s);  // String.hashCode() (over UTF-16 code units)
std::u32string java_lower(const std::u32string & s);  // String.toLowerCase()
std::vector<std::u32string> java_tokenize(const std::u32string & s);  // StringTokenizer(" \t\n\r\f")

// Nonbreaking prefixes: 1 = any context, 2 = only before a number (Constants.NBP_ANY / NBP_NUM_ONLY).
using nbp_map = std::unordered_map<std::u32string, int>;
nbp_map        parse_nbp(const std::string & text);
// Normalizer.normalizeLine(line, English, keepPunctuation = true).
std::u32string normalize_line(const std::u32string & line, const nbp_map & nbp);

// Meteor's SynonymDictionary built from WordNet 3.0 files as scripts/build_wordnet_files.py builds its
// english.synsets / english.exceptions.
struct synonym_dict {
    std::unordered_map<std::string, std::vector<int32_t>>     synsets;  // word -> synset offsets (all parts of speech)
    std::unordered_map<std::string, std::vector<std::string>> bases;    // inflected form -> base forms

    void load(const std::string & wordnet_dir);
    // Meteor's own english.synsets / english.exceptions (pairs of lines), from its resources/synonym folder
    void load_meteor(const std::string & synonym_dir);
    // getSynSets(word) ∪ getStemSynSets(word), as SynonymMatcher uses them
    std::vector<int32_t> lookup(const std::string & word) const;

private:
    const std::vector<int32_t> * find(const std::string & w) const;
    std::string                  morph(const std::string & word) const;
};

}  // namespace meteor_detail
}  // namespace glm
