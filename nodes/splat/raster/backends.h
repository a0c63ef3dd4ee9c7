// Per-device implementations behind ops.h. Inputs are already checked, float32 and contiguous.
// The *_cuda functions exist only in builds with CAMGRAPH_WITH_CUDA (cuda_glue.cpp).
#pragma once

#include "splat/raster/ops.h"

namespace camgraph::splat {

// Uninitialised output images (rgb, alpha, depth, transmittance, last_ids) for `in`, on its device.
RasterOutput empty_raster_output(const RasterInputs& in);

ProjectOutput project_fwd_cpu(const CamParams& cam, const at::Tensor& means, const at::Tensor& log_scales,
                              const at::Tensor& quats);
std::tuple<at::Tensor, at::Tensor, at::Tensor> project_bwd_cpu(const CamParams& cam, const at::Tensor& means,
                                                               const at::Tensor& log_scales, const at::Tensor& quats,
                                                               const at::Tensor& conics, const at::Tensor& radii,
                                                               const at::Tensor& v_means2d, const at::Tensor& v_depths,
                                                               const at::Tensor& v_conics);
at::Tensor sh_fwd_cpu(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs);
std::tuple<at::Tensor, at::Tensor> sh_bwd_cpu(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs,
                                              const at::Tensor& colors, const at::Tensor& v_colors);
TileBins bin_tiles_cpu(const RasterInputs& in);
RasterOutput rasterize_fwd_cpu(const RasterInputs& in);
RasterGrads rasterize_bwd_cpu(const RasterInputs& in, const RasterOutput& fwd, const at::Tensor& v_rgb,
                              const at::Tensor& v_alpha, const at::Tensor& v_depth);

#ifdef CAMGRAPH_WITH_CUDA
ProjectOutput project_fwd_cuda(const CamParams& cam, const at::Tensor& means, const at::Tensor& log_scales,
                               const at::Tensor& quats);
std::tuple<at::Tensor, at::Tensor, at::Tensor> project_bwd_cuda(const CamParams& cam, const at::Tensor& means,
                                                                const at::Tensor& log_scales, const at::Tensor& quats,
                                                                const at::Tensor& conics, const at::Tensor& radii,
                                                                const at::Tensor& v_means2d, const at::Tensor& v_depths,
                                                                const at::Tensor& v_conics);
at::Tensor sh_fwd_cuda(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs);
std::tuple<at::Tensor, at::Tensor> sh_bwd_cuda(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs,
                                               const at::Tensor& colors, const at::Tensor& v_colors);
TileBins bin_tiles_cuda(const RasterInputs& in);
RasterOutput rasterize_fwd_cuda(const RasterInputs& in);
RasterGrads rasterize_bwd_cuda(const RasterInputs& in, const RasterOutput& fwd, const at::Tensor& v_rgb,
                               const at::Tensor& v_alpha, const at::Tensor& v_depth);
#endif

}  // namespace camgraph::splat
