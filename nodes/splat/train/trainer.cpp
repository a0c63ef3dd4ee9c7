#include "splat/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "splat/raster/render.h"
#include "splat/train/adam.h"
#include "splat/train/archive.h"
#include "splat/train/density.h"
#include "splat/train/init.h"
#include "splat/train/loss.h"

namespace camgraph::splat {

// ---- options ---------------------------------------------------------------------------

// clang-format off
#define CAMGRAPH_TRAIN_OPTION_FIELDS(X)                                                        \
  X(iterations) X(seed) X(background) X(random_points) X(random_half_size) X(init_opacity)     \
  X(ssim_lambda) X(sh_degree) X(sh_degree_interval) X(num_downscales) X(resolution_schedule)   \
  X(lr_means) X(lr_means_final) X(lr_sh_dc) X(lr_sh_rest) X(lr_opacity) X(lr_scales)          \
  X(lr_quats) X(adam_eps) X(refine_start) X(refine_stop) X(refine_every)                       \
  X(opacity_reset_every) X(opacity_reset_value) X(grad_threshold) X(percent_dense)             \
  X(prune_opacity) X(prune_world_scale) X(prune_screen_px) X(max_gaussians)                    \
  X(mcmc_refine_stop) X(mcmc_growth) X(mcmc_noise_lr) X(mcmc_opacity_reg) X(mcmc_scale_reg)    \
  X(eval_every) X(fused_ops)
// clang-format on

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j;
#define X(f) j[#f] = f;
  CAMGRAPH_TRAIN_OPTION_FIELDS(X)
#undef X
  j["init"] = init == InitMode::kAuto ? "auto" : init == InitMode::kPoints ? "points" : "random";
  j["strategy"] = strategy == DensifyStrategy::kMcmc ? "mcmc" : "default";
  return j;
}

TrainOptions TrainOptions::from_json(const nlohmann::json& j) {
  TrainOptions o;
  try {
#define X(f) \
  if (j.contains(#f)) j.at(#f).get_to(o.f);
    CAMGRAPH_TRAIN_OPTION_FIELDS(X)
#undef X
    if (j.contains("init")) {
      const auto s = j.at("init").get<std::string>();
      if (s == "auto") o.init = InitMode::kAuto;
      else if (s == "points") o.init = InitMode::kPoints;
      else if (s == "random") o.init = InitMode::kRandom;
      else throw std::invalid_argument("init must be auto, points or random");
    }
    if (j.contains("strategy")) {
      const auto s = j.at("strategy").get<std::string>();
      if (s == "default") o.strategy = DensifyStrategy::kDefault;
      else if (s == "mcmc") o.strategy = DensifyStrategy::kMcmc;
      else throw std::invalid_argument("strategy must be default or mcmc");
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("train options: ") + e.what());
  }
  return o;
}

void TrainOptions::validate() const {
  auto need = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("train options: ") + what);
  };
  need(iterations >= 1, "iterations must be >= 1");
  need(sh_degree >= 0 && sh_degree <= 3, "sh_degree must be 0..3");
  need(sh_degree_interval >= 1, "sh_degree_interval must be >= 1");
  need(num_downscales >= 0 && num_downscales <= 8, "num_downscales must be 0..8");
  need(resolution_schedule >= 1, "resolution_schedule must be >= 1");
  need(ssim_lambda >= 0 && ssim_lambda <= 1, "ssim_lambda must be in 0..1");
  need(init_opacity > 0 && init_opacity < 1, "init_opacity must be in (0, 1)");
  need(random_points >= 1 && random_half_size > 0, "random init needs points and a size");
  need(lr_means > 0 && lr_means_final > 0, "means learning rates must be positive");
  need(refine_every >= 1, "refine_every must be >= 1");
  need(opacity_reset_value > 0 && opacity_reset_value < 1, "opacity_reset_value must be in (0, 1)");
  need(prune_opacity > 0 && prune_opacity < 1, "prune_opacity must be in (0, 1)");
  need(strategy != DensifyStrategy::kMcmc || max_gaussians > 0, "mcmc needs max_gaussians > 0");
  need(eval_every >= 0, "eval_every must be >= 0");
}

