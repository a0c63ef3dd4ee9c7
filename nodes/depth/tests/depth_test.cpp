// depth family: the tiny MiDaS / Depth Anything ONNX networks against numpy goldens, model errors,
// the layout prior's geometry, the ground fit, lifting (fidelity, orientation, no rubber sheets,
// splits), the displacement limit, hole filling, the nodes and the example graph.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "camgraph/cgraph_io.h"
#include "camgraph/checkpoint.h"
#include "camgraph/evaluator.h"
#include "camgraph/output_files.h"
#include "camgraph/values.h"
#include "depth/depth_anything.h"
#include "depth/layout.h"
#include "depth/lift.h"
#include "depth/model.h"
#include "depth/sd_fill.h"
#include "sd/tests/tiny_sd.h"
#include "camgraph/safetensors.h"
#include "splat/procedural_scene.h"
#include "test_support.h"

using namespace camgraph;
using namespace camgraph::depth;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kSource = CAMGRAPH_SOURCE_DIR;
const fs::path kGolden = kSource / "nodes/depth/tests/golden";

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// The image of make_tiny_models.py.
cv::Mat pattern(int h, int w) {
  cv::Mat img(h, w, CV_32FC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      img.at<cv::Vec3f>(y, x) = {float(((x * 37 + y * 11) % 64) / 63.0), float(((x * 5 + y * 23) % 50) / 49.0),
                                 float(((x * x + y) % 31) / 30.0)};
  return img;
}

double max_golden_diff(const cv::Mat& out, const json& g) {
  const int step = g["step"];
  double worst = 0;
  const auto& rows = g["values"];
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j)
      worst = std::max(worst, std::abs(out.at<float>(int(i) * step, int(j) * step) - rows[i][j].get<double>()));
  return worst;
}

struct NodeRun {
  RunResult result;
  std::map<std::string, Value> outputs;
  std::vector<std::string> warnings;
};

NodeRun run_graph(const json& nodes, const json& links, const std::string& target, const fs::path& dir) {
  const json doc = {{"format", "camgraph"}, {"version", 1}, {"graph", {{"nodes", nodes}, {"links", links}}}};
  Evaluator ev;
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = dir;
  opt.graph_dir = dir;
  opt.targets = {target};
  NodeRun r;
  opt.on_event = [&](const Event& e) {
    if (e.kind == EventKind::Warning) r.warnings.push_back(e.message);
  };
  r.result = ev.run(load_cgraph_text(doc.dump(), Registry::builtin()).graph, opt);
  if (r.result.ok) r.outputs = ev.outputs(target);
  return r;
}

template <class V>
std::shared_ptr<const V> out(const NodeRun& r, const std::string& port) {
  return std::dynamic_pointer_cast<const V>(r.outputs.at(port));
}

double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (a - b).pow(2).mean().item<double>();
  return 10 * std::log10(1 / std::max(mse, 1e-12));
}

// A courtyard view with exact depth.
struct Courtyard {
  Camera cam;
  splat::ProceduralRender r;
};
Courtyard courtyard(int w = 96, int h = 72) {
  Courtyard c;
  c.cam = splat::courtyard_ring(1, 1, w, h, 60, 2.3, 1.2, 1.2)[0];
  c.r = splat::render_courtyard(c.cam, 2);
  return c;
}

}  // namespace

// ---- networks ---------------------------------------------------------------------------------

TEST(Models, TinyMidasMatchesNumpyGolden) {
  const json g = read_json(kGolden / "golden.json")["midas"];
  DepthModel m(kGolden / "midas_tiny.onnx", model_kind("midas_v21_small"));
  const cv::Mat raw = m.predict_raw(pattern(256, 256));
  ASSERT_EQ(raw.rows, 256);
  ASSERT_EQ(raw.cols, 256);
  EXPECT_LT(max_golden_diff(raw, g), 1e-4);
  // predict() resizes back to the image.
  const cv::Mat full = m.predict(pattern(60, 90));
  EXPECT_EQ(full.size(), cv::Size(90, 60));
}

TEST(Models, TinyDepthAnythingMatchesNumpyGoldenWithImagenetNormalisation) {
  const json g = read_json(kGolden / "golden.json")["depth_anything"];
  DepthModel m(kGolden / "depth_anything_tiny.onnx", model_kind("depth_anything_v2_relative"), 28);
  const cv::Mat raw = m.predict_raw(pattern(28, 42));
  ASSERT_EQ(raw.size(), cv::Size(42, 28));
  EXPECT_LT(max_golden_diff(raw, g), 1e-4);
}

