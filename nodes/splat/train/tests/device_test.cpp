// The device-generic training path (what a CUDA trainer runs: torch ops on the tensors' device,
// random numbers from a generator there) against the fused CPU path, on the CPU; device-independent
// checkpoints; and the CUDA trainer, which these tests run only where there is a GPU.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "splat/train/adam.h"
#include "splat/train/archive.h"
#include "splat/train/density.h"
#include "splat/train/trainer.h"
#include "small_training.h"
#include "synthetic.h"

using namespace camgraph::splat;
using camgraph::splat::test_scenes::small_dataset;
using camgraph::splat::test_scenes::small_options;
namespace fs = std::filesystem;

namespace {

const char* kNoGpu = "no CUDA device (CPU-only libtorch or no GPU): the CUDA trainer is checked on a GPU machine";

// Parameters and moments equal (on the CPU, whichever device each trainer is on).
bool same_state(const Trainer& a, const Trainer& b) {
  if (a.step_count() != b.step_count() || a.num_gaussians() != b.num_gaussians()) return false;
  for (size_t g = 0; g < kNumGroups; ++g) {
    const auto &x = a.optimizer()[g], &y = b.optimizer()[g];
    if (!at::equal(x.param.detach().cpu(), y.param.detach().cpu()) || !at::equal(x.exp_avg.cpu(), y.exp_avg.cpu()) ||
        !at::equal(x.exp_avg_sq.cpu(), y.exp_avg_sq.cpu()) || x.step != y.step)
      return false;
  }
  return true;
}

fs::path temp_path(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("camgraph_splat_device_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// n Gaussians with random parameters and moments; about a fifth are dead (opacity 0.001).
Adam random_adam(int64_t n, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  Adam adam;
  adam.add_group("means", at::randn({n, 3}, g), 1e-3);
  adam.add_group("log_scales", at::randn({n, 3}, g) * 0.5 - 3, 1e-3);
  adam.add_group("quats", at::randn({n, 4}, g), 1e-3);
  auto op = at::rand({n}, g) * 0.98 + 0.01;
  op = at::where(at::rand({n}, g) < 0.2, at::full_like(op, 0.001f), op);
  adam.add_group("opacity", at::logit(op), 1e-3);
  adam.add_group("sh_dc", at::randn({n, 1, 3}, g), 1e-3);
  adam.add_group("sh_rest", at::randn({n, 3, 3}, g), 1e-3);
  for (size_t i = 0; i < adam.size(); ++i) {
    adam[i].exp_avg = at::randn(adam[i].param.sizes(), g);
    adam[i].exp_avg_sq = at::rand(adam[i].param.sizes(), g);
  }
  return adam;
}

double max_rel(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs() / b.abs().clamp_min(1e-30)).max().item<double>();
}

// a and b: the same rows, copied rows bit-equal, opacity and scales equal to rounding.
void expect_same_mcmc_result(Adam& a, Adam& b) {
  ASSERT_EQ(a.rows(), b.rows());
  for (size_t g : {kMeans, kQuats, kShDc, kShRest}) {
    EXPECT_TRUE(at::equal(a.param(g).detach(), b.param(g).detach())) << a[g].name;
    EXPECT_TRUE(at::equal(a[g].exp_avg, b[g].exp_avg)) << a[g].name;
  }
  EXPECT_LE(max_rel(at::sigmoid(a.param(kOpacity).detach()), at::sigmoid(b.param(kOpacity).detach())), 1e-5);
  EXPECT_LE(max_rel(at::exp(a.param(kLogScales).detach()), at::exp(b.param(kLogScales).detach())), 1e-5);
  EXPECT_TRUE(at::equal(a[kOpacity].exp_avg, b[kOpacity].exp_avg));
}

}  // namespace

// The torch twin of Eq. 9 (one sum over C(n, k), on any device) against the CPU double loop,
// over every ratio and opacities up to the clamp at 1 - float eps.
TEST(SplatDevicePath, McmcSplitUpdateTwinMatchesLoop) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(4);
  const int64_t m = 4000;
  auto op = at::rand({m}, g) * (1 - 1.2e-7 - 0.005) + 0.005;
  op.narrow(0, 0, 2).fill_(1 - 1.2e-7);
  auto sc = at::rand({m, 3}, g) + 0.01;
  auto ratio = at::randint(1, 60, {m}, g, at::kLong);  // > 51 is clamped by both
  auto [o1, s1] = mcmc_split_update(op, sc, ratio);
  auto [o2, s2] = mcmc_split_update_torch(op, sc, ratio);
  EXPECT_LE(max_rel(o2, o1), 1e-6);
  EXPECT_LE(max_rel(s2, s1), 1e-5);
  auto [e1, f1] = mcmc_split_update_torch(op.narrow(0, 0, 0), sc.narrow(0, 0, 0), ratio.narrow(0, 0, 0));
  EXPECT_EQ(e1.numel(), 0);
  EXPECT_EQ(f1.size(0), 0);
}

