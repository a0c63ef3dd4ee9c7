// The weight-free layout prior (a ground plane up to the horizon, a vertical backdrop beyond) and
// the fit that turns relative depth into metres from the same ground-plane assumption.
// Depth is camera-space z (OpenCV axes), metres; pixel centres at +0.5.
#pragma once
#include <opencv2/core.hpp>

#include "camgraph/camera.h"

namespace camgraph::depth {

struct Intrinsics {
  double fx = 0, fy = 0, cx = 0, cy = 0;
};

struct LayoutParams {
  double camera_height = 1.6;       // metres above the ground plane
  double horizon = 0.45;            // horizon row as a fraction of the image height (0 top, 1 bottom)
  double backdrop_distance = 30.0;  // metres, horizontal distance of the vertical backdrop
};

// Camera pitch (radians, > 0 looking down) that puts the horizon at `horizon_row` (pixels).
double pitch_from_horizon(const Intrinsics& k, double horizon_row);
// The source camera of a lifted image: at (0, 0, camera_height), looking along +Y pitched by
// `pitch`, world +Z up (the project's convention), with the given intrinsics and size.
Camera layout_camera(int width, int height, const Intrinsics& k, double camera_height, double pitch);

// Camera-space depth [H, W] CV_32F of the layout: the ground below the horizon, nearer than the
// backdrop; the backdrop everywhere else.
cv::Mat layout_depth(cv::Size size, const Intrinsics& k, const LayoutParams& p);
// Where the layout sees the ground (CV_8U 255), nearer than the backdrop.
cv::Mat layout_ground_mask(cv::Size size, const Intrinsics& k, const LayoutParams& p);

// Relative prediction -> metres: disparity outputs give z = 1 / (scale r + shift), metric outputs
// z = scale r + shift. Non-positive results become 0 (invalid).
cv::Mat apply_scale_shift(const cv::Mat& raw, bool disparity, double scale, double shift);

struct ScaleShift {
  double scale = 1, shift = 0;
  int samples = 0;          // pixels used in the final fit
  double rms_relative = 0;  // RMS of (z_fit - z_ground) / z_ground over them
};
// Least squares of the prediction against the layout's ground depth over `mask` (in disparity
// space for disparity outputs, depth space otherwise), twice: the second fit drops samples whose
// residual exceeds 3 median absolute deviations. Throws std::runtime_error with too few samples or
// a degenerate fit (negative scale).
ScaleShift fit_to_ground(const cv::Mat& raw, bool disparity, const cv::Mat& ground_depth, const cv::Mat& mask);

}  // namespace camgraph::depth
