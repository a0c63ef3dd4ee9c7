// Training datasets for Gaussian Splatting: COLMAP folders and transforms.json scenes,
// assembled into undistorted, downscaled views with cameras in a normalised world.
#pragma once
#include <ATen/ATen.h>
#include <camgraph/camera.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace camgraph::splat {

struct TrainView {
  std::string name;                  // image file name (COLMAP: the model's name, relative to images/)
  at::Tensor image;                  // [H, W, 3] float32 in [0, 1], undistorted, downscaled, CPU
  camgraph::Camera camera;           // pinhole intrinsics at the image's size, world-to-camera (OpenCV axes)
  std::filesystem::path image_path;  // source image file
};

struct SceneNormalisation {  // normalised = (world - centre) * scale
  std::array<double, 3> centre{0, 0, 0};
  double scale = 1.0;
};

struct SplatDataset {
  std::vector<TrainView> train, test;  // test: every `holdout_every`-th image (0 = none)
  at::Tensor points;                   // [P, 3] initial points in normalised coordinates (may be undefined)
  at::Tensor point_colours;            // [P, 3] in [0, 1] (may be undefined)
  SceneNormalisation normalisation;
  double extent =
      1.0;  // scene radius in normalised coordinates (1.1 x max camera distance from the cameras' mean centre)
};

struct DatasetOptions {
  int downscale = 1;          // integer factor
  int max_images = 0;         // 0 = all (the first max_images by name)
  int holdout_every = 8;      // images with index % holdout_every == 0 (sorted by name) go to test; 0 = none
  bool normalise = true;      // centre on the cameras' mean centre, scale so the farthest camera is at 1
  std::string init = "auto";  // "auto" (sparse points if any, else random), "points", "ply:<path>", "random"
  int random_points = 100000;
  uint64_t seed = 0;
  bool load_images = true;  // false: views get an undefined image (cameras/points only)
  // Distorted (OPENCV) views: undistort to getOptimalNewCameraMatrix(alpha 0) and crop to its
  // valid ROI (no black fill; cameras follow). false: keep K and the full frame (black border).
  bool crop_undistorted = true;
};

// `root` has images/ and sparse/0, colmap/sparse/0 or sparse/ (binary or text model).
SplatDataset load_colmap_dataset(const std::filesystem::path& root, const DatasetOptions&,
                                 std::function<void(const std::string&)> warn = {});
SplatDataset load_transforms_dataset(const std::filesystem::path& transforms_json, const DatasetOptions&,
                                     std::function<void(const std::string&)> warn = {});
// A transforms .json file, a folder with transforms.json, or a COLMAP folder.
SplatDataset load_dataset(const std::filesystem::path& path, const DatasetOptions&,
                          std::function<void(const std::string&)> warn = {});

// The normalisation 3DGS-style loaders use: centre = mean camera centre, radius = max distance
// of a camera centre from it. With `normalise`, scale = 1 / radius (1 when radius is 0).
SceneNormalisation camera_normalisation(const std::vector<camgraph::Camera>& cameras, bool normalise,
                                        double* extent_out);
// world_to_camera for the normalised world (camera axes scaled by `scale`; projection unchanged).
camgraph::Mat4 normalise_world_to_camera(const camgraph::Mat4& w2c, const SceneNormalisation& n);

// The shared test-data folder: $CAMGRAPH_SHARED, else <source dir>/../shared (empty if absent).
std::filesystem::path shared_data_dir(const std::filesystem::path& source_dir = {});

}  // namespace camgraph::splat
