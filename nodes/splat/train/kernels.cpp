#include "splat/train/kernels.h"

#include <cmath>

#include "splat/raster/parallel.h"

namespace camgraph::splat {

void adam_update(float* p, float* m, float* v, const float* g, int64_t n, const AdamCoeffs& c) {
  parallel_chunks(n, int64_t(1) << 15, [&](int64_t b, int64_t e) {
    float* __restrict pp = p;
    float* __restrict mp = m;
    float* __restrict vp = v;
    const float* __restrict gp = g;
    for (int64_t i = b; i < e; ++i) {
      const float gi = gp[i];
      const float mi = mp[i] * c.beta1 + c.one_minus_beta1 * gi;
      const float vi = vp[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
      mp[i] = mi;
      vp[i] = vi;
      pp[i] += c.step_size * (mi / (std::sqrt(vi) / c.sqrt_bc2 + c.eps));
    }
  });
}

}  // namespace camgraph::splat
