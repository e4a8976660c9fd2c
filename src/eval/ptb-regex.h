// eval/ptb-regex.h: the small scanner-generator behind eval/ptb-tokenize (not a public API). It compiles rules
// written in JFlex's regular-expression syntax into one Thompson NFA over UTF-16 code units and runs it the way a
// JFlex scanner does: at each position the longest match of any rule wins, the earliest rule on ties; a rule may
// have trailing context (JFlex's `main/context`), which counts towards the match length but not the token.
//
// Syntax (JFlex 1.5, %unicode %caseless): literal characters match case-insensitively (ASCII letters), character
// classes `[...]`, `[^...]` (`[^]` = any unit) are case-sensitive; `[:letter:]` (Unicode L*), `[:digit:]` (Nd),
// `[:uppercase:]`; `.` = any unit but '\n'; escapes \uXXXX, \xXX, \0, \n \r \t \f, `\c` = c; "strings";
// `|`, `*`, `+`, `?`, `{n}`, `{n,m}`; `{NAME}` expands a macro (parsed once). No `~`, `!`, `^`/`$` anchors.
// Unicode classes as JFlex 1.5.1 built them: [:letter:] = General_Category L* and [:digit:] = Nd of Unicode 6.3
// (tables from scripts/ptb-unicode-tables.py); [:uppercase:] = the C library's iswupper (C.UTF-8), newer Unicode.
//
// Thread safety: a ptb_scanner is immutable after build(); longest_match() and main_length() take their scratch
// space as an argument and may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace glm {
namespace ptb_detail {

struct char_set {
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // sorted, disjoint, inclusive, within 0..0xFFFF

    bool     has(uint32_t c) const;
    void     add(uint32_t lo, uint32_t hi);  // keeps the ranges normalised
    void     add(const char_set & o);
    char_set complement() const;
};

struct re_node;
using re_ptr = std::shared_ptr<const re_node>;

struct scan_scratch {  // per-call working memory of the NFA simulation
    std::vector<uint32_t> mark;
    uint32_t              gen = 0;
    std::vector<int>      cur, next;
};

class ptb_scanner {
public:
    // Macros may reference each other (and are expanded where used); rules are tried in the order added.
    void define(const std::string & name, const std::string & pattern);
    // Adds a rule (context "" = none); returns its index.
    int  add_rule(const std::string & main, const std::string & context = "");
    void build();  // after the last add_rule()

    // Longest match of any rule at s[pos..n) (main + context); returns its length (0 = none) and sets *rule.
    size_t longest_match(const char16_t * s, size_t n, size_t pos, int * rule, scan_scratch & sc) const;
    // The token length of a rule with trailing context that matched `total` units at pos: the longest main part
    // after which the context matches the rest exactly (`total` for a rule without context).
    size_t main_length(int rule, const char16_t * s, size_t pos, size_t total, scan_scratch & sc) const;

private:
    struct state {
        int              set  = -1;  // index into sets_ when this state consumes one unit, else -1
        int              next = -1;  // target of the consuming edge
        std::vector<int> eps;        // epsilon edges
        int              accept = -1;
    };
    struct rule_info {
        int  combined = -1, main = -1, context = -1;  // start states; combined accepts with the rule index
    };

    re_ptr parse(const std::string & pattern);
    int    new_state();
    int    compile(const re_ptr & node, int from);  // returns the end state
    int    intern(const char_set & cs);
    // Runs the NFA from `start`; f(length, accept) for every accepting state reached (length may be 0).
    template <class F> void run(int start, const char16_t * s, size_t n, size_t pos, scan_scratch & sc, F f) const;

    std::map<std::string, std::string> macro_src_;
    std::map<std::string, re_ptr>      macro_ast_;
    std::vector<state>                 states_;
    std::vector<char_set>              sets_;
    std::vector<rule_info>             rules_;
    std::vector<std::vector<int>>      closure_;  // per state: the consuming/accepting states reachable by epsilons
    int                                start_ = -1;

    friend class re_parser;
};

// Unicode predicates over BMP code units, as used for [:letter:], [:digit:], [:uppercase:].
bool unicode_letter(uint32_t c);
bool unicode_digit(uint32_t c);
bool unicode_upper(uint32_t c);

}  // namespace ptb_detail
}  // namespace glm
