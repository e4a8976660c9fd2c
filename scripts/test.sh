#!/usr/bin/env bash
# Runs the whole test suite from any checkout: sets up and builds (scripts/setup.sh), then every CTest test
# (labels: unit, golden, e2e, slow). Extra arguments go to ctest (e.g. -L golden).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
# ctest runs tests side by side, each with its own threads: OpenMP threads that spin-wait in ggml's barriers would
# steal the cores the other tests need (seen: 55 s instead of 10 s for the SAM golden on 2 shared cores)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
ctest --test-dir "$root/build" --output-on-failure -j"$(nproc 2>/dev/null || echo 2)" "$@"
