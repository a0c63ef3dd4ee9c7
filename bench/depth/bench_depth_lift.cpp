// PSNR vs camera displacement for depth lifting on the procedural courtyard.
//
// A source camera sees the ray-traced courtyard (RGB + exact depth). The view is lifted to
// Gaussians with (a) the true depth, (b) the layout prior (camera height and horizon known, the
// backdrop at the courtyard wall distance), (c) a depth network when CAMGRAPH_DEPTH_MODEL names an
// ONNX file (scaled by the ground fit), and (d) the true depth with hole filling (4 inpainted views)
// and 60 refinement steps. Each is re-rendered at cameras moved right / up / forward / back by d
// and compared with the ray-traced render there (holes are black against the truth).
//
//   bench_depth_lift [width=160] [height=120]
#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "depth/layout.h"
#include "depth/lift.h"
#include "depth/model.h"
#include "splat/procedural_scene.h"

using namespace camgraph;
using namespace camgraph::depth;

namespace {

double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (a - b).pow(2).mean().item<double>();
  return 10 * std::log10(1 / std::max(mse, 1e-12));
}

cv::Mat to_mat(const at::Tensor& rgb) {
  at::Tensor t = rgb.contiguous();
  return cv::Mat(int(t.size(0)), int(t.size(1)), CV_32FC3, t.data_ptr<float>()).clone();
}

at::Tensor from_mat(const cv::Mat& m) { return at::from_blob(m.data, {m.rows, m.cols}, at::kFloat).clone(); }

}  // namespace

int main(int argc, char** argv) {
  const int W = argc > 1 ? std::atoi(argv[1]) : 160, H = argc > 2 ? std::atoi(argv[2]) : 120;
  const Camera cam = splat::courtyard_ring(1, 1, W, H, 60, 2.3, 1.2, 1.2)[0];
  const splat::ProceduralRender truth = splat::render_courtyard(cam, 2);
  const Intrinsics k{cam.fx, cam.fy, cam.cx, cam.cy};

  // Layout prior with the true camera height and horizon.
  const Mat4 c2w = cam.camera_to_world();
  const double fz = c2w[10];  // world z of the viewing direction
  const double pitch = std::asin(std::clamp(-fz, -1.0, 1.0));
  LayoutParams lp;
  lp.camera_height = cam.position()[2];
  lp.horizon = (cam.cy - cam.fy * std::tan(pitch)) / H;
  lp.backdrop_distance = 3.0 + 2.3;  // walls 3 m from the centre, camera 2.3 m from it on the far side
  const cv::Mat layout = layout_depth({W, H}, k, lp);

  struct Method {
    std::string name;
    at::Tensor depth;
    bool fill = false;
  };
  std::vector<Method> methods = {{"true depth", truth.depth}, {"layout prior", from_mat(layout)}};
  if (const char* m = std::getenv("CAMGRAPH_DEPTH_MODEL"); m && *m) {
    const std::string kind = kind_from_file_name(m).empty() ? "midas_v21_small" : kind_from_file_name(m);
    DepthModel model(m, model_kind(kind));
    const cv::Mat raw = model.predict(to_mat(truth.rgb));
    cv::Mat mask = layout_ground_mask({W, H}, k, lp);
    mask.rowRange(0, H * 3 / 4).setTo(0);
    const ScaleShift s = fit_to_ground(raw, model.kind().disparity, layout, mask);
    methods.push_back({kind, from_mat(apply_scale_shift(raw, model.kind().disparity, s.scale, s.shift))});
  }
  methods.push_back({"true depth + fill + refine", truth.depth, true});

  const std::vector<double> dists = {0.0, 0.05, 0.1, 0.2, 0.4};
  const std::vector<std::string> dirs = {"right", "up", "forward", "back"};
  // Truth renders at every moved camera.
  std::vector<std::vector<at::Tensor>> truths(dirs.size());
  for (size_t di = 0; di < dirs.size(); ++di)
    for (double d : dists) truths[di].push_back(splat::render_courtyard(moved_camera(cam, dirs[di], d), 2).rgb);

  std::printf("courtyard %dx%d, source camera at height %.2f m, pitch %.1f deg; PSNR dB (hole fraction)\n\n", W, H,
              lp.camera_height, pitch * 180 / M_PI);
  std::printf("| method | limit (2%% holes) | direction |");
  for (double d : dists) std::printf(" d=%.2f m |", d);
  std::printf("\n|---|---|---|");
  for (size_t i = 0; i < dists.size(); ++i) std::printf("---|");
  std::printf("\n");
  const double median = truth.depth.masked_select(truth.depth > 0).median().item<double>();
  for (const auto& m : methods) {
    const auto t0 = std::chrono::steady_clock::now();
    splat::GaussianSet g = lift(truth.rgb, m.depth, cam, {});
    DisplacementLimit lim = displacement_limit(g, cam, median, 0.02, 1.0);
    if (m.fill) {
      std::vector<RefineView> views = {{cam, truth.rgb, {}}};
      for (const char* dir : {"right", "left", "up", "back"}) {
        const Camera vc = moved_camera(cam, dir, 1.5 * std::max(lim.limit, 0.01));
        RenderedView r = render_view(g, vc);
        const at::Tensor holes = r.alpha < 0.5;
        at::Tensor rgb = r.rgb, depth = at::where(holes, at::zeros_like(r.depth), r.depth / r.alpha.clamp_min(1e-6));
        inpaint_view(rgb, depth, holes, 5);
        g = concat(g, lift(rgb, depth, vc, {}, holes));
        views.push_back({vc, rgb, {}});
      }
      refine(g, views, 60, median);
      lim = displacement_limit(g, cam, median, 0.02, 1.0);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (size_t di = 0; di < dirs.size(); ++di) {
      std::printf("| %s | %.3f m | %s |", m.name.c_str(), double(lim.per_direction[dirs[di]]), dirs[di].c_str());
      for (size_t i = 0; i < dists.size(); ++i) {
        const RenderedView v = render_view(g, moved_camera(cam, dirs[di], dists[i]));
        std::printf(" %.2f (%.3f) |", psnr(v.rgb, truths[di][i]), (v.alpha < 0.5).to(at::kDouble).mean().item<double>());
      }
      std::printf("\n");
    }
    std::fprintf(stderr, "%s: %lld Gaussians, %.1f s (lift + limit%s)\n", m.name.c_str(), (long long)g.size(), secs,
                 m.fill ? " + fill + refine" : "");
  }
  return 0;
}
