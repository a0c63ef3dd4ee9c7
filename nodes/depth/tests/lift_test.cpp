// depth family: lifting a view to Gaussians (fidelity, orientation, no rubber sheets, splits), the
// displacement limit and inpainting of disocclusions.
#include "depth_test_support.h"
#include "depth/lift.h"

using namespace camgraph;
using namespace camgraph::depth;
using namespace camgraph::depth::tests;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

// ---- lifting ------------------------------------------------------------------------------------

TEST(Lift, TrueDepthReRendersTheSourceViewAndItsDepth) {
  const Courtyard c = courtyard();
  LiftStats st;
  splat::GaussianSet g = lift(c.r.rgb, c.r.depth, c.cam, {}, {}, &st);
  EXPECT_EQ(st.gaussians, (c.r.depth > 0).sum().item<int64_t>());
  const RenderedView v = render_view(g, c.cam);
  // Overlapping footprints (and the renderer's low-pass dilation) blur the textures: the lift alone
  // is a soft copy; a short refinement on the source view sharpens it.
  const double lifted = psnr(v.rgb, c.r.rgb);
  EXPECT_GT(lifted, 16.0);
  EXPECT_GT(v.alpha.mean().item<double>(), 0.97);
  const at::Tensor rel = ((v.depth / v.alpha.clamp_min(1e-6) - c.r.depth).abs() / c.r.depth);
  EXPECT_LT(rel.median().item<double>(), 0.02);
  refine(g, {{c.cam, c.r.rgb, {}}}, 40, 3.0);
  EXPECT_GT(psnr(render_view(g, c.cam).rgb, c.r.rgb), lifted + 1.5);
}

TEST(Lift, BlocksSplitAtDiscontinuities) {
  const Courtyard c = courtyard();
  LiftOptions o;
  o.block = 4;
  LiftStats st;
  const splat::GaussianSet g = lift(c.r.rgb, c.r.depth, c.cam, o, {}, &st);
  EXPECT_GT(st.split_blocks, 0);
  EXPECT_GT(st.block_gaussians, 0);
  EXPECT_GT(st.pixel_gaussians, 0);
  EXPECT_LT(st.gaussians, 96 * 72 / 2);
  EXPECT_GT(psnr(render_view(g, c.cam).rgb, c.r.rgb), 15.0);
}

TEST(Lift, GaussiansLieFlatOnATiltedPlane) {
  // A plane through (0, 0, 3) with normal n (camera space): z = 3 / (n . d) per ray d.
  const int W = 40, H = 30;
  const Camera cam = Camera::from_fov(W, H, 60, mat4_identity());
  const double n[3] = {0.3, -0.4, -0.866};
  const double nn = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
  at::Tensor depth = at::empty({H, W}, at::kFloat);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double d[3] = {(x + 0.5 - cam.cx) / cam.fx, (y + 0.5 - cam.cy) / cam.fy, 1};
      depth[y][x] = float((3 * n[2]) / (n[0] * d[0] + n[1] * d[1] + n[2] * d[2]));
    }
  ASSERT_GT(depth.min().item<double>(), 0);
  const splat::GaussianSet g = lift(at::full({H, W, 3}, 0.5), depth, cam, {});
  ASSERT_EQ(g.size(), W * H);
  // The axis of the smallest scale is the plane normal.
  const at::Tensor q = g.quats.to(at::kDouble);
  const at::Tensor w = q.select(1, 0), x = q.select(1, 1), y = q.select(1, 2), z = q.select(1, 3);
  const at::Tensor cols[3] = {at::stack({1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)}, 1),
                              at::stack({2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)}, 1),
                              at::stack({2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)}, 1)};
  const at::Tensor smallest = g.log_scales.argmin(1);
  const at::Tensor nt = at::tensor({n[0] / nn, n[1] / nn, n[2] / nn}, at::kDouble);
  for (int64_t i = 0; i < g.size(); i += 37) {
    const at::Tensor axis = cols[smallest[i].item<int64_t>()][i];
    EXPECT_GT(std::abs((axis * nt).sum().item<double>()), 0.99) << "gaussian " << i;
  }
  // Thin across, footprint-sized along the surface.
  const at::Tensor s = std::get<0>(g.log_scales.exp().sort(1));
  EXPECT_LT((s.select(1, 0) / s.select(1, 1)).max().item<double>(), 0.2);
}

TEST(Lift, NoRubberSheetBetweenForegroundAndBackground) {
  // A square at 2 m (columns 22-41, rows 14-33) in front of a wall at 6 m. Moving the camera 0.4 m
  // right shifts the square's right edge left by fx 0.4 / 2 and the wall beside it by fx 0.4 / 6:
  // the wall strip in between was hidden in the source view and must stay a hole (a rubber sheet
  // would cover it).
  const int W = 64, H = 48;
  const Camera cam = Camera::from_fov(W, H, 60, mat4_identity());
  at::Tensor depth = at::full({H, W}, 6.0f);
  depth.slice(0, 14, 34).slice(1, 22, 42).fill_(2.0f);
  const splat::GaussianSet g = lift(at::full({H, W, 3}, 0.5), depth, cam, {});
  const RenderedView v = render_view(g, moved_camera(cam, "right", 0.4));
  const int fg_edge = int(std::ceil(42 - cam.fx * 0.4 / 2)), bg_edge = int(std::floor(42 - cam.fx * 0.4 / 6));
  ASSERT_GE(bg_edge - fg_edge, 3);
  const at::Tensor gap = v.alpha.slice(0, 16, 32).slice(1, fg_edge + 1, bg_edge - 1);
  EXPECT_GT((gap < 0.5).to(at::kDouble).mean().item<double>(), 0.9);
  // Everything else that was visible stays covered.
  EXPECT_GT(v.alpha.slice(0, 16, 32).slice(1, 0, 10).min().item<double>(), 0.9);
}

TEST(Lift, DisplacementLimitBracketsTheHoleThreshold) {
  const Courtyard c = courtyard(80, 60);
  const splat::GaussianSet g = lift(c.r.rgb, c.r.depth, c.cam, {});
  const double med = c.r.depth.masked_select(c.r.depth > 0).median().item<double>();
  const DisplacementLimit lim = displacement_limit(g, c.cam, med, 0.02, 2.0);
  ASSERT_GT(lim.limit, 0);
  EXPECT_LT(lim.limit, 2.0);
  const double base = hole_fraction(g, c.cam);
  for (const auto& dir : move_directions()) {
    const double d = lim.per_direction[dir];
    EXPECT_LE(hole_fraction(g, moved_camera(c.cam, dir, d)) - base, 0.02 + 1e-9) << dir;
    if (d < 2.0) {
      EXPECT_GT(hole_fraction(g, moved_camera(c.cam, dir, d * 1.1)) - base, 0.02) << dir;
    }
  }
}

TEST(Lift, InpaintingFillsDisocclusionsWithBackgroundDepth) {
  at::Tensor rgb = at::full({20, 30, 3}, 0.25), depth = at::full({20, 30}, 5.0f);
  depth.slice(1, 0, 10).fill_(2.0f);  // foreground on the left
  at::Tensor holes = at::zeros({20, 30}, at::kBool);
  holes.slice(1, 10, 14).fill_(true);  // a disocclusion beside it
  depth.masked_fill_(holes, 0);
  inpaint_view(rgb, depth, holes, 4);
  EXPECT_GT(depth.masked_select(holes).min().item<double>(), 4.0);
  EXPECT_NEAR(rgb.mean().item<double>(), 0.25, 0.01);
}
