// splat.train honours the run's device: it trains there, `auto` picks CUDA when there is one and
// the CPU otherwise, and CUDA on a machine without it fails naming the node and what to do.
// The node runs through a bare NodeContext (the evaluator refuses --device cuda before any node
// runs on a machine without CUDA, so only a direct call reaches the node's own check).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "camgraph/error.h"
#include "camgraph/node_context.h"
#include "camgraph/spec.h"
#include "camgraph/values.h"
#include "synthetic.h"

namespace camgraph {
void register_splat_nodes(Registry& r);  // nodes/splat/nodes.cpp
}

using namespace camgraph;

namespace {

std::shared_ptr<FrameSequenceValue> small_views() {
  static const splat::SplatDataset d = splat::synth::render_dataset(splat::synth::random_scene(60, 0.25, 11), 6, 32);
  auto seq = std::make_shared<FrameSequenceValue>();
  std::vector<at::Tensor> frames;
  for (const auto* views : {&d.test, &d.train})
    for (const auto& v : *views) {
      frames.push_back(v.image);
      seq->cameras.push_back(v.camera);
    }
  seq->frames = at::stack(frames);  // [N, 32, 32, 3]
  return seq;
}

// Runs splat.train on `device` with a few steps; returns the context's outputs.
std::map<std::string, Value> run_train(DeviceKind device) {
  static Registry registry = [] {
    Registry r;
    register_splat_nodes(r);
    return r;
  }();
  const NodeSpec* spec = registry.find("splat.train");
  NodeInstance node;
  node.id = "trainer_node";
  node.type = "splat.train";
  node.params = {{"steps", 6},        {"random_points", 200}, {"sh_degree", 0},  {"holdout_every", 3},
                 {"refine_start", 2}, {"refine_every", 2},    {"refine_stop", 5}};
  NodeContext::Setup setup;
  setup.node = &node;
  setup.spec = spec;
  setup.inputs["views"] = small_views();
  setup.device = device;
  NodeContext ctx(std::move(setup));
  spec->execute(ctx);
  return ctx.outputs();
}

}  // namespace

TEST(SplatTrainNode, CudaWithoutAGpuFailsNamingTheNode) {
  if (cuda_available()) GTEST_SKIP() << "this machine has a CUDA device";
  try {
    run_train(DeviceKind::Cuda);
    ADD_FAILURE() << "splat.train ran on CUDA without a GPU";
  } catch (const GraphError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("trainer_node"), std::string::npos) << msg;  // the node's id
    EXPECT_NE(msg.find("splat.train"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--device cpu"), std::string::npos) << msg;  // what to do
  }
}

TEST(SplatTrainNode, AutoTrainsOnCudaWhenThereIsOneElseOnTheCpu) {
  const auto outputs = run_train(DeviceKind::Auto);
  auto scene = std::dynamic_pointer_cast<const SplatSceneValue>(outputs.at("scene"));
  ASSERT_TRUE(scene);
  EXPECT_GT(scene->count(), 0);
  EXPECT_EQ(scene->means.device().type(), cuda_available() ? c10::kCUDA : c10::kCPU);
  auto metrics = std::dynamic_pointer_cast<const RecordValue>(outputs.at("metrics"))->record;
  EXPECT_EQ(metrics["steps"], 6);
  EXPECT_TRUE(metrics.contains("test_psnr"));
}

TEST(SplatTrainNode, CpuRunTrainsOnTheCpu) {
  const auto outputs = run_train(DeviceKind::Cpu);
  auto scene = std::dynamic_pointer_cast<const SplatSceneValue>(outputs.at("scene"));
  ASSERT_TRUE(scene);
  EXPECT_TRUE(scene->means.device().is_cpu());
  EXPECT_TRUE(scene->sh.device().is_cpu());
}

TEST(SplatTrainNode, CudaRunTrainsOnTheGpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (CPU-only libtorch or no GPU): checked on a GPU machine";
  const auto outputs = run_train(DeviceKind::Cuda);
  auto scene = std::dynamic_pointer_cast<const SplatSceneValue>(outputs.at("scene"));
  ASSERT_TRUE(scene);
  EXPECT_TRUE(scene->means.is_cuda());
}
