#include "depth/lift.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include "splat/raster/render.h"
#include "splat/train/adam.h"

namespace camgraph::depth {

using at::indexing::Slice;
namespace {

constexpr double kShC0 = 0.28209479177387814;

at::Tensor mat3(const Mat4& m) {  // top-left 3x3 of a row-major 4x4, float64
  return at::tensor({m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]}, at::kDouble).view({3, 3});
}

// Rotation matrices [N, 3, 3] -> unit quaternions [N, 4] (w, x, y, z), Shepperd's method.
at::Tensor quat_from_rotation(const at::Tensor& R) {
  auto m = [&](int i, int j) { return R.index({Slice(), i, j}); };
  const at::Tensor m00 = m(0, 0), m11 = m(1, 1), m22 = m(2, 2);
  const at::Tensor tr = m00 + m11 + m22;
  auto sq = [](const at::Tensor& v) { return (v.clamp_min(1e-12)).sqrt() * 2; };
  const at::Tensor sw = sq(1 + tr), sx = sq(1 + m00 - m11 - m22), sy = sq(1 + m11 - m00 - m22),
                   sz = sq(1 + m22 - m00 - m11);
  const at::Tensor qw = at::stack(
      {sw / 4, (m(2, 1) - m(1, 2)) / sw, (m(0, 2) - m(2, 0)) / sw, (m(1, 0) - m(0, 1)) / sw}, 1);
  const at::Tensor qx = at::stack(
      {(m(2, 1) - m(1, 2)) / sx, sx / 4, (m(0, 1) + m(1, 0)) / sx, (m(0, 2) + m(2, 0)) / sx}, 1);
  const at::Tensor qy = at::stack(
      {(m(0, 2) - m(2, 0)) / sy, (m(0, 1) + m(1, 0)) / sy, sy / 4, (m(1, 2) + m(2, 1)) / sy}, 1);
  const at::Tensor qz = at::stack(
      {(m(1, 0) - m(0, 1)) / sz, (m(0, 2) + m(2, 0)) / sz, (m(1, 2) + m(2, 1)) / sz, sz / 4}, 1);
  const at::Tensor which = at::stack({tr, m00, m11, m22}, 1).argmax(1);  // [N]
  at::Tensor q = at::where((which == 0).unsqueeze(1), qw,
                           at::where((which == 1).unsqueeze(1), qx, at::where((which == 2).unsqueeze(1), qy, qz)));
  return q / q.norm(2, 1, true).clamp_min(1e-12);
}

}  // namespace

