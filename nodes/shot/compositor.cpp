#include "shot/compositor.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace camgraph::shot {

using namespace camgraph::cam;

namespace {

// World-space ray directions (camera z = 1) for sample positions, and the camera centre.
struct Rays {
  at::Tensor dir;  // [S, H, W, 3] float64
  Vec3 centre;
};

Rays camera_rays(const Camera& c, int ss) {
  const Pose pose = Pose::from_world_to_camera(c.world_to_camera);
  auto opt = at::TensorOptions().dtype(at::kDouble);
  std::vector<at::Tensor> dirs;
  for (int sy = 0; sy < ss; ++sy)
    for (int sx = 0; sx < ss; ++sx) {
      const at::Tensor xs = (at::arange(c.width, opt) + (sx + 0.5) / ss - c.cx) / c.fx;   // [W]
      const at::Tensor ys = (at::arange(c.height, opt) + (sy + 0.5) / ss - c.cy) / c.fy;  // [H]
      const at::Tensor x = xs.view({1, -1}).expand({c.height, c.width});
      const at::Tensor y = ys.view({-1, 1}).expand({c.height, c.width});
      const at::Tensor cam = at::stack({x, y, at::ones_like(x)}, 2);  // [H, W, 3]
      const at::Tensor R = at::tensor(std::vector<double>(pose.R.begin(), pose.R.end()), opt).view({3, 3});
      dirs.push_back(at::matmul(cam, R.t()));  // rows: R * d
    }
  return {at::stack(dirs), pose.C};
}

at::Tensor vec(const Vec3& v) { return at::tensor({v[0], v[1], v[2]}, at::kDouble); }

}  // namespace

Layer render_billboard(const Billboard& b, const at::Tensor& cutout_rgba, const Camera& c, int ss) {
  ss = std::max(1, ss);
  const Rays rays = camera_rays(c, ss);
  const auto [right, normal] = b.axes(rays.centre);
  const double s = b.world_per_pixel();
  const at::Tensor d = rays.dir;  // [S, H, W, 3]
  const at::Tensor n = vec(normal), r = vec(right), up = vec(b.up);
  const double plane = dot(b.foot - rays.centre, normal);
  const at::Tensor denom = at::matmul(d, n);  // [S, H, W]
  const at::Tensor valid_dir = denom.abs() > 1e-9;
  const at::Tensor t = at::where(valid_dir, plane / denom, at::zeros_like(denom));  // camera z of the hit
  const at::Tensor rel = d * t.unsqueeze(-1) + (vec(rays.centre) - vec(b.foot));    // [S, H, W, 3] hit - foot
  const at::Tensor u = at::matmul(rel, r) / s + b.foot_px[0];                       // cutout pixel coordinates
  const at::Tensor v = b.foot_px[1] - at::matmul(rel, up) / s;
  const at::Tensor in_front = valid_dir & (t > 1e-4);

  // Premultiplied cutout, pre-filtered when one screen pixel covers several cutout pixels.
  at::Tensor img = cutout_rgba.to(at::kFloat).contiguous();  // [h, w, 4]
  img = at::cat({img.slice(2, 0, 3) * img.slice(2, 3, 4), img.slice(2, 3, 4)}, 2)
            .permute({2, 0, 1})
            .unsqueeze(0);  // [1, 4, h, w]
  const Projection foot = project(c, b.foot);
  int shrink = 1;
  if (foot.z > 0) {
    const double screen_px_per_cutout_px = c.fy * s / foot.z * ss;
    shrink = std::max(1, int(std::floor(1.0 / std::max(1e-6, screen_px_per_cutout_px))));
    shrink = std::min(shrink, int(std::min(img.size(2), img.size(3))));
  }
  if (shrink > 1)
    img = at::avg_pool2d(img, {shrink, shrink}, {shrink, shrink}, {0, 0}, /*ceil_mode=*/true,
                         /*count_include_pad=*/false);
  // grid_sample, align_corners = false: -1 and 1 are the outer edges of the (original) cutout;
  // pooling with ceil_mode keeps that mapping up to the last partial block.
  const double W = double(cutout_rgba.size(1)), H = double(cutout_rgba.size(0));
  const double Wp = double(img.size(3)) * shrink, Hp = double(img.size(2)) * shrink;
  const at::Tensor gx = (u / Wp * 2 - 1).to(at::kFloat), gy = (v / Hp * 2 - 1).to(at::kFloat);
  const int S = ss * ss;
  const at::Tensor grid = at::stack({gx, gy}, -1).view({1, S * c.height, c.width, 2});
  at::Tensor samples = at::grid_sampler(img, grid, /*bilinear*/ 0, /*zeros*/ 0,
                                        /*align_corners=*/false);           // [1, 4, S*H, W]
  samples = samples.view({4, S, c.height, c.width}).permute({1, 2, 3, 0});  // [S, H, W, 4]
  // Outside the cutout's own rectangle (padding from pooling) nothing is drawn.
  const at::Tensor inside = in_front & (u >= 0) & (u <= W) & (v >= 0) & (v <= H);
  samples = samples * inside.unsqueeze(-1).to(at::kFloat);
  Layer out;
  const at::Tensor mean = samples.mean(0);  // [H, W, 4]
  out.rgb = mean.slice(2, 0, 3).contiguous();
  out.alpha = mean.select(2, 3).contiguous();
  // Depth: alpha-weighted mean over the samples.
  const at::Tensor a = samples.select(3, 3);  // [S, H, W]
  const at::Tensor tz = t.to(at::kFloat);
  const at::Tensor asum = a.sum(0);
  out.depth = at::where(asum > 0, (a * tz).sum(0) / asum.clamp_min(1e-12), at::zeros_like(asum)).contiguous();
  return out;
}