// ---- schedules -------------------------------------------------------------------------

double Trainer::means_lr_at(const TrainOptions& o, double extent, int step) {
  const double t = std::clamp(double(step) / o.iterations, 0.0, 1.0);
  return extent * std::exp((1 - t) * std::log(o.lr_means) + t * std::log(o.lr_means_final));
}

int Trainer::sh_degree_at(const TrainOptions& o, int step) {
  return std::min(o.sh_degree, step / o.sh_degree_interval);
}

int Trainer::downscale_at(const TrainOptions& o, int step) {
  return 1 << std::max(o.num_downscales - step / o.resolution_schedule, 0);
}

// ---- trainer ---------------------------------------------------------------------------

namespace {

int num_sh(int degree) { return (degree + 1) * (degree + 1); }

// A generator on `device` (not the CPU) seeded with `seed`: a copy of the device's default
// generator, so that the trainer's stream is its own.
at::Generator device_generator(c10::Device device, uint64_t seed) {
  at::Generator def = at::globalContext().defaultGenerator(device);
  at::Generator g;
  {
    std::lock_guard<std::mutex> lock(def.mutex());
    g = def.clone();
  }
  g.set_current_seed(seed);
  return g;
}

// Seed of the device generator when a checkpoint holds no state for it (written on another
// device): a splitmix64 mix of the run's seed and the step, so that the resumed run is still a
// function of the seed.
uint64_t resume_seed(uint64_t seed, int step) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * uint64_t(step + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

nlohmann::json dataset_signature(const SplatDataset& d) {
  nlohmann::json sizes = nlohmann::json::array();
  for (const auto& v : d.train) sizes.push_back({v.camera.width, v.camera.height});
  return {{"train_views", d.train.size()}, {"sizes", sizes}};
}

// Torch's intra-op threads for a scope. The fused step runs its own threads (the rasterizer's and
// the fused kernels' std::threads); torch's OpenMP workers, which spin after each small op, would
// only compete with them for the cores: on the 2-core dev machine under load, 2 torch threads made
// a 135x240 fox step 2.2x slower in CPU time (29 -> 65 ms) than 1.
class TorchThreadsScope {
 public:
  explicit TorchThreadsScope(bool active) : saved_(active ? at::get_num_threads() : 1) {
    if (saved_ != 1) at::set_num_threads(1);
  }
  ~TorchThreadsScope() {
    if (saved_ != 1) at::set_num_threads(saved_);
  }
  TorchThreadsScope(const TorchThreadsScope&) = delete;
  TorchThreadsScope& operator=(const TorchThreadsScope&) = delete;

 private:
  int saved_;
};

}  // namespace

struct Trainer::Impl {
  SplatDataset data;
  TrainOptions opt;
  c10::Device device;
  bool fused;  // the CPU fast path: fused_ops on a CPU trainer
  Adam adam;
  DensityStats stats;
  at::Generator gen;      // CPU: view order, initialisation
  at::Generator dev_gen;  // on `device`: density control, MCMC (the same generator as gen on the CPU)
  int step = 0;
  at::Tensor perm;  // [n_train] int64 on the CPU, current epoch's view order
  int64_t perm_pos = 0;
  TrainProgress progress;
  // Off the CPU the loss's moving average stays on the device (no copy per step) until read.
  at::Tensor loss_avg;  // [] double on `device`
  bool loss_pending = false;
  std::vector<at::Tensor> train_images, test_images;  // [H, W, 3] float on `device`, uploaded once
  int cache_factor = 0;
  std::vector<at::Tensor> cache;  // training images at cache_factor, [h, w, 3]

