// qc family: per-clip quality metrics on plain tensors (the node in nodes.cpp only gathers inputs and
// applies thresholds). Frames are [N, H, W, C] float in [0, 1] (C = 3 or 4; alpha ignored).
#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

#include "camgraph/camera.h"

namespace camgraph {
class NodeContext;
}

namespace camgraph::qc {

void qc_execute(NodeContext& ctx);

// BT.709 luma on the 0..255 scale, [N, H, W] float.
at::Tensor luma255(const at::Tensor& frames);
// Variance of the 4-neighbour Laplacian of luma (0..255 scale) over the interior pixels, per frame.
std::vector<double> laplacian_variance(const at::Tensor& frames);
// s[t] / mean(s[t-1], s[t+1]) (one neighbour at the ends); 1 for a single frame; a frame whose
// neighbours have zero sharpness gets 1.
std::vector<double> sharpness_ratios(const std::vector<double>& s);
// VBench temporal flickering: 1 - mean over t of mean |I_t - I_{t-1}| (RGB, 0..255) / 255.
// 1 for fewer than two frames.
double vbench_temporal_flicker(const at::Tensor& frames);

// Motion-compensated flicker: frame t-1 warped into t through t's depth (z along the optical axis) and
// both cameras, bilinear; pixels are kept when t's depth is finite and > 0, the point lies in front of
// camera t-1, inside its image, and (when depth_prev is given) agrees with t-1's depth within
// depth_tolerance (relative; occlusion). error[t] = mean |I_t - warp(I_{t-1})| over kept pixels and RGB,
// 0..255 scale (0 for t = 0 or no kept pixel); valid[t] = kept fraction.
struct Reprojection {
  std::vector<double> error, valid;
};
Reprojection reprojection_flicker(const at::Tensor& frames, const at::Tensor& depth, const std::vector<Camera>& cameras,
                                  double depth_tolerance);

// PSNR (dB, data range 1, RGB) of one image pair [H, W, C]; +inf when identical.
double psnr(const at::Tensor& a, const at::Tensor& b);
// SSIM (Wang et al. 2004: Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, data range 1, 'valid'
// filtering), the mean over RGB channels, of one image pair [H, W, C].
double ssim(const at::Tensor& a, const at::Tensor& b);

}  // namespace camgraph::qc
