// The fast rasterizer against the float64 autograd twin (reference.h): outputs and gradients.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "reference.h"
#include "scene.h"
#include "splat/raster/ops.h"
#include "splat/raster/render.h"

namespace camgraph::splat {
namespace {

using at::Tensor;
using namespace test;

RenderOutput render_with(const std::vector<Tensor>& x, const Scene& s, bool reference) {
  return reference ? ref::render(x[0], x[1], x[2], x[3], x[4], s.camera, s.settings)
                   : render(x[0], x[1], x[2], x[3], x[4], s.camera, s.settings);
}

struct Case {  // one random scene
  int n, width, height, coeff_degree, sh_degree;
  uint64_t seed;
  float opacity_shift = 0.f;  // > 0: dense, opaque scene (alpha clamp and early stop everywhere)
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.n << " Gaussians, " << c.width << "x" << c.height; }

class RasterVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(RasterVsReference, ForwardAndGradientsMatch) {
  const Case c = GetParam();
  set_cpu_threads(2);  // exercise the threaded tile loops
  const Scene s = make_scene(c.n, c.width, c.height, c.coeff_degree, c.sh_degree, c.seed, c.opacity_shift);
  auto xf = leaves(s, at::kFloat), xr = leaves(s, at::kDouble);
  RenderOutput of = render_with(xf, s, false), orf = render_with(xr, s, true);

  EXPECT_TRUE(at::equal(of.radii, orf.radii)) << "radii differ";
  EXPECT_GT(of.radii.gt(0).sum().item<int64_t>(), 0) << "degenerate scene: nothing visible";
  if (c.n > 20) EXPECT_LT(of.radii.gt(0).sum().item<int64_t>(), c.n) << "scene should cull some Gaussians";
  expect_close(of.means2d, orf.means2d, "means2d");
  expect_close(of.rgb, orf.rgb, "rgb");
  expect_close(of.alpha, orf.alpha, "alpha");
  expect_close(of.depth, orf.depth, "depth");
  if (c.opacity_shift > 0.f)  // pixels that stopped compositing (T < 1e-4 would come next)
    EXPECT_GT(of.alpha.gt(1.f - 1e-3f).sum().item<int64_t>(), 10) << "dense scene should saturate pixels";

