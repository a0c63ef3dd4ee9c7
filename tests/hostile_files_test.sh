#!/usr/bin/env bash
# Hostile files through `camgraph-cli run` (and `batch`), as a user would feed them, under an 8 GB
# address-space limit: each run must end with exit 1 and a message naming the file and the problem,
# well within the time limit. Cases whose node family this build lacks are skipped, saying so.
# usage: hostile_files_test.sh CAMGRAPH_CLI
set -u
CLI=${1:?usage: hostile_files_test.sh CAMGRAPH_CLI}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/camgraph-hostile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
NODES=$("$CLI" nodes 2>/dev/null)
failures=0 ran=0 skipped=0

# graph FILE NODES_JSON [LINKS_JSON]: a .cgraph with these nodes and links.
graph() {
  printf '{"format": "camgraph", "version": 1, "graph": {"nodes": %s, "links": %s}}\n' "$2" "${3:-[]}" >"$1"
}

# expect NAME "NEEDED_TYPES" EXPECTED_SUBSTRING... -- CLI ARGS...: runs the CLI under the limit.
expect() {
  local name=$1 types=$2
  shift 2
  local want=()
  while [ "$1" != "--" ]; do want+=("$1"); shift; done
  shift
  for t in $types; do
    if ! grep -qw -- "$t" <<<"$NODES"; then
      echo "SKIP $name: this build has no '$t' node"
      skipped=$((skipped + 1))
      return
    fi
  done
  ran=$((ran + 1))
  local start=$SECONDS rc
  (ulimit -v 8000000 && exec timeout 120 "$CLI" "$@") >"$WORK/$name.out" 2>"$WORK/$name.err"
  rc=$?
  local took=$((SECONDS - start)) ok=1
  [ "$rc" -eq 1 ] || { echo "FAIL $name: exit code $rc, expected 1"; ok=0; }
  for w in "${want[@]}"; do
    grep -qF -- "$w" "$WORK/$name.err" || { echo "FAIL $name: stderr lacks '$w'"; ok=0; }
  done
  [ "$took" -le 60 ] || { echo "FAIL $name: took ${took}s"; ok=0; }
  if [ "$ok" -eq 1 ]; then
    echo "ok   $name (${took}s): $(grep -m1 -F -- "${want[0]}" "$WORK/$name.err" | cut -c1-200)"
  else
    failures=$((failures + 1))
    sed 's/^/     | /' "$WORK/$name.err" | head -20
  fi
}

run_graph() { # NAME "TYPES" NODES_JSON LINKS_JSON WANT... : writes NAME.cgraph and runs it
  local name=$1 types=$2 nodes=$3 links=$4
  shift 4
  graph "$WORK/$name.cgraph" "$nodes" "$links"
  expect "$name" "$types" "$@" -- run "$WORK/$name.cgraph" --out "$WORK/out" --quiet
}

# ---- PLY: headers declaring billions of vertices over a few bytes (the 136 GB allocation) ----
{
  printf 'ply\nformat ascii 1.0\nelement vertex 2000000000\n'
  for p in x y z f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3; do
    printf 'property float %s\n' "$p"
  done
  printf 'end_header\n0 0 0 0 0 0 0 0 0 0 1 0 0 0\n'
} >"$WORK/liar_ascii.ply"
run_graph ply_ascii_billions "splat.load_ply" \
  "[{\"id\": \"load\", \"type\": \"splat.load_ply\", \"params\": {\"path\": \"$WORK/liar_ascii.ply\"}}]" "[]" \
  "liar_ascii.ply" "2000000000 vertex" "ends early"
{
  printf 'ply\nformat binary_little_endian 1.0\nelement vertex 1500000000\n'
  for p in x y z f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3; do
    printf 'property double %s\n' "$p"
  done
  printf 'end_header\n'
  head -c 400 /dev/zero
} >"$WORK/liar_double.ply"
run_graph ply_double_billions "splat.load_ply" \
  "[{\"id\": \"load\", \"type\": \"splat.load_ply\", \"params\": {\"path\": \"$WORK/liar_double.ply\"}}]" "[]" \
  "liar_double.ply" "1500000000 vertex"
{
  printf 'ply\nformat ascii 1.0\nelement vertex 1\n'
  for p in x y z f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3; do
    printf 'property float %s\n' "$p"
  done
  printf 'end_header\nnan 0 0 0 0 0 0 0 0 0 1 0 0 0\n'
} >"$WORK/nan.ply"
run_graph ply_nan "splat.load_ply" \
  "[{\"id\": \"load\", \"type\": \"splat.load_ply\", \"params\": {\"path\": \"$WORK/nan.ply\"}}]" "[]" \
  "nan.ply" "vertex 0 property 'x'"