// Relocation and growth on the generic path make the same decisions from the same generator
// state (the same dead rows, the same sampled sources) and the same values to rounding.
TEST(SplatDevicePath, McmcRelocateAndAddMatchFusedPath) {
  Adam a = random_adam(3000, 21), b = random_adam(3000, 21);
  auto ga = at::make_generator<at::CPUGeneratorImpl>(8), gb = at::make_generator<at::CPUGeneratorImpl>(8);
  const int64_t moved = mcmc_relocate(a, 0.005, ga, true);
  EXPECT_GT(moved, 400);
  EXPECT_EQ(mcmc_relocate(b, 0.005, gb, false), moved);
  expect_same_mcmc_result(a, b);
  EXPECT_EQ(mcmc_add(a, 3300, 0.2, 0.005, ga, true), 300);
  EXPECT_EQ(mcmc_add(b, 3300, 0.2, 0.005, gb, false), 300);
  expect_same_mcmc_result(a, b);
  mcmc_inject_noise(a, 0.5, ga);
  mcmc_inject_noise(b, 0.5, gb);
  EXPECT_TRUE(at::allclose(a.param(kMeans).detach(), b.param(kMeans).detach(), 1e-5, 1e-7));
}

// The whole step on the generic path (torch loss, statistics, Adam, density control; what CUDA
// runs) against the fused CPU path, through refinements. Parameters drift apart by rounding (see
// FusedOpsMatchTorchOps), so decisions are compared by count: MCMC's growth depends only on the
// count (equal), 3DGS clone/split on thresholds (equal up to Gaussians at the threshold).
TEST(SplatDevicePath, TrainerDensityControlMatchesFusedPath) {
  for (auto strategy : {DensifyStrategy::kDefault, DensifyStrategy::kMcmc}) {
    auto o = small_options();
    o.strategy = strategy;
    o.max_gaussians = strategy == DensifyStrategy::kMcmc ? 450 : 3000000;
    Trainer f(small_dataset(), o, c10::kCPU);
    o.fused_ops = false;
    Trainer t(small_dataset(), o, c10::kCPU);
    for (int i = 0; i < 32; ++i) {
      f.step();
      t.step();
    }
    const double nf = double(f.num_gaussians()), nt = double(t.num_gaussians());
    EXPECT_NE(nf, 300.0) << "density control ran";
    if (strategy == DensifyStrategy::kMcmc) EXPECT_EQ(nf, nt);
    else EXPECT_LE(std::abs(nf - nt), 0.02 * nf + 2) << nf << " vs " << nt;
    EXPECT_NEAR(f.progress().loss, t.progress().loss, 0.02 * f.progress().loss) << "strategy " << int(strategy);
    auto ef = f.evaluate(true), et = t.evaluate(true);
    EXPECT_NEAR(ef.psnr, et.psnr, 0.2);
  }
}

// A checkpoint is a file of CPU tensors: resuming onto an explicit device loads to the CPU and
// moves; a CPU run continues bit-identically.
TEST(SplatDevicePath, CheckpointResumesOnTheGivenDevice) {
  auto o = small_options();
  o.strategy = DensifyStrategy::kMcmc;
  o.max_gaussians = 400;
  Trainer a(small_dataset(), o, c10::kCPU);
  for (int i = 0; i < 17; ++i) a.step();
  const auto path = temp_path("cpu.ckpt");
  a.save_checkpoint(path);
  for (const auto& [name, t] : read_archive(path).tensors) EXPECT_TRUE(t.device().is_cpu()) << name;
  Trainer b = Trainer::resume(path, small_dataset(), c10::kCPU);
  EXPECT_TRUE(b.device().is_cpu());
  EXPECT_TRUE(same_state(a, b));
  for (int i = 0; i < 15; ++i) {
    a.step();
    b.step();
  }
  EXPECT_TRUE(same_state(a, b));
}

