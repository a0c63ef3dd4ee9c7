#!/usr/bin/env python3
"""Writes tiny_model.onnx, tiny_expected.json and layernorm_opset17.onnx for the matting tests.

The model stands in for rembg's U-2-Net files: input [1, 3, H, W]; two outputs, the first
("d0", a conv-relu-conv-sigmoid map) is the one rembg reads; the second ("d1") is computed after
it, so a runtime that returned the last layer instead of the first output would be caught.
The expected numbers are computed here with numpy, independently of OpenCV:
  image (formula below, 16 x 24) -> area resize to 8 x 8 (exact 2x3 box means) -> divide by
  the resized image's max -> (x - mean) / std -> model -> channel 0 -> min-max normalise
  -> bilinear resize back to 16 x 24 (half-pixel centres, edge clamped, like cv::INTER_LINEAR).
Run: pip install onnx numpy; python3 make_tiny_model.py   (writes next to this script)
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

H, W, S = 16, 24, 8
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def test_image():
    """[H, W, 3] in [0, 0.8]; the C++ test builds the same image."""
    img = np.zeros((H, W, 3))
    for y in range(H):
        for x in range(W):
            img[y, x, 0] = ((x * 37 + y * 11) % 64) / 63 * 0.8
            img[y, x, 1] = ((x * 5 + y * 23) % 50) / 49 * 0.8
            img[y, x, 2] = ((x * x + y) % 31) / 30 * 0.8
    return img.astype(np.float32).astype(np.float64)


def conv2d(x, w, b, pad):
    """x [C, H, W], w [O, C, k, k] -> [O, H, W] (stride 1)."""
    c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((o, h + 2 * pad - k + 1, wd + 2 * pad - k + 1))
    for oc in range(o):
        for i in range(k):
            for j in range(k):
                out[oc] += np.tensordot(w[oc, :, i, j], xp[:, i:i + out.shape[1], j:j + out.shape[2]], axes=1)
        out[oc] += b[oc]
    return out


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def bilinear(src, oh, ow):
    """cv::resize INTER_LINEAR for float images (half-pixel centres, clamped)."""
    ih, iw = src.shape

    def taps(n_out, n_in):
        scale = n_in / n_out
        res = []
        for d in range(n_out):
            f = (d + 0.5) * scale - 0.5
            i = int(np.floor(f))
            f -= i
            if i < 0:
                i, f = 0, 0.0
            if i >= n_in - 1:
                i, f = n_in - 1, 0.0
            res.append((i, min(i + 1, n_in - 1), f))
        return res

    ty, tx = taps(oh, ih), taps(ow, iw)
    out = np.zeros((oh, ow))
    for y, (y0, y1, fy) in enumerate(ty):
        for x, (x0, x1, fx) in enumerate(tx):
            out[y, x] = ((1 - fy) * ((1 - fx) * src[y0, x0] + fx * src[y0, x1]) +
                         fy * ((1 - fx) * src[y1, x0] + fx * src[y1, x1]))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = np.random.RandomState(8)
    w1 = rng.uniform(-0.3, 0.4, (2, 3, 3, 3)).astype(np.float32)
    b1 = np.array([0.2, -0.1], np.float32)
    w2 = np.array([[[[1.5]], [[-1.2]]]], np.float32)
    b2 = np.array([0.2], np.float32)
    w3 = rng.uniform(-1, 1, (1, 3, 1, 1)).astype(np.float32)
    b3 = np.array([0.0], np.float32)

    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (w3, "w3"), (b3, "b3")]]
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[1, 1]),
        helper.make_node("Sigmoid", ["c2"], ["d0"]),
        helper.make_node("Conv", ["input", "w3", "b3"], ["c3"], kernel_shape=[1, 1]),
        helper.make_node("Sigmoid", ["c3"], ["d1"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_rembg",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, S, S])],
        [helper.make_tensor_value_info("d0", TensorProto.FLOAT, [1, 1, S, S]),
         helper.make_tensor_value_info("d1", TensorProto.FLOAT, [1, 1, S, S])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], producer_name="camgraph-golden")
    model.ir_version = 6
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(here, "tiny_model.onnx"))

    # A model OpenCV 4.6 cannot run (LayerNormalization, opset 17, as in BiRefNet).
    ln = helper.make_graph(
        [helper.make_node("LayerNormalization", ["input", "scale", "bias"], ["out"], axis=-1)], "layernorm",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, S, S])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, S, S])],
        [numpy_helper.from_array(np.ones(S, np.float32), "scale"), numpy_helper.from_array(np.zeros(S, np.float32), "bias")])
    ln_model = helper.make_model(ln, opset_imports=[helper.make_opsetid("", 17)], producer_name="camgraph-golden")
    ln_model.ir_version = 8
    onnx.checker.check_model(ln_model)
    onnx.save(ln_model, os.path.join(here, "layernorm_opset17.onnx"))

    # Expected output, numpy only.
    img = test_image()
    small = img.reshape(S, H // S, S, W // S, 3).mean(axis=(1, 3))  # area resize, integer factors
    x = small / max(small.max(), 1e-6)
    x = ((x - MEAN) / STD).transpose(2, 0, 1)  # [3, S, S]
    d0 = sigmoid(conv2d(np.maximum(conv2d(x, w1.astype(np.float64), b1, 1), 0), w2.astype(np.float64), b2, 0))[0]
    raw = (d0 - d0.min()) / (d0.max() - d0.min())
    full = bilinear(raw, H, W)
    expected = {
        "image": {"height": H, "width": W, "formula": "see test_image() in make_tiny_model.py"},
        "model": {"size": S, "mean": MEAN.tolist(), "std": STD.tolist(), "first_output": "d0"},
        "raw": raw.round(7).tolist(),
        "full": full.round(7).tolist(),
    }
    with open(os.path.join(here, "tiny_expected.json"), "w") as f:
        json.dump(expected, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
