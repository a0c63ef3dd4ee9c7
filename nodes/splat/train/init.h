// Initial Gaussians: from a point cloud (scales from nearest neighbours) or random in a box.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace camgraph::splat {

// Spherical-harmonics DC coefficient <-> colour (colour = C0 * dc + 0.5).
constexpr double kShC0 = 0.28209479177387814;

// Mean squared distance from each point to its k nearest other points (k-d tree, exact,
// O(P log P)). Points [P, 3] float; returns [P] float32. Fewer than k + 1 points: the
// available neighbours are used; a single point gets 1.
at::Tensor knn_mean_sq_dist(const at::Tensor& points, int k = 3);

// Parameters of the initial Gaussians (normalised coordinates).
struct InitialGaussians {
  at::Tensor means;           // [N, 3]
  at::Tensor log_scales;      // [N, 3] log(sqrt(mean sq. distance to 3 NN)), isotropic
  at::Tensor quats;           // [N, 4] identity (1, 0, 0, 0)
  at::Tensor opacity_logits;  // [N] logit(opacity)
  at::Tensor sh_dc;           // [N, 1, 3] from the colours
};

// From points [P, 3] and colours [P, 3] in 0..1 (undefined colours: grey).
InitialGaussians init_from_points(const at::Tensor& points, const at::Tensor& colours, double opacity);

// `count` points uniform in the cube [-half_size, half_size]^3 with uniform random colours.
InitialGaussians init_random(int64_t count, double half_size, double opacity, at::Generator& gen);

}  // namespace camgraph::splat