  loss_of(of, 7).backward();
  loss_of(orf, 7).backward();
  const char* names[] = {"v_means", "v_log_scales", "v_quats", "v_opacity_logits", "v_sh"};
  for (int i = 0; i < 5; ++i) expect_close(xf[i].grad(), xr[i].grad(), names[i]);
  expect_close(of.means2d.grad(), orf.means2d.grad(), "v_means2d");
}

INSTANTIATE_TEST_SUITE_P(Scenes, RasterVsReference,
                         ::testing::Values(Case{1, 21, 17, 0, 0, 1}, Case{40, 33, 47, 0, 0, 2},
                                           Case{120, 64, 48, 1, 1, 3}, Case{200, 70, 53, 2, 2, 4},
                                           Case{250, 50, 37, 3, 3, 5}, Case{300, 48, 32, 3, 2, 6},
                                           Case{150, 16, 16, 3, 3, 7}, Case{400, 61, 29, 3, 3, 8},
                                           Case{700, 40, 27, 2, 2, 9, 4.f}, Case{900, 35, 33, 1, 1, 10, 6.f}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           const Case& c = info.param;
                           return "n" + std::to_string(c.n) + "_" + std::to_string(c.width) + "x" +
                                  std::to_string(c.height) + "_sh" + std::to_string(c.sh_degree) + "of" +
                                  std::to_string(c.coeff_degree) + (c.opacity_shift > 0 ? "_dense" : "");
                         });

TEST(RasterOps, ProjectionMatchesReference) {
  const Scene s = make_scene(500, 80, 60, 0, 0, 11);
  const CamParams cam = make_cam_params(s.camera.viewmat, s.camera.fx, s.camera.fy, s.camera.cx, s.camera.cy,
                                        s.camera.width, s.camera.height, s.settings.eps2d, s.settings.near_plane,
                                        s.settings.far_plane);
  const ProjectOutput f = project_fwd(cam, s.means, s.log_scales, s.quats);
  const auto x = leaves(s, at::kDouble);
  const ref::Projected r = ref::project(x[0], x[1], x[2], s.camera, s.settings);
  EXPECT_TRUE(at::equal(f.radii, r.radii));
  expect_close(f.means2d, r.means2d, "means2d");
  expect_close(f.depths, r.depths, "depths");
  expect_close(f.conics, r.conics, "conics");
  // Backward with random output gradients.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const Tensor g2 = at::randn({500, 2}, gen, at::kFloat), gd = at::randn({500}, gen, at::kFloat),
               gc = at::randn({500, 3}, gen, at::kFloat);
  auto [vm, vs, vq] = project_bwd(cam, s.means, s.log_scales, s.quats, f.conics, f.radii, g2, gd, gc);
  ((r.means2d * g2.to(at::kDouble)).sum() + (r.depths * gd.to(at::kDouble)).sum() +
   (r.conics * gc.to(at::kDouble)).sum())
      .backward();
  expect_close(vm, x[0].grad(), "v_means");
  expect_close(vs, x[1].grad(), "v_log_scales");
  expect_close(vq, x[2].grad(), "v_quats");
}

TEST(RasterOps, ShMatchesReference) {
  for (int degree = 0; degree <= 3; ++degree) {
    const Scene s = make_scene(300, 40, 30, 3, degree, 20 + degree);
    const V3 campos = cam_position(make_cam_params(s.camera.viewmat, 1, 1, 0, 0, 1, 1, 0, 0.01f, 1));
    const Tensor f = sh_fwd(degree, campos, s.means, s.sh);
    const auto x = leaves(s, at::kDouble);
    const Tensor r = ref::sh_colors(degree, x[0], x[4], ref::camera_position(s.camera));
    expect_close(f, r, "colors deg " + std::to_string(degree));
    const Tensor g = at::randn({300, 3}, at::kFloat);
    auto [vm, vsh] = sh_bwd(degree, campos, s.means, s.sh, f, g);
    (r * g.to(at::kDouble)).sum().backward();
    expect_close(vm, x[0].grad(), "sh v_means deg " + std::to_string(degree));
    expect_close(vsh, x[4].grad(), "v_sh deg " + std::to_string(degree));
  }
}

// Bitwise-equal gradients across runs and thread counts (tiles are handed out dynamically, so
// the thread that runs a tile changes from run to run).
TEST(Raster, BackwardIsDeterministic) {
  const Scene s = make_scene(3000, 160, 120, 3, 3, 31);
  std::vector<std::vector<Tensor>> grads;
  for (int run = 0; run < 3; ++run) {
    set_cpu_threads(run == 0 ? 1 : 2);
    auto x = leaves(s, at::kFloat);
    RenderOutput o = render_with(x, s, false);
    loss_of(o, 9).backward();
    std::vector<Tensor> g;
    for (auto& t : x) g.push_back(t.grad());
    g.push_back(o.means2d.grad());
    grads.push_back(g);
  }
  set_cpu_threads(0);
  for (int run = 1; run < 3; ++run)
    for (size_t i = 0; i < grads[0].size(); ++i)
      EXPECT_TRUE(at::equal(grads[0][i], grads[run][i])) << "gradient " << i << ", run " << run;
}

TEST(Raster, EmptySceneRendersBackground) {
  Scene s = make_scene(10, 37, 21, 1, 1, 41);
  for (int n : {0, 10}) {
    auto x = leaves(s, at::kFloat);
    if (n == 0) {
      for (auto& t : x) t = t.detach().slice(0, 0, 0).requires_grad_(true);
    } else {
      x[0] = (x[0].detach() * 0 - 5.f).requires_grad_(true);  // all behind the camera... or culled
    }
    RenderOutput o = render_with(x, s, false);
    EXPECT_EQ(o.rgb.sizes(), (at::IntArrayRef{21, 37, 3}));
    EXPECT_EQ(o.radii.gt(0).sum().item<int64_t>(), 0);
    const Tensor bg = at::tensor({0.2f, 0.5f, 0.9f});
    EXPECT_TRUE(at::allclose(o.rgb, bg.expand({21, 37, 3}), 0, 0));
    EXPECT_EQ(o.alpha.abs().max().item<float>(), 0.f);
    EXPECT_EQ(o.depth.abs().max().item<float>(), 0.f);
    o.rgb.sum().backward();
    EXPECT_EQ(x[0].grad().abs().sum().item<float>(), 0.f);
  }
}

// Non-contiguous views and [N, 1] opacity logits render the same and get gradients of their shape.
TEST(Raster, AcceptsViewsAndColumnOpacity) {
  const Scene s = make_scene(200, 40, 30, 2, 2, 61);
  auto x = leaves(s, at::kFloat);
  const RenderOutput a = render(x[0], x[1], x[2], x[3], x[4], s.camera, s.settings);
  const Tensor means_t = s.means.t().contiguous().requires_grad_(true);  // [3, N]; .t() is a view
  const Tensor opac_col = s.opacity_logits.detach().view({-1, 1}).requires_grad_(true);
  const RenderOutput b = render(means_t.t(), x[1], x[2], opac_col, x[4], s.camera, s.settings);
  EXPECT_TRUE(at::equal(a.rgb, b.rgb));
  loss_of(b, 3).backward();
  ASSERT_TRUE(means_t.grad().defined() && opac_col.grad().defined());
  EXPECT_EQ(means_t.grad().sizes(), means_t.sizes());
  EXPECT_EQ(opac_col.grad().sizes(), opac_col.sizes());
  loss_of(a, 3).backward();
  EXPECT_TRUE(at::equal(means_t.grad().t(), x[0].grad()));
  EXPECT_TRUE(at::equal(opac_col.grad().view(-1), x[3].grad()));
}

TEST(Raster, RejectsBadInput) {
  Scene s = make_scene(10, 20, 20, 1, 1, 51);
  EXPECT_THROW(render(s.means.to(at::kDouble), s.log_scales, s.quats, s.opacity_logits, s.sh, s.camera, s.settings),
               c10::Error);
  RenderSettings bad = s.settings;
  bad.sh_degree = 2;  // coefficients only have degree 1
  EXPECT_THROW(render(s.means, s.log_scales, s.quats, s.opacity_logits, s.sh, s.camera, bad), c10::Error);
  bad = s.settings;
  bad.near_plane = 0.f;
  EXPECT_THROW(render(s.means, s.log_scales, s.quats, s.opacity_logits, s.sh, s.camera, bad), c10::Error);
  EXPECT_THROW(render(s.means, s.log_scales, s.quats.slice(0, 0, 5), s.opacity_logits, s.sh, s.camera, s.settings),
               c10::Error);
}

}  // namespace
}  // namespace camgraph::splat
