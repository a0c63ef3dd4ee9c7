// COLMAP sparse models: cameras, images, points3D in binary (.bin) or text (.txt) form.
// Format reference: COLMAP "Output format" documentation (facts only).
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "intrinsics.h"

namespace camgraph::splat {

struct ColmapCamera {
  int id = 0;
  std::string model;  // SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV
  int width = 0, height = 0;
  std::vector<double> params;  // in COLMAP's order for the model

  // Pinhole intrinsics (world_to_camera left as identity) and distortion.
  DistortedCamera to_camera() const;
};

struct ColmapImage {
  int id = 0;
  std::array<double, 4> qvec{1, 0, 0, 0};  // world-to-camera rotation, w x y z
  std::array<double, 3> tvec{0, 0, 0};     // world-to-camera translation
  int camera_id = 0;
  std::string name;  // path relative to the images folder
  int64_t num_points2d = 0;

  camgraph::Mat4 world_to_camera() const;  // OpenCV axes (COLMAP's convention)
};

struct ColmapPoint {
  int64_t id = 0;
  std::array<double, 3> xyz{0, 0, 0};
  std::array<uint8_t, 3> rgb{0, 0, 0};
  double error = 0;
};

struct ColmapModel {
  std::map<int, ColmapCamera> cameras;  // by id
  std::vector<ColmapImage> images;      // file order
  std::vector<ColmapPoint> points;      // file order
};

// Supported models, with COLMAP's numeric ids and parameter counts.
struct ColmapModelInfo {
  int id;
  const char* name;
  int num_params;
  bool supported;
};
const ColmapModelInfo* colmap_model_by_id(int id);  // nullptr when unknown
const ColmapModelInfo* colmap_model_by_name(const std::string& name);
std::string colmap_supported_models();  // "SIMPLE_PINHOLE, PINHOLE, ..."

// Reads a model folder (e.g. sparse/0): binary when cameras.bin exists, else text.
// Throws std::runtime_error naming the file, the record and the problem.
ColmapModel read_colmap_model(const std::filesystem::path& folder);
bool is_colmap_model_folder(const std::filesystem::path& folder);

std::map<int, ColmapCamera> read_colmap_cameras_bin(const std::filesystem::path& file);
std::vector<ColmapImage> read_colmap_images_bin(const std::filesystem::path& file);
std::vector<ColmapPoint> read_colmap_points_bin(const std::filesystem::path& file);
std::map<int, ColmapCamera> read_colmap_cameras_txt(const std::filesystem::path& file);
std::vector<ColmapImage> read_colmap_images_txt(const std::filesystem::path& file);
std::vector<ColmapPoint> read_colmap_points_txt(const std::filesystem::path& file);

// Rotation matrix (row-major 3x3) of a unit quaternion w x y z (normalised first).
std::array<double, 9> quat_to_rotation(const std::array<double, 4>& q);

}  // namespace camgraph::splat
