#!/usr/bin/env bash
# Runs the whole test suite from any checkout: sets up and builds (scripts/setup.sh), then every CTest test
# (labels: unit, golden, e2e, slow). Extra arguments go to ctest (e.g. -L golden).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
ctest --test-dir "$root/build" --output-on-failure -j"$(nproc 2>/dev/null || echo 2)" "$@"
