// eval/vqa-text.cpp: the official VQA answer normalisations on code points (see vqa-text.h).
#include "eval/vqa-text.h"

#include "common.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace glm {

std::u32string utf8_decode(const std::string & s, const char * what) {
    std::u32string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const uint8_t b = (uint8_t) s[i];
        int           n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) {
            fail("%s: invalid UTF-8 at byte %zu", what, i);
        }
        uint32_t c = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
        for (int k = 1; k < n; ++k) {
            const uint8_t t = (uint8_t) s[i + k];
            if ((t >> 6) != 2) {
                fail("%s: invalid UTF-8 at byte %zu", what, i);
            }
            c = (c << 6) | (t & 0x3f);
        }
        out.push_back(c);
        i += n;
    }
    return out;
}

std::string utf8_encode(const std::u32string & s) {
    std::string out;
    out.reserve(s.size());
    for (uint32_t c : s) {
        if (c < 0x80) {
            out.push_back((char) c);
        } else if (c < 0x800) {
            out.push_back((char) (0xc0 | (c >> 6)));
            out.push_back((char) (0x80 | (c & 0x3f)));
        } else if (c < 0x10000) {
            out.push_back((char) (0xe0 | (c >> 12)));
            out.push_back((char) (0x80 | ((c >> 6) & 0x3f)));
            out.push_back((char) (0x80 | (c & 0x3f)));
        } else {
            out.push_back((char) (0xf0 | (c >> 18)));
            out.push_back((char) (0x80 | ((c >> 12) & 0x3f)));
            out.push_back((char) (0x80 | ((c >> 6) & 0x3f)));
            out.push_back((char) (0x80 | (c & 0x3f)));
        }
    }
    return out;
}

static std::u32string lower32(const std::u32string & s) {
    std::u32string out;
    out.reserve(s.size());
    for (uint32_t c : s) {
        py_lower_append(c, out);
    }
    return out;
}

static std::u32string strip32(const std::u32string & s) {
    size_t b = 0, e = s.size();
    while (b < e && py_isspace(s[b])) {
        ++b;
    }
    while (e > b && py_isspace(s[e - 1])) {
        --e;
    }
    return s.substr(b, e - b);
}

static std::vector<std::u32string> split32(const std::u32string & s) {
    std::vector<std::u32string> out;
    size_t                      i = 0;
    while (i < s.size()) {
        while (i < s.size() && py_isspace(s[i])) {
            ++i;
        }
        size_t j = i;
        while (j < s.size() && !py_isspace(s[j])) {
            ++j;
        }
        if (j > i) {
            out.push_back(s.substr(i, j - i));
        }
        i = j;
    }
    return out;
}

static std::u32string replace32(std::u32string s, const std::u32string & from, const std::u32string & to) {
    if (from.empty()) {
        return s;
    }
    std::u32string out;
    size_t         i = 0;
    for (size_t p; (p = s.find(from, i)) != std::u32string::npos; i = p + from.size()) {
        out.append(s, i, p - i).append(to);
    }
    return out.append(s, i, std::u32string::npos);
}

std::string py_lower(const std::string & s) { return utf8_encode(lower32(utf8_decode(s))); }

std::string py_strip(const std::string & s) { return utf8_encode(strip32(utf8_decode(s))); }

std::vector<std::string> py_split(const std::string & s) {
    std::vector<std::string> out;
    for (const auto & w : split32(utf8_decode(s))) {
        out.push_back(utf8_encode(w));
    }
    return out;
}

std::string py_replace(std::string s, const std::string & from, const std::string & to) {
    // byte-wise replacement of a UTF-8 string equals code-point-wise replacement (UTF-8 is self-synchronising)
    if (from.empty()) {
        return s;
    }
    std::string out;
    size_t      i = 0;
    for (size_t p; (p = s.find(from, i)) != std::string::npos; i = p + from.size()) {
        out.append(s, i, p - i).append(to);
    }
    return out.append(s, i, std::string::npos);
}

std::string py_rstrip_chars(const std::string & s, char c) {
    size_t e = s.size();
    while (e > 0 && s[e - 1] == c) {
        --e;
    }
    return s.substr(0, e);
}

double py_round(double x, int ndigits) {
    // CPython rounds the exact binary value to ndigits decimals (ties to even) and reads it back: as printf's %.*f
    char buf[512];
    snprintf(buf, sizeof(buf), "%.*f", ndigits, x);
    return strtod(buf, nullptr);
}

// ---- the shared punctuation / digit-article steps ----

// the official punctuation list, in its order
static const std::u32string k_punct = U";/[]\"{}()=+\\_-><@`,?!";

