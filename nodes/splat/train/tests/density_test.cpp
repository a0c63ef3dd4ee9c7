#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "splat/train/density.h"
#include "splat/train/init.h"

using namespace camgraph::splat;

namespace {
// Four Gaussians: 0 clone (high grad, small), 1 split (high grad, large), 2 prune (transparent),
// 3 keep. extent 1 -> clone/split boundary at scale 0.01.
Adam make_adam() {
  Adam adam;
  adam.add_group("means", at::tensor({0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 2.f, 0.f, 0.f, 3.f, 0.f, 0.f}).view({4, 3}), 1e-3);
  adam.add_group("log_scales", at::log(at::tensor({0.005f, 0.05f, 0.02f, 0.02f})).unsqueeze(1).repeat({1, 3}), 1e-3);
  adam.add_group("quats", at::tensor({1.f, 0.f, 0.f, 0.f}).repeat({4, 1}), 1e-3);
  adam.add_group("opacity", at::logit(at::tensor({0.5f, 0.6f, 0.001f, 0.7f})), 1e-3);
  adam.add_group("sh_dc", at::arange(12, at::kFloat).view({4, 1, 3}), 1e-3);
  adam.add_group("sh_rest", at::zeros({4, 3, 3}), 1e-3);
  // Distinct moments per row.
  for (size_t g = 0; g < adam.size(); ++g) {
    auto shape = adam[g].param.sizes().vec();
    std::vector<int64_t> s(shape.size(), 1);
    s[0] = 4;
    adam[g].exp_avg = (at::arange(4, at::kFloat) + 1).view(s).expand(shape).contiguous();
    adam[g].exp_avg_sq = adam[g].exp_avg * 10;
  }
  return adam;
}

DensityStats make_stats() {
  DensityStats s;
  s.reset(4);
  s.grad_sum = at::tensor({0.003f, 0.002f, 0.0f, 0.0001f});
  s.count = at::tensor({5.f, 4.f, 0.f, 2.f});  // means 6e-4, 5e-4, 0, 5e-5
  return s;
}
}  // namespace

TEST(SplatDensity, CloneSplitPrune) {
  Adam adam = make_adam();
  DensityStats stats = make_stats();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  DensifyParams p;
  auto r = densify_and_prune(adam, stats, p, gen);
  EXPECT_EQ(r.cloned, 1);
  EXPECT_EQ(r.split, 1);
  EXPECT_EQ(r.pruned, 1);
  // Rows: original 0, original 3, clone of 0, two children of 1.
  ASSERT_EQ(adam.rows(), 5);
  for (size_t g = 0; g < adam.size(); ++g) {
    EXPECT_EQ(adam[g].param.size(0), 5) << adam[g].name;
    EXPECT_EQ(adam[g].exp_avg.size(0), 5) << adam[g].name;
    EXPECT_EQ(adam[g].exp_avg_sq.size(0), 5) << adam[g].name;
    // Moments of survivors keep their rows (1 and 4), new rows start at 0.
    EXPECT_EQ(adam[g].exp_avg[0].flatten()[0].item<float>(), 1.f);
    EXPECT_EQ(adam[g].exp_avg[1].flatten()[0].item<float>(), 4.f);
    EXPECT_EQ(adam[g].exp_avg_sq[1].flatten()[0].item<float>(), 40.f);
    EXPECT_EQ(adam[g].exp_avg.slice(0, 2).abs().sum().item<float>(), 0.f);
  }
  auto sh = adam.param(kShDc).detach();
  EXPECT_EQ(sh[0][0][0].item<float>(), 0.f);
  EXPECT_EQ(sh[1][0][0].item<float>(), 9.f);
  EXPECT_EQ(sh[2][0][0].item<float>(), 0.f);  // clone of 0
  EXPECT_EQ(sh[3][0][0].item<float>(), 3.f);  // children of 1
  EXPECT_EQ(sh[4][0][0].item<float>(), 3.f);
  auto ls = adam.param(kLogScales).detach();
  EXPECT_NEAR(ls[3][0].item<double>(), std::log(0.05 / 1.6), 1e-6);
  EXPECT_NEAR(ls[2][0].item<double>(), std::log(0.005), 1e-6);
  auto m = adam.param(kMeans).detach();
  EXPECT_TRUE(at::equal(m[2], m[0]));
  // Children are sampled around the parent at (1, 0, 0) with std 0.05.
  for (int i = 3; i < 5; ++i) {
    EXPECT_LT((m[i] - at::tensor({1.f, 0.f, 0.f})).abs().max().item<double>(), 0.25);
    EXPECT_FALSE(at::equal(m[i], at::tensor({1.f, 0.f, 0.f})));
  }
  EXPECT_FALSE(at::equal(m[3], m[4]));
  EXPECT_EQ(stats.size(), 5);
  EXPECT_EQ(stats.count.sum().item<float>(), 0.f);
}