TEST(Models, NetworkSizesFollowThePublishedTransforms) {
  EXPECT_EQ(network_size({1920, 1080}, model_kind("midas_v21_small")), cv::Size(256, 256));
  EXPECT_EQ(network_size({1920, 1080}, model_kind("midas_v21_384")), cv::Size(384, 384));
  // Depth Anything: short side 518, long side 518 * 1920 / 1080 = 920.9 -> nearest multiple of 14 = 924.
  const cv::Size s = network_size({1920, 1080}, model_kind("depth_anything_v2_relative"));
  EXPECT_EQ(s, cv::Size(924, 518));
  EXPECT_EQ(s.width % 14, 0);
  EXPECT_EQ(network_size({300, 600}, model_kind("depth_anything_v2_metric_indoor")), cv::Size(518, 1036));
  EXPECT_EQ(model_kind("depth_anything_v2_metric_outdoor").max_depth, 80);
  EXPECT_FALSE(model_kind("depth_anything_v2_metric_indoor").disparity);
}

TEST(Models, KindFromPublishedFileNames) {
  EXPECT_EQ(kind_from_file_name("/m/model-small.onnx"), "midas_v21_small");
  EXPECT_EQ(kind_from_file_name("model-f6b98070.onnx"), "midas_v21_384");
  EXPECT_EQ(kind_from_file_name("depth_anything_v2_vits.onnx"), "depth_anything_v2_relative");
  EXPECT_EQ(kind_from_file_name("depth_anything_v2_metric_hypersim_vitl.onnx"), "depth_anything_v2_metric_indoor");
  EXPECT_EQ(kind_from_file_name("depth_anything_v2_metric_vkitti_vitb.onnx"), "depth_anything_v2_metric_outdoor");
  EXPECT_EQ(kind_from_file_name("mystery.onnx"), "");
}

TEST(Models, MissingAndCorruptFilesAreReported) {
  const fs::path dir = temp_dir("depth-corrupt");
  EXPECT_NE(error_of([&] { DepthModel(dir / "nope.onnx", model_kind("midas_v21_small")); }).find("does not exist"),
            std::string::npos);
  std::ofstream(dir / "bad.onnx") << "this is not a protobuf at all, just text";
  const std::string e = error_of([&] { DepthModel(dir / "bad.onnx", model_kind("midas_v21_small")); });
  EXPECT_NE(e.find("cannot load bad.onnx"), std::string::npos) << e;
}

// ---- Depth Anything V2 through libtorch (tiny random model of make_depth_anything_goldens.py) ----

namespace {

// The generator's network input: the pattern, ImageNet-normalised, [1, 3, h, w].
at::Tensor da_input(int h, int w) {
  const cv::Mat img = pattern(h, w);
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
  at::Tensor x = at::empty({1, 3, h, w}, at::kFloat);
  auto a = x.accessor<float, 4>();
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int xx = 0; xx < w; ++xx) a[0][c][y][xx] = (img.at<cv::Vec3f>(y, xx)[c] - mean[c]) / stdv[c];
  return x;
}

// Largest |out - golden| over the golden's samples, relative to max(1, the golden's largest value).
double da_golden_diff(const at::Tensor& out, const json& rows, int step) {
  double worst = 0, scale = 1;
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) {
      const double g = rows[i][j].get<double>();
      scale = std::max(scale, std::abs(g));
      worst = std::max(worst, std::abs(out[int64_t(i) * step][int64_t(j) * step].item<double>() - g));
    }
  return worst / scale;
}

const fs::path kTinyDa = kGolden / "da_v2_tiny.pth";

}  // namespace

TEST(DepthAnything, TinyModelMatchesTheTransformersCheckedGolden) {
  const json g = read_json(kGolden / "da_v2_tiny_golden.json");
  DepthAnythingOptions o;
  o.num_heads = g["heads"];
  DepthAnythingV2 rel(kTinyDa, o);
  EXPECT_EQ(rel.hidden(), 32);
  EXPECT_EQ(rel.blocks(), 4);
  EXPECT_EQ(rel.heads(), 2);
  EXPECT_EQ(rel.variant(), "vit-32x4");
  const at::Tensor x = da_input(42, 70);  // 3 x 5 patches: the 4 x 4 position grid is interpolated
  const at::Tensor out = rel.forward(x);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 42, 70}));
  EXPECT_LT(da_golden_diff(out[0], g["relative"], g["step"]), 2e-5);
  o.metric = true;
  o.max_depth = g["max_depth"];
  DepthAnythingV2 met(kTinyDa, o);
  const at::Tensor m = met.forward(x)[0];
  EXPECT_LT(da_golden_diff(m, g["metric"], g["step"]), 2e-5);
  EXPECT_GT(m.min().item<double>(), 0);
  EXPECT_LT(m.max().item<double>(), 20);
  // A wrong head count changes the attention: the golden is not met.
  o.metric = false;
  o.num_heads = 1;
  EXPECT_GT(da_golden_diff(DepthAnythingV2(kTinyDa, o).forward(x)[0], g["relative"], g["step"]), 1e-3);
}