# ---- .cube LUTs: NaN values, a size promising 16.7M rows over two ----
mkdir -p "$WORK/frames"
graph "$WORK/make_frame.cgraph" '[{"id": "gen", "type": "image.pattern", "params": {"width": 8, "height": 8}},
  {"id": "save", "type": "image.save", "params": {"path": "'"$WORK"'/frames/0000.png"}}]' \
  '[{"from": "gen.image", "to": "save.image"}]'
if grep -qw image.pattern <<<"$NODES" && grep -qw image.save <<<"$NODES"; then
  "$CLI" run "$WORK/make_frame.cgraph" --quiet >/dev/null 2>&1 || echo "note: could not write the test frame"
fi
printf 'LUT_3D_SIZE 2\n0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 nan 1\n' >"$WORK/nan.cube"
printf 'LUT_3D_SIZE 256\n0 0 0\n1 1 1\n' >"$WORK/short.cube"
for lut in nan short; do
  want=("not a finite number")
  [ "$lut" = short ] && want=("2 table rows, expected 16777216")
  run_graph "cube_$lut" "frames.load grade.colour" \
    "[{\"id\": \"frames\", \"type\": \"frames.load\", \"params\": {\"folder\": \"$WORK/frames\"}},
      {\"id\": \"grade\", \"type\": \"grade.colour\", \"params\": {\"lut\": \"$WORK/$lut.cube\"}}]" \
    '[{"from": "frames.frames", "to": "grade.frames"}]' "$lut.cube" "${want[@]}"
done

# ---- .cgraph nested 100000 deep ----
{
  printf '{"format": "camgraph", "version": 1, "graph": {"nodes": [], "links": []}, "ui": '
  head -c 100000 /dev/zero | tr '\0' '['
} >"$WORK/deep.cgraph"
expect cgraph_deep "" "deep.cgraph" "nested deeper than 128 levels" -- run "$WORK/deep.cgraph" --out "$WORK/out"

# ---- COLMAP and transforms.json through splat.train's dataset ----
mkdir -p "$WORK/colmap_bin" "$WORK/colmap_txt"
head -c 8 /dev/zero | tr '\0' '\377' >"$WORK/colmap_bin/cameras.bin" # 2^64-1 cameras, no records
head -c 8 /dev/zero >"$WORK/colmap_bin/images.bin"
head -c 8 /dev/zero >"$WORK/colmap_bin/points3D.bin"
printf '1 PINHOLE 8 8 5 5 4 4\n' >"$WORK/colmap_txt/cameras.txt"
printf '# image\n1 0 0 0 0 0 0 0 1 0000.png\n\n' >"$WORK/colmap_txt/images.txt"
printf '' >"$WORK/colmap_txt/points3D.txt"
{
  printf '{"frames": [], "x": '
  head -c 100000 /dev/zero | tr '\0' '['
} >"$WORK/transforms.json"
for ds in colmap_bin colmap_txt transforms; do
  path="$WORK/$ds"
  want=("cameras.bin" "camera record 0 of 18446744073709551615" "truncated")
  [ "$ds" = colmap_txt ] && want=("images.txt:2" "zero or unusable quaternion")
  [ "$ds" = transforms ] && path="$WORK/transforms.json" && want=("transforms.json" "nested deeper than 128 levels")
  run_graph "train_$ds" "splat.train" \
    "[{\"id\": \"train\", \"type\": \"splat.train\", \"params\": {\"dataset\": \"$path\"}}]" "[]" "${want[@]}"
done

# ---- a sweep nested 100000 deep ----
graph "$WORK/sweep_graph.cgraph" '[{"id": "gen", "type": "image.pattern"}]'
{
  printf '{"graph": "sweep_graph.cgraph", "vary": '
  head -c 100000 /dev/zero | tr '\0' '['
} >"$WORK/sweep.json"
expect sweep_deep "image.pattern" "sweep.json" "nested deeper than 128 levels" -- \
  batch "$WORK/sweep.json" --dry-run --out "$WORK/batch"

echo "$ran run, $skipped skipped, $failures failed"
[ "$failures" -eq 0 ] || exit 1
[ "$ran" -gt 0 ] || exit 77
exit 0
