#include "splat/train/density.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace camgraph::splat {
namespace {
constexpr int64_t kMaxRatio = 51;  // copies per source in one MCMC move

}  // namespace

at::Tensor quat_to_rotmat(const at::Tensor& quats) {
  auto q = quats / quats.norm(2, -1, true).clamp_min(1e-12);  // [N,4]
  auto w = q.select(1, 0), x = q.select(1, 1), y = q.select(1, 2), z = q.select(1, 3);
  return at::stack({1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y), 2 * (x * y + w * z),
                    1 - 2 * (x * x + z * z), 2 * (y * z - w * x), 2 * (x * z - w * y), 2 * (y * z + w * x),
                    1 - 2 * (x * x + y * y)},
                   -1)
      .view({-1, 3, 3});
}

void DensityStats::reset(int64_t n, c10::Device device) {
  const auto opt = at::TensorOptions().dtype(at::kFloat).device(device);
  grad_sum = at::zeros({n}, opt);
  count = at::zeros({n}, opt);
  max_radii = at::zeros({n}, opt);
}

void accumulate_stats(DensityStats& stats, const at::Tensor& v_means2d, const at::Tensor& radii, int width, int height,
                      double radius_scale) {
  const int64_t n = stats.size();
  if (v_means2d.scalar_type() != at::kFloat || radii.scalar_type() != at::kInt || !v_means2d.device().is_cpu() ||
      !radii.device().is_cpu() || v_means2d.numel() != 2 * n || radii.numel() != n || !stats.grad_sum.is_contiguous() ||
      !stats.count.is_contiguous() || !stats.max_radii.is_contiguous()) {
    accumulate_stats_torch(stats, v_means2d, radii, width, height, radius_scale);
    return;
  }
  const auto g = v_means2d.detach().contiguous();  // [N, 2]
  const auto r = radii.contiguous();               // [N]
  const float* __restrict gp = g.data_ptr<float>();
  const int32_t* __restrict rp = r.data_ptr<int32_t>();
  float* __restrict sum = stats.grad_sum.data_ptr<float>();
  float* __restrict cnt = stats.count.data_ptr<float>();
  float* __restrict mr = stats.max_radii.data_ptr<float>();
  const float sx = 0.5f * float(width), sy = 0.5f * float(height), rs = float(radius_scale);
  for (int64_t i = 0; i < n; ++i) {
    if (rp[i] <= 0) continue;
    const double gx = double(gp[2 * i] * sx), gy = double(gp[2 * i + 1] * sy);  // as (g * scale).norm()
    sum[i] += float(std::sqrt(gx * gx + gy * gy));
    cnt[i] += 1.0f;
    mr[i] = std::max(mr[i], float(rp[i]) * rs);
  }
}

void accumulate_stats_torch(DensityStats& stats, const at::Tensor& v_means2d, const at::Tensor& radii, int width,
                            int height, double radius_scale) {
  at::NoGradGuard no_grad;
  auto g = v_means2d.detach().to(at::kFloat);             // [N,2]
  auto scale = at::full({2}, 0.5f * width, g.options());  // filled on g's device: no host copy
  scale[1].fill_(0.5f * height);
  auto norm = (g * scale).norm(2, -1);  // [N]
  auto vis = (radii > 0);               // [N] bool
  auto visf = vis.to(at::kFloat);
  stats.grad_sum.add_(norm * visf);
  stats.count.add_(visf);
  stats.max_radii = at::maximum(stats.max_radii, radii.to(at::kFloat) * float(radius_scale) * visf);
}

void prune_rows(Adam& adam, DensityStats& stats, const at::Tensor& mask) {
  auto keep = mask.logical_not();
  adam.keep_rows(keep);
  if (stats.size() > 0) {
    auto idx = keep.nonzero().squeeze(1);
    stats.grad_sum = stats.grad_sum.index_select(0, idx);
    stats.count = stats.count.index_select(0, idx);
    stats.max_radii = stats.max_radii.index_select(0, idx);
  }
}

