#!/usr/bin/env python3
"""Tiny ONNX networks with the input/output contracts of the published depth models, and numpy
goldens of their outputs, for nodes/depth/tests/models_test.cpp and nodes_test.cpp.

  midas_tiny.onnx          MiDaS v2.1 contract: input [1, 3, 256, 256] RGB in [0, 1] (normalisation
                           inside the network), output [1, 256, 256] relative inverse depth.
  depth_anything_tiny.onnx Depth Anything V2 contract (opset 16): input [1, 3, 28, 42] ImageNet-normalised
                           RGB (height, width multiples of 14), output [1, 28, 42].
  golden.json              outputs for the pattern image below (MiDaS every 16th pixel, DA all).

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install onnx numpy && /tmp/v/bin/python make_tiny_models.py
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def pattern(h, w):
    """The test image (also built by depth_test_support.h): [h, w, 3] float32 RGB in [0, 1]."""
    y, x = np.mgrid[0:h, 0:w]
    r = ((x * 37 + y * 11) % 64) / 63.0
    g = ((x * 5 + y * 23) % 50) / 49.0
    b = ((x * x + y) % 31) / 30.0
    return np.stack([r, g, b], axis=2).astype(np.float32)


def conv2d(x, w, b):
    """x [C, H, W], w [O, C, k, k] (pad k // 2), b [O] -> [O, H, W], float64."""
    o, c, k, _ = w.shape
    p = k // 2
    xp = np.pad(x.astype(np.float64), ((0, 0), (p, p), (p, p)))
    h, wd = x.shape[1:]
    out = np.zeros((o, h, wd))
    for i in range(k):
        for j in range(k):
            patch = xp[:, i:i + h, j:j + wd]  # [C, H, W]
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
    return out + b[:, None, None]


def network(name, input_name, output_name, h, w, opset, seed):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, (4,)).astype(np.float32)
    w2 = np.abs(rng.normal(0, 0.5, (1, 4, 1, 1))).astype(np.float32)
    b2 = np.array([0.25], np.float32)
    nodes = [
        helper.make_node("Conv", [input_name, "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[1, 1]),
        helper.make_node("Reshape", ["c2", "shape"], [output_name]),
    ]
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
             numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b2, "b2"),
             numpy_helper.from_array(np.array([1, h, w], np.int64), "shape")]
    graph = helper.make_graph(nodes, name,
                              [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, h, w])],
                              [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [1, h, w])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)

    def run(x):  # x [3, h, w]
        return conv2d(np.maximum(conv2d(x, w1, b1), 0), w2, b2)[0]

    return model, run


def main():
    os.makedirs(HERE, exist_ok=True)
    golden = {}
    midas, run_midas = network("midas_tiny", "0", "prediction", 256, 256, 11, 1)
    onnx.save(midas, os.path.join(HERE, "midas_tiny.onnx"))
    img = pattern(256, 256).transpose(2, 0, 1)  # RGB [0, 1], no normalisation (inside MiDaS)
    out = run_midas(img)
    golden["midas"] = {"size": [256, 256], "step": 16, "values": out[::16, ::16].round(6).tolist()}

    da, run_da = network("depth_anything_tiny", "image", "depth", 28, 42, 16, 2)
    onnx.save(da, os.path.join(HERE, "depth_anything_tiny.onnx"))
    mean = np.array([0.485, 0.456, 0.406])[:, None, None]
    std = np.array([0.229, 0.224, 0.225])[:, None, None]
    img = (pattern(28, 42).transpose(2, 0, 1) - mean) / std
    golden["depth_anything"] = {"size": [28, 42], "step": 1, "values": run_da(img).round(6).tolist()}
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f)


if __name__ == "__main__":
    main()
