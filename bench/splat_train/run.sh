#!/usr/bin/env bash
# Splat training benchmark: CamGraph's trainer and (optionally) OpenSplat on the same data, views,
# step count and resolution schedule, one after the other on this machine.
#
#   bench/splat_train/run.sh [OPENSPLAT_BIN]        (or env OPENSPLAT_BIN)
#
# Environment (defaults in brackets):
#   STEPS [500]  DOWNSCALE [2]  NUM_DOWNSCALES [2]  RES_SCHEDULE [3000]   (OpenSplat 1.1.5 defaults)
#   HOLDOUT [0049.jpg]     the one held-out image, on both sides
#   DATA [$CAMGRAPH_SHARED/data/fox, else <repo>/../shared/data/fox]   a nerfstudio-style folder
#   BENCH_BIN [<repo>/build-bench/bin/camgraph-bench-splat-train]
#   THREADS [unset: torch default]   passed to our bench as --threads
#   PYTHON [python3]  needs numpy + Pillow (+ cv2 for OpenSplat's metrics)
#   KEEP [0]          1: keep the work folder (prepared data, logs, renders)
#
# Both programs read one prepared nerfstudio folder in a temp dir: images/ (symlink),
# sparse_pc.ply (symlink) and transforms.json (a copy of transforms_nerfstudio.json). Each runs
# under /usr/bin/time -v for peak RSS. Held-out PSNR/SSIM of both sides are computed by
# metrics.py on the held-out image at the training resolution of the last step (OpenSplat writes
# its --val-render image at that resolution), each against the ground truth its own trainer uses;
# our row also has our evaluate() at the full loaded resolution.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
OPENSPLAT_BIN="${1:-${OPENSPLAT_BIN:-}}"
STEPS="${STEPS:-500}"
DOWNSCALE="${DOWNSCALE:-2}"
NUM_DOWNSCALES="${NUM_DOWNSCALES:-2}"
RES_SCHEDULE="${RES_SCHEDULE:-3000}"
HOLDOUT="${HOLDOUT:-0049.jpg}"
PYTHON="${PYTHON:-python3}"
BENCH_BIN="${BENCH_BIN:-$repo/build-bench/bin/camgraph-bench-splat-train}"
if [[ -z "${DATA:-}" ]]; then
  if [[ -n "${CAMGRAPH_SHARED:-}" ]]; then DATA="$CAMGRAPH_SHARED/data/fox"; else DATA="$repo/../shared/data/fox"; fi
fi

die() { echo "run.sh: $*" >&2; exit 1; }
[[ -x "$BENCH_BIN" ]] || die "no bench binary at $BENCH_BIN; build it:
  cmake -S $repo -B $repo/build-bench -G Ninja -DCAMGRAPH_GUI=OFF && ninja -C $repo/build-bench -j2 camgraph-bench-splat-train"
[[ -d "$DATA/images" && -f "$DATA/transforms_nerfstudio.json" && -f "$DATA/sparse_pc.ply" ]] ||
  die "$DATA needs images/, transforms_nerfstudio.json and sparse_pc.ply"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time')"
"$PYTHON" -c "import numpy, PIL" 2>/dev/null || die "$PYTHON lacks numpy/Pillow (pip install numpy pillow opencv-python-headless; or set PYTHON)"
if [[ -n "$OPENSPLAT_BIN" ]]; then
  [[ -x "$OPENSPLAT_BIN" ]] || die "OpenSplat binary $OPENSPLAT_BIN is not executable"
  "$PYTHON" -c "import cv2" 2>/dev/null || die "$PYTHON lacks cv2, needed for OpenSplat's ground truth (pip install opencv-python-headless)"
  (( STEPS % 10 == 0 )) || die "STEPS must be a multiple of 10 (OpenSplat writes --val-render images every 10 steps)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/splat-train-bench.XXXXXX")"
