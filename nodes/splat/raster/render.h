// Differentiable 3D Gaussian Splatting renderer (CPU, and CUDA in builds with CAMGRAPH_WITH_CUDA).
// Conventions: see math.h (quaternions w,x,y,z; OpenCV camera axes; pixel centres at +0.5;
// colour = SH + 0.5 clamped at 0; 16x16 tiles; 3DGS compositing rules).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>

namespace camgraph {
struct Camera;
}

namespace camgraph::splat {

struct RenderCamera {
  int width = 0, height = 0;
  float fx = 0, fy = 0, cx = 0, cy = 0;
  at::Tensor viewmat;  // [4, 4] float32 world-to-camera (OpenCV axes), any device
};

struct RenderSettings {
  int sh_degree = 3;  // active SH degree (<= degree of the coefficients)
  std::array<float, 3> background{0.f, 0.f, 0.f};
  float eps2d = 0.3f;
  float near_plane = 0.01f, far_plane = 1e10f;
};

struct RenderOutput {
  at::Tensor rgb;      // [H, W, 3]
  at::Tensor alpha;    // [H, W]
  at::Tensor depth;    // [H, W]
  at::Tensor means2d;  // [N, 2]; retain_grad()'ed when inputs require grad
  at::Tensor radii;    // [N] int32, 0 where culled
};

// Differentiable (torch autograd) w.r.t. means, log_scales, quats, opacity_logits, sh.
// means [N,3], log_scales [N,3], quats [N,4] (w,x,y,z), opacity_logits [N], sh [N,K,3] with K=(d+1)^2.
// All float32 on one device. opacity = sigmoid(opacity_logits).
RenderOutput render(const at::Tensor& means, const at::Tensor& log_scales, const at::Tensor& quats,
                    const at::Tensor& opacity_logits, const at::Tensor& sh, const RenderCamera& camera,
                    const RenderSettings& settings);

// Threads used by the CPU kernels (plain std::threads, created per call; no spinning between
// calls). Default: std::thread::hardware_concurrency(). n <= 0 restores the default. This is
// independent of torch's at::set_num_threads (which may stay 1). Results do not depend on it.
void set_cpu_threads(int n);
int cpu_threads();

// A RenderCamera from a camgraph::Camera (viewmat on the CPU; render() moves nothing).
RenderCamera to_render_camera(const camgraph::Camera& camera);

}  // namespace camgraph::splat