TEST(SplatDensity, CapLimitsGrowthToHighestGradients) {
  Adam adam = make_adam();
  DensityStats stats = make_stats();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  DensifyParams p;
  p.max_gaussians = 5;  // room for one more: only Gaussian 0 (highest gradient) is cloned
  auto r = densify_and_prune(adam, stats, p, gen);
  EXPECT_EQ(r.cloned, 1);
  EXPECT_EQ(r.split, 0);
  EXPECT_EQ(adam.rows(), 4);  // 4 + 1 clone - 1 pruned
  EXPECT_LE(adam.rows(), 5);
}

TEST(SplatDensity, PruneLargeInWorldAndScreen) {
  Adam adam = make_adam();
  DensityStats stats;
  stats.reset(4);
  stats.max_radii = at::tensor({5.f, 5.f, 5.f, 30.f});                                      // 3 is too large on screen
  adam.set_rows(kLogScales, at::tensor({0}, at::kLong), at::full({1, 3}, std::log(0.2f)));  // 0 too large in world
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  DensifyParams p;
  p.prune_large = true;
  auto r = densify_and_prune(adam, stats, p, gen);
  EXPECT_EQ(r.cloned + r.split, 0);
  EXPECT_EQ(r.pruned, 3);  // 0 (world), 2 (opacity), 3 (screen)
  ASSERT_EQ(adam.rows(), 1);
  EXPECT_EQ(adam.param(kShDc).detach()[0][0][0].item<float>(), 3.f);
}

TEST(SplatDensity, StatsUseNdcGradients) {
  DensityStats s;
  s.reset(2);
  // Pixel-space gradient (1, 0) at width 64 is 32 in NDC units; Gaussian 1 is culled.
  accumulate_stats(s, at::tensor({1.f, 0.f, 1.f, 1.f}).view({2, 2}), at::tensor({3, 0}, at::kInt), 64, 32, 2.0);
  accumulate_stats(s, at::tensor({0.f, 0.5f, 1.f, 1.f}).view({2, 2}), at::tensor({4, 0}, at::kInt), 64, 32, 2.0);
  EXPECT_NEAR(s.grad_sum[0].item<double>(), 32 + 8, 1e-5);
  EXPECT_EQ(s.grad_sum[1].item<float>(), 0.f);
  EXPECT_EQ(s.count[0].item<float>(), 2.f);
  EXPECT_EQ(s.count[1].item<float>(), 0.f);
  EXPECT_EQ(s.max_radii[0].item<float>(), 8.f);
}

TEST(SplatDensity, ResetOpacity) {
  Adam adam = make_adam();
  reset_opacity(adam, 0.01);
  auto op = at::sigmoid(adam.param(kOpacity).detach());
  EXPECT_NEAR(op[0].item<double>(), 0.01, 1e-6);
  EXPECT_NEAR(op[2].item<double>(), 0.001, 1e-6);  // already below
  EXPECT_EQ(adam[kOpacity].exp_avg.abs().sum().item<float>(), 0.f);
  EXPECT_GT(adam[kMeans].exp_avg.abs().sum().item<float>(), 0.f);
}

TEST(SplatMcmc, SplitUpdatePreservesSingleAndMatchesFormula) {
  auto op = at::tensor({0.3f, 0.8f}), sc = at::tensor({0.1f, 0.1f, 0.1f, 0.2f, 0.2f, 0.2f}).view({2, 3});
  auto [o1, s1] = mcmc_split_update(op, sc, at::tensor({1, 1}, at::kLong));
  EXPECT_TRUE(at::allclose(o1, op));
  EXPECT_TRUE(at::allclose(s1, sc));
  auto [o2, s2] = mcmc_split_update(op, sc, at::tensor({2, 3}, at::kLong));
  // Two copies: a = 1 - sqrt(1 - o); scale *= o / (2a - a^2 / sqrt 2).
  const double a = 1 - std::sqrt(1 - 0.3);
  EXPECT_NEAR(o2[0].item<double>(), a, 1e-6);
  EXPECT_NEAR(s2[0][0].item<double>(), 0.1 * 0.3 / (2 * a - a * a / std::sqrt(2.0)), 1e-6);
  // Three copies: a = 1 - (1 - o)^(1/3); denom = 3a - 3a^2/sqrt2 + a^3/sqrt3 (i = 1, 2, 3 terms).
  const double b = 1 - std::cbrt(1 - 0.8);
  const double d = b + (b - b * b / std::sqrt(2.0)) + (b - 2 * b * b / std::sqrt(2.0) + b * b * b / std::sqrt(3.0));
  EXPECT_NEAR(o2[1].item<double>(), b, 1e-6);
  EXPECT_NEAR(s2[1][2].item<double>(), 0.2 * 0.8 / d, 1e-6);
  // Composited copies keep the total opacity: 1 - (1 - a)^n = o.
  EXPECT_NEAR(1 - std::pow(1 - b, 3), 0.8, 1e-6);
}