TEST(DepthAnything, PublishedVariantsAndIntermediateLayers) {
  EXPECT_EQ(DepthAnythingV2::intermediate_layers_for(12), (std::vector<int64_t>{2, 5, 8, 11}));
  EXPECT_EQ(DepthAnythingV2::intermediate_layers_for(24), (std::vector<int64_t>{4, 11, 17, 23}));
  EXPECT_EQ(DepthAnythingV2::intermediate_layers_for(40), (std::vector<int64_t>{9, 19, 29, 39}));
  EXPECT_EQ(DepthAnythingV2::intermediate_layers_for(4), (std::vector<int64_t>{0, 1, 2, 3}));
  // The tiny model's width is not a multiple of 64: without a head count it is refused, naming why.
  const std::string e = error_of([] { DepthAnythingV2(kTinyDa, DepthAnythingOptions{}); });
  EXPECT_NE(e.find("attention heads"), std::string::npos) << e;
  // Missing and unexpected tensors are named.
  auto w = camgraph::load_torch_checkpoint(kTinyDa);
  DepthAnythingOptions o;
  o.num_heads = 2;
  auto missing = w;
  missing.erase("depth_head.scratch.refinenet2.out_conv.weight");
  const std::string em = error_of([&] { DepthAnythingV2(missing, o, "cut.pth"); });
  EXPECT_NE(em.find("cut.pth: no tensor 'depth_head.scratch.refinenet2.out_conv.weight'"), std::string::npos) << em;
  auto extra = w;
  extra["depth_head.readout_projects.0.0.weight"] = at::zeros({32, 64});
  const std::string ex = error_of([&] { DepthAnythingV2(extra, o, "x.pth"); });
  EXPECT_NE(ex.find("readout_projects"), std::string::npos) << ex;
  auto wrong = w;
  wrong["pretrained.blocks.1.attn.qkv.weight"] = at::zeros({96, 31});
  const std::string ew = error_of([&] { DepthAnythingV2(wrong, o, "x.pth"); });
  EXPECT_NE(ew.find("'pretrained.blocks.1.attn.qkv.weight' has shape [96, 31], expected [96, 32]"), std::string::npos) << ew;
}

TEST(DepthAnything, DepthModelSizesTheInputAndResizesTheOutput) {
  const json g = read_json(kGolden / "da_v2_tiny_golden.json");
  // input 42 on a 70x42 image: no resize, the golden's input exactly.
  DepthModel m(kTinyDa, model_kind("depth_anything_v2_relative"), 42, false, 2);
  EXPECT_EQ(m.backend(), "libtorch-cpu");
  EXPECT_EQ(m.variant(), "vit-32x4");
  const cv::Mat raw = m.predict_raw(pattern(42, 70));
  ASSERT_EQ(raw.size(), cv::Size(70, 42));
  at::Tensor t = at::from_blob(const_cast<float*>(raw.ptr<float>()), {42, 70}, at::kFloat);
  EXPECT_LT(da_golden_diff(t, g["relative"], g["step"]), 2e-5);
  // Default input: 518 on the short side, the long side to the nearest multiple of 14, aspect kept.
  DepthModel full(kTinyDa, model_kind("depth_anything_v2_metric_outdoor"), 0, false, 2);
  const cv::Mat img = pattern(200, 300);
  const cv::Mat r = full.predict_raw(img);
  EXPECT_EQ(r.rows, 518);
  EXPECT_EQ(r.cols % 14, 0);
  EXPECT_EQ(r.cols, 784);  // 300 x 518 / 200 = 777 -> the nearest multiple of 14
  EXPECT_NEAR(double(r.cols) / r.rows, 1.5, 14.0 / 518);
  const cv::Mat p = full.predict(img);
  ASSERT_EQ(p.size(), cv::Size(300, 200));
  double lo, hi;
  cv::minMaxLoc(p, &lo, &hi);
  EXPECT_GT(lo, 0);  // metric: sigmoid x 80
  EXPECT_LT(hi, 80);
  // Corners of the bilinear (align_corners) resize are the network's corners.
  EXPECT_NEAR(p.at<float>(0, 0), r.at<float>(0, 0), 1e-4);
  EXPECT_NEAR(p.at<float>(199, 299), r.at<float>(517, r.cols - 1), 1e-4);
}

