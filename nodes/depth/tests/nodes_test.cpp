// depth family: the nodes in graphs (layout prior, lift, path check, hole filling, the tiny
// networks with the ground fit) and the example graph.
#include "depth_test_support.h"
#include "depth/layout.h"
#include "depth/lift.h"
#include "depth/model.h"

using namespace camgraph;
using namespace camgraph::depth;
using namespace camgraph::depth::tests;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

// ---- nodes --------------------------------------------------------------------------------------

TEST(Nodes, LayoutPriorLiftAndPathCheck) {
  const fs::path dir = temp_dir("depth-nodes");
  const json nodes = {
      {{"id", "img"}, {"type", "image.pattern"}, {"params", {{"width", 64}, {"height", 48}, {"pattern", "noise"}}}},
      {{"id", "est"}, {"type", "depth.estimate"}, {"params", {{"camera_height", 1.5}, {"horizon", 0.4}}}},
      {{"id", "lift"}, {"type", "depth.lift"}, {"params", json::object()}},
      {{"id", "path"},
       {"type", "camera.path"},
       {"params",
        {{"start", "training_camera"},
         {"motion", "truck"},
         {"intensity", 1.0},
         {"frames", 9},
         {"width", 64},
         {"height", 48}}}},
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
  const json nodes = {{{"id", "views"},
                       {"type", "scene.procedural"},
                       {"params", {{"views", 2}, {"width", 48}, {"height", 36}, {"samples", 1}}}},
                      {{"id", "lift"}, {"type", "depth.lift"}, {"params", json::object()}},
                      {{"id", "path"},
                       {"type", "camera.path"},
                       {"params",
                        {{"start", "training_camera"},
                         {"motion", "truck"},
                         {"intensity", 1.0},
                         {"frames", 5},
                         {"width", 48},
                         {"height", 36}}}},
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
        {{"id", "views"},
         {"type", "scene.procedural"},
         {"params", {{"views", 2}, {"width", 64}, {"height", 48}, {"samples", 1}}}},
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
  const json nodes = {{{"id", "views"},
                       {"type", "scene.procedural"},
                       {"params", {{"views", 2}, {"width", 64}, {"height", 48}, {"samples", 1}}}},
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
      {{"id", "est"},
       {"type", "depth.estimate"},
       {"params",
        {{"model_path", (kGolden / "midas_tiny.onnx").string()},
         {"model_kind", "midas_v21_small"},
         {"scale_mode", "manual"},
         {"scale", 0.5},
         {"shift", 0.1}}}}};
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
      {{"id", "est"},
       {"type", "depth.estimate"},
       {"params",
        {{"model_path", kTinyDa.string()},
         {"model_kind", "depth_anything_v2_metric_indoor"},
         {"vit_heads", 2},
         {"input_size", 42},
         {"scale_mode", "none"}}}}};
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

TEST(Examples, DepthLiftGraphRunsWithoutWeights) {
  const fs::path dir = temp_dir("depth-example");
  const Graph graph =
      load_cgraph_text(camgraph::read_file(kSource / "examples-graphs/depth-lift.cgraph"), builtin_registry()).graph;
  Evaluator ev(builtin_registry());
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
