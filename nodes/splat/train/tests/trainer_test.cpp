#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "splat/train/adam.h"
#include "splat/train/density.h"
#include "splat/train/trainer.h"
#include "small_training.h"
#include "synthetic.h"

using namespace camgraph::splat;
using camgraph::splat::test_scenes::small_dataset;
using camgraph::splat::test_scenes::small_options;
namespace fs = std::filesystem;

namespace {

bool same_state(Trainer& a, Trainer& b) {
  if (a.step_count() != b.step_count() || a.num_gaussians() != b.num_gaussians()) return false;
  for (size_t g = 0; g < kNumGroups; ++g) {
    const auto &x = a.optimizer()[g], &y = b.optimizer()[g];
    if (!at::equal(x.param.detach(), y.param.detach()) || !at::equal(x.exp_avg, y.exp_avg) ||
        !at::equal(x.exp_avg_sq, y.exp_avg_sq) || x.step != y.step)
      return false;
  }
  return true;
}

fs::path temp_path(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("camgraph_splat_train_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}
}  // namespace

TEST(SplatSchedule, Endpoints) {
  TrainOptions o;
  o.iterations = 30000;
  EXPECT_NEAR(Trainer::means_lr_at(o, 2.0, 0), 2 * 1.6e-4, 1e-12);
  EXPECT_NEAR(Trainer::means_lr_at(o, 2.0, 30000), 2 * 1.6e-6, 1e-14);
  EXPECT_NEAR(Trainer::means_lr_at(o, 2.0, 15000), 2 * 1.6e-5, 1e-12);  // geometric midpoint
  EXPECT_NEAR(Trainer::means_lr_at(o, 2.0, 90000), 2 * 1.6e-6, 1e-14);  // clamped
  EXPECT_EQ(Trainer::sh_degree_at(o, 0), 0);
  EXPECT_EQ(Trainer::sh_degree_at(o, 999), 0);
  EXPECT_EQ(Trainer::sh_degree_at(o, 1000), 1);
  EXPECT_EQ(Trainer::sh_degree_at(o, 2999), 2);
  EXPECT_EQ(Trainer::sh_degree_at(o, 20000), 3);
  EXPECT_EQ(Trainer::downscale_at(o, 0), 1);
  o.num_downscales = 2;
  o.resolution_schedule = 3000;
  EXPECT_EQ(Trainer::downscale_at(o, 0), 4);
  EXPECT_EQ(Trainer::downscale_at(o, 2999), 4);
  EXPECT_EQ(Trainer::downscale_at(o, 3000), 2);
  EXPECT_EQ(Trainer::downscale_at(o, 6000), 1);
  EXPECT_EQ(Trainer::downscale_at(o, 29999), 1);
}

TEST(SplatTrainer, OptionsJsonRoundTrip) {
  TrainOptions o = small_options();
  o.strategy = DensifyStrategy::kMcmc;
  o.background = {0.1f, 0.2f, 0.3f};
  auto j = o.to_json();
  TrainOptions back = TrainOptions::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  EXPECT_EQ(back.strategy, DensifyStrategy::kMcmc);
  EXPECT_THROW(TrainOptions::from_json({{"strategy", "nope"}}), std::invalid_argument);
  TrainOptions bad;
  bad.sh_degree = 4;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
}

TEST(SplatTrainer, DeterministicForASeed) {
  Trainer a(small_dataset(), small_options()), b(small_dataset(), small_options());
  for (int i = 0; i < 40; ++i) {
    a.step();
    b.step();
  }
  EXPECT_NE(a.num_gaussians(), 300);  // density control ran
  EXPECT_TRUE(same_state(a, b));
  auto o = small_options();
  o.seed = 6;
  Trainer c(small_dataset(), o);
  for (int i = 0; i < 40; ++i) c.step();
  EXPECT_FALSE(same_state(a, c));
}

TEST(SplatTrainer, CheckpointResumesBitIdentically) {
  for (auto strategy : {DensifyStrategy::kDefault, DensifyStrategy::kMcmc}) {
    auto o = small_options();
    o.strategy = strategy;
    o.max_gaussians = 400;
    o.num_downscales = 1;
    o.resolution_schedule = 25;
    Trainer a(small_dataset(), o);
    for (int i = 0; i < 23; ++i) a.step();  // mid-epoch, before the resolution change
    const auto path = temp_path(strategy == DensifyStrategy::kMcmc ? "mcmc.ckpt" : "default.ckpt");
    a.save_checkpoint(path);
    Trainer b = Trainer::resume(path, small_dataset());
    EXPECT_TRUE(same_state(a, b));
    for (int i = 0; i < 25; ++i) {
      a.step();
      b.step();
    }
    EXPECT_TRUE(same_state(a, b)) << "strategy " << int(strategy);
    EXPECT_EQ(a.options().to_json(), b.options().to_json());
  }
}

TEST(SplatTrainer, CorruptCheckpointNamesTheFile) {
  Trainer a(small_dataset(), small_options());
  a.step();
  const auto path = temp_path("corrupt.ckpt");
  a.save_checkpoint(path);
  const auto size = fs::file_size(path);
  auto expect_error = [&](const std::string& what) {
    try {
      Trainer::resume(path, small_dataset());
      ADD_FAILURE() << "no error for " << what;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
  };
  fs::resize_file(path, size / 2);  // truncated
  expect_error("truncated");
  a.save_checkpoint(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(size - 100));
    f.put('\x5a');  // one byte flipped in the payload
  }
  expect_error("flipped byte");
  std::ofstream(path, std::ios::trunc) << "hello";
  expect_error("not a checkpoint");
  fs::remove(path);
  expect_error("missing");
  // Right file, wrong dataset.
  a.save_checkpoint(path);
  SplatDataset other = small_dataset();
  other.train.pop_back();
  EXPECT_THROW(Trainer::resume(path, other), std::runtime_error);
}

TEST(SplatTrainer, RunReportsProgressAndCancels) {
  auto o = small_options();
  o.eval_every = 10;
  Trainer t(small_dataset(), o);
  int calls = 0;
  TrainProgress last;
  RunCallbacks cb;
  cb.progress = [&](const TrainProgress& p) {
    ++calls;
    last = p;
  };
  cb.cancelled = [&] { return calls >= 12; };
  auto p = t.run(cb);
  EXPECT_TRUE(p.cancelled);
  EXPECT_EQ(t.step_count(), 12);
  EXPECT_EQ(last.step, 12);
  EXPECT_EQ(last.total, 60);
  EXPECT_FALSE(std::isnan(last.psnr));  // evaluated at step 10
  EXPECT_FALSE(std::isnan(last.loss));
  EXPECT_GT(last.seconds_per_step, 0);
  EXPECT_EQ(last.sh_degree, 1);
  EXPECT_EQ(last.width, 32);
  EXPECT_EQ(last.gaussians, t.num_gaussians());
  // Continue to the end: a final evaluation happens.
  RunCallbacks cb2;
  auto p2 = t.run(cb2);
  EXPECT_FALSE(p2.cancelled);
  EXPECT_EQ(t.step_count(), 60);
  EXPECT_THROW(t.step(), std::logic_error);
  auto e = t.evaluate();
  EXPECT_EQ(e.views, 2);
  EXPECT_NEAR(p2.psnr, e.psnr, 1e-9);
}

TEST(SplatTrainer, WorldOutputUndoesNormalisation) {
  SplatDataset d = small_dataset();
  d.normalisation.centre = {1, 2, 3};
  d.normalisation.scale = 0.5;
  Trainer t(d, small_options());
  auto n = t.gaussians(), w = t.gaussians_world();
  EXPECT_TRUE(at::allclose(w.means, n.means * 2 + at::tensor({1.f, 2.f, 3.f})));
  EXPECT_TRUE(at::allclose(w.log_scales, n.log_scales + std::log(2.0)));
  EXPECT_EQ(w.sh.sizes(), (std::vector<int64_t>{300, 4, 3}));
  EXPECT_TRUE(at::allclose(w.quats.norm(2, -1), at::ones({300})));
}

TEST(SplatTrainer, InitialisationRespectsTheCap) {
  auto o = small_options();
  o.max_gaussians = 120;  // 300 random points -> 120
  Trainer t(small_dataset(), o);
  EXPECT_EQ(t.num_gaussians(), 120);
  for (int i = 0; i < 40; ++i) t.step();  // densification never grows past the cap
  EXPECT_LE(t.num_gaussians(), 120);
  for (size_t g = 0; g < kNumGroups; ++g) EXPECT_EQ(t.optimizer()[g].exp_avg.size(0), t.num_gaussians());
}

// The fused CPU ops (the default) against their torch twins through the whole trainer. After one
// step the first moments (0.1 x the gradients, through the rasterizer) agree to 1e-5 of each
// group's largest; parameters are not compared over many steps, because with eps = 1e-15 Adam
// moves a Gaussian with a rounding-level gradient by a full lr either way. After 12 steps the
// loss and the renderings agree (measured: loss 3e-6 relative, PSNR 1e-6 dB, SSIM 1e-6).
TEST(SplatTrainer, FusedOpsMatchTorchOps) {
  auto o = small_options();
  o.refine_start = 100;
  Trainer f(small_dataset(), o);
  o.fused_ops = false;
  Trainer t(small_dataset(), o);
  f.step();
  t.step();
  for (size_t g = 0; g < kNumGroups; ++g) {
    const auto &x = f.optimizer()[g].exp_avg, &y = t.optimizer()[g].exp_avg;
    // + 1e-10: the random init is isotropic, so the quaternions' gradient is rounding noise.
    EXPECT_LE((x - y).abs().max().item<double>(), 1e-5 * y.abs().max().item<double>() + 1e-10) << f.optimizer()[g].name;
  }
  for (int i = 0; i < 11; ++i) {
    f.step();
    t.step();
  }
  EXPECT_NEAR(f.progress().loss, t.progress().loss, 1e-4 * t.progress().loss);
  auto ef = f.evaluate(true), et = t.evaluate(true);
  EXPECT_NEAR(ef.psnr, et.psnr, 0.01);
  EXPECT_NEAR(ef.ssim, et.ssim, 1e-4);
}
