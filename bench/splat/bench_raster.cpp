// Rasterizer speed: render() forward, and forward + backward (autograd, as in training), on a
// random scene of 14,460 Gaussians in front of the camera with 3-sigma footprints of 1-30 px
// (log-uniform), SH degree 3, at 239x134 and 960x540.
//   bench_splat_raster --benchmark_filter=Cpu   (env: CG_BENCH_THREADS, CG_BENCH_TORCH_THREADS)
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <thread>

#include "frustum_scene.h"
#include "splat/raster/render.h"

namespace {

using camgraph::splat::RenderCamera;
using camgraph::splat::RenderSettings;

using Scene = camgraph::splat::bench::FrustumScene;
using camgraph::splat::bench::make_frustum_scene;

void run(benchmark::State& state, bool backward, const at::Device& device) {
  // Rasterizer threads: all cores unless CG_BENCH_THREADS says otherwise. Torch's own
  // intra-op threads: CG_BENCH_TORCH_THREADS, default 1 (its OpenMP workers spin between
  // regions, which costs more than it gains on a busy 2-core machine).
  const char* env = std::getenv("CG_BENCH_THREADS");
  const char* torch_env = std::getenv("CG_BENCH_TORCH_THREADS");
  camgraph::splat::set_cpu_threads(env ? std::atoi(env) : 0);
  at::set_num_threads(torch_env ? std::atoi(torch_env) : 1);
  const int width = (int)state.range(0), height = (int)state.range(1);
  Scene s = make_frustum_scene(14460, width, height, device);
  const at::Tensor w = at::rand({height, width, 3}).to(device);
  int64_t visible = 0;
  for (auto _ : state) {
    auto out = camgraph::splat::render(s.means, s.log_scales, s.quats, s.opacity_logits, s.sh, s.camera, s.settings);
    if (backward) {
      ((out.rgb * w).sum() + out.alpha.sum()).backward();
      for (at::Tensor* t : {&s.means, &s.log_scales, &s.quats, &s.opacity_logits, &s.sh}) t->mutable_grad().reset();
    }
    if (device.is_cuda()) {
      benchmark::DoNotOptimize(out.rgb.sum().item<float>());  // synchronise
    }
    visible = out.radii.gt(0).sum().item<int64_t>();
  }
  state.counters["visible"] = (double)visible;
  state.counters["threads"] = camgraph::splat::cpu_threads();
  state.counters["torch_threads"] = at::get_num_threads();
}

void BM_CpuForward(benchmark::State& state) {
  at::NoGradGuard no_grad;
  run(state, false, at::kCPU);
}
void BM_CpuForwardBackward(benchmark::State& state) { run(state, true, at::kCPU); }
void BM_CudaForwardBackward(benchmark::State& state) {
  if (!torch::cuda::is_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  run(state, true, at::Device(at::kCUDA));
}

// CPU time is the whole process (all threads): on a busy machine it shows the work done, while
// real time also shows waiting for cores.
#define CG_SIZES \
  ->Args({239, 134})->Args({960, 540})->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()
BENCHMARK(BM_CpuForward) CG_SIZES;
BENCHMARK(BM_CpuForwardBackward) CG_SIZES;
BENCHMARK(BM_CudaForwardBackward) CG_SIZES;

}  // namespace

BENCHMARK_MAIN();
