// eval/ptb-regex.cpp: JFlex-style rules compiled to one Thompson NFA over UTF-16 code units, simulated state-set by
// state-set (see ptb-regex.h for the syntax and the matching rules).
#include "eval/ptb-regex.h"

#include "common.h"

#include <algorithm>
#include <cassert>
#include <locale.h>
#include <wctype.h>

namespace glm {
namespace ptb_detail {

// ---- Unicode predicates ----

// General_Category L* (Lu Ll Lt Lm Lo) in the BMP, Unicode 14.0 (generated with Python's unicodedata).
static const uint16_t k_letters[][2] = {
    { 0x0041, 0x005A }, { 0x0061, 0x007A }, { 0x00AA, 0x00AA }, { 0x00B5, 0x00B5 }, { 0x00BA, 0x00BA },
    { 0x00C0, 0x00D6 }, { 0x00D8, 0x00F6 }, { 0x00F8, 0x02C1 }, { 0x02C6, 0x02D1 }, { 0x02E0, 0x02E4 },
    { 0x02EC, 0x02EC }, { 0x02EE, 0x02EE }, { 0x0370, 0x0374 }, { 0x0376, 0x0377 }, { 0x037A, 0x037D },
    { 0x037F, 0x037F }, { 0x0386, 0x0386 }, { 0x0388, 0x038A }, { 0x038C, 0x038C }, { 0x038E, 0x03A1 },
    { 0x03A3, 0x03F5 }, { 0x03F7, 0x0481 }, { 0x048A, 0x052F }, { 0x0531, 0x0556 }, { 0x0559, 0x0559 },
    { 0x0560, 0x0588 }, { 0x05D0, 0x05EA }, { 0x05EF, 0x05F2 }, { 0x0620, 0x064A }, { 0x066E, 0x066F },
    { 0x0671, 0x06D3 }, { 0x06D5, 0x06D5 }, { 0x06E5, 0x06E6 }, { 0x06EE, 0x06EF }, { 0x06FA, 0x06FC },
    { 0x06FF, 0x06FF }, { 0x0710, 0x0710 }, { 0x0712, 0x072F }, { 0x074D, 0x07A5 }, { 0x07B1, 0x07B1 },
    { 0x07CA, 0x07EA }, { 0x07F4, 0x07F5 }, { 0x07FA, 0x07FA }, { 0x0800, 0x0815 }, { 0x081A, 0x081A },
    { 0x0824, 0x0824 }, { 0x0828, 0x0828 }, { 0x0840, 0x0858 }, { 0x0860, 0x086A }, { 0x0870, 0x0887 },
    { 0x0889, 0x088E }, { 0x08A0, 0x08C9 }, { 0x0904, 0x0939 }, { 0x093D, 0x093D }, { 0x0950, 0x0950 },
    { 0x0958, 0x0961 }, { 0x0971, 0x0980 }, { 0x0985, 0x098C }, { 0x098F, 0x0990 }, { 0x0993, 0x09A8 },
    { 0x09AA, 0x09B0 }, { 0x09B2, 0x09B2 }, { 0x09B6, 0x09B9 }, { 0x09BD, 0x09BD }, { 0x09CE, 0x09CE },
    { 0x09DC, 0x09DD }, { 0x09DF, 0x09E1 }, { 0x09F0, 0x09F1 }, { 0x09FC, 0x09FC }, { 0x0A05, 0x0A0A },
    { 0x0A0F, 0x0A10 }, { 0x0A13, 0x0A28 }, { 0x0A2A, 0x0A30 }, { 0x0A32, 0x0A33 }, { 0x0A35, 0x0A36 },
    { 0x0A38, 0x0A39 }, { 0x0A59, 0x0A5C }, { 0x0A5E, 0x0A5E }, { 0x0A72, 0x0A74 }, { 0x0A85, 0x0A8D },
    { 0x0A8F, 0x0A91 }, { 0x0A93, 0x0AA8 }, { 0x0AAA, 0x0AB0 }, { 0x0AB2, 0x0AB3 }, { 0x0AB5, 0x0AB9 },
    { 0x0ABD, 0x0ABD }, { 0x0AD0, 0x0AD0 }, { 0x0AE0, 0x0AE1 }, { 0x0AF9, 0x0AF9 }, { 0x0B05, 0x0B0C },
    { 0x0B0F, 0x0B10 }, { 0x0B13, 0x0B28 }, { 0x0B2A, 0x0B30 }, { 0x0B32, 0x0B33 }, { 0x0B35, 0x0B39 },
    { 0x0B3D, 0x0B3D }, { 0x0B5C, 0x0B5D }, { 0x0B5F, 0x0B61 }, { 0x0B71, 0x0B71 }, { 0x0B83, 0x0B83 },
    { 0x0B85, 0x0B8A }, { 0x0B8E, 0x0B90 }, { 0x0B92, 0x0B95 }, { 0x0B99, 0x0B9A }, { 0x0B9C, 0x0B9C },
    { 0x0B9E, 0x0B9F }, { 0x0BA3, 0x0BA4 }, { 0x0BA8, 0x0BAA }, { 0x0BAE, 0x0BB9 }, { 0x0BD0, 0x0BD0 },
    { 0x0C05, 0x0C0C }, { 0x0C0E, 0x0C10 }, { 0x0C12, 0x0C28 }, { 0x0C2A, 0x0C39 }, { 0x0C3D, 0x0C3D },
    { 0x0C58, 0x0C5A }, { 0x0C5D, 0x0C5D }, { 0x0C60, 0x0C61 }, { 0x0C80, 0x0C80 }, { 0x0C85, 0x0C8C },
    { 0x0C8E, 0x0C90 }, { 0x0C92, 0x0CA8 }, { 0x0CAA, 0x0CB3 }, { 0x0CB5, 0x0CB9 }, { 0x0CBD, 0x0CBD },
    { 0x0CDD, 0x0CDE }, { 0x0CE0, 0x0CE1 }, { 0x0CF1, 0x0CF2 }, { 0x0D04, 0x0D0C }, { 0x0D0E, 0x0D10 },
    { 0x0D12, 0x0D3A }, { 0x0D3D, 0x0D3D }, { 0x0D4E, 0x0D4E }, { 0x0D54, 0x0D56 }, { 0x0D5F, 0x0D61 },
    { 0x0D7A, 0x0D7F }, { 0x0D85, 0x0D96 }, { 0x0D9A, 0x0DB1 }, { 0x0DB3, 0x0DBB }, { 0x0DBD, 0x0DBD },
    { 0x0DC0, 0x0DC6 }, { 0x0E01, 0x0E30 }, { 0x0E32, 0x0E33 }, { 0x0E40, 0x0E46 }, { 0x0E81, 0x0E82 },
    { 0x0E84, 0x0E84 }, { 0x0E86, 0x0E8A }, { 0x0E8C, 0x0EA3 }, { 0x0EA5, 0x0EA5 }, { 0x0EA7, 0x0EB0 },
    { 0x0EB2, 0x0EB3 }, { 0x0EBD, 0x0EBD }, { 0x0EC0, 0x0EC4 }, { 0x0EC6, 0x0EC6 }, { 0x0EDC, 0x0EDF },
    { 0x0F00, 0x0F00 }, { 0x0F40, 0x0F47 }, { 0x0F49, 0x0F6C }, { 0x0F88, 0x0F8C }, { 0x1000, 0x102A },
    { 0x103F, 0x103F }, { 0x1050, 0x1055 }, { 0x105A, 0x105D }, { 0x1061, 0x1061 }, { 0x1065, 0x1066 },
    { 0x106E, 0x1070 }, { 0x1075, 0x1081 }, { 0x108E, 0x108E }, { 0x10A0, 0x10C5 }, { 0x10C7, 0x10C7 },
    { 0x10CD, 0x10CD }, { 0x10D0, 0x10FA }, { 0x10FC, 0x1248 }, { 0x124A, 0x124D }, { 0x1250, 0x1256 },
    { 0x1258, 0x1258 }, { 0x125A, 0x125D }, { 0x1260, 0x1288 }, { 0x128A, 0x128D }, { 0x1290, 0x12B0 },
    { 0x12B2, 0x12B5 }, { 0x12B8, 0x12BE }, { 0x12C0, 0x12C0 }, { 0x12C2, 0x12C5 }, { 0x12C8, 0x12D6 },
    { 0x12D8, 0x1310 }, { 0x1312, 0x1315 }, { 0x1318, 0x135A }, { 0x1380, 0x138F }, { 0x13A0, 0x13F5 },
    { 0x13F8, 0x13FD }, { 0x1401, 0x166C }, { 0x166F, 0x167F }, { 0x1681, 0x169A }, { 0x16A0, 0x16EA },
    { 0x16F1, 0x16F8 }, { 0x1700, 0x1711 }, { 0x171F, 0x1731 }, { 0x1740, 0x1751 }, { 0x1760, 0x176C },
    { 0x176E, 0x1770 }, { 0x1780, 0x17B3 }, { 0x17D7, 0x17D7 }, { 0x17DC, 0x17DC }, { 0x1820, 0x1878 },
    { 0x1880, 0x1884 }, { 0x1887, 0x18A8 }, { 0x18AA, 0x18AA }, { 0x18B0, 0x18F5 }, { 0x1900, 0x191E },
    { 0x1950, 0x196D }, { 0x1970, 0x1974 }, { 0x1980, 0x19AB }, { 0x19B0, 0x19C9 }, { 0x1A00, 0x1A16 },
    { 0x1A20, 0x1A54 }, { 0x1AA7, 0x1AA7 }, { 0x1B05, 0x1B33 }, { 0x1B45, 0x1B4C }, { 0x1B83, 0x1BA0 },
    { 0x1BAE, 0x1BAF }, { 0x1BBA, 0x1BE5 }, { 0x1C00, 0x1C23 }, { 0x1C4D, 0x1C4F }, { 0x1C5A, 0x1C7D },
    { 0x1C80, 0x1C88 }, { 0x1C90, 0x1CBA }, { 0x1CBD, 0x1CBF }, { 0x1CE9, 0x1CEC }, { 0x1CEE, 0x1CF3 },
    { 0x1CF5, 0x1CF6 }, { 0x1CFA, 0x1CFA }, { 0x1D00, 0x1DBF }, { 0x1E00, 0x1F15 }, { 0x1F18, 0x1F1D },
    { 0x1F20, 0x1F45 }, { 0x1F48, 0x1F4D }, { 0x1F50, 0x1F57 }, { 0x1F59, 0x1F59 }, { 0x1F5B, 0x1F5B },
    { 0x1F5D, 0x1F5D }, { 0x1F5F, 0x1F7D }, { 0x1F80, 0x1FB4 }, { 0x1FB6, 0x1FBC }, { 0x1FBE, 0x1FBE },
    { 0x1FC2, 0x1FC4 }, { 0x1FC6, 0x1FCC }, { 0x1FD0, 0x1FD3 }, { 0x1FD6, 0x1FDB }, { 0x1FE0, 0x1FEC },
    { 0x1FF2, 0x1FF4 }, { 0x1FF6, 0x1FFC }, { 0x2071, 0x2071 }, { 0x207F, 0x207F }, { 0x2090, 0x209C },
    { 0x2102, 0x2102 }, { 0x2107, 0x2107 }, { 0x210A, 0x2113 }, { 0x2115, 0x2115 }, { 0x2119, 0x211D },
    { 0x2124, 0x2124 }, { 0x2126, 0x2126 }, { 0x2128, 0x2128 }, { 0x212A, 0x212D }, { 0x212F, 0x2139 },
    { 0x213C, 0x213F }, { 0x2145, 0x2149 }, { 0x214E, 0x214E }, { 0x2183, 0x2184 }, { 0x2C00, 0x2CE4 },
    { 0x2CEB, 0x2CEE }, { 0x2CF2, 0x2CF3 }, { 0x2D00, 0x2D25 }, { 0x2D27, 0x2D27 }, { 0x2D2D, 0x2D2D },
    { 0x2D30, 0x2D67 }, { 0x2D6F, 0x2D6F }, { 0x2D80, 0x2D96 }, { 0x2DA0, 0x2DA6 }, { 0x2DA8, 0x2DAE },
    { 0x2DB0, 0x2DB6 }, { 0x2DB8, 0x2DBE }, { 0x2DC0, 0x2DC6 }, { 0x2DC8, 0x2DCE }, { 0x2DD0, 0x2DD6 },
    { 0x2DD8, 0x2DDE }, { 0x2E2F, 0x2E2F }, { 0x3005, 0x3006 }, { 0x3031, 0x3035 }, { 0x303B, 0x303C },
    { 0x3041, 0x3096 }, { 0x309D, 0x309F }, { 0x30A1, 0x30FA }, { 0x30FC, 0x30FF }, { 0x3105, 0x312F },
    { 0x3131, 0x318E }, { 0x31A0, 0x31BF }, { 0x31F0, 0x31FF }, { 0x3400, 0x4DBF }, { 0x4E00, 0xA48C },
    { 0xA4D0, 0xA4FD }, { 0xA500, 0xA60C }, { 0xA610, 0xA61F }, { 0xA62A, 0xA62B }, { 0xA640, 0xA66E },
    { 0xA67F, 0xA69D }, { 0xA6A0, 0xA6E5 }, { 0xA717, 0xA71F }, { 0xA722, 0xA788 }, { 0xA78B, 0xA7CA },
    { 0xA7D0, 0xA7D1 }, { 0xA7D3, 0xA7D3 }, { 0xA7D5, 0xA7D9 }, { 0xA7F2, 0xA801 }, { 0xA803, 0xA805 },
    { 0xA807, 0xA80A }, { 0xA80C, 0xA822 }, { 0xA840, 0xA873 }, { 0xA882, 0xA8B3 }, { 0xA8F2, 0xA8F7 },
    { 0xA8FB, 0xA8FB }, { 0xA8FD, 0xA8FE }, { 0xA90A, 0xA925 }, { 0xA930, 0xA946 }, { 0xA960, 0xA97C },
    { 0xA984, 0xA9B2 }, { 0xA9CF, 0xA9CF }, { 0xA9E0, 0xA9E4 }, { 0xA9E6, 0xA9EF }, { 0xA9FA, 0xA9FE },
    { 0xAA00, 0xAA28 }, { 0xAA40, 0xAA42 }, { 0xAA44, 0xAA4B }, { 0xAA60, 0xAA76 }, { 0xAA7A, 0xAA7A },
    { 0xAA7E, 0xAAAF }, { 0xAAB1, 0xAAB1 }, { 0xAAB5, 0xAAB6 }, { 0xAAB9, 0xAABD }, { 0xAAC0, 0xAAC0 },
    { 0xAAC2, 0xAAC2 }, { 0xAADB, 0xAADD }, { 0xAAE0, 0xAAEA }, { 0xAAF2, 0xAAF4 }, { 0xAB01, 0xAB06 },
    { 0xAB09, 0xAB0E }, { 0xAB11, 0xAB16 }, { 0xAB20, 0xAB26 }, { 0xAB28, 0xAB2E }, { 0xAB30, 0xAB5A },
    { 0xAB5C, 0xAB69 }, { 0xAB70, 0xABE2 }, { 0xAC00, 0xD7A3 }, { 0xD7B0, 0xD7C6 }, { 0xD7CB, 0xD7FB },
    { 0xF900, 0xFA6D }, { 0xFA70, 0xFAD9 }, { 0xFB00, 0xFB06 }, { 0xFB13, 0xFB17 }, { 0xFB1D, 0xFB1D },
    { 0xFB1F, 0xFB28 }, { 0xFB2A, 0xFB36 }, { 0xFB38, 0xFB3C }, { 0xFB3E, 0xFB3E }, { 0xFB40, 0xFB41 },
    { 0xFB43, 0xFB44 }, { 0xFB46, 0xFBB1 }, { 0xFBD3, 0xFD3D }, { 0xFD50, 0xFD8F }, { 0xFD92, 0xFDC7 },
    { 0xFDF0, 0xFDFB }, { 0xFE70, 0xFE74 }, { 0xFE76, 0xFEFC }, { 0xFF21, 0xFF3A }, { 0xFF41, 0xFF5A },
    { 0xFF66, 0xFFBE }, { 0xFFC2, 0xFFC7 }, { 0xFFCA, 0xFFCF }, { 0xFFD2, 0xFFD7 }, { 0xFFDA, 0xFFDC },
};

// General_Category Nd in the BMP, Unicode 14.0: every block is ten consecutive digits starting here.
static const uint16_t k_digit_blocks[] = {
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
};

bool unicode_letter(uint32_t c) {
    const size_t n = sizeof(k_letters) / sizeof(k_letters[0]);
    size_t       lo = 0, hi = n;  // first range with end >= c
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (k_letters[mid][1] < c) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && k_letters[lo][0] <= c;
}

bool unicode_digit(uint32_t c) {
    for (uint16_t b : k_digit_blocks) {
        if (c >= b && c < b + 10u) {
            return true;
        }
    }
    return false;
}

bool unicode_upper(uint32_t c) {
    if (c < 0x80) {
        return c >= 'A' && c <= 'Z';
    }
    static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);  // process-wide, never freed
    return loc && iswupper_l((wint_t) c, loc);
}

// ---- character sets ----

bool char_set::has(uint32_t c) const {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), std::make_pair(c, UINT32_MAX));
    return it != ranges.begin() && std::prev(it)->second >= c;
}

