// SD 1.5 denoising speed with FULL-SIZE random weights (UNet 320/640/1280/1280, 2 resnets per
// level, 8 heads, context 768; 860 M parameters): seconds per denoising step at WxH (default
// 512x512, latents 64x64) with classifier-free guidance (UNet batch 2: uncond + cond), through the
// pipeline's sampler (DPM++ 2M Karras), then one VAE decode (SD 1.5 decoder, 49 M parameters) and
// the peak RSS. float32 on CPU; on CUDA (when available and --cuda is given) the UNet in float16.
//   bench_sd_pipeline [steps=3] [width=512] [height=512] [--cuda]
#include <sys/resource.h>

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "sd/samplers.h"
#include "sd/unet.h"
#include "sd/vae_decoder.h"

using namespace camgraph::sd;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}
size_t count(torch::nn::Module& m) {
  size_t n = 0;
  for (const auto& p : m.parameters()) n += size_t(p.numel());
  return n;
}
}  // namespace

int main(int argc, char** argv) {
  int pos[3] = {3, 512, 512};
  int np = 0;
  bool cuda = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--cuda") == 0) cuda = true;
    else if (np < 3) pos[np++] = std::atoi(argv[i]);
  }
  const int steps = pos[0], W = pos[1], H = pos[2];
  cuda = cuda && torch::cuda::is_available();
  const c10::Device dev = cuda ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  const at::ScalarType dt = cuda ? at::kHalf : at::kFloat;
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  double t0 = now();
  UNet unet{UNetConfig{}};
  unet->eval();
  unet->to(dev, dt);
  std::printf("SD 1.5 UNet: %.1f M parameters (random), %s %s, %d torch threads, built in %.1f s\n",
              double(count(*unet)) / 1e6, dev.str().c_str(), cuda ? "float16" : "float32", at::get_num_threads(),
              now() - t0);
  const int64_t h = H / 8, w = W / 8;
  const at::Tensor context = at::randn({2, 77, 768}).to(dev, dt);  // uncond, cond
  const at::Tensor ac = sd15_alphas_cumprod();
  const SamplerPlan plan = make_plan(SamplerKind::DpmPP2MKarras, steps, ac);
  std::vector<double> step_s;
  double last = 0;
  const EpsModel model = [&](const at::Tensor& x, double t) {
    const at::Tensor in = at::cat({x, x}, 0).to(dt);
    const at::Tensor eps = unet->forward(in, at::full({2}, t, at::TensorOptions().device(dev)), context).to(at::kFloat);
    const auto e = eps.chunk(2, 0);
    return e[0] + 7.0 * (e[1] - e[0]);
  };
  const StepCallback on_step = [&](int i, int n, const at::Tensor& x, const at::Tensor&) {
    if (cuda) torch::cuda::synchronize();
    (void)x;
    const double t = now();
    step_s.push_back(t - last);
    std::printf("step %d/%d: %.2f s\n", i + 1, n, t - last);
    std::fflush(stdout);
    last = t;
  };
  at::Tensor x = at::randn({1, 4, h, w}).to(dev) * plan.init_noise_sigma;
  last = now();
  x = run_sampler(
      SamplerKind::DpmPP2MKarras, plan, ac, x, model,
      [&](int) {
        return at::randn({1, 4, h, w}).to(dev);
      },
      0, on_step);
  double sum = 0;
  for (size_t i = 1; i < step_s.size(); ++i) sum += step_s[i];  // the first step includes warm-up
  const double per_step = step_s.size() > 1 ? sum / double(step_s.size() - 1) : step_s.front();
  std::printf("%dx%d, CFG batch 2: %.2f s/step (%.3f it/s; mean of steps 2..%d), first step %.2f s\n", W, H, per_step,
              1.0 / per_step, steps, step_s.front());
  std::printf("peak RSS after sampling: %.0f MB\n", peak_rss_mb());
  unet = nullptr;
  VaeDecoder vae{VaeDecoderConfig{}};
  vae->eval();
  vae->to(dev);
  std::printf("SD 1.5 VAE decoder: %.1f M parameters\n", double(count(*vae)) / 1e6);
  t0 = now();
  const at::Tensor img = vae->forward(x.to(at::kFloat));
  if (cuda) torch::cuda::synchronize();
  std::printf("VAE decode %dx%d: %.2f s (image %s)\n", W, H, now() - t0, c10::str(img.sizes()).c_str());
  std::printf("peak RSS: %.0f MB\n", peak_rss_mb());
  return 0;
}
