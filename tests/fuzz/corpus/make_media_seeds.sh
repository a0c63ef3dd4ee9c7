#!/usr/bin/env bash
# Writes the seeds of the image_header and video harnesses (tiny clips and images made by ffmpeg,
# then edge cases cut from them). Run from anywhere; needs ffmpeg and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
v=$here/video
i=$here/image_header
mkdir -p "$v" "$i"
ff() { ffmpeg -v error -y "$@"; }
src=(-f lavfi -i "testsrc=size=32x24:rate=8:duration=0.625")
ff "${src[@]}" -c:v libx264 -pix_fmt yuv420p "$v/h264_5frames.mp4"
ff "${src[@]}" -c:v mpeg4 "$v/mpeg4_5frames.avi"
ff "${src[@]}" -c:v ffv1 "$v/ffv1_5frames.mkv"
ff "${src[@]}" -pix_fmt yuv444p "$v/raw_5frames.y4m"
ff "${src[@]}" "$v/anim_5frames.gif"
# An H.264 stream whose second half is 16x12 (a new SPS midstream): the wrapper refuses the change.
ff -f lavfi -i "testsrc=size=32x24:rate=8:duration=0.375" -c:v libx264 -pix_fmt yuv420p -f h264 "$v/a.h264"
ff -f lavfi -i "testsrc=size=16x12:rate=8:duration=0.25" -c:v libx264 -pix_fmt yuv420p -f h264 "$v/b.h264"
cat "$v/a.h264" "$v/b.h264" >"$v/size_change.h264"
rm "$v/a.h264" "$v/b.h264"
ff "${src[@]}" -frames:v 1 "$i/rgb_32x24.png"
ff "${src[@]}" -frames:v 1 "$i/rgb_32x24.jpg"
ff "${src[@]}" -frames:v 1 -pix_fmt gray "$i/gray_32x24.png"
python3 - "$v" "$i" <<'PY'
import struct, sys, zlib
v, i = sys.argv[1], sys.argv[2]
mp4 = open(f"{v}/h264_5frames.mp4", "rb").read()
open(f"{v}/h264_truncated_half.mp4", "wb").write(mp4[: len(mp4) // 2])
y4m = open(f"{v}/raw_5frames.y4m", "rb").read()
# The header claims 65535x65535 over frames of 32x24.
open(f"{v}/y4m_lying_size.y4m", "wb").write(y4m.replace(b"W32 H24", b"W65535 H65535", 1))
png = open(f"{i}/rgb_32x24.png", "rb").read()
def ihdr(w, h):
    body = b"IHDR" + struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return png[:8] + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body)) + png[33:]
open(f"{i}/png_width_zero.png", "wb").write(ihdr(0, 24))
open(f"{i}/png_width_2e9.png", "wb").write(ihdr(0x7FFFFFFF, 0x7FFFFFFF))
open(f"{i}/png_width_4e9.png", "wb").write(ihdr(0xFFFFFFFF, 1))
open(f"{i}/png_truncated_ihdr.png", "wb").write(png[:20])
jpg = open(f"{i}/rgb_32x24.jpg", "rb").read()
open(f"{i}/jpeg_truncated_header.jpg", "wb").write(jpg[:40])
sof = jpg.find(b"\xff\xc0")
if sof > 0:  # baseline SOF0: length, precision, height, width
    open(f"{i}/jpeg_height_zero.jpg", "wb").write(jpg[: sof + 5] + b"\x00\x00" + jpg[sof + 7 :])
open(f"{i}/jpeg_markers_only.jpg", "wb").write(b"\xff\xd8" + b"\xff\xe0\x00\x02" * 64)
PY
ls -la "$v" "$i"