void char_set::add(uint32_t lo, uint32_t hi) {
    ranges.emplace_back(lo, hi);
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto & r : ranges) {
        if (!merged.empty() && r.first <= merged.back().second + 1) {
            merged.back().second = std::max(merged.back().second, r.second);
        } else {
            merged.push_back(r);
        }
    }
    ranges = std::move(merged);
}

void char_set::add(const char_set & o) {
    for (const auto & r : o.ranges) {
        add(r.first, r.second);
    }
}

char_set char_set::complement() const {
    char_set out;
    uint32_t next = 0;
    for (const auto & r : ranges) {
        if (r.first > next) {
            out.ranges.emplace_back(next, r.first - 1);
        }
        next = r.second + 1;
    }
    if (next <= 0xFFFF) {
        out.ranges.emplace_back(next, 0xFFFF);
    }
    return out;
}

static char_set set_of(bool (*pred)(uint32_t)) {
    char_set out;
    for (uint32_t c = 0; c <= 0xFFFF; ++c) {
        if (pred(c)) {
            if (!out.ranges.empty() && out.ranges.back().second + 1 == c) {
                out.ranges.back().second = c;
            } else {
                out.ranges.emplace_back(c, c);
            }
        }
    }
    return out;
}

static const char_set & predefined(const std::string & name, const std::string & pattern) {
    static const char_set letter = set_of(unicode_letter), digit = set_of(unicode_digit), upper = set_of(unicode_upper);
    if (name == "letter") {
        return letter;
    }
    if (name == "digit") {
        return digit;
    }
    if (name == "uppercase") {
        return upper;
    }
    throw glm::error("ptb-regex: unknown class [:" + name + ":] in " + pattern);
}

