// End-to-end: recover a synthetic scene (random Gaussians rendered to 16 views at 64x64).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "splat/train/trainer.h"
#include "synthetic.h"

using namespace camgraph::splat;

namespace {
struct Result {
  double psnr, start_psnr, seconds;
  int64_t gaussians;
};

Result train_synthetic(TrainOptions o, bool from_points) {
  auto scene = synth::random_scene(300, 0.25, 21);
  SplatDataset d = synth::render_dataset(scene, 16, 64);
  if (from_points) {  // a noisy "SfM" point cloud: the true centres plus noise
    at::manual_seed(4);
    d.points = scene.means + 0.02 * at::randn(scene.means.sizes());
    d.point_colours = at::full({scene.means.size(0), int64_t(3)}, 0.5);
  }
  Trainer t(d, o);
  Result r{};
  r.start_psnr = t.evaluate().psnr;
  const auto t0 = std::chrono::steady_clock::now();
  t.run();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.psnr = t.evaluate().psnr;
  r.gaussians = t.num_gaussians();
  std::printf("synthetic (%s, %s): held-out PSNR %.2f dB (start %.2f), %lld Gaussians, %.1f s, %.1f ms/step\n",
              from_points ? "points" : "random", o.strategy == DensifyStrategy::kMcmc ? "mcmc" : "default",
              r.psnr, r.start_psnr, (long long)r.gaussians, r.seconds, 1000 * r.seconds / o.iterations);
  return r;
}

TrainOptions synthetic_options() {
  TrainOptions o;
  o.iterations = 1500;
  o.seed = 1;
  o.init = InitMode::kRandom;
  o.random_points = 1000;
  o.random_half_size = 0.3 / 1.1;
  o.sh_degree = 1;
  o.sh_degree_interval = 500;
  o.refine_start = 100;
  o.refine_every = 100;
  o.refine_stop = 1000;
  o.opacity_reset_every = 0;
  return o;
}
}  // namespace

TEST(SplatTrainSynthetic, RecoversSceneFromRandomInit) {
  auto r = train_synthetic(synthetic_options(), false);
  EXPECT_GT(r.psnr, 25.0);
  EXPECT_GT(r.psnr, r.start_psnr + 8);
}
