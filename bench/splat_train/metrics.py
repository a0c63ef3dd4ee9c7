#!/usr/bin/env python3
"""Helpers for run.sh (a benchmark tool, not an application dependency).

  metrics.py stamp [--cpu-of BIN]       prefix each stdin line with a monotonic time (seconds) and,
                                        with --cpu-of, the CPU seconds (user + system) used so far by
                                        the running process whose executable is BIN
  metrics.py steps LOG                  s/step (and CPU s/step) of a stamped OpenSplat log
  metrics.py pair RENDER GT [BORDER]    PSNR/SSIM of two image files (PNG/PPM)
  metrics.py opensplat --transforms T --image NAME --downscale D --factor F --render PNG
                                        PSNR/SSIM of OpenSplat's --val-render output against the
                                        ground truth OpenSplat itself trains on: the image resized
                                        by 1/D (INTER_AREA), undistorted with
                                        getOptimalNewCameraMatrix(alpha 0) and cropped to its ROI,
                                        then resized by 1/F (INTER_AREA), as in OpenSplat 1.1.5.
Each command prints one JSON object. Needs numpy and Pillow; `opensplat` also needs cv2
(pip install numpy pillow opencv-python-headless; OpenSplat links OpenCV 4.6 here, so
opencv-python-headless==4.6.0.66 with numpy<2 reproduces its undistortion crop exactly).

PSNR and SSIM follow CamGraph's splat/train/loss.h: images in [0, 1], PSNR over all channels,
SSIM with an 11x11 Gaussian window (sigma 1.5), zero padding, C1 = 0.01^2, C2 = 0.03^2, mean over
pixels and channels. Every metric is also given without a BORDER-pixel frame (default 1):
CamGraph's loader undistorts without cropping, so its ground truth keeps the black fill of the
undistortion at the image edges, which no model reproduces on a held-out view.
"""
import json
import re
import sys
import time

np = None  # numpy, imported after `stamp` (which must start fast) has been ruled out


