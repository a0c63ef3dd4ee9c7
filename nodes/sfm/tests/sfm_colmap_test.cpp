// sfm.colmap with the real COLMAP on a real capture: 12 fox photos downscaled to 270x480 must
// register, with camera centres that match the capture's reference model up to a similarity; a
// second run reuses the workspace; the sparse points ride on the views wire and splat.train starts
// from them; unrelated noise images are refused as too few registered.
// Skips (saying why) when colmap or the shared data is absent.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/values.h"
#include "node_runner.h"
#include "sfm/colmap_runner.h"
#include "splat/io/colmap.h"
#include "test_support.h"

using namespace camgraph;
using camgraph::testing::shared_dir;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct SfmRun {
  RunResult result;
  std::map<std::string, Value> outputs;
  int progress_events = 0;
};

SfmRun run_sfm(const fs::path& dir, const json& params) {
  const json doc = {
      {"format", "camgraph"},
      {"version", 1},
      {"graph", {{"nodes", {{{"id", "sfm"}, {"type", "sfm.colmap"}, {"params", params}}}}, {"links", json::array()}}}};
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = dir / "out";
  opt.graph_dir = dir;
  SfmRun r;
  opt.on_event = [&](const Event& e) {
    if (e.kind == EventKind::Progress) ++r.progress_events;
  };
  r.result = ev.run(load_cgraph_text(doc.dump(), builtin_registry()).graph, opt);
  if (r.result.ok) r.outputs = ev.outputs("sfm");
  return r;
}

// Residual of the best similarity transform a -> b (Umeyama), relative to b's spread.
double similarity_residual(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ma = a.mean(0), mb = b.mean(0), A = a - ma, B = b - mb;
  auto [U, S, Vh] = at::linalg_svd(B.t().matmul(A) / a.size(0), false);
  at::Tensor D = at::eye(3, at::kDouble);
  if ((at::linalg_det(U) * at::linalg_det(Vh)).item<double>() < 0) D[2][2] = -1;
  const at::Tensor R = U.matmul(D).matmul(Vh);
  const double var_a = A.pow(2).sum(1).mean().item<double>();
  const double s = (S * D.diagonal()).sum().item<double>() / var_a;
  const at::Tensor fit = s * A.matmul(R.t()) + mb;
  return (fit - b).norm(2, 1).mean().item<double>() / B.norm(2, 1).mean().item<double>();
}

}  // namespace

