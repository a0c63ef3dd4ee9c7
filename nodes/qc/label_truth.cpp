// Label truth: corner tracks (Shi-Tomasi + pyramidal Lucas-Kanade, forward-backward checked) between
// consecutive frames; per pair a pure-rotation fit (Kabsch on the bearing vectors K^-1 p) and a
// similarity fit (RANSAC); the residuals separate rotation/zoom (no parallax) from translation.
#include "label_truth.h"

#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "camgraph/formats/video_reader.h"

namespace camgraph::qc {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

nlohmann::json MotionEstimate::to_json() const {
  nlohmann::json j = {
      {"type", type},          {"direction", direction},        {"frame", frame},         {"shift_x_px", shift_x},
      {"shift_y_px", shift_y}, {"roll_deg", roll_deg},          {"log_scale", log_scale}, {"parallax", parallax},
      {"pairs", pairs},        {"tracked_pairs", tracked_pairs}};
  if (frame == "gravity") {
    j["rotation_deg"] = {{"pan", pan_deg}, {"tilt", tilt_deg}, {"roll", roll_axis_deg}};
    j["translation_px"] = {{"right", move_right_px}, {"up", move_up_px}, {"forward", move_forward_px}};
    j["segments"] = segments;
  }
  return j;
}

namespace {

// Pure rotation between two views: b1 = R b0 on unit bearings K^-1 p (Kabsch); per-point reprojection
// residual (px) of the model.
cv::Matx33d kabsch_rotation(const std::vector<cv::Point2f>& q0, const std::vector<cv::Point2f>& q1,
                            const cv::Matx33d& K, std::vector<double>& residual) {
  const cv::Matx33d Ki = K.inv();
  cv::Matx33d H = cv::Matx33d::zeros();
  std::vector<cv::Vec3d> b0(q0.size());
  for (size_t i = 0; i < q0.size(); ++i) {
    cv::Vec3d u = Ki * cv::Vec3d(q0[i].x, q0[i].y, 1), v = Ki * cv::Vec3d(q1[i].x, q1[i].y, 1);
    u /= cv::norm(u);
    v /= cv::norm(v);
    b0[i] = u;
    H += u * v.t();
  }
  cv::Mat w, U, Vt;
  cv::SVD::compute(cv::Mat(H), w, U, Vt);
  cv::Mat Rm = Vt.t() * U.t();
  if (cv::determinant(Rm) < 0) {
    cv::Mat D = cv::Mat::eye(3, 3, CV_64F);
    D.at<double>(2, 2) = -1;
    Rm = Vt.t() * D * U.t();
  }
  const cv::Matx33d R(Rm);
  residual.clear();
  for (size_t i = 0; i < q0.size(); ++i) {
    const cv::Vec3d p = K * (R * b0[i]);
    residual.push_back(std::hypot(p[0] / p[2] - q1[i].x, p[1] / p[2] - q1[i].y));
  }
  return R;
}

// Similarity q1 ~ s Rot(theta) q0 + t (RANSAC); median residual (px), 1e9 when it fails.
double similarity_fit(const std::vector<cv::Point2f>& q0, const std::vector<cv::Point2f>& q1, double& scale,
                      double& theta) {
  std::vector<uchar> inl;
  const cv::Mat M = cv::estimateAffinePartial2D(q0, q1, inl, cv::RANSAC, 1.0);
  scale = 1;
  theta = 0;
  if (M.empty()) return 1e9;
  std::vector<double> r;
  for (size_t i = 0; i < q0.size(); ++i) {
    const double x = M.at<double>(0, 0) * q0[i].x + M.at<double>(0, 1) * q0[i].y + M.at<double>(0, 2);
    const double y = M.at<double>(1, 0) * q0[i].x + M.at<double>(1, 1) * q0[i].y + M.at<double>(1, 2);
    r.push_back(std::hypot(x - q1[i].x, y - q1[i].y));
  }
  scale = std::hypot(M.at<double>(0, 0), M.at<double>(1, 0));
  theta = std::atan2(M.at<double>(1, 0), M.at<double>(0, 0));
  return median(r);
}

// What both classifiers measure on one pair of tracked point sets (q0 -> q1): the rotation fit on
// unit bearings (b1 = R b0, Kabsch) and the image similarity (in-image rotation, uniform scale);
// the principal point's shift under R (pan/tilt or truck/pedestal), the in-image rotation and the
// log scale are added to `e` and `theta_sum`. `parallax`: how badly the better of the two models
// fits, relative to the median flow (-1 when the flow is too small to say).
struct PairFit {
  cv::Matx33d R;
  double parallax = -1;
};

PairFit fit_pair(const std::vector<cv::Point2f>& q0, const std::vector<cv::Point2f>& q1, const cv::Matx33d& K,
                 double cx, double cy, MotionEstimate& e, double& theta_sum) {
  std::vector<double> flow;
  for (size_t i = 0; i < q0.size(); ++i) flow.push_back(cv::norm(q1[i] - q0[i]));
  const double med_flow = median(flow);
  std::vector<double> res_rot;
  PairFit f;
  f.R = kabsch_rotation(q0, q1, K, res_rot);
  double scale = 1, theta = 0;
  const double res_sim = similarity_fit(q0, q1, scale, theta);
  const cv::Vec3d c = K * (f.R * cv::Vec3d(0, 0, 1));
  e.shift_x += c[0] / c[2] - cx;
  e.shift_y += c[1] / c[2] - cy;
  theta_sum += theta;
  e.log_scale += std::log(scale);
  if (med_flow > 0.3) f.parallax = std::min(median(res_rot), res_sim) / med_flow;
  return f;
}

// Tracks `p0` from a to b (pyramidal LK, forward-backward within 0.5 px); keeps the survivors in p0 /
// `keys` (their positions in the key frame) and returns their positions in b.
std::vector<cv::Point2f> track(const cv::Mat& a, const cv::Mat& b, std::vector<cv::Point2f>& p0,
                               std::vector<cv::Point2f>& keys) {
  if (p0.empty()) return {};
  std::vector<cv::Point2f> p1, back, k0, q0, q1;
  std::vector<uchar> st, st_back;
  std::vector<float> err;
  cv::calcOpticalFlowPyrLK(a, b, p0, p1, st, err, cv::Size(21, 21), 3);
  cv::calcOpticalFlowPyrLK(b, a, p1, back, st_back, err, cv::Size(21, 21), 3);
  for (size_t i = 0; i < p0.size(); ++i)
    if (st[i] && st_back[i] && cv::norm(back[i] - p0[i]) < 0.5) {
      k0.push_back(keys[i]);
      q1.push_back(p1[i]);
    }
  keys = k0;
  p0 = q1;
  return q1;
}

}  // namespace

MotionEstimate estimate_camera_motion(const std::vector<cv::Mat>& gray, double fx, double fy, double cx, double cy,
                                      const MotionThresholds& th) {
  MotionEstimate e;
  const cv::Matx33d K(fx, 0, cx, 0, fy, cy, 0, 0, 1);
  std::vector<double> parallax;
  double theta_sum = 0;
  for (size_t t = 1; t < gray.size(); ++t) {
    ++e.pairs;
    const cv::Mat& a = gray[t - 1];
    const cv::Mat& b = gray[t];
    std::vector<cv::Point2f> p0, p1, back;
    cv::goodFeaturesToTrack(a, p0, 600, 0.005, 5);
    if (p0.size() < 12) continue;
    std::vector<uchar> st, st_back;
    std::vector<float> err;
    cv::calcOpticalFlowPyrLK(a, b, p0, p1, st, err, cv::Size(21, 21), 3);
    cv::calcOpticalFlowPyrLK(b, a, p1, back, st_back, err, cv::Size(21, 21), 3);
    std::vector<cv::Point2f> q0, q1;
    for (size_t i = 0; i < p0.size(); ++i)
      if (st[i] && st_back[i] && cv::norm(back[i] - p0[i]) < 0.5) {
        q0.push_back(p0[i]);
        q1.push_back(p1[i]);
      }
    if (q0.size() < 12) continue;
    ++e.tracked_pairs;
    const PairFit f = fit_pair(q0, q1, K, cx, cy, e, theta_sum);
    if (f.parallax >= 0) parallax.push_back(f.parallax);
  }
  e.roll_deg = theta_sum * 180.0 / M_PI;
  e.parallax = median(parallax);

  // Dominant component in pixel equivalents at a radius of a quarter of the image diagonal.
  const double radius = 0.5 * std::hypot(cx, cy);
  const double h = std::abs(e.shift_x), v = std::abs(e.shift_y);
  const double r = std::abs(theta_sum) * radius, s = std::abs(e.log_scale) * radius;
  const double top = std::max({h, v, r, s});
  const bool translation = e.parallax > th.parallax;
  if (top < th.static_px) {
    e.type = "static";
    e.direction = "";
  } else if (top == h) {
    e.type = translation ? "truck" : "pan";
    e.direction = e.shift_x > 0 ? "left" : "right";
  } else if (top == v) {
    e.type = translation ? "pedestal" : "tilt";
    e.direction = e.shift_y > 0 ? "up" : "down";
  } else if (top == r) {
    e.type = "roll";
    // A clockwise camera roll turns the content counter-clockwise on screen.
    e.direction = theta_sum < 0 ? "clockwise" : "counterclockwise";
  } else {
    e.type = translation ? "dolly" : "zoom";
    e.direction = e.log_scale > 0 ? "in" : "out";
  }
  return e;
}

std::vector<cv::Mat> decode_gray(const std::string& file) {
  // The shared reader's default bounds (dataset clips are seconds long): 2^26 pixels a frame, 20000
  // frames, 2 GiB of grey pixels in all.
  std::vector<cv::Mat> frames;
  video::decode_video(file, video::Pixels::Gray8, [&](const video::FrameView& f) {
    frames.push_back(cv::Mat(f.height, f.width, CV_8UC1, const_cast<uint8_t*>(f.data), f.stride).clone());
    return true;
  });
  return frames;
}

MotionEstimate estimate_camera_motion_gravity(const std::vector<cv::Mat>& gray, double fx, double fy, double cx,
                                              double cy, const cv::Vec3d& up_cam0, const MotionThresholds& th) {
  cv::Vec3d up = up_cam0 / std::max(1e-12, cv::norm(up_cam0));
  if (std::abs(up[2]) > 0.95 || gray.size() < 2) return estimate_camera_motion(gray, fx, fy, cx, cy, th);
  MotionEstimate e;
  e.frame = "gravity";
  const cv::Matx33d K(fx, 0, cx, 0, fy, cy, 0, 0, 1);
  const cv::Mat Km(K);
  std::vector<double> parallax;
  double theta_sum = 0, pan = 0, tilt = 0, roll = 0;
  const double key_flow_px = 8.0;

  // One segment: key frame points q0 -> current points q1.
  auto segment = [&](const std::vector<cv::Point2f>& q0, const std::vector<cv::Point2f>& q1) {
    if (q0.size() < 12) return;
    ++e.segments;
    const PairFit f = fit_pair(q0, q1, K, cx, cy, e, theta_sum);
    cv::Matx33d R = f.R;  // points: X1 = R X0 (+ t)
    if (f.parallax >= 0) {
      const double ratio = f.parallax;
      parallax.push_back(ratio);
      if (ratio > th.parallax && q0.size() >= 8) {
        // Parallax: the essential matrix gives the rotation without the translation's share, and the
        // translation direction.
        cv::Mat mask;
        const cv::Mat E = cv::findEssentialMat(q0, q1, Km, cv::RANSAC, 0.999, 1.0, mask);
        if (E.rows >= 3 && E.cols == 3) {
          cv::Mat Re, te;
          const int good = cv::recoverPose(E.rowRange(0, 3), q0, q1, Km, Re, te, mask);
          if (good >= 8) {
            R = cv::Matx33d(Re);
            const cv::Vec3d t(te.at<double>(0), te.at<double>(1), te.at<double>(2));
            const cv::Vec3d d = -(R.t() * t);  // camera centre moves by d (camera-t coordinates)
            // Rotation-compensated flow: how far the translation moved the points (px).
            std::vector<double> tf;
            const cv::Matx33d Ki = K.inv();
            for (size_t i = 0; i < q0.size(); ++i) {
              const cv::Vec3d p = K * (R * (Ki * cv::Vec3d(q0[i].x, q0[i].y, 1)));
              tf.push_back(std::hypot(p[0] / p[2] - q1[i].x, p[1] / p[2] - q1[i].y));
            }
            const double w = median(tf);
            cv::Vec3d xh = cv::Vec3d(1, 0, 0) - up[0] * up;
            xh /= cv::norm(xh);
            const cv::Matx33d B(xh[0], up[0], 0, xh[1], up[1], 0, xh[2], up[2], 1);
            const cv::Vec3d m = B.solve(d, cv::DECOMP_LU);
            const double n = std::max(1e-12, cv::norm(m));
            e.move_right_px += w * m[0] / n;
            e.move_up_px += w * m[1] / n;
            e.move_forward_px += w * m[2] / n;
          }
        }
      }
    }
    // Camera rotation (camera-to-world increment, camera-t coordinates) = R^T; its axis-angle vector on
    // (world up, horizontal right, optical axis).
    cv::Vec3d omega;
    cv::Rodrigues(cv::Mat(R.t()), omega);
    cv::Vec3d xh = cv::Vec3d(1, 0, 0) - up[0] * up;
    xh /= cv::norm(xh);
    const cv::Matx33d B(up[0], xh[0], 0, up[1], xh[1], 0, up[2], xh[2], 1);
    const cv::Vec3d a = B.solve(omega, cv::DECOMP_LU);
    pan += a[0];
    tilt += a[1];
    roll += a[2];
    up = R * up;  // world up in the next key frame's coordinates
    up /= cv::norm(up);
  };

  std::vector<cv::Point2f> keys, cur;
  cv::goodFeaturesToTrack(gray[0], keys, 600, 0.005, 5);
  cur = keys;
  for (size_t t = 1; t < gray.size(); ++t) {
    ++e.pairs;
    track(gray[t - 1], gray[t], cur, keys);
    if (cur.size() >= 12) ++e.tracked_pairs;
    std::vector<double> moved;
    for (size_t i = 0; i < cur.size(); ++i) moved.push_back(cv::norm(cur[i] - keys[i]));
    const bool last = t + 1 == gray.size();
    if (cur.size() < 60 || median(moved) >= key_flow_px || last) {
      segment(keys, cur);
      if (!last) {
        cv::goodFeaturesToTrack(gray[t], keys, 600, 0.005, 5);
        cur = keys;
      }
    }
  }
  e.roll_deg = theta_sum * 180.0 / M_PI;
  e.parallax = median(parallax);
  e.pan_deg = pan * 180.0 / M_PI;
  e.tilt_deg = tilt * 180.0 / M_PI;
  e.roll_axis_deg = roll * 180.0 / M_PI;

  // Static: the image-plane motion (as in estimate_camera_motion) stays under static_px.
  const double radius = 0.5 * std::hypot(cx, cy);
  const double image_top = std::max(
      {std::abs(e.shift_x), std::abs(e.shift_y), std::abs(theta_sum) * radius, std::abs(e.log_scale) * radius});
  if (image_top < th.static_px) {
    e.type = "static";
    e.direction = "";
    return e;
  }
  auto sgn = [](double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; };
  if (e.parallax > th.parallax) {
    const double h = std::abs(e.move_right_px), v = std::abs(e.move_up_px), z = std::abs(e.move_forward_px);
    if (h >= v && h >= z) {
      // Orbit right: moves right and turns left (pan > 0); orbit left: moves left, turns right.
      const bool arc = sgn(e.pan_deg) == sgn(e.move_right_px) && std::abs(e.pan_deg) >= th.arc_deg;
      e.type = arc ? "orbit" : "truck";
      e.direction = e.move_right_px > 0 ? "right" : "left";
    } else if (v >= z) {
      // Crane up: rises and tilts down to keep the target.
      const bool arc = sgn(e.tilt_deg) == -sgn(e.move_up_px) && std::abs(e.tilt_deg) >= th.arc_deg;
      e.type = arc ? "crane" : "pedestal";
      e.direction = e.move_up_px > 0 ? "up" : "down";
    } else {
      e.type = "dolly";
      e.direction = e.move_forward_px > 0 ? "in" : "out";
    }
    return e;
  }
  const double f = 0.5 * (fx + fy);
  const double p = std::abs(pan) * f, tl = std::abs(tilt) * f, r = std::abs(roll) * radius,
               s = std::abs(e.log_scale) * radius;
  const double top = std::max({p, tl, r, s});
  if (top == p) {
    e.type = "pan";
    e.direction = pan > 0 ? "left" : "right";
  } else if (top == tl) {
    e.type = "tilt";
    e.direction = tilt > 0 ? "up" : "down";
  } else if (top == r) {
    e.type = "roll";
    e.direction = roll > 0 ? "clockwise" : "counterclockwise";
  } else {
    e.type = "zoom";
    e.direction = e.log_scale > 0 ? "in" : "out";
  }
  return e;
}

nlohmann::json dominant_label(const nlohmann::json& motion) {
  nlohmann::json best = {{"type", "static"}, {"direction", ""}};
  long span = -1;
  if (!motion.is_array()) return best;
  for (const auto& m : motion) {
    if (!m.is_object() || m.value("type", "") == "static") continue;
    long s = 0;
    if (m.contains("frames") && m["frames"].is_array() && m["frames"].size() == 2)
      s = m["frames"][1].get<long>() - m["frames"][0].get<long>();
    if (s > span) {
      span = s;
      best = {{"type", m.value("type", "")}, {"direction", m.value("direction", "")}};
    }
  }
  const std::string t = best["type"];
  if (t == "arc") best["type"] = "orbit";
  else if (t == "dolly_zoom") best["type"] = "dolly";
  return best;
}

nlohmann::json image_equivalent_label(const nlohmann::json& label) {
  const std::string t = label.value("type", "");
  const std::string d = label.value("direction", "");
  // An orbit turns the camera to keep the target centred; for the scene behind the target (most of the
  // frame) the turn outweighs the translation, so the image moves like a truck the other way (orbit
  // left: like truck right); a crane likewise looks like the opposite pedestal (measured:
  // LabelTruth.OneRenderedClipPerMotionType).
  auto opposite = [](const std::string& x) {
    return x == "left" ? "right" : x == "right" ? "left" : x == "up" ? "down" : x == "down" ? "up" : x;
  };
  if (t == "orbit" || t == "arc") return {{"type", "truck"}, {"direction", opposite(d)}};
  if (t == "crane") return {{"type", "pedestal"}, {"direction", opposite(d)}};
  if (t == "dolly_zoom") return {{"type", "dolly"}, {"direction", d}};
  return label;
}

bool label_agrees(const MotionEstimate& e, const nlohmann::json& label) {
  const nlohmann::json l = e.frame == "gravity" ? label : image_equivalent_label(label);
  return e.type == l.value("type", "") && (e.type == "static" || e.direction == l.value("direction", ""));
}

}  // namespace camgraph::qc
