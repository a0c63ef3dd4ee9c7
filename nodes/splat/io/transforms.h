// nerfstudio / instant-ngp transforms.json.
//
// Intrinsics come from the top level and may be overridden per frame: fl_x/fl_y/cx/cy or
// camera_angle_x/camera_angle_y, w/h, k1 k2 k3 k4 p1 p2, camera_model. transform_matrix is an
// OpenGL camera-to-world (x right, y up, z back); it is converted to an OpenCV world-to-camera.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "intrinsics.h"

namespace camgraph::splat {

using WarningFn = std::function<void(const std::string&)>;

struct TransformsFrame {
  std::string name;                  // image file name (file_path's last component)
  std::filesystem::path image_path;  // resolved, existing image file
  DistortedCamera camera;            // intrinsics at (w, h), OpenCV world-to-camera
  camgraph::Mat4 opengl_c2w{};       // transform_matrix as stored
};

struct TransformsScene {
  std::filesystem::path json_path;
  std::vector<TransformsFrame> frames;            // file order, only frames whose image exists
  std::optional<std::filesystem::path> ply_path;  // resolved ply_file_path, when given
  int skipped_frames = 0;                         // frames whose image file is missing
};

// Frames whose image is missing are skipped with a warning through `warn`.
// When w/h are absent the size is read from the image file's header.
// Throws std::runtime_error naming the file, the frame and the field on bad input.
TransformsScene read_transforms(const std::filesystem::path& json_path, const WarningFn& warn = {});

// Finds `file_path` relative to `base`: as given, or with a common image extension appended
// (instant-ngp style paths have none). Returns an empty path when nothing exists.
std::filesystem::path resolve_image_path(const std::filesystem::path& base, const std::string& file_path);

}  // namespace camgraph::splat
