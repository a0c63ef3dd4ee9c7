// depth family: the tiny MiDaS / Depth Anything ONNX networks against numpy goldens, network input
// sizes, model kinds from file names, missing and corrupt model files.
#include "depth_test_support.h"
#include "depth/model.h"

using namespace camgraph;
using namespace camgraph::depth;
using namespace camgraph::depth::tests;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

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
  // A 1e9 x 1e9 float weight with 4 bytes of data (the fuzz corpus's seed) never reaches OpenCV.
  const fs::path hostile = fs::path(CAMGRAPH_SOURCE_DIR) / "tests/fuzz/corpus/onnx/weight_claims_1e18.onnx";
  const std::string h = error_of([&] { DepthModel(hostile, model_kind("midas_v21_small")); });
  EXPECT_NE(h.find("cannot load weight_claims_1e18.onnx"), std::string::npos) << h;
  EXPECT_NE(h.find("declares 1000000000000000000 elements"), std::string::npos) << h;
}
