#include "splat/train/init.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace camgraph::splat {
namespace {

// Static k-d tree over an index permutation; leaves hold up to kLeaf points.
class KdTree {
 public:
  explicit KdTree(const float* pts, int64_t n) : p_(pts), idx_(n) {
    std::iota(idx_.begin(), idx_.end(), 0);
    nodes_.reserve(size_t(2 * n / kLeaf + 2));
    if (n > 0) build(0, n);
  }

  // The k smallest squared distances from point q (excluding index `self`), ascending.
  int query(int64_t self, int k, float* best) const {
    int found = 0;
    for (int i = 0; i < k; ++i) best[i] = std::numeric_limits<float>::infinity();
    if (!nodes_.empty()) search(0, self, k, best, found);
    return std::min(found, k);
  }

 private:
  static constexpr int64_t kLeaf = 8;
  struct Node {
    int64_t begin, end;
    int axis;  // -1: leaf
    float split;
    int32_t left, right;
  };

  int32_t build(int64_t b, int64_t e) {
    const int32_t id = int32_t(nodes_.size());
    nodes_.push_back({b, e, -1, 0.f, -1, -1});
    if (e - b <= kLeaf) return id;
    float lo[3], hi[3];
    for (int a = 0; a < 3; ++a) lo[a] = hi[a] = p_[idx_[b] * 3 + a];
    for (int64_t i = b; i < e; ++i)
      for (int a = 0; a < 3; ++a) {
        lo[a] = std::min(lo[a], p_[idx_[i] * 3 + a]);
        hi[a] = std::max(hi[a], p_[idx_[i] * 3 + a]);
      }
    int axis = 0;
    for (int a = 1; a < 3; ++a)
      if (hi[a] - lo[a] > hi[axis] - lo[axis]) axis = a;
    const int64_t m = b + (e - b) / 2;
    std::nth_element(idx_.begin() + b, idx_.begin() + m, idx_.begin() + e,
                     [&](int64_t x, int64_t y) { return p_[x * 3 + axis] < p_[y * 3 + axis]; });
    const float split = p_[idx_[m] * 3 + axis];
    const int32_t l = build(b, m), r = build(m, e);
    nodes_[id].axis = axis;
    nodes_[id].split = split;
    nodes_[id].left = l;
    nodes_[id].right = r;
    return id;
  }

  void search(int32_t id, int64_t self, int k, float* best, int& found) const {
    const Node& nd = nodes_[id];
    const float* q = p_ + self * 3;
    if (nd.axis < 0) {
      for (int64_t i = nd.begin; i < nd.end; ++i) {
        const int64_t j = idx_[i];
        if (j == self) continue;
        const float dx = p_[j * 3] - q[0], dy = p_[j * 3 + 1] - q[1], dz = p_[j * 3 + 2] - q[2];
        const float d = dx * dx + dy * dy + dz * dz;
        ++found;
        if (d >= best[k - 1]) continue;
        int s = k - 1;  // insertion into the sorted list
        while (s > 0 && best[s - 1] > d) {
          best[s] = best[s - 1];
          --s;
        }
        best[s] = d;
      }
      return;
    }
    const float diff = q[nd.axis] - nd.split;
    const int32_t near = diff < 0 ? nd.left : nd.right, far = diff < 0 ? nd.right : nd.left;
    search(near, self, k, best, found);
    if (diff * diff < best[k - 1]) search(far, self, k, best, found);
  }

  const float* p_;
  std::vector<int64_t> idx_;
  std::vector<Node> nodes_;
};

at::Tensor rgb_to_sh_dc(const at::Tensor& colours) {  // [N,3] -> [N,1,3]
  return ((colours - 0.5) / kShC0).unsqueeze(1);
}

InitialGaussians finish(const at::Tensor& means, const at::Tensor& colours, double opacity) {
  const int64_t n = means.size(0);
  InitialGaussians g;
  g.means = means;
  auto d2 = knn_mean_sq_dist(means, 3).clamp_min(1e-7);  // [N]
  g.log_scales = at::log(at::sqrt(d2)).unsqueeze(1).repeat({1, 3});
  g.quats = at::zeros({n, 4}, at::kFloat);
  g.quats.select(1, 0).fill_(1);
  const double logit = std::log(opacity / (1 - opacity));
  g.opacity_logits = at::full({n}, logit, at::kFloat);
  g.sh_dc = rgb_to_sh_dc(colours);
  return g;
}

}  // namespace

at::Tensor knn_mean_sq_dist(const at::Tensor& points, int k) {
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 3, "knn_mean_sq_dist: points must be [P, 3]");
  TORCH_CHECK(k >= 1 && k <= 32, "knn_mean_sq_dist: k must be in 1..32");
  auto pts = points.detach().to(at::kCPU, at::kFloat).contiguous();
  const int64_t n = pts.size(0);
  auto out = at::ones({n}, at::kFloat);
  if (n < 2) return out;
  KdTree tree(pts.data_ptr<float>(), n);
  float* o = out.data_ptr<float>();
  at::parallel_for(0, n, 2048, [&](int64_t b, int64_t e) {
    std::array<float, 32> best;
    for (int64_t i = b; i < e; ++i) {
      const int m = tree.query(i, k, best.data());
      double s = 0;
      for (int j = 0; j < m; ++j) s += best[j];
      o[i] = float(s / m);
    }
  });
  return out;
}

InitialGaussians init_from_points(const at::Tensor& points, const at::Tensor& colours, double opacity) {
  if (!points.defined() || points.dim() != 2 || points.size(1) != 3 || points.size(0) == 0)
    throw std::invalid_argument("init_from_points: points must be a non-empty [P, 3] tensor");
  auto p = points.detach().to(at::kCPU, at::kFloat).contiguous();
  at::Tensor c;
  if (colours.defined() && colours.sizes() == points.sizes()) c = colours.detach().to(at::kCPU, at::kFloat).clamp(0, 1);
  else c = at::full_like(p, 0.5);
  return finish(p, c, opacity);
}

InitialGaussians init_random(int64_t count, double half_size, double opacity, at::Generator& gen) {
  if (count <= 0) throw std::invalid_argument("init_random: count must be positive");
  auto means = (at::rand({count, 3}, gen, at::kFloat) * 2 - 1) * half_size;
  auto colours = at::rand({count, 3}, gen, at::kFloat);
  return finish(means, colours, opacity);
}

}  // namespace camgraph::splat
