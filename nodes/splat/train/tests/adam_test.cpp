#include <gtest/gtest.h>

#include <cmath>

#include "splat/train/adam.h"

using namespace camgraph::splat;

namespace {
void set_grad(Adam& adam, size_t g, const at::Tensor& grad) { adam[g].param.mutable_grad() = grad.clone(); }
}  // namespace

TEST(SplatAdam, StepMatchesHandComputedUpdate) {
  Adam adam;
  adam.eps = 1e-8;
  adam.add_group("p", at::tensor({1.0f, -2.0f}), 0.1);
  // Step 1, g = (1, -2): m = 0.1 g, v = 0.001 g^2, m^ = g, v^ = g^2 -> p -= 0.1 * g / (|g| + eps).
  set_grad(adam, 0, at::tensor({1.0f, -2.0f}));
  adam.step();
  adam.zero_grad();
  EXPECT_NEAR(adam.param(0)[0].item<double>(), 1.0 - 0.1 * 1 / (1 + 1e-8), 1e-6);
  EXPECT_NEAR(adam.param(0)[1].item<double>(), -2.0 + 0.1 * 2 / (2 + 1e-8), 1e-6);
  // Step 2, g = (0.5, 0.5), written out by hand for element 0:
  // m = 0.9*0.1 + 0.1*0.5 = 0.14; v = 0.999*0.001 + 0.001*0.25 = 0.001249
  // m^ = 0.14 / (1 - 0.81) ; v^ = 0.001249 / (1 - 0.998001)
  set_grad(adam, 0, at::tensor({0.5f, 0.5f}));
  adam.step();
  const double mh0 = 0.14 / 0.19, vh0 = 0.001249 / 0.001999;
  EXPECT_NEAR(adam.param(0)[0].item<double>(), 0.9 - 0.1 * mh0 / (std::sqrt(vh0) + 1e-8), 1e-6);
  // element 1: m = 0.9*(-0.2) + 0.05 = -0.13; v = 0.999*0.004 + 0.00025 = 0.004246
  const double mh1 = -0.13 / 0.19, vh1 = 0.004246 / 0.001999;
  EXPECT_NEAR(adam.param(0)[1].item<double>(), -1.9 - 0.1 * mh1 / (std::sqrt(vh1) + 1e-8), 1e-6);
  EXPECT_EQ(adam[0].step, 2);
  EXPECT_NEAR(adam[0].exp_avg[0].item<double>(), 0.14, 1e-7);
  EXPECT_NEAR(adam[0].exp_avg_sq[1].item<double>(), 0.004246, 1e-8);
}

TEST(SplatAdam, GroupsWithoutGradientAreSkipped) {
  Adam adam;
  adam.add_group("a", at::ones({3}), 0.1);
  adam.add_group("b", at::ones({3}), 0.1);
  EXPECT_DOUBLE_EQ(adam.eps, 1e-15);
  set_grad(adam, 0, at::ones({3}));
  adam.step();
  EXPECT_EQ(adam[0].step, 1);
  EXPECT_EQ(adam[1].step, 0);
  EXPECT_TRUE(at::equal(adam.param(1), at::ones({3})));
  EXPECT_TRUE(adam.param(0).requires_grad() && adam.param(0).is_leaf());
}

TEST(SplatAdam, RowSurgeryKeepsStateAligned) {
  Adam adam;
  adam.add_group("a", at::arange(5, at::kFloat).unsqueeze(1).repeat({1, 3}), 0.01);  // [5,3]
  adam.add_group("b", at::arange(5, at::kFloat), 0.01);                              // [5]
  set_grad(adam, 0, at::arange(15, at::kFloat).view({5, 3}) + 1);
  set_grad(adam, 1, at::arange(5, at::kFloat) + 1);
  adam.step();
  auto m0 = adam[0].exp_avg.clone(), v1 = adam[1].exp_avg_sq.clone(), p1 = adam.param(1).detach().clone();
  adam.keep_rows(at::tensor({1, 0, 1, 0, 1}, at::kInt).to(at::kBool));
  ASSERT_EQ(adam.rows(), 3);
  auto kept = at::tensor({0, 2, 4}, at::kLong);
  EXPECT_TRUE(at::equal(adam[0].exp_avg, m0.index_select(0, kept)));
  EXPECT_TRUE(at::equal(adam[1].exp_avg_sq, v1.index_select(0, kept)));
  EXPECT_TRUE(at::equal(adam.param(1).detach(), p1.index_select(0, kept)));
  adam.append_rows({at::full({2, 3}, 7.0f), at::full({2}, 8.0f)});
  ASSERT_EQ(adam.rows(), 5);
  for (size_t g = 0; g < adam.size(); ++g) {
    EXPECT_EQ(adam[g].exp_avg.size(0), 5);
    EXPECT_EQ(adam[g].exp_avg_sq.size(0), 5);
    EXPECT_EQ(adam[g].exp_avg.slice(0, 3).abs().sum().item<double>(), 0.0);
    EXPECT_TRUE(adam.param(g).requires_grad() && adam.param(g).is_leaf());
  }
  EXPECT_EQ(adam.param(1)[4].item<float>(), 8.0f);
  adam.zero_state_rows(at::tensor({0}, at::kLong));
  EXPECT_EQ(adam[0].exp_avg[0].abs().sum().item<double>(), 0.0);
  EXPECT_GT(adam[0].exp_avg[1].abs().sum().item<double>(), 0.0);
}

// The fused step against the torch-op twin: several groups and shapes (one without a gradient),
// 20 steps with random gradients of mixed magnitude. Both evaluate the update in float in the
// same order; the remaining differences are rounding (vectorised fused multiply-adds in torch):
// parameters and moments agree to 1e-6 relative (of each tensor's largest value).
TEST(SplatAdam, FusedStepMatchesTorchStep) {
  at::manual_seed(4);
  std::vector<at::Tensor> init = {at::randn({1000, 3}), at::randn({1000}), at::randn({1000, 15, 3}),
                                  at::randn({1000, 4})};
  Adam fused, torch;
  for (Adam* a : {&fused, &torch}) {
    a->add_group("means", init[0], 1.6e-4);
    a->add_group("opacity", init[1], 5e-2);
    a->add_group("sh_rest", init[2], 2.5e-3 / 20);
    a->add_group("unused", init[3], 1e-3);
  }
  for (int s = 0; s < 20; ++s) {
    for (size_t g = 0; g < 3; ++g) {
      auto grad = at::randn(init[g].sizes()) * at::pow(10.0, at::randint(-8, 0, init[g].sizes()));
      set_grad(fused, g, grad);
      set_grad(torch, g, grad);
    }
    fused.step();
    torch.step_torch();
    fused.zero_grad();
    torch.zero_grad();
  }
  auto close = [](const at::Tensor& x, const at::Tensor& y) {
    return (x - y).abs().max().item<double>() <= 1e-6 * y.abs().max().item<double>();
  };
  for (size_t g = 0; g < 4; ++g) {
    EXPECT_EQ(fused[g].step, torch[g].step);
    EXPECT_TRUE(close(fused.param(g).detach(), torch.param(g).detach())) << fused[g].name;
    EXPECT_TRUE(close(fused[g].exp_avg, torch[g].exp_avg)) << fused[g].name;
    EXPECT_TRUE(close(fused[g].exp_avg_sq, torch[g].exp_avg_sq)) << fused[g].name;
    EXPECT_TRUE(fused.param(g).requires_grad() && fused.param(g).is_leaf());
  }
  EXPECT_EQ(fused[3].step, 0);
  EXPECT_TRUE(at::equal(fused.param(3).detach(), init[3]));
}
