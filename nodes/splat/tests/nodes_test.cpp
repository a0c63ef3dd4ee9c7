// The splat family as graph nodes: procedural views -> train -> render, PLY through the engine,
// and the errors a user sees.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/values.h"
#include "splat/procedural_scene.h"
#include "test_support.h"

using namespace camgraph;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

const char* kPipeline = R"({"format": "camgraph", "version": 1, "graph": {
  "nodes": [
    {"id": "views", "type": "scene.procedural", "params": {"views": 8, "rings": 2, "width": 48, "height": 36, "samples": 1}},
    {"id": "train", "type": "splat.train", "params": {"steps": 60, "random_points": 3000, "sh_degree": 0,
      "holdout_every": 4, "refine_start": 20, "refine_every": 20, "refine_stop": 50, "background": "#b3cceb"}},
    {"id": "orbit", "type": "camera.orbit", "params": {"frames": 3, "width": 40, "height": 30}},
    {"id": "render", "type": "splat.render", "params": {"alpha": true}},
    {"id": "ply", "type": "splat.save_ply", "params": {"path": "scene.ply"}}
  ],
  "links": [
    {"from": "views.views", "to": "train.views"},
    {"from": "train.scene", "to": "render.scene"},
    {"from": "orbit.path", "to": "render.path"},
    {"from": "train.scene", "to": "ply.scene"}
  ]}})";

}  // namespace

TEST(ProceduralScene, DepthOfTheFloorSeenFromAboveIsTheCameraHeight) {
  const Camera cam = Camera::from_fov(33, 33, 40, Camera::look_at({2.0, 2.0, 1.5}, {2.0, 2.0, 0.0}, {0, 1, 0}));
  const splat::ProceduralRender r = splat::render_courtyard(cam, 1);
  ASSERT_EQ(r.rgb.sizes(), (std::vector<int64_t>{33, 33, 3}));
  EXPECT_NEAR(r.depth[16][16].item<float>(), 1.5f, 1e-4);
  // Off-centre pixels see the flat floor further away along the ray but at the same camera z.
  EXPECT_NEAR(r.depth[2][30].item<float>(), 1.5f, 1e-4);
  EXPECT_GE(r.rgb.min().item<float>(), 0.f);
  EXPECT_LE(r.rgb.max().item<float>(), 1.f);
}

TEST(ProceduralScene, RingCamerasLookAtTheCentre) {
  const auto cams = splat::courtyard_ring(12, 2, 64, 48, 60, 2.3, 0.8, 1.8);
  ASSERT_EQ(cams.size(), 12u);
  for (const auto& c : cams) {
    const Mat4& m = c.world_to_camera;
    // The look-at target (0, 0, 0.45) projects to the principal point.
    const double x = m[2] * 0.45 + m[3], y = m[6] * 0.45 + m[7], z = m[10] * 0.45 + m[11];
    EXPECT_GT(z, 0);
    EXPECT_NEAR(c.fx * x / z + c.cx, c.cx, 1e-9);
    EXPECT_NEAR(c.fy * y / z + c.cy, c.cy, 1e-9);
  }
  EXPECT_NE(cams[0].position()[2], cams[1].position()[2]);  // two rings
}

TEST(SplatNodes, ProceduralViewsTrainAndRenderAlongAPath) {
  GraphDocument doc = load_cgraph_text(kPipeline, builtin_registry());
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = temp_dir("splat-nodes-pipeline");
  opt.targets = {"render", "ply"};  // render feeds no output node: ask for it explicitly
  RunResult r = ev.run(doc.graph, opt);
  ASSERT_EQ(r.nodes.size(), 5u);
  for (const auto& [id, n] : r.nodes) EXPECT_TRUE(n.state == NodeState::Done) << id << ": " << n.error;
  ASSERT_TRUE(r.ok);

  auto frames = std::dynamic_pointer_cast<const FrameSequenceValue>(ev.outputs("render").at("frames"));
  ASSERT_TRUE(frames);
  EXPECT_EQ(frames->frames.sizes(), (std::vector<int64_t>{3, 30, 40, 4}));
  EXPECT_EQ(frames->cameras.size(), 3u);
  EXPECT_EQ(frames->depth.sizes(), (std::vector<int64_t>{3, 30, 40}));
  EXPECT_GT(frames->frames.select(3, 3).mean().item<float>(), 0.5f);  // the set covers most of the view

  auto scene = std::dynamic_pointer_cast<const SplatSceneValue>(ev.outputs("train").at("scene"));
  EXPECT_GT(scene->count(), 0);
  EXPECT_EQ(scene->training_cameras.size(), 8u);
  // Training cameras are returned in world coordinates: the same poses the views were made with.
  auto views = std::dynamic_pointer_cast<const FrameSequenceValue>(ev.outputs("views").at("views"));
  bool matched = false;
  for (const auto& c : scene->training_cameras)
    for (const auto& v : views->cameras) {
      double err = 0;
      for (int i = 0; i < 12; ++i) err = std::max(err, std::abs(c.world_to_camera[i] - v.world_to_camera[i]));
      matched |= err < 1e-9;
    }
  EXPECT_TRUE(matched);

  auto metrics = std::dynamic_pointer_cast<const RecordValue>(ev.outputs("train").at("metrics"))->record;
  EXPECT_EQ(metrics["steps"], 60);
  EXPECT_EQ(metrics["test_views"], 2);
  EXPECT_GT(metrics["test_psnr"].get<double>(), 8.0);  // far above noise, after only 60 steps
  EXPECT_TRUE(fs::exists(opt.out_dir / "scene.ply"));

  // PLY written by the graph loads back through splat.load_ply with identical Gaussians.
  const std::string reload = std::string(R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
    {"id": "load", "type": "splat.load_ply", "params": {"path": ")") +
                             (opt.out_dir / "scene.ply").string() + R"("}}], "links": []}})";
  GraphDocument d2 = load_cgraph_text(reload, builtin_registry());
  Evaluator ev2(builtin_registry());
  opt.targets.clear();
  ASSERT_TRUE(ev2.run(d2.graph, opt).ok);
  auto loaded = std::dynamic_pointer_cast<const SplatSceneValue>(ev2.outputs("load").at("scene"));
  EXPECT_TRUE(at::equal(loaded->means, scene->means.to(at::kCPU)));
  EXPECT_TRUE(at::equal(loaded->sh, scene->sh.to(at::kCPU)));
}

