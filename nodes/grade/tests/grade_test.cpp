// grade family: .cube parsing and interpolation against the colour-science fixtures (analytic LUTs,
// ffmpeg's documented outputs, the ffmpeg CLI's lut3d on a random image), corrections, motion blur.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "camgraph/node_context.h"
#include "camgraph/values.h"
#include "grade/grade.h"
#include "node_runner.h"
#include "test_support.h"

namespace camgraph {
void register_grade_nodes(Registry& r);
}

using namespace camgraph;
using namespace camgraph::grade;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path luts() {
  const fs::path s = camgraph::testing::shared_dir();
  return s.empty() ? fs::path() : s / "data" / "luts" / "colour_science";
}

#define REQUIRE_LUTS() \
  if (luts().empty() || !fs::exists(luts())) GTEST_SKIP() << "../shared/data/luts not found (set CAMGRAPH_SHARED)"

std::array<float, 3> apply1(const CubeLut& lut, std::array<float, 3> v) {
  lut.apply(v.data(), 1);
  return v;
}

std::map<std::string, Value> run_node(const std::string& type, const json& params, std::map<std::string, Value> inputs,
                                      const fs::path& out) {
  static Registry reg = [] {
    Registry r;
    register_grade_nodes(r);
    return r;
  }();
  return camgraph::testing::run_node(reg, type, params, std::move(inputs), out);
}

}  // namespace

TEST(CubeLut, EveryFixtureParses) {
  REQUIRE_LUTS();
  int files = 0;
  for (const char* dir : {"iridas_cube", "resolve_cube"})
    for (const auto& e : fs::directory_iterator(luts() / dir)) {
      const CubeLut lut = CubeLut::load(e.path());
      EXPECT_TRUE(lut.size1d > 0 || lut.size3d > 0) << e.path();
      EXPECT_EQ(lut.table1d.size(), size_t(3 * lut.size1d)) << e.path();
      EXPECT_EQ(lut.table3d.size(), size_t(3 * lut.size3d * lut.size3d * lut.size3d)) << e.path();
      ++files;
    }
  EXPECT_EQ(files, 16);
  const CubeLut shaper = CubeLut::load(luts() / "resolve_cube" / "Three_Dimensional_Table_With_Shaper.cube");
  EXPECT_EQ(shaper.size1d, 10);
  EXPECT_EQ(shaper.size3d, 3);
  EXPECT_DOUBLE_EQ(shaper.min1d[0], -0.1);
  EXPECT_DOUBLE_EQ(shaper.max3d[2], 3.0);
  EXPECT_EQ(shaper.title, "LUT3D with My Shaper");
}

TEST(CubeLut, AnalyticTablesAreExactUnderTetrahedralInterpolation) {
  REQUIRE_LUTS();
  at::manual_seed(2);
  const at::Tensor x = at::rand({200, 3});
  for (const char* dir : {"iridas_cube", "resolve_cube"}) {
    const CubeLut scale = CubeLut::load(luts() / dir / "RGB_1_0.5_0.25.cube");
    const CubeLut unit = CubeLut::load(luts() / dir / "Unit.cube");
    for (int i = 0; i < 200; ++i) {
      const std::array<float, 3> v{x[i][0].item<float>(), x[i][1].item<float>(), x[i][2].item<float>()};
      const auto s = apply1(scale, v), u = apply1(unit, v);
      EXPECT_NEAR(s[0], v[0], 1e-5);
      EXPECT_NEAR(s[1], 0.5 * v[1], 1e-5);
      EXPECT_NEAR(s[2], 0.25 * v[2], 1e-5);
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(u[size_t(c)], v[size_t(c)], 1e-5);
    }
  }
}

