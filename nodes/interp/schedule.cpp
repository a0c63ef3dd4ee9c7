#include "interp/schedule.h"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <stdexcept>

#include "camera/geometry.h"

namespace camgraph::interp {

Schedule make_schedule(int n, double fps, int multiplier, double target_fps) {
  if (n < 1) throw std::invalid_argument("no input frames");
  Schedule s;
  if (target_fps > 0) {
    if (!(fps > 0)) throw std::invalid_argument("the input frame rate must be positive for a target fps");
    const double duration = (n - 1) / fps;
    for (int64_t k = 0;; ++k) {
      const double src = k * fps / target_fps;  // position in input frames
      if (src > (n - 1) + 1e-6) break;
      int i = static_cast<int>(std::floor(src + 1e-6));
      double t = src - i;
      if (t < 1e-6) t = 0;
      if (i >= n - 1) i = n - 1, t = 0;
      s.pair.push_back(i);
      s.t.push_back(t);
      if (k > 10'000'000) throw std::invalid_argument("target fps gives more than 10 million frames");
    }
    (void)duration;
    s.fps = target_fps;
    return s;
  }
  if (multiplier < 1) throw std::invalid_argument("multiplier must be >= 1");
  for (int i = 0; i < n - 1; ++i)
    for (int j = 0; j < multiplier; ++j) {
      s.pair.push_back(i);
      s.t.push_back(static_cast<double>(j) / multiplier);
    }
  s.pair.push_back(n - 1);
  s.t.push_back(0);
  s.fps = fps * multiplier;
  return s;
}

double scene_similarity(const cv::Mat& a, const cv::Mat& b) {
  const double f = std::min(1.0, 256.0 / std::max(a.cols, a.rows));
  cv::Mat ga, gb;
  cv::cvtColor(a, ga, cv::COLOR_RGB2GRAY);
  cv::cvtColor(b, gb, cv::COLOR_RGB2GRAY);
  if (f < 1.0) {
    cv::resize(ga, ga, cv::Size(), f, f, cv::INTER_AREA);
    cv::resize(gb, gb, cv::Size(), f, f, cv::INTER_AREA);
  }
  // Gaussian-window SSIM (sigma 1.5), constants for a [0, 1] range.
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  cv::Mat mu_a, mu_b, s_aa, s_bb, s_ab;
  const cv::Size k(11, 11);
  cv::GaussianBlur(ga, mu_a, k, 1.5);
  cv::GaussianBlur(gb, mu_b, k, 1.5);
  cv::GaussianBlur(ga.mul(ga), s_aa, k, 1.5);
  cv::GaussianBlur(gb.mul(gb), s_bb, k, 1.5);
  cv::GaussianBlur(ga.mul(gb), s_ab, k, 1.5);
  const cv::Mat mu_aa = mu_a.mul(mu_a), mu_bb = mu_b.mul(mu_b), mu_ab = mu_a.mul(mu_b);
  const cv::Mat num = (2 * mu_ab + c1).mul(2 * (s_ab - mu_ab) + c2);
  const cv::Mat den = (mu_aa + mu_bb + c1).mul((s_aa - mu_aa) + (s_bb - mu_bb) + c2);
  cv::Mat ssim;
  cv::divide(num, den, ssim);
  return cv::mean(ssim)[0];
}

Camera interpolate_camera(const Camera& a, const Camera& b, double t) {
  const cam::Pose pa = cam::Pose::from_world_to_camera(a.world_to_camera);
  const cam::Pose pb = cam::Pose::from_world_to_camera(b.world_to_camera);
  cam::Pose p;
  p.R = cam::mat3_from_quat(cam::slerp(cam::quat_from_mat3(pa.R), cam::quat_from_mat3(pb.R), t));
  using cam::operator*;
  using cam::operator+;
  p.C = (1 - t) * pa.C + t * pb.C;
  Camera c = a;
  c.world_to_camera = p.world_to_camera();
  c.fx = (1 - t) * a.fx + t * b.fx;
  c.fy = (1 - t) * a.fy + t * b.fy;
  c.cx = (1 - t) * a.cx + t * b.cx;
  c.cy = (1 - t) * a.cy + t * b.cy;
  return c;
}

}  // namespace camgraph::interp