Layer empty_layer(int height, int width) {
  Layer l;
  l.rgb = at::zeros({height, width, 3}, at::kFloat);
  l.alpha = at::zeros({height, width}, at::kFloat);
  l.depth = at::zeros({height, width}, at::kFloat);
  return l;
}

Layer over(const Layer& front, const Layer& back) {
  const at::Tensor t = 1 - front.alpha;  // [H, W] transmittance of the front layer
  Layer out;
  out.rgb = front.rgb + t.unsqueeze(2) * back.rgb;
  out.alpha = front.alpha + t * back.alpha;
  const at::Tensor weighted = front.depth * front.alpha + t * back.depth * back.alpha;
  out.depth = at::where(out.alpha > 0, weighted / out.alpha.clamp_min(1e-12f), at::zeros_like(weighted));
  return out;
}

at::Tensor behind_plane(const at::Tensor& means, const Billboard& b, const Vec3& eye) {
  Vec3 n = b.axes(eye).second;
  if (dot(eye - b.foot, n) < 0) n = -1.0 * n;  // fixed billboards seen from their back
  const at::Tensor foot = at::tensor({float(b.foot[0]), float(b.foot[1]), float(b.foot[2])});
  const at::Tensor nt = at::tensor({float(n[0]), float(n[1]), float(n[2])});
  const at::Tensor up = at::tensor({float(b.up[0]), float(b.up[1]), float(b.up[2])});
  const at::Tensor rel = means.to(at::kFloat) - foot;                         // [N, 3]
  const at::Tensor ahead = at::matmul(rel, nt), above = at::matmul(rel, up);  // [N]
  // The ground the character stands on: Gaussians just in front of the feet and below them are
  // drawn behind it (else their extent would cut off the feet).
  const float band = float(kGroundBand * b.height);
  return (ahead < 0) | ((ahead < band) & (above < band));
}

void apply_contact_shadow(Layer& base, const Billboard& b, const Camera& c, double strength, double radius) {
  if (strength <= 0 || radius <= 0) return;
  const Rays rays = camera_rays(c, 1);
  const at::Tensor d = rays.dir.select(0, 0);  // [H, W, 3]
  const at::Tensor p = d * base.depth.to(at::kDouble).unsqueeze(-1) +
                       (vec(rays.centre) - vec(b.foot));  // surface - foot
  const at::Tensor h = at::matmul(p, vec(b.up));          // [H, W]
  const at::Tensor horiz = (p - h.unsqueeze(-1) * vec(b.up)).norm(2, -1);
  const double hs = 0.25 * b.height;
  at::Tensor shade = strength * at::exp(-2 * (horiz / radius).pow(2)) * at::exp(-(h / hs).pow(2));
  shade = at::where(base.alpha > 0, shade, at::zeros_like(shade));
  base.rgb = base.rgb * (1 - shade).to(at::kFloat).unsqueeze(2);
}