TEST(CubeLut, MatchesFfmpegDocumentedOutputs) {
  REQUIRE_LUTS();
  // ../shared/data/luts/SOURCES.md: ffmpeg lut3d (trilinear) on RGB (200, 100, 50). ffmpeg's 8-bit
  // output truncates (av_clip_uint8 of v * 255), so the expected level is floor(ours * 255) up to
  // float noise: expected <= ours * 255 < expected + 1 (+ 1e-3).
  const std::array<float, 3> in{200 / 255.f, 100 / 255.f, 50 / 255.f};
  const std::vector<std::pair<std::string, std::array<int, 3>>> expect = {
      {"Colour_Correct.cube", {206, 92, 48}},
      {"Three_Dimensional_Table.cube", {200, 87, 50}},
      {"RGB_1_0.5_0.25.cube", {200, 50, 12}},
      {"Unit.cube", {200, 99, 49}}};
  for (const auto& [file, rgb] : expect) {
    CubeLut lut = CubeLut::load(luts() / "iridas_cube" / file);
    lut.trilinear = true;
    const auto out = apply1(lut, in);
    for (int c = 0; c < 3; ++c) {
      EXPECT_GE(out[size_t(c)] * 255.0 + 1e-3, rgb[size_t(c)]) << file << " channel " << c;
      EXPECT_LT(out[size_t(c)] * 255.0, rgb[size_t(c)] + 1.001) << file << " channel " << c;
    }
  }
  // Tetrahedral differs from trilinear inside a cell of a non-linear table (Colour_Correct).
  const CubeLut cc = CubeLut::load(luts() / "iridas_cube" / "Colour_Correct.cube");
  EXPECT_GT(std::abs(tetrahedral(cc, in)[0] - trilinear(cc, in)[0]) * 255, 0.5);
}

TEST(CubeLut, DomainMinAndMaxPlaceTheGrid) {
  REQUIRE_LUTS();
  // eotf_sRGB_3D: the sRGB EOTF sampled on an 8^3 grid over DOMAIN_MIN (-0.1, -0.15, -0.2) .. DOMAIN_MAX
  // (1.5, 2, 3): at grid points the LUT returns the EOTF itself (7 printed decimals).
  const CubeLut lut = CubeLut::load(luts() / "iridas_cube" / "eotf_sRGB_3D.cube");
  ASSERT_EQ(lut.size3d, 8);
  auto eotf = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
  for (int i : {0, 2, 5, 7}) {
    std::array<float, 3> x;
    for (int c = 0; c < 3; ++c)
      x[size_t(c)] = float(lut.min3d[size_t(c)] + i * (lut.max3d[size_t(c)] - lut.min3d[size_t(c)]) / 7);
    const auto out = apply1(lut, {x[0], x[1], x[2]});
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(out[size_t(c)], eotf(x[size_t(c)]), 2e-5 * std::max(1.0, eotf(x[size_t(c)]))) << i << " " << c;
  }
}

TEST(CubeLut, MatchesFfmpegLut3dTetrahedralOnARandomImage) {
  REQUIRE_LUTS();
  if (std::system("ffmpeg -version > /dev/null 2>&1") != 0) GTEST_SKIP() << "ffmpeg not installed";
  const fs::path dir = temp_dir("grade_ffmpeg");
  at::manual_seed(5);
  const at::Tensor img = at::randint(0, 256, {32, 48, 3}, at::kByte);
  {
    std::ofstream o(dir / "in.rgb", std::ios::binary);
    o.write(reinterpret_cast<const char*>(img.data_ptr<uint8_t>()), std::streamsize(img.numel()));
  }
  // (Not eotf_sRGB_3D: ffmpeg 5.1 applies only the scale of DOMAIN_MIN/MAX, not the offset; see
  // DomainMinAndMaxPlaceTheGrid for that file against the analytic EOTF. Nor the analytic tables: their
  // exact results are integers that ffmpeg's float noise truncates to one level below.)
  for (const char* name : {"Colour_Correct.cube", "Three_Dimensional_Table.cube"}) {
    const fs::path cube = luts() / "iridas_cube" / name;
    const std::string cmd = "ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -s 48x32 -i '" + (dir / "in.rgb").string() +
                            "' -vf \"lut3d=file='" + cube.string() +
                            "':interp=tetrahedral\" -f rawvideo -pix_fmt rgb24 '" + (dir / "out.rgb").string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    at::Tensor ref = at::empty({32, 48, 3}, at::kByte);
    std::ifstream i(dir / "out.rgb", std::ios::binary);
    i.read(reinterpret_cast<char*>(ref.data_ptr<uint8_t>()), std::streamsize(ref.numel()));
    ASSERT_EQ(i.gcount(), ref.numel());
    at::Tensor ours = img.to(at::kFloat).div(255).contiguous();
    CubeLut::load(cube).apply(ours.data_ptr<float>(), size_t(32 * 48));
    // ffmpeg's 8-bit output truncates v * 255; float noise may move a value across an integer.
    const at::Tensor diff = (ours.clamp(0, 1).mul(255).add(1e-4).floor() - ref.to(at::kFloat)).abs();
    EXPECT_LE(diff.max().item<float>(), 1.0f) << name;
    EXPECT_LT(diff.mean().item<float>(), 0.02f) << name;
  }
}

