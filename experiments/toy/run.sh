#!/usr/bin/env bash
# Reproduces the toy-world grounding table of experiments/toy/README.md: the embedded toy model (models/toy)
# through the production path on held-out test scenes. Usage: experiments/toy/run.sh [build dir] [extra args]
# (extra args go to toy-experiment: -m <model dir>, --n <scenes>, --seed <world seed>, -t <threads>).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
shift || true
cmake --build "$build" --target toy-experiment -j"$(nproc 2>/dev/null || echo 2)" > /dev/null
"$build/bin/toy-experiment" -m "$root/models/toy" --n 500 --seed 1 -o "$root/experiments/toy/results.json" "$@"
