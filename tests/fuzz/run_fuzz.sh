#!/usr/bin/env bash
# make fuzz FUZZ_SECONDS=600: configures the clang fuzz build, builds every harness, runs each one
# for FUZZ_SECONDS under libFuzzer (one process at a time), then replays what it kept through the
# coverage build and prints, per harness: runs, execs/s, libFuzzer's cov/ft and the line coverage
# of the harness's reader sources. README.md beside this script explains the layout.
#
# Environment: FUZZ_SECONDS (60), FUZZ_BUILD_DIR (build-fuzz), FUZZ_WORK_DIR (scratch: new inputs
# and crashes; $FUZZ_BUILD_DIR/work), FUZZ_HARNESSES (space-separated names; all), FUZZ_JOBS
# (compile jobs; nproc), FUZZ_BUILD_WRAP (a command put before the compile, e.g. "flock LOCK"),
# FUZZ_RSS_MB (2048), CAMGRAPH_FUZZ_DEPS=1 installs clang and libFuzzer first.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
WORK=${FUZZ_WORK_DIR:-$BUILD/work}
JOBS=${FUZZ_JOBS:-$(nproc)}
RSS=${FUZZ_RSS_MB:-2048}
WRAP=${FUZZ_BUILD_WRAP:-}

if [ "${CAMGRAPH_FUZZ_DEPS:-0}" = 1 ]; then CAMGRAPH_FUZZ_DEPS=1 bash packaging/install-deps.sh; fi
for tool in clang clang++ llvm-profdata llvm-cov; do
  command -v "$tool" >/dev/null || {
    echo "fuzz: $tool not found; run CAMGRAPH_FUZZ_DEPS=1 bash packaging/install-deps.sh" >&2
    exit 1
  }
done

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAMGRAPH_FUZZ=ON -DCAMGRAPH_GUI=OFF -DCAMGRAPH_CUDA=OFF \
  -DCAMGRAPH_BENCH=OFF >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
targets=(fuzz_all)
if [ -n "${FUZZ_HARNESSES:-}" ]; then
  targets=()
  for name in $FUZZ_HARNESSES; do targets+=("fuzz_$name" "fuzz_cov_$name"); done
fi
$WRAP cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"

mapfile -t LINES <"$BUILD/fuzz_harnesses.txt"
SUMMARY=()
for line in "${LINES[@]}"; do
  read -r name sources <<<"$line"
  if [ -n "${FUZZ_HARNESSES:-}" ] && [[ " $FUZZ_HARNESSES " != *" $name "* ]]; then continue; fi
  kept="$WORK/corpus/$name"
  crashes="$WORK/crashes/$name"
  mkdir -p "$kept" "$crashes"
  log="$WORK/$name.log"
  echo "== fuzz_$name: ${SECONDS_EACH}s (log $log)"
  # New inputs go to the scratch folder (first), the committed corpus is only read.
  set +e
  "$BUILD/bin/fuzz_$name" "$kept" "tests/fuzz/corpus/$name" -max_total_time="$SECONDS_EACH" -timeout=5 \
    -rss_limit_mb="$RSS" -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  covft=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  ncrash=$(find "$crashes" -type f | wc -l)
  [ "$rc" -eq 0 ] || grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -5 || true

  # Line coverage of the reader's own sources over the committed corpus + what this run kept.
  profdir="$WORK/profile/$name"
  rm -rf "$profdir" && mkdir -p "$profdir"
  LLVM_PROFILE_FILE="$profdir/%p.profraw" CAMGRAPH_FUZZ_INPUT_SECONDS=60 \
    "$BUILD/bin/fuzz_cov_$name" "tests/fuzz/corpus/$name" "$kept" >/dev/null 2>&1 || true
  linecov="n/a"
  if ls "$profdir"/*.profraw >/dev/null 2>&1; then
    llvm-profdata merge -sparse "$profdir"/*.profraw -o "$profdir/merged.profdata"
    src_paths=()
    for s in $sources; do src_paths+=("$ROOT/$s"); done
    llvm-cov report "$BUILD/bin/fuzz_cov_$name" -instr-profile="$profdir/merged.profdata" "${src_paths[@]}" \
      >"$WORK/$name.coverage.txt" 2>/dev/null || true
    linecov=$(awk '/^TOTAL/ {print $(NF-3)}' "$WORK/$name.coverage.txt")
    cat "$WORK/$name.coverage.txt"
  fi
  SUMMARY+=("$(printf '%-22s %5ss rc=%-3s execs=%-10s exec/s=%-7s %-18s lines=%-8s crashes=%s' \
    "$name" "$SECONDS_EACH" "$rc" "${execs:-?}" "${speed:-?}" "${covft:-?}" "${linecov:-?}" "$ncrash")")
done

echo
echo "== fuzz summary (new inputs and crashes under $WORK; the committed corpus is unchanged)"
printf '%s\n' "${SUMMARY[@]}"
