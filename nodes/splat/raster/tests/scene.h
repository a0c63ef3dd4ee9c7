// Shared by the rasterizer tests: random scenes, a loss over every output, tolerance checks.
#pragma once

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <string>
#include <vector>

#include "splat/raster/render.h"

namespace camgraph::splat::test {

using at::Tensor;

struct Scene {
  Tensor means, log_scales, quats, opacity_logits, sh;  // float32 leaves
  RenderCamera camera;
  RenderSettings settings;
};

// A random scene in front of a slightly rotated camera; some Gaussians behind the camera, some
// outside the frame, footprints from about 1 to 20 pixels.
inline Scene make_scene(int n, int width, int height, int coeff_degree, int sh_degree, uint64_t seed,
                        float opacity_shift = 0.f) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto rnd = [&](at::IntArrayRef s) { return at::randn(s, gen, at::kFloat); };
  auto uni = [&](at::IntArrayRef s, double lo, double hi) { return at::rand(s, gen, at::kFloat) * (hi - lo) + lo; };
  Scene sc;
  sc.camera.width = width;
  sc.camera.height = height;
  sc.camera.fx = 0.9f * width;
  sc.camera.fy = 0.85f * width;
  sc.camera.cx = 0.52f * width;
  sc.camera.cy = 0.47f * height;
  // World-to-camera: a small rotation about y and x, and a translation.
  const double ay = 0.1, ax = -0.05;
  Tensor Ry =
      at::tensor({std::cos(ay), 0.0, std::sin(ay), 0.0, 1.0, 0.0, -std::sin(ay), 0.0, std::cos(ay)}).view({3, 3});
  Tensor Rx =
      at::tensor({1.0, 0.0, 0.0, 0.0, std::cos(ax), -std::sin(ax), 0.0, std::sin(ax), std::cos(ax)}).view({3, 3});
  Tensor V = at::eye(4, at::kDouble);
  V.slice(0, 0, 3).slice(1, 0, 3).copy_(at::matmul(Rx, Ry));
  V.slice(0, 0, 3).select(1, 3).copy_(at::tensor({0.1, -0.2, 0.3}));
  sc.camera.viewmat = V.to(at::kFloat);
  // Camera-space positions, then to world.
  const Tensor z = uni({n}, -0.5, 6.0);  // a few behind the camera / before the near plane
  const Tensor xy = (at::rand({n, 2}, gen, at::kFloat) * 1.4f - 0.7f) * z.abs().unsqueeze(1);
  const Tensor pc = at::stack({xy.select(1, 0), xy.select(1, 1), z}, 1).to(at::kDouble);
  const Tensor R = V.slice(0, 0, 3).slice(1, 0, 3), t = V.slice(0, 0, 3).select(1, 3);
  sc.means = at::matmul(pc - t, R).to(at::kFloat);  // R^T (pc - t)
  // Scale ~ footprint_px * z / fx, footprint 1..20 px (3 sigma), anisotropic.
  const Tensor foot = uni({n, 1}, 0.3, 6.5);
  sc.log_scales = (at::log(foot * z.abs().clamp_min(0.5).unsqueeze(1) / sc.camera.fx) + 0.4f * rnd({n, 3}));
  sc.quats = rnd({n, 4});
  sc.opacity_logits = 1.5f * rnd({n}) + 0.5f + opacity_shift;
  const int K = (coeff_degree + 1) * (coeff_degree + 1);
  sc.sh = 0.25f * rnd({n, K, 3});
  sc.sh.select(1, 0).mul_(4.f);
  sc.settings.sh_degree = sh_degree;
  sc.settings.background = {0.2f, 0.5f, 0.9f};
  sc.settings.near_plane = 0.2f;
  return sc;
}

inline std::vector<Tensor> leaves(const Scene& s, at::ScalarType type) {
  std::vector<Tensor> out;
  for (const Tensor& t : {s.means, s.log_scales, s.quats, s.opacity_logits, s.sh})
    out.push_back(t.detach().to(type).requires_grad_(true));
  return out;
}

// A loss touching every output, with fixed random weights.
inline Tensor loss_of(const RenderOutput& o, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const Tensor wr = at::randn(o.rgb.sizes(), gen, at::kDouble).to(o.rgb.options());
  const Tensor wa = at::randn(o.alpha.sizes(), gen, at::kDouble).to(o.rgb.options());
  const Tensor wd = 0.1 * at::randn(o.depth.sizes(), gen, at::kDouble).to(o.rgb.options());
  return (o.rgb * wr).sum() + (o.alpha * wa).sum() + (o.depth * wd).sum();
}

// |fast - ref| <= rtol |ref| + atol, with atol = floor * max|ref| + 1e-9: a small absolute floor
// (1e-6 of the tensor's largest value) for elements that are sums of cancelling float32 terms.
inline void expect_close(const Tensor& fast, const Tensor& ref, const std::string& what, double rtol = 1e-4,
                         double floor = 1e-6) {
  ASSERT_TRUE(fast.defined()) << what << " undefined";
  // An undefined reference gradient means "no dependence": zeros.
  const Tensor r = ref.defined() ? ref.detach().to(at::kDouble) : at::zeros(fast.sizes(), at::kDouble);
  ASSERT_EQ(fast.sizes(), r.sizes()) << what;
  const Tensor f = fast.detach().to(at::kDouble);
  ASSERT_FALSE(at::isnan(f).any().item<bool>()) << what << " has NaN";
  const double scale = r.numel() ? r.abs().max().item<double>() : 0.0;
  const double atol = floor * scale + 1e-9;
  const Tensor excess = (f - r).abs() - (rtol * r.abs() + atol);
  if (excess.numel() == 0) return;
  const int64_t worst = excess.view(-1).argmax().item<int64_t>();
  EXPECT_LE(excess.view(-1)[worst].item<double>(), 0.0)
      << what << ": worst element " << worst << " fast " << f.view(-1)[worst].item<double>() << " ref "
      << r.view(-1)[worst].item<double>() << " (scale " << scale << ")";
}

}  // namespace camgraph::splat::test
