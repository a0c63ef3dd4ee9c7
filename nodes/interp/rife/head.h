// Feature encoder ("Head") of Practical-RIFE 4.10+: per-frame features at full resolution that the
// blocks see next to the images (warped with the current flow after the first block).
//
//   x [B, 3, H, W]
//   cnn0: Conv 3x3 stride 2, 3 -> mid, LeakyReLU(0.2)      [B, mid, H/2, W/2]
//   cnn1: Conv 3x3, mid -> mid, LeakyReLU(0.2)             [B, mid, H/2, W/2]
//   cnn2: Conv 3x3, mid -> mid, LeakyReLU(0.2)             [B, mid, H/2, W/2]
//   cnn3: ConvTranspose 4x4 stride 2, mid -> out           [B, out, H, W]
// Released weights: mid 32 / out 8 (4.14-4.22), mid 16 / out 4 (4.25, 4.26).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>

namespace camgraph::interp {

struct HeadImpl : torch::nn::Module {
  HeadImpl(int64_t mid, int64_t out);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d cnn0{nullptr}, cnn1{nullptr}, cnn2{nullptr};
  torch::nn::ConvTranspose2d cnn3{nullptr};
};
TORCH_MODULE(Head);

}  // namespace camgraph::interp
