// qc family: metrics on images whose scores are known in closed form; the reprojection check on an
// analytically rendered textured plane; dataset.qc thresholds; dataset.annotate with a qc record.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "camgraph/node_context.h"
#include "camgraph/values.h"
#include "qc/qc.h"
#include "node_runner.h"
#include "test_support.h"

namespace camgraph {
void register_qc_nodes(Registry& r);
#ifdef CAMGRAPH_QC_TEST_DATASET
void register_dataset_nodes(Registry& r);
#endif
}  // namespace camgraph

using namespace camgraph;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const Registry& registry() {
  static Registry r = [] {
    Registry x;
    register_qc_nodes(x);
#ifdef CAMGRAPH_QC_TEST_DATASET
    register_dataset_nodes(x);
#endif
    return x;
  }();
  return r;
}

std::map<std::string, Value> run_node(const std::string& type, const json& params, std::map<std::string, Value> inputs,
                                      const fs::path& out) {
  return camgraph::testing::run_node(registry(), type, params, std::move(inputs), out);
}

json qc_of(const std::map<std::string, Value>& out) {
  return std::static_pointer_cast<const RecordValue>(out.at("qc"))->record;
}

// Smooth texture on the world plane Z = 5.
double texture(double x, double y) { return 0.5 + 0.25 * std::sin(3.0 * x) + 0.2 * std::cos(2.0 * y); }

// Camera i at (0.04 i, 0.01 i, 0) looking down +Z (identity rotation) over the plane Z = 5, rendered
// exactly: pixel centre (u + 0.5, v + 0.5) -> ray -> plane point -> texture. Depth 5 everywhere.
std::shared_ptr<FrameSequenceValue> plane_shot(int n, int w, int h) {
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = at::empty({n, h, w, 3}, at::kFloat);
  seq->depth = at::full({n, h, w}, 5.0f);
  auto f = seq->frames.accessor<float, 4>();
  for (int i = 0; i < n; ++i) {
    Camera c;
    c.width = w;
    c.height = h;
    c.fx = c.fy = 40;
    c.cx = w / 2.0;
    c.cy = h / 2.0;
    const double px = 0.04 * i, py = 0.01 * i;
    c.world_to_camera = mat4_identity();
    c.world_to_camera[3] = -px;
    c.world_to_camera[7] = -py;
    seq->cameras.push_back(c);
    for (int v = 0; v < h; ++v)
      for (int u = 0; u < w; ++u) {
        const double x = px + (u + 0.5 - c.cx) / c.fx * 5.0, y = py + (v + 0.5 - c.cy) / c.fy * 5.0;
        const double t = texture(x, y);
        f[i][v][u][0] = float(t);
        f[i][v][u][1] = float(0.8 * t + 0.1);
        f[i][v][u][2] = float(1.0 - t);
      }
  }
  seq->fps = 24;
  return seq;
}

}  // namespace

TEST(QcMetrics, LaplacianVarianceOfAlternatingColumns) {
  // Columns alternate black/white: luma 0/255, Laplacian +-510 on every interior pixel.
  at::Tensor img = (at::arange(10) % 2).to(at::kFloat).view({1, 1, 10, 1}).expand({2, 8, 10, 3}).contiguous();
  img[1].fill_(0.5);
  const auto s = qc::laplacian_variance(img);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_NEAR(s[0], 510.0 * 510.0, 1e-6 * 510 * 510);
  EXPECT_NEAR(s[1], 0.0, 1e-9);
}

TEST(QcMetrics, SharpnessRatioFindsTheBlurredFrame) {
  at::manual_seed(3);
  at::Tensor f = at::rand({5, 32, 32, 3});
  // Frame 2: a 3x3 box blur of itself.
  at::Tensor x = f[2].permute({2, 0, 1}).unsqueeze(1);
  at::Tensor blurred = at::conv2d(x, at::full({1, 1, 3, 3}, 1.0f / 9), {}, 1, 1).squeeze(1).permute({1, 2, 0});
  f[2].copy_(blurred);
  const auto s = qc::laplacian_variance(f);
  const auto r = qc::sharpness_ratios(s);
  EXPECT_LT(r[2], 0.3);
  for (int i : {0, 1, 3, 4}) EXPECT_GT(r[size_t(i)], 0.8) << i;
  EXPECT_NEAR(r[2], s[2] / (0.5 * (s[1] + s[3])), 1e-12);
}

