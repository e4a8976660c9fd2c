// test-ptb-tokenize: pycocoevalcap's PTBTokenizer step (Stanford CoreNLP 3.4.1 PTBLexer, -preserveLines
// -lowerCase, then the PUNCTUATIONS filter). Every expectation is derived from PTBLexer.flex's rules, which a JFlex
// scanner applies as: the longest match wins (a rule's trailing context `main/ctx` counts towards the length but
// not the token), the earlier rule on a tie; literal strings are caseless, character classes case-sensitive. The
// rule names (WORD, REDAUX, SWORD/SREDAUX, ABBREV1/2/3, ACRONYM, QUOTES, ...) are the grammar's macros; "r<k>" notes
// which of two competing rules comes first in the file. All cases also agree with the Java tokenizer compiled
// from the CoreNLP v3.4.1 sources (scripts/ptb-compare.sh), which is not needed to run this test.
#include "eval/ptb-tokenize.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using glm::ptb_tokenize_caption;

struct ptb_case {
    const char * in;
    const char * out;
    const char * why;
};

// One caption alone (= the last line of PTBTokenizer's input).
static const ptb_case k_cases[] = {
    // --- plain words and sentence punctuation ---
    { "A man is riding a horse.", "a man is riding a horse",
      "WORD 'horse'; the final '.' matches no rule that keeps a period after 'horse' (not an ABBREV*, not ACRO), so it "
      "is its own token and the filter drops it; -lowerCase lowercases" },
    { "A dog, a cat and a bird.", "a dog a cat and a bird", "',' is INSENTP, a token of its own, dropped" },
    { "a: b; c", "a b c", "':' and ';' are INSENTP, dropped" },
    { "a cat;a dog", "a cat a dog", "no space needed: WORD stops at ';'" },
    { "Is it? Yes! Really?!", "is it yes really ?!",
      "[?!]+ makes '?!' ONE token, and '?!' is not in PUNCTUATIONS (only '?' and '!' are), so it stays" },
    { "A  man\tin   the park", "a man in the park", "SPACES (space, tab) are skipped" },
    { "Hello\xC2\xA0world", "hello world", "U+00A0 is in SPACE, skipped like a space" },
    { "", "", "nothing in, nothing out" },
    { "...", "", "LDOTS -> '...', dropped" },
    // --- clitics and contractions ---
    { "The man's hat is red.", "the man 's hat is red", "{WORD}/{REDAUX}: 'man' then REDAUX ''s' (r19, context ' ')" },
    { "It's a sunny day.", "it 's a sunny day", "{WORD}/{REDAUX} then {REDAUX}/[^A-Za-z]" },
    { "a dog's bone's end", "a dog 's bone 's end", "each possessive split the same way" },
    { "the dog\xE2\x80\x99s bone", "the dog 's bone",
      "U+2019 is an APOS, so ''s' with a curly apostrophe is REDAUX; latexQuotes(probablyLeft=false) maps U+2019 "
      "to \"'\"" },
    { "They don't know.", "they do n't know",
      "{SWORD}/{SREDAUX}: SWORD cannot end in 'n', so 'do' + context \"n't\" (5 units) beats WORD 'don' (3)" },
    { "He can't swim", "he ca n't swim", "the same rule: 'ca' + \"n't\"" },
    { "won't", "wo n't", "the same rule: 'wo' + \"n't\"" },
    { "DON'T", "do n't", "SREDAUX's 'n' and 't' are literals, caseless under %caseless: 'DO' + \"N'T\"" },
    { "I cannot see it", "i can not see it",
      "the 'cannot' rule (before WORD, same length) pushes back 3: 'can' + 'not'" },
    { "We're gonna win", "we 're gon na win", "REDAUX ''re'; 'gonna' rule pushes back 2: 'gon' + 'na'" },
    { "gotta", "got ta", "gonna|gotta|lemme|gimme|wanna push back 2 (splitAssimilations)" },
    { "I'll go, you'd stay, I'm here, we've won", "i 'll go you 'd stay i 'm here we 've won",
      "REDAUX = {APOS}([msdMSD]|re|ve|ll)" },
    { "we're", "we re",
      "at the END of the input \"'re\" has no following unit for {REDAUX}/[^A-Za-z]; then \"'\"/[A-Za-z][^ \\t\\n\\r] "
      "(opening quote, 3 units) ties with {REDAUX} (3 units) and comes first: '`' (dropped) + WORD 're'" },
    { "it's", "it 's",
      "\"'s\" at the end: the opening-quote rule needs 2 context units, only 1 left, so {REDAUX} wins" },
    { "'tis", "'t is", "the ''tis' rule pushes back 2: \"'t\" + 'is' (\"'t\" is not in PUNCTUATIONS)" },
    { "the players' shoes", "the players shoes", "WORD 'players', then \"'\" alone is QUOTES, dropped" },
    { "o'clock", "o'clock", "APOWORD [A-HJ-XZn]{APOSETCETERA}[:letter:]{2}[:letter:]* takes the whole word" },
    { "rock'n'roll", "rock 'n' roll", "WORD 'rock', then APOWORD {APOS}n{APOS}? = \"'n'\", then WORD 'roll'" },
    { "The '90s", "the '90s", "APOWORD {APOS}[2-9]0s" },
    // --- quotes ---
    { "He said \"hello\" to her.", "he said hello to her",
      "{DBLQUOT}/[A-Za-z0-9$] -> '``', the closing {DBLQUOT} -> \"''\"; both dropped" },
    { "\xE2\x80\x98quoted\xE2\x80\x99 and \xE2\x80\x9C" "double\xE2\x80\x9D", "quoted and double",
      "QUOTES; latexQuotes maps U+2018 -> '`', U+2019 -> \"'\", U+201C -> '``', U+201D -> \"''\"; all dropped" },
    { "'single'", "single", "\"'\"/[A-Za-z]... -> '`' (opening), the last \"'\" is QUOTES; both dropped" },
    { "\"Quote.\"", "quote", "'``', WORD, '.', \"''\"" },
    // --- brackets: PTB escapes, lowercased, and then NOT dropped ---
    { "a (red) car", "a -lrb- red -rrb- car",
      "'(' -> -LRB-, ')' -> -RRB-; -lowerCase makes them '-lrb-'/'-rrb-', which the case-sensitive PUNCTUATIONS "
      "('-LRB-', '-RRB-') do not contain" },
    { "shirts (blue, red)", "shirts -lrb- blue red -rrb-", "the same; the comma inside is dropped" },
    { "a [SEG] token", "a -lsb- seg -rsb- token", "'[' ']' -> -LSB- -RSB- (normalizeOtherBrackets), kept" },
    { "{x}", "-lcb- x -rcb-", "'{' '}' -> -LCB- -RCB-, lowercased, kept" },
    { "hello :) world", "hello :-rrb- world", "SMILEY/[^A-Za-z0-9] ':)' with its ')' escaped to -RRB-" },
    // --- hyphens and dashes ---
    { "a black-and-white photo", "a black-and-white photo", "HTHING (r66, before THING r68, same length) keeps it" },
    { "a t-shirt", "a t-shirt", "HTHING" },
    { "A 5-year-old boy", "a 5-year-old boy", "HTHING starts with [A-Za-z0-9]" },
    { "U.S.-based", "u.s.-based", "HTHING: [A-Za-z0-9][A-Za-z0-9.,]* then -based" },
    { "a dog -- a cat", "a dog a cat", "HYPHENS '--' (length 2 kept as is), dropped" },
    { "a dog \xE2\x80\x94 a cat", "a dog a cat", "SPMDASH U+2014 -> '--' (ptb3Dashes), dropped" },
    { "a dog - a cat", "a dog a cat", "HYPHENS '-', dropped" },
    // --- numbers ---
    { "3.5 meters", "3.5 meters", "NUMBER with a decimal point" },
    { "1,000 people", "1,000 people", "NUM allows [.:,] between digit runs" },
    { "at 10:30 am", "at 10:30 am", "the same with ':'" },
    { "about -5 degrees", "about -5 degrees", "NUMBER = [\\-+]?{NUM}: the sign is part of the token" },
    { "3.5.", "3.5", "NUMBER '3.5' (the last '.' has no digit after it), then '.', dropped" },
    { "half 1/2 of it", "half 1/2 of it", "FRAC" },
    { "\xC2\xBD cup", "1/2 cup", "FRAC2 U+00BD -> '1/2' (normalizeFractions)" },
    { "50% off, $5", "50 % off $ 5", "NUMBER, MISCSYMBOL '%', DOLSIGN '$', NUMBER" },
    { "#1 fan", "# 1 fan", "DOLSIGN '#' (r28, before FNMARKS) then NUMBER" },
    { "a 2x4 board", "a 2x4 board", "WORD needs a letter first; THING ([:letter:]|[:digit:])+ takes '2x4'" },
    // --- periods inside and after words: abbreviations and acronyms ---
    { "e.g. a cat", "e.g. a cat", "ABBREV2 = {ABBREV4}\\. with ACRO 'e.g' (4 units) beats WORD 'e.g' (3)" },
    { "i.e., that", "i.e. that", "the same acronym, then ','" },
    { "It is 5 p.m.", "it is 5 p.m.", "ABBREV2 at the end of the input keeps its period" },
    { "in the U.S. and the U.K.", "in the u.s. and the u.k.", "ABBREV2" },
    { "He lives in the U.S. The end", "he lives in the u.s. the end",
      "{ACRONYM}/({SPACENLS})[T]he{SPACENL}: 'U.S.' and its period again as '.', which is dropped" },
    { "plan B.", "plan b.", "ACRO is also a single letter: 'B.' is ABBREV2 and keeps its period" },
    { "and so did I. The dog", "and so did i the dog",
      "the ACRONYM rule before 'The': a 2-unit acronym is cut to the letter, the '.' comes next and is dropped" },
    { "say no.", "say no", "'no.' is ABBREV3, allowed only before a digit; so WORD 'no' + '.'" },
    { "no. 5", "no. 5", "{ABBREV3}/{SPACENL}?[:digit:]" },
    { "cats, dogs, etc. are pets", "cats dogs etc. are pets", "{ABBREV1}/[^][^]: 'etc.' whole" },
    { "cats, dogs, etc.", "cats dogs etc.", "{ABBREV1} at the end: 'etc.' then '.' again, dropped" },
    { "Mr. Smith", "mr. smith", "ABBREV2 (ABTITLE)" },
    { "the Dr. is in", "the dr. is in", "ABTITLE literals are caseless and need no capital after them" },
    { "St. Louis", "st. louis", "ABTITLE 'Ste?'" },
    { "In Jan. 2020", "in jan. 2020", "{ABBREV1}/[^][^] (ABMONTH)" },
    { "the dog.The cat", "the dog.the cat",
      "WORD = {LETTER}...([.!?]{LETTER}...)*: a period between letters is inside" },
    { "a cat.a dog", "a cat.a dog", "the same" },
    { "A.", "a.", "ABBREV2 with a one-letter ACRO" },
    // --- symbols, entities, special tokens ---
    { "AT&T and at&t", "at&t and at & t",
      "THINGA = [A-Z]+(&[A-Z]+)+ uses case-sensitive classes: only upper case is one token" },
    { "Tom &amp; Jerry", "tom & jerry", "SPAMP '&amp;' -> '&'" },
    { "C++ and C#", "c++ and c#", "the first two rules c[+][+] and (c|f)#, caseless 'c'" },
    { "a*b", "a * b", "WORD, ASTS, WORD" },
    { "a/b", "a/b", "THING3 [A-Za-z0-9]+(\\?/[A-Za-z0-9]+){1,2}" },
    { "<p> a man </p>", "<p> a man </p>", "SGML tags are single tokens" },
    { "www.example.com", "www.example.com", "LIKELYURL" },
    { "user@example.com", "user@example.com", "EMAIL" },
    { "Caf\xC3\xA9 \xC3\x9C" "n\xC3\xAF" "code", "caf\xC3\xA9 \xC3\xBC" "n\xC3\xAF" "code",
      "[:letter:] covers Latin-1; Java lowercasing" },
    { "\xC4\xB0stanbul", "i\xCC\x87stanbul", "Java's toLowerCase(Locale.ENGLISH): U+0130 -> 'i' + U+0307" },
};

