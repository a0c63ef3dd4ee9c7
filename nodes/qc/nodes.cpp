// qc family: dataset.qc (scores + pass/fail for one rendered shot).
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "camgraph/node_context.h"
#include "label_truth.h"
#include "qc.h"

namespace camgraph {

namespace qc {

namespace {

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

// JSON has no infinity: PSNR of identical images is written as null.
json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// One shot's checks: each adds its scores to `rec` and a reason to `failures` when it fails.
struct ShotChecks {
  NodeContext& ctx;
  std::shared_ptr<const FrameSequenceValue> seq;
  int n = 0;
  at::Tensor frames;
  json rec = json::object();
  json failures = json::array();

  void fail_if(bool bad, const std::string& why) {
    if (bad) failures.push_back(why);
  }

  // Sharpness: Laplacian variance per frame, and each frame against its neighbours (a blurred frame
  // among sharp ones, e.g. a bad interpolation, has a low ratio).
  void sharpness() {
    const std::vector<double> sharp = laplacian_variance(frames);
    const std::vector<double> ratio = sharpness_ratios(sharp);
    const auto worst = std::min_element(ratio.begin(), ratio.end()) - ratio.begin();
    const double sharp_min_param = ctx.param_float("sharpness_min");
    const double ratio_min_param = ctx.param_float("sharpness_ratio_min");
    rec["sharpness"] = {{"mean", mean_of(sharp)},
                        {"min", *std::min_element(sharp.begin(), sharp.end())},
                        {"min_ratio", ratio[size_t(worst)]},
                        {"min_ratio_frame", worst},
                        {"per_frame", sharp}};
    fail_if(mean_of(sharp) < sharp_min_param, "sharpness: mean Laplacian variance " + std::to_string(mean_of(sharp)) +
                                                  " < sharpness_min " + std::to_string(sharp_min_param));
    fail_if(ratio[size_t(worst)] < ratio_min_param,
            "sharpness: frame " + std::to_string(worst) + " has " + std::to_string(ratio[size_t(worst)]) +
                " of its neighbours' sharpness (< sharpness_ratio_min " + std::to_string(ratio_min_param) + ")");
  }

  // VBench temporal flickering (meaningful for static cameras; moving ones score lower by design).
  void flicker() {
    const double flicker = vbench_temporal_flicker(frames);
    rec["temporal_flicker"] = flicker;
    const double flicker_min = ctx.param_float("flicker_min");
    fail_if(flicker < flicker_min,
            "temporal_flicker " + std::to_string(flicker) + " < flicker_min " + std::to_string(flicker_min));
  }

  // Motion-compensated flicker from the renderer's depth and cameras.
  void reprojection() {
    const bool have_geometry = seq->depth.defined() && seq->depth.dim() == 3 && seq->depth.size(0) == n &&
                               size_t(n) == seq->cameras.size();
    if (!have_geometry) {
      rec["reprojection"] = nullptr;
      return;
    }
    if (seq->depth.size(1) != frames.size(1) || seq->depth.size(2) != frames.size(2))
      ctx.fail_port("frames", "depth and frames differ in size");
    const Reprojection r = reprojection_flicker(frames, seq->depth, seq->cameras, ctx.param_float("depth_tolerance"));
    const std::vector<double> err(r.error.begin() + 1, r.error.end()), val(r.valid.begin() + 1, r.valid.end());
    const double max_err = err.empty() ? 0.0 : *std::max_element(err.begin(), err.end());
    const auto worst_t = err.empty() ? 0 : std::max_element(err.begin(), err.end()) - err.begin() + 1;
    rec["reprojection"] = {{"mean_error", mean_of(err)},
                           {"max_error", max_err},
                           {"worst_frame", worst_t},
                           {"valid_fraction", mean_of(val)},
                           {"per_frame", r.error}};
    const double max_param = ctx.param_float("reprojection_error_max");
    fail_if(max_err > max_param, "reprojection: frame " + std::to_string(worst_t) + " differs by " +
                                     std::to_string(max_err) +
                                     "/255 from the previous frame moved into it (> "
                                     "reprojection_error_max " +
                                     std::to_string(max_param) + ")");
  }

