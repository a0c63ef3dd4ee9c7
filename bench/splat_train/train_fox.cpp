// Splat training benchmark: loads a dataset with our loader, trains with our trainer for a fixed
// number of steps and prints ONE JSON line (last line of stdout) with wall time, time per step,
// peak RSS, Gaussian count and held-out PSNR/SSIM.
//
//   camgraph-bench-splat-train [--data DIR] [--steps 500] [--downscale 2] [--num-downscales 2]
//       [--resolution-schedule 3000] [--holdout 0049.jpg | --holdout-every 8] [--threads T]
//       [--seed 0] [--init auto|points|random] [--dump-dir DIR] [--options '{"prune_opacity": 0.1}']
//
// Held-out metrics are reported twice:
//   psnr/ssim          Trainer::evaluate(): every test view at the loaded resolution (e.g. 540x960);
//   psnr_tr/ssim_tr    the test views rendered at the training resolution of the last step (the
//                      ground truth area-averaged to that size), which is what OpenSplat's
//                      --val-render writes, so the two trainers can be compared at one resolution.
// --dump-dir writes those train-resolution renders and ground truths as binary PPM files so an
// external script can recompute the metrics with its own code.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "splat/io/dataset.h"
#include "splat/raster/render.h"
#include "splat/train/loss.h"
#include "splat/train/trainer.h"

namespace fs = std::filesystem;
using namespace camgraph::splat;

namespace {

struct Args {
  fs::path data;
  int steps = 500;
  int downscale = 2;
  int num_downscales = 2;
  int resolution_schedule = 3000;
  int holdout_every = 8;
  std::vector<std::string> holdout;  // names; when set, overrides holdout_every
  int threads = 0;                   // 0: defaults (torch's, and the rasterizer's: all cores)
  uint64_t seed = 0;
  std::string init = "auto";
  int max_images = 0;
  fs::path dump_dir;
  std::string options_json;  // TrainOptions keys to override (TrainOptions::to_json names)
};

[[noreturn]] void usage(int rc) {
  std::fprintf(
      rc ? stderr : stdout,
      "usage: camgraph-bench-splat-train [--data DIR|transforms.json] [--steps N] [--downscale D]\n"
      "  [--num-downscales K] [--resolution-schedule S] [--holdout NAME[,NAME...] | --holdout-every N]\n"
      "  [--threads T] [--seed S] [--init auto|points|random] [--max-images N] [--dump-dir DIR]\n"
      "  [--options JSON]   TrainOptions overrides, e.g. '{\"prune_opacity\": 0.1}'\n"
      "Default data: $CAMGRAPH_SHARED/data/fox, else <source>/../shared/data/fox.\n"
      "Defaults: 500 steps, downscale 2, num-downscales 2, schedule 3000 (OpenSplat 1.1.5), holdout-every 8.\n");
  std::exit(rc);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        usage(2);
      }
      return argv[++i];
    };
    auto num = [&]() -> long long {
      const std::string v = val();
      try {
        size_t pos = 0;
        const long long n = std::stoll(v, &pos);
        if (pos != v.size()) throw std::invalid_argument(v);
        return n;
      } catch (const std::exception&) {
        std::fprintf(stderr, "%s: not an integer: %s\n", k.c_str(), v.c_str());
        usage(2);
      }
    };
    if (k == "-h" || k == "--help") usage(0);
    else if (k == "--data") a.data = val();
    else if (k == "--steps") a.steps = int(num());
    else if (k == "--downscale") a.downscale = int(num());
    else if (k == "--num-downscales") a.num_downscales = int(num());
    else if (k == "--resolution-schedule") a.resolution_schedule = int(num());
    else if (k == "--holdout-every") a.holdout_every = int(num());
    else if (k == "--holdout") {
      std::stringstream ss(val());
      std::string n;
      while (std::getline(ss, n, ','))
        if (!n.empty()) a.holdout.push_back(n);
    } else if (k == "--threads") a.threads = int(num());
    else if (k == "--seed") a.seed = uint64_t(num());
    else if (k == "--init") a.init = val();
    else if (k == "--max-images") a.max_images = int(num());
    else if (k == "--dump-dir") a.dump_dir = val();
    else if (k == "--options") a.options_json = val();
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      usage(2);
    }
  }
  if (a.steps < 1 || a.downscale < 1 || a.num_downscales < 0 || a.resolution_schedule < 1 || a.holdout_every < 0 ||
      a.threads < 0) {
    std::fprintf(stderr, "invalid option value\n");
    usage(2);
  }
  if (a.data.empty()) {
    const fs::path shared = shared_data_dir(CAMGRAPH_SOURCE_DIR);
    if (shared.empty()) {
      std::fprintf(stderr, "no --data and no shared data folder ($CAMGRAPH_SHARED or %s/../shared)\n",
                   CAMGRAPH_SOURCE_DIR);
      std::exit(2);
    }
    a.data = shared / "data" / "fox";
  }
  return a;
}