// ---- syntax tree and parser ----

struct re_node {
    enum kind_t { SET, CAT, ALT, STAR, PLUS, OPT, REP } kind = SET;
    char_set            set;   // SET
    std::vector<re_ptr> kids;  // CAT, ALT: all; others: one
    int                 lo = 0, hi = 0;  // REP: {lo,hi}
};

static re_ptr make(re_node::kind_t k, std::vector<re_ptr> kids, int lo = 0, int hi = 0) {
    auto n  = std::make_shared<re_node>();
    n->kind = k;
    n->kids = std::move(kids);
    n->lo   = lo;
    n->hi   = hi;
    return n;
}

static re_ptr make_set(char_set cs) {
    auto n  = std::make_shared<re_node>();
    n->kind = re_node::SET;
    n->set  = std::move(cs);
    return n;
}

class re_parser {
public:
    re_parser(ptb_scanner & sc, const std::string & p) : sc_(sc), p_(p) {}

    re_ptr parse() {
        re_ptr n = alt();
        if (i_ != p_.size()) {
            bad("unexpected '" + std::string(1, p_[i_]) + "'");
        }
        return n;
    }

private:
    [[noreturn]] void bad(const std::string & what) const {
        throw glm::error("ptb-regex: " + what + " at " + std::to_string(i_) + " in " + p_);
    }
    bool more() const { return i_ < p_.size(); }
    char peek(size_t k = 0) const { return i_ + k < p_.size() ? p_[i_ + k] : '\0'; }

