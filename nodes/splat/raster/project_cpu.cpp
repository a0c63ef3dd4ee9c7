// CPU kernels for projection and spherical harmonics: one math.h call per Gaussian, threaded
// with parallel_chunks (parallel.h). Each Gaussian writes only its own rows: deterministic.
#include <ATen/ATen.h>

#include "splat/raster/backends.h"
#include "splat/raster/parallel.h"

namespace camgraph::splat {

namespace {
constexpr int64_t kGrain = 256;
}

ProjectOutput project_fwd_cpu(const CamParams& cam, const at::Tensor& means, const at::Tensor& log_scales,
                              const at::Tensor& quats) {
  const int64_t n = means.size(0);
  const auto opts = means.options();
  ProjectOutput out{at::zeros({n, 2}, opts), at::zeros({n}, opts), at::zeros({n, 3}, opts),
                    at::zeros({n}, opts.dtype(at::kInt))};
  const float* m = means.data_ptr<float>();
  const float* s = log_scales.data_ptr<float>();
  const float* q = quats.data_ptr<float>();
  float* m2 = out.means2d.data_ptr<float>();
  float* d = out.depths.data_ptr<float>();
  float* c = out.conics.data_ptr<float>();
  int* r = out.radii.data_ptr<int>();
  parallel_chunks(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float m2i[2], di, ci[3];
      int ri;
      if (project_one(cam, m + 3 * i, s + 3 * i, q + 4 * i, m2i, &di, ci, &ri)) {
        m2[2 * i] = m2i[0];
        m2[2 * i + 1] = m2i[1];
        d[i] = di;
        c[3 * i] = ci[0];
        c[3 * i + 1] = ci[1];
        c[3 * i + 2] = ci[2];
        r[i] = ri;
      }
    }
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> project_bwd_cpu(const CamParams& cam, const at::Tensor& means,
                                                               const at::Tensor& log_scales, const at::Tensor& quats,
                                                               const at::Tensor& conics, const at::Tensor& radii,
                                                               const at::Tensor& v_means2d, const at::Tensor& v_depths,
                                                               const at::Tensor& v_conics) {
  const int64_t n = means.size(0);
  auto v_means = at::zeros_like(means), v_scales = at::zeros_like(log_scales), v_quats = at::zeros_like(quats);
  const float* m = means.data_ptr<float>();
  const float* s = log_scales.data_ptr<float>();
  const float* q = quats.data_ptr<float>();
  const float* c = conics.data_ptr<float>();
  const int* r = radii.data_ptr<int>();
  const float* vm2 = v_means2d.data_ptr<float>();
  const float* vd = v_depths.data_ptr<float>();
  const float* vc = v_conics.data_ptr<float>();
  float* om = v_means.data_ptr<float>();
  float* os = v_scales.data_ptr<float>();
  float* oq = v_quats.data_ptr<float>();
  parallel_chunks(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (r[i] <= 0) continue;
      project_one_vjp(cam, m + 3 * i, s + 3 * i, q + 4 * i, c + 3 * i, vm2 + 2 * i, vd[i], vc + 3 * i, om + 3 * i,
                      os + 3 * i, oq + 4 * i);
    }
  });
  return {v_means, v_scales, v_quats};
}

at::Tensor sh_fwd_cpu(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs) {
  const int64_t n = means.size(0), k = coeffs.size(1);
  auto colors = at::empty({n, 3}, means.options());
  const float* m = means.data_ptr<float>();
  const float* sh = coeffs.data_ptr<float>();
  float* out = colors.data_ptr<float>();
  parallel_chunks(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sh_one(degree, campos, m + 3 * i, sh + 3 * k * i, out + 3 * i);
  });
  return colors;
}

std::tuple<at::Tensor, at::Tensor> sh_bwd_cpu(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs,
                                              const at::Tensor& colors, const at::Tensor& v_colors) {
  const int64_t n = means.size(0), k = coeffs.size(1);
  auto v_means = at::zeros_like(means), v_coeffs = at::zeros_like(coeffs);
  const float* m = means.data_ptr<float>();
  const float* sh = coeffs.data_ptr<float>();
  const float* col = colors.data_ptr<float>();
  const float* vcol = v_colors.data_ptr<float>();
  float* om = v_means.data_ptr<float>();
  float* osh = v_coeffs.data_ptr<float>();
  parallel_chunks(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      sh_one_vjp(degree, campos, m + 3 * i, sh + 3 * k * i, col + 3 * i, vcol + 3 * i, osh + 3 * k * i, om + 3 * i);
  });
  return {v_means, v_coeffs};
}

}  // namespace camgraph::splat