  // Interpolation error against full-rate ground truth.
  void interpolation() {
    if (!ctx.has_input("reference")) return;
    auto ref = ctx.input<FrameSequenceValue>("reference");
    if (ref->count() == 0) return;
    if (ref->count() != n)
      ctx.fail_port("reference", std::to_string(ref->count()) + " frames, but 'frames' has " + std::to_string(n) +
                                     ": connect the ground truth at the same rate");
    if (ref->frames.size(1) != frames.size(1) || ref->frames.size(2) != frames.size(2))
      ctx.fail_port("reference", "frame size differs from 'frames'");
    std::vector<double> ps, ss;
    for (int i = 0; i < n; ++i) {
      ctx.check_cancelled();
      ps.push_back(psnr(frames[i], ref->frames[i]));
      ss.push_back(ssim(frames[i], ref->frames[i]));
    }
    // Mean PSNR over frames with a finite value (identical frames are skipped).
    std::vector<double> finite;
    for (double p : ps)
      if (std::isfinite(p)) finite.push_back(p);
    const double min_psnr = *std::min_element(ps.begin(), ps.end());
    const double mean_ssim = mean_of(ss);
    rec["interpolation"] = {{"psnr", finite.empty() ? json(nullptr) : json(mean_of(finite))},
                            {"min_psnr", finite_or_null(min_psnr)},
                            {"ssim", mean_ssim},
                            {"min_ssim", *std::min_element(ss.begin(), ss.end())}};
    const double psnr_min = ctx.param_float("psnr_min"), ssim_min = ctx.param_float("ssim_min");
    fail_if(min_psnr < psnr_min, "interpolation: a frame has PSNR " + std::to_string(min_psnr) + " dB < psnr_min " +
                                     std::to_string(psnr_min));
    fail_if(mean_ssim < ssim_min,
            "interpolation: SSIM " + std::to_string(mean_ssim) + " < ssim_min " + std::to_string(ssim_min));
  }

  // Subject in frame from a mask sequence (its alpha channel, else its first).
  void subject_mask(json& subject, double min_area) {
    auto m = ctx.input<FrameSequenceValue>("mask");
    if (m->count() != n)
      ctx.fail_port("mask", std::to_string(m->count()) + " masks for " + std::to_string(n) + " frames");
    const at::Tensor a = m->frames.select(-1, m->frames.size(3) == 4 ? 3 : 0).to(at::kCPU, at::kDouble);
    const at::Tensor area = (a > 0.5).to(at::kDouble).flatten(1).mean(1);
    int missing = 0;
    std::vector<double> areas;
    for (int i = 0; i < n; ++i) {
      areas.push_back(area[i].item<double>());
      if (areas.back() < min_area) ++missing;
    }
    subject["mask_area"] = areas;
    subject["frames_without_subject"] = missing;
    fail_if(missing > 0, "subject: " + std::to_string(missing) + " frame(s) with less than subject_min_area " +
                             std::to_string(min_area) + " of the mask");
  }

  // Subject in frame from shot.render's info record (billboard_visible_fraction per frame and billboard).
  void subject_visible(json& subject, double min_visible) {
    const json& info = ctx.input<RecordValue>("shot_info")->record;
    if (!info.contains("billboard_visible_fraction") || !info["billboard_visible_fraction"].is_array())
      ctx.fail_port("shot_info", "the record has no 'billboard_visible_fraction' list (connect shot.render's info)");
    int missing = 0;
    std::vector<double> best;
    for (const auto& frame : info["billboard_visible_fraction"]) {
      double b = 0;
      if (frame.is_array())
        for (const auto& x : frame) b = std::max(b, x.is_number() ? x.get<double>() : 0.0);
      else if (frame.is_number()) b = frame.get<double>();
      best.push_back(b);
      if (b < min_visible) ++missing;
    }
    subject["visible_fraction"] = best;
    subject["frames_hidden"] = missing;
    fail_if(missing > 0, "subject: " + std::to_string(missing) + " frame(s) where no billboard is at least " +
                             std::to_string(min_visible) + " visible (subject_min_visible)");
  }

