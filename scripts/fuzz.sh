#!/usr/bin/env bash
# Long fuzzing runs by hand, coverage-guided: builds the fuzz targets of tests/fuzz with Clang's libFuzzer,
# ASan and UBSan, linked against the libraries of an existing build (default: build/, made with the project's
# compiler; only the code under test is compiled again, instrumented), then runs each for SECONDS seconds.
#   scripts/fuzz.sh [SECONDS=600] [TARGETS="http request image"] [BUILD=build]
# Writes to build-fuzz/: the binaries, the grown corpora (corpus-<kind>/, seeded from tests/fuzz/corpus/<kind>),
# crash-* reproducers, and <target>.log with libFuzzer's final statistics.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-600}"
targets="${2:-http request image}"
build="${3:-$root/build}"
out="$root/build-fuzz"
mkdir -p "$out"
flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
       -I"$root/src" -I"$root/src/io" -I"$root/src/models" -I"$root/include" -I"$root/tools/groundlmm" -I"$root/third_party/llama.cpp/include"
       -I"$root/third_party/llama.cpp/ggml/include")
libs=("$build/src/libgroundlmm-core.a" "$build/llama.cpp/src/libllama.a" "$build/llama.cpp/ggml/src/libggml.a"
      "$build/llama.cpp/ggml/src/libggml-cpu.a" "$build/llama.cpp/ggml/src/libggml-base.a"
      -lgomp -ljpeg -lstb -lzip -llink-grammar -lstemmer -ldl -lpthread -lm)
for t in $targets; do
    case "$t" in
        http)    srcs=(tools/groundlmm/serve-http-parse.cpp) ;;
        request) srcs=(tools/groundlmm/serve-request.cpp tools/groundlmm/serve-http-parse.cpp src/io/image.cpp) ;;
        image)   srcs=(src/io/image.cpp) ;;
        *) echo "unknown target $t (http, request, image)" >&2; exit 2 ;;
    esac
    (cd "$root" && clang++ "${flags[@]}" "tests/fuzz/fuzz-$t.cpp" "${srcs[@]}" "${libs[@]}" -o "$out/fuzz-$t")
    mkdir -p "$out/corpus-$t"
    cp -n "$root/tests/fuzz/corpus/$t/"* "$out/corpus-$t/" 2>/dev/null || true
    (cd "$out" && ASAN_OPTIONS=detect_leaks=1 ./"fuzz-$t" -max_total_time="$secs" -print_final_stats=1 -max_len=65536 \
        -timeout=10 -rss_limit_mb=2048 "corpus-$t" 2>&1 | tail -40 > "fuzz-$t.log") || true
    echo "== fuzz-$t ($secs s)"; grep -E "^stat::|ERROR|SUMMARY|Done" "$out/fuzz-$t.log" || tail -5 "$out/fuzz-$t.log"
done
