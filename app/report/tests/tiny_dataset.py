"""A small dataset folder for the report's script tests: the committed 5-frame seed clip (32x24,
8 fps) as every item's video, with RealEstate10K poses, cameras and a metadata line per item."""
import json, os, shutil


def pose_lines(item, frames):
    lines = [item]
    for i in range(frames):
        lines.append(f"{i * 125000} 0.9 1.2 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 2")
    return "\n".join(lines) + "\n"


def make_dataset(root, source, items):
    """items: (id, caption, motion type, write the poses file). Returns the dataset folder."""
    seed = os.path.join(source, "tests/fuzz/corpus/video/h264_5frames.mp4")
    ds = os.path.join(root, "dataset")
    for sub in ("videos", "poses", "cameras"):
        os.makedirs(os.path.join(ds, sub))
    lines = []
    for item, caption, move, poses in items:
        shutil.copy(seed, os.path.join(ds, "videos", item + ".mp4"))
        if poses:
            open(os.path.join(ds, "poses", item + ".txt"), "w").write(pose_lines(item, 5))
        json.dump({"frames": [{}] * 5}, open(os.path.join(ds, "cameras", item + ".json"), "w"))
        passed = poses and "tilts" not in caption
        lines.append(json.dumps({"file_name": f"videos/{item}.mp4", "id": item, "text": caption,
                                 "motion": [{"type": move, "direction": "left", "frames": [0, 4]}],
                                 "width": 32, "height": 24, "fps": 8, "frames": 5,
                                 "poses": f"poses/{item}.txt", "cameras": f"cameras/{item}.json",
                                 "qc": {"pass": passed, "reprojection": {"mean_error": 1.0}},
                                 "qc_pass": passed}))
    open(os.path.join(ds, "metadata.jsonl"), "w").write("\n".join(lines) + "\n")
    return ds


class Checks:
    """Collects failed checks, printing each as it happens."""

    def __init__(self):
        self.failures = []

    def __call__(self, ok, what):
        if not ok:
            self.failures.append(what)
            print("FAILED:", what)

    def exit_code(self):
        if self.failures:
            print(f"{len(self.failures)} check(s) failed")
            return 1
        print("ok")
        return 0
