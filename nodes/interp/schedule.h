// Which output frame comes from which input pair and time; scene cuts; camera interpolation.
// No torch.
#pragma once
#include <opencv2/core.hpp>

#include <vector>

#include "camgraph/camera.h"

namespace camgraph::interp {

// Output frame k lies between input frames pair[k] and pair[k] + 1 at time t[k] in [0, 1)
// (t = 0: input frame pair[k] itself; the last input frame is pair = n - 1, t = 0).
struct Schedule {
  std::vector<int> pair;
  std::vector<double> t;
  double fps = 0;  // output frame rate
  int size() const { return static_cast<int>(pair.size()); }
};

// multiplier m >= 1: (n - 1) * m + 1 frames at fps * m. target_fps > 0 instead: frames at
// k / target_fps for every k with k / target_fps <= (n - 1) / fps (times snap to input frames
// within 1e-6 of a frame).
Schedule make_schedule(int n, double fps, int multiplier, double target_fps);

// SSIM of two RGB CV_32FC3 frames on their luma, downscaled so the longer side is <= 256 pixels
// (a cheap scene-cut test: unrelated frames score near 0, consecutive frames near 1).
double scene_similarity(const cv::Mat& a, const cv::Mat& b);

// Rotation by slerp, centre and intrinsics linearly (size from a).
Camera interpolate_camera(const Camera& a, const Camera& b, double t);

}  // namespace camgraph::interp
