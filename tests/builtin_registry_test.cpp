// The build's node families behind builtin_registry() (camgraph_nodes): every shipped example
// graph loads, and what the editor reads from the families (preview renderers, viewport overlays)
// is registered. The engine's own tests use their own nodes (engine_tests).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/output_files.h"
#include "camgraph/preview.h"
#include "camgraph/values.h"

using namespace camgraph;
namespace fs = std::filesystem;

namespace {
bool built(const std::string& family) {
  for (const auto& f : builtin_family_names())
    if (f == family) return true;
  return false;
}
}  // namespace

TEST(Cgraph, ExampleGraphsLoad) {
  // Every shipped example must load with the builtin registry of this build (when its nodes exist).
  const fs::path dir = fs::path(CAMGRAPH_SOURCE_DIR) / "examples-graphs";
  int checked = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".cgraph") continue;
    GraphDocument d = parse_cgraph(read_file(e.path()), e.path().string());
    const auto problems = validate(d.graph, builtin_registry());
    bool unknown_type = false;
    for (const auto& p : problems) unknown_type |= p.message.find("unknown node type") != std::string::npos;
    if (unknown_type) continue;  // needs a node family this build lacks
    EXPECT_TRUE(problems.empty()) << e.path() << ": " << problems[0].to_string();
    GraphDocument again = parse_cgraph(to_cgraph_text(d), "again");
    EXPECT_TRUE(again.graph == d.graph) << e.path();
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(BuiltinRegistry, FamiliesDeclareTheirViewportOverlays) {
  const Registry& reg = builtin_registry();
  if (built("camera")) {
    EXPECT_EQ(reg.find("camera.path")->output("path")->overlay.kind, "camera_path");
    EXPECT_EQ(reg.find("camera.orbit")->output("path")->overlay.kind, "camera_path");
    EXPECT_EQ(reg.find("camera.path")->output("framing")->overlay.kind, "");
    EXPECT_EQ(reg.find("camera.path")->to_json()["outputs"][0]["overlay"], json({{"kind", "camera_path"}}));
  }
  if (built("shot")) {
    const PortSpec* b = reg.find("shot.billboard")->output("billboards");
    EXPECT_EQ(b->overlay.kind, "billboards");
    EXPECT_EQ(b->overlay.images, "cutouts");
  }
}

TEST(BuiltinRegistry, SplatFamilyRendersSplatScenesForTheViewport) {
  if (!built("splat")) GTEST_SKIP() << "no splat family in this build";
  const ValueRenderer* renderer = builtin_registry().find_renderer(PortType::SplatScene);
  ASSERT_NE(renderer, nullptr);
  if (renderer->cuda_available()) {
    EXPECT_TRUE(cuda_available());
  }
  // One opaque red Gaussian in front of the camera, on a grey background.
  auto scene = std::make_shared<SplatSceneValue>();
  scene->means = at::zeros({1, 3});
  scene->log_scales = at::full({1, 3}, -1.5f);
  scene->quats = at::tensor({1.f, 0.f, 0.f, 0.f}).view({1, 4});
  scene->opacity_logits = at::full({1}, 8.f);
  scene->sh = at::tensor({2.f, -2.f, -2.f}).view({1, 1, 3});
  PreviewRequest request;
  request.camera = Camera::from_fov(40, 30, 50, Camera::look_at({0, -3, 0}, {0, 0, 0}, {0, 0, 1}));
  request.background = {0.5f, 0.5f, 0.5f};
  auto prepared = renderer->prepare(scene, DeviceKind::Cpu);
  const PreviewImage img = prepared->render(request);
  ASSERT_EQ(img.width, 40);
  ASSERT_EQ(img.height, 30);
  ASSERT_EQ(img.rgba.size(), size_t(40 * 30 * 4));
  EXPECT_EQ(img.device, DeviceKind::Cpu);
  auto px = [&](int x, int y, int c) { return int(img.rgba[(size_t(y) * 40 + x) * 4 + c]); };
  EXPECT_GT(px(20, 15, 0), 200);  // the Gaussian: red
  EXPECT_LT(px(20, 15, 1), 60);
  EXPECT_NEAR(px(0, 0, 0), 128, 1);  // the background
  EXPECT_EQ(px(0, 0, 3), 255);
  // A value of another type is refused by name.
  EXPECT_THROW(renderer->prepare(std::make_shared<TextValue>(), DeviceKind::Cpu), std::invalid_argument);
}