    re_ptr alt() {
        std::vector<re_ptr> alts{ cat() };
        while (more() && peek() == '|') {
            i_++;
            alts.push_back(cat());
        }
        if (alts.size() == 1) {
            return alts[0];
        }
        bool all_sets = true;  // a union of single-unit alternatives is one set
        for (const auto & a : alts) {
            all_sets = all_sets && a->kind == re_node::SET;
        }
        if (all_sets) {
            char_set u;
            for (const auto & a : alts) {
                u.add(a->set);
            }
            return make_set(u);
        }
        return make(re_node::ALT, alts);
    }

    re_ptr cat() {
        std::vector<re_ptr> seq;
        while (more() && peek() != '|' && peek() != ')') {
            seq.push_back(repeat());
        }
        return seq.size() == 1 ? seq[0] : make(re_node::CAT, seq);
    }

    re_ptr repeat() {
        re_ptr a = atom();
        while (more()) {
            const char c = peek();
            if (c == '*') {
                a = make(re_node::STAR, { a });
            } else if (c == '+') {
                a = make(re_node::PLUS, { a });
            } else if (c == '?') {
                a = make(re_node::OPT, { a });
            } else if (c == '{' && isdigit((unsigned char) peek(1))) {
                i_++;
                const int lo = number();
                int       hi = lo;
                if (peek() == ',') {
                    i_++;
                    hi = number();
                }
                if (peek() != '}' || hi < lo) {
                    bad("bad repetition");
                }
                a = make(re_node::REP, { a }, lo, hi);
            } else {
                break;
            }
            i_++;
        }
        return a;
    }

