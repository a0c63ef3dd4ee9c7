// Label truth: the camera motion a video shows, estimated from the pixels alone (tracked corners ->
// per frame pair a rotation model K R K^-1 and a similarity), classified into the CameraBench verbs
// of docs/camera-motion.md, and compared with the motion records the caption was made from.
#pragma once
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace camgraph::qc {

struct MotionEstimate {
  std::string type = "static", direction;  // CameraBench verb and direction; "static" has none
  double shift_x = 0, shift_y = 0;  // image shift of the principal point, summed over pairs (px; + = scene moves right / down)
  double roll_deg = 0;              // in-image rotation summed (degrees; + = content turns clockwise on screen)
  double log_scale = 0;             // log of the similarity scale, summed (+ = content grows)
  double parallax = 0;              // median over moving pairs: best global model's residual / median flow
  int pairs = 0, tracked_pairs = 0;
  nlohmann::json to_json() const;
};

struct MotionThresholds {
  double static_px = 2.0;   // below this total image motion (px equivalents) the clip is static
  double parallax = 0.08;   // above: translation (truck/pedestal/dolly), below: rotation/zoom
};

// Gray 8-bit frames of one clip; K in pixels of those frames.
MotionEstimate estimate_camera_motion(const std::vector<cv::Mat>& gray, double fx, double fy, double cx, double cy,
                                      const MotionThresholds& th = {});

// Every frame of the first video stream of `file` as 8-bit luma (libavformat/libavcodec/libswscale).
// Throws std::runtime_error naming the file on failure.
std::vector<cv::Mat> decode_gray(const std::string& file);

// The label the estimate should match: the motion record with the largest frame span (ties: the first);
// {"type": "static"} for none. Orbit and crane are compared as what the image shows: a truck / pedestal
// in the opposite direction (orbit left looks like truck right); dolly_zoom as dolly.
nlohmann::json dominant_label(const nlohmann::json& motion_records);
bool label_agrees(const MotionEstimate& e, const nlohmann::json& label);

}  // namespace camgraph::qc
