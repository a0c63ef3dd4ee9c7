// qc metrics: Laplacian sharpness, VBench flicker, depth reprojection error, PSNR/SSIM.
#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "qc.h"

namespace camgraph::qc {

namespace {

at::Tensor rgb_of(const at::Tensor& frames) { return frames.slice(-1, 0, 3).to(at::kCPU, at::kFloat); }

// Rows of a Mat4 as a [3, 3] rotation and a [3] translation (double).
void split_rt(const Mat4& m, at::Tensor& r, at::Tensor& t) {
  r = at::empty({3, 3}, at::kDouble);
  t = at::empty({3}, at::kDouble);
  auto ra = r.accessor<double, 2>();
  auto ta = t.accessor<double, 1>();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) ra[i][j] = m[size_t(4 * i + j)];
    ta[i] = m[size_t(4 * i + 3)];
  }
}

}  // namespace

at::Tensor luma255(const at::Tensor& frames) {
  const at::Tensor rgb = rgb_of(frames);
  return (rgb.select(-1, 0) * 0.2126f + rgb.select(-1, 1) * 0.7152f + rgb.select(-1, 2) * 0.0722f) * 255.0f;
}

std::vector<double> laplacian_variance(const at::Tensor& frames) {
  const at::Tensor y = luma255(frames).to(at::kDouble);  // [N, H, W]
  const int64_t h = y.size(1), w = y.size(2);
  std::vector<double> out(size_t(y.size(0)), 0.0);
  if (h < 3 || w < 3) return out;
  const at::Tensor c = y.slice(1, 1, h - 1).slice(2, 1, w - 1);
  const at::Tensor lap = y.slice(1, 0, h - 2).slice(2, 1, w - 1) + y.slice(1, 2, h).slice(2, 1, w - 1) +
                         y.slice(1, 1, h - 1).slice(2, 0, w - 2) + y.slice(1, 1, h - 1).slice(2, 2, w) - 4.0 * c;
  const at::Tensor var = lap.flatten(1).var(1, /*unbiased=*/false);
  for (size_t i = 0; i < out.size(); ++i) out[i] = var[int64_t(i)].item<double>();
  return out;
}

std::vector<double> sharpness_ratios(const std::vector<double>& s) {
  std::vector<double> r(s.size(), 1.0);
  for (size_t i = 0; i < s.size(); ++i) {
    double sum = 0;
    int k = 0;
    if (i > 0) sum += s[i - 1], ++k;
    if (i + 1 < s.size()) sum += s[i + 1], ++k;
    if (k > 0 && sum > 0) r[i] = s[i] / (sum / k);
  }
  return r;
}

double vbench_temporal_flicker(const at::Tensor& frames) {
  if (frames.size(0) < 2) return 1.0;
  const at::Tensor rgb = rgb_of(frames) * 255.0f;
  const double mae = (rgb.slice(0, 1) - rgb.slice(0, 0, -1)).abs().to(at::kDouble).mean().item<double>();
  return (255.0 - mae) / 255.0;
}

