#!/usr/bin/env python3
"""Tiny random Depth Anything V2 checkpoints in the ORIGINAL repository's key layout
(github.com/DepthAnything/Depth-Anything-V2: pretrained.* = DINOv2, depth_head.* = DPT head), and
goldens of their outputs, for nodes/depth/tests/depth_anything_test.cpp (libtorch backend of depth.estimate).

Steps:
  1. a tiny random transformers DepthAnythingForDepthEstimation (Dinov2 backbone: hidden 32,
     2 heads, 4 layers, MLP ratio 2, image_size 56 -> a 4x4 position grid; neck 8/8/16/16,
     fusion 8), every parameter randomised (LayerScale, norms and biases included);
  2. its state dict converted to the original key layout by the mapping below (q/k/v_proj
     concatenated into qkv, o_proj -> proj, layer_scale.lambda1 -> ls.gamma, fusion layers reversed, ...);
  3. a reference forward written here from the original architecture (DINOv2 with
     interpolate_offset 0.1 and bicubic position-embedding interpolation by scale factor, DPT
     head), run on the converted tensors, must equal the transformers model on a 56x56 input
     (where no position interpolation happens; transformers interpolates by size, the original by
     scale factor, so they differ slightly elsewhere, printed below);
  4. the converted dict is saved with torch.save (da_v2_tiny.pth) and the reference's outputs on a
     42x70 pattern (3x5 patches: the position embedding is interpolated) go to
     da_v2_tiny_golden.json, relative (ReLU) and metric (sigmoid x 20);
  5. da_v2_foreign_global.pth: a state dict next to an argparse.Namespace (a global the restricted
     unpickler must refuse by name).

Run (needs torch and transformers): python make_depth_anything_goldens.py
"""
import argparse
import json
import math
import os

import torch
import torch.nn.functional as F
from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

HERE = os.path.dirname(os.path.abspath(__file__))
HEADS = 2
LAYERS = [0, 1, 2, 3]  # intermediate layers of a 4-block ViT (the C++ rule for non-published depths)


def pattern(h, w):
    """ImageNet-normalised network input [1, 3, h, w] (also built by depth_anything_test.cpp)."""
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    r = ((x * 37 + y * 11) % 64) / 63.0
    g = ((x * 5 + y * 23) % 50) / 49.0
    b = ((x * x + y) % 31) / 30.0
    img = torch.stack([r, g, b]).float()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    return ((img - mean) / std).unsqueeze(0)


def tiny_hf(kind):
    backbone = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=HEADS, mlp_ratio=2,
                            image_size=56, patch_size=14, out_indices=[i + 1 for i in LAYERS],
                            reshape_hidden_states=False, apply_layernorm=True)
    cfg = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=32, patch_size=14,
                              reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=[8, 8, 16, 16],
                              fusion_hidden_size=8, head_hidden_size=32, depth_estimation_type=kind,
                              max_depth=20 if kind == "metric" else 1)
    return DepthAnythingForDepthEstimation(cfg).eval()


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1 and "embeddings" not in name:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * (1.2 / math.sqrt(fan_in)))
            elif "layer_scale" in name:
                p.copy_(0.5 + 0.5 * torch.rand(p.shape, generator=g))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        model.head.conv3.weight.mul_(0.25)  # most of the relative output above the final ReLU
        model.head.conv3.bias.add_(1.0)
        emb = model.backbone.embeddings
        emb.position_embeddings.copy_(0.5 * torch.randn(emb.position_embeddings.shape, generator=g))
        emb.cls_token.copy_(0.5 * torch.randn(emb.cls_token.shape, generator=g))