// A checkpoint written by a CUDA run carries the CUDA generator's state as well; the CPU resume
// ignores it and continues from the CPU generator, as a CPU checkpoint would.
TEST(SplatDevicePath, CheckpointFromAnotherDeviceResumesOnTheCpu) {
  Trainer a(small_dataset(), small_options(), c10::kCPU);
  for (int i = 0; i < 12; ++i) a.step();
  const auto path = temp_path("from_cuda.ckpt");
  a.save_checkpoint(path);
  TensorArchive ar = read_archive(path);
  ar.meta["rng_device"] = "cuda";
  ar.tensors["rng_device"] = at::arange(16, at::kByte);  // a CUDA Philox state: seed and offset
  write_archive(path, ar);
  Trainer b = Trainer::resume(path, small_dataset());
  EXPECT_TRUE(same_state(a, b));
  for (int i = 0; i < 20; ++i) {
    a.step();
    b.step();
  }
  EXPECT_TRUE(same_state(a, b));
}

TEST(SplatDevicePath, CudaTrainerNeedsAGpu) {
  if (at::hasCUDA()) GTEST_SKIP() << "this machine has a CUDA device";
  try {
    Trainer t(small_dataset(), small_options(), c10::Device(c10::kCUDA, 0));
    ADD_FAILURE() << "a CUDA trainer was made without a GPU";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
  }
}

// GPU machines: one step on CUDA against the CPU (first moments, as FusedOpsMatchTorchOps), then
// CPU -> CUDA -> CPU through checkpoints, each resume starting from exactly the saved state.
TEST(SplatDevicePath, CudaStepMatchesCpuAndCheckpointsCrossDevices) {
  if (!at::hasCUDA()) GTEST_SKIP() << kNoGpu;
  const c10::Device cuda(c10::kCUDA, 0);
  auto o = small_options();
  o.refine_start = 100;
  Trainer c(small_dataset(), o, c10::kCPU), g(small_dataset(), o, cuda);
  EXPECT_TRUE(g.optimizer().param(kMeans).is_cuda());
  EXPECT_TRUE(same_state(c, g));  // the same initialisation on both devices
  c.step();
  g.step();
  for (size_t i = 0; i < kNumGroups; ++i) {
    const auto x = g.optimizer()[i].exp_avg.cpu(), y = c.optimizer()[i].exp_avg;
    EXPECT_LE((x - y).abs().max().item<double>(), 1e-4 * y.abs().max().item<double>() + 1e-10) << g.optimizer()[i].name;
  }

  for (auto strategy : {DensifyStrategy::kDefault, DensifyStrategy::kMcmc}) {
    auto so = small_options();
    so.strategy = strategy;
    so.max_gaussians = 400;
    Trainer cpu(small_dataset(), so, c10::kCPU);
    for (int i = 0; i < 12; ++i) cpu.step();
    const auto p1 = temp_path("to_cuda.ckpt"), p2 = temp_path("to_cpu.ckpt");
    cpu.save_checkpoint(p1);
    Trainer on_gpu = Trainer::resume(p1, small_dataset(), cuda);
    EXPECT_TRUE(same_state(cpu, on_gpu));
    for (int i = 0; i < 20; ++i) on_gpu.step();  // through refinements at 20 and 30
    EXPECT_TRUE(std::isfinite(on_gpu.progress().loss));
    on_gpu.save_checkpoint(p2);
    Trainer back = Trainer::resume(p2, small_dataset(), c10::kCPU);
    EXPECT_TRUE(same_state(on_gpu, back)) << "strategy " << int(strategy);
    back.step();
    EXPECT_EQ(back.step_count(), 33);
    Trainer again = Trainer::resume(p2, small_dataset(), cuda);  // CUDA state restored
    again.step();
    on_gpu.step();
    EXPECT_EQ(again.num_gaussians(), on_gpu.num_gaussians());
  }
}
