#!/usr/bin/env bash
# The one-call GPU check (docs/gpu.md): on a bare GPU machine (CUDA toolkit, nvcc, cmake, ninja,
# a pip-installed PyTorch with CUDA; no Qt, OpenCV, FFmpeg, ICU, json, xxhash, GoogleTest, no
# network) it configures the GPU subset against that PyTorch's libtorch for the installed card,
# builds what the check needs, runs every CUDA test and the GPU benchmarks, and prints ONE table
# (also written to $OUT/gpu-check.md with the logs, when OUT is set).
#
#   bash bench/gpu/check.sh        (or: make gpu-check)
#
# Needs .gpu-deps/ (make gpu-deps, on a machine with apt and network; carried along). Incremental:
# the build folder (GPU_BUILD, default build-gpu) is reused when it survives between calls.
# Env: GPU_BUILD, CUDA_ARCHS (default: the card's, from nvidia-smi), TORCH_CMAKE (default: from
# python3's torch), GPU_TEST_FILTER (gtest filter of the CUDA tests), GPU_CHECK_BUDGET_S (300:
# optional steps are skipped when they would not fit), GPU_CHECK_CPU_GRAPH (1: also time the graph
# on the CPU, if time is left), JOBS.
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/gpu/gpu_env.sh

T0=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET_S:-300}
BUILD=${GPU_BUILD:-build-gpu}
RES="$BUILD/check"  # results of this call: one JSON/log file per step
JOBS=${JOBS:-$(nproc)}
FILTER=${GPU_TEST_FILTER:-*Cuda*:*CUDA*:*Gpu*:*GPU*:*OnDevice*}
rm -rf "$RES" && mkdir -p "$RES"
elapsed() { echo $(( $(date +%s) - T0 )); }
say() { echo "[gpu-check $(elapsed)s] $*" | tee -a "$RES/steps.log"; }
step_json() { python3 -c 'import json,sys; print(json.dumps(dict(a.split("=",1) for a in sys.argv[1:])))' "$@"; }

# ---- the machine ----------------------------------------------------------------------------
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
GPU_NAME=$(nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1)
CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
if [ -z "${CUDA_ARCHS:-}" ]; then
  if [ -n "$CAP" ]; then CUDA_ARCHS="${CAP}-real"; else CUDA_ARCHS="75-virtual;90-real"; fi
fi
TORCH_CMAKE=${TORCH_CMAKE:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)}
TORCH_INFO=$(python3 -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null)
say "GPU: ${GPU_NAME:-none found}; torch ${TORCH_INFO:-not found}; nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p'); archs $CUDA_ARCHS"
step_json gpu="${GPU_NAME:-none}" torch="${TORCH_INFO:-none}" archs="$CUDA_ARCHS" >"$RES/machine.json"
[ -n "$TORCH_CMAKE" ] || { say "no PyTorch: set TORCH_CMAKE to libtorch's share/cmake folder"; exit 1; }
command -v nvcc >/dev/null || say "no nvcc on PATH (nor in CUDA_HOME/bin): the build will have no CUDA kernels"

# Peak device memory of a command: nvidia-smi polled every 100 ms in the background.
mem_poll_start() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$RES/$1.mem" 2>/dev/null & POLL=$!; }
mem_poll_stop() { kill "$POLL" 2>/dev/null; wait "$POLL" 2>/dev/null; sort -n "$RES/$1.mem" 2>/dev/null | tail -1; }

# ---- configure + build ------------------------------------------------------------------------
gpu_deps_unpack .gpu-deps "$BUILD/_prefix" || exit 1
mapfile -t ARGS < <(gpu_cmake_args "$TORCH_CMAKE" "$PWD/$BUILD/_prefix" "$CUDA_ARCHS")
GEN=(-G Ninja); command -v ninja >/dev/null || GEN=(-G "Unix Makefiles")
[ -f "$BUILD/CMakeCache.txt" ] && GEN=()  # keep the existing generator
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$(echo "$CUDA_ARCHS" | sed 's/;.*//; s/-.*//; s/\([0-9]\)$/.\1/')}
if ! cmake -S . -B "$BUILD" "${GEN[@]}" "${ARGS[@]}" -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" >"$RES/configure.log" 2>&1; then
  say "configure FAILED (log: $RES/configure.log)"; tail -40 "$RES/configure.log"; exit 1
fi
grep -A10 "CamGraph configuration" "$RES/configure.log" | tee -a "$RES/steps.log"
TARGETS=("${GPU_CHECK_TARGETS[@]}")
TESTS=()
for bd in "${GPU_TEST_BINARIES[@]}"; do
  has_cuda_tests "${bd#*:}" && has_target "$BUILD" "${bd%%:*}" && TESTS+=("${bd%%:*}")
done
TARGETS+=("${TESTS[@]}")
tb=$(date +%s)
if ! cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}" >"$RES/build.log" 2>&1; then
  say "build FAILED (log: $RES/build.log)"; grep -E "error|Error" "$RES/build.log" | head -30; BUILD_OK=0
