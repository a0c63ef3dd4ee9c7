// GPU rasterizer benchmark for bench/gpu/check.sh: render() forward (frames per second, no
// autograd) and forward + backward (autograd, as in a training step) on a random scene of 1 M
// Gaussians at 1920x1080, SH degree 3, 3-sigma footprints log-uniform in 1-30 px; peak device
// memory after each phase (gpu_memory.h). Prints a readable summary and, last, ONE JSON line.
//
//   bench_raster_gpu [--device auto|cuda|cpu] [--gaussians 1000000] [--width 1920] [--height 1080]
//                    [--iters 20] [--warmup 3]
//
// Without a CUDA device (or in a build without CUDA kernels) `auto` says so and measures the CPU
// path with one iteration; `cuda` then exits with status 2.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../splat/frustum_scene.h"
#include "gpu_memory.h"
#include "splat/raster/render.h"

namespace {

using camgraph::splat::RenderCamera;
using camgraph::splat::RenderSettings;

struct Args {
  std::string device = "auto";
  int64_t gaussians = 1000000;
  int width = 1920, height = 1080;
  int iters = 20, warmup = 3;
};

[[noreturn]] void usage(int rc) {
  std::fprintf(rc ? stderr : stdout,
               "usage: bench_raster_gpu [--device auto|cuda|cpu] [--gaussians N] [--width W] [--height H]\n"
               "                        [--iters N] [--warmup N]\n");
  std::exit(rc);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "-h" || k == "--help") usage(0);
    if (i + 1 >= argc) usage(1);
    const std::string v = argv[++i];
    if (k == "--device") a.device = v;
    else if (k == "--gaussians") a.gaussians = std::atoll(v.c_str());
    else if (k == "--width") a.width = std::atoi(v.c_str());
    else if (k == "--height") a.height = std::atoi(v.c_str());
    else if (k == "--iters") a.iters = std::max(1, std::atoi(v.c_str()));
    else if (k == "--warmup") a.warmup = std::max(0, std::atoi(v.c_str()));
    else usage(1);
  }
  if (a.device != "auto" && a.device != "cuda" && a.device != "cpu") usage(1);
  return a;
}

using Scene = camgraph::splat::bench::FrustumScene;
using camgraph::splat::bench::make_frustum_scene;

void sync(const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// Median milliseconds of `iters` calls after `warmup` untimed ones.
template <class F>
double median_ms(const at::Device& device, int warmup, int iters, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  sync(device);
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    sync(device);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  bool cuda = false;
#ifdef CAMGRAPH_WITH_CUDA
  cuda = torch::cuda::is_available();
#endif
  if (!cuda && a.device != "cpu") {
    std::printf("bench_raster_gpu: no CUDA device (or a build without CUDA kernels, or a CPU-only libtorch)%s\n",
                a.device == "cuda" ? "" : ": measuring the CPU path, one iteration");
    if (a.device == "cuda") {
      std::printf("{\"status\": \"no CUDA\"}\n");
      return 2;
    }
    a.iters = 1;
    a.warmup = 0;
  }
  const at::Device device = (cuda && a.device != "cpu") ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  const int64_t mem0 = device.is_cuda() ? camgraph::bench::gpu_memory_used() : -1;

  Scene s = make_frustum_scene(a.gaussians, a.width, a.height, device);
  const at::Tensor w = at::rand({a.height, a.width, 3}).to(device);
  int64_t visible = 0;

  // Render: forward only, no autograd (as shot.render and the viewport draw frames).
  double render_ms = 0;
  {
    at::NoGradGuard no_grad;
    render_ms = median_ms(device, a.warmup, a.iters, [&] {
      auto out = camgraph::splat::render(s.means, s.log_scales, s.quats, s.opacity_logits, s.sh, s.camera, s.settings);
      visible = out.radii.gt(0).sum().item<int64_t>();
    });
  }
  const int64_t mem_render = device.is_cuda() ? camgraph::bench::gpu_memory_used() : -1;

  // Forward + backward through autograd (a training step's rasterizer share).
  const double fwd_bwd_ms = median_ms(device, a.warmup, a.iters, [&] {
    auto out = camgraph::splat::render(s.means, s.log_scales, s.quats, s.opacity_logits, s.sh, s.camera, s.settings);
    ((out.rgb * w).sum() + out.alpha.sum()).backward();
    for (at::Tensor* t : {&s.means, &s.log_scales, &s.quats, &s.opacity_logits, &s.sh}) t->mutable_grad().reset();
  });
  const int64_t mem_fwd_bwd = device.is_cuda() ? camgraph::bench::gpu_memory_used() : -1;

  using camgraph::bench::to_mib;
  std::printf("device %s, %lld Gaussians (%lld visible), %dx%d, SH 3, median of %d after %d warm-up\n",
              device.is_cuda() ? "cuda" : "cpu", (long long)a.gaussians, (long long)visible, a.width, a.height, a.iters,
              a.warmup);
  std::printf("  render (forward, no grad)  %9.3f ms  %8.1f fps  device memory %8.0f MiB\n", render_ms,
              1000.0 / render_ms, to_mib(mem_render));
  std::printf("  forward + backward         %9.3f ms               device memory %8.0f MiB\n", fwd_bwd_ms,
              to_mib(mem_fwd_bwd));
  std::printf(
      "{\"status\": \"ok\", \"device\": \"%s\", \"gaussians\": %lld, \"visible\": %lld, \"width\": %d, \"height\": %d, "
      "\"render_ms\": %.4f, \"render_fps\": %.2f, \"fwd_bwd_ms\": %.4f, \"mem_before_mib\": %.0f, "
      "\"mem_render_mib\": %.0f, \"mem_fwd_bwd_mib\": %.0f}\n",
      device.is_cuda() ? "cuda" : "cpu", (long long)a.gaussians, (long long)visible, a.width, a.height, render_ms,
      1000.0 / render_ms, fwd_bwd_ms, to_mib(mem0), to_mib(mem_render), to_mib(mem_fwd_bwd));
  return 0;
}
