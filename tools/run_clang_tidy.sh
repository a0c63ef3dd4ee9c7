#!/usr/bin/env bash
# clang-tidy (the checks of .clang-tidy) on a fixed list of files, chosen to be fast: nothing in
# their include graph is libtorch or Qt. Exits non-zero on any warning or error, after printing all.
# About 80 s on a 2-core machine. Run by .ci/run after `make test`.
#
# Usage: tools/run_clang_tidy.sh [BUILD_DIR]      (default: build/, which must hold
#        compile_commands.json: any configured build has it)
# Environment: CLANG_TIDY (default clang-tidy; Debian 12's is clang-tidy 14), JOBS (default 2),
# TIDY_FILES (below).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
tidy=${CLANG_TIDY:-clang-tidy}
jobs=${JOBS:-2}

# Engine sources, then a few families and the CLI. A file added here must pass.
files=(
  graph-engine/src/types.cpp
  graph-engine/src/error.cpp
  graph-engine/src/camera.cpp
  graph-engine/src/output_files.cpp
  graph-engine/src/graph.cpp
  graph-engine/src/validate.cpp
  graph-engine/src/events.cpp
  nodes/interp/schedule.cpp
  nodes/splat/io/colmap.cpp
  nodes/qc/label_truth.cpp
  nodes/depth/layout.cpp
  nodes/matting/keying.cpp
  app/cli/progress.cpp
)
# TIDY_FILES="a.cpp b.cpp" checks those instead (paths from the root), e.g. before adding them.
if [ -n "${TIDY_FILES:-}" ]; then read -ra files <<<"$TIDY_FILES"; fi

command -v "$tidy" >/dev/null || { echo "run_clang_tidy: '$tidy' not found (apt-get install clang-tidy)" >&2; exit 2; }
[ -f "$build/compile_commands.json" ] || { echo "run_clang_tidy: no $build/compile_commands.json (configure the build first)" >&2; exit 2; }

# The compile commands without the precompiled torch header: GCC's .gch is not clang's, and these
# files include what they use, so they parse without it (and without torch, which keeps this fast).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$build/compile_commands.json" "$work/compile_commands.json" >"$work/compiled.txt" <<'EOF'
import json, re, sys
entries = json.load(open(sys.argv[1]))
for e in entries:
    if "command" in e:
        e["command"] = re.sub(r" -include \S*cmake_pch\.hxx", "", e["command"]).replace(" -Winvalid-pch", "")
    else:
        args, out = e["arguments"], []
        i = 0
        while i < len(args):
            if args[i] == "-include" and i + 1 < len(args) and args[i + 1].endswith("cmake_pch.hxx"):
                i += 2
                continue
            if args[i] != "-Winvalid-pch":
                out.append(args[i])
            i += 1
        e["arguments"] = out
json.dump(entries, open(sys.argv[2], "w"))
print("\n".join(e["file"] for e in entries))
EOF

# A file of a family this build skipped (its libraries were not found) has no compile command.
present=()
for f in "${files[@]}"; do
  if grep -qxF "$root/$f" "$work/compiled.txt"; then present+=("$f"); else echo "run_clang_tidy: skipped $f (not in this build)"; fi
done
files=("${present[@]}")

start=$(date +%s)
# One log per file; xargs runs `jobs` at a time and reports failure if any run failed.
status=0
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c '
  log="$1/$(echo "$2" | tr / _).log"
  "$3" --quiet -p "$1" --warnings-as-errors="*" --header-filter="^$4/(graph-engine|formats|nodes|app|ui|tests|bench)/" \
    "$4/$2" >"$log" 2>&1 || { echo "FAILED $2" >>"$log"; exit 1; }' _ "$work" {} "$tidy" "$root" || status=1

for f in "${files[@]}"; do
  log="$work/$(echo "$f" | tr / _).log"
  if grep -q "^FAILED" "$log"; then
    echo "== $f"
    grep -v -e "^FAILED" -e "warnings generated" -e "^Suppressed" -e "^Use -header-filter" "$log" || true
  fi
done
echo "run_clang_tidy: ${#files[@]} files in $(($(date +%s) - start)) s: $([ $status -eq 0 ] && echo clean || echo 'warnings above')"
exit $status
