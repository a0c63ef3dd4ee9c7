// Rendered camera path: keyframes every k frames of an orbit around the procedural courtyard are
// interpolated back to full rate and compared with the full-rate render (PSNR on RGB, SSIM on
// luma; only the re-created frames are scored). The frames come from the ray tracer of the set the
// splat demo trains on (`--renderer raytrace`), or from a splat trained on that set and rendered by
// splat.render (`--renderer splat`: scene.procedural -> splat.train -> splat.render, run by the engine).
//
//   bench_interp_path [--renderer raytrace|splat] [--steps 1500] [--frames 33] [--size 320x240]
//                     [--step-deg 2.5] [--rife flownet.pkl]
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/values.h"
#include "interp/flow_fallback.h"
#include "interp/rife/rife_model.h"
#include "splat/procedural_scene.h"

using namespace camgraph;
using namespace camgraph::interp;

namespace {

cv::Mat to_mat(const at::Tensor& rgb) {
  at::Tensor c = rgb.contiguous();
  return cv::Mat(int(c.size(0)), int(c.size(1)), CV_32FC3, c.data_ptr<float>()).clone();
}

double psnr(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  const cv::Scalar m = cv::mean(d.mul(d));
  return 10 * std::log10(1.0 / std::max(1e-12, (m[0] + m[1] + m[2]) / 3));
}

double ssim_luma(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat ga, gb;
  cv::cvtColor(a, ga, cv::COLOR_RGB2GRAY);
  cv::cvtColor(b, gb, cv::COLOR_RGB2GRAY);
  const double c1 = 1e-4, c2 = 9e-4;
  const cv::Size k(11, 11);
  cv::Mat ma, mb, saa, sbb, sab;
  cv::GaussianBlur(ga, ma, k, 1.5);
  cv::GaussianBlur(gb, mb, k, 1.5);
  cv::GaussianBlur(ga.mul(ga), saa, k, 1.5);
  cv::GaussianBlur(gb.mul(gb), sbb, k, 1.5);
  cv::GaussianBlur(ga.mul(gb), sab, k, 1.5);
  const cv::Mat num = (2 * ma.mul(mb) + c1).mul(2 * (sab - ma.mul(mb)) + c2);
  const cv::Mat den = (ma.mul(ma) + mb.mul(mb) + c1).mul(saa - ma.mul(ma) + sbb - mb.mul(mb) + c2);
  cv::Mat s;
  cv::divide(num, den, s);
  return cv::mean(s)[0];
}

// The orbit rendered by a splat trained on the courtyard views (the demo's training settings).
std::vector<cv::Mat> splat_orbit(int frames, int w, int h, double step_deg, int steps) {
  using nlohmann::json;
  const json doc = {{"format", "camgraph"},
                    {"version", 1},
                    {"graph",
                     {{"nodes",
                       {{{"id", "views"},
                         {"type", "scene.procedural"},
                         {"version", 1},
                         {"params", {{"views", 32}, {"rings", 2}, {"width", 128}, {"height", 96}, {"samples", 2}}}},
                        {{"id", "train"},
                         {"type", "splat.train"},
                         {"version", 1},
                         {"params",
                          {{"steps", steps},
                           {"random_points", 20000},
                           {"sh_degree", 1},
                           {"sh_degree_interval", 500},
                           {"refine_start", std::min(300, steps)},
                           {"refine_every", 100},
                           {"refine_stop", std::max(1, steps * 4 / 5)},
                           {"opacity_reset_every", 0},
                           {"max_gaussians", 60000},
                           {"holdout_every", 8},
                           {"seed", 1}}}},
                        {{"id", "orbit"},
                         {"type", "camera.orbit"},
                         {"version", 2},
                         {"params",
                          {{"frames", frames},
                           {"fps", 16},
                           {"width", w},
                           {"height", h},
                           {"fov", 60},
                           {"radius", 2.3},
                           {"camera_height", 1.2},
                           {"target_z", 0.45},
                           {"start_angle", 0},
                           {"end_angle", step_deg * (frames - 1)},
                           {"easing", "linear"}}}},
                        {{"id", "render"}, {"type", "splat.render"}, {"version", 1}, {"params", json::object()}}}},
                      {"links",
                       {{{"from", "views.views"}, {"to", "train.views"}},
                        {{"from", "train.scene"}, {"to", "render.scene"}},
                        {{"from", "orbit.path"}, {"to", "render.path"}}}}}}};
  const GraphDocument g = load_cgraph_text(doc.dump(), builtin_registry());
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = "/tmp/bench_interp_path";
  const RunResult r = ev.run(g.graph, opt);
  for (const auto& [id, n] : r.nodes)
    if (n.state == NodeState::Failed) throw std::runtime_error(id + ": " + n.error);
  const auto seq = std::dynamic_pointer_cast<const FrameSequenceValue>(ev.outputs("render").at("frames"));
  std::vector<cv::Mat> out;
  for (int i = 0; i < seq->count(); ++i)
    out.push_back(to_mat(seq->frames[i].slice(2, 0, 3).to(at::kFloat).contiguous()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int frames = 33, w = 320, h = 240;
  double step_deg = 2.5;
  std::string rife_path, renderer = "raytrace";
  int steps = 1500;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--renderer") renderer = argv[++i];
    else if (a == "--steps") steps = std::stoi(argv[++i]);
    else if (a == "--frames") frames = std::stoi(argv[++i]);
    else if (a == "--size") std::sscanf(argv[++i], "%dx%d", &w, &h);
    else if (a == "--step-deg") step_deg = std::stod(argv[++i]);
    else if (a == "--rife") rife_path = argv[++i];
  }
  // An orbit: a ring of 360/step views, the first `frames` of them (consecutive views step_deg apart).
  const int ring = static_cast<int>(std::lround(360.0 / step_deg));
  auto cams = splat::courtyard_ring(ring, 1, w, h, 60, 2.3, 1.2, 1.2);
  cams.resize(std::min<size_t>(cams.size(), frames));
  std::vector<cv::Mat> full;
  if (renderer == "splat") {
    full = splat_orbit(frames, w, h, step_deg, steps);
  } else if (renderer == "raytrace") {
    for (const auto& c : cams) full.push_back(to_mat(splat::render_courtyard(c, 2).rgb));
  } else {
    std::fprintf(stderr, "--renderer: '%s' is not raytrace or splat\n", renderer.c_str());
    return 2;
  }
  std::shared_ptr<RifeModel> rife;
  if (!rife_path.empty()) rife = std::make_shared<RifeModel>(rife_path, c10::Device(c10::kCPU), false);
  std::printf("courtyard orbit (%s%s), %d frames %dx%d, %.2f deg per frame\n", renderer.c_str(),
              renderer == "splat" ? (", " + std::to_string(steps) + " training steps").c_str() : "", int(full.size()),
              w, h, step_deg);
  std::printf("| keyframe every | frames re-created | duplicate PSNR / SSIM | blend | flow fallback |%s\n",
              rife ? " RIFE |" : "");
  std::printf("|---|---|---|---|---|%s\n", rife ? "---|" : "");
  for (int k : {2, 4, 8}) {
    double sums[4][2] = {};
    int n = 0;
    for (int i = 0; i + k < static_cast<int>(full.size()); i += k) {
      const cv::Mat& a = full[i];
      const cv::Mat& b = full[i + k];
      const FlowPair p = compute_flow_pair(a, b);
      for (int j = 1; j < k; ++j) {
        const float t = float(j) / k;
        const cv::Mat& gt = full[i + j];
        std::vector<cv::Mat> preds{t <= 0.5f ? a : b, interpolate_blend(a, b, t), interpolate_flow(p, t)};
        if (rife) {
          const auto ta = at::from_blob(a.data, {a.rows, a.cols, 3}, at::kFloat);
          const auto tb = at::from_blob(b.data, {b.rows, b.cols, 3}, at::kFloat);
          preds.push_back(to_mat(rife->interpolate(ta, tb, t)));
        }
        for (size_t m = 0; m < preds.size(); ++m) {
          sums[m][0] += psnr(preds[m], gt);
          sums[m][1] += ssim_luma(preds[m], gt);
        }
        ++n;
      }
    }
    std::printf("| %d | %d | %.2f / %.3f | %.2f / %.3f | %.2f / %.3f |", k, n, sums[0][0] / n, sums[0][1] / n,
                sums[1][0] / n, sums[1][1] / n, sums[2][0] / n, sums[2][1] / n);
    if (rife) std::printf(" %.2f / %.3f |", sums[3][0] / n, sums[3][1] / n);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
