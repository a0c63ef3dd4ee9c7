// IFBlock of Practical-RIFE 4.x: one coarse-to-fine step that predicts a flow update, a fusion-mask
// logit and (4.15+) feature channels passed to the next block.
//
//   x [B, Cin, H, W] --resize 1/scale--> [B, Cin, H/s, W/s]  (+ flow/s resized: Cin includes its 4)
//   conv0.0: Conv 3x3 stride 2, Cin -> c/2, LeakyReLU(0.2)          [B, c/2, H/2s, W/2s]
//   conv0.1: Conv 3x3 stride 2, c/2 -> c,  LeakyReLU(0.2)           [B, c,   H/4s, W/4s]
//   convblock.k (k < n, n = 8 in released weights):
//            LeakyReLU(conv3x3(x) * beta + x), beta [1, c, 1, 1]    [B, c,   H/4s, W/4s]
//   lastconv.0: ConvTranspose 4x4 stride 2, c -> 4 * out            [B, 4out, H/2s, W/2s]
//   lastconv.1: PixelShuffle(2)                                     [B, out, H/s, W/s]
//   resize *scale                                                   [B, out, H, W]
//   flow = [:, 0:4] * scale (t->0 and t->1, pixels), mask = [:, 4:5], feat = [:, 5:out]
// `out` is 6 (4.0-4.14) or 13 (4.15+: 8 feature channels).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

namespace camgraph::interp {

// bilinear, align_corners = false, output = floor(size * factor) (as F.interpolate(scale_factor=))
at::Tensor resize_by(const at::Tensor& x, double factor);

struct ResConvImpl : torch::nn::Module {
  explicit ResConvImpl(int64_t c);
  at::Tensor forward(const at::Tensor& x);  // [B, c, h, w] -> same
  torch::nn::Conv2d conv{nullptr};
  at::Tensor beta;  // [1, c, 1, 1]
};
TORCH_MODULE(ResConv);

struct IFBlockOutput {
  at::Tensor flow;  // [B, 4, H, W]
  at::Tensor mask;  // [B, 1, H, W] (logit)
  at::Tensor feat;  // [B, out - 5, H, W] (empty channel dim before 4.15)
};

struct IFBlockImpl : torch::nn::Module {
  IFBlockImpl(int64_t in_planes, int64_t c, int64_t out_channels, int64_t res_convs);
  // x [B, Cin - 4 (or Cin for the first block), H, W]; flow [B, 4, H, W] or undefined.
  IFBlockOutput forward(const at::Tensor& x, const at::Tensor& flow, double scale);
  torch::nn::ModuleList conv0{nullptr};  // two Sequential(Conv2d, LeakyReLU)
  torch::nn::ModuleList convblock{nullptr};
  torch::nn::Sequential lastconv{nullptr};
};
TORCH_MODULE(IFBlock);

}  // namespace camgraph::interp
