// Slow pure-libtorch twin of the rasterizer, for tests: float64, torch autograd, dense (every
// Gaussian against every pixel), reproducing the same culling, tile, skip and termination rules.
#pragma once

#include <ATen/ATen.h>

#include "splat/raster/render.h"

namespace camgraph::splat::ref {

struct Projected {
  at::Tensor means2d;  // [N, 2]
  at::Tensor depths;   // [N]
  at::Tensor conics;   // [N, 3]
  at::Tensor radii;    // [N] int32 (no gradient)
};
// Inputs float64; rows that are culled are 0 (as in the fast path).
Projected project(const at::Tensor& means,       // [N, 3]
                  const at::Tensor& log_scales,  // [N, 3]
                  const at::Tensor& quats,       // [N, 4]
                  const RenderCamera& camera, const RenderSettings& settings);

at::Tensor camera_position(const RenderCamera& camera);  // [3] float64

at::Tensor sh_colors(int degree,
                     const at::Tensor& means,    // [N, 3]
                     const at::Tensor& coeffs,   // [N, K, 3]
                     const at::Tensor& campos);  // [3]

struct Image {
  at::Tensor rgb;    // [H, W, 3]
  at::Tensor alpha;  // [H, W]
  at::Tensor depth;  // [H, W]
};
Image rasterize(const at::Tensor& means2d,    // [N, 2]
                const at::Tensor& conics,     // [N, 3]
                const at::Tensor& colors,     // [N, 3]
                const at::Tensor& opacities,  // [N]
                const at::Tensor& depths,     // [N]
                const at::Tensor& radii,      // [N] int32
                std::array<float, 3> background, int width, int height);

// render() in float64; means2d is retain_grad()'ed when it requires grad.
RenderOutput render(const at::Tensor& means, const at::Tensor& log_scales, const at::Tensor& quats,
                    const at::Tensor& opacity_logits, const at::Tensor& sh, const RenderCamera& camera,
                    const RenderSettings& settings);

}  // namespace camgraph::splat::ref
