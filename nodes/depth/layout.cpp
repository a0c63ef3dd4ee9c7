#include "depth/layout.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace camgraph::depth {

double pitch_from_horizon(const Intrinsics& k, double horizon_row) {
  // Up in camera coordinates is (0, -cos p, -sin p); the horizon is where a ray is level:
  // -cos p (v - cy) / fy - sin p = 0  ->  v = cy - fy tan p.
  return std::atan((k.cy - horizon_row) / k.fy);
}

Camera layout_camera(int width, int height, const Intrinsics& k, double camera_height, double pitch) {
  Camera c;
  c.width = width;
  c.height = height;
  c.fx = k.fx;
  c.fy = k.fy;
  c.cx = k.cx;
  c.cy = k.cy;
  const Vec3 eye{0, 0, camera_height};
  const Vec3 target{0, std::cos(pitch), camera_height - std::sin(pitch)};
  c.world_to_camera = Camera::look_at(eye, target, {0, 0, 1});
  return c;
}

namespace {

// Per pixel: ground depth (inf when the ray does not reach the ground) and backdrop depth.
template <class F>
void for_each_layout_pixel(cv::Size size, const Intrinsics& k, const LayoutParams& p, F&& f) {
  const double pitch = pitch_from_horizon(k, p.horizon * size.height);
  const double cp = std::cos(pitch), sp = std::sin(pitch);
  for (int y = 0; y < size.height; ++y) {
    const double dy = (y + 0.5 - k.cy) / k.fy;  // ray d = (dx, dy, 1): z = t
    const double down = cp * dy + sp;           // -(d . up): how fast the ray descends per unit z
    const double level = cp - sp * dy;          // d . horizontal forward
    const double ground = down > 1e-9 ? p.camera_height / down : INFINITY;
    const double backdrop = level > 1e-9 ? p.backdrop_distance / level : INFINITY;
    for (int x = 0; x < size.width; ++x) f(y, x, ground, backdrop);
  }
}

}  // namespace

cv::Mat layout_depth(cv::Size size, const Intrinsics& k, const LayoutParams& p) {
  cv::Mat d(size, CV_32F);
  for_each_layout_pixel(size, k, p, [&](int y, int x, double ground, double backdrop) {
    double z = std::min(ground, backdrop);
    if (!std::isfinite(z)) z = p.backdrop_distance;  // looking straight up: cap
    d.at<float>(y, x) = float(z);
  });
  return d;
}

cv::Mat layout_ground_mask(cv::Size size, const Intrinsics& k, const LayoutParams& p) {
  cv::Mat m(size, CV_8U);
  for_each_layout_pixel(size, k, p, [&](int y, int x, double ground, double backdrop) {
    m.at<uchar>(y, x) = std::isfinite(ground) && ground < backdrop ? 255 : 0;
  });
  return m;
}

cv::Mat apply_scale_shift(const cv::Mat& raw, bool disparity, double scale, double shift) {
  CV_Assert(raw.type() == CV_32F);
  cv::Mat z(raw.size(), CV_32F);
  for (int y = 0; y < raw.rows; ++y)
    for (int x = 0; x < raw.cols; ++x) {
      const double v = scale * raw.at<float>(y, x) + shift;
      double d = disparity ? (v > 1e-9 ? 1.0 / v : 0.0) : v;
      if (!std::isfinite(d) || d < 0) d = 0;
      z.at<float>(y, x) = float(d);
    }
  return z;
}

ScaleShift fit_to_ground(const cv::Mat& raw, bool disparity, const cv::Mat& ground_depth, const cv::Mat& mask) {
  std::vector<double> r, t;  // prediction, target (disparity or depth)
  for (int y = 0; y < raw.rows; ++y)
    for (int x = 0; x < raw.cols; ++x) {
      if (!mask.at<uchar>(y, x)) continue;
      const double z = ground_depth.at<float>(y, x);
      if (!(z > 0) || !std::isfinite(z)) continue;
      r.push_back(raw.at<float>(y, x));
      t.push_back(disparity ? 1.0 / z : z);
    }
  std::vector<char> use(r.size(), 1);
  ScaleShift s;
  for (int pass = 0; pass < 2; ++pass) {
    double n = 0, sr = 0, st = 0, srr = 0, srt = 0;
    for (size_t i = 0; i < r.size(); ++i)
      if (use[i]) {
        n += 1;
        sr += r[i];
        st += t[i];
        srr += r[i] * r[i];
        srt += r[i] * t[i];
      }
    if (n < 16)
      throw std::runtime_error("only " + std::to_string(int(n)) +
                               " ground pixels to fit against; lower the horizon or set scale and shift by hand");
    const double var = srr - sr * sr / n;
    if (var <= 1e-12 * n)
      throw std::runtime_error("the prediction is constant over the ground; set scale and shift by hand");
    s.scale = (srt - sr * st / n) / var;
    s.shift = (st - s.scale * sr) / n;
    s.samples = int(n);
    if (pass == 0) {
      std::vector<double> res;
      for (size_t i = 0; i < r.size(); ++i) res.push_back(std::abs(s.scale * r[i] + s.shift - t[i]));
      std::vector<double> sorted = res;
      std::nth_element(sorted.begin(), sorted.begin() + long(sorted.size() / 2), sorted.end());
      const double mad = std::max(sorted[sorted.size() / 2], 1e-12);
      for (size_t i = 0; i < r.size(); ++i) use[i] = res[i] <= 3 * mad;
    }
  }
  if (!(s.scale > 0))
    throw std::runtime_error("the ground fit gives a non-positive scale (the prediction does not " +
                             std::string(disparity ? "decrease" : "increase") +
                             " with ground distance); check the horizon or set scale and shift by hand");
  double se = 0;
  int m = 0;
  for (size_t i = 0; i < r.size(); ++i)
    if (use[i]) {
      const double v = s.scale * r[i] + s.shift;
      const double zf = disparity ? 1.0 / v : v, zg = disparity ? 1.0 / t[i] : t[i];
      se += std::pow((zf - zg) / zg, 2);
      ++m;
    }
  s.rms_relative = std::sqrt(se / std::max(m, 1));
  return s;
}

}  // namespace camgraph::depth