TEST(SplatNodes, TrainerWithoutImagesNamesTheParameter) {
  const std::string text = R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
    {"id": "train", "type": "splat.train", "params": {"steps": 5}}], "links": []}})";
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.out_dir = temp_dir("splat-nodes-no-images");
  RunResult r = ev.run(load_cgraph_text(text, builtin_registry()).graph, opt);
  ASSERT_EQ(r.nodes["train"].state, NodeState::Failed);
  EXPECT_EQ(r.nodes["train"].error_param, "dataset");
  EXPECT_NE(r.nodes["train"].error.find("connect 'views'"), std::string::npos) << r.nodes["train"].error;

  const std::string missing = R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
    {"id": "train", "type": "splat.train", "params": {"dataset": "/no/such/scene"}}], "links": []}})";
  r = ev.run(load_cgraph_text(missing, builtin_registry()).graph, opt);
  ASSERT_EQ(r.nodes["train"].state, NodeState::Failed);
  EXPECT_EQ(r.nodes["train"].error_param, "dataset");
  EXPECT_NE(r.nodes["train"].error.find("/no/such/scene"), std::string::npos) << r.nodes["train"].error;
}

TEST(SplatNodes, CorruptPlyNamesTheFile) {
  const fs::path dir = temp_dir("splat-nodes-corrupt-ply");
  {
    std::ofstream(dir / "bad.ply")
        << "ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\nend_header\nabc";
  }
  const std::string text = std::string(R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
    {"id": "load", "type": "splat.load_ply", "params": {"path": ")") +
                           (dir / "bad.ply").string() + R"("}}], "links": []}})";
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.out_dir = dir;
  RunResult r = ev.run(load_cgraph_text(text, builtin_registry()).graph, opt);
  ASSERT_EQ(r.nodes["load"].state, NodeState::Failed);
  EXPECT_EQ(r.nodes["load"].error_param, "path");
  EXPECT_NE(r.nodes["load"].error.find("bad.ply"), std::string::npos) << r.nodes["load"].error;
}

// splat.train's live previews: snapshots of the scene every preview_every steps, only when the run
// asks for them (the editor); each snapshot is a copy the trainer no longer touches.
TEST(SplatNodes, TrainerSendsScenePreviewsOnlyWhenWanted) {
  const std::string text = R"({"format": "camgraph", "version": 1, "graph": {
    "nodes": [
      {"id": "views", "type": "scene.procedural", "params": {"views": 6, "rings": 1, "width": 32, "height": 24, "samples": 1}},
      {"id": "train", "type": "splat.train", "params": {"steps": 12, "random_points": 500, "sh_degree": 0,
        "holdout_every": 0, "refine_start": 100, "preview_every": 4}}],
    "links": [{"from": "views.views", "to": "train.views"}]}})";
  const Graph graph = load_cgraph_text(text, builtin_registry()).graph;
  struct Seen {
    std::shared_ptr<const SplatSceneValue> scene;
    at::Tensor means_when_sent;
    int step;
    std::string label;
  };
  auto run = [&](bool previews, std::vector<Seen>& seen) {
    Evaluator ev(builtin_registry());
    RunOptions opt;
    opt.device = DeviceKind::Cpu;
    opt.out_dir = temp_dir("splat-nodes-previews");
    opt.previews = previews;
    opt.on_event = [&](const Event& e) {
      if (e.kind != EventKind::Preview) return;
      EXPECT_EQ(e.node, "train");
      auto scene = std::dynamic_pointer_cast<const SplatSceneValue>(e.value);
      ASSERT_TRUE(scene) << "a preview of splat.train is a SplatScene";
      seen.push_back({scene, scene->means.clone(), e.data.value("step", -1), e.message});
    };
    const RunResult r = ev.run(graph, opt);
    EXPECT_TRUE(r.ok);
    return std::dynamic_pointer_cast<const SplatSceneValue>(ev.outputs("train").at("scene"));
  };

  std::vector<Seen> none;
  run(false, none);
  EXPECT_TRUE(none.empty()) << "a headless run (previews off) gets no snapshots";

  std::vector<Seen> seen;
  const auto final_scene = run(true, seen);
  ASSERT_EQ(seen.size(), 2u);  // steps 4 and 8; step 12 is the node's output itself
  EXPECT_EQ(seen[0].step, 4);
  EXPECT_EQ(seen[1].step, 8);
  EXPECT_EQ(seen[0].label, "step 4/12");
  for (const Seen& s : seen) {
    EXPECT_EQ(s.scene->count(), final_scene->count());
    EXPECT_EQ(s.scene->training_cameras.size(), 6u);
    // Not changed by the training that went on after it was sent.
    EXPECT_TRUE(at::equal(s.scene->means, s.means_when_sent));
    EXPECT_FALSE(s.scene->means.requires_grad());
  }
  // Training moves the Gaussians between snapshots and after the last one.
  EXPECT_FALSE(at::equal(seen[0].scene->means, seen[1].scene->means));
  EXPECT_FALSE(at::equal(seen[1].scene->means, final_scene->means));
}