double cpu_seconds() {  // user + system time of this process (all threads)
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

// Area average to [h, w] (as the trainer does for its training targets).
at::Tensor area_resize(const at::Tensor& img, int64_t h, int64_t w) {
  if (img.size(0) == h && img.size(1) == w) return img;
  return at::adaptive_avg_pool2d(img.permute({2, 0, 1}).unsqueeze(0), {h, w})
      .squeeze(0)
      .permute({1, 2, 0})
      .contiguous();
}

void write_ppm(const fs::path& p, const at::Tensor& img) {  // [H, W, 3] in [0, 1]
  const at::Tensor b = img.clamp(0, 1).mul(255.0).round().to(at::kByte).contiguous();
  std::ofstream f(p, std::ios::binary);
  f << "P6\n" << b.size(1) << " " << b.size(0) << "\n255\n";
  f.write(reinterpret_cast<const char*>(b.data_ptr<uint8_t>()), std::streamsize(b.numel()));
  if (!f) throw std::runtime_error(p.string() + ": cannot write");
}

std::string size_str(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

// The dataset with the views named by --holdout (file name or full name) moved to the test set.
SplatDataset load_bench_dataset(const Args& a) {
  DatasetOptions dopt;
  dopt.downscale = a.downscale;
  dopt.max_images = a.max_images;
  dopt.holdout_every = a.holdout.empty() ? a.holdout_every : 0;
  dopt.init = a.init;
  dopt.seed = a.seed;
  SplatDataset ds = load_dataset(a.data, dopt, [](const std::string& w) { std::cerr << "warning: " << w << "\n"; });
  if (a.holdout.empty()) return ds;
  std::set<std::string> want(a.holdout.begin(), a.holdout.end());
  std::vector<TrainView> train;
  for (auto& v : ds.train) {
    const std::string base = fs::path(v.name).filename().string();
    if (want.count(v.name) || want.count(base)) {
      want.erase(v.name);
      want.erase(base);
      ds.test.push_back(std::move(v));
    } else {
      train.push_back(std::move(v));
    }
  }
  ds.train = std::move(train);
  if (!want.empty()) throw std::runtime_error("--holdout: no view named " + *want.begin());
  return ds;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.threads > 0) {
    at::set_num_threads(a.threads);  // torch ops (loss, Adam, density control)
    set_cpu_threads(a.threads);      // the rasterizer's own CPU threads
  }

  try {
    // ---- data
    const auto t_load0 = std::chrono::steady_clock::now();
    SplatDataset ds = load_bench_dataset(a);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load0).count();
    if (ds.train.empty()) throw std::runtime_error("no training views");

    // ---- train
    TrainOptions o;
    o.iterations = a.steps;
    o.seed = a.seed;
    o.num_downscales = a.num_downscales;
    o.resolution_schedule = a.resolution_schedule;
    o.init = a.init == "random" ? InitMode::kRandom : a.init == "points" ? InitMode::kPoints : InitMode::kAuto;
    if (!a.options_json.empty()) {
      nlohmann::json j = o.to_json();
      j.merge_patch(nlohmann::json::parse(a.options_json));
      o = TrainOptions::from_json(j);
    }
    o.validate();

    const auto t_init0 = std::chrono::steady_clock::now();
    Trainer trainer(ds, o);
    const double init_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_init0).count();
    const int64_t gaussians_start = trainer.num_gaussians();

    std::vector<double> dt;
    dt.reserve(size_t(a.steps));
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < a.steps; ++s) {
      const auto ts = std::chrono::steady_clock::now();
      trainer.step();
      dt.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count());
      if ((s + 1) % 100 == 0 || s + 1 == a.steps)
        std::cerr << "step " << s + 1 << "/" << a.steps << "  loss " << trainer.progress().loss << "  "
                  << trainer.num_gaussians() << " Gaussians  " << trainer.progress().width << "x"
                  << trainer.progress().height << "  " << dt.back() << " s\n";
    }
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double train_cpu_s = cpu_seconds() - cpu0;
    const size_t last_n = std::min<size_t>(100, dt.size());
    const double last100 = std::accumulate(dt.end() - long(last_n), dt.end(), 0.0) / double(last_n);
    const TrainProgress prog = trainer.progress();

    // ---- held-out evaluation
    const auto t_eval0 = std::chrono::steady_clock::now();
    const EvalResult full = trainer.evaluate();
    double psnr_tr = std::nan(""), ssim_tr = std::nan("");
    std::string eval_tr_res, eval_full_res;
    std::vector<std::string> test_names;
    if (!ds.test.empty()) {
      at::NoGradGuard ng;
      const GaussianSet g = trainer.gaussians();
      const int factor = Trainer::downscale_at(o, a.steps - 1);  // resolution of the last step
      RenderSettings rs;
      rs.sh_degree = Trainer::sh_degree_at(o, a.steps);
      rs.background = o.background;
      double sp = 0, ss = 0;
      if (!a.dump_dir.empty()) fs::create_directories(a.dump_dir);
      for (const auto& v : ds.test) {
        test_names.push_back(v.name);
        eval_full_res = size_str(v.camera.width, v.camera.height);
        const int w = std::max(1, v.camera.width / factor), h = std::max(1, v.camera.height / factor);
        const auto cam = v.camera.resized(w, h);
        const at::Tensor gt = area_resize(v.image.to(at::kFloat), h, w);
        const at::Tensor rgb = render(g.means, g.log_scales, g.quats, g.opacity_logits,
                                      g.sh.narrow(1, 0, (rs.sh_degree + 1) * (rs.sh_degree + 1)), to_render_camera(cam),
                                      rs)
                                   .rgb.clamp(0, 1);
        sp += psnr(rgb, gt);
        ss += ssim(rgb, gt).item<double>();
        eval_tr_res = size_str(w, h);
        if (!a.dump_dir.empty()) {
          const std::string stem = fs::path(v.name).stem().string();
          write_ppm(a.dump_dir / (stem + "_render.ppm"), rgb);
          write_ppm(a.dump_dir / (stem + "_gt.ppm"), gt);
        }
      }
      psnr_tr = sp / double(ds.test.size());
      ssim_tr = ss / double(ds.test.size());
    }
    const double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_eval0).count();

    auto num_or_null = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
    nlohmann::json j;
    j["tool"] = "camgraph";
    j["data"] = a.data.string();
    j["steps"] = a.steps;
    j["torch_threads"] = at::get_num_threads();
    j["raster_threads"] = cpu_threads();
    j["downscale"] = a.downscale;
    j["num_downscales"] = a.num_downscales;
    j["resolution_schedule"] = a.resolution_schedule;
    if (!a.options_json.empty()) j["options"] = nlohmann::json::parse(a.options_json);
    j["train_views"] = ds.train.size();
    j["test_views"] = test_names;
    j["train_res"] = size_str(prog.width, prog.height);
    j["load_s"] = load_s;
    j["init_s"] = init_s;
    j["wall_s"] = train_s;
    j["s_per_step"] = train_s / a.steps;
    j["s_per_step_last100"] = last100;
    j["cpu_s_per_step"] = train_cpu_s / a.steps;  // CPU time (all threads): robust to other load
    j["eval_s"] = eval_s;
    j["peak_rss_mib"] = peak_rss_mib();
    j["gaussians_start"] = gaussians_start;
    j["gaussians"] = trainer.num_gaussians();
    j["loss"] = num_or_null(prog.loss);
    j["eval_res"] = eval_full_res;
    j["psnr"] = num_or_null(full.psnr);
    j["ssim"] = num_or_null(full.ssim);
    j["eval_train_res"] = eval_tr_res;
    j["psnr_tr"] = num_or_null(psnr_tr);
    j["ssim_tr"] = num_or_null(ssim_tr);
    std::cout << j.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
