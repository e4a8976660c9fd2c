// phrases.cpp: noun chunks on link-grammar, with a rule-based fallback (see phrases.h).
#include "phrases.h"

#include "common.h"

#include <link-grammar/dict-api.h>
#include <link-grammar/link-includes.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace glm {

phrase_params phrase_default_params() {
    return phrase_params();
}

// ---------------------------------------------------------------------------------------------------------------
// word lists

namespace {

using word_set = std::set<std::string>;

const word_set k_pronouns = {
    "it", "they", "he", "she", "i", "you", "we", "them", "him", "us", "me", "itself", "themselves", "himself",
    "herself", "myself", "yourself", "ourselves", "something", "someone", "somebody", "everything", "everyone",
    "everybody", "anything", "anyone", "anybody", "nothing", "nobody", "who", "whom", "which", "what", "whoever",
    "whatever", "this", "that", "these", "those", "her", "mine", "yours", "hers", "ours", "theirs",
};
// pronouns that are determiners when a noun follows ("that car", "her hat", "which way")
const word_set k_pronoun_or_det = { "this", "that", "these", "those", "her", "which", "what", "whatever" };
const word_set k_determiners    = {
    "a",    "an",    "the",   "this",    "that",    "these",   "those", "some",  "any",   "each",  "every",
    "no",   "another", "both", "either", "neither", "all",     "many",  "much",  "few",   "several", "most",
    "more", "other", "such",  "whose",   "various", "numerous", "enough", "half", "which", "what",
};
const word_set k_possessives = { "my", "your", "his", "her", "its", "our", "their" };
const word_set k_numbers     = {
    "one",    "two",    "three",   "four",     "five",    "six",     "seven",   "eight",    "nine",    "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    "thirty", "forty",  "fifty",   "sixty",    "seventy", "eighty",  "ninety",  "hundred",  "thousand", "dozen",
    "million", "first", "second",  "third",    "fourth",  "fifth",   "last",
};
const word_set k_prepositions = {
    "in", "on", "at", "of", "with", "by", "for", "from", "to", "near", "next", "behind", "under", "above", "over",
    "into", "onto", "through", "across", "along", "around", "between", "among", "beside", "besides", "against",
    "during", "without", "within", "toward", "towards", "up", "down", "off", "out", "about", "like", "inside",
    "outside", "beneath", "below", "upon", "via", "than", "as", "underneath", "throughout", "atop", "amid", "past",
    "beyond", "despite", "except", "since", "until",
};
const word_set k_function_words = [] {
    word_set s = k_prepositions;
    s.insert({
        // conjunctions, complementisers
        "and", "or", "but", "nor", "so", "yet", "while", "although", "though", "because", "if", "whether", "when",
        "where", "whereas", "then", "also", "either", "neither",
        // auxiliaries and very common verbs
        "is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "do", "does", "did", "can",
        "could", "will", "would", "may", "might", "must", "shall", "should", "seems", "seem", "appears", "appear",
        // adverbs
        "very", "quite", "too", "just", "there", "here", "not", "only", "even", "still", "perhaps", "possibly",
        "likely", "probably", "really", "rather", "somewhat", "slightly", "overall", "together", "away", "back",
        "how", "why", "however", "additionally", "furthermore", "moreover", "also", "else", "almost", "nearly",
    });
    return s;
}();
// function words after which a noun-or-verb word is a verb
const word_set k_verb_leaders = { "to", "is", "are", "was", "were", "be", "been", "being", "am", "can", "will",
                                  "could", "would", "may", "might", "must", "should", "do", "does", "did",
                                  "has", "have", "had", "seems", "seem", "appears", "appear" };
const word_set k_abbreviations = {
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "fig", "approx", "mt", "prof",
    "inc", "ltd", "co", "ave", "rd", "u.s", "u.k", "a.m", "p.m",
};

std::string lower(const std::string & s) {
    std::string r = s;
    for (char & c : r) {
        c = (char) std::tolower((unsigned char) c);
    }
    return r;
}

bool is_alpha(char c) {
    return std::isalpha((unsigned char) c) != 0;
}
bool is_alnum(char c) {
    return std::isalnum((unsigned char) c) != 0;
}
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
// U+2018 / U+2019 (left / right single quotation mark) as ASCII '
std::string straight_apostrophes(const std::string & s) {
    std::string r;
    r.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if ((unsigned char) s[i] == 0xE2 && i + 2 < s.size() && (unsigned char) s[i + 1] == 0x80 &&
            ((unsigned char) s[i + 2] == 0x98 || (unsigned char) s[i + 2] == 0x99)) {
            r += '\'';
            i += 2;
        } else {
            r += s[i];
        }
    }
    return r;
}

bool ends_with(const std::string & s, const char * suf) {
    const size_t n = std::strlen(suf);
    return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
}
bool all_digits(const std::string & s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit((unsigned char) c); });
}
bool is_number_word(const std::string & lw) {
    if (k_numbers.count(lw)) {
        return true;
    }
    bool digit = false;
    for (char c : lw) {
        if (std::isdigit((unsigned char) c)) {
            digit = true;
        } else if (c != '.' && c != ',' && c != '%') {
            return false;
        }
    }
    return digit;
}

// A closing quote or bracket after sentence punctuation (ASCII or the UTF-8 right quotes ' ").
size_t closer_len(const std::string & t, size_t i) {
    const char c = t[i];
    if (c == '"' || c == '\'' || c == ')' || c == ']') {
        return 1;
    }
    if ((unsigned char) c == 0xE2 && i + 2 < t.size() && (unsigned char) t[i + 1] == 0x80 &&
        ((unsigned char) t[i + 2] == 0x99 || (unsigned char) t[i + 2] == 0x9D)) {
        return 3;
    }
    return 0;
}

