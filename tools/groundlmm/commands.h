// commands.h: the subcommands of the groundlmm CLI. Each lives in its own cmd-<name>.cpp, parses its own
// options (CLI11) and returns a process exit code; main.cpp turns glm::error into a one-line message.
#pragma once

#include <string>
#include <vector>

struct glm_command {
    const char * name;
    const char * summary;
    int (*run)(int argc, char ** argv);  // argv[0] is "groundlmm <name>"
};

// The table of subcommands, in the order `groundlmm --help` lists them (defined in main.cpp).
const std::vector<glm_command> & glm_commands();