else BUILD_OK=1; fi
say "build: ${TARGETS[*]} in $(( $(date +%s) - tb )) s"
step_json ok=$BUILD_OK seconds=$(( $(date +%s) - tb )) >"$RES/build.json"
BIN="$BUILD/bin"

# ---- CUDA tests ------------------------------------------------------------------------------
for t in "${TESTS[@]}"; do
  [ -x "$BIN/$t" ] || { say "tests: $t was not built"; continue; }
  say "tests: $t --gtest_filter=$FILTER"
  timeout 240 "$BIN/$t" --gtest_filter="$FILTER" --gtest_output="json:$RES/test-$t.json" >"$RES/test-$t.log" 2>&1
  echo "rc=$?" >>"$RES/test-$t.log"
  grep -E '^\[  (PASSED  |SKIPPED )\] [0-9]+ tests?|^\[  FAILED  \]' "$RES/test-$t.log" | sort -u | head -40
done

# ---- rasterizer: fwd+bwd and render fps at 1080p, 1 M Gaussians -------------------------------
if [ -x "$BIN/bench_raster_gpu" ]; then
  say "bench: bench_raster_gpu (1 M Gaussians, 1920x1080)"
  mem_poll_start raster
  timeout 180 "$BIN/bench_raster_gpu" --device cuda >"$RES/raster.log" 2>&1
  peak=$(mem_poll_stop raster)
  tail -1 "$RES/raster.log" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['smi_peak_mib']='$peak'; print(json.dumps(d))" \
    >"$RES/raster.json" 2>/dev/null || true
  cat "$RES/raster.log"
fi

# ---- graphs through the CLI: training at 1080p, the GPU-runnable graph end to end --------------
# run_graph NAME DEVICE TIMEOUT GRAPH [--set ...]: times one camgraph-cli run (fresh cache), its
# events (--events json) and peak device memory.
run_graph() {
  local name=$1 device=$2 limit=$3 graph=$4; shift 4
  local out="$BUILD/runs/$name" cache="$BUILD/runs/$name/cache"
  rm -rf "$out" && mkdir -p "$out"
  [ -n "${RUN_CACHE:-}" ] && cache="$RUN_CACHE"  # a cache shared on purpose (the same views)
  say "run: $name ($graph --device $device, at most ${limit}s)"
  mem_poll_start "$name"
  local t=$(date +%s.%N)
  timeout "$limit" "$BIN/camgraph-cli" run "$graph" --device "$device" --out "$out/out" --cache-dir "$cache" \
    --events json --quiet "$@" >"$RES/$name.events.jsonl" 2>"$RES/$name.stderr"
  local rc=$?
  local secs=$(python3 -c "import time; print(round(time.time() - $t, 2))")
  local peak=$(mem_poll_stop "$name")
  cp "$out/out/train_metrics.json" "$RES/$name.metrics.json" 2>/dev/null || cp "$out/out/gpu-check/train_metrics.json" "$RES/$name.metrics.json" 2>/dev/null
  step_json name="$name" device="$device" rc="$rc" seconds="$secs" limit="$limit" smi_peak_mib="$peak" >"$RES/$name.json"
  say "  rc=$rc in ${secs}s, peak device memory ${peak:-?} MiB"
  [ "$rc" = 0 ] || tail -5 "$RES/$name.stderr"
}
left() { echo $(( BUDGET - $(elapsed) )); }
if [ -x "$BIN/camgraph-cli" ]; then
  # shot.render has no file output in this subset: --target makes the CLI run it (and its inputs).
  GRAPH_TARGETS=(--target render --target save_metrics)
  run_graph graph-cuda cuda 150 examples-graphs/gpu-check.cgraph "${GRAPH_TARGETS[@]}"
  run_graph train-1080p cuda 150 bench/gpu/train-1080p.cgraph
  # The 1 M run reuses the first run's courtyard views (its cache); its train node runs afresh.
  RUN_CACHE="$BUILD/runs/train-1080p/cache" run_graph train-1080p-1M cuda 120 bench/gpu/train-1080p.cgraph --set train.random_points=1000000 \
    --set train.steps=200 --set train.refine_stop=0 --set train.sh_degree_interval=1
  if [ "${GPU_CHECK_CPU_GRAPH:-1}" = 1 ] && [ "$(left)" -gt 40 ]; then
    run_graph graph-cpu cpu $(( $(left) - 15 )) examples-graphs/gpu-check.cgraph "${GRAPH_TARGETS[@]}"
  else
    say "graph on the CPU: skipped ($(left)s of the ${BUDGET}s budget left); docs/gpu.md has this machine's CPU time"
  fi
fi

# ---- the table --------------------------------------------------------------------------------
say "done in $(elapsed)s"
step_json seconds="$(elapsed)" budget="$BUDGET" >"$RES/total.json"
python3 bench/gpu/summarize.py "$RES" | tee "$RES/gpu-check.md"
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  cp "$RES/gpu-check.md" "$OUT/"
  tar -czf "$OUT/gpu-check-logs.tar.gz" -C "$BUILD" check 2>/dev/null
fi