  Impl(const SplatDataset& d, TrainOptions o, c10::Device dev)
      : data(d), opt(std::move(o)), device(dev), fused(opt.fused_ops && dev.is_cpu()) {
    opt.validate();
    if (device.is_cuda() && !at::hasCUDA())
      throw std::invalid_argument("trainer: CUDA was asked for, but this libtorch or this machine has no CUDA device");
    if (data.train.empty()) throw std::invalid_argument("trainer: the dataset has no training views");
    for (const auto& v : data.train) {
      if (!v.image.defined() || v.image.dim() != 3 || v.image.size(2) != 3 || v.image.size(0) != v.camera.height ||
          v.image.size(1) != v.camera.width)
        throw std::invalid_argument("trainer: view '" + v.name + "' has an image that does not match its camera");
    }
    gen = at::make_generator<at::CPUGeneratorImpl>(opt.seed);
    dev_gen = device.is_cpu() ? gen : device_generator(device, opt.seed);
    // On the CPU a float image is used as it is (no copy); other devices get one upload per view.
    for (const auto& v : data.train) train_images.push_back(v.image.to(device, at::kFloat).contiguous());
    for (const auto& v : data.test) test_images.push_back(v.image.defined() ? v.image.to(device, at::kFloat) : v.image);
    adam.eps = opt.adam_eps;
    progress.total = opt.iterations;
  }

  // Brings the device-side moving average of the loss into `progress` (one copy).
  void sync_loss() {
    if (!loss_pending) return;
    progress.loss = loss_avg.item<double>();
    loss_pending = false;
  }

  void record_loss(const at::Tensor& loss) {
    if (device.is_cpu()) {
      const double v = loss.item<double>();
      progress.loss = std::isnan(progress.loss) ? v : 0.4 * v + 0.6 * progress.loss;
      return;
    }
    const at::Tensor v = loss.detach().to(at::kDouble);
    if (loss_avg.defined()) loss_avg = 0.4 * v + 0.6 * loss_avg;
    else loss_avg = std::isnan(progress.loss) ? v : 0.4 * v + 0.6 * progress.loss;
    loss_pending = true;
  }

  void init_gaussians() {
    const bool have_points = data.points.defined() && data.points.numel() > 0;
    InitMode mode = opt.init == InitMode::kAuto ? (have_points ? InitMode::kPoints : InitMode::kRandom) : opt.init;
    if (mode == InitMode::kPoints && !have_points)
      throw std::invalid_argument("trainer: init from points, but the dataset has no points");
    InitialGaussians g = mode == InitMode::kPoints ? init_from_points(data.points, data.point_colours, opt.init_opacity)
                                                   : init_random(opt.random_points, opt.random_half_size * data.extent,
                                                                 opt.init_opacity, gen);
    int64_t n = g.means.size(0);
    if (opt.max_gaussians > 0 && n > opt.max_gaussians) {  // start within the cap: a random subset
      auto keep = std::get<0>(at::randperm(n, gen, at::kLong).narrow(0, 0, opt.max_gaussians).sort());
      for (at::Tensor* t : {&g.means, &g.log_scales, &g.quats, &g.opacity_logits, &g.sh_dc})
        *t = t->index_select(0, keep);
      n = opt.max_gaussians;
    }
    // Initialised on the CPU (the same Gaussians on every device), then moved.
    adam.add_group("means", g.means.to(device), means_lr_at(opt, data.extent, 0));
    adam.add_group("log_scales", g.log_scales.to(device), opt.lr_scales);
    adam.add_group("quats", g.quats.to(device), opt.lr_quats);
    adam.add_group("opacity_logits", g.opacity_logits.to(device), opt.lr_opacity);
    adam.add_group("sh_dc", g.sh_dc.to(device), opt.lr_sh_dc);
    adam.add_group("sh_rest",
                   at::zeros({n, num_sh(opt.sh_degree) - 1, 3}, at::TensorOptions(at::kFloat).device(device)),
                   opt.lr_sh_rest);
    stats.reset(n, device);
  }

