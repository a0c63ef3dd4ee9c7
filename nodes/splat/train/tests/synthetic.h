// Synthetic scenes for trainer tests: random Gaussians rendered with splat::render() from
// cameras on a ring around the origin (normalised coordinates, cameras at distance 1).
#pragma once
#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "splat/io/dataset.h"
#include "splat/io/gaussians.h"
#include "splat/raster/render.h"

namespace camgraph::splat::synth {

// OpenCV-axes world-to-camera looking from `eye` at the origin, world up +z.
inline camgraph::Camera look_at_origin(double ex, double ey, double ez, int size, double fov_deg) {
  auto norm = [](double v[3]) {
    const double l = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    for (int i = 0; i < 3; ++i) v[i] /= l;
  };
  auto cross = [](const double a[3], const double b[3], double o[3]) {
    o[0] = a[1] * b[2] - a[2] * b[1];
    o[1] = a[2] * b[0] - a[0] * b[2];
    o[2] = a[0] * b[1] - a[1] * b[0];
  };
  double fwd[3] = {-ex, -ey, -ez}, up[3] = {0, 0, 1}, right[3], down[3];
  norm(fwd);
  cross(fwd, up, right);
  norm(right);
  cross(fwd, right, down);
  const double eye[3] = {ex, ey, ez};
  camgraph::Camera c;
  c.width = c.height = size;
  c.fx = c.fy = 0.5 * size / std::tan(0.5 * fov_deg * M_PI / 180.0);
  c.cx = c.cy = 0.5 * size;
  const double* rows[3] = {right, down, fwd};
  for (int i = 0; i < 3; ++i) {
    double t = 0;
    for (int j = 0; j < 3; ++j) {
      c.world_to_camera[i * 4 + j] = rows[i][j];
      t -= rows[i][j] * eye[j];
    }
    c.world_to_camera[i * 4 + 3] = t;
  }
  return c;
}

// `count` random Gaussians in [-half, half]^3, SH degree 0, opacity 0.5..0.95.
inline GaussianSet random_scene(int64_t count, double half, uint64_t seed) {
  at::manual_seed(seed);
  GaussianSet g;
  g.means = (at::rand({count, 3}) * 2 - 1) * half;             // [N, 3]
  g.log_scales = at::log(at::rand({count, 3}) * 0.03 + 0.01);  // [N, 3] 0.01..0.04
  g.quats = at::randn({count, 4});                             // [N, 4]
  g.quats = g.quats / g.quats.norm(2, -1, true);
  g.opacity_logits = at::logit(at::rand({count}) * 0.45 + 0.5);              // [N]
  g.sh = ((at::rand({count, 3}) - 0.5) / 0.28209479177387814).unsqueeze(1);  // [N, 1, 3]
  return g;
}

// Renders `scene` to `views` cameras at `size` x `size`; every 8th view (0, 8, ..) is a test view.
inline SplatDataset render_dataset(const GaussianSet& scene, int views, int size) {
  SplatDataset d;
  d.extent = 1.1;
  for (int i = 0; i < views; ++i) {
    const double az = 2 * M_PI * i / views, el = (i % 2 ? 0.45 : -0.25);
    const double r = 1.0 / std::sqrt(1 + el * el);
    TrainView v;
    v.name = "view" + std::to_string(i);
    v.camera = look_at_origin(r * std::cos(az), r * std::sin(az), r * el, size, 50);
    RenderSettings rs;
    rs.sh_degree = 0;
    v.image = render(scene.means, scene.log_scales, scene.quats, scene.opacity_logits, scene.sh,
                     to_render_camera(v.camera), rs)
                  .rgb.detach()
                  .clamp(0, 1)
                  .contiguous();
    (i % 8 == 0 ? d.test : d.train).push_back(v);
  }
  return d;
}

}  // namespace camgraph::splat::synth
