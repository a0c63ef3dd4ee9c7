// depth family: the layout prior's ground geometry and the ground fit of scale and shift.
#include "depth_test_support.h"
#include "depth/layout.h"

using namespace camgraph;
using namespace camgraph::depth;
using namespace camgraph::depth::tests;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

// ---- layout prior and ground fit ----------------------------------------------------------------

TEST(Layout, LevelCameraGroundDepthIsAnalytic) {
  const Intrinsics k{100, 100, 64, 48};
  LayoutParams p;
  p.camera_height = 1.5;
  p.horizon = 0.5;  // row 48 = cy: level camera
  p.backdrop_distance = 40;
  const cv::Mat d = layout_depth({128, 96}, k, p);
  for (int y : {60, 70, 95}) EXPECT_NEAR(d.at<float>(y, 10), 1.5 * 100 / (y + 0.5 - 48), 1e-3);
  EXPECT_NEAR(d.at<float>(10, 10), 40, 1e-3);  // above the horizon: the backdrop
  // Far ground rows just below the horizon are hidden by the backdrop.
  EXPECT_NEAR(d.at<float>(48, 10), 40, 1e-3);
}

TEST(Layout, PitchedCameraGroundPointsLieOnTheGround) {
  const Intrinsics k{120, 120, 80, 60};
  LayoutParams p;
  p.camera_height = 2.0;
  p.horizon = 0.25;  // above the centre: looking down
  const cv::Size size(160, 120);
  const double pitch = pitch_from_horizon(k, p.horizon * size.height);
  EXPECT_GT(pitch, 0);
  const Camera cam = layout_camera(size.width, size.height, k, p.camera_height, pitch);
  const cv::Mat d = layout_depth(size, k, p), ground = layout_ground_mask(size, k, p);
  const Mat4 c2w = cam.camera_to_world();
  int checked = 0;
  for (int y = 0; y < size.height; y += 7)
    for (int x = 0; x < size.width; x += 11) {
      if (!ground.at<uchar>(y, x)) continue;
      const double z = d.at<float>(y, x), X = (x + 0.5 - k.cx) / k.fx * z, Y = (y + 0.5 - k.cy) / k.fy * z;
      const double wz = c2w[8] * X + c2w[9] * Y + c2w[10] * z + c2w[11];
      EXPECT_NEAR(wz, 0, 1e-3 * z);
      ++checked;
    }
  EXPECT_GT(checked, 50);
  EXPECT_EQ(ground.at<uchar>(10, 80), 0);  // above the horizon
}

TEST(Layout, GroundFitRecoversScaleAndShiftDespiteOutliers) {
  const Intrinsics k{100, 100, 64, 48};
  LayoutParams p;
  const cv::Size size(128, 96);
  const cv::Mat d = layout_depth(size, k, p), mask = layout_ground_mask(size, k, p);
  const double a = 0.37, b = 0.021;  // disparity = a r + b  ->  r = (1/z - b) / a
  cv::Mat raw(size, CV_32F);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) raw.at<float>(y, x) = float((1.0 / d.at<float>(y, x) - b) / a);
  for (int y = 80; y < 96; y += 3)  // an object on the ground: much nearer than the plane
    for (int x = 10; x < 30; ++x) raw.at<float>(y, x) *= 3;
  const ScaleShift s = fit_to_ground(raw, true, d, mask);
  EXPECT_NEAR(s.scale, a, 1e-3 * a);
  EXPECT_NEAR(s.shift, b, 1e-3);
  const cv::Mat z = apply_scale_shift(raw, true, s.scale, s.shift);
  EXPECT_NEAR(z.at<float>(90, 100), d.at<float>(90, 100), 1e-2);
  // A prediction that grows with distance is not a disparity: refused.
  EXPECT_NE(error_of([&] { fit_to_ground(-raw, true, d, mask); }).find("non-positive scale"), std::string::npos);
}
