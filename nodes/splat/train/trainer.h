// 3D Gaussian Splatting trainer (Kerbl et al. 2023) on top of splat::render().
//
// Works in the dataset's normalised coordinates (points and cameras as the loader gives them;
// `extent` in the same units); gaussians_world() undoes the normalisation.
// One step: pick a training view (a fresh random permutation per epoch), render at the
// scheduled resolution, loss = (1 - l) L1 + l (1 - SSIM), backward, Adam, then density control
// (3DGS clone/split/prune or 3DGS-MCMC).
//
// Devices: the whole step runs on the trainer's device (CPU or CUDA): images are uploaded once,
// parameters, moments, density statistics and the loss live there. On the CPU with fused_ops the
// fused CPU kernels run; otherwise (CUDA, or fused_ops = false) their torch-op twins do.
// Randomness: the view order and the initialisation come from a seeded CPU generator; density
// control and MCMC draw from a generator on the device seeded with the same seed (on the CPU the
// two are one generator). A CPU run is deterministic for a seed and resumes bit-identically from a
// checkpoint. A CUDA run is not bitwise reproducible (the rasterizer's backward accumulates with
// atomics), though its decisions follow the same seeded streams.
// Checkpoints are device-independent files (CPU tensors): one written on one device resumes on any.
#pragma once
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "splat/io/dataset.h"
#include "splat/io/gaussians.h"

namespace camgraph::splat {

class Adam;

enum class DensifyStrategy { kDefault, kMcmc };
enum class InitMode { kAuto, kPoints, kRandom };  // kAuto: points when the dataset has some

// Defaults follow the INRIA implementation (and gsplat's MCMC strategy for kMcmc).
struct TrainOptions {
  int iterations = 30000;
  uint64_t seed = 0;
  std::array<float, 3> background{0.f, 0.f, 0.f};

  // Initialisation.
  InitMode init = InitMode::kAuto;
  int64_t random_points = 100000;
  double random_half_size = 1.0;  // x extent: cube [-h, h]^3 around the origin
  double init_opacity = 0.1;

  // Loss.
  double ssim_lambda = 0.2;

  // Spherical harmonics: degree 0 first, +1 every sh_degree_interval steps up to sh_degree.
  int sh_degree = 3;
  int sh_degree_interval = 1000;

  // Resolution schedule (as OpenSplat): train at 1 / 2^num_downscales, halving the factor every
  // resolution_schedule steps. 0 downscales: always full resolution.
  int num_downscales = 0;
  int resolution_schedule = 3000;

  // Adam learning rates (means: x extent, exponential decay over `iterations` steps).
  double lr_means = 1.6e-4, lr_means_final = 1.6e-6;
  double lr_sh_dc = 2.5e-3, lr_sh_rest = 2.5e-3 / 20;
  double lr_opacity = 5e-2, lr_scales = 5e-3, lr_quats = 1e-3;
  double adam_eps = 1e-15;

  // Density control. Refinement at 1-based step s with refine_start < s < refine_stop and
  // s % refine_every == 0.
  DensifyStrategy strategy = DensifyStrategy::kDefault;
  int refine_start = 500;
  int refine_stop = 15000;  // kMcmc uses mcmc_refine_stop
  int refine_every = 100;
  int opacity_reset_every = 3000;  // 0: never
  double opacity_reset_value = 0.01;
  double grad_threshold = 0.0002;  // mean view-space (NDC) positional gradient
  double percent_dense = 0.01;
  double prune_opacity = 0.005;
  double prune_world_scale = 0.1;   // x extent, after the first opacity reset
  double prune_screen_px = 20;      // after the first opacity reset; <= 0: off
  int64_t max_gaussians = 3000000;  // no growth past this (kMcmc grows up to it); larger inits are subsampled

  // 3DGS-MCMC.
  int mcmc_refine_stop = 25000;
  double mcmc_growth = 0.05;
  double mcmc_noise_lr = 5e5;
  double mcmc_opacity_reg = 0.01;
  double mcmc_scale_reg = 0.01;

  // CPU hot path: the fused loss, Adam and density statistics (loss_fused.cpp, adam.cpp,
  // density.cpp), and torch's intra-op threads set to 1 during step() and evaluate() (restored
  // after; the rasterizer and the fused kernels run their own threads). false: the torch-op
  // reference twins (slower, equal to float rounding) with torch's thread setting untouched; they
  // are the device-generic path, which a CUDA trainer always takes.
  bool fused_ops = true;

  // Held-out evaluation in run(): every eval_every steps (0: only at the end).
  int eval_every = 0;

  nlohmann::json to_json() const;
  static TrainOptions from_json(const nlohmann::json& j);  // missing keys keep defaults
  void validate() const;                                   // throws std::invalid_argument
};

struct TrainProgress {
  int step = 0, total = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();  // moving average (0.4 new, 0.6 old)
  double psnr = std::numeric_limits<double>::quiet_NaN();  // latest evaluation
  int64_t gaussians = 0;
  double seconds_per_step = 0;  // moving average
  int sh_degree = 0;
  int resolution = 1;         // training downscale factor (1: full resolution)
  int width = 0, height = 0;  // size of the last training image
  bool cancelled = false;
};

struct EvalResult {
  double psnr = std::numeric_limits<double>::quiet_NaN();  // mean over views, dB
  double ssim = std::numeric_limits<double>::quiet_NaN();
  double l1 = std::numeric_limits<double>::quiet_NaN();
  int views = 0;
};

struct RunCallbacks {
  std::function<void(const TrainProgress&)> progress;  // after every progress_every-th step
  std::function<bool()> cancelled;                     // polled before every step
  int progress_every = 1;
  std::filesystem::path checkpoint_path;  // when set: saved every checkpoint_every steps and at the end
  int checkpoint_every = 0;
  int stop_at = -1;  // stop after this step (< iterations); -1: run to the end
};

class Trainer {
 public:
  // `device`: where the step runs (CPU or CUDA). Throws std::invalid_argument for CUDA when this
  // libtorch or machine has no CUDA device.
  Trainer(const SplatDataset& dataset, TrainOptions options, c10::Device device = c10::kCPU);
  ~Trainer();
  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;

  void step();
  // Steps until `iterations` (or cancelled / stop_at); evaluates on dataset.test as configured.
  TrainProgress run(const RunCallbacks& callbacks = {});
  // Renders every test view at full resolution with the current SH degree.
  EvalResult evaluate(bool use_train_views = false);

  // Copies on the trainer's device.
  GaussianSet gaussians() const;        // normalised coordinates; sh [N, (sh_degree+1)^2, 3]
  GaussianSet gaussians_world() const;  // world coordinates

  void save_checkpoint(const std::filesystem::path& path) const;
  // Loads to the CPU, then moves everything to `device` (any device, whichever wrote the file).
  // Throws std::runtime_error naming the file when it is unreadable, corrupt or does not match
  // the dataset (number and sizes of training views).
  static Trainer resume(const std::filesystem::path& path, const SplatDataset& dataset, c10::Device device = c10::kCPU);

  int step_count() const;
  c10::Device device() const;
  int64_t num_gaussians() const;
  const TrainOptions& options() const;
  const TrainProgress& progress() const;
  Adam& optimizer();  // parameter groups in ParamGroup order (density.h)
  const Adam& optimizer() const;

  // Schedules at a 0-based step (steps completed so far).
  static double means_lr_at(const TrainOptions& o, double extent, int step);
  static int sh_degree_at(const TrainOptions& o, int step);
  static int downscale_at(const TrainOptions& o, int step);

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace camgraph::splat
