// sfm family without COLMAP's work: progress parsing, the process runner (output, exit codes,
// cancellation), the error for a missing COLMAP, and splat.train initialising from the sparse
// points a views wire carries (as sfm.colmap's does).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/values.h"
#include "node_runner.h"
#include "sfm/colmap_runner.h"
#include "test_support.h"

#include <ATen/ATen.h>

using namespace camgraph;
using namespace camgraph::sfm;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

TEST(ColmapProgress, ParsesTheLinesColmapPrints) {
  auto p = parse_colmap_progress("Processed file [3/12]");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ColmapProgress::kFile);
  EXPECT_EQ(p->index, 3);
  EXPECT_EQ(p->total, 12);
  p = parse_colmap_progress("Matching block [2/3, 4/5] in 19.417s");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ColmapProgress::kBlock);
  EXPECT_EQ(p->index, 1 * 5 + 4);
  EXPECT_EQ(p->total, 15);
  p = parse_colmap_progress("Matching image [7/40] in 0.5s");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ColmapProgress::kImage);
  p = parse_colmap_progress("Registering image #5 (6)");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ColmapProgress::kRegister);
  EXPECT_EQ(p->index, 6);
  p = parse_colmap_progress("Undistorting image [1/8]");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ColmapProgress::kUndistort);
  EXPECT_FALSE(parse_colmap_progress("  => Image sees 132 / 814 points"));
}

TEST(Process, StreamsLinesAndReturnsTheExitCode) {
  const fs::path sh = find_executable("sh");
  ASSERT_FALSE(sh.empty());
  std::vector<std::string> lines;
  const ProcessResult r = run_process({sh.string(), "-c", "echo one; echo two >&2; printf 'three'; exit 3"},
                                      [&](const std::string& l) { lines.push_back(l); }, {});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.cancelled);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "one");
  EXPECT_EQ(lines[2], "three");
  EXPECT_EQ(r.tail.size(), 3u);
}

TEST(Process, CancelStopsTheProcessGroup) {
  const fs::path sh = find_executable("sh");
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  // A child of the shell too: the whole group must go.
  const ProcessResult r = run_process({sh.string(), "-c", "sleep 60 & sleep 60; wait"}, {},
                                      [&] { return elapsed() > 0.3; });
  EXPECT_TRUE(r.cancelled);
  EXPECT_LT(elapsed(), 10.0);
}

TEST(Process, FindExecutableListsWhereItLooked) {
  std::vector<fs::path> tried;
  EXPECT_TRUE(find_executable("/nonexistent/colmap", &tried).empty());
  ASSERT_EQ(tried.size(), 1u);
  tried.clear();
  EXPECT_TRUE(find_executable("camgraph-no-such-tool", &tried).empty());
  EXPECT_FALSE(tried.empty());
}

TEST(Node, MissingColmapIsAClearError) {
  const fs::path dir = temp_dir("sfm-missing");
  fs::create_directories(dir / "photos");
  for (const char* n : {"a.jpg", "b.jpg", "c.jpg"}) std::ofstream(dir / "photos" / n) << "x";
  const json doc = {{"format", "camgraph"},
                    {"version", 1},
                    {"graph",
                     {{"nodes",
                       {{{"id", "sfm"},
                         {"type", "sfm.colmap"},
                         {"params", {{"images", "photos"}, {"colmap_binary", "/nonexistent/colmap"}}}}}},
                      {"links", json::array()}}}};
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = dir / "out";
  opt.graph_dir = dir;
  const RunResult r = ev.run(load_cgraph_text(doc.dump(), builtin_registry()).graph, opt);
  ASSERT_FALSE(r.ok);
  const std::string e = r.nodes.at("sfm").error;
  EXPECT_NE(e.find("colmap_binary"), std::string::npos) << e;
  EXPECT_NE(e.find("apt install colmap"), std::string::npos) << e;
  EXPECT_NE(e.find("/nonexistent/colmap"), std::string::npos) << e;
}

