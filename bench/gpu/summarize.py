#!/usr/bin/env python3
"""Prints bench/gpu/check.sh's ONE table (markdown) from the step results in its folder.

   python3 bench/gpu/summarize.py build-gpu/check

Each step of check.sh leaves a small JSON file (and logs) there; a missing file means the step did
not run, and the row says so. Standard library only (the GPU machine has no network).
"""
import glob
import json
import os
import sys

# Published anchors (not re-run): gsplat, Mip-NeRF 360, 30k steps on an A100: 19.4 min with ~3 M
# Gaussians (default strategy), 15.4 min with MCMC at 1 M. Mean image size assumed 1.3 MP (outdoor
# scenes at 1/4 resolution, ~1.0 MP; indoor at 1/2, ~1.6 MP).
GSPLAT_S_PER_STEP, GSPLAT_GAUSSIANS = 19.4 * 60 / 30000, 3.0e6
GSPLAT_MCMC_S_PER_STEP, GSPLAT_MCMC_GAUSSIANS = 15.4 * 60 / 30000, 1.0e6
GSPLAT_PIXELS = 1.3e6
RENDER_FPS_GOAL = 200.0


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def events(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
    except OSError:
        pass
    return out


def num(x, fmt="{:.3f}"):
    try:
        return fmt.format(float(x))
    except (TypeError, ValueError):
        return "n/a"


def mem(*values):
    """The largest of the memory readings given (MiB), as text."""
    vals = []
    for v in values:
        try:
            if float(v) >= 0:
                vals.append(float(v))
        except (TypeError, ValueError):
            pass
    return "{:.0f} MiB".format(max(vals)) if vals else "n/a"


def node_seconds(evs):
    return {e.get("node"): e.get("seconds") for e in evs if e.get("event") == "node_done"}


def node_devices(evs):
    """Per node: whatever device / transfer fields its events report (empty when none do)."""
    out = {}
    for e in evs:
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        node = e.get("node")
        if not node:
            continue
        keys = {k: v for k, v in data.items() if "device" in k or "bytes" in k or "transfer" in k}
        if keys:
            out.setdefault(node, {}).update(keys)
    return out


def run_failed(e):
    return [x.get("node", "") + ": " + x.get("message", "") for x in e if x.get("event") == "node_failed"]


def why_failed(res, name, evs):
    """The failed nodes' messages, else the CLI's first error line."""
    msgs = run_failed(evs)
    if not msgs:
        try:
            with open(os.path.join(res, name + ".stderr")) as f:
                msgs = [line.strip() for line in f if line.startswith("error")][:1]
        except OSError:
            pass
    return "; ".join(msgs)[:240]


def main(res):
    rows = []

    def row(what, result, memory="", note=""):
        rows.append("| {} | {} | {} | {} |".format(what, result, memory, note))

    machine = load(os.path.join(res, "machine.json")) or {}
    build = load(os.path.join(res, "build.json")) or {}
    row("machine", machine.get("gpu", "n/a"), "", "torch {}; CUDA archs {}".format(machine.get("torch"), machine.get("archs")))
    row("build (GPU subset)", "ok" if build.get("ok") == "1" else "FAILED" if build else "not run", "",
        "{} s".format(build.get("seconds", "?")))

    # Tests: one row per test binary.
    for path in sorted(glob.glob(os.path.join(res, "test-*.json"))):
        t = load(path) or {}
        name = os.path.basename(path)[5:-5]
        passed, failed, skipped = 0, [], 0
        for suite in t.get("testsuites", []):
            for case in suite.get("testsuite", []):
                if case.get("failures"):
                    failed.append(suite.get("name", "") + "." + case.get("name", ""))
                elif case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                    skipped += 1
                else:
                    passed += 1
        status = "{} passed, {} failed, {} skipped".format(passed, len(failed), skipped)
        row("CUDA tests: " + name, status, "", ", ".join(failed[:8]) + (" ..." if len(failed) > 8 else ""))
    for path in sorted(glob.glob(os.path.join(res, "test-*.log"))):
        if not os.path.exists(path[:-4] + ".json"):
            row("CUDA tests: " + os.path.basename(path)[5:-4], "CRASHED or timed out", "", "see " + path)

    r = load(os.path.join(res, "raster.json"))
    if r and r.get("status") == "ok":
        size = "{}x{}, {:,} Gaussians ({:,} visible)".format(r["width"], r["height"], r["gaussians"], r["visible"])
        row("rasterizer forward+backward", num(r["fwd_bwd_ms"], "{:.2f} ms"), mem(r.get("mem_fwd_bwd_mib"), r.get("smi_peak_mib")), size)
        fps = float(r["render_fps"])
        row("render (forward, no grad)", "{:.1f} fps ({:.2f} ms)".format(fps, float(r["render_ms"])),
            mem(r.get("mem_render_mib")), "goal > {:.0f} fps: {}".format(RENDER_FPS_GOAL, "met" if fps > RENDER_FPS_GOAL else "NOT met"))
    else:
        row("rasterizer benchmarks", "not run" if r is None else r.get("status", "failed"), "", "see raster.log")

    for name, label in (("train-1080p", "training 1920x1080, steps 1-1000"), ("train-1080p-1M", "training 1920x1080, 1 M Gaussians (200 steps)")):
        j = load(os.path.join(res, name + ".json"))
        if not j:
            row(label, "not run")
            continue
        ev = events(os.path.join(res, name + ".events.jsonl"))
        m = load(os.path.join(res, name + ".metrics.json")) or {}
        secs = node_seconds(ev)
        steps = m.get("steps") or 0
        if j.get("rc") != "0" or not steps:
            row(label, "FAILED (rc {})".format(j.get("rc")), mem(j.get("smi_peak_mib")), why_failed(res, name, ev))
            continue
        per_step = float(secs.get("train", 0)) / steps
        curve = m.get("curve") or [{}]
        g_end = int(m.get("gaussians") or 0)
        g_mean = sum(p.get("gaussians", 0) for p in curve) / max(1, len(curve))
        px = 1920 * 1080
        if name.endswith("1M"):
            goal = GSPLAT_MCMC_S_PER_STEP * (g_mean / GSPLAT_MCMC_GAUSSIANS) * (px / GSPLAT_PIXELS)
            anchor = "gsplat MCMC 1 M scaled"
        else:
            goal = GSPLAT_S_PER_STEP * (g_mean / GSPLAT_GAUSSIANS) * (px / GSPLAT_PIXELS)
            anchor = "gsplat scaled"
        row(label, "{:.4f} s/step (last: {} s/step)".format(per_step, num(m.get("seconds_per_step"), "{:.4f}")),
            mem(j.get("smi_peak_mib")),
            "{:,} Gaussians at the end (mean {:,.0f}); {} {:.4f} s/step: {}; courtyard views {} s".format(
                g_end, g_mean, anchor, goal, "met" if per_step <= goal else "NOT met", num(secs.get("courtyard"), "{:.1f}")))

    gc, gp = load(os.path.join(res, "graph-cuda.json")), load(os.path.join(res, "graph-cpu.json"))
    if gc:
        evc = events(os.path.join(res, "graph-cuda.events.jsonl"))
        evp = events(os.path.join(res, "graph-cpu.events.jsonl")) if gp else []
        sc, sp = node_seconds(evc), node_seconds(evp)
        cpu = "{} s".format(gp["seconds"]) if gp and gp.get("rc") == "0" else ("timed out after {} s".format(gp.get("limit")) if gp else "not run")
        nodes = ", ".join("{} {}{}".format(n, num(sc.get(n), "{:.1f}"), "/" + num(sp.get(n), "{:.1f}") if sp else "")
                          for n in ("courtyard", "train", "place", "path", "render") if n in sc)
        status = "{} s".format(gc["seconds"]) if gc.get("rc") == "0" else "FAILED (rc {})".format(gc.get("rc"))
        row("graph gpu-check.cgraph end to end, --device cuda (CPU beside)", "{} (CPU: {})".format(status, cpu),
            mem(gc.get("smi_peak_mib")), "node s cuda/cpu: " + nodes + ("; " + why_failed(res, "graph-cuda", evc) if gc.get("rc") != "0" else ""))
        dev = node_devices(evc)
        row("graph: devices and host<->device bytes per node (events)",
            "; ".join("{}: {}".format(n, json.dumps(v, sort_keys=True)) for n, v in sorted(dev.items())) or "not reported by the events", "", "")
    else:
        row("graph gpu-check.cgraph", "not run")

    total = load(os.path.join(res, "total.json")) or {}
    row("whole check", "{} s".format(total.get("seconds", "?")), "", "budget {} s".format(total.get("budget", "?")))
    print("## GPU check: {}\n".format(machine.get("gpu", "no GPU")))
    print("| what | result | peak GPU memory | notes |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print("\nPeak GPU memory: the device's used memory (nvidia-smi, polled every 100 ms; bench_raster_gpu: "
          "cudaMemGetInfo after each phase), CUDA context and torch's cached blocks included.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build-gpu/check")
