// The three rasterizer ops as forward/backward tensor functions (no autograd), each dispatching
// on the device of its inputs to the CPU kernels or, in builds with CAMGRAPH_WITH_CUDA, to the
// CUDA kernels. All float tensors are float32; outputs live on the inputs' device.
// render.h wraps them as torch autograd functions.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>

#include "splat/raster/math.h"

namespace camgraph::splat {

// Camera parameters from a [4, 4] world-to-camera matrix (any device) and intrinsics.
CamParams make_cam_params(const at::Tensor& viewmat,  // [4, 4]
                          float fx, float fy, float cx, float cy, int width, int height, float eps2d, float near_plane,
                          float far_plane);

// ---- (1) projection --------------------------------------------------------------------------------
struct ProjectOutput {
  at::Tensor means2d;  // [N, 2] pixels
  at::Tensor depths;   // [N] camera z
  at::Tensor conics;   // [N, 3] inverse 2D covariance (a, b, c)
  at::Tensor radii;    // [N] int32, 0 = culled (then the other outputs of that row are 0)
};
ProjectOutput project_fwd(const CamParams& cam,
                          const at::Tensor& means,       // [N, 3]
                          const at::Tensor& log_scales,  // [N, 3]
                          const at::Tensor& quats);      // [N, 4]
// Returns v_means [N, 3], v_log_scales [N, 3], v_quats [N, 4]; culled rows get 0.
std::tuple<at::Tensor, at::Tensor, at::Tensor> project_bwd(const CamParams& cam,
                                                           const at::Tensor& means,       // [N, 3]
                                                           const at::Tensor& log_scales,  // [N, 3]
                                                           const at::Tensor& quats,       // [N, 4]
                                                           const at::Tensor& conics,      // [N, 3]
                                                           const at::Tensor& radii,       // [N]
                                                           const at::Tensor& v_means2d,   // [N, 2]
                                                           const at::Tensor& v_depths,    // [N]
                                                           const at::Tensor& v_conics);   // [N, 3]

// ---- (2) spherical harmonics -> colour --------------------------------------------------------------
// colors = max(SH(normalize(mean - campos)) + 0.5, 0) using the first (degree+1)^2 of K bases.
at::Tensor sh_fwd(int degree, V3 campos,
                  const at::Tensor& means,    // [N, 3]
                  const at::Tensor& coeffs);  // [N, K, 3]
// Returns v_means [N, 3] (through the view direction), v_coeffs [N, K, 3].
std::tuple<at::Tensor, at::Tensor> sh_bwd(int degree, V3 campos,
                                          const at::Tensor& means,      // [N, 3]
                                          const at::Tensor& coeffs,     // [N, K, 3]
                                          const at::Tensor& colors,     // [N, 3] forward output
                                          const at::Tensor& v_colors);  // [N, 3]

// ---- (3) tile rasterization -------------------------------------------------------------------------
struct RasterInputs {
  at::Tensor means2d;    // [N, 2]
  at::Tensor conics;     // [N, 3]
  at::Tensor colors;     // [N, 3]
  at::Tensor opacities;  // [N] in [0, 1]
  at::Tensor depths;     // [N]
  at::Tensor radii;      // [N] int32
  std::array<float, 3> background{0.f, 0.f, 0.f};
  int width = 0, height = 0;
};
// Per-tile lists of Gaussians, front to back: tile t (row-major over the 16x16 tile grid) holds
// gauss_ids[tile_offsets[t] .. tile_offsets[t + 1]).
struct TileBins {
  at::Tensor tile_offsets;  // [tiles + 1] int32
  at::Tensor gauss_ids;     // [pairs] int32
};
TileBins bin_tiles(const RasterInputs& in);
struct RasterOutput {
  at::Tensor rgb;            // [H, W, 3]
  at::Tensor alpha;          // [H, W]
  at::Tensor depth;          // [H, W] expected depth (0 where alpha == 0)
  at::Tensor transmittance;  // [H, W] final T (saved for backward)
  at::Tensor last_ids;       // [H, W] int32 list position of the last contributor in the pixel's tile, -1 if none
  TileBins bins;
};
RasterOutput rasterize_fwd(const RasterInputs& in);
struct RasterGrads {
  at::Tensor v_means2d;    // [N, 2]
  at::Tensor v_conics;     // [N, 3]
  at::Tensor v_colors;     // [N, 3]
  at::Tensor v_opacities;  // [N]
  at::Tensor v_depths;     // [N]
};
// fwd: the forward's output for the same inputs. Deterministic on the CPU.
// v_alpha and v_depth may be undefined (no gradient through them).
RasterGrads rasterize_bwd(const RasterInputs& in, const RasterOutput& fwd,
                          const at::Tensor& v_rgb,     // [H, W, 3]
                          const at::Tensor& v_alpha,   // [H, W]
                          const at::Tensor& v_depth);  // [H, W]

}  // namespace camgraph::splat
