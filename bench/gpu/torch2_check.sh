#!/usr/bin/env bash
# `make torch2-check`: proves the libtorch-2 compile path without a GPU. Downloads the pinned PyPI
# PyTorch wheel (a CUDA 13.0 build, the CUDA major of the local toolkit and of the GPU machine's
# PyTorch), configures build-torch2/ against its libtorch with the GPU subset of bench/gpu/gpu_env.sh
# (no Qt, OpenCV, FFmpeg, ICU; json/xxhash/GoogleTest/Benchmark from .gpu-deps/), builds every
# target of that subset with the local nvcc and runs its tests on the CPU.
#
# libtorch_cuda.so loads without a GPU: cudart, cuBLAS, cuFFT, cuRAND, cuSOLVER, cuSPARSE, cuDNN,
# NCCL, CUPTI and NVRTC come from the local toolkit (/usr/local/cuda/lib64); the three it lacks
# (cuSPARSELt, NVSHMEM, cuFile) come from their nvidia-* wheels, unpacked beside torch/ the way pip
# lays out site-packages, so that libtorch_cuda's RPATH ($ORIGIN/../../nvidia/...) finds them.
#
# Env: TORCH2_VERSION (2.11.0), TORCH2_DIR (.torch2), TORCH2_BUILD (build-torch2), JOBS (2),
#      TORCH2_TESTS (ctest -R regex; default: the engine and torch-only family labels), CUDA_ARCHS.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/gpu/gpu_env.sh

TORCH2_VERSION=${TORCH2_VERSION:-2.11.0}
DIR=${TORCH2_DIR:-.torch2}
BUILD=${TORCH2_BUILD:-build-torch2}
JOBS=${JOBS:-2}
CUDA_ARCHS=${CUDA_ARCHS:-75-virtual;90-real}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
# Pins that belong to torch 2.11.0's Requires-Dist (the three libraries the local toolkit lacks).
EXTRA_WHEELS=(nvidia-cusparselt-cu13==0.8.0 nvidia-nvshmem-cu13==3.4.5 "nvidia-cufile==1.15.1.6")
PIP_PLATFORM=(--only-binary=:all: --python-version 3.12 --implementation cp
              --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)

t0=$(date +%s)
stamp() { echo "torch2-check: $1 ($(( $(date +%s) - t0 )) s)"; }

# 1. wheels (once)
mkdir -p "$DIR/wheels"
if ! ls "$DIR"/wheels/torch-"$TORCH2_VERSION"-*.whl >/dev/null 2>&1; then
  python3 -m pip download -q --no-deps "${PIP_PLATFORM[@]}" -d "$DIR/wheels" "torch==$TORCH2_VERSION" "${EXTRA_WHEELS[@]}"
fi
stamp "wheels in $DIR/wheels"

# 2. unpack libtorch (lib, include, share/cmake) and the three nvidia libraries (once per version)
root="$DIR/root"
if [ "$(cat "$root/.version" 2>/dev/null)" != "$TORCH2_VERSION" ]; then
  rm -rf "$root" && mkdir -p "$root"
  unzip -q -o "$DIR"/wheels/torch-"$TORCH2_VERSION"-*.whl 'torch/lib/*' 'torch/include/*' 'torch/share/*' -d "$root"
  for w in "$DIR"/wheels/nvidia_*.whl; do unzip -q -o "$w" 'nvidia/*/lib/*' -d "$root"; done
  echo "$TORCH2_VERSION" >"$root/.version"
fi
stamp "libtorch $TORCH2_VERSION unpacked in $root"

# 3. the private prefix for json, xxhash, GoogleTest, Google Benchmark
[ -d .gpu-deps ] && ls .gpu-deps/*.deb >/dev/null 2>&1 || bash bench/gpu/fetch_deps.sh
gpu_deps_unpack .gpu-deps "$BUILD/_prefix"

# 4. configure + build the GPU subset
export PATH="$CUDA_HOME/bin:$PATH" TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
mapfile -t args < <(gpu_cmake_args "$PWD/$root/torch/share/cmake" "$PWD/$BUILD/_prefix" "$CUDA_ARCHS")
cmake -S . -B "$BUILD" -G Ninja "${args[@]}" -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc" \
  >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
grep -A12 "CamGraph configuration" "$BUILD.configure.log" || true
stamp "configured $BUILD"
nice -n 19 cmake --build "$BUILD" -j "$JOBS"
stamp "built $BUILD"

# 5. tests on the CPU (no GPU here: the CUDA tests skip, saying why)
export LD_LIBRARY_PATH="$CUDA_HOME/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The engine's and the torch-only families' tests. Left out: cli and batch (their example graphs
# use image.save from the OpenCV io family, which this subset lacks) and SplatTrainFox (decodes the
# shared fox JPEGs, which needs OpenCV). TORCH2_TESTS (a ctest -R regex) picks others.
if [ -n "${TORCH2_TESTS:-}" ]; then sel=(-R "$TORCH2_TESTS"); else sel=(-L 'engine|splat|camera|shot|sequence|sfm' -E '^SplatTrainFox\.'); fi
(cd "$BUILD" && nice -n 19 ctest --output-on-failure -j "$JOBS" --timeout 900 "${sel[@]}")
stamp "tests passed"