std::array<double, 3> colour_match_gains(const at::Tensor& cutout_rgba, const at::Tensor& scene_rgb,
                                         const at::Tensor& scene_alpha, double u, double v, double radius_px,
                                         bool per_channel, double strength) {
  const int64_t H = scene_rgb.size(0), W = scene_rgb.size(1);
  const at::Tensor ys = at::arange(H, at::kFloat).view({-1, 1}) + 0.5f,
                   xs = at::arange(W, at::kFloat).view({1, -1}) + 0.5f;
  const at::Tensor near = ((xs - float(u)).pow(2) + (ys - float(v)).pow(2) <= float(radius_px * radius_px)) &
                          (scene_alpha > 0.5f);
  const double count = near.sum().item<double>();
  if (count < 4) return {1, 1, 1};
  const at::Tensor m = near.unsqueeze(2).to(at::kFloat);
  const at::Tensor scene_mean = (scene_rgb / scene_alpha.clamp_min(1e-6).unsqueeze(2) * m).sum(0).sum(0) /
                                count;  // [3]
  const at::Tensor ca = cutout_rgba.select(2, 3).unsqueeze(2);
  const double asum = ca.sum().item<double>();
  if (asum <= 0) return {1, 1, 1};
  const at::Tensor cut_mean = (cutout_rgba.slice(2, 0, 3) * ca).sum(0).sum(0) / asum;  // [3]
  const double ls = 0.2126 * scene_mean[0].item<double>() + 0.7152 * scene_mean[1].item<double>() +
                    0.0722 * scene_mean[2].item<double>();
  const double lc = 0.2126 * cut_mean[0].item<double>() + 0.7152 * cut_mean[1].item<double>() +
                    0.0722 * cut_mean[2].item<double>();
  std::array<double, 3> g{1, 1, 1};
  for (int i = 0; i < 3; ++i) {
    const double ratio = per_channel ? (scene_mean[i].item<double>() + 1e-3) / (cut_mean[i].item<double>() + 1e-3)
                                     : (ls + 1e-3) / (lc + 1e-3);
    g[size_t(i)] = std::clamp(std::pow(ratio, strength), 0.25, 4.0);
  }
  return g;
}

ContentBox content_box(const at::Tensor& alpha, double threshold) {
  ContentBox cb;
  const at::Tensor mask = alpha > float(threshold);  // [h, w]
  const at::Tensor rows = mask.any(1), cols = mask.any(0);
  if (!rows.any().item<bool>()) return cb;
  const at::Tensor ri = at::nonzero(rows).view(-1), ci = at::nonzero(cols).view(-1);
  const int64_t v0 = ri.min().item<int64_t>(), v1 = ri.max().item<int64_t>() + 1;
  const int64_t u0 = ci.min().item<int64_t>(), u1 = ci.max().item<int64_t>() + 1;
  cb.box = {double(u0), double(v0), double(u1), double(v1)};
  // Foot: alpha-weighted horizontal centre of the lowest 5% of the content rows, at its bottom edge.
  const int64_t band = std::max<int64_t>(1, (v1 - v0) / 20);
  const at::Tensor low = alpha.slice(0, v1 - band, v1).to(at::kDouble) * mask.slice(0, v1 - band, v1).to(at::kDouble);
  const at::Tensor w = low.sum(0);  // [w]
  const double total = w.sum().item<double>();
  const double uc = total > 0 ? ((at::arange(alpha.size(1), at::kDouble) + 0.5) * w).sum().item<double>() / total
                              : 0.5 * (u0 + u1);
  cb.foot = {uc, double(v1)};
  cb.empty = false;
  return cb;
}

}  // namespace camgraph::shot
