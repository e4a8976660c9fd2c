// eval/meteor-text.cpp: Meteor's text handling: UTF-8 <-> code points, Java's String.hashCode and
// toLowerCase, StringTokenizer, and the Normalizer (edu/cmu/meteor/util/Normalizer.java, English, -norm).
// Each regular expression of the Normalizer is a fixed-length pattern; it is applied here as a left-to-right
// scan that resumes after each match, which is what Java's Matcher.replaceAll does for such patterns.
#include "eval/meteor-impl.h"

#include <cwctype>
#include <functional>
#include <locale.h>
#include <wctype.h>

namespace glm {
namespace meteor_detail {

std::u32string utf8_to_u32(const std::string & s) {
    std::u32string out;
    size_t         i = 0;
    while (i < s.size()) {
        const uint8_t c = (uint8_t) s[i];
        const int     n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        char32_t      v = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
        bool          ok = n >= 0;
        for (int k = 1; ok && k <= n; ++k) {
            if (i + k >= s.size() || ((uint8_t) s[i + k] >> 6) != 2) {
                ok = false;
            } else {
                v = (v << 6) | ((uint8_t) s[i + k] & 0x3f);
            }
        }
        if (!ok) {
            out.push_back(0xFFFD);
            i++;
            continue;
        }
        out.push_back(v);
        i += n + 1;
    }
    return out;
}

std::string u32_to_utf8(const std::u32string & s) {
    std::string out;
    for (char32_t c : s) {
        if (c < 0x80) {
            out.push_back((char) c);
        } else if (c < 0x800) {
            out.push_back((char) (0xC0 | (c >> 6)));
            out.push_back((char) (0x80 | (c & 0x3f)));
        } else if (c < 0x10000) {
            out.push_back((char) (0xE0 | (c >> 12)));
            out.push_back((char) (0x80 | ((c >> 6) & 0x3f)));
            out.push_back((char) (0x80 | (c & 0x3f)));
        } else {
            out.push_back((char) (0xF0 | (c >> 18)));
            out.push_back((char) (0x80 | ((c >> 12) & 0x3f)));
            out.push_back((char) (0x80 | ((c >> 6) & 0x3f)));
            out.push_back((char) (0x80 | (c & 0x3f)));
        }
    }
    return out;
}

int32_t java_hash(const std::u32string & s) {
    uint32_t h = 0;
    for (char32_t c : s) {
        if (c >= 0x10000) {  // surrogate pair
            h = 31 * h + (uint32_t) (0xD800 + ((c - 0x10000) >> 10));
            h = 31 * h + (uint32_t) (0xDC00 + ((c - 0x10000) & 0x3ff));
        } else {
            h = 31 * h + (uint32_t) c;
        }
    }
    return (int32_t) h;
}

static bool cased_letter(char32_t c, locale_t loc) {
    return loc ? (iswupper_l((wint_t) c, loc) || iswlower_l((wint_t) c, loc)) : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

std::u32string java_lower(const std::u32string & s) {
    static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);  // never freed: process-wide
    std::u32string        out;
    for (size_t i = 0; i < s.size(); ++i) {
        const char32_t c = s[i];
        if (c < 0x80) {
            out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
        } else if (c == 0x130) {  // capital I with dot above -> i + combining dot (Java, non-Turkish locale)
            out.push_back('i');
            out.push_back(0x307);
        } else if (c == 0x3A3) {  // final sigma: after a cased letter and not before one
            const bool after  = i > 0 && cased_letter(s[i - 1], loc);
            const bool before = i + 1 < s.size() && cased_letter(s[i + 1], loc);
            out.push_back(after && !before ? 0x3C2 : 0x3C3);
        } else {
            out.push_back(loc ? (char32_t) towlower_l((wint_t) c, loc) : c);
        }
    }
    return out;
}

static bool java_delim(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::vector<std::u32string> java_tokenize(const std::u32string & s) {
    std::vector<std::u32string> out;
    size_t                      i = 0;
    while (i < s.size()) {
        while (i < s.size() && java_delim(s[i])) {
            i++;
        }
        const size_t b = i;
        while (i < s.size() && !java_delim(s[i])) {
            i++;
        }
        if (i > b) {
            out.push_back(s.substr(b, i - b));
        }
    }
    return out;
}

nbp_map parse_nbp(const std::string & text) {
    // Normalizer.nbpList: first token is the prefix (lines starting with '#' skipped), "#NUMERIC_ONLY#" as
    // second token marks a number-only prefix.
    nbp_map m;
    size_t  b = 0;
    while (b < text.size()) {
        size_t e = text.find('\n', b);
        if (e == std::string::npos) {
            e = text.size();
        }
        std::string line = text.substr(b, e - b);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        b                = e + 1;
        const auto toks  = java_tokenize(utf8_to_u32(line));
        if (toks.empty() || toks[0][0] == U'#') {
            continue;
        }
        m[toks[0]] = toks.size() > 1 && toks[1] == U"#NUMERIC_ONLY#" ? 2 : 1;
    }
    return m;
}

// Character classes of the Normalizer (alpha / alnum include Latin-1, Latin Extended-A and Cyrillic ranges).
static bool is_alpha(char32_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == 0x160 || c == 0x17D || c == 0x161 || c == 0x17E ||
           c == 0x178 || (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x17E) ||
           (c >= 0x400 && c <= 0x4FF) || (c >= 0x500 && c <= 0x527) || (c >= 0xA640 && c <= 0xA66E) ||
           (c >= 0xA67E && c <= 0xA697) || (c >= 0x1D00 && c <= 0x1D7F);
}
static bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }  // Java \p{Digit} is ASCII
static bool is_alnum(char32_t c) { return is_digit(c) || is_alpha(c); }
static bool is_jspace(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r'; }
static bool is_white(char32_t c) {  // r_white's class
    return c == ' ' || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xA0;
}

using pred = std::function<bool(char32_t)>;

// replaceAll of the pattern ([a])[mid]([b]) -> a + repl_mid + b
static std::u32string replace3(const std::u32string & s, const pred & a, char32_t mid, const pred & b,
                               const std::u32string & repl_mid) {
    std::u32string out;
    size_t         i = 0;
    while (i < s.size()) {
        if (i + 2 < s.size() && a(s[i]) && s[i + 1] == mid && b(s[i + 2])) {
            out.push_back(s[i]);
            out += repl_mid;
            out.push_back(s[i + 2]);
            i += 3;
        } else {
            out.push_back(s[i++]);
        }
    }
    return out;
}

// String.replace(literal, literal): left to right, non-overlapping
static std::u32string replace_lit(const std::u32string & s, const std::u32string & from, const std::u32string & to) {
    std::u32string out;
    size_t         i = 0;
    while (true) {
        const size_t j = s.find(from, i);
        if (j == std::u32string::npos) {
            out.append(s, i, std::u32string::npos);
            return out;
        }
        out.append(s, i, j - i);
        out += to;
        i = j + from.size();
    }
}

std::u32string normalize_line(const std::u32string & line, const nbp_map & nbp) {
    std::u32string w = U" " + line + U" ";
    // separate all non-alphanumeric characters that are not special cases
    {
        std::u32string o;
        for (char32_t c : w) {
            const bool keep = is_alnum(c) || is_jspace(c) || c == '.' || c == '\'' || c == '`' || c == ',' ||
                              c == '-' || c == 0x2018 || c == 0x2019;
            if (keep) {
                o.push_back(c);
            } else {
                o.push_back(' ');
                o.push_back(c);
                o.push_back(' ');
            }
        }
        w = o;
    }
    // escape runs of dots: \.([\.]+) -> " DOTMULTI$1"
    {
        std::u32string o;
        size_t         i = 0;
        while (i < w.size()) {
            if (w[i] == '.' && i + 1 < w.size() && w[i + 1] == '.') {
                size_t j = i + 1;
                while (j < w.size() && w[j] == '.') {
                    j++;
                }
                o += U" DOTMULTI";
                o.append(w, i + 1, j - i - 1);
                i = j;
            } else {
                o.push_back(w[i++]);
            }
        }
        w = o;
    }
    while (w.find(U"DOTMULTI.") != std::u32string::npos) {
        // DOTMULTI\.([^\.]) -> "DOTDOTMULTI $1"
        std::u32string o;
        size_t         i = 0;
        while (i < w.size()) {
            if (w.compare(i, 9, U"DOTMULTI.") == 0 && i + 9 < w.size() && w[i + 9] != '.') {
                o += U"DOTDOTMULTI ";
                o.push_back(w[i + 9]);
                i += 10;
            } else {
                o.push_back(w[i++]);
            }
        }
        w = replace_lit(o, U"DOTMULTI.", U"DOTDOTMULTI");
    }
    // separate commas except within numbers
    const pred digit = is_digit, nondigit = [](char32_t c) { return !is_digit(c); };
    w = replace3(w, nondigit, ',', nondigit, U" , ");
    w = replace3(w, digit, ',', nondigit, U" , ");
    w = replace3(w, nondigit, ',', digit, U" , ");
    // normalise quotes: [`‘’] -> ', ([“”]|'') -> " \" "
    for (auto & c : w) {
        if (c == '`' || c == 0x2018 || c == 0x2019) {
            c = '\'';
        }
    }
    {
        std::u32string o;
        size_t         i = 0;
        while (i < w.size()) {
            if (w[i] == 0x201C || w[i] == 0x201D) {
                o += U" \" ";
                i++;
            } else if (w[i] == '\'' && i + 1 < w.size() && w[i + 1] == '\'') {
                o += U" \" ";
                i += 2;
            } else {
                o.push_back(w[i++]);
            }
        }
        w = o;
    }
    // normalise dashes, then split dashes between words (U.S.-based -> U.S. based)
    w = replace_lit(w, U"\u2013", U"-");
    w = replace_lit(w, U"--", U"-");
    w = replace3(w, [](char32_t c) { return is_alnum(c) || c == '.'; }, '-', is_alnum, U" ");
    // English contractions split to the right
    const pred alpha = is_alpha, nonalpha = [](char32_t c) { return !is_alpha(c); };
    w = replace3(w, nonalpha, '\'', nonalpha, U" ' ");
    w = replace3(w, [](char32_t c) { return !is_alpha(c) && !is_digit(c); }, '\'', alpha, U" ' ");
    w = replace3(w, alpha, '\'', nonalpha, U" ' ");
    w = replace3(w, alpha, '\'', alpha, U" '");
    w = replace3(w, digit, '\'', [](char32_t c) { return c == 's'; }, U" '");
    // words with a final dot: keep it for nonbreaking prefixes, else split it off
    const auto     words = java_tokenize(w);
    std::u32string sb;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::u32string & wd = words[i];
        if (wd.size() > 1 && wd.back() == '.') {
            const std::u32string pre  = wd.substr(0, wd.size() - 1);
            auto                 it   = nbp.find(pre);
            const int            type = it == nbp.end() ? 0 : it->second;
            bool                 has_alpha = false;
            for (char32_t c : pre) {
                has_alpha = has_alpha || is_alpha(c);
            }
            const bool next_lower = i + 1 < words.size() && words[i + 1][0] >= 'a' && words[i + 1][0] <= 'z';
            const bool next_num   = i + 1 < words.size() && is_digit(words[i + 1][0]);
            if (pre.find('.') != std::u32string::npos && has_alpha) {
                sb += replace_lit(wd, U".", U"");  // U.S. -> US
            } else if (type == 1 || next_lower) {
                sb += wd;
            } else if (type == 2 && next_num) {
                sb += wd;
            } else {
                sb += pre;
                sb += U" .";
            }
        } else {
            sb += wd;
        }
        sb += U" ";
    }
    w = sb;
    // unescape runs of dots
    while (w.find(U"DOTDOTMULTI") != std::u32string::npos) {
        w = replace_lit(w, U"DOTDOTMULTI", U"DOTMULTI.");
    }
    w = replace_lit(w, U"DOTMULTI", U".");
    // collapse whitespace, then String.trim() (drops everything <= U+0020 at both ends)
    {
        std::u32string o;
        size_t         i = 0;
        while (i < w.size()) {
            if (is_white(w[i])) {
                while (i < w.size() && is_white(w[i])) {
                    i++;
                }
                o.push_back(' ');
            } else {
                o.push_back(w[i++]);
            }
        }
        size_t b = 0, e = o.size();
        while (b < e && o[b] <= 0x20) {
            b++;
        }
        while (e > b && o[e - 1] <= 0x20) {
            e--;
        }
        w = o.substr(b, e - b);
    }
    return w;
}

}  // namespace meteor_detail
}  // namespace glm
