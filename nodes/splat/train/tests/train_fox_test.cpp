// Real capture (shared/data/fox, 50 photos): a short training run improves held-out PSNR.
// Skips when the shared data folder is absent.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/Parallel.h>

#include "splat/io/dataset.h"
#include "splat/raster/render.h"
#include "splat/train/adam.h"
#include "splat/train/density.h"
#include "splat/train/loss.h"
#include "splat/train/trainer.h"

using namespace camgraph::splat;
namespace fs = std::filesystem;

namespace {
void train_fox(int downscale, int steps, double min_gain_db, bool fused_ops = true) {
  const fs::path shared = shared_data_dir(CAMGRAPH_SOURCE_DIR);
  if (shared.empty() || !fs::exists(shared / "data/fox/colmap")) GTEST_SKIP() << "shared/data/fox not found";
  DatasetOptions dopt;
  dopt.downscale = downscale;
  SplatDataset d = load_colmap_dataset(shared / "data/fox", dopt);  // images/ + colmap/sparse/0
  ASSERT_FALSE(d.train.empty());
  ASSERT_FALSE(d.test.empty());
  TrainOptions o;
  o.iterations = steps;
  o.seed = 1;
  o.refine_start = 100;
  o.refine_every = 100;
  o.refine_stop = steps * 2 / 3;
  o.sh_degree_interval = std::max(1, steps / 4);
  o.fused_ops = fused_ops;
  Trainer t(d, o);
  const double start = t.evaluate().psnr;
  const auto t0 = std::chrono::steady_clock::now();
  t.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto e = t.evaluate();
  std::printf(
      "fox /%d (%dx%d, %zu train, %zu test, %lld points): PSNR %.2f dB (start %.2f), SSIM %.3f, "
      "%lld Gaussians, %.1f s, %.1f ms/step\n",
      downscale, d.train[0].camera.width, d.train[0].camera.height, d.train.size(), d.test.size(),
      (long long)(d.points.defined() ? d.points.size(0) : 0), e.psnr, start, e.ssim, (long long)t.num_gaussians(), secs,
      1000 * secs / steps);
  EXPECT_GT(e.psnr, start + min_gain_db);
}
}  // namespace

TEST(SplatTrainFox, ShortRunImprovesHeldOutPsnr) { train_fox(16, 300, 3.0); }

// Manual: SPLAT_FOX_DOWNSCALE (4), SPLAT_FOX_STEPS (1000), SPLAT_FOX_FUSED (1; 0: torch twins).
TEST(SplatTrainFox, DISABLED_Measure) {
  auto env = [](const char* k, const char* d) {
    const char* v = std::getenv(k);
    return std::string(v ? v : d);
  };
  train_fox(std::stoi(env("SPLAT_FOX_DOWNSCALE", "4")), std::stoi(env("SPLAT_FOX_STEPS", "1000")), 0.0,
            env("SPLAT_FOX_FUSED", "1") != "0");
}

