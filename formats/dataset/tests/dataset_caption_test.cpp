// The caption vocabulary: describe_motion's wording and the check that a caption agrees with its
// motion records (what `camgraph-cli dataset report` flags).
#include <gtest/gtest.h>

#include "camgraph/formats/dataset_caption.h"

using camgraph::dataset::caption_motion_problems;
using camgraph::dataset::describe_motion;
using nlohmann::json;

namespace {
json records(const char* text) { return json::parse(text); }
}  // namespace

TEST(CaptionMotion, EveryDescribedMotionAgreesWithItsRecords) {
  const char* cases[] = {
      R"([])",
      R"([{"type": "static", "frames": [0, 16]}])",
      R"([{"type": "pan", "direction": "left", "speed": "slow", "frames": [0, 16]}])",
      R"([{"type": "dolly", "direction": "in", "frames": [17, 32]}, {"type": "tilt", "direction": "up", "frames": [0, 16]}])",
      R"([{"type": "pan", "direction": "right", "frames": [0, 24]}, {"type": "dolly", "direction": "in", "frames": [8, 30]}])",
      R"([{"type": "dolly_zoom", "direction": "in", "frames": [0, 24]}])",
      R"([{"type": "keyframes", "frames": [0, 24]}])",
      R"([{"type": "orbit", "direction": "left", "frames": [0, 24]}])",
  };
  for (const char* c : cases) {
    const json m = records(c);
    const std::string caption = "a hall, a knight, " + describe_motion(m);
    EXPECT_TRUE(caption_motion_problems(caption, m).empty()) << caption;
  }
}

TEST(CaptionMotion, DisagreementsAreNamed) {
  const json pan_left = records(R"([{"type": "pan", "direction": "left", "frames": [0, 16]}])");
  auto joined = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += x + "; ";
    return s;
  };
  EXPECT_EQ(joined(caption_motion_problems("Camera PANS LEFT", pan_left)), "");  // case-insensitive
  EXPECT_NE(joined(caption_motion_problems("camera pans right", pan_left)).find("does not say \"pans left\""),
            std::string::npos);
  const std::string extra = joined(caption_motion_problems("camera pans left while dollying in", pan_left));
  EXPECT_NE(extra.find("says \"dollying\" but no motion record is dolly"), std::string::npos) << extra;
  EXPECT_NE(joined(caption_motion_problems("static camera", pan_left)).find("says \"static camera\""),
            std::string::npos);
  EXPECT_NE(joined(caption_motion_problems("camera pans left", json::array())).find("is static"), std::string::npos);
  // Whole words: "expands" holds "pans" but names no move; "dolly-zooms" is not "zooms".
  EXPECT_EQ(joined(caption_motion_problems("a city that expands, static camera", json::array())), "");
  const json dz = records(R"([{"type": "dolly_zoom", "direction": "in", "frames": [0, 24]}])");
  EXPECT_EQ(joined(caption_motion_problems("camera dolly-zooms in", dz)), "");
  // No caption at all for a moving clip.
  EXPECT_FALSE(caption_motion_problems("", pan_left).empty());
}