static bool has_digit_comma_digit(const std::u32string & s, bool comma_run) {
    for (size_t i = 0; i + 2 < s.size(); ++i) {
        if (!py_isdigit_re(s[i]) || s[i + 1] != U',') {
            continue;
        }
        size_t j = i + 1;
        if (comma_run) {
            while (j < s.size() && s[j] == U',') {
                ++j;
            }
        } else {
            ++j;
        }
        if (j < s.size() && py_isdigit_re(s[j])) {
            return true;
        }
    }
    return false;
}

static std::u32string punctuation32(const std::u32string & in, bool comma_run) {
    std::u32string out   = in;
    const bool     comma = has_digit_comma_digit(in, comma_run);
    for (uint32_t p : k_punct) {
        const std::u32string ps(1, p);
        const bool           drop = in.find(ps + U" ") != std::u32string::npos ||
                          in.find(U" " + ps) != std::u32string::npos || comma;
        out = replace32(out, ps, drop ? U"" : U" ");
    }
    // periodStrip (?!<=\d)(\.)(?!\d) with re.sub's count = re.UNICODE = 32
    std::u32string res;
    int            n_removed = 0;
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i] == U'.' && n_removed < 32 && !(i + 1 < out.size() && py_isdigit_re(out[i + 1]))) {
            ++n_removed;
            continue;
        }
        res.push_back(out[i]);
    }
    return res;
}

static const std::map<std::u32string, std::u32string> & number_map() {
    static const std::map<std::u32string, std::u32string> m = {
        { U"none", U"0" }, { U"zero", U"0" }, { U"one", U"1" }, { U"two", U"2" },   { U"three", U"3" }, { U"four", U"4" },
        { U"five", U"5" }, { U"six", U"6" },  { U"seven", U"7" }, { U"eight", U"8" }, { U"nine", U"9" },  { U"ten", U"10" },
    };
    return m;
}

static const std::map<std::u32string, std::u32string> & contractions() {
    // the official table (identical in the VQA tool and EvalAI's processor), keys as written there
    static const std::map<std::u32string, std::u32string> m = {
        { U"aint", U"ain't" }, { U"arent", U"aren't" }, { U"cant", U"can't" }, { U"couldve", U"could've" },
        { U"couldnt", U"couldn't" }, { U"couldn'tve", U"couldn't've" }, { U"couldnt've", U"couldn't've" },
        { U"didnt", U"didn't" }, { U"doesnt", U"doesn't" }, { U"dont", U"don't" }, { U"hadnt", U"hadn't" },
        { U"hadnt've", U"hadn't've" }, { U"hadn'tve", U"hadn't've" }, { U"hasnt", U"hasn't" },
        { U"havent", U"haven't" }, { U"hed", U"he'd" }, { U"hed've", U"he'd've" }, { U"he'dve", U"he'd've" },
        { U"hes", U"he's" }, { U"howd", U"how'd" }, { U"howll", U"how'll" }, { U"hows", U"how's" },
        { U"Id've", U"I'd've" }, { U"I'dve", U"I'd've" }, { U"Im", U"I'm" }, { U"Ive", U"I've" },
        { U"isnt", U"isn't" }, { U"itd", U"it'd" }, { U"itd've", U"it'd've" }, { U"it'dve", U"it'd've" },
        { U"itll", U"it'll" }, { U"let's", U"let's" }, { U"maam", U"ma'am" }, { U"mightnt", U"mightn't" },
        { U"mightnt've", U"mightn't've" }, { U"mightn'tve", U"mightn't've" }, { U"mightve", U"might've" },
        { U"mustnt", U"mustn't" }, { U"mustve", U"must've" }, { U"neednt", U"needn't" }, { U"notve", U"not've" },
        { U"oclock", U"o'clock" }, { U"oughtnt", U"oughtn't" }, { U"ow's'at", U"'ow's'at" },
        { U"'ows'at", U"'ow's'at" }, { U"'ow'sat", U"'ow's'at" }, { U"shant", U"shan't" },
        { U"shed've", U"she'd've" }, { U"she'dve", U"she'd've" }, { U"she's", U"she's" },
        { U"shouldve", U"should've" }, { U"shouldnt", U"shouldn't" }, { U"shouldnt've", U"shouldn't've" },
        { U"shouldn'tve", U"shouldn't've" }, { U"somebody'd", U"somebodyd" }, { U"somebodyd've", U"somebody'd've" },
        { U"somebody'dve", U"somebody'd've" }, { U"somebodyll", U"somebody'll" }, { U"somebodys", U"somebody's" },
        { U"someoned", U"someone'd" }, { U"someoned've", U"someone'd've" }, { U"someone'dve", U"someone'd've" },
        { U"someonell", U"someone'll" }, { U"someones", U"someone's" }, { U"somethingd", U"something'd" },
        { U"somethingd've", U"something'd've" }, { U"something'dve", U"something'd've" },
        { U"somethingll", U"something'll" }, { U"thats", U"that's" }, { U"thered", U"there'd" },
        { U"thered've", U"there'd've" }, { U"there'dve", U"there'd've" }, { U"therere", U"there're" },
        { U"theres", U"there's" }, { U"theyd", U"they'd" }, { U"theyd've", U"they'd've" },
        { U"they'dve", U"they'd've" }, { U"theyll", U"they'll" }, { U"theyre", U"they're" },
        { U"theyve", U"they've" }, { U"twas", U"'twas" }, { U"wasnt", U"wasn't" }, { U"wed've", U"we'd've" },
        { U"we'dve", U"we'd've" }, { U"weve", U"we've" }, { U"werent", U"weren't" }, { U"whatll", U"what'll" },
        { U"whatre", U"what're" }, { U"whats", U"what's" }, { U"whatve", U"what've" }, { U"whens", U"when's" },
        { U"whered", U"where'd" }, { U"wheres", U"where's" }, { U"whereve", U"where've" }, { U"whod", U"who'd" },
        { U"whod've", U"who'd've" }, { U"who'dve", U"who'd've" }, { U"wholl", U"who'll" }, { U"whos", U"who's" },
        { U"whove", U"who've" }, { U"whyll", U"why'll" }, { U"whyre", U"why're" }, { U"whys", U"why's" },
        { U"wont", U"won't" }, { U"wouldve", U"would've" }, { U"wouldnt", U"wouldn't" },
        { U"wouldnt've", U"wouldn't've" }, { U"wouldn'tve", U"wouldn't've" }, { U"yall", U"y'all" },
        { U"yall'll", U"y'all'll" }, { U"y'allll", U"y'all'll" }, { U"yall'd've", U"y'all'd've" },
        { U"y'alld've", U"y'all'd've" }, { U"y'all'dve", U"y'all'd've" }, { U"youd", U"you'd" },
        { U"youd've", U"you'd've" }, { U"you'dve", U"you'd've" }, { U"youll", U"you'll" },
        { U"youre", U"you're" }, { U"youve", U"you've" },
    };
    return m;
}

