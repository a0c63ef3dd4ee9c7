#!/usr/bin/env python3
"""Kill test (docs/reliability.md, "Batches"): a real sweep of the demo graph (courtyard -> splat
training -> render -> interpolation -> H.264 -> QC -> dataset item), made small enough for CI, run
with `camgraph-cli batch --events json`. At chosen phases, recognised from that event stream
(a child starting, training, encoding, writing the dataset item and its metadata line, between
items, the final metadata merge), the runner and every process under it are stopped and SIGKILLed
(the runner's process group and each child's own group), and the batch is started again. After
--kills kills the batch is run to its end and checked:

  * every item is present exactly once in dataset/metadata.jsonl, and no metadata.d shard is left;
  * every video (the clip and the dataset's copy) decodes (ffprobe) to the item's frame count;
  * every pose file is complete (the id line, then one line of 19 numbers per frame), every camera
    file parses and has one entry per frame, every caption is there;
  * the batch manifest has every item done, with its outputs recorded;
  * no temporary file (".<name>.tmp-...") is left anywhere under the output folder.

Prints one JSON line with kills survived, the phases they hit, items lost and duplicated, and the
seconds taken. Exit 0 on success, 1 on a failed check, 77 (skip) when this build cannot run the
demo graph (no dataset family / FFmpeg).
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# The demo graph made small: 8 items over 4 trained scenes (seeds) x 2 camera moves. Items of one
# scene share its splat through the batch's cache, so a kill during training loses one training.
SETTINGS = {
    "courtyard.views": 6, "courtyard.rings": 1, "courtyard.width": 32, "courtyard.height": 24,
    "courtyard.samples": 1,
    "train.steps": 40, "train.random_points": 800, "train.sh_degree": 0, "train.refine_start": 10,
    "train.refine_every": 10, "train.refine_stop": 30, "train.max_gaussians": 2000,
    "train.holdout_every": 0,
    "path.frames": 5, "path.width": 48, "path.height": 36,
}
VARY = [
    {"param": "train.seed", "values": [1, 2, 3, 4]},
    {"values": [{"path.motion": "orbit", "path.direction": "left"},
                {"path.motion": "dolly", "path.direction": "in"}]},
]
PER_ITEM = {
    "encode.path": "clips/{id}.mp4",
    "annotate.folder": "dataset",
    "annotate.item_id": "{id}",
    "save_ply.path": "scenes/{id}.ply",
    "save_metrics.path": "scenes/{id}-metrics.json",
}

# A phase: (name, predicate over an event, longest random delay before the kill in seconds).
PHASES = [
    ("training", lambda e: e.get("node") == "train" and e["event"] in ("node_started", "progress"), 0.3),
    ("encoding", lambda e: e.get("node") == "encode" and e["event"] == "node_started", 0.05),
    ("metadata", lambda e: e.get("node") == "annotate" and e["event"] == "node_started", 0.02),
    ("rendering", lambda e: e.get("node") in ("render", "interp") and e["event"] == "node_started", 0.2),
    # The item's line is in its shard, the runner has not recorded the item done yet.
    ("after_metadata", lambda e: e.get("node") == "annotate" and e["event"] == "node_done", 0.0),
    ("between_items", lambda e: e["event"] == "item_done", 0.0),
    ("child_start", lambda e: e["event"] == "item_started", 0.0),
    ("index", lambda e: e["event"] == "index_started", 0.08),
]
TEMP_RE = re.compile(r"^\..+\.tmp-\d+-")


def descendants(root):
    """Process ids under `root` (children, grandchildren...), from /proc."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                text = f.read()
            parent[int(d)] = int(text[text.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            pass
    out, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        frontier += kids
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def kill_all(runner, child_groups):
    """SIGSTOP the runner (it starts nothing more), then SIGKILL it, its group, every child's group
    and every process under it; wait until none is left."""
    try:
        os.kill(runner.pid, signal.SIGSTOP)
    except ProcessLookupError:
        pass
    procs = descendants(runner.pid)
    for g in [runner.pid] + list(child_groups):
        try:
            os.killpg(g, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in procs + [runner.pid]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    runner.wait()
    deadline = time.time() + 10
    while any(alive(p) for p in procs) and time.time() < deadline:
        time.sleep(0.02)
    left = [p for p in procs if alive(p)]
    if left:
        raise RuntimeError(f"processes {left} survived SIGKILL")


def start_batch(args, sweep, out, log):
    cmd = [args.cli, "batch", sweep, "--out", out, "--jobs", "1", "--device", "cpu", "--events", "json"]
    env = dict(os.environ)
    if args.io_pause_ms:
        # Every fsync and rename of the durable writer pauses a little (a test hook, see
        # set_io_faults): the kills land inside commits more often.
        env["CAMGRAPH_FAULT"] = f"fsync:sleep{args.io_pause_ms},rename:sleep{args.io_pause_ms}"
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True, env=env)


def events_of(proc):
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                pass


def run_until_phase(args, sweep, out, log, phase, rng):
    """Runs the batch until `phase` happens and kills it there. Returns the phase hit, or None when
    the batch ended first (its batch_done event)."""
    name, pred, delay = phase
    proc = start_batch(args, sweep, out, log)
    groups = set()
    for e in events_of(proc):
        if e["event"] == "item_started":
            groups.add(e["pgid"])
        if pred(e):
            if delay:
                time.sleep(rng.uniform(0, delay))
            kill_all(proc, groups)
            return name
        if e["event"] == "batch_done":
            break
    proc.wait()
    return None


def ffprobe_frames(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                        "stream=nb_read_frames", "-of", "default=nokey=1:noprint_wrappers=1", path],
                       capture_output=True, text=True, timeout=60)
    try:
        return int(r.stdout.strip().splitlines()[0]) if r.returncode == 0 else -1
    except (ValueError, IndexError):
        return -1


def check(out, items, problems, cli):
    """The end state; appends every problem found. Returns (lost, duplicated) item counts."""
    ds = os.path.join(out, "dataset")
    lines = []
    with open(os.path.join(ds, "metadata.jsonl")) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    problems.append(f"metadata.jsonl line {n} is not JSON: {line[:80]!r}")
    ids = [l.get("id") for l in lines]
    lost = [i for i in items if ids.count(i) == 0]
    dup = [i for i in items if ids.count(i) > 1]
    extra = [i for i in ids if i not in items]
    for i in lost:
        problems.append(f"item {i} is missing from metadata.jsonl")
    for i in dup:
        problems.append(f"item {i} is {ids.count(i)} times in metadata.jsonl")
    for i in extra:
        problems.append(f"metadata.jsonl names an unknown item {i}")
    shards = os.path.join(ds, "metadata.d")
    if os.path.isdir(shards) and os.listdir(shards):
        problems.append(f"metadata shards left after the final merge: {os.listdir(shards)}")
    have_ffprobe = shutil.which("ffprobe") is not None
    for line in lines:
        i, frames = line.get("id"), line.get("frames")
        for video in (os.path.join(ds, line["file_name"]), os.path.join(out, "clips", f"{i}.mp4")):
            if not os.path.isfile(video):
                problems.append(f"{video} is missing")
            elif have_ffprobe and ffprobe_frames(video) != frames:
                problems.append(f"{video} decodes to {ffprobe_frames(video)} frame(s), {frames} expected")
        poses = os.path.join(ds, line["poses"])
        with open(poses) as f:
            rows = f.read().split("\n")
        if rows[0] != i or rows[-1] != "" or len(rows) != frames + 2 or \
                any(len(r.split()) != 19 for r in rows[1:-1]):
            problems.append(f"{poses} is incomplete ({len(rows) - 2} pose line(s), {frames} expected)")
        with open(os.path.join(ds, line["cameras"])) as f:
            if len(json.load(f)["frames"]) != frames:
                problems.append(f"{line['cameras']} has the wrong number of frames")
        if not os.path.isfile(os.path.join(ds, "videos", f"{i}.txt")):
            problems.append(f"caption videos/{i}.txt is missing")
    # The run's final merge wrote the dataset card, and the dataset report finds nothing wrong.
    if not os.path.isfile(os.path.join(ds, "README.md")):
        problems.append("the dataset card README.md is missing")
    r = subprocess.run([cli, "dataset", "report", ds, "--no-html", "--no-card", "--json"], capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        problems.append(f"dataset report exits {r.returncode}: {r.stdout[-1500:]} {r.stderr[-500:]}")
    for root, _dirs, files in os.walk(out):
        for name in files:
            if TEMP_RE.match(name):
                problems.append(f"temporary file left: {os.path.join(root, name)}")
    return len(lost), len(dup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--source", required=True, help="the source tree (examples-graphs/demo.cgraph)")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--io-pause-ms", type=int, default=10, help="pause of every fsync and rename while killing")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    t0 = time.time()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="camgraph-kill-")
    sweep = os.path.join(work, "sweep.json")
    with open(sweep, "w") as f:
        json.dump({"format": "camgraph-sweep", "version": 1, "name": "kill",
                   "graph": os.path.join(args.source, "examples-graphs", "demo.cgraph"),
                   "set": SETTINGS, "vary": VARY, "per_item": PER_ITEM}, f, indent=1)
    out = os.path.join(work, "out")
    dry = subprocess.run([args.cli, "batch", sweep, "--out", out, "--dry-run", "--json"], capture_output=True,
                         text=True)
    if dry.returncode != 0:
        print(f"SKIP: this build cannot run the demo graph: {dry.stderr.strip()[:300]}")
        return 77
    items = [it["id"] for it in json.loads(dry.stdout)["items"]]

    log = open(os.path.join(work, "runner.log"), "w")
    kills, hits, runs = 0, {}, 0
    # Phases in a fixed rotation; a phase the run does not reach (a cached scene trains nothing, an
    # ended batch has no items left) is skipped for that round.
    order = [p for p in PHASES if p[0] != "index"]
    k = 0
    while kills < args.kills and runs < args.kills * 3:
        done_all = False
        phase = order[k % len(order)]
        k += 1
        runs += 1
        hit = run_until_phase(args, sweep, out, log, phase, rng)
        if hit is None:
            # The batch finished: what is left to kill is its final merge (and start-up).
            hit = run_until_phase(args, sweep, out, log, PHASES[-1], rng)
            done_all = True
        if hit:
            kills += 1
            hits[hit] = hits.get(hit, 0) + 1
        elif done_all:
            break
    # The final merge of the metadata shards is a phase of its own: kill there twice if the
    # rotation did not (the items may all be done by now; the merge runs at the end of every run).
    while hits.get("index", 0) < 2 and runs < args.kills * 3:
        runs += 1
        if run_until_phase(args, sweep, out, log, PHASES[-1], rng):
            kills += 1
            hits["index"] = hits.get("index", 0) + 1
    # The last run: to the end, no kill.
    final = subprocess.run([args.cli, "batch", sweep, "--out", out, "--jobs", "1", "--device", "cpu", "--events",
                            "json"], capture_output=True, text=True)
    log.write(final.stderr)
    log.close()
    problems = []
    if final.returncode != 0:
        problems.append(f"the final run ended with {final.returncode}: {final.stderr[-2000:]}")
    done_event = [json.loads(l) for l in final.stdout.splitlines() if '"batch_done"' in l]
    lost = dup = len(items)
    try:
        lost, dup = check(out, items, problems, args.cli)
    except (OSError, ValueError, KeyError) as e:
        problems.append(f"checking the output failed: {e!r}")
    with open(os.path.join(out, ".camgraph-batch", "kill", "manifest.json")) as f:
        manifest = json.load(f)
    for i in items:
        rec = manifest["items"].get(i, {})
        if rec.get("state") != "done" or not rec.get("outputs"):
            problems.append(f"manifest: item {i} is {rec.get('state')} with {len(rec.get('outputs', []))} output(s)")
    report = {"kills": kills, "phases": hits, "items": len(items), "lost": lost, "duplicated": dup,
              "runs": runs + 1, "seconds": round(time.time() - t0, 1),
              "videos_decoded": "ffprobe" if shutil.which("ffprobe") else "no (ffprobe not installed)",
              "final": done_event[0] if done_event else None, "work": work}
    print(json.dumps(report))
    for p in problems:
        print("FAIL:", p)
    if kills < args.kills:
        print(f"FAIL: only {kills} kill(s) landed, {args.kills} wanted")
        problems.append("too few kills")
    if not problems and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