def load(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0


def psnr(a, b):
    mse = float(np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def _blur(x, w):
    # separable 'same' convolution with zero padding, per channel; x [H, W, C]
    r = len(w) // 2
    p = np.pad(x, ((r, r), (0, 0), (0, 0)))
    y = sum(w[i] * p[i:i + x.shape[0]] for i in range(len(w)))
    p = np.pad(y, ((0, 0), (r, r), (0, 0)))
    return sum(w[i] * p[:, i:i + x.shape[1]] for i in range(len(w)))


def ssim(a, b, size=11, sigma=1.5):
    g = np.exp(-((np.arange(size) - size // 2) ** 2) / (2 * sigma * sigma))
    g /= g.sum()
    mu_a, mu_b = _blur(a, g), _blur(b, g)
    saa = _blur(a * a, g) - mu_a ** 2
    sbb = _blur(b * b, g) - mu_b ** 2
    sab = _blur(a * b, g) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return float(m.mean())


def metrics(render, gt, border=1):
    """psnr/ssim over all pixels, and psnr_inner/ssim_inner without a `border`-pixel frame."""
    if render.shape != gt.shape:
        raise SystemExit(f"size mismatch: render {render.shape[1]}x{render.shape[0]}, "
                         f"ground truth {gt.shape[1]}x{gt.shape[0]}")
    out = {"psnr": psnr(render, gt), "ssim": ssim(render, gt), "res": f"{gt.shape[1]}x{gt.shape[0]}"}
    if border > 0:
        r, g = render[border:-border, border:-border], gt[border:-border, border:-border]
        out.update({"border": border, "psnr_inner": psnr(r, g), "ssim_inner": ssim(r, g)})
    return out


def opensplat_gt(transforms, image, downscale, factor):
    import os
    import cv2
    with open(transforms) as f:
        t = json.load(f)
    frame = next((fr for fr in t["frames"] if os.path.basename(fr["file_path"]) == image), None)
    if frame is None:
        raise SystemExit(f"{image} not in {transforms}")

    def par(k, default=0.0):
        return float(frame.get(k, t.get(k, default)))

    path = os.path.join(os.path.dirname(transforms), frame["file_path"])
    img = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    f32 = np.float32
    fx, fy, cx, cy = f32(par("fl_x")), f32(par("fl_y")), f32(par("cx")), f32(par("cy"))
    h = int(par("h"))
    if img.shape[0] != h:  # intrinsics for another size: rescale (as OpenSplat)
        s = f32(img.shape[0]) / f32(h)
        fx, fy, cx, cy = fx * s, fy * s, cx * s, cy * s
    if downscale > 1:
        s = f32(1.0) / f32(downscale)
        img = cv2.resize(img, None, fx=float(s), fy=float(s), interpolation=cv2.INTER_AREA)
        fx, fy, cx, cy = fx * s, fy * s, cx * s, cy * s
    K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float32)
    D = np.array([par("k1"), par("k2"), par("p1"), par("p2"), par("k3"), 0, 0, 0], dtype=np.float32)
    if np.any(D != 0):
        newK, roi = cv2.getOptimalNewCameraMatrix(K, D, (img.shape[1], img.shape[0]), 0)
        und = cv2.undistort(img, K, D, None, newK)
        x, y, w, hh = roi
        und = und[y:y + hh, x:x + w]
    else:
        und = img
    if factor > 1:
        # OpenSplat: float image -> (t * 255) truncated to uint8 -> INTER_AREA resize
        t8 = ((und.astype(np.float32) / f32(255.0)) * f32(255.0)).astype(np.uint8)
        und = cv2.resize(t8, (t8.shape[1] // factor, t8.shape[0] // factor), interpolation=cv2.INTER_AREA)
    return und.astype(np.float64) / 255.0


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd = argv[0]
    if cmd == "stamp":
        import os
        exe = os.path.realpath(argv[2]) if len(argv) > 2 and argv[1] == "--cpu-of" else None
        pid, tick = None, os.sysconf("SC_CLK_TCK")

        def cpu():
            nonlocal pid
            if exe is None:
                return None
            if pid is None:
                for p in os.listdir("/proc"):
                    try:
                        if p.isdigit() and os.path.realpath(f"/proc/{p}/exe") == exe:
                            pid = p
                            break
                    except OSError:
                        pass
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            except (OSError, TypeError, IndexError, ValueError):
                return None

        t0 = time.monotonic()
        for line in iter(sys.stdin.readline, ""):  # line by line, as each arrives
            c = cpu()
            sys.stdout.write(f"{time.monotonic() - t0:.4f} {'-' if c is None else f'{c:.2f}'} {line}"
                             if exe else f"{time.monotonic() - t0:.4f} {line}")
            sys.stdout.flush()
        return
    global np
    import numpy as np
    if cmd == "steps":
        pat = re.compile(r"^(\S+) (?:(\S+) )?Step (\d+):")
        st, cp = {}, {}
        with open(argv[1]) as f:
            for line in f:
                m = pat.match(line)
                if m:
                    st[int(m.group(3))] = float(m.group(1))
                    if m.group(2) and m.group(2) != "-":
                        cp[int(m.group(3))] = float(m.group(2))
        if len(st) < 2:
            raise SystemExit("no step lines in " + argv[1])
        first, last = min(st), max(st)
        per = (st[last] - st[first]) / (last - first)
        k = max(first, last - 100)
        out = {"first_step": first, "last_step": last, "s_per_step": per,
               "s_per_step_last100": (st[last] - st[k]) / (last - k),
               "train_wall_s": per * (last - first + 1)}
        if first in cp and last in cp:
            out["cpu_s_per_step"] = (cp[last] - cp[first]) / (last - first)
        print(json.dumps(out))
        return
    if cmd == "pair":
        border = int(argv[3]) if len(argv) > 3 else 1
        print(json.dumps(metrics(load(argv[1]), load(argv[2]), border)))
        return
    if cmd == "opensplat":
        import argparse
        ap = argparse.ArgumentParser(prog="metrics.py opensplat")
        ap.add_argument("--transforms", required=True)
        ap.add_argument("--image", required=True)
        ap.add_argument("--downscale", type=int, default=1)
        ap.add_argument("--factor", type=int, default=1)
        ap.add_argument("--render", required=True)
        ap.add_argument("--save-gt")
        ap.add_argument("--border", type=int, default=1)
        a = ap.parse_args(argv[1:])
        gt = opensplat_gt(a.transforms, a.image, a.downscale, a.factor)
        if a.save_gt:
            from PIL import Image
            Image.fromarray(np.round(gt * 255).astype(np.uint8)).save(a.save_gt)
        print(json.dumps(metrics(load(a.render), gt, a.border)))
        return
    raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