  const at::Tensor& target(int64_t view, int factor) {
    if (factor != cache_factor) {
      cache.assign(data.train.size(), at::Tensor());
      cache_factor = factor;
    }
    auto& t = cache[view];
    if (!t.defined()) {
      const auto& v = data.train[view];
      auto img = train_images[size_t(view)];  // [H, W, 3] on the device
      if (factor > 1) {
        const int64_t w = std::max(1, v.camera.width / factor), h = std::max(1, v.camera.height / factor);
        img = at::adaptive_avg_pool2d(img.permute({2, 0, 1}).unsqueeze(0), {h, w})
                  .squeeze(0)
                  .permute({1, 2, 0})
                  .contiguous();  // [h, w, 3]
      }
      t = img;
    }
    return t;
  }

  at::Tensor sh_for(int degree) const {  // [N, (degree+1)^2, 3]
    if (degree == 0) return adam.param(kShDc);
    return at::cat({adam.param(kShDc), adam.param(kShRest).narrow(1, 0, num_sh(degree) - 1)}, 1);
  }

  RenderOutput render_view(const camgraph::Camera& cam, int degree) {
    RenderSettings rs;
    rs.sh_degree = degree;
    rs.background = opt.background;
    return render(adam.param(kMeans), adam.param(kLogScales), adam.param(kQuats), adam.param(kOpacity), sh_for(degree),
                  to_render_camera(cam), rs);
  }

  void do_step() {
    const auto t0 = std::chrono::steady_clock::now();
    TorchThreadsScope torch_threads(fused);
    const int s = step + 1;  // 1-based iteration, as in the 3DGS reference
    const int factor = downscale_at(opt, step);
    const int degree = sh_degree_at(opt, step);
    const double lr_means = means_lr_at(opt, data.extent, step);
    adam[kMeans].lr = lr_means;

    const int64_t n_views = int64_t(data.train.size());
    if (!perm.defined() || perm_pos >= perm.size(0)) {
      perm = at::randperm(n_views, gen, at::kLong);
      perm_pos = 0;
    }
    const int64_t view = perm[perm_pos++].item<int64_t>();
    const at::Tensor& img = target(view, factor);  // [h, w, 3]
    const auto cam = data.train[view].camera.resized(int(img.size(1)), int(img.size(0)));

    RenderOutput out = render_view(cam, degree);
    auto loss = fused ? photometric_loss_fused(out.rgb, img, opt.ssim_lambda)
                      : photometric_loss(out.rgb, img, opt.ssim_lambda);
    const bool mcmc = opt.strategy == DensifyStrategy::kMcmc;
    if (mcmc) {
      if (opt.mcmc_opacity_reg > 0) loss = loss + opt.mcmc_opacity_reg * at::sigmoid(adam.param(kOpacity)).mean();
      if (opt.mcmc_scale_reg > 0) loss = loss + opt.mcmc_scale_reg * at::exp(adam.param(kLogScales)).mean();
    }
    loss.backward();
    record_loss(loss);

    if (!mcmc && s < opt.refine_stop && out.means2d.grad().defined())
      (fused ? accumulate_stats : accumulate_stats_torch)(stats, out.means2d.grad(), out.radii, cam.width, cam.height,
                                                          factor);
    if (fused) adam.step();
    else adam.step_torch();
    adam.zero_grad();

    if (!mcmc) {
      if (s < opt.refine_stop) {
        if (s > opt.refine_start && s % opt.refine_every == 0) {
          DensifyParams p;
          p.grad_threshold = opt.grad_threshold;
          p.percent_dense = opt.percent_dense;
          p.extent = data.extent;
          p.min_opacity = opt.prune_opacity;
          p.prune_large = opt.opacity_reset_every > 0 && s > opt.opacity_reset_every;
          p.max_world_scale = opt.prune_world_scale;
          p.max_screen_px = opt.prune_screen_px;
          p.max_gaussians = opt.max_gaussians;
          densify_and_prune(adam, stats, p, dev_gen);
        }
        if (opt.opacity_reset_every > 0 && s % opt.opacity_reset_every == 0)
          reset_opacity(adam, opt.opacity_reset_value);
      }
    } else {
      if (s > opt.refine_start && s < opt.mcmc_refine_stop && s % opt.refine_every == 0) {
        mcmc_relocate(adam, opt.prune_opacity, dev_gen, fused);
        mcmc_add(adam, opt.max_gaussians, opt.mcmc_growth, opt.prune_opacity, dev_gen, fused);
        stats.reset(adam.rows(), device);  // unused by MCMC; kept aligned for checkpoints
      }
      mcmc_inject_noise(adam, opt.mcmc_noise_lr * lr_means, dev_gen);
    }
    step = s;

    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto& p = progress;
    p.seconds_per_step = p.step == 0 ? dt : 0.9 * p.seconds_per_step + 0.1 * dt;
    p.step = step;
    p.total = opt.iterations;
    p.gaussians = adam.rows();
    p.sh_degree = degree;
    p.resolution = factor;
    p.width = cam.width;
    p.height = cam.height;
  }

