// depth family: Depth Anything V2 through libtorch against the transformers-checked golden of a
// tiny random model, the published variants, input sizing and refused checkpoints.
#include "depth_test_support.h"
#include "camgraph/formats/torch_checkpoint.h"
#include "depth/depth_anything.h"
#include "depth/model.h"

using namespace camgraph;
using namespace camgraph::depth;
using namespace camgraph::depth::tests;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

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
  EXPECT_NE(ew.find("'pretrained.blocks.1.attn.qkv.weight' has shape [96, 31], expected [96, 32]"), std::string::npos)
      << ew;
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
  const std::string eg = error_of(
      [&] { DepthModel(kGolden / "da_v2_foreign_global.pth", model_kind("depth_anything_v2_relative"), 0, false, 2); });
  EXPECT_NE(eg.find("argparse.Namespace"), std::string::npos) << eg;
  EXPECT_NE(eg.find("da_v2_foreign_global.pth"), std::string::npos) << eg;
  // Truncated: the file is named.
  {
    std::ifstream in(kTinyDa, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "depth_anything_v2_vits.pth", std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);
  }
  const std::string et = error_of(
      [&] { DepthModel(dir / "depth_anything_v2_vits.pth", model_kind("depth_anything_v2_relative"), 0, false, 2); });
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