splat::GaussianSet lift(const at::Tensor& rgb_in, const at::Tensor& depth_in, const Camera& cam, const LiftOptions& o,
                        const at::Tensor& valid_in, LiftStats* stats) {
  TORCH_CHECK(rgb_in.dim() == 3 && rgb_in.size(2) >= 3, "lift: rgb must be [H, W, 3]");
  TORCH_CHECK(depth_in.dim() == 2 && depth_in.size(0) == rgb_in.size(0) && depth_in.size(1) == rgb_in.size(1),
              "lift: depth must be [H, W] like the image");
  const int64_t H = depth_in.size(0), W = depth_in.size(1);
  const at::Tensor rgb = rgb_in.slice(2, 0, 3).to(at::kCPU, at::kDouble).contiguous();
  const at::Tensor z = depth_in.to(at::kCPU, at::kDouble).contiguous();
  at::Tensor valid = (z > 0) & at::isfinite(z);
  if (o.max_depth > 0) valid = valid & (z <= o.max_depth);
  if (valid_in.defined()) valid = valid & valid_in.to(at::kCPU, at::kBool);

  // Camera-space points [H, W, 3].
  const double fx = cam.fx, fy = cam.fy, cx = cam.cx, cy = cam.cy;
  const at::Tensor xs = (at::arange(W, at::kDouble) + 0.5 - cx) / fx;  // [W]
  const at::Tensor ys = (at::arange(H, at::kDouble) + 0.5 - cy) / fy;  // [H]
  const at::Tensor P = at::stack({xs.view({1, W}) * z, ys.view({H, 1}) * z, z}, 2);

  // One-sided-aware differences along x (dim 1) and y (dim 0).
  const double inf = std::numeric_limits<double>::infinity();
  auto surface_diff = [&](int dim, double f, int axis, at::Tensor& edge) {
    const int64_t n = z.size(dim);
    at::Tensor fwd = at::zeros_like(P), bwd = at::zeros_like(P);
    at::Tensor jf = at::full_like(z, inf), jb = at::full_like(z, inf);
    const at::Tensor zl = z.narrow(dim, 0, n - 1), zr = z.narrow(dim, 1, n - 1);
    const at::Tensor vl = valid.narrow(dim, 0, n - 1), vr = valid.narrow(dim, 1, n - 1);
    const at::Tensor d = P.narrow(dim, 1, n - 1) - P.narrow(dim, 0, n - 1);
    const at::Tensor jump = at::where(vl & vr, (zr - zl).abs() / at::minimum(zl, zr).clamp_min(1e-12),
                                      at::full_like(zl, inf));
    fwd.narrow(dim, 0, n - 1).copy_(d);
    jf.narrow(dim, 0, n - 1).copy_(jump);
    bwd.narrow(dim, 1, n - 1).copy_(d);
    jb.narrow(dim, 1, n - 1).copy_(jump);
    const at::Tensor okf = (jf <= o.discontinuity).unsqueeze(2), okb = (jb <= o.discontinuity).unsqueeze(2);
    at::Tensor frontal = at::zeros_like(P);
    frontal.select(2, axis).copy_(z / f);
    at::Tensor dp = at::where(okf & okb, (fwd + bwd) / 2, at::where(okf, fwd, at::where(okb, bwd, frontal)));
    // Grazing surfaces: cap the footprint.
    const at::Tensor len = dp.norm(2, 2, true), cap = (o.grazing_cap * z / f).unsqueeze(2);
    dp = at::where(len > cap, dp * cap / len.clamp_min(1e-12), dp);
    edge = edge | ~(okf & okb).squeeze(2);
    return dp;
  };
  at::Tensor edge = at::zeros_like(valid);
  const at::Tensor dPdx = surface_diff(1, fx, 0, edge);
  const at::Tensor dPdy = surface_diff(0, fy, 1, edge);
  edge = edge & valid;

  // Blocks: smooth ones (all valid, no edge pixel) give one Gaussian; the rest one per pixel.
  const int64_t b = std::max(1, o.block);
  const int64_t Hb = H / b, Wb = W / b;
  at::Tensor per_pixel = valid.clone();
  std::vector<at::Tensor> means, a1s, a2s, cols;
  int64_t n_blocks = 0, n_split = 0;
  if (b > 1 && Hb > 0 && Wb > 0) {
    auto blocks = [&](const at::Tensor& t) {  // [H, W, ...] -> [Hb, Wb, b*b, ...]
      at::Tensor c = t.slice(0, 0, Hb * b).slice(1, 0, Wb * b);
      std::vector<int64_t> shape = {Hb, b, Wb, b};
      for (int64_t i = 2; i < c.dim(); ++i) shape.push_back(c.size(i));
      c = c.reshape(shape).transpose(1, 2);
      std::vector<int64_t> out = {Hb, Wb, b * b};
      for (int64_t i = 2; i < t.dim(); ++i) out.push_back(t.size(i));
      return c.reshape(out);
    };
    const at::Tensor bv = blocks(valid), be = blocks(edge);
    const at::Tensor all_valid = bv.all(2), any_edge = be.any(2);
    const at::Tensor smooth = all_valid & ~any_edge;  // [Hb, Wb]
    n_split = (bv.any(2) & ~smooth).sum().item<int64_t>();
    // Pixels of smooth blocks are covered by their block's Gaussian.
    at::Tensor covered = at::zeros_like(valid);
    covered.slice(0, 0, Hb * b).slice(1, 0, Wb * b).copy_(smooth.repeat_interleave(b, 0).repeat_interleave(b, 1));
    per_pixel = valid & ~covered;
    {
      const at::Tensor idx = smooth.flatten().nonzero().squeeze(1);
      auto take = [&](const at::Tensor& t) { return blocks(t).flatten(0, 1).index_select(0, idx).mean(1); };
      means.push_back(take(P));
      a1s.push_back(take(dPdx) * double(b));
      a2s.push_back(take(dPdy) * double(b));
      cols.push_back(take(rgb));
      n_blocks = idx.numel();
    }
  }
  const at::Tensor pix = per_pixel.flatten().nonzero().squeeze(1);
  means.push_back(P.view({-1, 3}).index_select(0, pix));
  a1s.push_back(dPdx.view({-1, 3}).index_select(0, pix));
  a2s.push_back(dPdy.view({-1, 3}).index_select(0, pix));
  cols.push_back(rgb.view({-1, 3}).index_select(0, pix));
  const at::Tensor mean_c = at::cat(means), a1 = at::cat(a1s) * o.footprint, a2 = at::cat(a2s) * o.footprint;
  const at::Tensor colour = at::cat(cols);
  const int64_t N = mean_c.size(0);

  // Covariance spanned by the footprint vectors plus a thin normal component; eigen-frame.
  at::Tensor normal = at::cross(a1, a2, 1);
  normal = normal / normal.norm(2, 1, true).clamp_min(1e-30);
  const at::Tensor thick = (o.thickness * at::minimum(a1.norm(2, 1), a2.norm(2, 1))).view({N, 1, 1});
  auto outer = [](const at::Tensor& v) { return v.unsqueeze(2) * v.unsqueeze(1); };
  const at::Tensor cov = outer(a1) + outer(a2) + outer(normal) * thick * thick +
                         1e-14 * at::eye(3, at::kDouble).unsqueeze(0);
  auto [evals, evecs] = at::linalg_eigh(cov);  // ascending; columns are axes
  const at::Tensor det = at::linalg_det(evecs);
  evecs = at::where((det < 0).view({N, 1, 1}), at::cat({-evecs.slice(2, 0, 1), evecs.slice(2, 1, 3)}, 2), evecs);

  // To world coordinates.
  const Mat4 c2w = cam.camera_to_world();
  const at::Tensor R = mat3(c2w), t = at::tensor({c2w[3], c2w[7], c2w[11]}, at::kDouble);
  splat::GaussianSet g;
  g.means = (mean_c.matmul(R.t()) + t).to(at::kFloat).contiguous();
  g.quats = quat_from_rotation(R.unsqueeze(0).matmul(evecs)).to(at::kFloat).contiguous();
  g.log_scales = (0.5 * evals.clamp_min(1e-14).log()).to(at::kFloat).contiguous();
  const double op = std::clamp(o.opacity, 1e-4, 1 - 1e-4);
  g.opacity_logits = at::full({N}, std::log(op / (1 - op)), at::kFloat);
  g.sh = ((colour - 0.5) / kShC0).to(at::kFloat).view({N, 1, 3}).contiguous();
  if (stats) {
    stats->gaussians = N;
    stats->block_gaussians = n_blocks;
    stats->pixel_gaussians = pix.numel();
    stats->split_blocks = n_split;
    stats->edge_pixels = edge.sum().item<int64_t>();
  }
  return g;
}