TEST(QcMetrics, VBenchFlickerOfAlternatingGreys) {
  // 0.5 / 0.6 grey alternating: |diff| = 25.5 of 255 -> score 0.9.
  at::Tensor f = at::full({6, 4, 4, 3}, 0.5f);
  for (int i = 1; i < 6; i += 2) f[i].fill_(0.6f);
  EXPECT_NEAR(qc::vbench_temporal_flicker(f), 0.9, 1e-6);
  EXPECT_NEAR(qc::vbench_temporal_flicker(at::full({3, 4, 4, 3}, 0.3f)), 1.0, 1e-12);
}

TEST(QcMetrics, PsnrAndSsimClosedForms) {
  const at::Tensor a = at::full({32, 32, 3}, 0.5f), b = at::full({32, 32, 3}, 0.6f);
  EXPECT_NEAR(qc::psnr(a, b), 20.0, 1e-4);  // MSE 0.01
  EXPECT_TRUE(std::isinf(qc::psnr(a, a)));
  // Flat images: SSIM = luminance term only.
  const double c1 = 1e-4;
  EXPECT_NEAR(qc::ssim(a, b), (2 * 0.5 * 0.6 + c1) / (0.25 + 0.36 + c1), 1e-5);
  at::manual_seed(1);
  const at::Tensor r = at::rand({40, 40, 3});
  EXPECT_NEAR(qc::ssim(r, r), 1.0, 1e-9);
  const double noisy = qc::ssim(r, (r + 0.2 * at::randn({40, 40, 3})).clamp(0, 1));
  EXPECT_LT(noisy, 0.9);
  EXPECT_GT(noisy, 0.0);
}

TEST(QcMetrics, ReprojectionOfAnExactRenderIsSmallAndWrongPosesAreLarge) {
  auto seq = plane_shot(4, 48, 36);
  const auto good = qc::reprojection_flicker(seq->frames, seq->depth, seq->cameras, 0.02);
  for (int t = 1; t < 4; ++t) {
    EXPECT_LT(good.error[size_t(t)], 1.0) << t;  // bilinear resampling of a smooth texture only
    // The camera moves 0.04 * 40 / 5 = 0.32 px right per frame: every pixel centre stays in view.
    EXPECT_GT(good.valid[size_t(t)], 0.95) << t;
  }
  // Cameras that claim the shot is static: frame t-1 is not moved, the error is the motion.
  std::vector<Camera> still(4, seq->cameras[0]);
  auto fast = plane_shot(4, 48, 36);
  for (auto& c : fast->cameras) c.world_to_camera[3] *= 10;  // wrong: 10x the real motion
  const auto wrong = qc::reprojection_flicker(seq->frames, seq->depth, fast->cameras, 0.02);
  for (int t = 1; t < 4; ++t) {
    EXPECT_GT(wrong.error[size_t(t)], 4.0 * good.error[size_t(t)] + 1.0) << t;
    // 3.2 px per frame: the columns that leave the image are not compared (about 3.2 / 48).
    EXPECT_LT(wrong.valid[size_t(t)], 0.96) << t;
    EXPECT_GT(wrong.valid[size_t(t)], 0.9) << t;
  }
  // Depth that disagrees with t-1's (occluder) removes the pixels.
  at::Tensor d = seq->depth.clone();
  d[0].fill_(2.0f);
  const auto occluded = qc::reprojection_flicker(seq->frames, d, seq->cameras, 0.02);
  EXPECT_EQ(occluded.valid[1], 0.0);
  EXPECT_GT(occluded.valid[2], 0.95);
}

