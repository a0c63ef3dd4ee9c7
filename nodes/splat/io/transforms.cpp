// transforms.json (nerfstudio / instant-ngp) reader.
#include "transforms.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "camgraph/bounded_read.h"
#include "image_io.h"

namespace camgraph::splat {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kMaxImageSide = 1000000;  // as COLMAP cameras

std::string where(const fs::path& file, int frame) {
  return file.string() + (frame >= 0 ? ": frame " + std::to_string(frame) : std::string(":"));
}

// Frame value, else global value, else nullptr.
const json* lookup(const json& frame, const json& global, const char* key) {
  if (frame.is_object() && frame.contains(key) && !frame[key].is_null()) return &frame[key];
  if (global.contains(key) && !global[key].is_null()) return &global[key];
  return nullptr;
}

double number(const json* v, const fs::path& file, int frame, const char* key) {
  if (!v->is_number())
    throw std::runtime_error(where(file, frame) + " field '" + key + "' must be a number, got " + v->dump());
  const double d = v->get<double>();
  if (!std::isfinite(d)) throw std::runtime_error(where(file, frame) + " field '" + key + "' is not finite");
  return d;
}

json parse_transforms_file(const fs::path& json_path) {
  const std::string fn = json_path.string();
  // Some hundred bytes a frame: 256 MiB is a million frames.
  const json root = parse_json_bounded(read_file_bounded(json_path, uint64_t(256) << 20, "transforms.json"),
                                       json_path.string());
  if (!root.is_object()) throw std::runtime_error(fn + ": top level must be an object");
  if (!root.contains("frames") || !root["frames"].is_array()) throw std::runtime_error(fn + ": missing 'frames' array");
  return root;
}

// transform_matrix as a 4x4 (a 3x4 gets the last row of the identity); `wf` names the frame.
camgraph::Mat4 read_pose(const json& fr, const std::string& wf) {
  // Pose first: a bad matrix is an error even when the image is missing.
  if (!fr.contains("transform_matrix")) throw std::runtime_error(wf + " has no 'transform_matrix'");
  const json& tm = fr["transform_matrix"];
  if (!tm.is_array() || (tm.size() != 4 && tm.size() != 3))
    throw std::runtime_error(wf + ": 'transform_matrix' must be a 4x4 (or 3x4) array of numbers");
  camgraph::Mat4 c2w = camgraph::mat4_identity();
  for (size_t r = 0; r < tm.size(); ++r) {
    if (!tm[r].is_array() || tm[r].size() != 4)
      throw std::runtime_error(wf + ": 'transform_matrix' row " + std::to_string(r) + " must have 4 numbers");
    for (size_t c = 0; c < 4; ++c) {
      if (!tm[r][c].is_number())
        throw std::runtime_error(wf + ": 'transform_matrix'[" + std::to_string(r) + "][" + std::to_string(c) +
                                 "] is not a number");
      c2w[r * 4 + c] = tm[r][c].get<double>();
    }
  }

  // The rotation part must be a rotation (rigid transform); scaled matrices are rejected.
  double worst = 0;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      double dot = 0;
      for (int r = 0; r < 3; ++r) dot += c2w[r * 4 + a] * c2w[r * 4 + b];
      worst = std::max(worst, std::abs(dot - (a == b ? 1.0 : 0.0)));
    }
  if (worst > 1e-2)
    throw std::runtime_error(wf + ": 'transform_matrix' rotation part is not orthonormal (R^T R differs from I by " +
                             std::to_string(worst) + "); scaled or sheared poses are not supported");
  return c2w;
}

// One frame's intrinsics: its own values, else the file's top-level ones.
struct FrameIntrinsics {
  const json& fr;
  const json& root;
  const fs::path& json_path;
  int index;
  std::string wf;  // the frame, for messages

  std::optional<double> num(const char* key) const {
    const json* v = lookup(fr, root, key);
    if (!v) return std::nullopt;
    return number(v, json_path, index, key);
  }

  // Size: w/h, else the image header.
  void size(camgraph::Camera& cam, const fs::path& image) const {
    const auto w = num("w"), h = num("h");
    if (w && h) {
      if (!(*w >= 1 && *w <= kMaxImageSide && *h >= 1 && *h <= kMaxImageSide))
        throw std::runtime_error(wf + ": invalid image size w " + std::to_string(*w) + ", h " + std::to_string(*h) +
                                 " (each from 1 to " + std::to_string(kMaxImageSide) + ")");
      cam.width = int(std::lround(*w));
      cam.height = int(std::lround(*h));
    } else {
      std::pair<int, int> size;
      try {
        size = read_image_size(image);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(wf + ": no 'w'/'h', and " + e.what());
      }
      cam.width = size.first;
      cam.height = size.second;
    }
    if (cam.width <= 0 || cam.height <= 0 || cam.width > kMaxImageSide || cam.height > kMaxImageSide)
      throw std::runtime_error(wf + ": invalid image size " + std::to_string(cam.width) + "x" +
                               std::to_string(cam.height));
  }

