// The rasterizer benchmarks' scene: n random Gaussians spread over the view frustum of a camera at
// the origin (OpenCV axes) at depths 2-10, footprints log-uniform in [1, 30] px, SH degree 3. Drawn
// on the CPU from a fixed seed, so every device renders the same scene.
#pragma once
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdint>

#include "splat/raster/render.h"

namespace camgraph::splat::bench {

struct FrustumScene {
  at::Tensor means, log_scales, quats, opacity_logits, sh;  // [N,3] [N,3] [N,4] [N] [N,16,3]
  RenderCamera camera;
  RenderSettings settings;
};

inline FrustumScene make_frustum_scene(int64_t n, int width, int height, const at::Device& device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  FrustumScene s;
  s.camera.width = width;
  s.camera.height = height;
  s.camera.fx = s.camera.fy = 0.8f * width;
  s.camera.cx = 0.5f * width;
  s.camera.cy = 0.5f * height;
  const float tx = 0.5f * width / s.camera.fx, ty = 0.5f * height / s.camera.fy;
  const at::Tensor z = at::rand({n}, gen) * 8.f + 2.f;
  const at::Tensor x = (at::rand({n}, gen) * 2.2f - 1.1f) * tx * z;
  const at::Tensor y = (at::rand({n}, gen) * 2.2f - 1.1f) * ty * z;
  s.means = at::stack({x, y, z}, 1);
  // 3-sigma footprint diameter 6 sigma f / z, log-uniform in [1, 30] px.
  const at::Tensor foot = at::exp(at::rand({n, 1}, gen) * std::log(30.f));
  const at::Tensor sigma = foot * z.unsqueeze(1) / (6.f * s.camera.fx);
  s.log_scales = at::log(sigma) + 0.3f * at::randn({n, 3}, gen);
  s.quats = at::randn({n, 4}, gen);
  s.opacity_logits = 1.5f * at::randn({n}, gen) + 1.f;
  s.sh = 0.2f * at::randn({n, 16, 3}, gen);
  for (at::Tensor* t : {&s.means, &s.log_scales, &s.quats, &s.opacity_logits, &s.sh})
    *t = t->to(device).requires_grad_(true);
  s.camera.viewmat = at::eye(4, at::kFloat).to(device);
  s.settings.sh_degree = 3;
  return s;
}

}  // namespace camgraph::splat::bench
