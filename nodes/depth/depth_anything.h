// Depth Anything V2 in libtorch from its published `.pth` (github.com/DepthAnything/Depth-Anything-V2:
// depth_anything_v2_vits/vitb/vitl.pth, depth_anything_v2_metric_{hypersim,vkitti}_vit{s,b,l}.pth),
// read by the project's restricted unpickler (camgraph/formats/torch_checkpoint.h) with the original key layout.
//
//   x [B, 3, H, W] ImageNet-normalised RGB, H and W multiples of 14 (ph = H/14, pw = W/14)
//   DINOv2 ViT ("pretrained."), C = 384 / 768 / 1024 (s/b/l), 64-wide heads (the unreleased g has a
//   SwiGLU MLP, mlp.w12 / mlp.w3: refused as not in this layout):
//     patch_embed.proj: Conv 14x14 stride 14, 3 -> C             [B, ph*pw, C]
//     cat cls_token, + pos_embed (1 + 37*37 positions; the grid bicubic-resized to ph x pw by scale
//       factor ((ph + 0.1) / 37, (pw + 0.1) / 37) as DINOv2's interpolate_pos_encoding)   [B, 1+ph*pw, C]
//     blocks.N: x += ls1.gamma * attn.proj(MHSA(attn.qkv(norm1(x))));
//               x += ls2.gamma * mlp.fc2(GELU(mlp.fc1(norm2(x))))  (LayerNorm eps 1e-6)
//     4 intermediate blocks (s, b: 2 5 8 11; l: 4 11 17 23; g: 9 19 29 39), each norm(x) without the
//       cls token                                                    4 x [B, C, ph, pw]
//   DPT head ("depth_head."), out_channels o0..o3, features F:
//     projects.i: Conv 1x1, C -> oi; resize_layers: 0 ConvT 4x4/4, 1 ConvT 2x2/2, 2 identity,
//       3 Conv 3x3/2                                                  [B, oi, 4ph|2ph|ph|ph/2, ...]
//     scratch.layerI_rn: Conv 3x3 (no bias), oi -> F
//     scratch.refinenet4..1: fusion (+ resConfUnit1(skip)), resConfUnit2, bilinear (align corners)
//       to the next level's size (x2 for refinenet1), out_conv 1x1  [B, F, 8ph, 8pw]
//     scratch.output_conv1: Conv 3x3, F -> F/2; bilinear to (14ph, 14pw)
//     scratch.output_conv2: Conv 3x3 F/2 -> 32, ReLU, Conv 1x1 32 -> 1, then ReLU (relative) or
//       sigmoid x max_depth (metric: 20 m hypersim, 80 m vkitti)     [B, 14ph, 14pw]
// Includes ATen's Tensor only.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace camgraph::depth {

struct DepthAnythingOptions {
  bool metric = false;    // relative and metric checkpoints have the same shapes: the caller says which
  double max_depth = 20;  // metric: sigmoid x max_depth
  int num_heads = 0;      // 0: hidden / 64 (every published DINOv2)
  c10::Device device = c10::Device(c10::kCPU);
};

struct DepthAnythingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class DepthAnythingV2 {
 public:
  // Reads and checks the checkpoint (every tensor of the original layout present with consistent
  // shapes, none left over); errors name the file and the key.
  DepthAnythingV2(const std::filesystem::path& file, const DepthAnythingOptions& options);
  // From tensors already in memory (original key names).
  DepthAnythingV2(std::map<std::string, at::Tensor> weights, const DepthAnythingOptions& options,
                  const std::string& source = "state dict");

  // x [B, 3, H, W] normalised, H, W multiples of 14 -> [B, H, W] (disparity or metres).
  at::Tensor forward(const at::Tensor& x) const;

  // "vits", "vitb", "vitl", "vitg" or "vit-<hidden>x<blocks>" for other widths.
  const std::string& variant() const { return variant_; }
  int64_t hidden() const { return hidden_; }
  int64_t blocks() const { return blocks_; }
  int64_t heads() const { return heads_; }
  const std::vector<int64_t>& intermediate_layers() const { return layers_; }
  const DepthAnythingOptions& options() const { return options_; }

  // The 4 blocks DPT reads for a ViT of `blocks` blocks (12, 24, 40 as published; others evenly spaced).
  static std::vector<int64_t> intermediate_layers_for(int64_t blocks);

 private:
  void init(std::map<std::string, at::Tensor> weights, const std::string& source);
  const at::Tensor& w(const std::string& key) const;
  at::Tensor position_embedding(int64_t ph, int64_t pw) const;

  DepthAnythingOptions options_;
  std::map<std::string, at::Tensor> w_;
  std::string variant_;
  int64_t hidden_ = 0, blocks_ = 0, heads_ = 0;
  std::vector<int64_t> layers_;
};

}  // namespace camgraph::depth
