#include "interp/rife/warp.h"

#include <ATen/ATen.h>

namespace camgraph::interp {

at::Tensor backward_warp(const at::Tensor& image, const at::Tensor& flow) {
  const auto dtype = image.scalar_type();
  const at::Tensor img = image.to(at::kFloat);
  const at::Tensor f = flow.to(at::kFloat);
  const std::int64_t b = img.size(0), h = img.size(2), w = img.size(3);
  const auto opt = img.options();
  // Normalised sampling grid [-1, 1] (align_corners = true: -1 and 1 are the pixel centres at the edges).
  const at::Tensor gx = at::linspace(-1.0, 1.0, w, opt).view({1, 1, w}).expand({b, h, w});  // [B, H, W]
  const at::Tensor gy = at::linspace(-1.0, 1.0, h, opt).view({1, h, 1}).expand({b, h, w});
  const double sx = w > 1 ? (w - 1.0) / 2.0 : 1.0, sy = h > 1 ? (h - 1.0) / 2.0 : 1.0;
  const at::Tensor grid = at::stack({gx + f.select(1, 0) / sx, gy + f.select(1, 1) / sy}, 3);  // [B, H, W, 2]
  // interpolation 0 = bilinear, padding 1 = border
  return at::grid_sampler(img, grid, 0, 1, true).to(dtype);
}

}  // namespace camgraph::interp