TEST(DepthAnything, BadCheckpointsAreRefusedByName) {
  const fs::path dir = temp_dir("depth-da-bad");
  // A foreign global (argparse.Namespace) in the pickle: the restricted unpickler refuses it by name.
  const std::string eg = error_of([&] {
    DepthModel(kGolden / "da_v2_foreign_global.pth", model_kind("depth_anything_v2_relative"), 0, false, 2);
  });
  EXPECT_NE(eg.find("argparse.Namespace"), std::string::npos) << eg;
  EXPECT_NE(eg.find("da_v2_foreign_global.pth"), std::string::npos) << eg;
  // Truncated: the file is named.
  {
    std::ifstream in(kTinyDa, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "depth_anything_v2_vits.pth", std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);
  }
  const std::string et = error_of([&] {
    DepthModel(dir / "depth_anything_v2_vits.pth", model_kind("depth_anything_v2_relative"), 0, false, 2);
  });
  EXPECT_NE(et.find("depth_anything_v2_vits.pth"), std::string::npos) << et;
  // Missing: where it was looked for and what to download.
  const std::string en = error_of([&] {
    DepthModel(dir / "depth_anything_v2_metric_vkitti_vitl.pth", model_kind("depth_anything_v2_metric_outdoor"));
  });
  EXPECT_NE(en.find((dir / "depth_anything_v2_metric_vkitti_vitl.pth").string()), std::string::npos) << en;
  EXPECT_NE(en.find("huggingface.co/depth-anything/Depth-Anything-V2-Metric-VKITTI-Large"), std::string::npos) << en;
  // MiDaS is not read from a .pth.
  const std::string em = error_of([&] { DepthModel(kTinyDa, model_kind("midas_v21_small")); });
  EXPECT_NE(em.find("ONNX"), std::string::npos) << em;
}

// ---- layout prior and ground fit ----------------------------------------------------------------

TEST(Layout, LevelCameraGroundDepthIsAnalytic) {
  const Intrinsics k{100, 100, 64, 48};
  LayoutParams p;
  p.camera_height = 1.5;
  p.horizon = 0.5;  // row 48 = cy: level camera
  p.backdrop_distance = 40;
  const cv::Mat d = layout_depth({128, 96}, k, p);
  for (int y : {60, 70, 95}) EXPECT_NEAR(d.at<float>(y, 10), 1.5 * 100 / (y + 0.5 - 48), 1e-3);
  EXPECT_NEAR(d.at<float>(10, 10), 40, 1e-3);  // above the horizon: the backdrop
  // Far ground rows just below the horizon are hidden by the backdrop.
  EXPECT_NEAR(d.at<float>(48, 10), 40, 1e-3);
}

TEST(Layout, PitchedCameraGroundPointsLieOnTheGround) {
  const Intrinsics k{120, 120, 80, 60};
  LayoutParams p;
  p.camera_height = 2.0;
  p.horizon = 0.25;  // above the centre: looking down
  const cv::Size size(160, 120);
  const double pitch = pitch_from_horizon(k, p.horizon * size.height);
  EXPECT_GT(pitch, 0);
  const Camera cam = layout_camera(size.width, size.height, k, p.camera_height, pitch);
  const cv::Mat d = layout_depth(size, k, p), ground = layout_ground_mask(size, k, p);
  const Mat4 c2w = cam.camera_to_world();
  int checked = 0;
  for (int y = 0; y < size.height; y += 7)
    for (int x = 0; x < size.width; x += 11) {
      if (!ground.at<uchar>(y, x)) continue;
      const double z = d.at<float>(y, x), X = (x + 0.5 - k.cx) / k.fx * z, Y = (y + 0.5 - k.cy) / k.fy * z;
      const double wz = c2w[8] * X + c2w[9] * Y + c2w[10] * z + c2w[11];
      EXPECT_NEAR(wz, 0, 1e-3 * z);
      ++checked;
    }
  EXPECT_GT(checked, 50);
  EXPECT_EQ(ground.at<uchar>(10, 80), 0);  // above the horizon
}

