#!/usr/bin/env bash
# `make gpu-deps`: fetches (on a machine with Debian's apt and network) the .deb files that the bare
# GPU machine lacks: the header-only nlohmann-json and xxhash, GoogleTest/GoogleMock (static
# libraries + CMake config) and Google Benchmark (shared library + CMake config), into .gpu-deps/
# (ignored by git; about 1 MB; named in the device tool's carry). bench/gpu/gpu_env.sh unpacks them.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEBS=(nlohmann-json3-dev libxxhash-dev libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian)
mkdir -p .gpu-deps
cd .gpu-deps
missing=()
for p in "${DEBS[@]}"; do ls "${p}"_*.deb >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  # apt's sandbox user cannot write into a root-owned folder; the download needs no privileges.
  apt-get download -q "${missing[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true
fi
for p in "${DEBS[@]}"; do ls "${p}"_*.deb >/dev/null 2>&1 || { echo "gpu-deps: $p not fetched" >&2; exit 1; }; done
echo "gpu-deps: $(ls *.deb | wc -l) .deb files in .gpu-deps ($(du -sh . | cut -f1))"