Reprojection reprojection_flicker(const at::Tensor& frames, const at::Tensor& depth, const std::vector<Camera>& cameras,
                                  double depth_tolerance) {
  const int64_t n = frames.size(0), h = frames.size(1), w = frames.size(2);
  Reprojection out;
  out.error.assign(size_t(n), 0.0);
  out.valid.assign(size_t(n), 0.0);
  const at::Tensor rgb = rgb_of(frames);
  const at::Tensor dep = depth.to(at::kCPU, at::kDouble);
  const auto opt = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor u = (at::arange(w, opt) + 0.5).view({1, w}).expand({h, w});
  const at::Tensor v = (at::arange(h, opt) + 0.5).view({h, 1}).expand({h, w});
  for (int64_t t = 1; t < n; ++t) {
    const Camera& ct = cameras[size_t(t)];
    const Camera& cp = cameras[size_t(t - 1)];
    const at::Tensor d = dep[t];
    const at::Tensor xc = at::stack({(u - ct.cx) / ct.fx * d, (v - ct.cy) / ct.fy * d, d}, -1);  // [H, W, 3]
    at::Tensor rt, tt, rp, tp;
    split_rt(ct.world_to_camera, rt, tt);
    split_rt(cp.world_to_camera, rp, tp);
    const at::Tensor xw = at::matmul(xc - tt, rt);      // R^T (x - t), row vectors
    const at::Tensor xp = at::matmul(xw, rp.t()) + tp;  // into camera t-1
    const at::Tensor zp = xp.select(-1, 2);
    const at::Tensor up = xp.select(-1, 0) / zp * cp.fx + cp.cx;
    const at::Tensor vp = xp.select(-1, 1) / zp * cp.fy + cp.cy;
    at::Tensor keep = at::isfinite(d) & (d > 0) & (zp > 1e-9) & (up >= 0) & (up <= double(w)) & (vp >= 0) &
                      (vp <= double(h));
    // Bilinear sample of frame t-1 (and its depth) at (up, vp): pixel centres at i + 0.5.
    const at::Tensor grid = at::stack({up / double(w) * 2.0 - 1.0, vp / double(h) * 2.0 - 1.0}, -1)
                                .nan_to_num(-2.0, -2.0, -2.0)
                                .to(at::kFloat)
                                .unsqueeze(0);
    const at::Tensor prev = rgb[t - 1].permute({2, 0, 1}).unsqueeze(0).contiguous();
    const at::Tensor warped = at::grid_sampler_2d(prev, grid, 0, 1, false)[0].permute({1, 2, 0});  // border
    const at::Tensor prev_d = dep[t - 1].to(at::kFloat).view({1, 1, h, w});
    const at::Tensor warped_d = at::grid_sampler_2d(prev_d, grid, 1, 1, false)[0][0].to(at::kDouble);  // nearest
    keep = keep & at::isfinite(warped_d) & ((warped_d - zp).abs() <= depth_tolerance * zp);
    const double kept = keep.sum().item<double>();
    out.valid[size_t(t)] = kept / double(h * w);
    if (kept > 0) {
      const at::Tensor diff = (rgb[t] - warped).abs().sum(-1).to(at::kDouble) * (255.0 / 3.0);
      out.error[size_t(t)] = (diff * keep).sum().item<double>() / kept;
    }
  }
  return out;
}

double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (rgb_of(a) - rgb_of(b)).to(at::kDouble).pow(2).mean().item<double>();
  if (mse <= 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(1.0 / mse);
}

double ssim(const at::Tensor& a, const at::Tensor& b) {
  const auto opt = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor x = at::arange(11, opt) - 5.0;
  at::Tensor g = at::exp(-(x * x) / (2 * 1.5 * 1.5));
  g = g / g.sum();
  const at::Tensor win = at::outer(g, g).view({1, 1, 11, 11});
  const at::Tensor A = rgb_of(a).to(at::kDouble).permute({2, 0, 1}).unsqueeze(1);  // [3, 1, H, W]
  const at::Tensor B = rgb_of(b).to(at::kDouble).permute({2, 0, 1}).unsqueeze(1);
  if (A.size(2) < 11 || A.size(3) < 11) {
    // Too small for the window: one global window.
    const double ma = A.mean().item<double>(), mb = B.mean().item<double>();
    const double va = A.var(false).item<double>(), vb = B.var(false).item<double>();
    const double cov = ((A - ma) * (B - mb)).mean().item<double>();
    const double c1 = 1e-4, c2 = 9e-4;
    return (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
  }
  auto f = [&](const at::Tensor& z) { return at::conv2d(z, win); };
  const at::Tensor mu_a = f(A), mu_b = f(B);
  const at::Tensor saa = f(A * A) - mu_a * mu_a, sbb = f(B * B) - mu_b * mu_b, sab = f(A * B) - mu_a * mu_b;
  const double c1 = 1e-4, c2 = 9e-4;
  const at::Tensor map = (2 * mu_a * mu_b + c1) * (2 * sab + c2) /
                         ((mu_a * mu_a + mu_b * mu_b + c1) * (saa + sbb + c2));
  return map.mean().item<double>();
}

}  // namespace camgraph::qc
