// groundlmm version: the version, the pinned llama.cpp and the ggml devices this build can use.
#include "common.h"

#include "ggml-backend.h"
#include "llama.h"

#include <cstdio>

int cmd_version(int argc, char ** argv) {
    (void) argc;
    (void) argv;
    printf("groundlmm %s\n", GROUNDLMM_VERSION);
    printf("llama.cpp 80fb11ac73e66d89eae2c6a91d8a77428fa733ed (node-llama-cpp@3.21.1)\n");
    printf("system: %s\n", llama_print_system_info());
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        printf("device %zu: %s (%s)\n", i, ggml_backend_dev_name(d), ggml_backend_dev_description(d));
    }
    return 0;
}