DensifyResult densify_and_prune(Adam& adam, DensityStats& stats, const DensifyParams& p, at::Generator& gen) {
  at::NoGradGuard no_grad;
  DensifyResult res;
  const int64_t n = adam.rows();
  auto grads = (stats.grad_sum / stats.count.clamp_min(1));  // [N], 0 where never visible
  auto log_scales = adam.param(kLogScales).detach();         // [N,3]
  auto max_scale = at::exp(log_scales).amax(1);              // [N]
  auto high = grads >= p.grad_threshold;
  auto small = max_scale <= p.percent_dense * p.extent;
  auto candidates = high;
  if (p.max_gaussians > 0) {
    const int64_t budget = std::max<int64_t>(0, p.max_gaussians - n);  // each adds one net
    if (candidates.sum().item<int64_t>() > budget) {
      auto score = at::where(candidates, grads, at::full_like(grads, -1.0f));
      auto top = std::get<1>(score.topk(budget));
      candidates = at::zeros_like(high).index_fill_(0, top, true);
    }
  }
  auto clone_idx = (candidates & small).nonzero().squeeze(1);
  auto split_idx = (candidates & small.logical_not()).nonzero().squeeze(1);
  res.cloned = clone_idx.size(0);
  res.split = split_idx.size(0);

  // New rows: clones (exact copies), then two children per split parent.
  std::vector<at::Tensor> rows(adam.size());
  auto split2 = split_idx.repeat({2});                               // [2S]: parents a, b, .., a, b, ..
  auto parent_scales = at::exp(log_scales.index_select(0, split2));  // [2S,3]
  auto samples = at::randn(parent_scales.sizes(), gen, parent_scales.options()) * parent_scales;
  auto rot = quat_to_rotmat(adam.param(kQuats).detach().index_select(0, split2));  // [2S,3,3]
  for (size_t gi = 0; gi < adam.size(); ++gi) {
    auto par = adam.param(gi).detach();
    auto children = par.index_select(0, split2);
    if (gi == kMeans) children = children + at::matmul(rot, samples.unsqueeze(-1)).squeeze(-1);
    if (gi == kLogScales) children = children - std::log(1.6);
    rows[gi] = at::cat({par.index_select(0, clone_idx), children});
  }
  adam.append_rows(rows);
  const int64_t added = res.cloned + 2 * res.split;
  // Screen sizes seen since the last refinement (new rows have none yet).
  auto radii = at::cat({stats.max_radii, at::zeros({added}, stats.max_radii.options())});  // [N + added]
  stats.reset(n + added, log_scales.device());

  // Prune: split parents, transparent and (optionally) too large Gaussians.
  auto prune = at::zeros({n + added}, log_scales.options().dtype(at::kBool));
  prune.index_fill_(0, split_idx, true);
  auto opacity = at::sigmoid(adam.param(kOpacity).detach());
  prune |= opacity < p.min_opacity;
  if (p.prune_large) {
    auto ms = at::exp(adam.param(kLogScales).detach()).amax(1);
    prune |= ms > p.max_world_scale * p.extent;
    if (p.max_screen_px > 0) prune |= radii > p.max_screen_px;
  }
  res.pruned = prune.sum().item<int64_t>() - res.split;
  prune_rows(adam, stats, prune);
  return res;
}

void reset_opacity(Adam& adam, double value) {
  at::NoGradGuard no_grad;
  auto logits = adam.param(kOpacity).detach();
  adam.set_param(kOpacity, at::clamp_max(logits, std::log(value / (1 - value))));
  adam.zero_state(kOpacity);
}