TEST(Layout, GroundFitRecoversScaleAndShiftDespiteOutliers) {
  const Intrinsics k{100, 100, 64, 48};
  LayoutParams p;
  const cv::Size size(128, 96);
  const cv::Mat d = layout_depth(size, k, p), mask = layout_ground_mask(size, k, p);
  const double a = 0.37, b = 0.021;  // disparity = a r + b  ->  r = (1/z - b) / a
  cv::Mat raw(size, CV_32F);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) raw.at<float>(y, x) = float((1.0 / d.at<float>(y, x) - b) / a);
  for (int y = 80; y < 96; y += 3)  // an object on the ground: much nearer than the plane
    for (int x = 10; x < 30; ++x) raw.at<float>(y, x) *= 3;
  const ScaleShift s = fit_to_ground(raw, true, d, mask);
  EXPECT_NEAR(s.scale, a, 1e-3 * a);
  EXPECT_NEAR(s.shift, b, 1e-3);
  const cv::Mat z = apply_scale_shift(raw, true, s.scale, s.shift);
  EXPECT_NEAR(z.at<float>(90, 100), d.at<float>(90, 100), 1e-2);
  // A prediction that grows with distance is not a disparity: refused.
  EXPECT_NE(error_of([&] { fit_to_ground(-raw, true, d, mask); }).find("non-positive scale"), std::string::npos);
}

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

// ---- nodes --------------------------------------------------------------------------------------

TEST(Nodes, LayoutPriorLiftAndPathCheck) {
  const fs::path dir = temp_dir("depth-nodes");
  const json nodes = {
      {{"id", "img"}, {"type", "image.pattern"}, {"params", {{"width", 64}, {"height", 48}, {"pattern", "noise"}}}},
      {{"id", "est"}, {"type", "depth.estimate"}, {"params", {{"camera_height", 1.5}, {"horizon", 0.4}}}},
      {{"id", "lift"}, {"type", "depth.lift"}, {"params", json::object()}},
      {{"id", "path"}, {"type", "camera.path"},
       {"params", {{"start", "training_camera"}, {"motion", "truck"}, {"intensity", 1.0}, {"frames", 9},
                   {"width", 64}, {"height", 48}}}},
      {{"id", "check"}, {"type", "depth.check_path"}, {"params", json::object()}}};
  const json links = {{{"from", "img.image"}, {"to", "est.image"}},
                      {{"from", "est.view"}, {"to", "lift.view"}},
                      {{"from", "lift.scene"}, {"to", "path.scene"}},
                      {{"from", "lift.scene"}, {"to", "check.scene"}},
                      {{"from", "path.path"}, {"to", "check.path"}}};
  NodeRun r = run_graph(nodes, links, "check", dir);
  ASSERT_TRUE(r.result.ok) << r.result.nodes["check"].error << r.result.nodes["lift"].error
                           << r.result.nodes["est"].error << r.result.nodes["path"].error;
  const json rec = out<RecordValue>(r, "record")->record;
  EXPECT_EQ(rec["ratios"].size(), 9u);
  EXPECT_NEAR(rec["ratios"][0].get<double>(), 0, 1e-6);  // first frame at the source camera
  EXPECT_GT(rec["max_ratio"].get<double>(), 0);
  if (!rec["ok"].get<bool>()) {
    EXPECT_FALSE(r.warnings.empty());
  }

  NodeRun l = run_graph(nodes, links, "lift", dir);
  auto scene = out<SplatSceneValue>(l, "scene");
  EXPECT_EQ(scene->count(), 64 * 48);
  EXPECT_GT(scene->info["lift"]["max_displacement"].get<double>(), 0);
  EXPECT_GT(scene->info["lift"]["source_psnr"].get<double>(), 20);
  // The ground of the layout prior lands at world z = 0.
  const at::Tensor zs = scene->means.select(1, 2);
  EXPECT_NEAR(zs.slice(0, 64 * 47).abs().max().item<double>(), 0, 0.05);
}

TEST(Nodes, CheckPathFailsWhenAsked) {
  const fs::path dir = temp_dir("depth-check-fail");
  const json nodes = {
      {{"id", "views"}, {"type", "scene.procedural"}, {"params", {{"views", 2}, {"width", 48}, {"height", 36}, {"samples", 1}}}},
      {{"id", "lift"}, {"type", "depth.lift"}, {"params", json::object()}},
      {{"id", "path"}, {"type", "camera.path"},
       {"params", {{"start", "training_camera"}, {"motion", "truck"}, {"intensity", 1.0}, {"frames", 5},
                   {"width", 48}, {"height", 36}}}},
      {{"id", "check"}, {"type", "depth.check_path"}, {"params", {{"on_exceed", "fail"}}}}};
  const json links = {{{"from", "views.views"}, {"to", "lift.view"}},
                      {{"from", "lift.scene"}, {"to", "path.scene"}},
                      {{"from", "lift.scene"}, {"to", "check.scene"}},
                      {{"from", "path.path"}, {"to", "check.path"}}};
  NodeRun r = run_graph(nodes, links, "check", dir);
  ASSERT_FALSE(r.result.ok);
  EXPECT_NE(r.result.nodes["check"].error.find("past the lift's hole limit"), std::string::npos)
      << r.result.nodes["check"].error;
}