splat::GaussianSet concat(const splat::GaussianSet& a, const splat::GaussianSet& b) {
  if (a.size() == 0) return b;
  if (b.size() == 0) return a;
  TORCH_CHECK(a.sh.size(1) == b.sh.size(1), "concat: different SH degrees");
  splat::GaussianSet g;
  g.means = at::cat({a.means, b.means});
  g.log_scales = at::cat({a.log_scales, b.log_scales});
  g.quats = at::cat({a.quats, b.quats});
  g.opacity_logits = at::cat({a.opacity_logits, b.opacity_logits});
  g.sh = at::cat({a.sh, b.sh});
  return g;
}

const std::vector<std::string>& move_directions() {
  static const std::vector<std::string> d = {"right", "left", "up", "down", "forward", "back"};
  return d;
}

Camera moved_camera(const Camera& source, const std::string& direction, double distance) {
  // Moving the centre by d along camera axis i changes the translation by -d e_i.
  int axis = 0;
  double sign = 1;
  if (direction == "right") axis = 0, sign = 1;
  else if (direction == "left") axis = 0, sign = -1;
  else if (direction == "up") axis = 1, sign = -1;
  else if (direction == "down") axis = 1, sign = 1;
  else if (direction == "forward") axis = 2, sign = 1;
  else if (direction == "back") axis = 2, sign = -1;
  else throw std::invalid_argument("unknown move direction '" + direction + "'");
  Camera c = source;
  c.world_to_camera[size_t(axis * 4 + 3)] -= sign * distance;
  return c;
}

RenderedView render_view(const splat::GaussianSet& g, const Camera& camera) {
  splat::RenderSettings s;
  s.sh_degree = g.sh_degree();
  at::NoGradGuard no_grad;
  const splat::RenderOutput out = splat::render(g.means, g.log_scales, g.quats, g.opacity_logits, g.sh,
                                                splat::to_render_camera(camera), s);
  return {out.rgb.clamp(0, 1).contiguous(), out.alpha.contiguous(), out.depth.contiguous()};
}

double hole_fraction(const splat::GaussianSet& g, const Camera& camera) {
  return (render_view(g, camera).alpha < 0.5).to(at::kDouble).mean().item<double>();
}

nlohmann::json DisplacementLimit::to_json() const {
  return {{"hole_threshold", hole_threshold}, {"max_displacement", limit}, {"per_direction", per_direction}};
}