def to_original(sd):
    """transformers DepthAnything key layout -> the original repository's (facts from the model
    definitions of both; written here)."""
    out = {}
    n_blocks = 1 + max(int(k.split(".")[3]) for k in sd if k.startswith("backbone.encoder.layer."))
    out["pretrained.cls_token"] = sd["backbone.embeddings.cls_token"]
    out["pretrained.pos_embed"] = sd["backbone.embeddings.position_embeddings"]
    out["pretrained.mask_token"] = sd["backbone.embeddings.mask_token"].reshape(1, -1)
    out["pretrained.patch_embed.proj.weight"] = sd["backbone.embeddings.patch_embeddings.projection.weight"]
    out["pretrained.patch_embed.proj.bias"] = sd["backbone.embeddings.patch_embeddings.projection.bias"]
    for i in range(n_blocks):
        h, o = f"backbone.encoder.layer.{i}.", f"pretrained.blocks.{i}."
        for n in ("norm1", "norm2"):
            for t in ("weight", "bias"):
                out[o + f"{n}.{t}"] = sd[h + f"{n}.{t}"]
        for t in ("weight", "bias"):
            out[o + f"attn.qkv.{t}"] = torch.cat([sd[h + f"attention.{q}_proj.{t}"] for q in "qkv"])
            out[o + f"attn.proj.{t}"] = sd[h + f"attention.o_proj.{t}"]
            out[o + f"mlp.fc1.{t}"] = sd[h + f"mlp.fc1.{t}"]
            out[o + f"mlp.fc2.{t}"] = sd[h + f"mlp.fc2.{t}"]
        out[o + "ls1.gamma"] = sd[h + "layer_scale1.lambda1"]
        out[o + "ls2.gamma"] = sd[h + "layer_scale2.lambda1"]
    for t in ("weight", "bias"):
        out[f"pretrained.norm.{t}"] = sd[f"backbone.layernorm.{t}"]
    for i in range(4):
        for t in ("weight", "bias"):
            out[f"depth_head.projects.{i}.{t}"] = sd[f"neck.reassemble_stage.layers.{i}.projection.{t}"]
            if i != 2:
                out[f"depth_head.resize_layers.{i}.{t}"] = sd[f"neck.reassemble_stage.layers.{i}.resize.{t}"]
        out[f"depth_head.scratch.layer{i + 1}_rn.weight"] = sd[f"neck.convs.{i}.weight"]
        h, o = f"neck.fusion_stage.layers.{i}.", f"depth_head.scratch.refinenet{4 - i}."
        for t in ("weight", "bias"):
            out[o + f"out_conv.{t}"] = sd[h + f"projection.{t}"]
            for u in (1, 2):
                for c in (1, 2):
                    out[o + f"resConfUnit{u}.conv{c}.{t}"] = sd[h + f"residual_layer{u}.convolution{c}.{t}"]
    for t in ("weight", "bias"):
        out[f"depth_head.scratch.output_conv1.{t}"] = sd[f"head.conv1.{t}"]
        out[f"depth_head.scratch.output_conv2.0.{t}"] = sd[f"head.conv2.{t}"]
        out[f"depth_head.scratch.output_conv2.2.{t}"] = sd[f"head.conv3.{t}"]
    used = len(out) + 4 * n_blocks  # q, k, v weights and biases -> one qkv weight and bias
    assert used == len(sd), f"{len(sd)} transformers tensors, {used} mapped"
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def reference(sd, x, heads, layers, metric, max_depth=20.0):
    """The original Depth Anything V2 forward on original-layout tensors. x [1, 3, H, W]."""
    P = 14
    B, _, H, W = x.shape
    ph, pw = H // P, W // P
    t = F.conv2d(x, sd["pretrained.patch_embed.proj.weight"], sd["pretrained.patch_embed.proj.bias"], stride=P)
    t = t.flatten(2).transpose(1, 2)
    C = t.shape[-1]
    t = torch.cat([sd["pretrained.cls_token"].expand(B, -1, -1), t], 1)
    pos = sd["pretrained.pos_embed"]
    N = pos.shape[1] - 1
    if N != ph * pw or ph != pw:
        M = int(math.sqrt(N))
        grid = pos[:, 1:].reshape(1, M, M, C).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=((ph + 0.1) / M, (pw + 0.1) / M), mode="bicubic", antialias=False)
        assert grid.shape[-2:] == (ph, pw)
        pos = torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, -1, C)], 1)
    t = t + pos
    n = 0
    while f"pretrained.blocks.{n}.norm1.weight" in sd:
        n += 1
    feats = []
    for i in range(n):
        b = f"pretrained.blocks.{i}."
        y = F.layer_norm(t, (C,), sd[b + "norm1.weight"], sd[b + "norm1.bias"], 1e-6)
        qkv = F.linear(y, sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"])
        qkv = qkv.reshape(B, -1, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (C // heads) ** -0.5, qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)).softmax(-1)
        y = (a @ v).transpose(1, 2).reshape(B, -1, C)
        y = F.linear(y, sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"])
        t = t + sd[b + "ls1.gamma"] * y
        y = F.layer_norm(t, (C,), sd[b + "norm2.weight"], sd[b + "norm2.bias"], 1e-6)
        y = F.linear(F.gelu(F.linear(y, sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"])), sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"])
        t = t + sd[b + "ls2.gamma"] * y
        if i in layers:
            feats.append(F.layer_norm(t, (C,), sd["pretrained.norm.weight"], sd["pretrained.norm.bias"], 1e-6)[:, 1:])
    h = "depth_head."
    outs = []
    for i, f in enumerate(feats):
        f = f.permute(0, 2, 1).reshape(B, C, ph, pw)
        f = F.conv2d(f, sd[h + f"projects.{i}.weight"], sd[h + f"projects.{i}.bias"])
        if i == 0:
            f = F.conv_transpose2d(f, sd[h + "resize_layers.0.weight"], sd[h + "resize_layers.0.bias"], stride=4)
        elif i == 1:
            f = F.conv_transpose2d(f, sd[h + "resize_layers.1.weight"], sd[h + "resize_layers.1.bias"], stride=2)
        elif i == 3:
            f = F.conv2d(f, sd[h + "resize_layers.3.weight"], sd[h + "resize_layers.3.bias"], stride=2, padding=1)
        outs.append(F.conv2d(f, sd[h + f"scratch.layer{i + 1}_rn.weight"], padding=1))

    def rcu(z, p):
        y = F.conv2d(F.relu(z), sd[p + "conv1.weight"], sd[p + "conv1.bias"], padding=1)
        y = F.conv2d(F.relu(y), sd[p + "conv2.weight"], sd[p + "conv2.bias"], padding=1)
        return y + z

    def fusion(k, z, skip, size):
        p = h + f"scratch.refinenet{k}."
        if skip is not None:
            z = z + rcu(skip, p + "resConfUnit1.")
        z = rcu(z, p + "resConfUnit2.")
        if size is None:
            z = F.interpolate(z, scale_factor=2, mode="bilinear", align_corners=True)
        else:
            z = F.interpolate(z, size=size, mode="bilinear", align_corners=True)
        return F.conv2d(z, sd[p + "out_conv.weight"], sd[p + "out_conv.bias"])

    l1, l2, l3, l4 = outs
    p4 = fusion(4, l4, None, l3.shape[2:])
    p3 = fusion(3, p4, l3, l2.shape[2:])
    p2 = fusion(2, p3, l2, l1.shape[2:])
    p1 = fusion(1, p2, l1, None)
    o = F.conv2d(p1, sd[h + "scratch.output_conv1.weight"], sd[h + "scratch.output_conv1.bias"], padding=1)
    o = F.interpolate(o, (ph * P, pw * P), mode="bilinear", align_corners=True)
    o = F.relu(F.conv2d(o, sd[h + "scratch.output_conv2.0.weight"], sd[h + "scratch.output_conv2.0.bias"], padding=1))
    o = F.conv2d(o, sd[h + "scratch.output_conv2.2.weight"], sd[h + "scratch.output_conv2.2.bias"])
    o = torch.sigmoid(o) * max_depth if metric else F.relu(o)
    return o[:, 0]


def main():
    torch.manual_seed(0)
    hf = tiny_hf("relative")
    randomise(hf, 11)
    hf_metric = tiny_hf("metric")
    hf_metric.load_state_dict(hf.state_dict())
    sd = to_original(hf.state_dict())

    with torch.no_grad():
        x56 = pattern(56, 56)
        for model, metric in ((hf, False), (hf_metric, True)):
            want = model(pixel_values=x56).predicted_depth
            got = reference(sd, x56, HEADS, LAYERS, metric)
            err = (want - got).abs().max().item()
            scale = want.abs().max().item()
            print(f"{'metric' if metric else 'relative'} 56x56: transformers vs original layout max |diff| {err:.3g} (max {scale:.3g})")
            assert err <= 1e-4 * max(1.0, scale), "the converted state dict does not reproduce transformers"
        x = pattern(42, 70)
        rel = reference(sd, x, HEADS, LAYERS, False)[0]
        met = reference(sd, x, HEADS, LAYERS, True)[0]
        hf_rel = hf(pixel_values=x).predicted_depth[0]
        print(f"42x70: relative > 0 on {(rel > 0).float().mean().item():.2f}, metric std {met.std().item():.2f} m")
        print(f"42x70: transformers (position grid by size) vs original (by scale factor) max |diff| "
              f"{(hf_rel - rel).abs().max().item():.3g} (max {rel.abs().max().item():.3g})")
        assert (rel > 0).float().mean() > 0.3, "relative output mostly clipped by the ReLU: reseed"
        assert met.std() > 0.1, "metric output saturated: reseed"

    torch.save(sd, os.path.join(HERE, "da_v2_tiny.pth"))
    golden = {
        "heads": HEADS, "input": [42, 70], "step": 2, "max_depth": 20,
        "relative": rel[::2, ::2].tolist(), "metric": met[::2, ::2].tolist(),
    }
    with open(os.path.join(HERE, "da_v2_tiny_golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    small = {"pretrained.cls_token": torch.zeros(1, 1, 4), "args": argparse.Namespace(encoder="vits")}
    torch.save(small, os.path.join(HERE, "da_v2_foreign_global.pth"))
    print("wrote da_v2_tiny.pth, da_v2_tiny_golden.json, da_v2_foreign_global.pth")


if __name__ == "__main__":
    main()
