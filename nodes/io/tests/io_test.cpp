// io family: what is written reads back; bad paths name the parameter.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/output_files.h"
#include "camgraph/values.h"
#include "image_codec.h"
#include "test_support.h"

using namespace camgraph;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;

namespace {
RunResult run(Evaluator& ev, const std::string& text, const fs::path& out) {
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = out;
  opt.graph_dir = out;
  return ev.run(load_cgraph_text(text, builtin_registry()).graph, opt);
}
}  // namespace

TEST(ImageCodec, SixteenBitPngRoundTripKeepsPrecisionAndAlpha) {
  const fs::path dir = temp_dir("io-png16");
  at::Tensor img = at::rand({7, 9, 4});
  write_file_atomic(dir / "a.png", io::encode_image(img, ".png", 16));
  at::Tensor back = io::read_image(dir / "a.png");
  ASSERT_EQ(back.sizes(), img.sizes());
  EXPECT_LE((back - img).abs().max().item<float>(), 0.5f / 65535 + 1e-6f);
  write_file_atomic(dir / "b.png", io::encode_image(img.slice(2, 0, 3), ".png", 8));
  at::Tensor back8 = io::read_image(dir / "b.png");
  EXPECT_EQ(back8.size(2), 3);
  EXPECT_LE((back8 - img.slice(2, 0, 3)).abs().max().item<float>(), 0.5f / 255 + 1e-6f);
}

TEST(ImageCodec, CorruptImageNamesTheFile) {
  const fs::path dir = temp_dir("io-corrupt");
  write_file_atomic(dir / "broken.png", "\x89PNG\r\n\x1a\nnot really");
  try {
    io::read_image(dir / "broken.png");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("broken.png"), std::string::npos) << e.what();
  }
}

TEST(IoNodes, SaveThenLoadImageThroughTheGraph) {
  const fs::path dir = temp_dir("io-graph");
  Evaluator ev(builtin_registry());
  ASSERT_TRUE(run(ev, R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
      {"id": "gen", "type": "image.pattern", "params": {"width": 20, "height": 10, "pattern": "gradient"}},
      {"id": "save", "type": "image.save", "params": {"path": "sub/g.png", "bit_depth": "16"}}],
      "links": [{"from": "gen.image", "to": "save.image"}]}})",
                  dir)
                  .ok);
  ASSERT_TRUE(run(ev, R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
      {"id": "load", "type": "image.load", "params": {"path": "sub/g.png"}}], "links": []}})",
                  dir)
                  .ok);
  auto gen = std::dynamic_pointer_cast<const ImageValue>(ev.outputs("gen").at("image"));
  auto load = std::dynamic_pointer_cast<const ImageValue>(ev.outputs("load").at("image"));
  EXPECT_LE((gen->pixels - load->pixels).abs().max().item<float>(), 1e-4f);
}

TEST(IoNodes, FramesSaveWritesEveryFrameAndCamerasAndLoadsBack) {
  const fs::path dir = temp_dir("io-frames");
  Evaluator ev(builtin_registry());
  ASSERT_TRUE(run(ev, R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
      {"id": "path", "type": "camera.orbit", "params": {"frames": 5, "width": 16, "height": 12}},
      {"id": "views", "type": "scene.procedural", "params": {"views": 5, "width": 16, "height": 12, "samples": 1}},
      {"id": "save", "type": "frames.save", "params": {"folder": "clip"}}],
      "links": [{"from": "views.views", "to": "save.frames"}]}})",
                  dir)
                  .ok);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(fs::exists(dir / "clip" / ("frame_0000" + std::to_string(i) + ".png")));
  const auto cams = nlohmann::json::parse(read_file(dir / "clip" / "cameras.json"));
  EXPECT_EQ(cams["cameras"].size(), 5u);
  EXPECT_EQ(cams["frames"][4], "frame_00004.png");
  ASSERT_TRUE(run(ev, R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
      {"id": "load", "type": "frames.load", "params": {"folder": "clip", "fps": 12}}], "links": []}})",
                  dir)
                  .ok);
  auto seq = std::dynamic_pointer_cast<const FrameSequenceValue>(ev.outputs("load").at("frames"));
  EXPECT_EQ(seq->frames.sizes(), (std::vector<int64_t>{5, 12, 16, 3}));
  EXPECT_EQ(seq->fps, 12);
}

TEST(IoNodes, BadOutputExtensionNamesThePath) {
  const fs::path dir = temp_dir("io-ext");
  Evaluator ev(builtin_registry());
  RunResult r = run(ev, R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
      {"id": "gen", "type": "image.pattern", "params": {"width": 4, "height": 4}},
      {"id": "save", "type": "image.save", "params": {"path": "x.gif"}}],
      "links": [{"from": "gen.image", "to": "save.image"}]}})",
                    dir);
  EXPECT_EQ(r.nodes["save"].state, NodeState::Failed);
  EXPECT_EQ(r.nodes["save"].error_param, "path");
  EXPECT_NE(r.nodes["save"].error.find("x.gif"), std::string::npos);
}