TEST(QcNode, PassesAGoodShotAndNamesEachFailure) {
  const fs::path dir = temp_dir("qc_node");
  auto seq = plane_shot(5, 48, 36);
  json rec = qc_of(run_node("dataset.qc", json::object(), {{"frames", seq}}, dir));
  EXPECT_TRUE(rec["pass"].get<bool>()) << rec.dump();
  ASSERT_TRUE(rec["reprojection"].is_object());
  EXPECT_LT(rec["reprojection"]["max_error"].get<double>(), 1.0);
  EXPECT_GT(rec["temporal_flicker"].get<double>(), 0.9);

  // Wrong cameras -> the reprojection check fails; a strict flicker threshold fails too.
  auto bad = std::make_shared<FrameSequenceValue>(*seq);
  for (auto& c : bad->cameras) c.world_to_camera[3] *= -20;
  rec = qc_of(
      run_node("dataset.qc", {{"reprojection_error_max", 3.0}, {"flicker_min", 0.9999}}, {{"frames", bad}}, dir));
  EXPECT_FALSE(rec["pass"].get<bool>());
  ASSERT_EQ(rec["failures"].size(), 2u) << rec.dump();
  EXPECT_NE(rec["failures"][0].get<std::string>().find("temporal_flicker"), std::string::npos);
  EXPECT_NE(rec["failures"][1].get<std::string>().find("reprojection"), std::string::npos);

  // Ground truth: the same frames pass; a darkened copy as "interpolated" frames fails PSNR.
  auto dark = std::make_shared<FrameSequenceValue>(*seq);
  dark->frames = seq->frames * 0.7f;
  dark->depth = at::Tensor();
  rec = qc_of(run_node("dataset.qc", json::object(), {{"frames", dark}, {"reference", seq}}, dir));
  EXPECT_FALSE(rec["pass"].get<bool>());
  EXPECT_LT(rec["interpolation"]["min_psnr"].get<double>(), 25.0);

  // Subject mask empty in one frame; shot info with a hidden billboard in one frame.
  auto mask = std::make_shared<FrameSequenceValue>();
  mask->frames = at::zeros({5, 36, 48, 1});
  mask->frames.slice(1, 10, 20).slice(2, 10, 20).fill_(1.0f);
  mask->frames[3].zero_();
  auto info = std::make_shared<RecordValue>();
  info->record = {{"billboard_visible_fraction", {{1.0}, {0.9}, {0.0}, {0.5}, {1.0}}}};
  rec = qc_of(run_node("dataset.qc", json::object(), {{"frames", seq}, {"mask", mask}, {"shot_info", info}}, dir));
  EXPECT_EQ(rec["subject"]["frames_without_subject"].get<int>(), 1);
  EXPECT_EQ(rec["subject"]["frames_hidden"].get<int>(), 1);
  EXPECT_EQ(rec["failures"].size(), 2u) << rec.dump();

  // Bad inputs name the port.
  auto short_ref = std::make_shared<FrameSequenceValue>(*seq);
  short_ref->frames = seq->frames.slice(0, 0, 2);
  EXPECT_THROW(run_node("dataset.qc", json::object(), {{"frames", seq}, {"reference", short_ref}}, dir),
               std::exception);
}

#ifdef CAMGRAPH_QC_TEST_DATASET
TEST(QcAnnotate, ScoresInMetadataAndFailedItemsFlaggedOrSkipped) {
  const fs::path dir = temp_dir("qc_annotate");
  auto seq = plane_shot(3, 48, 36);
  auto good = std::make_shared<RecordValue>();
  good->record = qc_of(run_node("dataset.qc", json::object(), {{"frames", seq}}, dir));
  auto failing = std::make_shared<RecordValue>();
  failing->record = qc_of(run_node("dataset.qc", {{"flicker_min", 0.99999}}, {{"frames", seq}}, dir));
  ASSERT_TRUE(good->record["pass"].get<bool>());
  ASSERT_FALSE(failing->record["pass"].get<bool>());

  auto read_lines = [&]() {
    std::vector<json> lines;
    std::ifstream in(dir / "ds" / "metadata.jsonl");
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) lines.push_back(json::parse(l));
    return lines;
  };
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "a"}}, {{"frames", seq}, {"qc", good}}, dir);
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "b"}}, {{"frames", seq}, {"qc", failing}}, dir);
  auto lines = read_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0]["qc_pass"].get<bool>());
  EXPECT_FALSE(lines[1]["qc_pass"].get<bool>());
  EXPECT_NEAR(lines[0]["qc"]["temporal_flicker"].get<double>(), good->record["temporal_flicker"].get<double>(), 1e-12);
  EXPECT_FALSE(lines[0]["qc"]["sharpness"].contains("per_frame"));

  // skip: the failing item's line goes away and nothing new is written for a new failing item.
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "b"}, {"qc_failed", "skip"}},
           {{"frames", seq}, {"qc", failing}}, dir);
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "c"}, {"qc_failed", "skip"}},
           {{"frames", seq}, {"qc", failing}}, dir);
  lines = read_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["id"], "a");
  EXPECT_FALSE(fs::exists(dir / "ds" / "poses" / "c.txt"));

  auto no_pass = std::make_shared<RecordValue>();
  no_pass->record = {{"score", 1}};
  EXPECT_THROW(
      run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "d"}}, {{"frames", seq}, {"qc", no_pass}}, dir),
      std::exception);
}
#endif