    int number() {
        if (!isdigit((unsigned char) peek())) {
            bad("expected a number");
        }
        int v = 0;
        while (isdigit((unsigned char) peek())) {
            v = v * 10 + (p_[i_++] - '0');
        }
        return v;
    }

    static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }

    uint32_t escape() {  // after '\'
        if (!more()) {
            bad("dangling backslash");
        }
        const char c = p_[i_++];
        if (c == 'u' || c == 'x') {
            const int n = c == 'u' ? 4 : 2;
            uint32_t  v = 0;
            for (int k = 0; k < n; ++k) {
                const int h = hex(peek());
                if (h < 0) {
                    bad("bad hex escape");
                }
                v = v * 16 + h;
                i_++;
            }
            return v;
        }
        switch (c) {
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'f': return '\f';
            case '0': return 0;
            default: return (unsigned char) c;
        }
    }

    uint32_t plain() {  // one pattern character (patterns are ASCII; non-ASCII is written as \u escapes)
        const unsigned char c = (unsigned char) p_[i_++];
        if (c >= 0x80) {
            bad("non-ASCII character (write it as \\uXXXX)");
        }
        return c;
    }

    static re_ptr literal(uint32_t c) {  // %caseless: a literal letter matches both cases
        char_set cs;
        cs.add(c, c);
        if (c < 0x80 && isalpha((int) c)) {
            const uint32_t o = c ^ 0x20;
            cs.add(o, o);
        }
        return make_set(cs);
    }

    bool at_named_class() const {  // "[:name:]" (letters only; "[:;=]" is an ordinary class)
        if (peek() != '[' || peek(1) != ':') {
            return false;
        }
        size_t k = i_ + 2;
        while (k < p_.size() && isalpha((unsigned char) p_[k])) {
            k++;
        }
        return k > i_ + 2 && p_.compare(k, 2, ":]") == 0;
    }

    const char_set & named_class() {  // at "[:name:]"
        const size_t e = p_.find(":]", i_ + 2);
        if (e == std::string::npos) {
            bad("unterminated [:class:]");
        }
        const std::string name = p_.substr(i_ + 2, e - i_ - 2);
        i_                     = e + 2;
        return predefined(name, p_);
    }

    re_ptr char_class() {  // at '['
        i_++;
        const bool neg = peek() == '^';
        if (neg) {
            i_++;
        }
        char_set cs;
        while (true) {
            if (!more()) {
                bad("unterminated class");
            }
            if (peek() == ']') {
                i_++;
                break;
            }
            if (at_named_class()) {
                cs.add(named_class());
                continue;
            }
            const uint32_t lo = peek() == '\\' ? (i_++, escape()) : plain();
            uint32_t       hi = lo;
            if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
                i_++;
                hi = peek() == '\\' ? (i_++, escape()) : plain();
                if (hi < lo) {
                    bad("reversed range");
                }
            }
            cs.add(lo, hi);
        }
        return make_set(neg ? cs.complement() : cs);
    }

    re_ptr macro() {  // at '{'
        const size_t e = p_.find('}', i_);
        if (e == std::string::npos) {
            bad("unterminated macro reference");
        }
        const std::string name = p_.substr(i_ + 1, e - i_ - 1);
        i_                     = e + 1;
        auto it                = sc_.macro_ast_.find(name);
        if (it != sc_.macro_ast_.end()) {
            return it->second;
        }
        auto src = sc_.macro_src_.find(name);
        if (src == sc_.macro_src_.end()) {
            bad("unknown macro {" + name + "}");
        }
        re_ptr n               = re_parser(sc_, src->second).parse();
        sc_.macro_ast_[name]   = n;
        return n;
    }

    re_ptr atom() {
        const char c = peek();
        if (c == '(') {
            i_++;
            re_ptr n = alt();
            if (peek() != ')') {
                bad("missing ')'");
            }
            i_++;
            return n;
        }
        if (c == '[') {
            if (at_named_class()) {
                return make_set(named_class());
            }
            return char_class();
        }
        if (c == '{') {
            return macro();
        }
        if (c == '"') {
            i_++;
            std::vector<re_ptr> seq;
            while (peek() != '"') {
                if (!more()) {
                    bad("unterminated string");
                }
                seq.push_back(literal(peek() == '\\' ? (i_++, escape()) : plain()));
            }
            i_++;
            return seq.size() == 1 ? seq[0] : make(re_node::CAT, seq);
        }
        if (c == '.') {
            i_++;
            char_set nl;
            nl.add('\n', '\n');
            return make_set(nl.complement());
        }
        if (c == '\\') {
            i_++;
            return literal(escape());
        }
        if (c == '*' || c == '+' || c == '?' || c == '|' || c == ')' || c == '~' || c == '!' || c == '^' || c == '$') {
            bad("unsupported or misplaced operator");
        }
        return literal(plain());
    }

    ptb_scanner &       sc_;
    const std::string & p_;
    size_t              i_ = 0;
};

