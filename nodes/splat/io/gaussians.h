// The in-memory Gaussian set shared by the splat loaders, trainer and renderer.
// All tensors are float32, on one device, with the same N.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace camgraph::splat {

struct GaussianSet {
  at::Tensor means;           // [N, 3] world (or normalised) positions
  at::Tensor log_scales;      // [N, 3] log of the per-axis standard deviations
  at::Tensor quats;           // [N, 4] rotation quaternion w, x, y, z (not necessarily unit)
  at::Tensor opacity_logits;  // [N]    opacity = sigmoid(opacity_logits)
  at::Tensor sh;              // [N, K, 3] SH coefficients per colour channel, sh[:, 0] = DC

  int64_t size() const { return means.defined() ? means.size(0) : 0; }
  int64_t sh_coeffs() const { return sh.defined() ? sh.size(1) : 0; }  // K = (degree + 1)^2
  int sh_degree() const;                                               // throws when K is not a square (1, 4, 9, 16)
  // Checks shapes and dtypes; throws std::runtime_error naming `what` and the bad field.
  void validate(const char* what = "GaussianSet") const;
};

// K for an SH degree, and the degree for K (-1 when K is not (d + 1)^2).
inline int sh_coeffs_for_degree(int degree) { return (degree + 1) * (degree + 1); }
int sh_degree_for_coeffs(int64_t k);

}  // namespace camgraph::splat
