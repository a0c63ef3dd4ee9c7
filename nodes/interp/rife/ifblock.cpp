#include "interp/rife/ifblock.h"

#include <torch/torch.h>

#include <cmath>

namespace camgraph::interp {

namespace nn = torch::nn;

at::Tensor resize_by(const at::Tensor& x, double factor) {
  if (factor == 1.0) return x;
  const auto oh = static_cast<int64_t>(std::floor(x.size(2) * factor));
  const auto ow = static_cast<int64_t>(std::floor(x.size(3) * factor));
  return at::upsample_bilinear2d(x, {oh, ow}, false, factor, factor);
}

namespace {
nn::Sequential conv_lrelu(int64_t cin, int64_t cout) {  // Conv 3x3 stride 2 pad 1 + LeakyReLU(0.2)
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(cin, cout, 3).stride(2).padding(1)),
                        nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
}
}  // namespace

ResConvImpl::ResConvImpl(int64_t c) {
  conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(c, c, 3).stride(1).padding(1)));
  beta = register_parameter("beta", torch::ones({1, c, 1, 1}));
}

at::Tensor ResConvImpl::forward(const at::Tensor& x) { return at::leaky_relu(conv->forward(x) * beta + x, 0.2); }

IFBlockImpl::IFBlockImpl(int64_t in_planes, int64_t c, int64_t out_channels, int64_t res_convs) {
  conv0 = register_module("conv0", nn::ModuleList(conv_lrelu(in_planes, c / 2), conv_lrelu(c / 2, c)));
  convblock = register_module("convblock", nn::ModuleList());
  for (int64_t k = 0; k < res_convs; ++k) convblock->push_back(ResConv(c));
  lastconv = register_module(
      "lastconv",
      nn::Sequential(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(c, 4 * out_channels, 4).stride(2).padding(1)),
                     nn::PixelShuffle(nn::PixelShuffleOptions(2))));
}

IFBlockOutput IFBlockImpl::forward(const at::Tensor& x_in, const at::Tensor& flow_in, double scale) {
  at::Tensor x = resize_by(x_in, 1.0 / scale);
  if (flow_in.defined()) x = at::cat({x, resize_by(flow_in, 1.0 / scale) / scale}, 1);
  at::Tensor feat = x;
  for (const auto& m : *conv0) feat = m->as<nn::SequentialImpl>()->forward(feat);
  for (const auto& m : *convblock) feat = m->as<ResConvImpl>()->forward(feat);
  at::Tensor tmp = resize_by(lastconv->forward(feat), scale);
  IFBlockOutput out;
  out.flow = tmp.slice(1, 0, 4) * scale;
  out.mask = tmp.slice(1, 4, 5);
  out.feat = tmp.slice(1, 5);
  return out;
}

}  // namespace camgraph::interp