// ---- NFA ----

void ptb_scanner::define(const std::string & name, const std::string & pattern) {
    macro_src_[name] = pattern;
}

re_ptr ptb_scanner::parse(const std::string & pattern) {
    return re_parser(*this, pattern).parse();
}

int ptb_scanner::new_state() {
    states_.emplace_back();
    return (int) states_.size() - 1;
}

int ptb_scanner::intern(const char_set & cs) {
    for (size_t k = 0; k < sets_.size(); ++k) {
        if (sets_[k].ranges == cs.ranges) {
            return (int) k;
        }
    }
    sets_.push_back(cs);
    return (int) sets_.size() - 1;
}

int ptb_scanner::compile(const re_ptr & node, int from) {
    switch (node->kind) {
        case re_node::SET:
            {
                const int s = new_state(), e = new_state();
                states_[s].set  = intern(node->set);
                states_[s].next = e;
                states_[from].eps.push_back(s);
                return e;
            }
        case re_node::CAT:
            {
                int cur = from;
                for (const auto & k : node->kids) {
                    cur = compile(k, cur);
                }
                return cur;
            }
        case re_node::ALT:
            {
                const int end = new_state();
                for (const auto & k : node->kids) {
                    const int s = new_state();
                    states_[from].eps.push_back(s);
                    const int e = compile(k, s);
                    states_[e].eps.push_back(end);
                }
                return end;
            }
        case re_node::STAR:
            {
                const int s = new_state();
                states_[from].eps.push_back(s);
                const int e = compile(node->kids[0], s);
                states_[e].eps.push_back(s);
                return s;
            }
        case re_node::PLUS:
            {
                const int s = new_state();
                states_[from].eps.push_back(s);
                const int e   = compile(node->kids[0], s);
                const int out = new_state();
                states_[e].eps.push_back(s);
                states_[e].eps.push_back(out);
                return out;
            }
        case re_node::OPT:
            {
                const int s = new_state();
                states_[from].eps.push_back(s);
                const int e   = compile(node->kids[0], s);
                const int out = new_state();
                states_[s].eps.push_back(out);
                states_[e].eps.push_back(out);
                return out;
            }
        case re_node::REP:
            {
                int cur = from;
                for (int k = 0; k < node->lo; ++k) {
                    cur = compile(node->kids[0], cur);
                }
                std::vector<int> ends{ cur };
                for (int k = node->lo; k < node->hi; ++k) {
                    cur = compile(node->kids[0], cur);
                    ends.push_back(cur);
                }
                const int out = new_state();
                for (int e : ends) {
                    states_[e].eps.push_back(out);
                }
                return out;
            }
    }
    return from;
}

