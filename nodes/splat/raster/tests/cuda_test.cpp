// The CUDA path against the CPU path on the same scenes (skipped without a CUDA device).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "scene.h"
#include "splat/raster/render.h"

namespace camgraph::splat {
namespace {

using namespace test;

bool skip_without_cuda() {
#ifndef CAMGRAPH_WITH_CUDA
  return true;
#else
  return !torch::cuda::is_available();
#endif
}

TEST(RasterCuda, MatchesCpu) {
  if (skip_without_cuda()) GTEST_SKIP() << "no CUDA device (or a build without CUDA kernels): CUDA tests skipped";
  for (int deg = 0; deg <= 3; ++deg) {
    Scene s = make_scene(300 + 100 * deg, 70 + deg, 45, 3, deg, 60 + deg);
    auto xc = leaves(s, at::kFloat);
    std::vector<Tensor> xg;
    for (auto& t : xc) xg.push_back(t.detach().to(at::kCUDA).requires_grad_(true));
    RenderOutput oc = render(xc[0], xc[1], xc[2], xc[3], xc[4], s.camera, s.settings);
    RenderCamera cam = s.camera;
    cam.viewmat = cam.viewmat.to(at::kCUDA);
    RenderOutput og = render(xg[0], xg[1], xg[2], xg[3], xg[4], cam, s.settings);
    EXPECT_TRUE(og.rgb.is_cuda());
    EXPECT_TRUE(at::equal(oc.radii, og.radii.cpu()));
    expect_close(og.rgb.cpu(), oc.rgb, "rgb");
    expect_close(og.alpha.cpu(), oc.alpha, "alpha");
    expect_close(og.depth.cpu(), oc.depth, "depth");
    loss_of(oc, 5).backward();
    loss_of(og, 5).backward();  // weights drawn on the CPU generator, moved with the outputs' type
    const char* names[] = {"v_means", "v_log_scales", "v_quats", "v_opacity_logits", "v_sh"};
    for (int i = 0; i < 5; ++i) expect_close(xg[i].grad().cpu(), xc[i].grad(), names[i]);
    expect_close(og.means2d.grad().cpu(), oc.means2d.grad(), "v_means2d");
  }
}

TEST(RasterCuda, EmptySceneRendersBackground) {
  if (skip_without_cuda()) GTEST_SKIP() << "no CUDA device (or a build without CUDA kernels): CUDA tests skipped";
  Scene s = make_scene(0, 33, 20, 0, 0, 70);
  s.camera.viewmat = s.camera.viewmat.to(at::kCUDA);
  std::vector<Tensor> x;
  for (auto& t : leaves(s, at::kFloat)) x.push_back(t.detach().to(at::kCUDA));
  RenderOutput o = render(x[0], x[1], x[2], x[3], x[4], s.camera, s.settings);
  const Tensor bg = at::tensor({0.2f, 0.5f, 0.9f});
  EXPECT_TRUE(at::allclose(o.rgb.cpu(), bg.expand({20, 33, 3})));
}

}  // namespace
}  // namespace camgraph::splat