TEST(Nodes, HoleFillingReducesHolesBeyondTheLimit) {
  const fs::path dir = temp_dir("depth-fill");
  auto run = [&](int fill) {
    const json nodes = {
        {{"id", "views"}, {"type", "scene.procedural"}, {"params", {{"views", 2}, {"width", 64}, {"height", 48}, {"samples", 1}}}},
        {{"id", "lift"}, {"type", "depth.lift"}, {"params", {{"fill_views", fill}, {"refine_steps", fill ? 10 : 0}}}}};
    NodeRun r = run_graph(nodes, {{{"from", "views.views"}, {"to", "lift.view"}}}, "lift", dir);
    EXPECT_TRUE(r.result.ok) << r.result.nodes["lift"].error;
    return r;
  };
  NodeRun plain = run(0), filled = run(4);
  auto sp = out<SplatSceneValue>(plain, "scene"), sf = out<SplatSceneValue>(filled, "scene");
  EXPECT_GT(sf->count(), sp->count());
  const Camera src = Camera::from_json(sp->info["lift"]["source_camera"]);
  const double d = sp->info["lift"]["per_direction"]["right"].get<double>() * 1.5;
  auto gs = [](const SplatSceneValue& s) {
    splat::GaussianSet g{s.means, s.log_scales, s.quats, s.opacity_logits, s.sh};
    return g;
  };
  const Camera moved = moved_camera(src, "right", d);
  EXPECT_LT(hole_fraction(gs(*sf), moved), hole_fraction(gs(*sp), moved));
  EXPECT_GT(out<RecordValue>(filled, "record")->record["fill_views"].size(), 0u);

  // Pixels without depth (the courtyard's sky) are dropped, or placed on a far backdrop.
  const json nodes = {
      {{"id", "views"}, {"type", "scene.procedural"}, {"params", {{"views", 2}, {"width", 64}, {"height", 48}, {"samples", 1}}}},
      {{"id", "lift"}, {"type", "depth.lift"}, {"params", {{"empty_depth", 50.0}}}}};
  NodeRun sky = run_graph(nodes, {{{"from", "views.views"}, {"to", "lift.view"}}}, "lift", dir);
  ASSERT_TRUE(sky.result.ok) << sky.result.nodes["lift"].error;
  auto ss = out<SplatSceneValue>(sky, "scene");
  EXPECT_EQ(ss->count(), 64 * 48);
  EXPECT_LT(sp->count(), 64 * 48);
  EXPECT_LT(hole_fraction(gs(*ss), src), hole_fraction(gs(*sp), src));
}