int ptb_scanner::add_rule(const std::string & main, const std::string & context) {
    if (start_ < 0) {
        start_ = new_state();
    }
    const int  idx = (int) rules_.size();
    rule_info  ri;
    const auto m = parse(main);
    const auto c = context.empty() ? nullptr : parse(context);
    ri.combined  = new_state();
    states_[start_].eps.push_back(ri.combined);
    int e = compile(m, ri.combined);
    if (c) {
        e = compile(c, e);
    }
    states_[e].accept = idx;
    if (c) {
        ri.main                                = new_state();
        states_[compile(m, ri.main)].accept    = idx;
        ri.context                             = new_state();
        states_[compile(c, ri.context)].accept = idx;
    }
    rules_.push_back(ri);
    return idx;
}

void ptb_scanner::build() {
    closure_.assign(states_.size(), {});
    std::vector<int> seen(states_.size(), -1), stack;
    for (int s = 0; s < (int) states_.size(); ++s) {
        stack.assign(1, s);
        seen[s] = s;
        while (!stack.empty()) {
            const int t = stack.back();
            stack.pop_back();
            if (states_[t].set >= 0 || states_[t].accept >= 0) {
                closure_[s].push_back(t);
            }
            for (int u : states_[t].eps) {
                if (seen[u] != s) {
                    seen[u] = s;
                    stack.push_back(u);
                }
            }
        }
    }
}