DisplacementLimit displacement_limit(const splat::GaussianSet& g, const Camera& source, double median_depth,
                                     double hole_threshold, double max_distance, int render_width) {
  DisplacementLimit r;
  r.hole_threshold = hole_threshold;
  Camera small = source;
  if (source.width > render_width) {
    const int h = std::max(8, int(std::lround(double(source.height) * render_width / source.width)));
    small = source.resized(render_width, h);
  }
  const double base = hole_fraction(g, small);  // holes already at the source (masked pixels)
  auto over = [&](const std::string& dir, double d) {
    return hole_fraction(g, moved_camera(small, dir, d)) - base > hole_threshold;
  };
  r.limit = max_distance;
  for (const auto& dir : move_directions()) {
    double lo = 0, hi = std::min(std::max(1e-3 * median_depth, 1e-6), max_distance);
    bool capped = false;
    while (!over(dir, hi)) {
      lo = hi;
      if (hi >= max_distance) {
        capped = true;
        break;
      }
      hi = std::min(hi * 2, max_distance);
    }
    if (!capped)
      for (int i = 0; i < 12 && hi - lo > 0.02 * hi; ++i) {
        const double mid = 0.5 * (lo + hi);
        (over(dir, mid) ? hi : lo) = mid;
      }
    r.per_direction[dir] = lo;
    r.limit = std::min(r.limit, lo);
  }
  return r;
}

void inpaint_view(at::Tensor& rgb, at::Tensor& depth, const at::Tensor& holes, double radius) {
  const int H = int(rgb.size(0)), W = int(rgb.size(1));
  at::Tensor rgb8 = (rgb.slice(2, 0, 3).to(at::kCPU, at::kFloat).clamp(0, 1) * 255).round().to(at::kByte).contiguous();
  at::Tensor m8 = (holes.to(at::kCPU, at::kBool).to(at::kByte) * 255).contiguous();
  at::Tensor d = depth.to(at::kCPU, at::kFloat).contiguous().clone();
  cv::Mat crgb(H, W, CV_8UC3, rgb8.data_ptr()), mask(H, W, CV_8U, m8.data_ptr()), cd(H, W, CV_32F, d.data_ptr());
  cv::Mat filled_rgb;
  cv::inpaint(crgb, mask, filled_rgb, radius, cv::INPAINT_TELEA);
  // Disocclusions show what lies behind: each run of hole pixels along a row takes the larger
  // (farther) of the known depths at its two ends; runs touching no known pixel in their row are
  // then filled the same way along their column.
  cv::Mat unknown = mask.clone();
  auto fill_runs = [&](bool rows) {
    const int lines = rows ? H : W, len = rows ? W : H;
    for (int l = 0; l < lines; ++l) {
      auto at_z = [&](int i) -> float& { return rows ? cd.at<float>(l, i) : cd.at<float>(i, l); };
      auto hole = [&](int i) { return (rows ? unknown.at<uchar>(l, i) : unknown.at<uchar>(i, l)) != 0; };
      for (int i = 0; i < len;) {
        if (!hole(i)) {
          ++i;
          continue;
        }
        int j = i;
        while (j < len && hole(j)) ++j;
        const float left = i > 0 ? at_z(i - 1) : 0.f, right = j < len ? at_z(j) : 0.f;
        const float z = std::max(left, right);
        if (z > 0)
          for (int k = i; k < j; ++k) {
            at_z(k) = z;
            (rows ? unknown.at<uchar>(l, k) : unknown.at<uchar>(k, l)) = 0;
          }
        i = j;
      }
    }
  };
  fill_runs(true);
  fill_runs(false);
  rgb = at::from_blob(filled_rgb.data, {H, W, 3}, at::kByte).to(at::kFloat).div(255).clone();
  depth = d;
}

double refine(splat::GaussianSet& g, const std::vector<RefineView>& views, int steps, double extent,
              const std::function<bool()>& cancelled) {
  if (steps <= 0 || views.empty() || g.size() == 0) return std::nan("");
  splat::Adam adam;
  adam.add_group("means", g.means, 1.6e-4 * extent);
  adam.add_group("log_scales", g.log_scales, 5e-3);
  adam.add_group("quats", g.quats, 1e-3);
  adam.add_group("opacity", g.opacity_logits, 2.5e-2);
  adam.add_group("sh", g.sh, 2.5e-3);
  splat::RenderSettings s;
  s.sh_degree = g.sh_degree();
  double last = 0;
  for (int i = 0; i < steps; ++i) {
    if (cancelled && cancelled()) break;
    const RefineView& v = views[size_t(i) % views.size()];
    adam.zero_grad();
    const splat::RenderOutput out = splat::render(adam.param(0), adam.param(1), adam.param(2), adam.param(3),
                                                  adam.param(4), splat::to_render_camera(v.camera), s);
    at::Tensor err = (out.rgb - v.target).abs().mean(2);  // [H, W]
    at::Tensor loss = v.weight.defined() ? (err * v.weight).sum() / v.weight.sum().clamp_min(1) : err.mean();
    loss.backward();
    adam.step();
    last = loss.item<double>();
  }
  g.means = adam.param(0).detach().clone();
  g.log_scales = adam.param(1).detach().clone();
  g.quats = adam.param(2).detach().clone();
  g.opacity_logits = adam.param(3).detach().clone();
  g.sh = adam.param(4).detach().clone();
  return last;
}

}  // namespace camgraph::depth
