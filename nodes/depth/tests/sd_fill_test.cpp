// depth family: Stable Diffusion inpainting of fill views (the sd family's tiny test weights).
#include "depth_test_support.h"
#include "depth/sd_fill.h"
#include "sd/tests/tiny_sd.h"

using namespace camgraph;
using namespace camgraph::depth;
using namespace camgraph::depth::tests;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

// ---- SD inpainting of fill views (the sd family's tiny test weights, nodes/sd/tests/golden) ----------

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
  const at::Tensor band = at::max_pool2d(holes.to(at::kFloat).view({1, 1, 20, 28}),
                                         {2 * o.dilate + 1, 2 * o.dilate + 1}, {1, 1}, {o.dilate, o.dilate})[0][0] > 0;
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
    const json nodes = {{{"id", "views"},
                         {"type", "scene.procedural"},
                         {"params", {{"views", 2}, {"width", 40}, {"height", 30}, {"samples", 1}}}},
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