TEST(Nodes, TinyMidasThroughTheNodeWithGroundFit) {
  const fs::path dir = temp_dir("depth-midas-node");
  const json nodes = {
      {{"id", "img"}, {"type", "image.pattern"}, {"params", {{"width", 80}, {"height", 60}, {"pattern", "noise"}}}},
      {{"id", "est"}, {"type", "depth.estimate"},
       {"params", {{"model_path", (kGolden / "midas_tiny.onnx").string()}, {"model_kind", "midas_v21_small"},
                   {"scale_mode", "manual"}, {"scale", 0.5}, {"shift", 0.1}}}}};
  NodeRun r = run_graph(nodes, {{{"from", "img.image"}, {"to", "est.image"}}}, "est", dir);
  ASSERT_TRUE(r.result.ok) << r.result.nodes["est"].error;
  const json rec = out<RecordValue>(r, "record")->record;
  EXPECT_EQ(rec["method"], "model");
  EXPECT_EQ(rec["model_kind"], "midas_v21_small");
  EXPECT_EQ(rec["model_hash"], hash_file_hex(kGolden / "midas_tiny.onnx"));
  auto view = out<FrameSequenceValue>(r, "view");
  ASSERT_TRUE(view->depth.defined());
  EXPECT_EQ(view->depth.sizes(), (std::vector<int64_t>{1, 60, 80}));
  // depth = 1 / (scale r + shift) with r the network's prediction for the same image.
  at::Tensor img = view->frames[0].slice(2, 0, 3).contiguous();
  const cv::Mat rgb(60, 80, CV_32FC3, img.data_ptr<float>());
  const cv::Mat raw = DepthModel(kGolden / "midas_tiny.onnx", model_kind("midas_v21_small")).predict(rgb);
  for (int y = 0; y < 60; y += 7)
    for (int x = 0; x < 80; x += 9)
      EXPECT_NEAR(view->depth[0][y][x].item<double>(), 1 / (0.5 * raw.at<float>(y, x) + 0.1), 1e-3);

  // Missing / .pth / unknown-name files name the parameter.
  auto err = [&](const json& params) {
    const json n = {nodes[0], {{"id", "est"}, {"type", "depth.estimate"}, {"params", params}}};
    NodeRun e = run_graph(n, {{{"from", "img.image"}, {"to", "est.image"}}}, "est", dir);
    EXPECT_FALSE(e.result.ok);
    std::string msg = e.result.nodes["est"].error;
    for (const auto& p : e.result.problems) msg += p.to_string();
    return msg;
  };
  const std::string no_file = err({{"method", "model"}});
  EXPECT_NE(no_file.find("needs a depth network file"), std::string::npos) << no_file;
  const std::string missing = err({{"model_path", (dir / "depth_anything_v2_vitb.pth").string()}});
  EXPECT_NE(missing.find("looked for " + (dir / "depth_anything_v2_vitb.pth").string()), std::string::npos) << missing;
  EXPECT_NE(missing.find("huggingface.co/depth-anything/Depth-Anything-V2-Base"), std::string::npos) << missing;
  std::ofstream(dir / "weights.onnx") << "x";
  EXPECT_NE(err({{"model_path", (dir / "weights.onnx").string()}}).find("model_kind"), std::string::npos);
}

TEST(Nodes, TinyDepthAnythingPthThroughTheNode) {
  const fs::path dir = temp_dir("depth-da-node");
  const json nodes = {
      {{"id", "img"}, {"type", "image.pattern"}, {"params", {{"width", 70}, {"height", 42}, {"pattern", "noise"}}}},
      {{"id", "est"}, {"type", "depth.estimate"},
       {"params", {{"model_path", kTinyDa.string()}, {"model_kind", "depth_anything_v2_metric_indoor"},
                   {"vit_heads", 2}, {"input_size", 42}, {"scale_mode", "none"}}}}};
  NodeRun r = run_graph(nodes, {{{"from", "img.image"}, {"to", "est.image"}}}, "est", dir);
  ASSERT_TRUE(r.result.ok) << r.result.nodes["est"].error;
  const json rec = out<RecordValue>(r, "record")->record;
  EXPECT_EQ(rec["backend"], "libtorch-cpu");
  EXPECT_EQ(rec["variant"], "vit-32x4");
  EXPECT_EQ(rec["output"], "metres");
  auto view = out<FrameSequenceValue>(r, "view");
  ASSERT_EQ(view->depth.sizes(), (std::vector<int64_t>{1, 42, 70}));
  // Metric, scale_mode none: the depth is the network's (sigmoid x 20) for the same image.
  at::Tensor img = view->frames[0].slice(2, 0, 3).contiguous();
  const cv::Mat rgb(42, 70, CV_32FC3, img.data_ptr<float>());
  DepthModel m(kTinyDa, model_kind("depth_anything_v2_metric_indoor"), 42, false, 2);
  const cv::Mat want = m.predict(rgb);
  for (int y = 0; y < 42; y += 5)
    for (int x = 0; x < 70; x += 7) EXPECT_NEAR(view->depth[0][y][x].item<double>(), want.at<float>(y, x), 1e-4);
  EXPECT_GT(view->depth.min().item<double>(), 0);
  EXPECT_LT(view->depth.max().item<double>(), 20);
}

// ---- SD inpainting of fill views (the sd family's tiny test weights, tests/golden/sd) ----------

using camgraph::sd::testing::tiny_sd_folder;  // nodes/sd/tests/tiny_sd.h

