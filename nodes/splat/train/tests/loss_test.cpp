#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "splat/raster/render.h"
#include "splat/train/loss.h"

using namespace camgraph::splat;

namespace {
// Direct windowed SSIM in double precision: 2D Gaussian window, zero padding, mean over pixels
// and channels.
double reference_ssim(const at::Tensor& a, const at::Tensor& b, int win, double sigma) {
  auto A = a.to(at::kDouble).contiguous(), B = b.to(at::kDouble).contiguous();
  const int H = A.size(0), W = A.size(1), C = A.size(2);
  std::vector<double> g(win);
  double gs = 0;
  for (int i = 0; i < win; ++i) gs += g[i] = std::exp(-double((i - win / 2) * (i - win / 2)) / (2 * sigma * sigma));
  for (auto& v : g) v /= gs;
  auto pa = A.accessor<double, 3>(), pb = B.accessor<double, 3>();
  const double C1 = 1e-4, C2 = 9e-4;
  double total = 0;
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        double mx = 0, my = 0, mxx = 0, myy = 0, mxy = 0;
        for (int dy = -win / 2; dy <= win / 2; ++dy)
          for (int dx = -win / 2; dx <= win / 2; ++dx) {
            const int yy = y + dy, xx = x + dx;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // zero padding
            const double w = g[dy + win / 2] * g[dx + win / 2], u = pa[yy][xx][c], v = pb[yy][xx][c];
            mx += w * u;
            my += w * v;
            mxx += w * u * u;
            myy += w * v * v;
            mxy += w * u * v;
          }
        const double sx = mxx - mx * mx, sy = myy - my * my, sxy = mxy - mx * my;
        total += ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sx + sy + C2));
      }
  return total / (H * W * C);
}
}  // namespace

TEST(SplatLoss, SsimOfIdenticalImagesIsOne) {
  at::manual_seed(1);
  auto img = at::rand({20, 17, 3});
  EXPECT_NEAR(ssim(img, img).item<double>(), 1.0, 1e-6);
}

TEST(SplatLoss, SsimMatchesDirectReference) {
  at::manual_seed(2);
  auto a = at::rand({19, 23, 3}, at::kDouble);
  auto b = (a * 0.7 + 0.3 * at::rand({19, 23, 3}, at::kDouble)).clamp(0, 1);
  const double ref = reference_ssim(a, b, 11, 1.5);
  EXPECT_LT(ref, 0.99);                                                             // not trivially 1
  EXPECT_NEAR(ssim(a, b).item<double>(), ref, 1e-10);                               // double
  EXPECT_NEAR(ssim(a.to(at::kFloat), b.to(at::kFloat)).item<double>(), ref, 2e-5);  // float
  // Unrelated random images have a low SSIM.
  auto c = at::rand({19, 23, 3}, at::kDouble);
  EXPECT_NEAR(ssim(a, c).item<double>(), reference_ssim(a, c, 11, 1.5), 1e-10);
}

TEST(SplatLoss, SsimIsDifferentiable) {
  at::manual_seed(3);
  auto a = at::rand({16, 16, 3}).requires_grad_(true);
  auto b = at::rand({16, 16, 3});
  auto loss = photometric_loss(a, b, 0.2);
  loss.backward();
  ASSERT_TRUE(a.grad().defined());
  EXPECT_GT(a.grad().abs().sum().item<double>(), 0);
  // Matches the definition.
  EXPECT_NEAR(loss.item<double>(), 0.8 * (a - b).abs().mean().item<double>() + 0.2 * (1 - ssim(a, b).item<double>()),
              1e-6);
}