std::pair<at::Tensor, at::Tensor> mcmc_split_update(const at::Tensor& opacity, const at::Tensor& scales,
                                                    const at::Tensor& ratio) {
  if (!opacity.device().is_cpu() || !ratio.device().is_cpu()) return mcmc_split_update_torch(opacity, scales, ratio);
  // Binomial coefficients C(n, k) for n < kMaxRatio.
  static const std::vector<double> binom = [] {
    std::vector<double> b(kMaxRatio * kMaxRatio, 0.0);
    for (int64_t n = 0; n < kMaxRatio; ++n) {
      b[n * kMaxRatio] = 1;
      for (int64_t k = 1; k <= n; ++k)
        b[n * kMaxRatio + k] = b[(n - 1) * kMaxRatio + k - 1] + (k < n ? b[(n - 1) * kMaxRatio + k] : 0);
    }
    return b;
  }();
  auto op = opacity.detach().to(at::kDouble).contiguous();
  auto r = ratio.to(at::kLong).clamp(1, kMaxRatio).contiguous();
  const int64_t m = op.size(0);
  auto new_op = at::empty({m}, at::kDouble), coeff = at::empty({m}, at::kDouble);
  const double* o = op.data_ptr<double>();
  const int64_t* rr = r.data_ptr<int64_t>();
  double* no = new_op.data_ptr<double>();
  double* co = coeff.data_ptr<double>();
  for (int64_t j = 0; j < m; ++j) {
    const int64_t n = rr[j];
    const double a = 1 - std::pow(1 - o[j], 1.0 / double(n));
    double denom = 0;
    for (int64_t i = 1; i <= n; ++i)
      for (int64_t k = 0; k <= i - 1; ++k)
        denom += binom[(i - 1) * kMaxRatio + k] * ((k % 2) ? -1.0 : 1.0) / std::sqrt(double(k + 1)) *
                 std::pow(a, double(k + 1));
    no[j] = a;
    co[j] = o[j] / denom;
  }
  auto new_scales = scales.detach() * coeff.to(scales.dtype()).unsqueeze(1);
  return {new_op.to(opacity.dtype()), new_scales};
}

std::pair<at::Tensor, at::Tensor> mcmc_split_update_torch(const at::Tensor& opacity, const at::Tensor& scales,
                                                          const at::Tensor& ratio) {
  // denom(n, a) = sum_{i=1..n} sum_{k=0..i-1} C(i-1, k) (-1)^k a^(k+1) / sqrt(k+1)
  //             = sum_{j=1..n} C(n, j) (-1)^(j-1) a^j / sqrt(j)    (sum_{i=j..n} C(i-1, j-1) = C(n, j))
  const auto dopt = opacity.options().dtype(at::kDouble);
  const int64_t m = opacity.size(0);
  if (m == 0) return {opacity.detach().clone(), scales.detach().clone()};
  auto op = opacity.detach().to(at::kDouble);                          // [M]
  auto n = ratio.to(opacity.device(), at::kLong).clamp(1, kMaxRatio);  // [M]
  auto a = 1 - at::pow(1 - op, 1.0 / n.to(at::kDouble));               // [M]
  const int64_t kmax = n.max().item<int64_t>();
  // Coefficients C(n, j) (-1)^(j-1) / sqrt(j), rows n = 1..kmax, columns j = 1..kmax (0 past n).
  std::vector<double> table(size_t(kmax * kmax), 0.0);
  for (int64_t r = 1; r <= kmax; ++r) {
    double c = 1;  // C(r, j), built up along the row
    for (int64_t j = 1; j <= r; ++j) {
      c = c * double(r - j + 1) / double(j);
      table[size_t((r - 1) * kmax + j - 1)] = ((j % 2) ? 1.0 : -1.0) * c / std::sqrt(double(j));
    }
  }
  auto coeff = at::tensor(table, at::kDouble).view({kmax, kmax}).to(opacity.device());
  auto powers = at::pow(a.unsqueeze(1), at::arange(1, kmax + 1, dopt).unsqueeze(0));  // [M, kmax]
  auto denom = (coeff.index_select(0, n - 1) * powers).sum(1);                        // [M]
  auto new_scales = scales.detach() * (op / denom).to(scales.dtype()).unsqueeze(1);
  return {a.to(opacity.dtype()), new_scales};
}