  // Subject in frame: a mask sequence and/or shot.render's info record.
  void subject() {
    const double min_area = ctx.param_float("subject_min_area");
    const double min_visible = ctx.param_float("subject_min_visible");
    json subject = json::object();
    if (ctx.has_input("mask")) subject_mask(subject, min_area);
    if (ctx.has_input("shot_info")) subject_visible(subject, min_visible);
    rec["subject"] = subject.empty() ? json(nullptr) : subject;
  }

  // Label truth: the motion the encoded video shows against the path's motion records.
  void label_truth() {
    const std::string label_mode = ctx.param_string("label_check");
    if (label_mode == "off" || !ctx.has_input("video") || !ctx.has_input("path")) return;
    const json& video = ctx.input<RecordValue>("video")->record;
    if (!video.contains("file") || !video["file"].is_string())
      ctx.fail_port("video", "the record has no 'file' (connect encode.video)");
    auto path = ctx.input<CameraPathValue>("path");
    const std::vector<Camera>& cams = !seq->cameras.empty() ? seq->cameras : path->cameras;
    if (cams.empty()) ctx.fail_port("path", "no cameras: the label check needs the intrinsics");
    const std::vector<cv::Mat> gray = ctx.guard("video", [&] { return decode_gray(video["file"].get<std::string>()); });
    MotionThresholds th;
    th.static_px = ctx.param_float("label_static_px");
    th.parallax = ctx.param_float("label_parallax");
    th.arc_deg = ctx.param_float("label_arc_deg");
    // Intrinsics in pixels of the video (padding/cropping to even sizes leaves them unchanged).
    const Camera& c = cams.front();
    const std::string up_mode = ctx.param_string("label_up");
    const MotionEstimate est = up_mode == "none" ? estimate_camera_motion(gray, c.fx, c.fy, c.cx, c.cy, th)
                                                 : estimate_camera_motion_gravity(gray, c.fx, c.fy, c.cx, c.cy,
                                                                                  camera_up(c, up_mode), th);
    const json label = dominant_label(path->motion);
    const bool agrees = label_agrees(est, label);
    rec["label_truth"] = {{"estimate", est.to_json()}, {"label", label}, {"agrees", agrees}};
    fail_if(label_mode == "reject" && !agrees,
            "label truth: the video shows '" + est.type + (est.direction.empty() ? "" : " " + est.direction) +
                "', the label says '" + label.value("type", "") + " " + label.value("direction", "") + "'");
  }