template <class F>
void ptb_scanner::run(int start, const char16_t * s, size_t n, size_t pos, scan_scratch & sc, F f) const {
    if (sc.mark.size() != states_.size()) {
        sc.mark.assign(states_.size(), 0);
        sc.gen = 0;
    }
    sc.cur = closure_[start];
    for (size_t i = pos;; ++i) {
        for (int t : sc.cur) {
            if (states_[t].accept >= 0) {
                f(i - pos, states_[t].accept);
            }
        }
        if (i >= n) {
            break;
        }
        const uint32_t c = s[i];
        if (++sc.gen == 0) {
            std::fill(sc.mark.begin(), sc.mark.end(), 0);
            sc.gen = 1;
        }
        sc.next.clear();
        for (int t : sc.cur) {
            const state & st = states_[t];
            if (st.set >= 0 && sets_[st.set].has(c)) {
                for (int u : closure_[st.next]) {
                    if (sc.mark[u] != sc.gen) {
                        sc.mark[u] = sc.gen;
                        sc.next.push_back(u);
                    }
                }
            }
        }
        if (sc.next.empty()) {
            break;
        }
        std::swap(sc.cur, sc.next);
    }
}

size_t ptb_scanner::longest_match(const char16_t * s, size_t n, size_t pos, int * rule, scan_scratch & sc) const {
    assert(!closure_.empty() && "ptb_scanner::build() not called");
    size_t best = 0;
    int    who  = -1;
    run(start_, s, n, pos, sc, [&](size_t len, int acc) {
        if (len > 0 && (len > best || (len == best && acc < who))) {
            best = len;
            who  = acc;
        }
    });
    *rule = who;
    return best;
}

size_t ptb_scanner::main_length(int rule, const char16_t * s, size_t pos, size_t total, scan_scratch & sc) const {
    const rule_info & ri = rules_[rule];
    if (ri.context < 0) {
        return total;
    }
    std::vector<char> main_ends(total + 1, 0);
    run(ri.main, s, pos + total, pos, sc, [&](size_t len, int) { main_ends[len] = 1; });
    for (size_t k = total + 1; k-- > 0;) {
        if (!main_ends[k]) {
            continue;
        }
        bool ok = false;
        run(ri.context, s, pos + total, pos + k, sc, [&](size_t len, int) { ok = ok || len == total - k; });
        if (ok) {
            return k;
        }
    }
    assert(false && "trailing-context rule matched without a split point");
    return total;
}

}  // namespace ptb_detail
}  // namespace glm
