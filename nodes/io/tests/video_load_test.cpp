// frames.load from video files: the committed seed clips of the video fuzz harness
// (tests/fuzz/corpus/video: testsrc 32x24, 8 fps, 5 frames).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/values.h"

using namespace camgraph;
namespace fs = std::filesystem;

namespace {

const fs::path kSeeds = fs::path(CAMGRAPH_SOURCE_DIR) / "tests/fuzz/corpus/video";

struct Loaded {
  RunResult result;
  std::shared_ptr<const FrameSequenceValue> seq;
};

Loaded load(const std::string& video, const std::string& extra_params = "") {
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.device = DeviceKind::Cpu;
  opt.out_dir = fs::temp_directory_path();
  opt.graph_dir = kSeeds;
  const std::string text = R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
      {"id": "load", "type": "frames.load", "params": {"video": ")" +
                           video + "\"" + extra_params + "}}], \"links\": []}}";
  Loaded l{ev.run(load_cgraph_text(text, builtin_registry()).graph, opt), nullptr};
  if (l.result.ok) l.seq = std::dynamic_pointer_cast<const FrameSequenceValue>(ev.outputs("load").at("frames"));
  return l;
}

}  // namespace

TEST(FramesLoadVideo, ReadsEveryFrameWithItsRateAndTimes) {
  const Loaded l = load("h264_5frames.mp4");
  ASSERT_TRUE(l.result.ok) << l.result.nodes.at("load").error;
  EXPECT_EQ(l.seq->frames.sizes(), (std::vector<int64_t>{5, 24, 32, 3}));
  EXPECT_DOUBLE_EQ(l.seq->fps, 8.0);
  ASSERT_EQ(l.seq->timestamps.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(l.seq->timestamps[i], i / 8.0, 1e-6);
  EXPECT_GE(l.seq->frames.min().item<float>(), 0.0f);
  EXPECT_LE(l.seq->frames.max().item<float>(), 1.0f);
  // The same picture as the raw (uncompressed) clip, within H.264's error at 32x24.
  const Loaded raw = load("raw_5frames.y4m");
  ASSERT_TRUE(raw.result.ok);
  EXPECT_LT((l.seq->frames - raw.seq->frames).abs().mean().item<float>(), 0.1f);
  EXPECT_GT((raw.seq->frames[0] - raw.seq->frames[4]).abs().mean().item<float>(), 0.005f);  // frames differ
}

TEST(FramesLoadVideo, RangeStrideRateAndScale) {
  const Loaded all = load("ffv1_5frames.mkv");
  ASSERT_TRUE(all.result.ok);
  const Loaded stride = load("ffv1_5frames.mkv", R"(, "stride": 2)");
  ASSERT_TRUE(stride.result.ok);
  EXPECT_EQ(stride.seq->count(), 3);  // frames 0, 2, 4
  EXPECT_DOUBLE_EQ(stride.seq->fps, 4.0);
  EXPECT_TRUE(stride.seq->frames[1].equal(all.seq->frames[2]));
  EXPECT_NEAR(stride.seq->timestamps[2], 0.5, 1e-6);
  const Loaded range = load("ffv1_5frames.mkv", R"(, "start_frame": 1, "end_frame": 4)");
  ASSERT_TRUE(range.result.ok);
  EXPECT_EQ(range.seq->count(), 3);  // frames 1, 2, 3
  EXPECT_TRUE(range.seq->frames[0].equal(all.seq->frames[1]));
  EXPECT_NEAR(range.seq->timestamps[0], 0.125, 1e-6);
  const Loaded rate = load("ffv1_5frames.mkv", R"(, "target_fps": 4)");
  ASSERT_TRUE(rate.result.ok);
  EXPECT_EQ(rate.seq->count(), 3);  // times 0, 0.25, 0.5
  EXPECT_DOUBLE_EQ(rate.seq->fps, 4.0);
  EXPECT_TRUE(rate.seq->frames[2].equal(all.seq->frames[4]));
  const Loaded small = load("ffv1_5frames.mkv", R"(, "scale": 0.5, "max_frames": 2)");
  ASSERT_TRUE(small.result.ok);
  EXPECT_EQ(small.seq->frames.sizes(), (std::vector<int64_t>{2, 12, 16, 3}));
}

TEST(FramesLoadVideo, BadFilesAndRequestsNameTheParameterAndTheProblem) {
  struct Case {
    std::string video, params, param, words;
  } cases[] = {
      {"no_video_stream_script.txt", "", "video", "no video stream"},
      {"h264_truncated_half.mp4", "", "video", "h264_truncated_half.mp4"},
      {"size_change.h264", "", "video", "changes midstream"},
      {"missing.mp4", "", "video", "missing.mp4"},
      {"h264_5frames.mp4", R"(, "start_frame": 9)", "start_frame", "has 5 decodable frame(s)"},
      {"h264_5frames.mp4", R"(, "target_fps": 30)", "target_fps", "would repeat frames"},
      {"h264_5frames.mp4", R"(, "start_frame": 3, "end_frame": 2)", "end_frame", "not after start_frame"},
  };
  for (const Case& c : cases) {
    const Loaded l = load(c.video, c.params);
    ASSERT_FALSE(l.result.ok) << c.video << c.params;
    const auto& node = l.result.nodes.at("load");
    EXPECT_EQ(node.error_param, c.param) << c.video << c.params << ": " << node.error;
    EXPECT_NE(node.error.find(c.words), std::string::npos) << c.video << c.params << ": " << node.error;
  }
}
