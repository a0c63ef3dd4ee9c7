// sequence.join: frame counts, blend weights, cameras and the shots record for cut/fade/dissolve.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include "camgraph/node_context.h"
#include "camgraph/values.h"
#include "sequence/sequence.h"
#include "node_runner.h"
#include "test_support.h"

namespace camgraph {
void register_sequence_nodes(Registry& r);
}

using namespace camgraph;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::map<std::string, Value> run_node(const json& params, std::map<std::string, Value> inputs, const fs::path& out) {
  static Registry reg = [] {
    Registry r;
    register_sequence_nodes(r);
    return r;
  }();
  return camgraph::testing::run_node(reg, "sequence.join", params, std::move(inputs), out);
}

// A shot of n frames of constant value v, cameras with fx = tag * 100 + frame.
std::shared_ptr<FrameSequenceValue> shot(int n, float v, int tag) {
  auto s = std::make_shared<FrameSequenceValue>();
  s->frames = at::full({n, 4, 6, 3}, v);
  s->depth = at::full({n, 4, 6}, float(tag));
  for (int i = 0; i < n; ++i) {
    Camera c;
    c.width = 6;
    c.height = 4;
    c.fx = tag * 100 + i;
    s->cameras.push_back(c);
  }
  s->fps = 24;
  return s;
}

std::shared_ptr<TextValue> text(const std::string& t) {
  auto v = std::make_shared<TextValue>();
  v->text = t;
  return v;
}

}  // namespace

TEST(SequenceJoin, CutConcatenatesAndListsEachShot) {
  const fs::path dir = temp_dir("seq_cut");
  auto out = run_node({{"transition", "cut"}},
                      {{"shot_1", shot(5, 0.2f, 1)},
                       {"shot_2", shot(3, 0.8f, 2)},
                       {"caption_1", text("a pan")},
                       {"caption_2", text("a dolly")}},
                      dir);
  auto seq = std::static_pointer_cast<const FrameSequenceValue>(out.at("frames"));
  const json rec = std::static_pointer_cast<const RecordValue>(out.at("shots"))->record;
  ASSERT_EQ(seq->count(), 8);
  EXPECT_EQ(seq->cameras[5].fx, 200);
  EXPECT_EQ(seq->depth[4][0][0].item<float>(), 1);
  EXPECT_EQ(rec["shots"][0]["frames"], json({0, 4}));
  EXPECT_EQ(rec["shots"][1]["frames"], json({5, 7}));
  EXPECT_EQ(rec["shots"][1]["caption"], "a dolly");
  EXPECT_EQ(rec["transitions"][0]["type"], "cut");
}

TEST(SequenceJoin, FadeGoesThroughBlackWithoutLosingFrames) {
  const fs::path dir = temp_dir("seq_fade");
  auto out = run_node({{"transition", "fade"}, {"transition_frames", 2}},
                      {{"shot_1", shot(4, 0.6f, 1)}, {"shot_2", shot(4, 0.9f, 2)}}, dir);
  auto seq = std::static_pointer_cast<const FrameSequenceValue>(out.at("frames"));
  ASSERT_EQ(seq->count(), 8);
  const float v[8] = {0.6f, 0.6f, 0.6f * 2 / 3, 0.6f / 3, 0.9f / 3, 0.9f * 2 / 3, 0.9f, 0.9f};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(seq->frames[i][1][1][1].item<float>(), v[i], 1e-6) << i;
  const json rec = std::static_pointer_cast<const RecordValue>(out.at("shots"))->record;
  EXPECT_EQ(rec["transitions"][0]["frames"], json({2, 5}));
}

TEST(SequenceJoin, DissolveOverlapsAndTakesTheIncomingCameras) {
  const fs::path dir = temp_dir("seq_dissolve");
  auto out = run_node({{"transition", "dissolve"}, {"transition_frames", 3}},
                      {{"shot_1", shot(5, 0.0f, 1)}, {"shot_2", shot(6, 1.0f, 2)}, {"shot_3", shot(4, 0.0f, 3)}}, dir);
  auto seq = std::static_pointer_cast<const FrameSequenceValue>(out.at("frames"));
  ASSERT_EQ(seq->count(), 5 + 6 + 4 - 2 * 3);
  // Frames 2..4: shot 1 -> shot 2 at weights 1/4, 2/4, 3/4.
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(seq->frames[2 + j][0][0][0].item<float>(), (j + 1) / 4.0, 1e-6);
    EXPECT_EQ(seq->cameras[size_t(2 + j)].fx, 200 + j);
    EXPECT_EQ(seq->depth[2 + j][0][0].item<float>(), 2);
  }
  const json rec = std::static_pointer_cast<const RecordValue>(out.at("shots"))->record;
  EXPECT_EQ(rec["shots"][0]["frames"], json({0, 4}));
  EXPECT_EQ(rec["shots"][1]["frames"], json({2, 7}));
  EXPECT_EQ(rec["shots"][2]["frames"], json({5, 8}));
  EXPECT_EQ(rec["transitions"][1]["frames"], json({5, 7}));
  EXPECT_EQ(rec["frames"], 9);
}

TEST(SequenceJoin, MismatchedShotsNameThePort) {
  const fs::path dir = temp_dir("seq_bad");
  auto other = shot(3, 0.5f, 2);
  other->fps = 30;
  try {
    run_node({}, {{"shot_1", shot(3, 0.5f, 1)}, {"shot_2", other}}, dir);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("shot_2"), std::string::npos) << e.what();
  }
  auto small = shot(3, 0.5f, 2);
  small->frames = at::zeros({3, 2, 2, 3});
  EXPECT_THROW(run_node({}, {{"shot_1", shot(3, 0.5f, 1)}, {"shot_2", small}}, dir), std::exception);
}