TEST(Fill, SdInpaintingRegeneratesOnlyTheHoles) {
  if (!sd_fill_available()) GTEST_SKIP() << "built without the sd family";
  const cv::Mat img = pattern(20, 28);  // not multiples of 8: resized for SD and back
  const at::Tensor rgb = at::from_blob(const_cast<float*>(img.ptr<float>()), {20, 28, 3}, at::kFloat).clone();
  at::Tensor holes = at::zeros({20, 28}, at::kBool);
  holes.slice(0, 6, 14).slice(1, 10, 20).fill_(true);
  SdFillOptions o;
  o.checkpoint = tiny_sd_folder();
  o.prompt = "a brick wall";
  o.steps = 3;
  o.seed = 5;
  const at::Tensor a = sd_inpaint(rgb, holes, o, c10::Device(c10::kCPU));
  ASSERT_EQ(a.sizes(), rgb.sizes());
  // Pixels beyond the feathered band (o.dilate px around the holes) are untouched; the band blends.
  const at::Tensor band = at::max_pool2d(holes.to(at::kFloat).view({1, 1, 20, 28}), {2 * o.dilate + 1, 2 * o.dilate + 1},
                                         {1, 1}, {o.dilate, o.dilate})[0][0] > 0;
  const at::Tensor keep = (~band).unsqueeze(2).expand({20, 28, 3});
  EXPECT_TRUE(at::equal(a.masked_select(keep), rgb.masked_select(keep)));
  const at::Tensor seam = (band & ~holes).unsqueeze(2).expand({20, 28, 3});
  EXPECT_GT((a.masked_select(seam) - rgb.masked_select(seam)).abs().max().item<double>(), 0);
  const at::Tensor in = holes.unsqueeze(2).expand({20, 28, 3});
  EXPECT_GT((a.masked_select(in) - rgb.masked_select(in)).abs().mean().item<double>(), 1e-3);  // holes regenerated
  EXPECT_GE(a.min().item<double>(), 0);
  EXPECT_LE(a.max().item<double>(), 1);
  EXPECT_TRUE(at::equal(sd_inpaint(rgb, holes, o, c10::Device(c10::kCPU)), a));  // seeded
  o.seed = 6;
  EXPECT_FALSE(at::equal(sd_inpaint(rgb, holes, o, c10::Device(c10::kCPU)), a));
}

TEST(Nodes, LiftFillsWithStableDiffusionWhenGivenACheckpoint) {
  const fs::path dir = temp_dir("depth-fill-sd");
  auto run = [&](const json& extra) {
    json params = {{"fill_views", 1}, {"fill_method", "sd"}, {"sd_steps", 2}, {"sd_prompt", "stone wall"}};
    params.update(extra);
    const json nodes = {
        {{"id", "views"}, {"type", "scene.procedural"}, {"params", {{"views", 2}, {"width", 40}, {"height", 30}, {"samples", 1}}}},
        {{"id", "lift"}, {"type", "depth.lift"}, {"params", params}}};
    return run_graph(nodes, {{{"from", "views.views"}, {"to", "lift.view"}}}, "lift", dir);
  };
  NodeRun none = run(json::object());
  ASSERT_FALSE(none.result.ok);
  const NodeResult& nr = none.result.nodes["lift"];
  if (!sd_fill_available()) {
    EXPECT_EQ(nr.error_param, "fill_method") << nr.error;
    GTEST_SKIP() << "built without the sd family";
  }
  EXPECT_EQ(nr.error_param, "sd_checkpoint") << nr.error;
  EXPECT_NE(nr.error.find("needs an SD 1.5 checkpoint"), std::string::npos) << nr.error;
  NodeRun r = run({{"sd_checkpoint", tiny_sd_folder().string()}});
  ASSERT_TRUE(r.result.ok) << r.result.nodes["lift"].error;
  const json rec = out<RecordValue>(r, "record")->record;
  ASSERT_EQ(rec["fill_views"].size(), 1u);
  EXPECT_EQ(rec["fill_views"][0]["method"], "sd");
  EXPECT_GT(rec["fill_views"][0]["hole_fraction"].get<double>(), 0);  // SD had holes to fill
  EXPECT_GT(rec["fill_views"][0]["added"].get<int64_t>(), 0);
}

TEST(Examples, DepthLiftGraphRunsWithoutWeights) {
  const fs::path dir = temp_dir("depth-example");
  const Graph graph = load_cgraph_text(camgraph::read_file(kSource / "examples-graphs/depth-lift.cgraph"),
                                       Registry::builtin()).graph;
  Evaluator ev;
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = dir;
  opt.graph_dir = kSource / "examples-graphs";
  const RunResult r = ev.run(graph, opt);
  std::string errors;
  for (const auto& [id, n] : r.nodes) errors += n.error;
  for (const auto& p : r.problems) errors += p.to_string();
  ASSERT_TRUE(r.ok) << errors;
}
