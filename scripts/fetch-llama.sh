#!/usr/bin/env bash
# Fetches the pinned llama.cpp tree from the npm registry into third_party/llama.cpp.
#
# node-llama-cpp@3.21.1 ships llama.cpp as a git bundle (llama/gitRelease.bundle). We clone that bundle and
# check that HEAD is the commit we pin. Nothing from llama.cpp is ever committed to this repository.
set -euo pipefail

PKG="node-llama-cpp@3.21.1"
PIN="80fb11ac73e66d89eae2c6a91d8a77428fa733ed"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/third_party/llama.cpp"

if [ -d "$dest/.git" ]; then
    have="$(git -C "$dest" rev-parse HEAD)"
    if [ "$have" = "$PIN" ]; then
        echo "llama.cpp: $dest already at $PIN"
        exit 0
    fi
    echo "llama.cpp: $dest is at $have, expected $PIN; remove it and run again" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "llama.cpp: npm pack $PKG"
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null)
tar -xzf "$tmp"/node-llama-cpp-*.tgz -C "$tmp" package/llama/gitRelease.bundle
mkdir -p "$root/third_party"
git -c advice.detachedHead=false clone -q "$tmp/package/llama/gitRelease.bundle" "$dest"
have="$(git -C "$dest" rev-parse HEAD)"
if [ "$have" != "$PIN" ]; then
    rm -rf "$dest"
    echo "llama.cpp: bundle HEAD is $have, expected $PIN" >&2
    exit 1
fi
echo "llama.cpp: $dest at $PIN"
