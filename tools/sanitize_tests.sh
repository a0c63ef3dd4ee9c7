#!/usr/bin/env bash
# make sanitize (and .ci/run): the engine, reader and batch-library tests, and every fuzz harness
# replaying the whole corpus, built with ASan + UBSan (gcc, CAMGRAPH_SANITIZE=ON) in their own
# folder, only the targets they need. Any sanitizer report fails the run. docs/reliability.md,
# "Sanitizers", says what is covered and what it costs.
#
# Environment: SANITIZE_BUILD_DIR (build-asan), SANITIZE_JOBS (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${SANITIZE_BUILD_DIR:-build-asan}
JOBS=${SANITIZE_JOBS:-$(nproc)}

# Test programs: the engine (graphs, .cgraph files, values, safetensors), the model readers
# (checkpoints, ONNX), the dataset formats, the scene readers (PLY, COLMAP, transforms.json) and the
# batch library's durable writes; with FFmpeg, the video reader and the dataset report (which reads
# every file of a dataset folder). Replays: the 13 reader harnesses over tests/fuzz/corpus.
TESTS=(engine_tests safetensors_tests model_formats_tests dataset_formats_tests splat_io_tests batch_durable_tests)
OPTIONAL_TESTS=(video_formats_tests dataset_report_tests)
HARNESSES=(safetensors onnx torch_checkpoint ply colmap_bin colmap_text transforms cube cgraph sweep manifest image_header video)

start=$(date +%s)
cmake -S . -B "$BUILD" -G Ninja -DCAMGRAPH_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCAMGRAPH_GUI=OFF -DCAMGRAPH_BENCH=OFF -DCAMGRAPH_CUDA=OFF >"$BUILD.configure.log" 2>&1 ||
  { cat "$BUILD.configure.log"; exit 1; }
# A harness whose libraries this machine cannot build (e.g. video without FFmpeg) is left out, saying so.
available=$(cmake --build "$BUILD" --target help)
kept=()
for h in "${HARNESSES[@]}"; do
  if grep -q "^fuzz_replay_$h:" <<<"$available"; then kept+=("$h"); else echo "sanitize: no fuzz_replay_$h in this build, skipped"; fi
done
HARNESSES=("${kept[@]}")
for t in "${OPTIONAL_TESTS[@]}"; do
  if grep -q "^$t:" <<<"$available"; then TESTS+=("$t"); else echo "sanitize: no $t in this build, skipped"; fi
done
targets=("${TESTS[@]}")
for h in "${HARNESSES[@]}"; do targets+=("fuzz_replay_$h"); done
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"
built=$(date +%s)

# Leak checking is on (a reader that throws must free what it opened: the video reader leaked a demuxer
# so, found by the fuzzer).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logs="$BUILD/sanitize-logs"
rm -rf "$logs" && mkdir -p "$logs"
commands=()
for t in "${TESTS[@]}"; do commands+=("$t|$BUILD/bin/$t --gtest_brief=1"); done
for h in "${HARNESSES[@]}"; do commands+=("fuzz_replay_$h|$BUILD/bin/fuzz_replay_$h tests/fuzz/corpus"); done

run_one() {
  local name=${1%%|*} cmd=${1#*|} logs=$2
  if $cmd >"$logs/$name.log" 2>&1 && ! grep -q "runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$logs/$name.log"; then
    echo "ok     $name"
  else
    echo "FAILED $name (log: $logs/$name.log)"
    grep -m5 -E "runtime error:|ERROR: (Address|Leak)Sanitizer|SUMMARY|\[  FAILED  \]" "$logs/$name.log" || tail -5 "$logs/$name.log"
    return 1
  fi
}
export -f run_one
set +e
printf '%s\n' "${commands[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$1" "$2"' _ {} "$logs"
rc=$?
set -e
end=$(date +%s)
echo "sanitize: build $((built - start)) s, tests $((end - built)) s, ${#TESTS[@]} test programs + ${#HARNESSES[@]} corpus replays"
[ "$rc" -eq 0 ] || { echo "sanitize: failures above" >&2; exit 1; }
echo "sanitize: no sanitizer report"
