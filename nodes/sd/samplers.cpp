// Samplers; see samplers.h. Schedules in double, latents in their own dtype.
#include "sd/samplers.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace camgraph::sd {

SamplerKind parse_sampler(const std::string& name) {
  if (name == "ddim") return SamplerKind::Ddim;
  if (name == "euler_a") return SamplerKind::EulerAncestral;
  if (name == "dpmpp_2m_karras") return SamplerKind::DpmPP2MKarras;
  throw std::invalid_argument("unknown sampler '" + name + "' (known: ddim, euler_a, dpmpp_2m_karras)");
}

const char* sampler_name(SamplerKind k) {
  switch (k) {
    case SamplerKind::Ddim: return "ddim";
    case SamplerKind::EulerAncestral: return "euler_a";
    case SamplerKind::DpmPP2MKarras: return "dpmpp_2m_karras";
  }
  return "?";
}

at::Tensor sd15_alphas_cumprod() {
  const at::Tensor betas = at::linspace(std::sqrt(0.00085), std::sqrt(0.012), 1000, at::kDouble).pow(2);  // [1000]
  return at::cumprod(1.0 - betas, 0);
}

namespace {

std::vector<double> to_vec(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// sigma(t) of the training schedule, linearly interpolated at fractional t (np.interp).
double sigma_at(const std::vector<double>& sig, double t) {
  const double c = std::clamp(t, 0.0, double(sig.size() - 1));
  const size_t lo = size_t(std::floor(c));
  const size_t hi = std::min(lo + 1, sig.size() - 1);
  return sig[lo] + (c - double(lo)) * (sig[hi] - sig[lo]);
}

// diffusers' _sigma_to_t: interpolation in log-sigma between neighbouring training steps.
double sigma_to_t(double sigma, const std::vector<double>& log_sigmas) {
  const double ls = std::log(std::max(sigma, 1e-10));
  const int64_t n = int64_t(log_sigmas.size());
  int64_t low = 0;
  for (int64_t i = 0; i < n; ++i)
    if (ls - log_sigmas[i] >= 0) low = i;  // last index with log_sigma >= log_sigmas[i]
  low = std::min(low, n - 2);
  const double l = log_sigmas[low], h = log_sigmas[low + 1];
  const double w = std::clamp((l - ls) / (l - h), 0.0, 1.0);
  return (1 - w) * double(low) + w * double(low + 1);
}

}  // namespace

SamplerPlan make_plan(SamplerKind kind, int steps, const at::Tensor& alphas_cumprod) {
  if (steps < 1 || steps > 1000) throw std::invalid_argument("steps must be in 1..1000");
  const std::vector<double> ac = to_vec(alphas_cumprod);
  const int64_t T = int64_t(ac.size());
  std::vector<double> sig(ac.size());
  for (size_t i = 0; i < ac.size(); ++i) sig[i] = std::sqrt((1 - ac[i]) / ac[i]);
  SamplerPlan p;
  if (kind == SamplerKind::Ddim) {
    const int64_t ratio = T / steps;
    for (int i = steps - 1; i >= 0; --i) p.timesteps.push_back(double(i * ratio + 1));
    return p;
  }
  if (kind == SamplerKind::EulerAncestral) {
    for (int i = 0; i < steps; ++i)  // linspace(0, T-1, steps) reversed
      p.timesteps.push_back(steps == 1 ? 0.0 : double(T - 1) * double(steps - 1 - i) / double(steps - 1));
    for (double t : p.timesteps) p.sigmas.push_back(sigma_at(sig, t));
    p.sigmas.push_back(0.0);
    p.init_noise_sigma = *std::max_element(p.sigmas.begin(), p.sigmas.end());
    return p;
  }
  // Karras sigmas between the schedule's smallest and largest sigma.
  const double smin = sig.front(), smax = sig.back(), rho = 7.0;
  const double min_inv = std::pow(smin, 1 / rho), max_inv = std::pow(smax, 1 / rho);
  std::vector<double> log_sig(sig.size());
  for (size_t i = 0; i < sig.size(); ++i) log_sig[i] = std::log(sig[i]);
  for (int i = 0; i < steps; ++i) {
    const double ramp = steps == 1 ? 0.0 : double(i) / double(steps - 1);
    const double s = float(std::pow(max_inv + ramp * (min_inv - max_inv), rho));  // float32 as diffusers
    p.sigmas.push_back(s);
    p.timesteps.push_back(std::round(sigma_to_t(s, log_sig)));
  }
  p.sigmas.push_back(0.0);
  p.init_noise_sigma = 1.0;
  return p;
}

at::Tensor run_sampler(SamplerKind kind, const SamplerPlan& plan, const at::Tensor& alphas_cumprod, at::Tensor x,
                       const EpsModel& model, const StepNoise& noise, int first_step, const StepCallback& on_step) {
  const int steps = int(plan.timesteps.size());
  const std::vector<double> ac = to_vec(alphas_cumprod);
  if (kind == SamplerKind::Ddim) {
    const int64_t ratio = int64_t(ac.size()) / steps;
    for (int i = first_step; i < steps; ++i) {
      const double t = plan.timesteps[size_t(i)];
      const int64_t prev = int64_t(t) - ratio;
      const double a_t = ac[size_t(t)], a_prev = prev >= 0 ? ac[size_t(prev)] : ac[0];
      const at::Tensor eps = model(x, t);
      const at::Tensor x0 = (x - std::sqrt(1 - a_t) * eps) / std::sqrt(a_t);
      x = std::sqrt(a_prev) * x0 + std::sqrt(1 - a_prev) * eps;
      if (on_step) on_step(i, steps, x, x0);
    }
    return x;
  }
  if (kind == SamplerKind::EulerAncestral) {
    for (int i = first_step; i < steps; ++i) {
      const double s = plan.sigmas[size_t(i)], sn = plan.sigmas[size_t(i) + 1];
      const at::Tensor eps = model(x / std::sqrt(s * s + 1), plan.timesteps[size_t(i)]);
      const at::Tensor x0 = x - s * eps;
      const double s_up = std::sqrt(sn * sn * (s * s - sn * sn) / (s * s));
      const double s_down = std::sqrt(sn * sn - s_up * s_up);
      x = x + (x - x0) / s * (s_down - s);
      if (s_up > 0) x = x + noise(i) * s_up;
      if (on_step) on_step(i, steps, x, x0);
    }
    return x;
  }
  // DPM-Solver++(2M) in the VP parameterisation: x = alpha * x0 + sigma_vp * eps.
  auto alpha_of = [](double s) { return 1.0 / std::sqrt(s * s + 1); };
  auto lambda_of = [&](double s) { return s == 0 ? INFINITY : std::log(alpha_of(s)) - std::log(s * alpha_of(s)); };
  at::Tensor prev_x0;
  int done = 0;
  for (int i = first_step; i < steps; ++i) {
    const double s0 = plan.sigmas[size_t(i)], st = plan.sigmas[size_t(i) + 1];
    const double a0 = alpha_of(s0), at_ = alpha_of(st), vs0 = s0 * a0, vst = st * at_;
    const at::Tensor eps = model(x, plan.timesteps[size_t(i)]);
    const at::Tensor x0 = (x - vs0 * eps) / a0;
    const double h = lambda_of(st) - lambda_of(s0);
    const double phi = std::exp(-h) - 1;  // -1 when st == 0
    const bool first_order = done == 0 || (i == steps - 1 && steps < 15);
    if (first_order) {
      x = (vst / vs0) * x - at_ * phi * x0;
    } else {
      const double s1 = plan.sigmas[size_t(i) - 1];
      const double r0 = (lambda_of(s0) - lambda_of(s1)) / h;
      const at::Tensor d1 = (x0 - prev_x0) / r0;
      x = (vst / vs0) * x - at_ * phi * x0 - 0.5 * at_ * phi * d1;
    }
    prev_x0 = x0;
    ++done;
    if (on_step) on_step(i, steps, x, x0);
  }
  return x;
}

int img2img_first_step(int steps, double strength) {
  if (!(strength > 0 && strength <= 1)) throw std::invalid_argument("strength must be in (0, 1]");
  const int run = std::min(int(double(steps) * strength), steps);
  return steps - std::max(run, 1);
}

at::Tensor noise_latents_to_step(SamplerKind kind, const SamplerPlan& plan, const at::Tensor& alphas_cumprod,
                                 const at::Tensor& x0, const at::Tensor& noise, int step) {
  if (kind == SamplerKind::Ddim) {  // scheduler.add_noise at timestep t: sqrt(ac) x0 + sqrt(1 - ac) eps
    const double a = to_vec(alphas_cumprod)[size_t(plan.timesteps[size_t(step)])];
    return std::sqrt(a) * x0 + std::sqrt(1 - a) * noise;
  }
  const double s = plan.sigmas[size_t(step)];
  if (kind == SamplerKind::EulerAncestral) return x0 + s * noise;  // k-diffusion space
  const double a = 1.0 / std::sqrt(s * s + 1);
  return a * x0 + s * a * noise;  // VP space
}

}  // namespace camgraph::sd