TEST(ColmapFox, RegistersTheDownscaledCaptureAndMatchesTheReferencePoses) {
  if (sfm::find_executable("colmap").empty()) GTEST_SKIP() << "colmap is not installed (apt install colmap)";
  const fs::path fox = shared_dir() / "data/fox";
  if (!fs::exists(fox / "images")) GTEST_SKIP() << "shared data not found (set CAMGRAPH_SHARED)";
  const fs::path dir = temp_dir("sfm-fox");
  fs::create_directories(dir / "photos");
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(fox / "images")) all.push_back(e.path());
  std::sort(all.begin(), all.end());
  ASSERT_GE(all.size(), 24u);
  std::vector<std::string> names;
  for (size_t i = 0; i < 24; i += 2) {  // 12 photos, every other one of the first 24
    cv::Mat img = cv::imread(all[i].string());
    cv::Mat small;
    cv::resize(img, small, cv::Size(270, 480), 0, 0, cv::INTER_AREA);
    cv::imwrite((dir / "photos" / all[i].filename()).string(), small, {cv::IMWRITE_JPEG_QUALITY, 95});
    names.push_back(all[i].filename().string());
  }
  const json params = {{"images", "photos"}, {"threads", 2}, {"max_image_size", 480}};
  SfmRun r = run_sfm(dir, params);
  ASSERT_TRUE(r.result.ok) << r.result.nodes["sfm"].error;
  EXPECT_GT(r.progress_events, 10);
  const json rec = std::dynamic_pointer_cast<const RecordValue>(r.outputs.at("model"))->record;
  EXPECT_GE(rec["registered"].get<int>(), 10) << rec.dump();
  EXPECT_GT(rec["points"].get<int>(), 500);
  EXPECT_LT(rec["mean_reprojection_error"].get<double>(), 2.0);
  auto views = std::dynamic_pointer_cast<const FrameSequenceValue>(r.outputs.at("views"));
  ASSERT_EQ(views->count(), rec["registered"].get<int>());
  ASSERT_EQ(views->cameras.size(), size_t(views->count()));
  EXPECT_NEAR(views->cameras[0].cx, views->frames.size(2) / 2.0, views->frames.size(2) * 0.1);
  EXPECT_TRUE(fs::exists(fs::path(rec["dataset"].get<std::string>()) / "sparse" / "cameras.bin"));

  // Camera centres against the reference model of the same photos, up to a similarity.
  const splat::ColmapModel ref = splat::read_colmap_model(fox / "colmap/sparse/0");
  const splat::ColmapModel got = splat::read_colmap_model(fs::path(rec["dataset"].get<std::string>()) / "sparse");
  std::vector<double> a, b;
  for (const auto& im : got.images)
    for (const auto& rm : ref.images)
      if (fs::path(rm.name).filename() == fs::path(im.name).filename()) {
        Camera c1, c2;
        c1.world_to_camera = im.world_to_camera();
        c2.world_to_camera = rm.world_to_camera();
        for (double v : c1.position()) a.push_back(v);
        for (double v : c2.position()) b.push_back(v);
      }
  ASSERT_GE(a.size() / 3, 10u);
  const at::Tensor A = at::tensor(a, at::kDouble).view({-1, 3}), B = at::tensor(b, at::kDouble).view({-1, 3});
  EXPECT_LT(similarity_residual(A, B), 0.05);

  // The sparse points ride on the views wire: the model's positions and colours.
  ASSERT_TRUE(views->points.defined());
  ASSERT_EQ(views->points.size(0), int64_t(got.points.size()));
  EXPECT_EQ(rec["points_on_wire"].get<int64_t>(), int64_t(got.points.size()));
  ASSERT_TRUE(views->point_colours.defined());
  for (size_t i = 0; i < got.points.size(); i += 97) {
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(views->points[int64_t(i)][k].item<double>(), got.points[i].xyz[size_t(k)], 1e-4);
      EXPECT_NEAR(views->point_colours[int64_t(i)][k].item<double>(), got.points[i].rgb[size_t(k)] / 255.0, 1e-5);
    }
  }
  // Most points lie in front of the first registered camera (the capture circles the fox).
  const auto& w = views->cameras[0].world_to_camera;
  const at::Tensor P = views->points.to(at::kDouble);
  const at::Tensor z = P.select(1, 0) * w[8] + P.select(1, 1) * w[9] + P.select(1, 2) * w[10] + w[11];
  EXPECT_GT((z > 0).to(at::kDouble).mean().item<double>(), 0.8);
  // splat.train fed from sfm.colmap's views starts from those points.
  const Registry& reg = builtin_registry();
  auto trained = camgraph::testing::run_node(reg, "splat.train",
                                             {{"steps", 1}, {"init", "points"}, {"holdout_every", 0}, {"sh_degree", 0}},
                                             {{"views", views}}, dir / "train");
  auto scene = std::dynamic_pointer_cast<const SplatSceneValue>(trained.at("scene"));
  ASSERT_EQ(scene->count(), views->points.size(0));
  const double spread = (P - P.mean(0)).norm(2, 1).mean().item<double>();
  EXPECT_LT((scene->means.to(at::kDouble) - P).norm(2, 1).max().item<double>(), 0.05 * spread);

  // Unchanged photos and settings: the finished workspace is reused.
  SfmRun again = run_sfm(dir, params);
  ASSERT_TRUE(again.result.ok) << again.result.nodes["sfm"].error;
  const json rec2 = std::dynamic_pointer_cast<const RecordValue>(again.outputs.at("model"))->record;
  EXPECT_EQ(rec2["registered"], rec["registered"]);
  EXPECT_EQ(rec2["points"], rec["points"]);
  auto views2 = std::dynamic_pointer_cast<const FrameSequenceValue>(again.outputs.at("views"));
  ASSERT_TRUE(views2->points.defined());
  EXPECT_TRUE(at::equal(views2->points, views->points));
}

TEST(ColmapFox, UnrelatedImagesRegisterTooFew) {
  if (sfm::find_executable("colmap").empty()) GTEST_SKIP() << "colmap is not installed (apt install colmap)";
  const fs::path dir = temp_dir("sfm-noise");
  fs::create_directories(dir / "photos");
  cv::RNG rng(3);
  for (int i = 0; i < 3; ++i) {
    cv::Mat img(160, 120, CV_8UC3);
    rng.fill(img, cv::RNG::UNIFORM, 0, 255);
    cv::GaussianBlur(img, img, cv::Size(5, 5), 1.5);
    cv::imwrite((dir / "photos" / ("n" + std::to_string(i) + ".png")).string(), img);
  }
  SfmRun r = run_sfm(dir, {{"images", "photos"}, {"threads", 2}});
  ASSERT_FALSE(r.result.ok);
  const std::string e = r.result.nodes["sfm"].error;
  EXPECT_NE(e.find("COLMAP registered"), std::string::npos) << e;
  EXPECT_NE(e.find("of 3 photos"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir / "out" / "sfm.partial"));
}