TEST(SplatLoss, PsnrAndWindow) {
  auto a = at::full({8, 8, 3}, 0.5), b = at::full({8, 8, 3}, 0.6);
  EXPECT_NEAR(psnr(a, b), 20.0, 1e-4);  // mse 0.01
  EXPECT_TRUE(std::isinf(psnr(a, a)));
  auto g = gaussian_window(11, 1.5, at::kDouble);
  EXPECT_NEAR(g.sum().item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(g[5].item<double>() / g[6].item<double>(), std::exp(1.0 / (2 * 1.5 * 1.5)), 1e-12);
}

// ---- fused loss vs the torch ops (the reference twin) -------------------------------------

namespace {
struct LossAndGrad {
  double loss;
  at::Tensor grad;
};
LossAndGrad torch_loss(const at::Tensor& a, const at::Tensor& b, double lambda) {
  auto x = a.detach().clone().requires_grad_(true);
  auto l = photometric_loss(x, b, lambda);
  l.backward();
  return {l.item<double>(), x.grad()};
}
LossAndGrad fused_loss(const at::Tensor& a, const at::Tensor& b, double lambda) {
  auto x = a.detach().clone().requires_grad_(true);
  auto l = photometric_loss_fused(x, b, lambda);
  (3 * l).backward();  // the incoming gradient is applied
  return {l.item<double>(), x.grad() / 3};
}
double max_abs(const at::Tensor& t) { return t.abs().max().item<double>(); }
// A pair of related images (a rendering and its target), with exact ties for the L1 subgradient.
std::pair<at::Tensor, at::Tensor> image_pair(int64_t h, int64_t w, at::ScalarType type, uint64_t seed) {
  at::manual_seed(seed);
  auto b = at::rand({h, w, 3}, at::kDouble);
  auto a = (0.8 * b + 0.2 * at::rand({h, w, 3}, at::kDouble)).clamp(0, 1);
  a.index_put_({0, 0}, b.index({0, 0}));
  return {a.to(type), b.to(type)};
}
}  // namespace

// Double precision: the fused loss equals the torch graph to ~1e-12 (value and gradient), on
// images larger and smaller than the window (borders everywhere), for lambda 0, 0.2 and 1.
TEST(SplatLoss, FusedMatchesTorchInDouble) {
  for (auto [h, w] : {std::pair<int64_t, int64_t>{19, 23}, {6, 9}, {40, 3}}) {
    auto [a, b] = image_pair(h, w, at::kDouble, 7 + h);
    for (double lambda : {0.0, 0.2, 1.0}) {
      auto t = torch_loss(a, b, lambda), f = fused_loss(a, b, lambda);
      EXPECT_NEAR(f.loss, t.loss, 1e-12 * std::abs(t.loss)) << h << "x" << w << " lambda " << lambda;
      EXPECT_LE(max_abs(f.grad - t.grad), 1e-10 * max_abs(t.grad)) << h << "x" << w << " lambda " << lambda;
    }
    EXPECT_NEAR(ssim_fused(a, b), reference_ssim(a, b, 11, 1.5), 1e-12);
    EXPECT_NEAR(ssim_fused(a, b, 7, 1.0), reference_ssim(a, b, 7, 1.0), 1e-12);
  }
}

// Float (the trainer's case) at a training-like size: value within 1e-5 relative, gradient
// within 1e-5 of its largest element (both computed in float, different summation orders).
TEST(SplatLoss, FusedMatchesTorchInFloat) {
  auto [a, b] = image_pair(67, 121, at::kFloat, 9);
  auto t = torch_loss(a, b, 0.2), f = fused_loss(a, b, 0.2);
  EXPECT_NEAR(f.loss, t.loss, 1e-5 * std::abs(t.loss));
  EXPECT_LE(max_abs(f.grad - t.grad), 1e-5 * max_abs(t.grad));
  EXPECT_EQ(f.grad.scalar_type(), at::kFloat);
  EXPECT_NEAR(ssim_fused(a, b), ssim(a, b).item<double>(), 1e-5);
  // Without grad: the same value, no graph.
  auto v = photometric_loss_fused(a, b, 0.2);
  EXPECT_FALSE(v.requires_grad());
  EXPECT_NEAR(v.item<double>(), f.loss, 1e-7);
  // Identical images: SSIM 1, zero loss and zero gradient.
  auto same = fused_loss(b, b, 0.2);
  EXPECT_NEAR(same.loss, 0.0, 1e-6);
  EXPECT_LE(max_abs(same.grad), 1e-9);
}

// The result does not depend on the number of threads.
TEST(SplatLoss, FusedIsThreadCountIndependent) {
  auto [a, b] = image_pair(90, 50, at::kFloat, 10);
  set_cpu_threads(1);
  auto one = fused_loss(a, b, 0.2);
  set_cpu_threads(3);
  auto three = fused_loss(a, b, 0.2);
  set_cpu_threads(0);  // the default
  EXPECT_EQ(one.loss, three.loss);
  EXPECT_TRUE(at::equal(one.grad, three.grad));
}
