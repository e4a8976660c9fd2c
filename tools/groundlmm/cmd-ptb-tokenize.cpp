// groundlmm ptb-tokenize: pycocoevalcap's PTBTokenizer step without Java. Each line of stdin is a caption; prints
// one tokenised caption per line as PTBTokenizer.tokenize() returns them (lowercased, punctuation dropped), or with
// --raw exactly what `java edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase` prints for stdin.
// See src/eval/ptb-tokenize.h for what is covered.
#include "common.h"
#include "eval/ptb-tokenize.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>

int cmd_ptb_tokenize(int argc, char ** argv) {
    CLI::App app{ "pycocoevalcap's PTB tokenisation of captions (one per line on stdin)" };
    bool     raw = false, keep_case = false;
    app.add_flag("--raw", raw, "print Stanford PTBTokenizer's own output for stdin (-preserveLines -lowerCase)");
    app.add_flag("--keep-case", keep_case, "with --raw: leave out -lowerCase");
    CLI11_PARSE(app, argc, argv);
    if (raw) {
        const std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        const std::string out = glm::ptb_tokenizer_output(text, !keep_case);
        fwrite(out.data(), 1, out.size(), stdout);
        return 0;
    }
    std::vector<std::string> captions;
    std::string              line;
    while (std::getline(std::cin, line)) {
        captions.push_back(line);
    }
    for (const auto & c : glm::ptb_tokenize_captions(captions)) {
        fwrite(c.data(), 1, c.size(), stdout);  // captions may hold NUL characters
        fputc('\n', stdout);
    }
    return 0;
}
