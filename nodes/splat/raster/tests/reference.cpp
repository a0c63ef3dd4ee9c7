#include "reference.h"

#include "splat/raster/math.h"

namespace camgraph::splat::ref {

namespace {
using at::Tensor;
const auto kF64 = at::TensorOptions().dtype(at::kDouble);

Tensor viewmat64(const RenderCamera& camera) { return camera.viewmat.detach().to(at::kCPU, at::kDouble); }
}  // namespace

Tensor camera_position(const RenderCamera& camera) {
  const Tensor v = viewmat64(camera);
  const Tensor R = v.slice(0, 0, 3).slice(1, 0, 3), t = v.slice(0, 0, 3).select(1, 3);
  return -at::matmul(R.t(), t);
}

Projected project(const Tensor& means, const Tensor& log_scales, const Tensor& quats, const RenderCamera& cam,
                  const RenderSettings& settings) {
  const Tensor q = quats / quats.norm(2, 1, true);
  const Tensor w = q.select(1, 0), x = q.select(1, 1), y = q.select(1, 2), z = q.select(1, 3);
  const Tensor R = at::stack({1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),  //
                              2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),  //
                              2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)},
                             1)
                       .view({-1, 3, 3});
  const Tensor M = R * at::exp(log_scales).unsqueeze(1);  // scale the columns
  const Tensor sigma = at::matmul(M, M.transpose(1, 2));
  const Tensor v = viewmat64(cam);
  const Tensor W = v.slice(0, 0, 3).slice(1, 0, 3), t = v.slice(0, 0, 3).select(1, 3);
  const Tensor pc = at::matmul(means, W.t()) + t;
  const Tensor sigma_c = at::matmul(at::matmul(W, sigma), W.t());

  const Tensor pz = pc.select(1, 2);
  const Tensor in_range = (pz >= (double)settings.near_plane) & (pz <= (double)settings.far_plane);
  const Tensor zs = at::where(in_range, pz, at::ones_like(pz));  // keep culled rows finite
  const Tensor px = pc.select(1, 0), py = pc.select(1, 1);
  const double fx = cam.fx, fy = cam.fy, cx = cam.cx, cy = cam.cy;
  const double tan_fovx = 0.5 * cam.width / fx, tan_fovy = 0.5 * cam.height / fy;
  const Tensor uc = at::clamp(px / zs, -(cx / fx + 0.3 * tan_fovx), (cam.width - cx) / fx + 0.3 * tan_fovx);
  const Tensor vc = at::clamp(py / zs, -(cy / fy + 0.3 * tan_fovy), (cam.height - cy) / fy + 0.3 * tan_fovy);
  const Tensor zero = at::zeros_like(zs);
  const Tensor J = at::stack({fx / zs, zero, -fx * uc / zs, zero, fy / zs, -fy * vc / zs}, 1).view({-1, 2, 3});
  const Tensor cov = at::matmul(at::matmul(J, sigma_c), J.transpose(1, 2));
  const double eps = settings.eps2d;
  const Tensor a = cov.select(1, 0).select(1, 0) + eps, b = cov.select(1, 0).select(1, 1),
               c = cov.select(1, 1).select(1, 1) + eps;
  const Tensor det = a * c - b * b;
  const Tensor pd = det > 0;
  const Tensor det_s = at::where(pd, det, at::ones_like(det));
  const Tensor conics = at::stack({c / det_s, -b / det_s, a / det_s}, 1);

  // Radius (no gradient), in the float32 arithmetic of math.h for identical integers.
  const Tensor a32 = a.detach().to(at::kFloat), b32 = b.detach().to(at::kFloat), c32 = c.detach().to(at::kFloat);
  const Tensor mid = 0.5f * (a32 + c32);
  const Tensor lambda = mid + at::sqrt(at::clamp_min(mid * mid - (a32 * c32 - b32 * b32), 0.1f));
  const Tensor r = at::ceil(3.f * at::sqrt(lambda)).to(at::kDouble);

  const Tensor means2d = at::stack({fx * px / zs + cx, fy * py / zs + cy}, 1);
  const Tensor m2 = means2d.detach();
  const Tensor mx = m2.select(1, 0), my = m2.select(1, 1);
  const Tensor outside = (mx + r <= 0) | (mx - r >= cam.width) | (my + r <= 0) | (my - r >= cam.height);
  const Tensor vis = in_range & pd & (r > 0) & ~outside;
  const Tensor vis1 = vis.unsqueeze(1);
  Projected out;
  out.means2d = at::where(vis1, means2d, at::zeros_like(means2d));
  out.depths = at::where(vis, pz, at::zeros_like(pz));
  out.conics = at::where(vis1, conics, at::zeros_like(conics));
  out.radii = at::where(vis, r, at::zeros_like(r)).to(at::kInt);
  return out;
}

Tensor sh_colors(int degree, const Tensor& means, const Tensor& coeffs, const Tensor& campos) {
  const Tensor dir = means - campos;
  const Tensor d = dir / dir.norm(2, 1, true);
  const Tensor x = d.select(1, 0), y = d.select(1, 1), z = d.select(1, 2);
  const Tensor xx = x * x, yy = y * y, zz = z * z;
  std::vector<Tensor> Y{at::full_like(x, (double)kShC0)};
  if (degree >= 1) {
    const double C1 = kShC1;
    Y.insert(Y.end(), {-C1 * y, C1 * z, -C1 * x});
  }
  if (degree >= 2) {
    Y.insert(Y.end(), {(double)kShC2(0) * x * y, (double)kShC2(1) * y * z, (double)kShC2(2) * (2 * zz - xx - yy),
                       (double)kShC2(3) * x * z, (double)kShC2(4) * (xx - yy)});
  }
  if (degree >= 3) {
    Y.insert(Y.end(), {(double)kShC3(0) * y * (3 * xx - yy), (double)kShC3(1) * x * y * z,
                       (double)kShC3(2) * y * (4 * zz - xx - yy), (double)kShC3(3) * z * (2 * zz - 3 * xx - 3 * yy),
                       (double)kShC3(4) * x * (4 * zz - xx - yy), (double)kShC3(5) * z * (xx - yy),
                       (double)kShC3(6) * x * (xx - 3 * yy)});
  }
  const int64_t nb = (int64_t)Y.size();
  const Tensor basis = at::stack(Y, 1);  // [N, nb]
  const Tensor rgb = (basis.unsqueeze(2) * coeffs.slice(1, 0, nb)).sum(1) + 0.5;
  return at::clamp_min(rgb, 0.0);
}