if [[ "${KEEP:-0}" == 1 ]]; then echo "work folder: $work" >&2; else trap 'rm -rf "$work"' EXIT; fi
scene="$work/scene"
mkdir -p "$scene"
ln -s "$(cd "$DATA" && pwd)/images" "$scene/images"
ln -s "$(cd "$DATA" && pwd)/sparse_pc.ply" "$scene/sparse_pc.ply"
cp "$DATA/transforms_nerfstudio.json" "$scene/transforms.json"

# field NAME FILE: a value from /usr/bin/time -v output
tv() { sed -n "s/^\s*$1: //p" "$2" | head -1; }
# json KEY FILE: a value from a one-line JSON object
jv() { "$PYTHON" -c "import json,sys; v=json.load(open(sys.argv[2])).get(sys.argv[1]); print('' if v is None else v)" "$1" "$2"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
ncpu="$(nproc)"
# Resolution factor of the last step (OpenSplat: 1-based step; ours: 0-based, identical unless
# STEPS is a multiple of RES_SCHEDULE).
factor=$(( 1 << ( NUM_DOWNSCALES - STEPS / RES_SCHEDULE > 0 ? NUM_DOWNSCALES - STEPS / RES_SCHEDULE : 0 ) ))
# Frame left out of the "inner" metrics: fox's undistortion (k1 0.058) leaves up to ~8 px of black
# fill at 1080x1920 without a crop. Both loaders crop it now (ours since 90cd51b), so the inner
# columns only guard against edge effects of the crop itself.
BORDER="${BORDER:-$(( (8 + DOWNSCALE * factor - 1) / (DOWNSCALE * factor) ))}"
# pm FILE: "PSNR / SSIM (res) | inner PSNR / SSIM" from a metrics.py JSON
pm() { echo "$(printf %.2f "$(jv psnr "$1")") / $(printf %.4f "$(jv ssim "$1")") ($(jv res "$1")) | $(printf %.2f "$(jv psnr_inner "$1")") / $(printf %.4f "$(jv ssim_inner "$1")")"; }

# ---- ours
ours_cmd=("$BENCH_BIN" --data "$scene" --steps "$STEPS" --downscale "$DOWNSCALE" --num-downscales "$NUM_DOWNSCALES"
          --resolution-schedule "$RES_SCHEDULE" --holdout "$HOLDOUT" --dump-dir "$work/ours_eval")
[[ -n "${THREADS:-}" ]] && ours_cmd+=(--threads "$THREADS")
echo "== camgraph: ${ours_cmd[*]}" >&2
la0="$(loadavg)"
/usr/bin/time -v -o "$work/ours.time" "${ours_cmd[@]}" > "$work/ours.out" 2> "$work/ours.err" ||
  { cat "$work/ours.err" >&2; die "camgraph bench failed"; }
la1="$(loadavg)"
tail -n 1 "$work/ours.out" > "$work/ours.json"
cat "$work/ours.json" >&2
stem="${HOLDOUT%.*}"
"$PYTHON" "$here/metrics.py" pair "$work/ours_eval/${stem}_render.ppm" "$work/ours_eval/${stem}_gt.ppm" "$BORDER" > "$work/ours.metrics"
ours_row="| CamGraph | $(jv train_res "$work/ours.json") | $STEPS | $(printf %.3f "$(jv s_per_step "$work/ours.json")") | $(printf %.3f "$(jv s_per_step_last100 "$work/ours.json")") | $(printf %.3f "$(jv cpu_s_per_step "$work/ours.json")") | $(printf %.1f "$(jv wall_s "$work/ours.json")") s | $(tv 'Elapsed (wall clock) time (h:mm:ss or m:ss)' "$work/ours.time") | $(( $(tv 'Maximum resident set size (kbytes)' "$work/ours.time") / 1024 )) MiB | $(tv 'Percent of CPU this job got' "$work/ours.time") | $(jv gaussians_start "$work/ours.json") -> $(jv gaussians "$work/ours.json") | $(pm "$work/ours.metrics") | $(printf %.2f "$(jv psnr "$work/ours.json")") / $(printf %.4f "$(jv ssim "$work/ours.json")") ($(jv eval_res "$work/ours.json")) | $la0 / $la1 |"

# ---- OpenSplat
os_row=""
if [[ -n "$OPENSPLAT_BIN" ]]; then
  os_cmd=("$OPENSPLAT_BIN" "$scene" --cpu -n "$STEPS" -d "$DOWNSCALE" --num-downscales "$NUM_DOWNSCALES"
          --resolution-schedule "$RES_SCHEDULE" --val --val-image "$HOLDOUT" --val-render "$work/os_val" -o "$work/os/splat.ply")
  mkdir -p "$work/os"
  echo "== opensplat: ${os_cmd[*]}" >&2
  la0="$(loadavg)"
  set +e
  /usr/bin/time -v -o "$work/os.time" "${os_cmd[@]}" 2> "$work/os.err" | "$PYTHON" -u "$here/metrics.py" stamp --cpu-of "$OPENSPLAT_BIN" > "$work/os.log"
  rc=${PIPESTATUS[0]}
  set -e
  la1="$(loadavg)"
  (( rc == 0 )) || { tail -n 20 "$work/os.log" "$work/os.err" >&2; die "OpenSplat failed (rc $rc)"; }
  tail -n 2 "$work/os.log" >&2
  "$PYTHON" "$here/metrics.py" steps "$work/os.log" > "$work/os.steps"
  "$PYTHON" "$here/metrics.py" opensplat --transforms "$scene/transforms.json" --image "$HOLDOUT" --downscale "$DOWNSCALE" \
    --factor "$factor" --border "$BORDER" --render "$work/os_val/$STEPS.png" > "$work/os.metrics"
  os_gauss="$(sed -n 's/^element vertex //p' "$work/os/splat.ply" | head -1)"
  os_start="$(sed -n 's/^element vertex //p' "$scene/sparse_pc.ply" | head -1)"
  os_res="$("$PYTHON" -c "from PIL import Image; import sys; im=Image.open(sys.argv[1]); print(f'{im.width}x{im.height}')" "$work/os_val/$STEPS.png")"
  os_row="| OpenSplat ($("$OPENSPLAT_BIN" --version 2>/dev/null | head -1)) | $os_res | $STEPS | $(printf %.3f "$(jv s_per_step "$work/os.steps")") | $(printf %.3f "$(jv s_per_step_last100 "$work/os.steps")") | $(printf %.3f "$(jv cpu_s_per_step "$work/os.steps")") | $(printf %.1f "$(jv train_wall_s "$work/os.steps")") s | $(tv 'Elapsed (wall clock) time (h:mm:ss or m:ss)' "$work/os.time") | $(( $(tv 'Maximum resident set size (kbytes)' "$work/os.time") / 1024 )) MiB | $(tv 'Percent of CPU this job got' "$work/os.time") | $os_start -> $os_gauss | $(pm "$work/os.metrics") | - | $la0 / $la1 |"
fi

echo
echo "Splat training, $(basename "$DATA") at -d $DOWNSCALE, held out: $HOLDOUT, $STEPS steps, num-downscales $NUM_DOWNSCALES, schedule $RES_SCHEDULE, $ncpu CPUs ($(date -u +%F))"
echo
echo "| trainer | train res | steps | s/step | s/step (last 100) | CPU s/step | train wall | process wall | peak RSS | CPU | Gaussians | held-out PSNR / SSIM at train res | same without a ${BORDER}-px border | held-out PSNR / SSIM, our evaluate() | load avg before / after |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
echo "$ours_row"
if [[ -n "$os_row" ]]; then
  echo "$os_row"
else
  echo
  echo "OpenSplat row: pass its binary as the first argument or in OPENSPLAT_BIN (CPU build, run with --cpu)."
fi
