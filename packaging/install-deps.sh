#!/usr/bin/env bash
# Installs every Debian 12 package CamGraph's build, tests and demo need.
# Idempotent: prints nothing and exits 0 when everything is already installed.
set -euo pipefail

# The one list. Grouped by what needs it.
PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # core: graph engine, nodes, CLI
  libtorch-dev nlohmann-json3-dev libxxhash-dev
  # image and video I/O
  libopencv-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev ffmpeg
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the layering check (tools/check_layering.py) and golden scripts
  python3
  # style: .clang-format, and clang-tidy on a fixed list of files after the tests (.ci/run)
  clang-format clang-tidy
  # editor (Qt Quick)
  qt6-base-dev qt6-declarative-dev qt6-tools-dev libqcustomplot-dev
  qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-layouts
  qml6-module-qtquick-templates qml6-module-qtquick-window qml6-module-qtqml-workerscript
  qml6-module-qtquick-shapes qml6-module-qttest libgl-dev
  xvfb xauth
  # Stable Diffusion (sd family): Unicode classes for CLIP's tokenizer, gzip'd CLIP merges
  libicu-dev zlib1g-dev
  # structure from motion (sfm node)
  colmap
  # batch on a cluster: a local one-node Slurm in tests
  slurm-wlm slurm-client munge
  # the dataset report's HTML page, loaded in a headless browser by its test (app/report/tests)
  chromium-headless-shell
  # the Debian package (packaging/): man pages from --help, and the validators its test runs
  help2man dpkg-dev file desktop-file-utils appstream shared-mime-info libglib2.0-bin lintian
)

# The fuzz build only (make fuzz, tests/fuzz/README.md): clang, libFuzzer + sanitizer runtimes, llvm-cov.
if [ "${CAMGRAPH_FUZZ_DEPS:-0}" = 1 ]; then
  PACKAGES+=(clang libclang-rt-14-dev llvm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
