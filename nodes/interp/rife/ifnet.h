// IFNet of Practical-RIFE 4.x (flow estimation + fusion), its layout inferred from a state dict.
//
// Coarse to fine over scale_list = [2^(n-1), ..., 2, 1] / user_scale (n = 4 blocks: [8, 4, 2, 1];
// 4.25+: n = 5, [16, 8, 4, 2, 1]). With E = encoder channels (0 without a Head) and F = feature
// channels a block passes on (0 before 4.15, else 8):
//   f0, f1 = Head(img0), Head(img1)                                        [B, E, H, W]
//   block0(cat(img0, img1, f0, f1, t))                                     Cin = 7 + 2E
//   block i>0(cat(warp(img0), warp(img1), warp(f0), warp(f1), t, mask, feat), flow)
//                                                                          Cin = 8 + 4 + 2E + F
//   flow += d_flow; mask = mask + d_mask (4.0-4.6) or d_mask (Head versions)
//   out = sigmoid(mask) * warp(img0, flow[0:2]) + (1 - sigmoid(mask)) * warp(img1, flow[2:4])
// Images [B, 3, H, W] in [0, 1], H and W multiples of pad_multiple(user_scale).
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <map>
#include <string>
#include <vector>

#include "interp/rife/head.h"
#include "interp/rife/ifblock.h"

namespace camgraph::interp {

struct IFNetLayout {
  std::vector<int64_t> widths;       // c of each block
  std::vector<int64_t> in_channels;  // Cin of each block's first conv (flow channels included)
  int64_t res_convs = 8;
  int64_t head_mid = 0, head_out = 0;  // 0: no encoder (4.0-4.6)
  int64_t out_channels = 6;            // 6 (flow 4, mask 1, unused 1), or 13 (+ 8 features, 4.15+)
  std::string version;                 // e.g. "4.6", "4.14", "4.22", "4.25" (the layout family)

  int64_t blocks() const { return static_cast<int64_t>(widths.size()); }
  // Channels a block passes to the next: 4*13 outputs carry 8; with 4*6 (4.0-4.14) the sixth
  // channel is unused.
  int64_t feat_channels() const { return out_channels > 6 ? out_channels - 5 : 0; }
  bool has_head() const { return head_out > 0; }
  // Height and width must be multiples of this (coarsest scale x the block's 4x downsampling).
  int64_t pad_multiple(double user_scale) const;
  std::vector<double> scale_list(double user_scale) const;
};

// Reads the layout from tensor names and shapes (keys without "module."). Errors name `source`
// and the missing or inconsistent tensor.
IFNetLayout infer_ifnet_layout(const std::map<std::string, at::Tensor>& state, const std::string& source);

struct IFNetImpl : torch::nn::Module {
  explicit IFNetImpl(IFNetLayout layout);
  // Copies every parameter from `state`; a missing, extra or mis-shaped tensor is an error.
  void load_state(const std::map<std::string, at::Tensor>& state, const std::string& source);
  // img0, img1 [B, 3, H, W]; t in [0, 1] -> [B, 3, H, W]
  at::Tensor forward(const at::Tensor& img0, const at::Tensor& img1, double t, double user_scale = 1.0);

  IFNetLayout layout;
  torch::nn::ModuleList blocks{nullptr};
  Head encode{nullptr};
};
TORCH_MODULE(IFNet);

}  // namespace camgraph::interp
