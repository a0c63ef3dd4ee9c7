// CUDA kernels for projection and spherical harmonics: one thread per Gaussian, math.h inside.
#include <cuda_runtime.h>

#include "splat/raster/cuda_kernels.h"

namespace camgraph::splat::cuda {

namespace {

constexpr int kBlock = 256;
inline int blocks(int n) { return (n + kBlock - 1) / kBlock; }
inline int launched() { return (int)cudaGetLastError(); }

__global__ void project_fwd_kernel(CamParams cam, int n, const float* __restrict__ means,
                                   const float* __restrict__ log_scales, const float* __restrict__ quats,
                                   float* means2d, float* depths, float* conics, int* radii) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  project_one(cam, means + 3 * i, log_scales + 3 * i, quats + 4 * i, means2d + 2 * i, depths + i, conics + 3 * i,
              radii + i);
}

__global__ void project_bwd_kernel(CamParams cam, int n, const float* __restrict__ means,
                                   const float* __restrict__ log_scales, const float* __restrict__ quats,
                                   const float* __restrict__ conics, const int* __restrict__ radii,
                                   const float* __restrict__ v_means2d, const float* __restrict__ v_depths,
                                   const float* __restrict__ v_conics, float* v_means, float* v_log_scales,
                                   float* v_quats) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n || radii[i] <= 0) return;
  project_one_vjp(cam, means + 3 * i, log_scales + 3 * i, quats + 4 * i, conics + 3 * i, v_means2d + 2 * i, v_depths[i],
                  v_conics + 3 * i, v_means + 3 * i, v_log_scales + 3 * i, v_quats + 4 * i);
}

__global__ void sh_fwd_kernel(int degree, V3 campos, int n, int k, const float* __restrict__ means,
                              const float* __restrict__ coeffs, float* colors) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  sh_one(degree, campos, means + 3 * i, coeffs + 3 * (size_t)k * i, colors + 3 * i);
}

__global__ void sh_bwd_kernel(int degree, V3 campos, int n, int k, const float* __restrict__ means,
                              const float* __restrict__ coeffs, const float* __restrict__ colors,
                              const float* __restrict__ v_colors, float* v_means, float* v_coeffs) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  sh_one_vjp(degree, campos, means + 3 * i, coeffs + 3 * (size_t)k * i, colors + 3 * i, v_colors + 3 * i,
             v_coeffs + 3 * (size_t)k * i, v_means + 3 * i);
}

}  // namespace

const char* cuda_error_string(int error) { return cudaGetErrorString((cudaError_t)error); }

int project_fwd(const CamParams& cam, int n, const float* means, const float* log_scales, const float* quats,
                float* means2d, float* depths, float* conics, int* radii) {
  if (n == 0) return 0;
  project_fwd_kernel<<<blocks(n), kBlock>>>(cam, n, means, log_scales, quats, means2d, depths, conics, radii);
  return launched();
}

int project_bwd(const CamParams& cam, int n, const float* means, const float* log_scales, const float* quats,
                const float* conics, const int* radii, const float* v_means2d, const float* v_depths,
                const float* v_conics, float* v_means, float* v_log_scales, float* v_quats) {
  if (n == 0) return 0;
  project_bwd_kernel<<<blocks(n), kBlock>>>(cam, n, means, log_scales, quats, conics, radii, v_means2d, v_depths,
                                            v_conics, v_means, v_log_scales, v_quats);
  return launched();
}

int sh_fwd(int degree, V3 campos, int n, int k, const float* means, const float* coeffs, float* colors) {
  if (n == 0) return 0;
  sh_fwd_kernel<<<blocks(n), kBlock>>>(degree, campos, n, k, means, coeffs, colors);
  return launched();
}

int sh_bwd(int degree, V3 campos, int n, int k, const float* means, const float* coeffs, const float* colors,
           const float* v_colors, float* v_means, float* v_coeffs) {
  if (n == 0) return 0;
  sh_bwd_kernel<<<blocks(n), kBlock>>>(degree, campos, n, k, means, coeffs, colors, v_colors, v_means, v_coeffs);
  return launched();
}

}  // namespace camgraph::splat::cuda
