// Samplers for SD 1.5 (eps-prediction) on the scaled-linear schedule (betas 0.00085..0.012 in
// sqrt space, 1000 training steps), following diffusers' schedulers as SD 1.5 pipelines set them up:
//   ddim             DDIMScheduler, "leading" spacing + steps_offset 1, eta 0, alpha_prod(-1) = ac[0]
//   euler_a          EulerAncestralDiscreteScheduler, "linspace" spacing (init sigma = sigma_max)
//   dpmpp_2m_karras  DPMSolverMultistepScheduler: dpmsolver++ order 2, Karras sigmas (rho 7),
//                    first order at the first step and at the last step when steps < 15, final sigma 0
// Latents: [B, 4, H/8, W/8]. The model is called with the (scaled) latents and the timestep.
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace camgraph::sd {

enum class SamplerKind { Ddim, EulerAncestral, DpmPP2MKarras };
SamplerKind parse_sampler(const std::string& name);  // "ddim", "euler_a", "dpmpp_2m_karras"; throws listing them
const char* sampler_name(SamplerKind k);

// alphas_cumprod of SD 1.5's scaled-linear betas, [1000] double.
at::Tensor sd15_alphas_cumprod();

struct SamplerPlan {
  std::vector<double> timesteps;  // model timesteps, one per step (descending)
  std::vector<double> sigmas;     // k-diffusion sigmas, steps + 1 (last 0); empty for DDIM
  double init_noise_sigma = 1.0;  // x_T = noise * init_noise_sigma
};
SamplerPlan make_plan(SamplerKind kind, int steps, const at::Tensor& alphas_cumprod);

// eps = model(latents_in [B, 4, h, w], timestep).
using EpsModel = std::function<at::Tensor(const at::Tensor&, double)>;
// Unit Gaussian noise shaped like the latents, for ancestral step `step`.
using StepNoise = std::function<at::Tensor(int step)>;
// Called after each step with (step index, steps, current latents, predicted x0).
using StepCallback = std::function<void(int, int, const at::Tensor&, const at::Tensor&)>;

// Runs `plan` from step `first_step` (0 for txt2img) on latents `x` already at that step's noise
// level; returns the denoised latents.
at::Tensor run_sampler(SamplerKind kind, const SamplerPlan& plan, const at::Tensor& alphas_cumprod, at::Tensor x,
                       const EpsModel& model, const StepNoise& noise, int first_step = 0,
                       const StepCallback& on_step = {});

// img2img: the step to start from for `strength` in (0, 1] (steps * strength steps run, as
// diffusers), and the clean latents x0 noised to that step's level with unit noise `noise`.
int img2img_first_step(int steps, double strength);
at::Tensor noise_latents_to_step(SamplerKind kind, const SamplerPlan& plan, const at::Tensor& alphas_cumprod,
                                 const at::Tensor& x0, const at::Tensor& noise, int step);

}  // namespace camgraph::sd