// Length of a list marker at t[i] ("1.", "2)", "-", "*", "+", "•", "#") followed by a space; 0 if none.
size_t list_marker_len(const std::string & t, size_t i, size_t end) {
    size_t j = i;
    while (j < end && std::isdigit((unsigned char) t[j])) {
        ++j;
    }
    if (j > i && j < end && (t[j] == '.' || t[j] == ')') && (j + 1 == end || is_space(t[j + 1]))) {
        return j + 1 - i;
    }
    if ((t[i] == '-' || t[i] == '*' || t[i] == '+' || t[i] == '#') && (i + 1 == end || is_space(t[i + 1]) ||
                                                                          t[i + 1] == '*' || t[i + 1] == '#')) {
        size_t k = i;
        while (k < end && (t[k] == '-' || t[k] == '*' || t[k] == '+' || t[k] == '#')) {
            ++k;
        }
        return k - i;
    }
    if ((unsigned char) t[i] == 0xE2 && i + 2 < end && (unsigned char) t[i + 1] == 0x80 &&
        (unsigned char) t[i + 2] == 0xA2) {  // bullet
        return 3;
    }
    return 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// sentences

std::vector<char_span> split_sentences(const std::string & t) {
    std::vector<char_span> out;
    const size_t           n     = t.size();
    size_t                 start = 0;

    auto emit = [&](size_t b, size_t e) {
        for (;;) {
            while (b < e && is_space(t[b])) {
                ++b;
            }
            const size_t m = b < e ? list_marker_len(t, b, e) : 0;
            if (m == 0) {
                break;
            }
            b += m;
        }
        while (e > b && is_space(t[e - 1])) {
            --e;
        }
        bool has_alnum = false;
        for (size_t k = b; k < e && !has_alnum; ++k) {
            has_alnum = is_alnum(t[k]);
        }
        if (has_alnum) {
            out.push_back({ (int) b, (int) e });
        }
    };
    // the word (letters, digits, inner dots) that ends just before position i
    auto word_before = [&](size_t i) {
        size_t b = i;
        while (b > start && (is_alnum(t[b - 1]) || t[b - 1] == '.')) {
            --b;
        }
        return t.substr(b, i - b);
    };

    for (size_t i = 0; i < n; ++i) {
        const char c = t[i];
        if (c == '\n' || c == '\r' || c == ';') {
            emit(start, i);
            start = i + 1;
            continue;
        }
        if (c != '.' && c != '!' && c != '?') {
            continue;
        }
        size_t j = i;
        while (j + 1 < n && (t[j + 1] == '.' || t[j + 1] == '!' || t[j + 1] == '?')) {
            ++j;
        }
        size_t k = j + 1;  // one past the punctuation and any closers
        for (size_t cl; k < n && (cl = closer_len(t, k)) > 0;) {
            k += cl;
        }
        if (k < n && !is_space(t[k])) {  // "3.5", "e.g.,", "file.jpg"
            i = j;
            continue;
        }
        if (c == '.' && j == i) {
            const std::string w  = word_before(i);
            const std::string lw = lower(w);
            // abbreviations, initials ("J. Smith"), a list number at the start of the segment ("1. A dog ...")
            bool keep = k_abbreviations.count(lw) > 0 || (w.size() == 1 && std::isupper((unsigned char) w[0]));
            if (!keep && all_digits(w)) {
                size_t b = i - w.size();
                while (b > start && is_space(t[b - 1])) {
                    --b;
                }
                keep = b == start;
            }
            if (keep) {
                i = j;
                continue;
            }
        }
        size_t m = k;
        while (m < n && (t[m] == ' ' || t[m] == '\t')) {
            ++m;
        }
        if (m < n && std::islower((unsigned char) t[m])) {  // "etc. and", "approx. two"
            i = j;
            continue;
        }
        emit(start, k);
        start = k;
        i     = k - 1;
    }
    emit(start, n);
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// the chunker

struct phrase_chunker::impl {
    Dictionary dict = nullptr;

    ~impl() {
        if (dict) {
            dictionary_delete(dict);
        }
    }

    // link-grammar's word classes of a word in its dictionary: the subscripts of its entries ("n", "v", "a", ...)
    std::vector<std::string> subscripts(const std::string & w) const {
        std::vector<std::string> out;
        if (!dict) {
            return out;
        }
        Dict_node * dn = dictionary_lookup_list(dict, w.c_str());
        for (Dict_node * x = dn; x; x = x->right) {
            const char * s  = x->string;
            const char * sm = std::strchr(s, '\3');  // SUBSCRIPT_MARK inside the dictionary
            if (!sm) {
                sm = std::strrchr(s, '.');
            }
            out.push_back(sm ? std::string(sm + 1) : std::string());
        }
        free_lookup_list(dict, dn);
        return out;
    }

    bool known(const std::string & w) const { return dict && dictionary_word_is_known(dict, w.c_str()); }
};

namespace {

// route link-grammar's messages through our log (per thread, see phrases.h)
void lg_to_log(lg_errinfo * ei, void *) {
    char * msg = lg_error_formatmsg(ei);
    if (msg) {
        std::string s = msg;
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
            s.pop_back();
        }
        GLM_LOG_DEBUG("link-grammar: %s\n", s.c_str());
        free(msg);
    }
}

struct lg_handler_scope {
    lg_error_handler prev_handler;
    void *           prev_data;
    lg_handler_scope() {
        prev_data    = const_cast<void *>(lg_error_set_handler_data(nullptr));
        prev_handler = lg_error_set_handler(lg_to_log, nullptr);
    }
    ~lg_handler_scope() {
        lg_error_set_handler(prev_handler, prev_data);
    }
};

bool is_noun_subscript(const std::string & sub) {
    if (sub.empty()) {
        return false;
    }
    if (sub[0] == 'n') {  // n, n-u, n-c, ...
        return true;
    }
    return sub == "s" || sub == "p" || sub == "m" || sub == "f" || sub == "b" || sub == "l" || sub == "t";
}

// The base type of a link label: its leading capitals ("Ds**c" -> "D", "AN" -> "AN", "SJls" -> "SJ").
std::string link_type(const char * label) {
    std::string t;
    for (const char * p = label; *p && std::isupper((unsigned char) *p); ++p) {
        t += *p;
    }
    return t;
}

const word_set k_closure_links = {  // noun-phrase-internal links, followed leftwards from the head
    "D", "DD", "DG", "DT", "DP", "A", "AN", "AJ", "AA", "G", "GN", "YS", "YP", "EA", "EN", "EE", "EC", "NN", "ND",
    "NI", "L", "LE", "PH", "AL", "TA", "NM",
    "",  // idiom-internal links ("a few", "a couple"): link-grammar names them _I...
};
const word_set k_modifier_links = { "AN", "G", "GN", "YS", "YP", "Y", "YA", "YT", "YD" };  // left end: a modifier
// links that show a guessed word is used as a noun, by the side the noun sits on
const word_set k_noun_role_left  = { "S", "SS", "SP", "SF", "SI", "YS", "YP", "M", "MP", "MG", "MX", "AN", "G", "GN",
                                     "SJ" };
const word_set k_noun_role_right = { "O", "OS", "OD", "OT", "J", "JS", "JP", "D", "A", "AN", "G", "GN", "SJ" };

// A text copy for the parser, with a map from its bytes back to the original text.
struct mapped_text {
    std::string      s;
    std::vector<int> obeg, oend;  // per byte of s: the original span it came from

    void add(const std::string & orig, int b, int e, const std::string & repl) {
        for (char c : repl) {
            s += c;
            obeg.push_back(b);
            oend.push_back(e);
        }
        (void) orig;
    }
    void copy(const std::string & orig, int b, int e) {
        for (int i = b; i < e; ++i) {
            s += orig[i];
            obeg.push_back(i);
            oend.push_back(i + 1);
        }
    }
    char_span to_orig(int b, int e) const {
        if (b >= e || b < 0 || e > (int) s.size()) {
            return { b < (int) obeg.size() && b >= 0 ? obeg[b] : 0, b < (int) obeg.size() && b >= 0 ? obeg[b] : 0 };
        }
        return { obeg[b], oend[e - 1] };
    }
};

struct word_info {
    char_span   span;          // original text
    std::string text;          // original text of the word
    std::string lg;            // link-grammar's word ("bus.n", "[word]", "Overall[!<CAPITALIZED-WORDS>]")
    std::string sub;           // subscript ("n", "v-d", ...)
    bool        null_linked = false;
    bool        cap_guess   = false;  // capitalised-word guess
    bool        unk_guess   = false;  // unknown word / placeholder
};

struct link_info {
    int         l = 0, r = 0;
    std::string type;
};

void parse_lg_word(const std::string & w, word_info & wi) {
    if (w.size() >= 2 && w.front() == '[' && w.back() == ']') {
        wi.null_linked = true;
        return;
    }
    const size_t br = w.find('[');
    if (br != std::string::npos && br > 0) {
        wi.cap_guess = w.find("CAPITALIZED") != std::string::npos;
        wi.unk_guess = !wi.cap_guess;  // [?] unknown, [!<REGEX-CLASS>] guessed by morphology, [~] spelling
    }
    const size_t close = w.rfind(']');
    const size_t dot   = w.rfind('.');
    if (dot != std::string::npos && dot > 0 && dot + 1 < w.size() && (close == std::string::npos || dot > close)) {
        const std::string sub = w.substr(dot + 1);
        if (std::all_of(sub.begin(), sub.end(), [](char c) { return std::islower((unsigned char) c) || c == '-' ||
                                                                    std::isdigit((unsigned char) c); })) {
            wi.sub = sub;
        }
    }
}

}  // namespace

phrase_chunker::phrase_chunker(const phrase_params & params) : params_(params), impl_(new impl) {
    if (params_.max_parse_time_s < 1) {
        fail("phrase chunker: max_parse_time_s must be >= 1 (got %d)", params_.max_parse_time_s);
    }
    if (!(params_.max_cost_margin >= 0.0)) {
        fail("phrase chunker: max_cost_margin must be >= 0 (got %g)", params_.max_cost_margin);
    }
    if (params_.max_sentence_words < 1 || params_.linkage_limit < 1 || params_.max_null_words < 0) {
        fail("phrase chunker: invalid limits (max_sentence_words %d, linkage_limit %d, max_null_words %d)",
             params_.max_sentence_words, params_.linkage_limit, params_.max_null_words);
    }
    {
        // the dictionary serves the fallback's word classes too, so it is loaded even without the parser.
        // link-grammar's data-dir search and locale setup are process-global: load one dictionary at a time
        static std::mutex           m;
        std::lock_guard<std::mutex> lock(m);
        lg_handler_scope            scope;
        impl_->dict = dictionary_create_lang("en");
        if (!impl_->dict) {
            fail("phrase chunker: cannot load link-grammar's English dictionary (Debian package "
                 "link-grammar-dictionaries-en)");
        }
    }
}

phrase_chunker::~phrase_chunker() = default;

namespace {

struct chunk_out {
    char_span span, head;
    bool      pronoun   = false;
    int       left_word = -1;  // the parser path: word indices of the linkage ([left_word, head_word])
    int       head_word = -1;
};

// spaCy's rule against nested chunks: a chunk whose left edge is not after the previous head is dropped
void push_chunk(std::vector<chunk_out> & out, int & prev_end_word, int left_word, int head_word, char_span span,
                char_span head, bool pronoun) {
    if (left_word <= prev_end_word) {
        return;
    }
    prev_end_word = head_word;
    out.push_back({ span, head, pronoun, left_word, head_word });
}

// ---- the parser path -------------------------------------------------------------------------------------------

enum class parse_status { ok, no_parse, timeout, too_many_nulls };

void fallback_chunks(const phrase_chunker::impl & im, const phrase_params & p, const std::string & text,
                     char_span sent, std::vector<chunk_out> & out);

// One linkage as plain data: its words (mapped back to the original text) and links.
struct linkage_view {
    std::vector<word_info>        words;
    std::vector<link_info>        links;
    std::vector<std::vector<int>> adj;  // per word: indices into links
    double                        disjunct_cost = 0;

    // whether w has a link of one of `types`; side: -1 w is the left end, +1 the right end, 0 either
    bool has_link(int w, const word_set & types, int side) const {
        for (int k : adj[w]) {
            const link_info & li = links[k];
            if (!types.count(li.type)) {
                continue;
            }
            if (side == 0 || (side < 0 && li.l == w) || (side > 0 && li.r == w)) {
                return true;
            }
        }
        return false;
    }
};

linkage_view read_linkage(Linkage lk, const mapped_text & mt, const std::string & text) {
    linkage_view v;
    v.disjunct_cost = linkage_disjunct_cost(lk);
    const int nw    = linkage_get_num_words(lk);
    v.words.resize(nw);
    v.adj.resize(nw);
    for (int w = 0; w < nw; ++w) {
        word_info & wi = v.words[w];
        wi.lg          = linkage_get_word(lk, w);
        parse_lg_word(wi.lg, wi);
        const int b = linkage_get_word_byte_start(lk, w), e = linkage_get_word_byte_end(lk, w);
        wi.span     = b < e ? mt.to_orig(b, e) : char_span{ 0, 0 };
        if (b < e) {
            // typographic apostrophes as the parser saw them ("cat’s" -> "cat's"); span keeps the original bytes
            wi.text = straight_apostrophes(text.substr(wi.span.begin, wi.span.end - wi.span.begin));
        }
        if (b < e && mt.s.compare(b, e - b, wi.text) != 0) {
            wi.unk_guess = true;  // a placeholder stood for an unknown word
        }
    }
    for (int k = 0; k < (int) linkage_get_num_links(lk); ++k) {
        link_info li;
        li.l    = (int) linkage_get_link_lword(lk, k);
        li.r    = (int) linkage_get_link_rword(lk, k);
        li.type = link_type(linkage_get_link_label(lk, k));
        v.adj[li.l].push_back((int) v.links.size());
        v.adj[li.r].push_back((int) v.links.size());
        v.links.push_back(li);
    }
    return v;
}

const word_set k_det_links = { "D", "DD", "DG", "DT", "DP" };

// Whether a linkage cuts a plain word in two: link-grammar's tokenizer also tries units and other suffixes, and with
// null words allowed "small" can come back as "[smal] l.u". Contractions ("does n't") and "'s" are fine.
bool splits_a_word(const linkage_view & v, const std::string & text) {
    for (const word_info & wi : v.words) {
        const int b = wi.span.begin, e = wi.span.end;
        if (b <= 0 || b >= e || !is_alpha(text[b]) || !is_alpha(text[b - 1])) {
            continue;
        }
        if (wi.text.find('\'') == std::string::npos) {
            return true;
        }
    }
    return false;
}

// The chunks of one linkage: nominal heads and their left edges (see phrases.h).
void linkage_chunks(const phrase_chunker::impl & im, const phrase_params & p, const linkage_view & v,
                    std::vector<chunk_out> & out) {
    const std::vector<word_info> & words = v.words;
    const int                      nw    = (int) words.size();
    auto has_link = [&](int w, const word_set & types, int side) { return v.has_link(w, types, side); };
    int  prev_end = -1;
    for (int w = 0; w < nw; ++w) {
        const word_info & wi = words[w];
        if (wi.null_linked || wi.text.empty()) {
            continue;
        }
        const std::string lw      = lower(wi.text);
        bool              pronoun = false, nominal = false;
        if (k_function_words.count(lw) && !k_pronouns.count(lw) &&
            !(is_noun_subscript(wi.sub) && has_link(w, k_det_links, +1))) {
            continue;  // "near.p" is a preposition, not a plural noun; but "a trash can.n" is a noun
        }
        if (k_pronouns.count(lw)) {
            pronoun = p.include_pronouns;
            if (k_pronoun_or_det.count(lw) && has_link(w, k_det_links, -1)) {
                pronoun = false;  // "that car", "her hat"
            }
            if (lw == "that" && !(wi.sub == "j-r" || has_link(w, { "S", "SS", "SP", "SF" }, -1) ||
                                  has_link(w, { "O", "OS", "OD", "J", "JS", "JP", "R" }, +1))) {
                pronoun = false;  // complementiser "shows that ..."
            }
            nominal = pronoun;
        } else if (wi.cap_guess || wi.unk_guess) {
            nominal = is_noun_subscript(wi.sub) || (has_link(w, k_noun_role_left, -1) || has_link(w, k_noun_role_right, +1));
            if (wi.cap_guess && !im.subscripts(lw).empty() && w == 1) {
                // a capitalised sentence start that the dictionary knows in lower case ("Overall,")
                bool n = false;
                for (const auto & s2 : im.subscripts(lw)) {
                    n = n || is_noun_subscript(s2);
                }
                nominal = nominal && n;
            }
        } else if (is_noun_subscript(wi.sub) && wi.text != "'s" && wi.text != "'") {
            nominal = true;
        } else if (has_link(w, { "OF" }, -1) && has_link(w, k_det_links, +1)) {
            nominal = true;  // a partitive ("a group.d of people"): its own chunk, as spaCy's "a group"
        } else if (wi.sub.empty() && !v.adj[w].empty() && !k_function_words.count(lw) && !k_determiners.count(lw) &&
                   !is_number_word(lw)) {
            // a word the linkage shows without subscript: an idiom part ("in front of", "on top of", "a couple
            // of"), which spaCy keeps as a noun when the dictionary has it as one and it is used as one
            bool only_idiom = true;
            for (int k : v.adj[w]) {
                only_idiom = only_idiom && v.links[k].type.empty();
            }
            bool n = false;
            for (const auto & s2 : im.subscripts(lw)) {
                n = n || is_noun_subscript(s2);
            }
            nominal = n && (only_idiom || (has_link(w, k_noun_role_left, -1) || has_link(w, k_noun_role_right, +1)));
        }
        if (!nominal) {
            continue;
        }
        if (!pronoun && has_link(w, k_modifier_links, -1)) {
            continue;  // a compound or possessor: part of the next noun's chunk
        }
        // left edge: follow noun-phrase-internal links leftwards
        int               left  = w;
        std::vector<int>  stack = { w };
        std::vector<bool> seen(nw, false);
        seen[w] = true;
        while (!pronoun && !stack.empty()) {
            const int x = stack.back();
            stack.pop_back();
            for (int k : v.adj[x]) {
                const link_info & li = v.links[k];
                const int         y  = li.l == x ? li.r : li.l;
                if (y >= w || y <= 0 || seen[y] || !k_closure_links.count(li.type) || words[y].text.empty()) {
                    continue;
                }
                if (k_det_links.count(li.type) && has_link(y, { "OF" }, -1)) {
                    continue;  // "a pile of pillows": the partitive is a chunk of its own, not a determiner
                }
                if (li.type.empty() && !k_determiners.count(lower(words[y].text))) {
                    continue;  // idiom links only for "a few", "a couple", not "in front"
                }
                seen[y] = true;
                left    = std::min(left, y);
                stack.push_back(y);
            }
        }
        push_chunk(out, prev_end, left, w, { words[left].span.begin, wi.span.end }, wi.span, pronoun);
    }
}

// What the dictionary allows a word to be, looked up once per sentence.
struct word_classes {
    bool noun = false, adj = false;
};

class class_cache {
public:
    explicit class_cache(const phrase_chunker::impl & im) : im_(im) {}
    const word_classes & get(const std::string & lw) {
        auto it = cache_.find(lw);
        if (it != cache_.end()) {
            return it->second;
        }
        word_classes c;
        for (const auto & s : im_.subscripts(lw)) {
            c.noun = c.noun || is_noun_subscript(s);
            c.adj  = c.adj || (!s.empty() && s[0] == 'a');
        }
        return cache_.emplace(lw, c).first->second;
    }

    std::vector<std::string> subscripts(const std::string & lw) const { return im_.subscripts(lw); }

private:
    const phrase_chunker::impl &        im_;
    std::map<std::string, word_classes> cache_;
};

// A word that opens a noun phrase for certain: an article, a possessive determiner, a cardinal number.
bool is_np_opener(const std::string & lw) {
    static const word_set ordinals = { "first", "second", "third", "fourth", "fifth", "last" };
    return lw == "a" || lw == "an" || lw == "the" || (k_possessives.count(lw) && lw != "her") ||
           (is_number_word(lw) && !ordinals.count(lw));
}

// A noun phrase the surface shows (see linkage_fit): words [opener, x], x its head.
struct np_fact {
    int opener = 0, x = 0;
};

// How a linkage's chunks fit the surface of the sentence. link-grammar's cheapest linkages often tie (or nearly)
// between readings that differ in one word's class, e.g. "there is an orange square." as "an orange.s square.a"
// (a predicate adjective) or "an orange.a square.n", and spaCy's tagger takes the reading in which a noun phrase
// ends in its noun. From the words of the linkage and the dictionary's word classes alone (no domain word lists):
//  - facts: a word X ends an opened noun phrase when an opener (article, possessive, number) is followed only by
//    words the dictionary allows as adjectives or nouns up to X, X can be a noun, and a phrase boundary follows X
//    (punctuation, the end, a preposition, another opener, "and"/"or" not before such a word). X must be the head
//    of a chunk that starts at the opener or before it when every word between the opener and X can be an
//    adjective ("a small white square", "an orange square", "a white star."), or when the linkage reads X as an
//    adjective or adverb ("the town square.a"); with a noun between ("the man smiles.") X may be a verb, and
//    nothing is claimed;
//  - penalty: the facts the chunks miss, plus articles outside every chunk ("on the right a small
//    square" read with "a" left out), plus bare nouns right after a form of "be" that the dictionary also has as a
//    past participle ("the table is set.n-u with plates": spaCy reads a passive), plus adjective-capable words read
//    as verbs right before a bare noun ("the kitchen features.n white.v cabinets").
struct linkage_fit {
    int                  penalty = 0;
    std::vector<np_fact> missed;  // facts the chunks miss (not those overridden by a verb reading, see below)
};

linkage_fit fit_linkage(const linkage_view & v, const std::vector<chunk_out> & chunks, class_cache & cls) {
    const std::vector<word_info> & words = v.words;
    const int                      nw    = (int) words.size();
    std::vector<bool>              in_chunk(nw, false), head(nw, false), bare(nw, false);
    std::vector<int>               left_of(nw, -1);  // per head word: its chunk's left word
    for (const chunk_out & c : chunks) {
        if (c.left_word < 0 || c.head_word >= nw) {
            continue;
        }
        for (int w = c.left_word; w <= c.head_word; ++w) {
            in_chunk[w] = true;
        }
        head[c.head_word]    = true;
        bare[c.head_word]    = c.left_word == c.head_word && !c.pronoun;
        left_of[c.head_word] = c.left_word;
    }
    std::vector<std::string> lw(nw);
    for (int w = 0; w < nw; ++w) {
        lw[w] = lower(words[w].text);
    }
    auto is_punct = [&](int w) {
        const std::string & t = words[w].text;
        return !t.empty() && !is_alnum(t[0]) && (unsigned char) t[0] < 0x80 && t != "'s" && t != "'" && t != "-";
    };
    auto open_word = [&](int w) {  // a word that may stand in an opened noun phrase
        if (words[w].text.empty() || k_function_words.count(lw[w]) || k_pronouns.count(lw[w]) ||
            k_determiners.count(lw[w]) || is_np_opener(lw[w])) {
            return false;
        }
        if (words[w].unk_guess || words[w].cap_guess) {
            return true;  // unknown to the dictionary: the parser's placeholder decides
        }
        const word_classes & c = cls.get(lw[w]);
        return c.noun || c.adj;
    };
    auto boundary_at = [&](int w) {  // a phrase boundary precedes word w
        if (w >= nw - 1) {
            return true;  // the right wall
        }
        if (is_punct(w) || is_np_opener(lw[w]) || k_prepositions.count(lw[w])) {
            return true;
        }
        // "and"/"or" unless a word that may continue the phrase follows ("a black and white cat")
        return (lw[w] == "and" || lw[w] == "or") && (w + 1 >= nw - 1 || !open_word(w + 1));
    };
    auto can_be_noun = [&](int w) { return words[w].unk_guess || words[w].cap_guess || cls.get(lw[w]).noun; };
    static const word_set k_be = { "is", "are", "was", "were", "be", "been", "being", "am" };

    linkage_fit fit;
    for (int x = 2; x < nw - 1; ++x) {
        // X may be a function word the dictionary also has as a noun ("a trash can.", "for a while.")
        const bool x_word = open_word(x) || (!words[x].text.empty() && k_function_words.count(lw[x]) &&
                                             !k_prepositions.count(lw[x]) && !k_pronouns.count(lw[x]));
        if (!x_word || !can_be_noun(x) || !boundary_at(x + 1)) {
            continue;
        }
        int  o          = x - 1;
        bool all_adject = true;
        while (o > 0 && open_word(o)) {
            all_adject = all_adject && cls.get(lw[o]).adj;
            --o;
        }
        if (o <= 0 || !is_np_opener(lw[o])) {
            continue;
        }
        const std::string & sub = words[x].sub;
        if (head[x] && left_of[x] <= o) {
            continue;  // the fact holds
        }
        if (all_adject || (!sub.empty() && (sub[0] == 'a' || sub[0] == 'e'))) {
            fit.penalty++;
            // a verb reading of X stands when the words before it make a noun phrase of their own ("the orange.s
            // stands.v out"); it is overridden when they have no head ("a large green.a square.v above")
            bool headless = true;
            for (int w = o; w < x; ++w) {
                headless = headless && !head[w];
            }
            if (headless || sub.empty() || (sub[0] != 'v' && sub[0] != 'g')) {
                fit.missed.push_back({ o, x });
            }
        }
    }
    for (int w = 1; w < nw - 1; ++w) {
        if ((lw[w] == "a" || lw[w] == "an" || lw[w] == "the") && !in_chunk[w]) {
            fit.penalty++;
        }
        // an adjective-capable word read as a verb right before a bare noun it could modify ("the kitchen
        // features.n white.v cabinets" against "features.v white.a cabinets")
        if (!words[w].sub.empty() && words[w].sub[0] == 'v' && w + 1 < nw - 1 && bare[w + 1] &&
            cls.get(lw[w]).adj) {
            fit.penalty++;
        }
        if (bare[w] && k_be.count(lw[w - 1]) && !words[w].sub.empty() && words[w].sub[0] == 'n') {
            for (const auto & s : cls.subscripts(lw[w])) {
                if (s == "v-d") {
                    fit.penalty++;
                    break;
                }
            }
        }
    }
    return fit;
}

// Makes the chunks agree with the facts a linkage missed (when no linkage within the cost margin had them all):
// [opener, X] becomes a chunk with head X; chunks headed inside it are dropped and a chunk reaching over X from the
// right starts after the boundary instead ("a white square and a big red circle" read as one chunk).
void apply_facts(const linkage_view & v, const std::vector<np_fact> & facts, std::vector<chunk_out> & chunks) {
    const std::vector<word_info> & words = v.words;
    for (const np_fact & f : facts) {
        std::vector<chunk_out> out;
        for (chunk_out c : chunks) {
            if (c.head_word >= f.opener && c.head_word <= f.x) {
                continue;
            }
            if (c.left_word <= f.x && c.head_word > f.x) {
                int l = f.x + 1;  // the chunk now starts at the first word after X that is no function word
                while (l < c.head_word && (words[l].text.empty() || !is_alnum(words[l].text[0]) ||
                                           (k_function_words.count(lower(words[l].text)) &&
                                            !k_pronouns.count(lower(words[l].text))))) {
                    ++l;
                }
                c.left_word  = l;
                c.span.begin = words[l].span.begin;
            }
            out.push_back(c);
        }
        chunk_out nc;
        nc.left_word = f.opener;
        nc.head_word = f.x;
        nc.span      = { words[f.opener].span.begin, words[f.x].span.end };
        nc.head      = words[f.x].span;
        out.push_back(nc);
        std::sort(out.begin(), out.end(), [](const chunk_out & a, const chunk_out & b) { return a.left_word < b.left_word; });
        chunks = std::move(out);
    }
}

// Words a linkage leaves unlinked (max_null_words > 0) are in no chunk of it: each run of them outside the chunks
// goes to the fallback rules, whose chunks join the linkage's.
void add_unlinked_runs(const phrase_chunker::impl & im, const phrase_params & p, const std::string & text,
                       const linkage_view & v, std::vector<chunk_out> & chunks) {
    const std::vector<word_info> & words = v.words;
    const int                      nw    = (int) words.size();
    std::vector<bool>              covered(nw, false);
    for (const chunk_out & c : chunks) {
        for (int w = std::max(c.left_word, 0); w <= c.head_word && w < nw; ++w) {
            covered[w] = true;
        }
    }
    std::vector<chunk_out> extra;
    for (int w = 1; w < nw - 1;) {
        if (!words[w].null_linked || covered[w] || words[w].text.empty()) {
            ++w;
            continue;
        }
        int e = w;
        while (e + 1 < nw - 1 && words[e + 1].null_linked && !covered[e + 1] && !words[e + 1].text.empty()) {
            ++e;
        }
        std::vector<chunk_out> run;
        fallback_chunks(im, p, text, { words[w].span.begin, words[e].span.end }, run);
        for (chunk_out & c : run) {
            c.left_word = c.head_word = -1;  // token indices of the fallback, not words of the linkage
            extra.push_back(c);
        }
        w = e + 1;
    }
    if (extra.empty()) {
        return;
    }
    chunks.insert(chunks.end(), extra.begin(), extra.end());
    std::sort(chunks.begin(), chunks.end(),
              [](const chunk_out & a, const chunk_out & b) { return a.span.begin < b.span.begin; });
}

parse_status parse_chunks(const phrase_chunker::impl & im, const phrase_params & p, const std::string & text,
                          char_span sent, std::vector<chunk_out> & out, int * null_words) {
    // the parser's copy: unknown words as placeholders, markdown symbols as spaces
    mapped_text mt;
    int         i = sent.begin;
    while (i < sent.end) {
        const char c = text[i];
        if (is_alpha(c)) {
            int e = i;
            while (e < sent.end && is_alpha(text[e])) {
                ++e;
            }
            // part of a longer token ("double-decker", "doesn't", "doesn’t"): the dictionary knows the whole
            const bool joined = (e < sent.end && (text[e] == '-' || text[e] == '\'' || is_alnum(text[e]) ||
                                                  text.compare(e, 3, "\xE2\x80\x99") == 0)) ||
                                (i > sent.begin && (text[i - 1] == '-' || text[i - 1] == '\'' ||
                                                    (i >= 3 && text.compare(i - 3, 3, "\xE2\x80\x99") == 0)));
            const std::string w      = text.substr(i, e - i);
            const std::string lw     = lower(w);
            std::string       repl;
            if (!joined && std::islower((unsigned char) w[0]) && !im.known(w) && !ends_with(lw, "ing") &&
                !ends_with(lw, "ed") && !ends_with(lw, "ly")) {
                if (ends_with(lw, "ous") || ends_with(lw, "ful") || ends_with(lw, "ive") || ends_with(lw, "able") ||
                    ends_with(lw, "ible") || ends_with(lw, "less") || ends_with(lw, "ish") || ends_with(lw, "ic") ||
                    ends_with(lw, "al")) {
                    repl = "big";
                } else if (ends_with(lw, "s") && !ends_with(lw, "ss") && !ends_with(lw, "us") && !ends_with(lw, "is")) {
                    repl = "things";
                } else {
                    repl = "thing";
                }
            }
            if (repl.empty()) {
                mt.copy(text, i, e);
            } else {
                mt.add(text, i, e, repl);
            }
            i = e;
            continue;
        }
        if (c == '*' || c == '#' || c == '`' || c == '_' || c == '|' || c == '~' || c == '\t') {
            mt.add(text, i, i + 1, " ");
        } else if ((unsigned char) c == 0xE2 && i + 2 < sent.end && (unsigned char) text[i + 1] == 0x80 &&
                   ((unsigned char) text[i + 2] == 0x98 || (unsigned char) text[i + 2] == 0x99)) {
            mt.add(text, i, i + 3, "'");  // typographic apostrophes
            i += 3;
            continue;
        } else if ((unsigned char) c == 0xE2 && i + 2 < sent.end && (unsigned char) text[i + 1] == 0x80 &&
                   ((unsigned char) text[i + 2] == 0x9C || (unsigned char) text[i + 2] == 0x9D)) {
            mt.add(text, i, i + 3, "\"");
            i += 3;
            continue;
        } else {
            mt.copy(text, i, i + 1);
        }
        ++i;
    }

    Parse_Options opts = parse_options_create();
    parse_options_set_verbosity(opts, 0);
    parse_options_set_linkage_limit(opts, p.linkage_limit);
    parse_options_set_max_parse_time(opts, p.max_parse_time_s);
    parse_options_set_min_null_count(opts, 0);
    parse_options_set_max_null_count(opts, p.max_null_words);
    parse_options_set_islands_ok(opts, false);
    parse_options_set_spell_guess(opts, 0);
    parse_options_set_repeatable_rand(opts, true);
    parse_options_set_display_morphology(opts, 0);

    Sentence     s      = sentence_create(mt.s.c_str(), im.dict);
    parse_status status = parse_status::ok;
    int          n_link = s ? sentence_parse(s, opts) : -1;
    if (parse_options_timer_expired(opts) || parse_options_resources_exhausted(opts)) {
        status = parse_status::timeout;
    } else if (n_link <= 0) {
        status = p.max_null_words > 0 ? parse_status::too_many_nulls : parse_status::no_parse;
    }
    if (status == parse_status::ok) {
        // linkages come sorted by link-grammar's cost; among those within max_cost_margin of the cheapest, take
        // the one whose chunks contradict the fewest surface facts (fit_linkage), the cheapest on ties;
        // then the facts the chosen one still misses are applied to its chunks (apply_facts)
        class_cache            cls(im);
        std::vector<chunk_out> best;
        linkage_view           best_view;
        std::vector<np_fact>   best_missed;
        int                    best_penalty = -1;
        double                 cost0        = 0;
        bool                   any          = false;
        for (int i = 0; i < n_link && best_penalty != 0; ++i) {
            Linkage lk = linkage_create(i, s, opts);
            if (!lk) {
                continue;
            }
            if (any && linkage_get_violation_name(lk) != nullptr) {
                linkage_delete(lk);
                continue;
            }
            const linkage_view v = read_linkage(lk, mt, text);
            linkage_delete(lk);
            if (splits_a_word(v, text)) {
                continue;
            }
            if (!any) {
                cost0 = v.disjunct_cost;
            } else if (v.disjunct_cost > cost0 + p.max_cost_margin) {
                break;
            }
            any = true;
            std::vector<chunk_out> chunks;
            linkage_chunks(im, p, v, chunks);
            linkage_fit fit = fit_linkage(v, chunks, cls);
            if (best_penalty < 0 || fit.penalty < best_penalty) {
                best_penalty = fit.penalty;
                best         = std::move(chunks);
                best_view    = v;
                best_missed  = std::move(fit.missed);
            }
        }
        if (!any) {
            status = parse_status::no_parse;
        } else {
            apply_facts(best_view, best_missed, best);
            add_unlinked_runs(im, p, text, best_view, best);
            *null_words = sentence_null_count(s);
            out.insert(out.end(), best.begin(), best.end());
        }
    }
    if (s) {
        sentence_delete(s);
    }
    parse_options_delete(opts);
    return status;
}

// ---- the fallback chunker --------------------------------------------------------------------------------------

enum class wclass { det, poss, num, adj, adv, noun, propn, pron, verb, func, punct, possmark };

struct tok {
    char_span   span;
    std::string text, lw;
    wclass      c = wclass::func;
    bool        can_n = false, can_v = false, can_a = false, can_e = false;
};

void fallback_chunks(const phrase_chunker::impl & im, const phrase_params & p, const std::string & text,
                     char_span sent, std::vector<chunk_out> & out) {
    std::vector<tok> toks;
    for (int i = sent.begin; i < sent.end;) {
        const char c = text[i];
        if (is_space(c)) {
            ++i;
            continue;
        }
        tok t;
        int e = i + 1;
        const int q = c == '\'' ? 1 : (text.compare(i, 3, "\xE2\x80\x99") == 0 ? 3 : 0);  // ' or ’
        if (q > 0 && i + q < sent.end && (text[i + q] == 's' || text[i + q] == 'S') &&
            (i + q + 1 >= sent.end || !is_alpha(text[i + q + 1]))) {
            e = i + q + 1;  // possessive 's
        } else if (is_alnum(c)) {
            while (e < sent.end && (is_alnum(text[e]) ||
                                    ((text[e] == '-' || text[e] == '.' || text[e] == ',') && e + 1 < sent.end &&
                                     is_alnum(text[e + 1]) && (text[e] == '-' || std::isdigit((unsigned char) c))))) {
                ++e;
            }
        } else if ((unsigned char) c >= 0x80) {
            while (e < sent.end && ((unsigned char) text[e] & 0xC0) == 0x80) {
                ++e;
            }
        }
        t.span = { i, e };
        t.text = text.substr(i, e - i);
        t.lw   = lower(straight_apostrophes(t.text));
        toks.push_back(t);
        i = e;
    }
    // word classes
    for (size_t k = 0; k < toks.size(); ++k) {
        tok & t = toks[k];
        if (t.lw == "'s") {
            t.c = wclass::possmark;
            continue;
        }
        if (!is_alnum(t.text[0]) && (unsigned char) t.text[0] < 0x80) {
            t.c = wclass::punct;
            continue;
        }
        if ((unsigned char) t.text[0] >= 0x80) {
            t.c = wclass::punct;
            continue;
        }
        if (is_number_word(t.lw)) {
            t.c = wclass::num;
            continue;
        }
        if (k_possessives.count(t.lw) && t.lw != "her") {
            t.c = wclass::poss;
            continue;
        }
        if (k_pronouns.count(t.lw) && !k_pronoun_or_det.count(t.lw)) {
            t.c = wclass::pron;
            continue;
        }
        if (k_pronoun_or_det.count(t.lw) || (k_determiners.count(t.lw) && !k_function_words.count(t.lw))) {
            t.c = wclass::det;  // resolved below by what follows
            continue;
        }
        if (k_function_words.count(t.lw)) {
            t.c = wclass::func;
            continue;
        }
        for (const auto & s : im.subscripts(t.lw)) {
            t.can_n = t.can_n || is_noun_subscript(s);
            t.can_v = t.can_v || (!s.empty() && s[0] == 'v') || s == "g";
            t.can_a = t.can_a || (!s.empty() && s[0] == 'a');
            t.can_e = t.can_e || (!s.empty() && s[0] == 'e');
        }
        if (!t.can_n && !t.can_v && !t.can_a && !t.can_e) {  // unknown to the dictionary (or no parser)
            if (ends_with(t.lw, "ly")) {
                t.can_e = true;
            } else if (ends_with(t.lw, "ing") || ends_with(t.lw, "ed")) {
                t.can_v = t.can_a = true;
            } else if (ends_with(t.lw, "ous") || ends_with(t.lw, "ful") || ends_with(t.lw, "ive") ||
                       ends_with(t.lw, "able") || ends_with(t.lw, "less") || ends_with(t.lw, "ish")) {
                t.can_a = true;
            } else {
                t.can_n = true;
            }
        }
        const bool cap = std::isupper((unsigned char) t.text[0]) && k > 0;
        t.c            = cap && !t.can_v ? wclass::propn : wclass::noun;  // refined below
    }
    auto noun_capable = [&](size_t k) {
        return k < toks.size() && (toks[k].c == wclass::propn ||
                                   ((toks[k].c == wclass::noun) && (toks[k].can_n || toks[k].can_a)));
    };
    for (size_t k = 0; k < toks.size(); ++k) {
        tok & t = toks[k];
        if (t.c != wclass::noun) {
            continue;
        }
        const wclass prev = k > 0 ? toks[k - 1].c : wclass::punct;
        const bool   after_np_start = prev == wclass::det || prev == wclass::poss || prev == wclass::num ||
                                    prev == wclass::adj || prev == wclass::possmark;
        if (t.can_a && noun_capable(k + 1)) {
            t.c = wclass::adj;
        } else if (t.can_n && after_np_start) {
            t.c = wclass::noun;
        } else if (t.can_v && (prev == wclass::noun || prev == wclass::propn)) {
            // agreement decides: "the dog sits", "two dogs play" (verbs) vs "a cell phone", "a bus stop" (compounds)
            auto       s_form      = [](const std::string & w) {
                return ends_with(w, "s") && !ends_with(w, "ss") && !ends_with(w, "us") && !ends_with(w, "is");
            };
            const bool prev_plural = s_form(toks[k - 1].lw);
            const bool third_sg    = s_form(t.lw);
            t.c = (prev_plural ? !third_sg : third_sg) || !t.can_n ? wclass::verb : wclass::noun;
        } else if (t.can_v && prev == wclass::pron) {
            t.c = wclass::verb;  // "they stand"
        } else if (t.can_v && prev == wclass::func && k_verb_leaders.count(toks[k - 1].lw)) {
            t.c = wclass::verb;  // "is standing", "to hold", "can see"
        } else if (t.can_n) {
            t.c = wclass::noun;
        } else if (t.can_a) {
            t.c = wclass::adj;
        } else if (t.can_e) {
            t.c = wclass::adv;
        } else {
            t.c = wclass::verb;
        }
    }
    // determiner-or-pronoun words: a determiner when a noun phrase follows
    for (size_t k = 0; k < toks.size(); ++k) {
        tok & t = toks[k];
        if (t.c == wclass::det && k_pronoun_or_det.count(t.lw)) {
            const bool np_follows = k + 1 < toks.size() &&
                                    (toks[k + 1].c == wclass::noun || toks[k + 1].c == wclass::adj ||
                                     toks[k + 1].c == wclass::propn || toks[k + 1].c == wclass::num);
            if (!np_follows) {
                t.c = (t.lw == "that" || t.lw == "which" || t.lw == "what" || t.lw == "her" || t.lw == "this" ||
                       t.lw == "these" || t.lw == "those")
                          ? wclass::pron
                          : wclass::func;
            }
        }
    }
    // runs of noun-phrase words; the head is the last noun of the run
    int prev_end = -1;
    for (size_t k = 0; k < toks.size();) {
        const wclass c = toks[k].c;
        if (c == wclass::pron) {
            if (p.include_pronouns) {
                push_chunk(out, prev_end, (int) k, (int) k, toks[k].span, toks[k].span, true);
            }
            ++k;
            continue;
        }
        const bool starts = c == wclass::det || c == wclass::poss || c == wclass::num || c == wclass::adj ||
                            c == wclass::noun || c == wclass::propn ||
                            (c == wclass::adv && k + 1 < toks.size() && toks[k + 1].c == wclass::adj);
        if (!starts) {
            ++k;
            continue;
        }
        size_t e         = k;
        int    last_noun = -1;
        while (e < toks.size()) {
            const wclass ce = toks[e].c;
            const bool   in = ce == wclass::noun || ce == wclass::propn || ce == wclass::adj ||
                            ce == wclass::possmark || (ce == wclass::adv && e + 1 < toks.size() &&
                                                       (toks[e + 1].c == wclass::adj || toks[e + 1].c == wclass::num)) ||
                            ((ce == wclass::det || ce == wclass::poss || ce == wclass::num) &&
                             (last_noun < 0 || toks[e - 1].c == wclass::possmark));
            if (!in) {
                break;
            }
            if (ce == wclass::noun || ce == wclass::propn) {
                last_noun = (int) e;
            }
            ++e;
        }
        if (last_noun >= 0) {
            push_chunk(out, prev_end, (int) k, last_noun, { toks[k].span.begin, toks[last_noun].span.end },
                       toks[last_noun].span, false);
        }
        k = std::max(e, k + 1);
    }
}

int count_words(const std::string & text, char_span s) {
    int  n  = 0;
    bool in = false;
    for (int i = s.begin; i < s.end; ++i) {
        const bool w = !is_space(text[i]);
        n += w && !in;
        in = w;
    }
    return n;
}

const char * status_reason(parse_status s) {
    switch (s) {
        case parse_status::timeout:
            return "time limit";
        case parse_status::too_many_nulls:
            return "too many unlinked words";
        case parse_status::no_parse:
            return "no parse";
        default:
            return "";
    }
}

}  // namespace

phrase_result phrase_chunker::chunk(const std::string & text) const {
    phrase_result    res;
    lg_handler_scope scope;
    for (const char_span & sp : split_sentences(text)) {
        sentence_info si;
        si.span = sp;
        std::vector<chunk_out> chunks;
        const int              nwords = count_words(text, sp);
        if (!params_.use_parser) {
            si.reason = "parser disabled";
        } else if (nwords > params_.max_sentence_words) {
            si.reason = strfmt("too long (%d words > %d)", nwords, params_.max_sentence_words);
        } else {
            int                nulls = 0;
            const parse_status st    = parse_chunks(*impl_, params_, text, sp, chunks, &nulls);
            if (st == parse_status::ok) {
                si.parsed     = true;
                si.null_words = nulls;
            } else {
                chunks.clear();
                si.reason = status_reason(st);
            }
        }
        if (!si.parsed) {
            si.fallback = true;
            res.n_fallback++;
            fallback_chunks(*impl_, params_, text, sp, chunks);
            // debug level: runs count these (result.json "sentences.fallback", the evaluation and experiment
            // summaries); one line per sentence would flood a run's log
            GLM_LOG_DEBUG("phrases: sentence %zu (bytes %d..%d) chunked by the fallback rules: %s\n",
                         res.sentences.size(), sp.begin, sp.end, si.reason.c_str());
        }
        for (const chunk_out & c : chunks) {
            noun_phrase np;
            np.span      = c.span;
            np.head      = c.head;
            np.text      = text.substr(c.span.begin, c.span.end - c.span.begin);
            np.head_text = text.substr(c.head.begin, c.head.end - c.head.begin);
            np.sentence  = (int) res.sentences.size();
            np.fallback  = si.fallback;
            np.pronoun   = c.pronoun;
            res.phrases.push_back(np);
        }
        res.sentences.push_back(si);
    }
    return res;
}

}  // namespace glm