// Manual: time per training step on the fox capture at SPLAT_FOX_DOWNSCALE (8: 135x240, 2:
// 540x960) with the full sparse-point init (14,460 Gaussians), no refinement: SPLAT_FOX_STEPS
// timed steps after 3 warm-up steps, with the torch reference ops and with the fused ones (same
// process, same load). Prints wall and process CPU time (all threads) per step, and a split of
// the same work done by hand on one view (render, loss, backward, Adam).
TEST(SplatTrainFox, DISABLED_ProfileStep) {
  auto env = [](const char* k, const char* d) {
    const char* v = std::getenv(k);
    return std::string(v ? v : d);
  };
  const fs::path shared = shared_data_dir(CAMGRAPH_SOURCE_DIR);
  if (shared.empty() || !fs::exists(shared / "data/fox/colmap")) GTEST_SKIP() << "shared/data/fox not found";
  DatasetOptions dopt;
  dopt.downscale = std::stoi(env("SPLAT_FOX_DOWNSCALE", "8"));
  SplatDataset d = load_dataset(shared / "data/fox", dopt);
  const int steps = std::stoi(env("SPLAT_FOX_STEPS", "20"));
  const std::string modes = env("SPLAT_FOX_MODES", "torch,fused");
  auto cpu_s = [] {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec + 1e-6 * (r.ru_utime.tv_usec + r.ru_stime.tv_usec);
  };
  using clk = std::chrono::steady_clock;
  auto ms = [](clk::time_point a, clk::time_point b) { return 1000 * std::chrono::duration<double>(b - a).count(); };
  for (const bool fused : {false, true}) {
    if (modes.find(fused ? "fused" : "torch") == std::string::npos) continue;
    TrainOptions o;
    o.iterations = 100000;
    o.seed = 1;
    o.refine_start = 1000000;
    o.sh_degree_interval = std::stoi(env("SPLAT_FOX_SH_INTERVAL", "1000"));  // 1: degree 3 from step 3
    o.fused_ops = fused;
    Trainer t(d, o);
    for (int i = 0; i < 3; ++i) t.step();
    const double c0 = cpu_s();
    const auto w0 = clk::now();
    for (int i = 0; i < steps; ++i) t.step();
    const double wall = std::chrono::duration<double>(clk::now() - w0).count() / steps;
    const double cpu = (cpu_s() - c0) / steps;
    std::printf(
        "[%s] fox /%d %dx%d, %lld Gaussians, sh degree %d, torch threads %d: %.1f ms/step wall, %.1f ms/step CPU\n",
        fused ? "fused" : "torch", dopt.downscale, d.train[0].camera.width, d.train[0].camera.height,
        (long long)t.num_gaussians(), t.progress().sh_degree, at::get_num_threads(), 1000 * wall, 1000 * cpu);

    // The same work by hand on view 0.
    auto& adam = t.optimizer();
    const auto cam = to_render_camera(d.train[0].camera);
    const auto img = d.train[0].image.to(at::kFloat).contiguous();
    const int degree = t.progress().sh_degree, k = (degree + 1) * (degree + 1);
    double tw[4] = {0, 0, 0, 0}, tc[4] = {0, 0, 0, 0};
    for (int i = 0; i < steps; ++i) {
      double c[5];
      clk::time_point w[5];
      c[0] = cpu_s(), w[0] = clk::now();
      RenderSettings rs;
      rs.sh_degree = degree;
      auto sh = degree == 0 ? adam.param(kShDc)
                            : at::cat({adam.param(kShDc), adam.param(kShRest).narrow(1, 0, k - 1)}, 1);
      auto out = render(adam.param(kMeans), adam.param(kLogScales), adam.param(kQuats), adam.param(kOpacity), sh, cam,
                        rs);
      c[1] = cpu_s(), w[1] = clk::now();
      auto loss = fused ? photometric_loss_fused(out.rgb, img, 0.2) : photometric_loss(out.rgb, img, 0.2);
      c[2] = cpu_s(), w[2] = clk::now();
      loss.backward();
      c[3] = cpu_s(), w[3] = clk::now();
      if (fused) adam.step();
      else adam.step_torch();
      adam.zero_grad();
      c[4] = cpu_s(), w[4] = clk::now();
      for (int j = 0; j < 4; ++j) tw[j] += ms(w[j], w[j + 1]), tc[j] += 1000 * (c[j + 1] - c[j]);
    }
    std::printf(
        "[%s] by hand, wall / CPU ms: render %.1f / %.1f, loss %.1f / %.1f, backward %.1f / %.1f, adam %.1f / %.1f\n",
        fused ? "fused" : "torch", tw[0] / steps, tc[0] / steps, tw[1] / steps, tc[1] / steps, tw[2] / steps,
        tc[2] / steps, tw[3] / steps, tc[3] / steps);
  }
}
