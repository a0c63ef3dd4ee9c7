#include "splat/train/loss.h"

#include <cmath>
#include <limits>

namespace camgraph::splat {

at::Tensor gaussian_window(int size, double sigma, const at::TensorOptions& options) {
  // Computed in double on the target device (no host-to-device copy per loss evaluation).
  auto x = at::arange(size, options.dtype(at::kDouble)) - double(size / 2);
  auto g = at::exp(-(x * x) / (2 * sigma * sigma));
  return (g / g.sum()).to(options);
}

at::Tensor ssim(const at::Tensor& a, const at::Tensor& b, int window, double sigma) {
  TORCH_CHECK(a.dim() == 3 && a.sizes() == b.sizes(), "ssim: expected two [H, W, C] images of the same size");
  const int64_t C = a.size(2);
  auto x = a.permute({2, 0, 1}).unsqueeze(0);  // [1, C, H, W]
  auto y = b.permute({2, 0, 1}).unsqueeze(0);
  // One grouped separable blur for all five moment images.
  auto stack = at::cat({x, y, x * x, y * y, x * y}, 1);  // [1, 5C, H, W]
  auto g = gaussian_window(window, sigma, a.options());
  const int64_t G = 5 * C, pad = window / 2;
  auto wx = g.view({1, 1, 1, window}).expand({G, 1, 1, window}).contiguous();
  auto wy = g.view({1, 1, window, 1}).expand({G, 1, window, 1}).contiguous();
  auto f = at::conv2d(stack, wx, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, pad}, at::IntArrayRef{1, 1},
                      G);
  f = at::conv2d(f, wy, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{pad, 0}, at::IntArrayRef{1, 1}, G);
  auto mu1 = f.narrow(1, 0, C), mu2 = f.narrow(1, C, C);
  auto s11 = f.narrow(1, 2 * C, C) - mu1 * mu1;
  auto s22 = f.narrow(1, 3 * C, C) - mu2 * mu2;
  auto s12 = f.narrow(1, 4 * C, C) - mu1 * mu2;
  constexpr double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;
  auto map = ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 * mu1 + mu2 * mu2 + C1) * (s11 + s22 + C2));
  return map.mean();
}

at::Tensor l1_error(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().mean(); }

at::Tensor photometric_loss(const at::Tensor& rendered, const at::Tensor& target, double lambda) {
  auto loss = (1 - lambda) * l1_error(rendered, target);
  if (lambda > 0) loss = loss + lambda * (1 - ssim(rendered, target));
  return loss;
}

double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (a.clamp(0, 1).to(at::kDouble) - b.clamp(0, 1).to(at::kDouble)).pow(2).mean().item<double>();
  if (mse <= 0) return std::numeric_limits<double>::infinity();
  return -10.0 * std::log10(mse);
}

}  // namespace camgraph::splat