  // World up in camera `c`'s axes: a named axis ("+z", "-y", ...), or (auto) the world axis nearest
  // the camera's image up (-y). Only the first camera's orientation is used; later orientations come
  // from the video.
  static cv::Vec3d camera_up(const Camera& c, const std::string& up_mode) {
    const Mat4& m = c.world_to_camera;
    cv::Vec3d up_world(0, 0, 0);
    if (up_mode == "auto") {
      const cv::Vec3d image_up(-m[4], -m[5], -m[6]);
      int axis = 0;
      for (int a = 1; a < 3; ++a)
        if (std::abs(image_up[a]) > std::abs(image_up[axis])) axis = a;
      up_world[axis] = image_up[axis] > 0 ? 1 : -1;
    } else {
      up_world[up_mode[1] - 'x'] = up_mode[0] == '+' ? 1 : -1;
    }
    return cv::Vec3d(m[0] * up_world[0] + m[1] * up_world[1] + m[2] * up_world[2],
                     m[4] * up_world[0] + m[5] * up_world[1] + m[6] * up_world[2],
                     m[8] * up_world[0] + m[9] * up_world[1] + m[10] * up_world[2]);
  }
};

}  // namespace

void qc_execute(NodeContext& ctx) {
  auto seq = ctx.input<FrameSequenceValue>("frames");
  const int n = seq->count();
  if (n == 0) ctx.fail_port("frames", "the sequence has no frames");
  ShotChecks checks{ctx, seq, n, seq->frames};
  checks.sharpness();
  checks.flicker();
  checks.reprojection();
  checks.interpolation();
  checks.subject();
  checks.label_truth();

  json& rec = checks.rec;
  rec["pass"] = checks.failures.empty();
  rec["failures"] = checks.failures;
  rec["frames"] = n;
  for (const auto& f : checks.failures) ctx.warn(f.get<std::string>());
  ctx.set_record("qc", rec);
}

}  // namespace qc

void register_qc_nodes(Registry& r) {
  r.add({.type = "dataset.qc",
         .category = "Dataset",
         .title = "Quality Check",
         .doc = "Scores one shot: label truth (the camera motion the encoded video shows against the path's label), "
                "sharpness (variance of the Laplacian of luma, and each frame against its "
                "neighbours), VBench temporal flickering, motion-compensated flicker (frame t-1 moved into t "
                "through the rendered depth and cameras), PSNR/SSIM against full-rate ground truth, and the "
                "subject in frame (mask or shot.render info). Thresholds decide pass/fail; connect the record "
                "to dataset.annotate's 'qc' input. Runs on the CPU by design (OpenCV, libav decoding).",
         .inputs = {{"frames", PortType::FrameSequence, "the shot (depth + cameras enable the reprojection check)"},
                    {"reference", PortType::FrameSequence, "full-rate ground truth for interpolated frames", true},
                    {"mask", PortType::FrameSequence, "subject mask per frame (alpha, else first channel)", true},
                    {"shot_info", PortType::Record, "shot.render's info (billboard_visible_fraction)", true},
                    {"video", PortType::Record, "encode.video's record: the label check decodes this file", true},
                    {"path", PortType::CameraPath, "the camera path whose motion records made the caption", true}},
         .outputs = {{"qc", PortType::Record,
                      "{sharpness, temporal_flicker, reprojection, interpolation, subject, "
                      "pass, failures}"}},
         .params = {p_float("sharpness_min", 0, 0, 1e9, "minimum mean Laplacian variance (0..255 luma); 0 = off"),
                    p_float("sharpness_ratio_min", 0.5, 0, 1,
                            "a frame below this fraction of its neighbours' "
                            "sharpness fails"),
                    p_float("flicker_min", 0, 0, 1,
                            "minimum VBench temporal-flickering score; 0 = off (set e.g. "
                            "0.95 for static shots)"),
                    p_float("reprojection_error_max", 8, 0, 255,
                            "largest mean |frame t - frame t-1 moved into t| (0..255) of any frame"),
                    p_float("depth_tolerance", 0.02, 0, 1, "relative depth difference that counts as occlusion"),
                    p_float("psnr_min", 25, 0, 100, "minimum PSNR (dB) of any frame against the reference"),
                    p_float("ssim_min", 0.8, 0, 1, "minimum mean SSIM against the reference"),
                    p_float("subject_min_area", 0.001, 0, 1, "mask: smallest image fraction that counts as in frame"),
                    p_float("subject_min_visible", 0.25, 0, 1,
                            "shot_info: smallest visible fraction of a billboard that counts as in frame"),
                    p_enum("label_check", "report", {"off", "report", "reject"},
                           "video + path connected: estimate the motion from the video and compare it with the "
                           "label; reject = fail the item when they differ"),
                    p_float("label_static_px", 2, 0, 1000,
                            "label check: total image motion (px) below which "
                            "the video counts as static"),
                    p_float("label_parallax", 0.08, 0, 10,
                            "label check: residual/flow above which motion counts as translation"),
                    p_enum("label_up", "auto", {"auto", "+z", "-z", "+y", "-y", "+x", "-x", "none"},
                           "label check: world up for the gravity-aligned decomposition (auto: the world axis "
                           "nearest the first camera's image up; none: classify image-plane motion only)"),
                    p_float("label_arc_deg", 3, 0, 360,
                            "label check: turn (degrees) against a lateral / vertical translation that makes it "
                            "an orbit / crane")},
         .execute = qc::qc_execute});
}

}  // namespace camgraph