TEST(Node, TooFewPhotosIsAClearError) {
  const fs::path dir = temp_dir("sfm-few");
  fs::create_directories(dir / "photos");
  std::ofstream(dir / "photos" / "a.jpg") << "x";
  const json doc = {{"format", "camgraph"},
                    {"version", 1},
                    {"graph",
                     {{"nodes", {{{"id", "sfm"}, {"type", "sfm.colmap"}, {"params", {{"images", "photos"}}}}}},
                      {"links", json::array()}}}};
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = dir / "out";
  opt.graph_dir = dir;
  const RunResult r = ev.run(load_cgraph_text(doc.dump(), builtin_registry()).graph, opt);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.nodes.at("sfm").error.find("holds 1 photos"), std::string::npos) << r.nodes.at("sfm").error;
}

TEST(Wire, SplatTrainInitialisesFromTheSparsePointsOnTheViews) {
  const fs::path dir = temp_dir("sfm-wire-points");
  const Registry& reg = builtin_registry();
  auto views_out = camgraph::testing::run_node(reg, "scene.procedural",
                                               {{"views", 3}, {"width", 32}, {"height", 24}, {"samples", 1}}, {}, dir);
  auto plain = std::dynamic_pointer_cast<const FrameSequenceValue>(views_out.at("views"));
  ASSERT_TRUE(plain);
  // 50 points around the courtyard's centre with colours, as sfm.colmap puts them on the wire.
  auto with_points = std::make_shared<FrameSequenceValue>(*plain);
  with_points->points = at::rand({50, 3}, at::kFloat) * 2 - 1;
  with_points->point_colours = at::rand({50, 3}, at::kFloat);
  const json params = {{"steps", 1}, {"init", "points"}, {"holdout_every", 0}, {"sh_degree", 0}};
  auto out = camgraph::testing::run_node(reg, "splat.train", params, {{"views", with_points}}, dir / "a");
  auto scene = std::dynamic_pointer_cast<const SplatSceneValue>(out.at("scene"));
  ASSERT_EQ(scene->count(), 50);  // one Gaussian per point (no densification in one step)
  // World coordinates back: the means moved at most one Adam step from the points.
  EXPECT_LT((scene->means.to(at::kFloat) - with_points->points).abs().max().item<double>(), 0.05);
  // auto picks them too; random does not.
  auto a = camgraph::testing::run_node(reg, "splat.train", {{"steps", 1}, {"holdout_every", 0}, {"sh_degree", 0}},
                                       {{"views", with_points}}, dir / "b");
  EXPECT_EQ(std::dynamic_pointer_cast<const SplatSceneValue>(a.at("scene"))->count(), 50);
  auto r = camgraph::testing::run_node(
      reg, "splat.train",
      {{"steps", 1}, {"init", "random"}, {"random_points", 77}, {"holdout_every", 0}, {"sh_degree", 0}},
      {{"views", with_points}}, dir / "c");
  EXPECT_EQ(std::dynamic_pointer_cast<const SplatSceneValue>(r.at("scene"))->count(), 77);
  // init = points without points on the wire: a clear error.
  const std::string e = camgraph::testing::error_of([&] {
    camgraph::testing::run_node(reg, "splat.train", params, {{"views", plain}}, dir / "d");
  });
  EXPECT_NE(e.find("carry no sparse points"), std::string::npos) << e;
  // Colours that do not match the points: refused naming the port, before any training.
  auto bad = std::make_shared<FrameSequenceValue>(*with_points);
  bad->point_colours = at::rand({49, 3}, at::kFloat);
  const std::string mismatch = camgraph::testing::error_of([&] {
    camgraph::testing::run_node(reg, "splat.train", params, {{"views", bad}}, dir / "e");
  });
  EXPECT_NE(mismatch.find("'views'"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("do not match the points"), std::string::npos) << mismatch;
}