static std::u32string digit_article32(const std::u32string & in) {
    std::vector<std::u32string> words;
    for (auto & w : split32(lower32(in))) {
        const auto it = number_map().find(w);
        if (it != number_map().end()) {
            w = it->second;
        }
        if (w != U"a" && w != U"an" && w != U"the") {
            words.push_back(w);
        }
    }
    std::u32string out;
    for (size_t i = 0; i < words.size(); ++i) {
        const auto it = contractions().find(words[i]);
        out += (i ? U" " : U"") + (it != contractions().end() ? it->second : words[i]);
    }
    return out;
}

std::string vqa_evalai_process(const std::string & answer) {
    std::u32string s = lower32(utf8_decode(answer, "answer"));                 // word_tokenize
    s                = replace32(replace32(s, U",", U""), U"?", U"");
    s                = replace32(s, U"'s", U" 's");
    s                = strip32(s);
    s                = strip32(replace32(replace32(s, U"\n", U" "), U"\t", U" "));  // __call__
    return utf8_encode(digit_article32(punctuation32(s, true)));
}

std::string vqa_tool_punctuation(const std::string & text) {
    return utf8_encode(punctuation32(utf8_decode(text, "answer"), false));
}

std::string vqa_tool_digit_article(const std::string & text) {
    return utf8_encode(digit_article32(utf8_decode(text, "answer")));
}

double vqa_leave_one_out_accuracy(const std::string & answer, const std::vector<std::string> & gt,
                                  const std::vector<std::string> * gt_records) {
    double sum = 0;
    for (size_t i = 0; i < gt.size(); ++i) {
        int n_match = 0;
        for (size_t j = 0; j < gt.size(); ++j) {
            const bool same = gt_records ? (*gt_records)[i] == (*gt_records)[j] && gt[i] == gt[j] : i == j;
            if (!same && gt[j] == answer) {
                ++n_match;
            }
        }
        const double acc = (double) n_match / 3;
        sum += acc < 1 ? acc : 1;
    }
    return sum / (double) gt.size();
}

}  // namespace glm
