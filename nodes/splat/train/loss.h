// Image losses and metrics for splat training. Images are [H, W, C] float tensors.
#pragma once
#include <ATen/ATen.h>

namespace camgraph::splat {

// Normalised 1D Gaussian window. [size]
at::Tensor gaussian_window(int size, double sigma, const at::TensorOptions& options);

// Mean SSIM (Wang et al. 2004) with a size x size Gaussian window, zero padding at the borders
// (as in the 3DGS reference code), C1 = 0.01^2, C2 = 0.03^2. Differentiable; returns a scalar.
at::Tensor ssim(const at::Tensor& a, const at::Tensor& b, int window = 11, double sigma = 1.5);

// Mean absolute error. Scalar.
at::Tensor l1_error(const at::Tensor& a, const at::Tensor& b);

// (1 - lambda) * L1 + lambda * (1 - SSIM). Scalar.
at::Tensor photometric_loss(const at::Tensor& rendered, const at::Tensor& target, double lambda);

// The same loss, fused (loss_fused.cpp): raw loops over contiguous CPU float / double images,
// multithreaded, gradient w.r.t. `rendered` computed analytically in the forward pass (a torch
// autograd function when `rendered` requires grad). Matches photometric_loss() to rounding.
// Tensors on another device (CUDA) go to photometric_loss(), which runs there.
at::Tensor photometric_loss_fused(const at::Tensor& rendered, const at::Tensor& target, double lambda);

// Mean SSIM as ssim(), fused; no gradient. Other devices: ssim() there.
double ssim_fused(const at::Tensor& a, const at::Tensor& b, int window = 11, double sigma = 1.5);

// Peak signal-to-noise ratio in dB of images in 0..1 (both clamped to 0..1 first).
double psnr(const at::Tensor& a, const at::Tensor& b);

}  // namespace camgraph::splat
