// Adaptive density control on the optimiser's parameter groups: 3DGS clone / split / prune /
// opacity reset (Kerbl et al. 2023), and the 3DGS-MCMC relocation, growth and position noise
// (Kheradmand et al. 2024).
//
// Device-generic: everything runs as ATen ops on the device of the parameters (CPU or CUDA), with
// random numbers from the generator passed in, which must live on that device (a CPU generator for
// CPU tensors, a CUDA one for CUDA tensors). The only CPU-specific pieces are the fused CPU
// kernels accumulate_stats() and mcmc_split_update() on CPU tensors; each has a torch-op twin
// (the `_torch` functions), which is what CUDA tensors (and `fused = false`) use.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

#include "splat/train/adam.h"

namespace camgraph::splat {

// Order of the parameter groups in the trainer's Adam.
enum ParamGroup : size_t { kMeans = 0, kLogScales, kQuats, kOpacity, kShDc, kShRest, kNumGroups };

// [N, 4] quaternions (w, x, y, z), any norm -> [N, 3, 3] rotation matrices.
at::Tensor quat_to_rotmat(const at::Tensor& quats);

// Per-Gaussian statistics gathered between two refinements.
struct DensityStats {
  at::Tensor grad_sum;   // [N] float32: sum of |d loss / d mean2d| in NDC units over visible steps
  at::Tensor count;      // [N] float32: number of visible steps
  at::Tensor max_radii;  // [N] float32: largest screen radius, full-resolution pixels
  void reset(int64_t n, c10::Device device = c10::kCPU);  // zeros of length n on `device`
  int64_t size() const { return grad_sum.defined() ? grad_sum.size(0) : 0; }
};

// Adds one step. v_means2d [N, 2] is the gradient w.r.t. pixel positions; it is converted to
// NDC units (x * W / 2, y * H / 2) so that thresholds mean what they do in 3DGS. radii [N]
// (0 = not visible) are multiplied by `radius_scale` (the training downscale factor).
// One CPU loop; other devices (and non-contiguous inputs) go to accumulate_stats_torch().
void accumulate_stats(DensityStats& stats, const at::Tensor& v_means2d, const at::Tensor& radii, int width, int height,
                      double radius_scale);
// The same as a chain of torch ops (the reference twin of accumulate_stats(), which is one loop).
void accumulate_stats_torch(DensityStats& stats, const at::Tensor& v_means2d, const at::Tensor& radii, int width,
                            int height, double radius_scale);

struct DensifyParams {
  double grad_threshold = 0.0002;  // mean NDC gradient norm
  double percent_dense = 0.01;     // clone if max scale <= this x extent, else split
  double extent = 1.0;
  double min_opacity = 0.005;
  bool prune_large = false;      // also prune too-large Gaussians (after the first reset)
  double max_world_scale = 0.1;  // x extent
  double max_screen_px = 20;     // full-resolution pixels; <= 0: off
  int64_t max_gaussians = 0;     // no growth past this; <= 0: no cap
};

struct DensifyResult {
  int64_t cloned = 0, split = 0, pruned = 0;
};

// Clones small and splits large Gaussians with a high mean gradient (2 children sampled from
// the parent, scales / 1.6), then prunes; parameters and moments stay aligned (new rows get
// zero moments). Resets `stats` to the new size.
DensifyResult densify_and_prune(Adam& adam, DensityStats& stats, const DensifyParams& p, at::Generator& gen);

// Removes rows where `mask` is true (parameters, moments and stats).
void prune_rows(Adam& adam, DensityStats& stats, const at::Tensor& mask);

// opacity := min(opacity, value); zeroes the opacity moments.
void reset_opacity(Adam& adam, double value);

// ---- 3DGS-MCMC -------------------------------------------------------------------------

// Opacity and scale of a Gaussian replaced by `ratio` copies, so that their sum matches the
// original (the paper's Eq. 9). opacity [M], scales [M, 3], ratio [M] int64 -> (opacity, scales).
// Ratios are clamped to 1..51. CPU tensors: one loop in double; other devices: the torch twin.
std::pair<at::Tensor, at::Tensor> mcmc_split_update(const at::Tensor& opacity, const at::Tensor& scales,
                                                    const at::Tensor& ratio);
// The same as torch ops on the tensors' device: Eq. 9's double sum folded into one sum over k with
// C(n, k) (hockey-stick identity), evaluated in double. Equal to mcmc_split_update() to rounding.
std::pair<at::Tensor, at::Tensor> mcmc_split_update_torch(const at::Tensor& opacity, const at::Tensor& scales,
                                                          const at::Tensor& ratio);

// Moves dead Gaussians (opacity <= min_opacity) onto live ones sampled by opacity; the sources
// and their copies share the corrected opacity/scale; their moments are zeroed. Returns count.
// `fused`: the CPU loop of mcmc_split_update() for CPU tensors; false: its torch twin. The
// sampling (and so every decision) is the same either way for the same generator state.
int64_t mcmc_relocate(Adam& adam, double min_opacity, at::Generator& gen, bool fused = true);

// Adds min(cap, (1 + growth) N) - N Gaussians as copies of live ones sampled by opacity.
int64_t mcmc_add(Adam& adam, int64_t cap, double growth, double min_opacity, at::Generator& gen, bool fused = true);

// means += Sigma * n * sigmoid(100 (1 - opacity - 0.995)) * scale, n ~ N(0, I).
void mcmc_inject_noise(Adam& adam, double scale, at::Generator& gen);

}  // namespace camgraph::splat