  // Focal lengths: fl_x/fl_y, else camera_angle_x/_y. Per-frame focal keys win as a group. Then the
  // principal point (default: the image centre).
  void focal(camgraph::Camera& cam) const {
    static const char* kFocal[] = {"fl_x", "fl_y", "camera_angle_x", "camera_angle_y"};
    bool frame_focal = false;
    for (const char* k : kFocal) frame_focal = frame_focal || fr.contains(k);
    const json& fsrc = frame_focal ? fr : root;
    auto fnum = [&](const char* key) -> std::optional<double> {
      if (!fsrc.contains(key) || fsrc[key].is_null()) return std::nullopt;
      return number(&fsrc[key], json_path, frame_focal ? index : -1, key);
    };
    std::optional<double> fx = fnum("fl_x"), fy = fnum("fl_y");
    if (!fx)
      if (auto ax = fnum("camera_angle_x")) fx = 0.5 * cam.width / std::tan(0.5 * *ax);
    if (!fy)
      if (auto ay = fnum("camera_angle_y")) fy = 0.5 * cam.height / std::tan(0.5 * *ay);
    if (!fx && !fy)
      throw std::runtime_error(wf + ": no focal length (need 'fl_x'/'fl_y' or 'camera_angle_x'/'camera_angle_y')");
    cam.fx = fx ? *fx : *fy;
    cam.fy = fy ? *fy : *fx;
    if (!(cam.fx > 0) || !(cam.fy > 0) || !std::isfinite(cam.fx) || !std::isfinite(cam.fy))
      throw std::runtime_error(wf + ": focal length must be positive (fl_x " + std::to_string(cam.fx) + ", fl_y " +
                               std::to_string(cam.fy) + ")");
    cam.cx = num("cx").value_or(0.5 * cam.width);
    cam.cy = num("cy").value_or(0.5 * cam.height);
  }

  // Distortion: camera_model (default OPENCV) and its terms.
  Distortion distortion() const {
    std::string model = "OPENCV";
    if (const json* m = lookup(fr, root, "camera_model")) {
      if (!m->is_string()) throw std::runtime_error(wf + ": 'camera_model' must be a string");
      model = m->get<std::string>();
    }
    Distortion d;
    d.k1 = num("k1").value_or(0);
    d.k2 = num("k2").value_or(0);
    d.k3 = num("k3").value_or(0);
    d.k4 = num("k4").value_or(0);
    d.p1 = num("p1").value_or(0);
    d.p2 = num("p2").value_or(0);
    if (model == "OPENCV") {
      d.model = DistortionModel::OpenCV;
      if (d.k4 != 0)
        throw std::runtime_error(wf + ": 'k4' = " + std::to_string(d.k4) +
                                 " is only supported with camera_model OPENCV_FISHEYE");
    } else if (model == "OPENCV_FISHEYE") {
      d.model = DistortionModel::Fisheye;
      if (d.p1 != 0 || d.p2 != 0)
        throw std::runtime_error(wf + ": camera_model OPENCV_FISHEYE has no tangential terms, but p1/p2 are set");
    } else if (model == "PINHOLE" || model == "SIMPLE_PINHOLE") {
      d = Distortion{};
    } else {
      throw std::runtime_error(wf + ": unsupported camera_model '" + model +
                               "'; supported: OPENCV, OPENCV_FISHEYE, PINHOLE, SIMPLE_PINHOLE");
    }
    if (!d.active()) d = Distortion{};
    return d;
  }
};

}  // namespace

fs::path resolve_image_path(const fs::path& base, const std::string& file_path) {
  const fs::path p = fs::path(file_path).is_absolute() ? fs::path(file_path) : base / file_path;
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return p;
  for (const char* ext : {".png", ".jpg", ".jpeg", ".JPG", ".JPEG", ".PNG"}) {
    fs::path q = p;
    q += ext;
    if (fs::is_regular_file(q, ec)) return q;
  }
  return {};
}

TransformsScene read_transforms(const fs::path& json_path, const WarningFn& warn) {
  const std::string fn = json_path.string();
  const json root = parse_transforms_file(json_path);

  const fs::path base = json_path.parent_path();
  TransformsScene scene;
  scene.json_path = json_path;
  if (root.contains("ply_file_path")) {
    if (!root["ply_file_path"].is_string()) throw std::runtime_error(fn + ": 'ply_file_path' must be a string");
    scene.ply_path = base / root["ply_file_path"].get<std::string>();
    if (!fs::is_regular_file(*scene.ply_path))
      throw std::runtime_error(fn + ": ply_file_path '" + root["ply_file_path"].get<std::string>() +
                               "' does not exist (looked for " + scene.ply_path->string() + ")");
  }

  const json& frames = root["frames"];
  for (int i = 0; i < int(frames.size()); ++i) {
    const json& fr = frames[size_t(i)];
    if (!fr.is_object()) throw std::runtime_error(where(json_path, i) + " is not an object");
    if (!fr.contains("file_path") || !fr["file_path"].is_string())
      throw std::runtime_error(where(json_path, i) + " has no string 'file_path'");
    const std::string file_path = fr["file_path"].get<std::string>();
    const std::string wf = where(json_path, i) + " ('" + file_path + "')";
    const camgraph::Mat4 c2w = read_pose(fr, wf);

    const fs::path image = resolve_image_path(base, file_path);
    if (image.empty()) {
      ++scene.skipped_frames;
      if (warn) warn(wf + ": image not found in " + base.string() + "; frame skipped");
      continue;
    }

    TransformsFrame f;
    f.name = image.filename().string();
    f.image_path = image;
    f.opengl_c2w = c2w;
    const FrameIntrinsics intrinsics{fr, root, json_path, i, wf};
    auto& cam = f.camera.camera;
    intrinsics.size(cam, image);
    intrinsics.focal(cam);
    f.camera.distortion = intrinsics.distortion();
    cam.world_to_camera = camgraph::Camera::world_to_camera_from_opengl_c2w(c2w);
    scene.frames.push_back(std::move(f));
  }
  return scene;
}

}  // namespace camgraph::splat