TEST(CubeLut, OneDimensionalDomainsAndInputRanges) {
  REQUIRE_LUTS();
  const CubeLut iridas = CubeLut::load(luts() / "iridas_cube" / "Demo.cube");  // DOMAIN_MAX 1 2 3
  auto a = apply1(iridas, {0.5f, 1.0f, 1.5f});
  EXPECT_NEAR(a[0], 0.5, 1e-6);
  EXPECT_NEAR(a[1], 1.0, 1e-6);
  EXPECT_NEAR(a[2], 1.5, 1e-6);
  a = apply1(iridas, {0.25f, 0.5f, 0.75f});
  EXPECT_NEAR(a[0], 0.25, 1e-6);
  EXPECT_NEAR(a[1], 0.5, 1e-6);
  EXPECT_NEAR(a[2], 0.75, 1e-6);
  a = apply1(iridas, {5.0f, -1.0f, 3.0f});  // clamped to the domain
  EXPECT_NEAR(a[0], 1.0, 1e-6);
  EXPECT_NEAR(a[1], 0.0, 1e-6);
  EXPECT_NEAR(a[2], 1.0, 1e-6);
  const CubeLut resolve = CubeLut::load(luts() / "resolve_cube" / "Demo.cube");  // INPUT_RANGE 0 3, identity
  a = apply1(resolve, {1.0f, 2.25f, 0.1f});
  EXPECT_NEAR(a[0], 1.0, 1e-6);
  EXPECT_NEAR(a[1], 2.25, 1e-6);
  EXPECT_NEAR(a[2], 0.1, 1e-6);
}

TEST(CubeLut, ShaperFeedsThe3DTable) {
  CubeLut lut = CubeLut::parse(
      "LUT_1D_SIZE 2\nLUT_1D_INPUT_RANGE 0 2\nLUT_3D_SIZE 2\nLUT_3D_INPUT_RANGE 0 1\n"
      "0 0 0\n1 1 1\n"                                              // shaper: x -> x / 2
      "0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n");  // 3D identity
  const auto v = apply1(lut, {1.0f, 0.5f, 2.0f});
  EXPECT_NEAR(v[0], 0.5, 1e-6);
  EXPECT_NEAR(v[1], 0.25, 1e-6);
  EXPECT_NEAR(v[2], 1.0, 1e-6);
}

