#!/usr/bin/env python3
"""A dataset folder and its card as others load them: the Hugging Face `datasets` library and CameraCtrl.

Builds a three-item dataset from the committed seed clip, writes its card with `camgraph-cli dataset
report`, then, in a Python environment with `datasets` and PyAV (made by hf_venv.sh):
  * `load_dataset(DIR)` reads the card's video-folder config: one row per item, the video column
    (decode=False) pointing at each item's file, the metadata columns beside it;
  * PyAV decodes each video to the item's frame count;
  * the poses are read the way CameraCtrl reads RealEstate10K files (lines after the first; fx, fy,
    cx, cy = numbers 1..4; the 3x4 world-to-camera = numbers 7..18, row-major): one per frame, with
    an orthonormal rotation.
Usage: hf_datasets_test.py CAMGRAPH_CLI SOURCE_DIR VENV. Exit 77 (skipped), saying why, when VENV
has no `datasets` (hf_venv.sh could not reach PyPI).
"""
import json, os, subprocess, sys, tempfile

cli, source, venv = sys.argv[1], sys.argv[2], sys.argv[3]
python = os.path.join(venv, "bin", "python")

LOADER = r"""
import json, sys
import av
from datasets import load_dataset, Video
ds_dir = sys.argv[1]
d = load_dataset(ds_dir, split="train")
d = d.cast_column("video", Video(decode=False))
rows = []
for row in d:
    path = row["video"]["path"]
    with av.open(path) as c:
        frames = sum(1 for _ in c.decode(video=0))
    # CameraCtrl's RealEstate10K reader: skip the first line, 19 numbers a line.
    with open(ds_dir + "/" + row["poses"]) as f:
        lines = f.read().splitlines()[1:]
    cams = []
    for line in lines:
        e = [float(x) for x in line.split()]
        fx, fy, cx, cy = e[1:5]
        w2c = [e[7:11], e[11:15], e[15:19]]
        r = [row3[:3] for row3 in w2c]
        ortho = max(abs(sum(r[a][k] * r[b][k] for k in range(3)) - (a == b)) for a in range(3) for b in range(3))
        cams.append({"fx": fx, "fy": fy, "ortho": ortho})
    rows.append({"id": row["id"], "text": row["text"], "frames_col": row["frames"], "decoded": frames,
                 "video": path, "cameras": len(cams), "max_ortho": max(c["ortho"] for c in cams)})
print(json.dumps({"num_rows": d.num_rows, "columns": d.column_names, "rows": rows}))
"""


def main():
    probe = subprocess.run([python, "-c", "import datasets, av"], capture_output=True, text=True) \
        if os.path.exists(python) else None
    if probe is None or probe.returncode != 0:
        print(f"SKIP: no Python environment with datasets and av at {venv} (app/report/tests/hf_venv.sh makes it "
              f"from PyPI; it could not): {probe.stderr[-300:] if probe else 'no interpreter'}")
        return 77
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from tiny_dataset import Checks, make_dataset
    check = Checks()

    with tempfile.TemporaryDirectory() as root:
        items = [("a", "a hall, camera pans left", "pan", True), ("b", "a yard, camera orbits left", "orbit", True),
                 ("c", "a street, camera trucks left", "truck", True)]
        ds = make_dataset(root, source, items)
        r = subprocess.run([cli, "dataset", "report", ds, "--no-html", "--license", "cc-by-4.0"],
                           capture_output=True, text=True)
        print(r.stdout, r.stderr)
        check(r.returncode == 0, f"the report finds no problem (rc {r.returncode})")
        check(os.path.isfile(os.path.join(ds, "README.md")), "the card is written")
        env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
                   HF_HOME=os.path.join(root, "hf-home"))
        r = subprocess.run([python, "-c", LOADER, ds], capture_output=True, text=True, env=env, timeout=600)
        check(r.returncode == 0, f"load_dataset reads the folder: {r.stderr[-3000:]}")
        if r.returncode == 0:
            got = json.loads(r.stdout.strip().splitlines()[-1])
            print(json.dumps(got, indent=1))
            check(got["num_rows"] == 3, f"one row per item: {got['num_rows']}")
            for col in ("video", "text", "motion", "poses", "cameras", "frames", "fps"):
                check(col in got["columns"], f"column {col} present")
            for row in got["rows"]:
                check(os.path.basename(row["video"]) == row["id"] + ".mp4", f"{row['id']}: its own video")
                check(row["decoded"] == row["frames_col"] == 5, f"{row['id']}: PyAV decodes {row['decoded']} frames")
                check(row["cameras"] == 5 and row["max_ortho"] < 1e-9, f"{row['id']}: CameraCtrl reads 5 poses")
    return check.exit_code()


sys.exit(main())