TEST(PtbTokenize, GrammarDerivedCases) {
    ASSERT_GE(sizeof(k_cases) / sizeof(k_cases[0]), 40u);
    for (const auto & c : k_cases) {
        EXPECT_EQ(ptb_tokenize_caption(c.in), c.out) << "input: " << c.in << "\n   why: " << c.why;
    }
}

TEST(PtbTokenize, RawTokenizerOutput) {
    // PTBTokenizer -preserveLines prints a line per input line; -lowerCase lowercases the escapes too
    EXPECT_EQ(glm::ptb_tokenizer_output("a (b) [c] {d}"), "a -lrb- b -rrb- -lsb- c -rsb- -lcb- d -rcb-");
    EXPECT_EQ(glm::ptb_tokenizer_output("a (b) [c] {d}", false), "a -LRB- b -RRB- -LSB- c -RSB- -LCB- d -RCB-");
    EXPECT_EQ(glm::ptb_tokenizer_output("he said \"hi\""), "he said `` hi ''");
    EXPECT_EQ(glm::ptb_tokenizer_output("A man.\nA dog."), "a man .\na dog .");
    EXPECT_EQ(glm::ptb_tokenizer_output("x\r\ny"), "x\ny");  // NEWLINE = \r|\r?\n|...: "\r\n" is one line break
    EXPECT_EQ(glm::ptb_tokenizer_output("x\n\ny\n"), "x\n\ny\n");
    EXPECT_EQ(glm::ptb_tokenizer_output("we're"), "we ` re");
    EXPECT_EQ(glm::ptb_tokenizer_output("we're\nok"), "we 're\nok");
}