Image rasterize(const Tensor& means2d, const Tensor& conics, const Tensor& colors, const Tensor& opacities,
                const Tensor& depths, const Tensor& radii, std::array<float, 3> background, int width, int height) {
  const auto opts = means2d.options();
  const Tensor bg = at::tensor(std::vector<double>{background[0], background[1], background[2]}, kF64);
  // Visible Gaussians, front to back (stable on ties, like the fast path's (depth, index) order).
  Tensor idx = at::nonzero(radii > 0).view(-1);
  const Tensor order = std::get<1>(at::sort(depths.detach().index_select(0, idx), true, 0, false));
  idx = idx.index_select(0, order);
  const Tensor m = means2d.index_select(0, idx), con = conics.index_select(0, idx), col = colors.index_select(0, idx),
               op = opacities.index_select(0, idx), z = depths.index_select(0, idx),
               r = radii.index_select(0, idx).to(at::kDouble);

  const Tensor gx = at::arange(width, opts), gy = at::arange(height, opts);
  const auto grid = at::meshgrid({gy, gx}, "ij");
  const Tensor pix_x = grid[1].reshape({-1, 1}), pix_y = grid[0].reshape({-1, 1});  // [P, 1] integer coords
  const Tensor dx = m.select(1, 0).unsqueeze(0) - (pix_x + 0.5), dy = m.select(1, 1).unsqueeze(0) - (pix_y + 0.5);
  const Tensor power = 0.5 * (con.select(1, 0) * dx * dx + con.select(1, 2) * dy * dy) + con.select(1, 1) * dx * dy;
  const Tensor alpha = at::clamp_max(op * at::exp(-power), (double)kAlphaMax);  // [P, V]

  // Tiles each Gaussian is evaluated in: its 3DGS radius rectangle (math.h tile_rect rule).
  const Tensor md = m.detach().to(at::kFloat), rf = r.to(at::kFloat);
  const double tx = (width + kTile - 1) / kTile, ty = (height + kTile - 1) / kTile;
  auto lo = [&](const Tensor& c, double hi) { return at::clamp(at::floor((c - rf) / kTile), 0, hi); };
  auto hi = [&](const Tensor& c, double hi) { return at::clamp(at::floor((c + rf) / kTile) + 1, 0, hi); };
  const Tensor x0 = lo(md.select(1, 0), tx), x1 = hi(md.select(1, 0), tx);
  const Tensor y0 = lo(md.select(1, 1), ty), y1 = hi(md.select(1, 1), ty);
  const Tensor ptx = at::floor(pix_x / kTile).to(at::kFloat), pty = at::floor(pix_y / kTile).to(at::kFloat);
  const Tensor in_tile = (ptx >= x0) & (ptx < x1) & (pty >= y0) & (pty < y1);

  const Tensor ad = alpha.detach();
  const Tensor used = in_tile & (power.detach() >= 0) & (ad >= (double)kAlphaMin);
  const Tensor t_incl = at::cumprod(1 - at::where(used, ad, at::zeros_like(ad)), 1);
  const Tensor kept = used & (t_incl >= (double)kTransmittanceMin);  // stops before T < 1e-4
  const Tensor a = at::where(kept, alpha, at::zeros_like(alpha));
  const Tensor T = at::cumprod(1 - a, 1);
  const int64_t P = (int64_t)width * height;
  const Tensor T_excl = at::cat({at::ones({P, 1}, opts), T.slice(1, 0, T.size(1) - 1)}, 1);
  const Tensor wgt = a * T_excl;
  const Tensor T_final = T.size(1) > 0 ? T.select(1, T.size(1) - 1) : at::ones({P}, opts);
  Image out;
  out.rgb = (at::matmul(wgt, col) + T_final.unsqueeze(1) * bg).view({height, width, 3});
  const Tensor A = 1 - T_final;
  const Tensor D = at::matmul(wgt, z);
  const Tensor pos = A > 0;
  out.alpha = A.view({height, width});
  out.depth = at::where(pos, D / at::where(pos, A, at::ones_like(A)), at::zeros_like(A)).view({height, width});
  return out;
}

RenderOutput render(const Tensor& means, const Tensor& log_scales, const Tensor& quats, const Tensor& opacity_logits,
                    const Tensor& sh, const RenderCamera& camera, const RenderSettings& settings) {
  Projected p = project(means, log_scales, quats, camera, settings);
  const Tensor colors = sh_colors(settings.sh_degree, means, sh, camera_position(camera));
  Image img = rasterize(p.means2d, p.conics, colors, at::sigmoid(opacity_logits), p.depths, p.radii,
                        settings.background, camera.width, camera.height);
  if (p.means2d.requires_grad()) p.means2d.retain_grad();
  return RenderOutput{img.rgb, img.alpha, img.depth, p.means2d, p.radii};
}

}  // namespace camgraph::splat::ref