namespace {
// Gives the sampled sources their corrected opacity and scale; returns the sampled indices.
void apply_split_update(Adam& adam, const at::Tensor& sampled, int64_t n, double min_opacity, bool fused) {
  auto ratio = at::bincount(sampled, {}, n).index_select(0, sampled) + 1;  // copies incl. source
  auto op = at::sigmoid(adam.param(kOpacity).detach().index_select(0, sampled));
  auto sc = at::exp(adam.param(kLogScales).detach().index_select(0, sampled));
  auto [new_op, new_sc] = fused ? mcmc_split_update(op, sc, ratio) : mcmc_split_update_torch(op, sc, ratio);
  const double eps = std::numeric_limits<float>::epsilon();
  new_op = new_op.clamp(min_opacity, 1.0 - eps);
  adam.set_rows(kOpacity, sampled, at::logit(new_op));
  adam.set_rows(kLogScales, sampled, at::log(new_sc));
}
}  // namespace

int64_t mcmc_relocate(Adam& adam, double min_opacity, at::Generator& gen, bool fused) {
  at::NoGradGuard no_grad;
  const int64_t n = adam.rows();
  auto op = at::sigmoid(adam.param(kOpacity).detach());  // [N]
  auto dead = op <= min_opacity;
  auto dead_idx = dead.nonzero().squeeze(1);
  auto alive_idx = dead.logical_not().nonzero().squeeze(1);
  const int64_t n_dead = dead_idx.size(0);
  if (n_dead == 0 || alive_idx.size(0) == 0) return 0;
  auto probs = op.index_select(0, alive_idx);
  auto sampled = alive_idx.index_select(0, at::multinomial(probs, n_dead, true, gen));
  apply_split_update(adam, sampled, n, min_opacity, fused);
  for (size_t gi = 0; gi < adam.size(); ++gi)
    adam.set_rows(gi, dead_idx, adam.param(gi).detach().index_select(0, sampled));
  adam.zero_state_rows(sampled);
  adam.zero_state_rows(dead_idx);
  return n_dead;
}

int64_t mcmc_add(Adam& adam, int64_t cap, double growth, double min_opacity, at::Generator& gen, bool fused) {
  at::NoGradGuard no_grad;
  const int64_t n = adam.rows();
  const int64_t target = std::min<int64_t>(cap, int64_t(double(n) * (1 + growth)));
  const int64_t n_new = std::max<int64_t>(0, target - n);
  if (n_new == 0) return 0;
  auto op = at::sigmoid(adam.param(kOpacity).detach());
  auto sampled = at::multinomial(op, n_new, true, gen);
  apply_split_update(adam, sampled, n, min_opacity, fused);
  std::vector<at::Tensor> rows(adam.size());
  for (size_t gi = 0; gi < adam.size(); ++gi) rows[gi] = adam.param(gi).detach().index_select(0, sampled);
  adam.append_rows(rows);
  return n_new;
}

void mcmc_inject_noise(Adam& adam, double scale, at::Generator& gen) {
  at::NoGradGuard no_grad;
  auto op = at::sigmoid(adam.param(kOpacity).detach());                       // [N]
  auto s = at::exp(adam.param(kLogScales).detach());                          // [N,3]
  auto m = quat_to_rotmat(adam.param(kQuats).detach()) * s.unsqueeze(1);      // [N,3,3] R S
  auto cov = at::matmul(m, m.transpose(1, 2));                                // [N,3,3]
  auto gate = at::sigmoid(100.0 * ((1 - op) - 0.995)).unsqueeze(1);           // [N,1]
  auto noise = at::randn({adam.rows(), 3}, gen, s.options()) * gate * scale;  // [N,3]
  noise = at::matmul(cov, noise.unsqueeze(-1)).squeeze(-1);
  adam.set_param(kMeans, adam.param(kMeans).detach() + noise);
}

}  // namespace camgraph::splat
