// Samplers against diffusers' DDIM / Euler ancestral / DPM-Solver++ 2M Karras schedulers set up as
// SD 1.5's (nodes/sd/tests/golden/make_goldens.py), run on an analytic stand-in for the UNet.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>

#include "camgraph/safetensors.h"
#include "sd/samplers.h"
#include "test_support.h"
#include "sd_test_support.h"

using namespace camgraph;
using namespace camgraph::sd;
using camgraph::testing::error_of;
namespace fs = std::filesystem;
using camgraph::sd::testing::golden_dir;
using camgraph::sd::testing::rel_err;

namespace {

// toy_eps of make_goldens.py.
at::Tensor toy_eps(const at::Tensor& x, double t) {
  return 0.3 * x * std::cos(float(t / 300.0)) + 0.05 * at::sin(x * 2.0 + t / 100.0);
}

std::vector<double> vec(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

TEST(Samplers, ScheduleIsSd15ScaledLinear) {
  SafetensorsReader g(golden_dir() / "sampler_golden.safetensors");
  const at::Tensor ac = sd15_alphas_cumprod();
  ASSERT_EQ(ac.numel(), 1000);
  EXPECT_LT((ac - g.get("alphas_cumprod")).abs().max().item<double>(), 1e-6);
  EXPECT_NEAR(ac[0].item<double>(), 1 - 0.00085, 1e-12);
}

TEST(Samplers, FullSamplesMatchDiffusers) {
  SafetensorsReader g(golden_dir() / "sampler_golden.safetensors");
  const at::Tensor ac = sd15_alphas_cumprod();
  const at::Tensor x_T = g.get("x_T");  // [1, 4, 8, 8]
  const std::map<std::string, int> steps = {{"ddim", 2}, {"euler_a", 2}, {"dpmpp_2m_karras", 4}};
  for (const auto& [name, n] : steps) {
    SCOPED_TRACE(name);
    const SamplerKind kind = parse_sampler(name);
    const SamplerPlan plan = make_plan(kind, n, ac);
    const std::vector<double> want_t = vec(g.get(name + ".timesteps"));
    ASSERT_EQ(plan.timesteps.size(), want_t.size());
    for (size_t i = 0; i < want_t.size(); ++i) EXPECT_NEAR(plan.timesteps[i], want_t[i], 1e-4) << i;
    if (g.contains(name + ".sigmas")) {
      const std::vector<double> want_s = vec(g.get(name + ".sigmas"));
      ASSERT_EQ(plan.sigmas.size(), want_s.size());
      for (size_t i = 0; i < want_s.size(); ++i) EXPECT_NEAR(plan.sigmas[i], want_s[i], 1e-5 * (1 + want_s[i])) << i;
    }
    at::Tensor noise;
    if (g.contains(name + ".noise")) noise = g.get(name + ".noise");  // [steps, 1, 4, 8, 8]
    int calls = 0;
    const at::Tensor out = run_sampler(
        kind, plan, ac, x_T * plan.init_noise_sigma, toy_eps,
        [&](int i) {
          if (!noise.defined()) ADD_FAILURE() << "unexpected noise request";
          return noise[i];
        },
        0, [&](int, int, const at::Tensor&, const at::Tensor&) { ++calls; });
    EXPECT_EQ(calls, n);
    EXPECT_LT(rel_err(out, g.get(name + ".sample")), 2e-5);
  }
}

TEST(Samplers, Img2ImgStartsPartWayAndBadInputIsRefused) {
  EXPECT_EQ(img2img_first_step(20, 1.0), 0);
  EXPECT_EQ(img2img_first_step(20, 0.75), 5);
  EXPECT_EQ(img2img_first_step(20, 0.01), 19);
  EXPECT_NE(error_of([] { img2img_first_step(20, 0); }).find("strength"), std::string::npos);
  EXPECT_NE(error_of([] { parse_sampler("plms"); }).find("known: ddim, euler_a, dpmpp_2m_karras"), std::string::npos);
  // With an exact denoiser for a fixed clean latent, every sampler returns it from any start.
  const at::Tensor ac = sd15_alphas_cumprod();
  const at::Tensor clean = at::randn({1, 4, 8, 8}, at::kDouble);
  const at::Tensor unit = at::randn({1, 4, 8, 8}, at::kDouble);
  for (SamplerKind k : {SamplerKind::Ddim, SamplerKind::EulerAncestral, SamplerKind::DpmPP2MKarras}) {
    SCOPED_TRACE(sampler_name(k));
    const SamplerPlan plan = make_plan(k, 10, ac);
    const int first = img2img_first_step(10, 0.6);
    const at::Tensor start = noise_latents_to_step(k, plan, ac, clean, unit, first);
    // eps that maps the current latents back to `clean` exactly, in each sampler's parameterisation.
    int i = first;
    auto exact = [&](const at::Tensor& x_in, double t) {
      if (k == SamplerKind::Ddim) {
        const double a = ac[int64_t(t)].item<double>();
        return (x_in - std::sqrt(a) * clean) / std::sqrt(1 - a);
      }
      const double s = plan.sigmas[size_t(i++)];
      if (k == SamplerKind::EulerAncestral) return (x_in * std::sqrt(s * s + 1) - clean) / s;
      const double a = 1 / std::sqrt(s * s + 1);
      return (x_in - a * clean) / (s * a);
    };
    at::Tensor last_x0;
    int calls = 0;
    const at::Tensor out = run_sampler(
        k, plan, ac, start, exact,
        [&](int) {
          return at::randn({1, 4, 8, 8}, at::kDouble);
        },
        first,
        [&](int, int, const at::Tensor&, const at::Tensor& x0) {
          last_x0 = x0;
          ++calls;
        });
    EXPECT_EQ(calls, 10 - first);
    EXPECT_LT((last_x0 - clean).abs().max().item<double>(), 1e-6);
    // DDIM ends at alpha_cumprod[0] (set_alpha_to_one false, as SD 1.5), the others at sigma 0.
    const double tol = k == SamplerKind::Ddim ? 0.2 : 1e-6;
    EXPECT_LT((out - clean).abs().max().item<double>(), tol);
  }
}