TEST(PtbTokenize, Lex) {
    EXPECT_EQ(glm::ptb_lex("Don't stop.\nOK"),
              (std::vector<std::string>{ "Do", "n't", "stop", ".", "*NL*", "OK" }));
    // untokenizable characters (here U+0001 and an emoji's two UTF-16 halves) are deleted
    EXPECT_EQ(glm::ptb_lex("a\x01 b \xF0\x9F\x98\x80 c"), (std::vector<std::string>{ "a", "b", "c" }));
    EXPECT_EQ(glm::ptb_lex("x = \xC2\xBD"), (std::vector<std::string>{ "x", "=", "1/2" }));
}

TEST(PtbTokenize, PunctuationFilter) {
    // exactly pycocoevalcap's list, case-sensitive
    for (const char * p :
         { "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";" }) {
        EXPECT_TRUE(glm::ptb_is_punctuation(p)) << p;
    }
    for (const char * p : { "-lrb-", "-rrb-", "-LSB-", "-lsb-", "?!", "'s", "n't", "&", "%", "....", "" }) {
        EXPECT_FALSE(glm::ptb_is_punctuation(p)) << p;
    }
    // line.rstrip().split(' ') then drop, join with ' ' (empty fields from double spaces survive as empty words)
    EXPECT_EQ(glm::ptb_filter_line("a , b . c -LRB- -lrb- ... d"), "a b c -lrb- d");
    EXPECT_EQ(glm::ptb_filter_line("a  b \t\n"), "a  b");
    EXPECT_EQ(glm::ptb_filter_line(""), "");
    EXPECT_EQ(glm::ptb_filter_line(". , ;"), "");
}

TEST(PtbTokenize, CaptionStream) {
    // pycocoevalcap tokenizes all captions as one stream: the next line can decide how a line ends
    EXPECT_EQ(glm::ptb_tokenize_captions({ "we're", "ok" }), (std::vector<std::string>{ "we 're", "ok" }));
    // "I." before a line starting "The ": ACRONYM rule -> "i" + "."; before "the " (lower case) it is ABBREV2 "i."
    EXPECT_EQ(glm::ptb_tokenize_captions({ "so did I.", "The dog" }),
              (std::vector<std::string>{ "so did i", "the dog" }));
    EXPECT_EQ(glm::ptb_tokenize_captions({ "so did I.", "the dog" }),
              (std::vector<std::string>{ "so did i.", "the dog" }));
    // a caption's own '\n' becomes a space before tokenizing; empty captions stay empty; "c." at the end of the
    // stream is ABBREV2 (one-letter ACRO + '.') and keeps its period
    EXPECT_EQ(glm::ptb_tokenize_captions({ "a\nb", "", "c." }), (std::vector<std::string>{ "a b", "", "c." }));
    // a '\r' inside a caption: the reference misaligns later captions; here it only separates tokens
    EXPECT_EQ(glm::ptb_tokenize_captions({ "a\rb", "c" }), (std::vector<std::string>{ "a b", "c" }));
    EXPECT_TRUE(glm::ptb_tokenize_captions({}).empty());
}