TEST(CubeLut, MalformedFilesNameTheLine) {
  auto err = [](const std::string& text) {
    try {
      CubeLut::parse(text);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(err("LUT_3D_SIZE 2\n0 0 0\n").find("1 table rows, expected 8"), std::string::npos);
  EXPECT_NE(err("LUT_3D_SIZE 2\nFOO 1\n").find("line 2: unknown keyword 'FOO'"), std::string::npos);
  EXPECT_NE(err("LUT_1D_SIZE 2\n0 0\n1 1 1\n").find("line 2"), std::string::npos);
  EXPECT_NE(err("0 0 0\n").find("no LUT_1D_SIZE"), std::string::npos);
  EXPECT_NE(err("LUT_3D_SIZE 2\nDOMAIN_MIN 1 1 1\nDOMAIN_MAX 0 1 1\n").find("maximum must exceed"), std::string::npos);
}

TEST(Grade, CorrectionsDoWhatTheySay) {
  at::manual_seed(4);
  const at::Tensor f = at::rand({2, 8, 8, 3});
  EXPECT_TRUE(at::equal(grade_frames(f, GradeParams{}, nullptr), f));
  GradeParams p;
  p.saturation = 0;
  at::Tensor g = grade_frames(f, p, nullptr);
  EXPECT_LT((g.select(-1, 0) - g.select(-1, 1)).abs().max().item<float>(), 1e-6);
  const at::Tensor y = f.select(-1, 0) * 0.2126f + f.select(-1, 1) * 0.7152f + f.select(-1, 2) * 0.0722f;
  EXPECT_LT((g.select(-1, 2) - y).abs().max().item<float>(), 1e-5);
  p = GradeParams{};
  p.contrast = 2;
  p.brightness = 0.05;
  const at::Tensor grey = at::full({1, 1, 3, 3}, 0.5f);
  grey[0][0][1].fill_(0.7f);
  grey[0][0][2].fill_(0.1f);
  g = grade_frames(grey, p, nullptr);
  EXPECT_NEAR(g[0][0][0][0].item<float>(), 0.6, 1e-6);  // (0.55 - 0.5) * 2 + 0.5
  EXPECT_NEAR(g[0][0][1][0].item<float>(), 1.0, 1e-6);  // (0.75 - 0.5) * 2 + 0.5
  EXPECT_NEAR(g[0][0][2][1].item<float>(), 0.0, 1e-6);  // clamped
  p = GradeParams{};
  p.temperature = 0.6;
  p.tint = 0.2;
  g = grade_frames(at::full({1, 1, 1, 3}, 0.4f), p, nullptr);
  const float r = g[0][0][0][0].item<float>(), gg = g[0][0][0][1].item<float>(), b = g[0][0][0][2].item<float>();
  EXPECT_GT(r, 0.4f);
  EXPECT_LT(b, 0.4f);
  // Luminance in linear light is kept.
  auto lin = [](float v) { return v <= 0.04045f ? v / 12.92f : std::pow((v + 0.055f) / 1.055f, 2.4f); };
  EXPECT_NEAR(0.2126 * lin(r) + 0.7152 * lin(gg) + 0.0722 * lin(b), lin(0.4f), 1e-5);
}

TEST(Grade, NodeAppliesTheLutToEveryFrameAndKeepsAlphaCamerasDepth) {
  REQUIRE_LUTS();
  const fs::path dir = temp_dir("grade_node");
  auto seq = std::make_shared<FrameSequenceValue>();
  at::manual_seed(9);
  const at::Tensor one = at::rand({1, 6, 5, 4});
  seq->frames = at::cat({one, one, one}, 0);
  seq->depth = at::rand({3, 6, 5});
  seq->cameras.resize(3);
  seq->cameras[1].fx = 7;
  auto out = std::static_pointer_cast<const FrameSequenceValue>(
      run_node("grade.colour",
               {{"lut", (luts() / "iridas_cube" / "RGB_1_0.5_0.25.cube").string()}, {"saturation", 1.0}},
               {{"frames", seq}}, dir)
          .at("frames"));
  EXPECT_TRUE(at::equal(out->frames[0], out->frames[2]));
  EXPECT_TRUE(at::allclose(out->frames.select(-1, 1), seq->frames.select(-1, 1) * 0.5, 1e-5, 1e-5));
  EXPECT_TRUE(at::equal(out->frames.select(-1, 3), seq->frames.select(-1, 3)));
  EXPECT_TRUE(at::equal(out->depth, seq->depth));
  EXPECT_EQ(out->cameras[1].fx, 7);
  EXPECT_THROW(run_node("grade.colour", {{"lut", (dir / "missing.cube").string()}}, {{"frames", seq}}, dir),
               std::exception);
}

TEST(MotionBlur, SubframesAverageTheOpenShutter) {
  const fs::path dir = temp_dir("grade_blur");
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = at::arange(8, at::kFloat).view({8, 1, 1, 1}).expand({8, 2, 2, 3}).contiguous() / 10.0f;
  seq->depth = at::arange(8, at::kFloat).view({8, 1, 1}).expand({8, 2, 2}).contiguous();
  seq->cameras.resize(8);
  for (int i = 0; i < 8; ++i) seq->cameras[size_t(i)].fx = i;
  seq->fps = 96;
  auto out = std::static_pointer_cast<const FrameSequenceValue>(
      run_node("grade.motion_blur", {{"subframes", 4}, {"shutter_angle", 180.0}}, {{"frames", seq}}, dir).at("frames"));
  ASSERT_EQ(out->count(), 2);
  EXPECT_NEAR(out->frames[0][0][0][0].item<float>(), 0.05, 1e-6);  // mean of 0, 0.1
  EXPECT_NEAR(out->frames[1][1][1][2].item<float>(), 0.45, 1e-6);  // mean of 0.4, 0.5
  EXPECT_EQ(out->cameras.size(), 2u);
  EXPECT_EQ(out->cameras[1].fx, 4);
  EXPECT_EQ(out->depth[1][0][0].item<float>(), 4);
  EXPECT_DOUBLE_EQ(out->fps, 24);
  out = std::static_pointer_cast<const FrameSequenceValue>(
      run_node("grade.motion_blur", {{"subframes", 4}, {"shutter_angle", 360.0}}, {{"frames", seq}}, dir).at("frames"));
  EXPECT_NEAR(out->frames[0][0][0][0].item<float>(), 0.15, 1e-6);
  EXPECT_THROW(run_node("grade.motion_blur", {{"subframes", 3}}, {{"frames", seq}}, dir), std::exception);
}

TEST(MotionBlur, FlowSmearsAMovingBarAndLeavesAStillImage) {
  // A textured bar moving 6 px per frame to the right over a dark textured background.
  const int n = 4, h = 48, w = 96;
  at::manual_seed(1);
  const at::Tensor bg = (at::rand({h, w + 40}) * 0.2f);
  at::Tensor frames = at::empty({n, h, w, 3});
  for (int t = 0; t < n; ++t) {
    at::Tensor img = bg.slice(1, 0, w).clone();
    img.slice(1, 30 + 6 * t, 38 + 6 * t).fill_(0.9f);
    frames[t].copy_(img.unsqueeze(-1).expand({h, w, 3}));
  }
  const at::Tensor blurred = blur_from_flow(frames, 180, 9);
  // Along the middle row of frame 1, the bar's edges are ramps now: more pixels strictly between
  // the background and the bar level than before.
  auto mid_count = [](const at::Tensor& row) { return ((row > 0.3f) & (row < 0.8f)).sum().item<int64_t>(); };
  const at::Tensor before = frames[1][24].select(-1, 0), after = blurred[1][24].select(-1, 0);
  EXPECT_EQ(mid_count(before), 0);
  EXPECT_GE(mid_count(after), 3);
  // The bar's energy stays (blur moves it, it does not remove it).
  EXPECT_NEAR(after.sum().item<float>(), before.sum().item<float>(), 0.1 * before.sum().item<float>());
  // A still clip: zero flow, unchanged frames; shutter 0: unchanged.
  const at::Tensor still = frames[0].unsqueeze(0).expand({3, h, w, 3}).contiguous();
  EXPECT_LT((blur_from_flow(still, 180, 9) - still).abs().max().item<float>(), 1e-4);
  EXPECT_LT((blur_from_flow(frames, 0, 9) - frames).abs().max().item<float>(), 1e-6);
}
