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
  // "image": classified from image-plane quantities (shift, in-image rotation, scale) alone;
  // "gravity": rotation axis and translation direction expressed in a gravity-aligned frame built from
  // the first camera's orientation (see estimate_camera_motion_gravity).
  std::string frame = "image";
  double shift_x = 0,
         shift_y = 0;    // image shift of the principal point, summed over pairs (px; + = scene moves right / down)
  double roll_deg = 0;   // in-image rotation summed (degrees; + = content turns clockwise on screen)
  double log_scale = 0;  // log of the similarity scale, summed (+ = content grows)
  double parallax = 0;   // median over moving pairs: best global model's residual / median flow
  int pairs = 0, tracked_pairs = 0;
  // Gravity frame only: camera rotation summed over the clip, decomposed on (world up, horizontal right,
  // optical axis): pan (+ = left, about world up), tilt (+ = up, about the horizontal right axis), roll
  // (+ = clockwise, about the optical axis), degrees.
  double pan_deg = 0, tilt_deg = 0, roll_axis_deg = 0;
  // Gravity frame only: camera translation on (horizontal right, world up, optical axis), each segment's
  // unit direction (essential matrix) weighted by its rotation-compensated flow (px).
  double move_right_px = 0, move_up_px = 0, move_forward_px = 0;
  int segments = 0;
  nlohmann::json to_json() const;
};

struct MotionThresholds {
  double static_px = 2.0;  // below this total image motion (px equivalents) the clip is static
  double parallax = 0.08;  // above: translation (truck/pedestal/dolly), below: rotation/zoom
  double arc_deg = 3.0;    // gravity frame: a translation with at least this much opposite turn is an orbit / crane
};

// Gray 8-bit frames of one clip; K in pixels of those frames.
MotionEstimate estimate_camera_motion(const std::vector<cv::Mat>& gray, double fx, double fy, double cx, double cy,
                                      const MotionThresholds& th = {});

// The same from the video, but the inter-frame rotation (K known: Kabsch on bearings K^-1 p without
// parallax, else cv::findEssentialMat + recoverPose, which also gives the translation direction) is
// expressed in a gravity-aligned frame: `up_cam0` is the world up direction in the first camera's
// coordinates (OpenCV axes); later orientations are propagated with the estimated rotations (the claimed
// trajectory is not used). Frames are tracked in segments (a new key frame once the median track moved
// 8 px) so the essential matrix sees a usable baseline. Classifies pan (about world up), tilt (about the
// horizontal right axis), roll (about the optical axis), zoom (scale without parallax), truck / pedestal /
// dolly (translation along horizontal right / world up / optical axis), orbit (lateral translation with
// a turn the opposite way: orbit left = move left + turn right) and crane (vertical translation with the
// opposite tilt). Falls back to estimate_camera_motion when up is (nearly) the optical axis.
MotionEstimate estimate_camera_motion_gravity(const std::vector<cv::Mat>& gray, double fx, double fy, double cx,
                                              double cy, const cv::Vec3d& up_cam0, const MotionThresholds& th = {});

// Every frame of the best video stream of `file` as 8-bit luma, through the shared reader
// (camgraph/formats/video_reader.h, its default bounds). Throws video::VideoError naming the file.
std::vector<cv::Mat> decode_gray(const std::string& file);

// The label the estimate should match: the motion record with the largest frame span (ties: the first);
// {"type": "static"} for none; arc as orbit, dolly_zoom as dolly.
nlohmann::json dominant_label(const nlohmann::json& motion_records);
// What an orbit / crane looks like to the image-plane classifier: the camera turns to keep the target
// centred and for the scene behind it the turn outweighs the move, so orbit left looks like truck right
// and crane up like pedestal down. Other labels unchanged.
nlohmann::json image_equivalent_label(const nlohmann::json& label);
// Gravity-frame estimates are compared with the label as it is, image-frame ones with its image equivalent.
bool label_agrees(const MotionEstimate& e, const nlohmann::json& label);

}  // namespace camgraph::qc