TEST(SplatMcmc, RelocateAndAdd) {
  Adam adam = make_adam();  // Gaussian 2 is dead (opacity 0.001)
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  EXPECT_EQ(mcmc_relocate(adam, 0.005, gen), 1);
  auto op = at::sigmoid(adam.param(kOpacity).detach());
  EXPECT_GT(op.min().item<double>(), 0.005);
  // Row 2 is now a copy of a live Gaussian (same parameters in every group).
  int src = -1;
  for (int i : {0, 1, 3})
    if (at::equal(adam.param(kMeans).detach()[i], adam.param(kMeans).detach()[2])) src = i;
  ASSERT_GE(src, 0);
  for (size_t g = 0; g < adam.size(); ++g) {
    EXPECT_TRUE(at::equal(adam.param(g).detach()[2], adam.param(g).detach()[src])) << adam[g].name;
    EXPECT_EQ(adam[g].exp_avg[src].abs().sum().item<float>(), 0.f);
    EXPECT_EQ(adam[g].exp_avg[2].abs().sum().item<float>(), 0.f);
  }
  EXPECT_EQ(mcmc_relocate(adam, 0.005, gen), 0);

  EXPECT_EQ(mcmc_add(adam, 4, 0.05, 0.005, gen), 0);   // at the cap
  EXPECT_EQ(mcmc_add(adam, 100, 0.5, 0.005, gen), 2);  // 4 * 1.5 = 6
  EXPECT_EQ(adam.rows(), 6);
  for (size_t g = 0; g < adam.size(); ++g) EXPECT_EQ(adam[g].exp_avg.size(0), 6);

  auto before = adam.param(kMeans).detach().clone();
  mcmc_inject_noise(adam, 1.0, gen);
  // Opaque Gaussians barely move (gate ~ sigmoid(100 (1 - o - 0.995)) ~ 0).
  EXPECT_LT((adam.param(kMeans).detach() - before).abs().max().item<double>(), 1e-3);
}

TEST(SplatInit, KnnMatchesBruteForce) {
  at::manual_seed(5);
  auto pts = at::rand({700, 3}) * at::tensor({1.f, 2.f, 0.1f});
  auto d = at::cdist(pts.to(at::kDouble), pts.to(at::kDouble)).pow(2);
  d.fill_diagonal_(1e30);
  auto ref = std::get<0>(d.topk(3, 1, false)).mean(1);
  auto got = knn_mean_sq_dist(pts, 3);
  EXPECT_TRUE(at::allclose(got.to(at::kDouble), ref, 1e-4, 1e-9));

  auto big = at::rand({100000, 3});
  const auto t0 = std::chrono::steady_clock::now();
  auto dd = knn_mean_sq_dist(big, 3);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("knn of 100k points: %.3f s\n", s);
  EXPECT_LT(s, 10.0);
  // Uniform density 1e5 per unit volume: nearest-neighbour distances ~ 0.02.
  EXPECT_NEAR(std::sqrt(dd.mean().item<double>()), 0.02, 0.01);
}

TEST(SplatInit, FromPointsAndRandom) {
  auto pts = at::tensor({0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 2.f, 0.f, 0.f, 0.f, 3.f}).view({4, 3});
  auto g = init_from_points(pts, at::full({4, 3}, 0.75f), 0.1);
  // Point 0: neighbours at 1, 2, 3 -> mean sq 14/3.
  EXPECT_NEAR(g.log_scales[0][1].item<double>(), std::log(std::sqrt(14.0 / 3)), 1e-5);
  EXPECT_NEAR(at::sigmoid(g.opacity_logits)[2].item<double>(), 0.1, 1e-6);
  EXPECT_NEAR(g.sh_dc[1][0][2].item<double>() * kShC0 + 0.5, 0.75, 1e-6);
  EXPECT_TRUE(at::equal(g.quats[3], at::tensor({1.f, 0.f, 0.f, 0.f})));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto r = init_random(1000, 0.5, 0.1, gen);
  EXPECT_EQ(r.means.size(0), 1000);
  EXPECT_LE(r.means.abs().max().item<double>(), 0.5);
  EXPECT_EQ(r.sh_dc.sizes(), (std::vector<int64_t>{1000, 1, 3}));
}

// The fused accumulation against its torch-op twin, over several steps with culled Gaussians.
TEST(SplatDensity, FusedStatsMatchTorch) {
  at::manual_seed(12);
  DensityStats a, b;
  a.reset(500);
  b.reset(500);
  for (int s = 0; s < 5; ++s) {
    auto g = at::randn({500, 2}) * 1e-3;
    auto radii = at::randint(-3, 30, {500}, at::kInt).clamp_min(0);
    accumulate_stats(a, g, radii, 240, 135, 2.0);
    accumulate_stats_torch(b, g, radii, 240, 135, 2.0);
  }
  EXPECT_LE((a.grad_sum - b.grad_sum).abs().max().item<double>(), 1e-6 * b.grad_sum.abs().max().item<double>());
  EXPECT_TRUE(at::equal(a.count, b.count));
  EXPECT_TRUE(at::equal(a.max_radii, b.max_radii));
}
