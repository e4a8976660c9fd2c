#!/usr/bin/env bash
# Reproduces the tables of experiments/toy/README.md: the embedded toy model (models/toy) through the production path.
# Usage: experiments/toy/run.sh [build dir] [extra args]   (extra args go to toy-experiment: -m <model dir>, --n
# <scenes>, -t <threads>).
#   1. results.json: 500 held-out test scenes of world seed 1 (the original table);
#   2. heads-calibrated.json: calibrate-heads, label-free, on 200 training-split scenes (world seed 1) with their
#      captions teacher-forced (skip 0 layers: the model has 2; 2 heads counted per sample; k = 2);
#   3. results-heads.json: all vs official vs calibrated heads vs the best single head (labels, a reference) on 500
#      test scenes of each of the unseen world seeds 2, 3 and 4, with the spread.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
shift || true
cd "$root"
cmake --build "$build" --target toy-experiment groundlmm -j"$(nproc 2>/dev/null || echo 2)" > /dev/null
"$build/bin/toy-experiment" -m models/toy --n 500 --seeds 1 -o experiments/toy/results.json "$@"
calib="$build/toy-calibration"
# scenes as training rendered them: the model's input size (toyvit.image_size, 128) and caption style
# (groundlmm.toy.caption_order, left-to-right). toy-world cannot read these from the model, so they are spelled out
# here and must follow models/toy; toy-experiment above and below reads both from the model itself
"$build/bin/groundlmm" toy-world -o "$calib" --split train --n 200 --seed 1 --size 128 --caption-order left-to-right
"$build/bin/groundlmm" calibrate-heads -m models/toy/toy-llm.gguf --mmproj models/toy/toy-vit.gguf -t 1 \
    --captions "$calib/captions.txt" --skip-layers 0 --per-sample 2 --k 2 -o experiments/toy/heads-calibrated.json
"$build/bin/toy-experiment" -m models/toy --n 500 --seeds 2,3,4 --heads experiments/toy/heads-calibrated.json \
    -o experiments/toy/results-heads.json "$@"