  EvalResult evaluate(bool use_train) {
    EvalResult r;
    const auto& views = use_train ? data.train : data.test;
    if (views.empty()) return r;
    at::NoGradGuard no_grad;
    TorchThreadsScope torch_threads(fused);
    const int degree = sh_degree_at(opt, step);
    const auto& images = use_train ? train_images : test_images;
    double sp = 0, ss = 0, sl = 0;
    for (size_t i = 0; i < views.size(); ++i) {
      auto rgb = render_view(views[i].camera, degree).rgb.detach().clamp(0, 1);
      const at::Tensor& gt = images[i];
      sp += psnr(rgb, gt);
      ss += fused ? ssim_fused(rgb, gt) : ssim(rgb, gt).item<double>();
      sl += l1_error(rgb, gt).item<double>();
    }
    r.views = int(views.size());
    r.psnr = sp / r.views;
    r.ssim = ss / r.views;
    r.l1 = sl / r.views;
    if (!use_train) progress.psnr = r.psnr;
    return r;
  }
};

Trainer::Trainer(const SplatDataset& dataset, TrainOptions options, c10::Device device)
    : impl_(std::make_unique<Impl>(dataset, std::move(options), device)) {
  impl_->init_gaussians();
  impl_->progress.gaussians = impl_->adam.rows();
  impl_->progress.resolution = downscale_at(impl_->opt, 0);
}
Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;

void Trainer::step() {
  if (impl_->step >= impl_->opt.iterations) throw std::logic_error("trainer: all iterations are done");
  impl_->do_step();
}

TrainProgress Trainer::run(const RunCallbacks& cb) {
  auto& I = *impl_;
  const int end = cb.stop_at >= 0 ? std::min(cb.stop_at, I.opt.iterations) : I.opt.iterations;
  const int every = std::max(1, cb.progress_every);
  I.progress.cancelled = false;
  bool evaluated_last = false;
  while (I.step < end) {
    if (cb.cancelled && cb.cancelled()) {
      I.progress.cancelled = true;
      break;
    }
    I.do_step();
    evaluated_last = false;
    if (I.opt.eval_every > 0 && I.step % I.opt.eval_every == 0 && !I.data.test.empty()) {
      I.evaluate(false);
      evaluated_last = true;
    }
    if (!cb.checkpoint_path.empty() && cb.checkpoint_every > 0 && I.step % cb.checkpoint_every == 0)
      save_checkpoint(cb.checkpoint_path);
    if (cb.progress && (I.step % every == 0 || I.step == end)) {
      I.sync_loss();
      cb.progress(I.progress);
    }
  }
  if (!I.progress.cancelled && I.step >= I.opt.iterations && !evaluated_last && !I.data.test.empty()) I.evaluate(false);
  if (!cb.checkpoint_path.empty()) save_checkpoint(cb.checkpoint_path);
  I.sync_loss();
  return I.progress;
}

EvalResult Trainer::evaluate(bool use_train_views) { return impl_->evaluate(use_train_views); }

GaussianSet Trainer::gaussians() const {
  const auto& a = impl_->adam;
  GaussianSet g;
  g.means = a.param(kMeans).detach().clone();
  g.log_scales = a.param(kLogScales).detach().clone();
  auto q = a.param(kQuats).detach();
  g.quats = q / q.norm(2, -1, true).clamp_min(1e-12);
  g.opacity_logits = a.param(kOpacity).detach().clone();
  g.sh = at::cat({a.param(kShDc).detach(), a.param(kShRest).detach()}, 1);
  return g;
}

GaussianSet Trainer::gaussians_world() const {
  GaussianSet g = gaussians();
  const auto& nrm = impl_->data.normalisation;
  auto centre =
      at::tensor({float(nrm.centre[0]), float(nrm.centre[1]), float(nrm.centre[2])}, at::kFloat).to(g.means.device());
  g.means = g.means / nrm.scale + centre;  // [N, 3]
  g.log_scales = g.log_scales - std::log(nrm.scale);
  return g;
}

void Trainer::save_checkpoint(const std::filesystem::path& path) const {
  impl_->sync_loss();
  const auto& I = *impl_;
  TensorArchive a;
  nlohmann::json groups = nlohmann::json::array();
  for (size_t i = 0; i < I.adam.size(); ++i) {
    const auto& g = I.adam[i];
    groups.push_back({{"name", g.name}, {"lr", g.lr}, {"step", g.step}});
    a.tensors["param/" + std::to_string(i)] = g.param.detach();
    a.tensors["exp_avg/" + std::to_string(i)] = g.exp_avg;
    a.tensors["exp_avg_sq/" + std::to_string(i)] = g.exp_avg_sq;
  }
  a.tensors["stats/grad_sum"] = I.stats.grad_sum;
  a.tensors["stats/count"] = I.stats.count;
  a.tensors["stats/max_radii"] = I.stats.max_radii;
  a.tensors["rng"] = I.gen.get_state();
  if (!I.device.is_cpu()) a.tensors["rng_device"] = I.dev_gen.get_state();  // CPU bytes of the device's state
  if (I.perm.defined()) a.tensors["perm"] = I.perm;
  const auto& p = I.progress;
  a.meta = {{"format", "camgraph-splat-checkpoint"},
            {"version", 1},
            {"step", I.step},
            {"perm_pos", I.perm_pos},
            {"options", I.opt.to_json()},
            {"dataset", dataset_signature(I.data)},
            {"adam", {{"beta1", I.adam.beta1}, {"beta2", I.adam.beta2}, {"eps", I.adam.eps}, {"groups", groups}}},
            {"progress",
             {{"loss", std::isnan(p.loss) ? nlohmann::json() : nlohmann::json(p.loss)},
              {"psnr", std::isnan(p.psnr) ? nlohmann::json() : nlohmann::json(p.psnr)},
              {"seconds_per_step", p.seconds_per_step}}}};
  if (!I.device.is_cpu()) a.meta["rng_device"] = c10::DeviceTypeName(I.device.type(), true);
  write_archive(path, a);  // tensors are written from CPU copies: the file does not depend on the device
}

Trainer Trainer::resume(const std::filesystem::path& path, const SplatDataset& dataset, c10::Device device) {
  TensorArchive a = read_archive(path);
  const std::string where = "checkpoint " + path.string();
  try {
    const auto& m = a.meta;
    if (m.at("format") != "camgraph-splat-checkpoint" || m.at("version").get<int>() != 1)
      throw std::runtime_error("unsupported format or version");
    if (m.at("dataset").at("train_views") != dataset.train.size())
      throw std::runtime_error("it was made for " + m.at("dataset").at("train_views").dump() +
                               " training views, the dataset has " + std::to_string(dataset.train.size()));
    if (m.at("dataset") != dataset_signature(dataset))
      throw std::runtime_error("the training image sizes differ from the dataset's");
    auto impl = std::make_unique<Impl>(dataset, TrainOptions::from_json(m.at("options")), device);
    auto& I = *impl;
    auto tensor = [&](const std::string& name) {  // as read: on the CPU
      auto it = a.tensors.find(name);
      if (it == a.tensors.end()) throw std::runtime_error("missing tensor '" + name + "'");
      return it->second;
    };
    auto on_device = [&](const std::string& name) { return tensor(name).to(device); };
    const auto& groups = m.at("adam").at("groups");
    if (groups.size() != kNumGroups) throw std::runtime_error("wrong number of parameter groups");
    I.adam.beta1 = m.at("adam").at("beta1").get<double>();
    I.adam.beta2 = m.at("adam").at("beta2").get<double>();
    I.adam.eps = m.at("adam").at("eps").get<double>();
    for (size_t i = 0; i < groups.size(); ++i) {
      const std::string k = std::to_string(i);
      I.adam.add_group(groups[i].at("name").get<std::string>(), on_device("param/" + k),
                       groups[i].at("lr").get<double>());
      auto& g = I.adam[i];
      g.step = groups[i].at("step").get<int64_t>();
      g.exp_avg = on_device("exp_avg/" + k);
      g.exp_avg_sq = on_device("exp_avg_sq/" + k);
      if (g.exp_avg.sizes() != g.param.sizes() || g.exp_avg_sq.sizes() != g.param.sizes())
        throw std::runtime_error("moments of group " + g.name + " do not match its parameters");
    }
    I.stats.grad_sum = on_device("stats/grad_sum");
    I.stats.count = on_device("stats/count");
    I.stats.max_radii = on_device("stats/max_radii");
    if (I.stats.size() != I.adam.rows()) throw std::runtime_error("density statistics do not match the Gaussians");
    I.gen.set_state(tensor("rng"));  // on a CPU trainer this is dev_gen too
    if (a.tensors.count("perm")) I.perm = tensor("perm");
    I.perm_pos = m.at("perm_pos").get<int64_t>();
    I.step = m.at("step").get<int>();
    if (!device.is_cpu()) {
      // The device stream: restored when the file was written on this kind of device, else reseeded.
      if (a.tensors.count("rng_device") && m.value("rng_device", "") == c10::DeviceTypeName(device.type(), true))
        I.dev_gen.set_state(tensor("rng_device"));
      else I.dev_gen.set_current_seed(resume_seed(I.opt.seed, I.step));
    }
    auto& p = I.progress;
    const auto& mp = m.at("progress");
    if (!mp.at("loss").is_null()) p.loss = mp.at("loss").get<double>();
    if (!mp.at("psnr").is_null()) p.psnr = mp.at("psnr").get<double>();
    p.seconds_per_step = mp.at("seconds_per_step").get<double>();
    p.step = I.step;
    p.gaussians = I.adam.rows();
    p.sh_degree = sh_degree_at(I.opt, I.step);
    p.resolution = downscale_at(I.opt, I.step);
    return Trainer(std::move(impl));
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": cannot resume: " + e.what());
  }
}

int Trainer::step_count() const { return impl_->step; }
c10::Device Trainer::device() const { return impl_->device; }
int64_t Trainer::num_gaussians() const { return impl_->adam.rows(); }
const TrainOptions& Trainer::options() const { return impl_->opt; }
const TrainProgress& Trainer::progress() const {
  impl_->sync_loss();
  return impl_->progress;
}
Adam& Trainer::optimizer() { return impl_->adam; }
const Adam& Trainer::optimizer() const { return impl_->adam; }

}  // namespace camgraph::splat
