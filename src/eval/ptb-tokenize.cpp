// eval/ptb-tokenize.cpp: Stanford PTBLexer (CoreNLP 3.4.1) rebuilt from its grammar on eval/ptb-regex, plus
// pycocoevalcap's line handling and punctuation filter (see ptb-tokenize.h).
//
// The macros and rules below restate PTBLexer.flex (stanfordnlp/CoreNLP v3.4.1,
// src/edu/stanford/nlp/process/PTBLexer.flex) in the same regular-expression syntax and in the same order, since
// the order decides ties; each rule's action is one of the `act` values, described where the rule is listed.
#include "eval/ptb-tokenize.h"

#include "common.h"
#include "eval/meteor-impl.h"
#include "eval/ptb-regex.h"

#include <algorithm>

namespace glm {

using ptb_detail::ptb_scanner;
using ptb_detail::scan_scratch;

namespace {

enum class act {
    keep,       // the matched text
    soft,       // the matched text without soft hyphens (U+00AD); "-" if nothing is left
    amp,        // "&amp;" (any case) -> "&"
    quote_l,    // latexQuotes(text, probablyLeft = true): ' -> `, " -> ``
    quote_r,    // latexQuotes(text, probablyLeft = false): ' -> ', " -> ''
    nbsp,       // spaces -> U+00A0 (normalizeSpace)
    phone,      // spaces -> U+00A0, ( ) -> -LRB- -RRB-
    parens,     // ( ) -> -LRB- -RRB- (smileys)
    hyphens,    // a run of 3 or 4 '-' -> "--"
    mdash,      // "--" (ptb3Dashes)
    ellipsis,   // "..." (ptb3Ellipsis)
    fraction,   // vulgar fraction characters -> "1/2" etc. (normalizeFractions)
    currency,   // cent -> "cents", pound -> "#", euro etc. -> "$" (normalizeCurrency)
    back2,      // splitAssimilations: push the last 2 units back ("gonna" -> "gon" + "na", "'tis" -> "'t" + "is")
    back3,      // the same with 3 ("cannot" -> "can" + "not", "'twas" -> "'t" + "was")
    acronym,    // acronym before a sentence start: "I." -> "I" + "."; "U.S." -> "U.S." + "."
    trim,       // the text without trailing white space (a JFlex trailing-context work-around; no-op here)
    abbrev_dup, // the abbreviation with its period, and the period again as the next token
    skip,       // no token (white space, DEL, &nbsp;)
    newline,    // "*NL*" (tokenizeNLs)
    lcb, rcb, lsb, rsb, lrb, rrb, lt, gt,
    untokenizable,  // deleted (untokenizable = firstDelete; the Java code logs a warning once)
};

struct macro_def {
    const char * name;
    const char * pattern;
};

// PTBLexer.flex's macro section (non-ASCII characters written as \u escapes).
const macro_def k_macros[] = {
    { "SGML",
      R"(\<([!\?][A-Za-z\-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:\.\-]*([ ]+([A-Za-z][A-Za-z0-9_:\.\-]*|)"
      R"([A-Za-z][A-Za-z0-9_:\.\-]*[ ]*=[ ]*('[^']*'|\"[^\"]*\")))*[ ]*\/?|\/[A-Za-z][A-Za-z0-9_:\.\-]*)[ ]*\>)" },
    { "SPMDASH", R"(&(MD|mdash|ndash);|[\u0096\u0097\u2013\u2014\u2015])" },
    { "SPAMP", R"(&amp;)" },
    { "SPPUNC", R"(&(HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);)" },
    { "SPLET", R"(&[aeiouAEIOU](acute|grave|uml);)" },
    { "SPACE", R"([ \t\u00A0\u2000-\u200A\u3000])" },
    { "SPACES", R"({SPACE}+)" },
    { "NEWLINE", R"(\r|\r?\n|\u2028|\u2029|\u000B|\u000C|\u0085)" },
    { "SPACENL", R"(({SPACE}|{NEWLINE}))" },
    { "SPACENLS", R"({SPACENL}+)" },
    { "SENTEND", R"({SPACENL}({SPACENL}|[:uppercase:]|{SGML}))" },
    { "DIGIT", R"([:digit:]|[\u07C0-\u07C9])" },
    { "DATE", R"({DIGIT}{1,2}[\-\/]{DIGIT}{1,2}[\-\/]{DIGIT}{2,4})" },
    { "NUM", R"({DIGIT}+|{DIGIT}*([.:,\u00AD\u066B\u066C]{DIGIT}+)+)" },
    { "NUMBER", R"([\-+]?{NUM})" },
    { "SUBSUPNUM", R"([\u207A\u207B\u208A\u208B]?([\u2070\u00B9\u00B2\u00B3\u2074-\u2079]+|[\u2080-\u2089]+))" },
    { "FRAC", R"(({DIGIT}{1,4}[- \u00A0])?{DIGIT}{1,4}(\\?\/|\u2044){DIGIT}{1,4})" },
    { "FRAC2", R"([\u00BC\u00BD\u00BE\u2153-\u215E])" },
    { "DOLSIGN", R"(([A-Z]*\$|#))" },
    { "DOLSIGN2", R"([\u00A2\u00A3\u00A4\u00A5\u0080\u20A0\u20AC\u060B\u0E3F\u20A4\uFFE0\uFFE1\uFFE5\uFFE6])" },
    // [:letter:] plus HTML letter entities plus marks and letters JFlex's tables lacked
    { "LETTER",
      R"(([:letter:]|{SPLET}|[\u00AD\u0237-\u024F\u02C2-\u02C5\u02D2-\u02DF\u02E5-\u02FF\u0300-\u036F)"
      R"(\u0370-\u037D\u0384\u0385\u03CF\u03F6\u03FC-\u03FF\u0483-\u0487\u04CF\u04F6-\u04FF\u0510-)"
      R"(\u0525\u055A-\u055F\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7\u0615-\u061A\u063B-)"
      R"(\u063F\u064B-\u065E\u0670\u06D6-\u06EF\u06FA-\u06FF\u070F\u0711\u0730-\u074F\u0750-\u077F)"
      R"(\u07A6-\u07B1\u07CA-\u07F5\u07FA\u0900-\u0903\u093C\u093E-\u094E\u0951-\u0955\u0962-\u0963)"
      R"(\u0981-\u0983\u09BC-\u09C4\u09C7\u09C8\u09CB-\u09CD\u09D7\u09E2\u09E3\u0A01-\u0A03\u0A3C)"
      R"(\u0A3E-\u0A4F\u0A81-\u0A83\u0ABC-\u0ACF\u0B82\u0BBE-\u0BC2\u0BC6-\u0BC8\u0BCA-\u0BCD\u0C01-)"
      R"(\u0C03\u0C3E-\u0C56\u0D3E-\u0D44\u0D46-\u0D48\u0E30-\u0E3A\u0E47-\u0E4E\u0EB1-\u0EBC\u0EC8-)"
      R"(\u0ECD]))" },
    { "WORD", R"({LETTER}({LETTER}|{DIGIT})*([.!?]{LETTER}({LETTER}|{DIGIT})*)*)" },
    { "FILENAME_EXT",
      R"(bat|bmp|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html|jar|java|jpeg|)"
      R"(jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip)" },
    { "FILENAME", R"(({LETTER}|{DIGIT})+([.]({LETTER}|{DIGIT})+)*([.]{FILENAME_EXT}))" },
    { "THING",
      R"(([dDoOlL]{APOSETCETERA}([:letter:]|[:digit:]))?([:letter:]|[:digit:])+)"
      R"(({HYPHEN}([dDoOlL]{APOSETCETERA}([:letter:]|[:digit:]))?([:letter:]|[:digit:])+)*)" },
    { "THINGA", R"([A-Z]+(([+&]|{SPAMP})[A-Z]+)+)" },
    { "THING3", R"([A-Za-z0-9]+(-[A-Za-z]+){0,2}(\\?\/[A-Za-z0-9]+(-[A-Za-z]+){0,2}){1,2})" },
    { "APOS", R"(['\u0092\u2019]|&apos;)" },
    { "APOSETCETERA", R"({APOS}|[`\u0091\u2018\u201B])" },
    { "HTHING", R"([A-Za-z0-9][A-Za-z0-9.,\u00AD]*(-([A-Za-z0-9\u00AD]+|{ACRO2}\.))+)" },
    { "REDAUX", R"({APOS}([msdMSD]|re|ve|ll))" },
    { "SWORD", R"([A-Za-z\u00AD]*[A-MO-Za-mo-z](\u00AD)*)" },
    { "SREDAUX", R"(n{APOSETCETERA}t)" },
    { "APOWORD",
      R"({APOS}n{APOS}?|[lLdDjJ]{APOS}|Dunkin{APOS}|somethin{APOS}|ol{APOS}|{APOS}em|)"
      R"([A-HJ-XZn]{APOSETCETERA}[:letter:]{2}[:letter:]*|{APOS}[2-9]0s|{APOS}till?|)"
      R"([:letter:][:letter:]*[aeiouyAEIOUY]{APOSETCETERA}[aeiouA-Z][:letter:]*|)"
      R"({APOS}cause|cont'd\.?|'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l|)"
      R"(O{APOSETCETERA}o)" },
    { "APOWORD2", R"(y{APOS})" },
    { "FULLURL", R"(https?:\/\/[^ \t\n\f\r\"<>|(){}]+[^ \t\n\f\r\"<>|.!?(){},-])" },
    // (note ",-_" inside the second class: a range from ',' to '_', as JFlex reads it)
    { "LIKELYURL",
      R"(((www\.([^ \t\n\f\r\"<>|.!?(){},]+\.)+[a-zA-Z]{2,4})|(([^ \t\n\f\r\"`'<>|)"
      R"(.!?(){},-_$]+\.)+(com|net|org|edu)))(\/[^ \t\n\f\r\"<>|()]+[^ \t\n\f\r\"<>|)"
      R"(.!?(){},-])?)" },
    { "EMAIL",
      R"((&lt;|<)?[a-zA-Z0-9][^ \t\n\f\r\"<>|()\u00A0{}]*@([^ \t\n\f\r\"<>|(){}.\u00A0]+\.)*([^ \t\n\f\r\"<>|)"
      R"((){}.\u00A0]+)(&gt;|>)?)" },
    { "TWITTER_NAME", R"(@[a-zA-Z_][a-zA-Z_0-9]*)" },
    { "TWITTER_CATEGORY", R"(#{LETTER}+)" },
    { "TWITTER", R"({TWITTER_NAME}|{TWITTER_CATEGORY})" },
    { "ABMONTH", R"(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)" },
    { "ABDAYS", R"(Mon|Tue|Tues|Wed|Thu|Thurs|Fri)" },
    { "ABSTATE",
      R"(Ala|Ariz|[A]z|[A]rk|Calif|Colo|Conn|Ct|Dak|[D]el|Fla|Ga|[I]ll|Ind|Kans?|)"
      R"(Ky|[L]a|[M]ass|Md|Mich|Minn|[M]iss|Mo|Mont|Neb|Nev|Okla|[O]re|[P]a|Penn|)"
      R"(Tenn|[T]ex|Va|Vt|[W]ash|Wisc?|Wyo)" },
    { "ABCOMP", R"(Inc|Cos?|Corp|Pp?t[ye]s?|Ltd|Plc|Rt|Bancorp|Bhd|Assn|Univ|Intl|Sys)" },
    { "ABNUM", R"(tel|est|ext|sq)" },
    { "ABPTIT", R"(Jr|Sr|Bros|(Ed|Ph)\.D|Blvd|Rd|Esq)" },
    { "ABBREV1", R"(({ABMONTH}|{ABDAYS}|{ABSTATE}|{ABCOMP}|{ABNUM}|{ABPTIT}|etc|al|seq|Bldg)\.)" },
    { "ACRO", R"([A-Za-z](\.[A-Za-z])*|(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R))" },
    { "ACRO2", R"([A-Za-z](\.[A-Za-z])+|(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R))" },
    { "ABTITLE",
      R"(Mr|Mrs|Ms|[M]iss|Drs?|Profs?|Sens?|Reps?|Attys?|Lt|Col|Gen|Messrs|Govs?|)"
      R"(Adm|Rev|Maj|Sgt|Cpl|Pvt|Capt|Ste?|Ave|Pres|Lieut|Hon|Brig|Co?mdr|Pfc|Spc|)"
      R"(Supts?|Det|Mt|Ft|Adj|Adv|Asst|Assoc|Ens|Insp|Mlle|Mme|Msgr|Sfc)" },
    { "ABCOMP2", R"(Invt|Elec|Natl|M[ft]g|Dept)" },
    { "ABBREV4", R"({ABTITLE}|vs|Alex|Wm|Jos|Cie|a\.k\.a|cf|TREAS|Ph|{ACRO}|{ABCOMP2})" },
    { "ABBREV2", R"({ABBREV4}\.)" },
    { "ACRONYM", R"(({ACRO})\.)" },
    { "ABBREV3", R"((ca|figs?|prop|nos?|art|bldg|prop|pp|op)\.)" },
    { "PHONE",
      R"((\([0-9]{2,3}\)[ \u00A0]?|(\+\+?)?([0-9]{2,4}[\- \u00A0])?[0-9]{2,4}[\- \u00A0])[0-9]{3,4}[\- )"
      R"(\u00A0]?[0-9]{3,5}|)"
      R"(((\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5})" },
    { "FAKEDUCKFEET", R"(<<|>>)" },
    { "LESSTHAN", R"(<|&lt;)" },
    { "GREATERTHAN", R"(>|&gt;)" },
    { "HYPHEN", R"([-_\u058A\u2010\u2011])" },
    { "HYPHENS", R"(\-+)" },
    { "LDOTS", R"(\.{3,5}|(\.[ \u00A0]){2,4}\.|[\u0085\u2026])" },
    { "ATS", R"(@+)" },
    { "UNDS", R"(_+)" },
    { "ASTS", R"(\*+|(\\\*){1,3})" },
    { "HASHES", R"(#+)" },
    { "FNMARKS", R"({ATS}|{HASHES}|{UNDS})" },
    { "INSENTP", R"([,;:\u3001])" },
    { "QUOTES",
      R"({APOS}|''|[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094\u201E\u201F\u2039)"
      R"(\u203A\u00AB\u00BB]{1,2})" },
    { "DBLQUOT", R"(\"|&quot;)" },
    { "TBSPEC",
      R"(-(RRB|LRB|RCB|LCB|RSB|LSB)-|C\.D\.s|pro-|anti-|S(&|&amp;)P-500|S(&|&amp;)Ls|)"
      R"(Cap{APOS}n|c{APOS}est)" },
    { "TBSPEC2", R"({APOS}[0-9][0-9])" },
    { "SMILEY", R"([<>]?[:;=][\-o\*']?[\(\)DPdpO\\{@\|\[\]])" },
    // The first alternative is written `[\^x=~<>]\.\[\^x=~<>]` in the grammar: only the first [...] is a class,
    // and the `~<` after it is JFlex's "up to" operator, i.e. [^<]*<.
    { "ASIANSMILEY",
      R"([\^x=~<>]\.\[\^x=[^<]*<>\]|[\-\^x=~<>']_[\-\^x=~<>']|\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)|)"
      R"(\([\^x=~<>']-[\^x=~<>'`]\))" },
    { "MISCSYMBOL",
      R"([+%&~\^|\\\u00A6\u00A7\u00A8\u00A9\u00AC\u00AE\u00AF\u00B0-\u00B3\u00B4-\u00BA\u00D7\u00F7)"
      R"(\u0387\u05BE\u05C0\u05C3\u05C6\u05F3\u05F4\u0600-\u0603\u0606-\u060A\u060C\u0614\u061B\u061E)"
      R"(\u066A\u066D\u0703-\u070D\u07F6\u07F7\u07F8\u0964\u0965\u0E4F\u1FBD\u2016\u2017\u2020-\u2023)"
      R"(\u2030-\u2038\u203B\u203E-\u2042\u2044\u207A-\u207F\u208A-\u208E\u2100-\u214F\u2190-\u21FF)"
      R"(\u2200-\u2BFF\u3012\u30FB\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65\uFF65])" },
    // the words after which an acronym's period also ends the sentence (character classes: case-sensitive)
    { "SENTSTART",
      R"([A]bout|[A]ccording|[A]dditionally|[A]fter|[A]n|[A]|[A]s|[A]t|[B]ut|[E]arlier|)"
      R"([H]e|[H]er|[H]ere|[H]owever|[I]f|[I]n|[I]t|[L]ast|[M]any|[M]ore|[M]r\.|)"
      R"([M]s\.|[N]ow|[O]nce|[O]ne|[O]ther|[O]ur|[S]he|[S]ince|[S]o|[S]ome|[S]uch|)"
      R"([T]hat|[T]he|[T]heir|[T]hen|[T]here|[T]hese|[T]hey|[T]his|[W]e|[W]hen|)"
      R"([W]hile|[W]hat|[Y]et|[Y]ou|{SGML})" },
};

struct rule_def {
    const char * main;
    const char * context;  // trailing context ("" = none)
    act          action;
};

// PTBLexer.flex's rules in their order (the <YyStrictlyTreebank3> FRACSTB3 rule is left out: strictTreebank3 is off).
const rule_def k_rules[] = {
    { R"(c[+][+])", "", act::keep },
    { R"((c|f)#)", "", act::keep },
    { R"(cannot)", "", act::back3 },
    { R"('twas)", "", act::back3 },
    { R"('tis)", "", act::back2 },
    { R"(gonna|gotta|lemme|gimme|wanna)", "", act::back2 },
    { R"({SGML})", "", act::nbsp },
    { R"({SPMDASH})", "", act::mdash },
    { R"({SPAMP})", "", act::amp },
    { R"({SPPUNC})", "", act::keep },
    { R"({WORD})", R"({REDAUX})", act::soft },
    { R"({SWORD})", R"({SREDAUX})", act::soft },
    { R"({WORD})", "", act::soft },
    { R"({APOWORD})", "", act::keep },
    { R"({APOWORD2})", R"([:letter:])", act::keep },
    { R"({FULLURL})", "", act::keep },
    { R"({LIKELYURL})", "", act::keep },
    { R"({EMAIL})", "", act::keep },
    { R"({TWITTER})", "", act::keep },
    { R"({REDAUX})", R"([^A-Za-z])", act::quote_r },
    { R"({SREDAUX})", R"([^A-Za-z])", act::quote_r },
    { R"({DATE})", "", act::keep },
    { R"({NUMBER})", "", act::soft },
    { R"({SUBSUPNUM})", "", act::keep },
    { R"({FRAC})", "", act::nbsp },
    { R"({FRAC2})", "", act::fraction },
    { R"({TBSPEC})", "", act::amp },
    { R"({THING3})", "", act::keep },
    { R"({DOLSIGN})", "", act::keep },
    { R"({DOLSIGN2})", "", act::currency },
    { R"({ACRONYM})", R"(({SPACENLS})({SENTSTART}){SPACENL})", act::acronym },
    { R"({ABBREV3})", R"({SPACENL}?[:digit:])", act::trim },
    { R"((pt[eyEY]|co)\.)", R"({SPACE}(ltd|lim))", act::keep },
    { R"({ABBREV1})", R"({SENTEND})", act::abbrev_dup },
    { R"({ABBREV1})", R"([^][^])", act::keep },
    { R"({ABBREV1})", "", act::abbrev_dup },  // only at the end of the input
    { R"({ABBREV2})", "", act::keep },
    { R"({ABBREV4})", R"({SPACE})", act::keep },
    { R"({ACRO})", R"({SPACENL})", act::keep },
    { R"({TBSPEC2})", R"({SPACENL})", act::keep },
    { R"({FILENAME})", R"(({SPACENL}|[.?!,]))", act::keep },
    { R"({WORD}\.)", R"({INSENTP})", act::soft },
    { R"({PHONE})", "", act::phone },
    { R"({DBLQUOT})", R"([A-Za-z0-9$])", act::quote_l },
    { R"({DBLQUOT})", "", act::quote_r },
    { R"(\x7f)", "", act::skip },
    { R"({LESSTHAN})", "", act::lt },
    { R"({GREATERTHAN})", "", act::gt },
    { R"({SMILEY})", R"([^A-Za-z0-9])", act::parens },
    { R"({ASIANSMILEY})", "", act::parens },
    { R"(\{)", "", act::lcb },
    { R"(\})", "", act::rcb },
    { R"(\[)", "", act::lsb },
    { R"(\])", "", act::rsb },
    { R"(\()", "", act::lrb },
    { R"(\))", "", act::rrb },
    { R"({HYPHENS})", "", act::hyphens },
    { R"({LDOTS})", "", act::ellipsis },
    { R"({FNMARKS})", "", act::keep },
    { R"({ASTS})", "", act::keep },
    { R"({INSENTP})", "", act::keep },
    { R"([?!]+)", "", act::keep },
    { R"([.\u00A1\u00BF\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002])", "", act::keep },
    { R"(=)", "", act::keep },
    { R"(\/)", "", act::keep },
    { R"({HTHING}\.)", R"({INSENTP})", act::soft },
    { R"({HTHING})", "", act::soft },
    { R"({THING}\.)", R"({INSENTP})", act::keep },
    { R"({THING})", "", act::keep },
    { R"({THINGA}\.)", R"({INSENTP})", act::amp },
    { R"({THINGA})", "", act::amp },
    { R"(')", R"([A-Za-z][^ \t\n\r\u00A0])", act::quote_l },  // an opening single quote
    { R"({REDAUX})", "", act::quote_r },
    { R"({SREDAUX})", "", act::quote_r },
    { R"({QUOTES})", "", act::quote_r },
    { R"({FAKEDUCKFEET})", "", act::keep },
    { R"({MISCSYMBOL})", "", act::keep },
    { R"(\0|{SPACES}|[\u200B\u200E-\u200F\uFEFF])", "", act::skip },
    { R"({NEWLINE})", "", act::newline },
    { R"(&nbsp;)", "", act::skip },
    { R"(.)", "", act::untokenizable },
};

const size_t k_num_rules = sizeof(k_rules) / sizeof(k_rules[0]);

const ptb_scanner & scanner() {
    static const ptb_scanner sc = [] {
        ptb_scanner s;
        for (const auto & m : k_macros) {
            s.define(m.name, m.pattern);
        }
        for (const auto & r : k_rules) {
            s.add_rule(r.main, r.context);
        }
        s.build();
        return s;
    }();
    return sc;
}

// ---- token text transformations (the Java helper methods of PTBLexer) ----

using u16 = std::u16string;

bool starts_ci(const u16 & s, size_t i, const char * lit) {  // ASCII case-insensitive prefix test
    for (size_t k = 0; lit[k]; ++k) {
        if (i + k >= s.size()) {
            return false;
        }
        char16_t c = s[i + k];
        if (c >= 'A' && c <= 'Z') {
            c += 32;
        }
        if (c != (char16_t) lit[k]) {
            return false;
        }
    }
    return true;
}

u16 remove_soft_hyphens(const u16 & s) {
    u16 out;
    for (char16_t c : s) {
        if (c != 0x00AD) {
            out.push_back(c);
        }
    }
    return out.empty() ? u"-" : out;
}

u16 normalize_amp(const u16 & s) {  // (?i:&amp;) -> &
    u16 out;
    for (size_t i = 0; i < s.size();) {
        if (starts_ci(s, i, "&amp;")) {
            out.push_back('&');
            i += 5;
        } else {
            out.push_back(s[i++]);
        }
    }
    return out;
}

u16 latex_quotes(const u16 & s, bool left) {
    u16 out;
    for (size_t i = 0; i < s.size();) {
        const char16_t c = s[i];
        if (s.compare(i, 6, u"&apos;") == 0 || c == '\'') {
            out += left ? u"`" : u"'";
            i += c == '\'' ? 1 : 6;
            continue;
        }
        if (s.compare(i, 6, u"&quot;") == 0 || c == '"') {
            out += left ? u"``" : u"''";
            i += c == '"' ? 1 : 6;
            continue;
        }
        if (c == 0x0091 || c == 0x2018 || c == 0x201B || c == 0x2039) {
            out += u"`";
        } else if (c == 0x0092 || c == 0x2019 || c == 0x203A) {
            out += u"'";
        } else if (c == 0x0093 || c == 0x201C || c == 0x00AB) {
            out += u"``";
        } else if (c == 0x0094 || c == 0x201D || c == 0x00BB) {
            out += u"''";
        } else {
            out.push_back(c);
        }
        i++;
    }
    return out;
}

u16 map_chars(const u16 & s, char16_t (*f)(char16_t), const char16_t * (*g)(char16_t)) {
    u16 out;
    for (char16_t c : s) {
        const char16_t * rep = g ? g(c) : nullptr;
        if (rep) {
            out += rep;
        } else {
            out.push_back(f ? f(c) : c);
        }
    }
    return out;
}

char16_t space_to_nbsp(char16_t c) { return c == ' ' ? 0x00A0 : c; }

const char16_t * paren_word(char16_t c) { return c == '(' ? u"-LRB-" : c == ')' ? u"-RRB-" : nullptr; }

const char16_t * fraction_word(char16_t c) {
    switch (c) {
        case 0x00BC: return u"1/4";
        case 0x00BD: return u"1/2";
        case 0x00BE: return u"3/4";
        case 0x2153: return u"1/3";
        case 0x2154: return u"2/3";
        default: return nullptr;
    }
}

const char16_t * currency_word(char16_t c) {
    switch (c) {
        case 0x00A2: return u"cents";
        case 0x00A3: return u"#";
        case 0x0080:
        case 0x00A4:
        case 0x20A0:
        case 0x20AC: return u"$";
        default: return nullptr;
    }
}

bool trailing_space(char16_t c) { return c == ' ' || c == '\t' || (c >= '\n' && c <= '\r') || c == 0x0085; }

struct token16 {
    u16    text;
    size_t begin = 0;  // offset of the match in the input (UTF-16 units)
    bool   newline = false;
};

// PTBLexer.next() until the end of the input.
std::vector<token16> lex16(const u16 & s) {
    const ptb_scanner &  sc = scanner();
    scan_scratch         scratch;
    std::vector<token16> out;
    bool                 warned = false;
    size_t               pos    = 0;
    while (pos < s.size()) {
        int          rule  = -1;
        const size_t total = sc.longest_match(s.data(), s.size(), pos, &rule, scratch);
        if (total == 0 || rule < 0 || (size_t) rule >= k_num_rules) {
            // cannot happen: the rules '.' and NEWLINE together match every unit
            throw glm::error("ptb-tokenize: no rule matches at offset " + std::to_string(pos));
        }
        size_t       len = sc.main_length(rule, s.data(), pos, total, scratch);
        u16          txt = s.substr(pos, len);
        token16      tok;
        bool         emit = true;
        tok.begin         = pos;
        switch (k_rules[rule].action) {
            case act::keep: tok.text = txt; break;
            case act::soft: tok.text = remove_soft_hyphens(txt); break;
            case act::amp: tok.text = normalize_amp(txt); break;
            case act::quote_l: tok.text = latex_quotes(txt, true); break;
            case act::quote_r: tok.text = latex_quotes(txt, false); break;
            case act::nbsp: tok.text = map_chars(txt, space_to_nbsp, nullptr); break;
            case act::phone: tok.text = map_chars(txt, space_to_nbsp, paren_word); break;
            case act::parens: tok.text = map_chars(txt, nullptr, paren_word); break;
            case act::hyphens: tok.text = txt.size() >= 3 && txt.size() <= 4 ? u"--" : txt; break;
            case act::mdash: tok.text = u"--"; break;
            case act::ellipsis: tok.text = u"..."; break;
            case act::fraction: tok.text = map_chars(txt, nullptr, fraction_word); break;
            case act::currency: tok.text = map_chars(txt, nullptr, currency_word); break;
            case act::back2:
            case act::back3:
                len -= k_rules[rule].action == act::back2 ? 2 : 3;
                tok.text = s.substr(pos, len);
                break;
            case act::acronym:
                while (len > 0 && trailing_space(s[pos + len - 1])) {
                    len--;
                }
                if (len == 2) {  // "I." etc.: the letter now, the period next
                    len      = 1;
                    tok.text = s.substr(pos, 1);
                } else {  // the acronym with its period, and the period again next
                    tok.text = s.substr(pos, len);
                    len -= 1;
                }
                break;
            case act::trim:
                while (len > 0 && trailing_space(s[pos + len - 1])) {
                    len--;
                }
                tok.text = s.substr(pos, len);
                break;
            case act::abbrev_dup:
                tok.text = txt;
                len -= 1;
                break;
            case act::skip: emit = false; break;
            case act::newline:
                tok.text    = u"*NL*";
                tok.newline = true;
                break;
            case act::lcb: tok.text = u"-LCB-"; break;
            case act::rcb: tok.text = u"-RCB-"; break;
            case act::lsb: tok.text = u"-LSB-"; break;
            case act::rsb: tok.text = u"-RSB-"; break;
            case act::lrb: tok.text = u"-LRB-"; break;
            case act::rrb: tok.text = u"-RRB-"; break;
            case act::lt: tok.text = u"<"; break;
            case act::gt: tok.text = u">"; break;
            case act::untokenizable:
                if (!warned) {
                    GLM_LOG_DEBUG("ptb-tokenize: untokenizable character U+%04X deleted", (unsigned) txt[0]);
                    warned = true;
                }
                emit = false;
                break;
        }
        if (len == 0) {
            throw glm::error("ptb-tokenize: empty token at offset " + std::to_string(pos));  // a bug in a rule
        }
        if (emit) {
            out.push_back(std::move(tok));
        }
        pos += len;
    }
    return out;
}

// ---- UTF conversions and Java/Python string semantics ----

u16 to_u16(const std::string & utf8) {
    u16 out;
    for (char32_t c : meteor_detail::utf8_to_u32(utf8)) {
        if (c >= 0x10000) {
            out.push_back((char16_t) (0xD800 + ((c - 0x10000) >> 10)));
            out.push_back((char16_t) (0xDC00 + ((c - 0x10000) & 0x3FF)));
        } else {
            out.push_back((char16_t) c);
        }
    }
    return out;
}

std::u32string to_u32(const u16 & s) {  // lone surrogates stay as they are
    std::u32string out;
    for (size_t i = 0; i < s.size(); ++i) {
        const char16_t c = s[i];
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] < 0xE000) {
            out.push_back(0x10000 + (((char32_t) c - 0xD800) << 10) + (s[i + 1] - 0xDC00));
            i++;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string to_utf8(std::u32string s) {  // Java's UTF-8 encoder writes '?' for a lone surrogate
    for (auto & c : s) {
        if (c >= 0xD800 && c < 0xE000) {
            c = '?';
        }
    }
    return meteor_detail::u32_to_utf8(s);
}

std::string token_out(const u16 & t, bool lowercase) {
    std::u32string cps = to_u32(t);
    return to_utf8(lowercase ? meteor_detail::java_lower(cps) : cps);
}

bool py_space(char32_t c) {  // Python's str.isspace()
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

const char * const k_punctuations[] = { "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".",
                                        "?",  "!", ",",  ":", "-",     "--",    "...",   ";" };

bool is_newline_unit(char16_t c) {  // PTBLexer's NEWLINE characters
    return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x0B || c == 0x0C || c == 0x85;
}

}  // namespace

std::vector<std::string> ptb_lex(const std::string & text) {
    std::vector<std::string> out;
    for (const auto & t : lex16(to_u16(text))) {
        out.push_back(token_out(t.text, false));
    }
    return out;
}

std::string ptb_tokenizer_output(const std::string & text, bool lowercase) {
    std::string out;
    bool        line_start = true;
    for (const auto & t : lex16(to_u16(text))) {
        if (t.newline) {
            out += '\n';
            line_start = true;
            continue;
        }
        if (!line_start) {
            out += ' ';
        }
        line_start = false;
        out += token_out(t.text, lowercase);
    }
    return out;
}

bool ptb_is_punctuation(const std::string & token) {
    for (const char * p : k_punctuations) {
        if (token == p) {
            return true;
        }
    }
    return false;
}

std::string ptb_filter_line(const std::string & line) {
    std::u32string l = meteor_detail::utf8_to_u32(line);
    while (!l.empty() && py_space(l.back())) {
        l.pop_back();
    }
    const std::string s = meteor_detail::u32_to_utf8(l);
    std::string       out;
    bool              first = true;
    size_t            b     = 0;
    while (true) {  // split(' ') keeps empty fields
        const size_t      e   = s.find(' ', b);
        const std::string tok = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
        if (!ptb_is_punctuation(tok)) {
            if (!first) {
                out += ' ';
            }
            out += tok;
            first = false;
        }
        if (e == std::string::npos) {
            break;
        }
        b = e + 1;
    }
    return out;
}

std::vector<std::string> ptb_tokenize_captions(const std::vector<std::string> & captions) {
    // the stream pycocoevalcap writes: each caption's '\n' -> ' ', joined by '\n'
    u16                 text;
    std::vector<size_t> starts;
    size_t              n_breaks = 0, first_break = 0;
    for (size_t i = 0; i < captions.size(); ++i) {
        if (i > 0) {
            text.push_back('\n');
        }
        starts.push_back(text.size());
        u16 c = to_u16(captions[i]);
        std::replace(c.begin(), c.end(), (char16_t) '\n', (char16_t) ' ');
        if (std::any_of(c.begin(), c.end(), is_newline_unit)) {
            first_break = n_breaks++ == 0 ? i : first_break;
        }
        text += c;
    }
    if (n_breaks > 0) {
        GLM_LOG_WARN("ptb-tokenize: %zu caption(s) (the first: #%zu) hold a line break other than \\n (\\r, \\v, "
                     "\\f, U+0085, U+2028, U+2029); PTBTokenizer prints an extra line for each and pycocoevalcap then "
                     "shifts every later caption; here it only separates tokens",
                     n_breaks, first_break);
    }
    std::vector<std::string> lines(captions.size());
    std::vector<bool>        started(captions.size(), false);
    size_t                   cap = 0, n_spanning = 0;
    for (const auto & t : lex16(text)) {
        while (cap + 1 < starts.size() && t.begin >= starts[cap + 1]) {
            cap++;
        }
        if (t.newline) {
            continue;
        }
        if (t.text.find(u'\n') != u16::npos) {  // only an SGML tag with a quoted attribute value can do this
            n_spanning++;
        }
        if (started[cap]) {
            lines[cap] += ' ';
        }
        started[cap] = true;
        lines[cap] += token_out(t.text, true);
    }
    if (n_spanning > 0) {
        GLM_LOG_WARN("ptb-tokenize: %zu token(s) run over a line end (SGML tags with a quoted line break); "
                     "pycocoevalcap would split them there and shift later captions",
                     n_spanning);
    }
    for (auto & l : lines) {
        l = ptb_filter_line(l);
    }
    return lines;
}

std::string ptb_tokenize_caption(const std::string & caption) {
    return ptb_tokenize_captions({ caption })[0];
}

}  // namespace glm
