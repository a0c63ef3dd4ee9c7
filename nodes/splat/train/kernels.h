// Raw-pointer CPU kernels of the training step that need no torch (kernels.cpp is compiled
// without the torch precompiled header and with -fno-math-errno, so that sqrt loops vectorise).
#pragma once
#include <cstdint>

namespace camgraph::splat {

// One Adam step in float over n contiguous elements, in the order of Adam::step_torch():
//   m = m b1 + (1 - b1) g;  v = v b2 + (1 - b2) g g;  p += step_size * m / (sqrt(v) / sqrt_bc2 + eps)
// with step_size = -lr / (1 - b1^t), sqrt_bc2 = sqrt(1 - b2^t). Multithreaded (parallel.h).
struct AdamCoeffs {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, sqrt_bc2, step_size, eps;
};
void adam_update(float* p, float* m, float* v, const float* g, int64_t n, const AdamCoeffs& c);

}  // namespace camgraph::splat
