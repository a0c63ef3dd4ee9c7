// Image decoding for datasets. With OpenCV (CAMGRAPH_SPLAT_WITH_OPENCV) images are decoded,
// undistorted and downscaled (INTER_AREA); without it loading throws a clear error.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>

#include "intrinsics.h"

namespace camgraph::splat {

// True when this build can decode images.
bool have_image_decoder();

// Width and height from a PNG or JPEG header (no decoding); other formats need the decoder.
// Throws naming the file when it is unreadable or not an image.
std::pair<int, int> read_image_size(const std::filesystem::path& path);
// The same from the header alone: nullopt when the file is neither PNG nor JPEG. A header that
// declares a non-positive size throws.
std::optional<std::pair<int, int>> read_image_header_size(const std::filesystem::path& path);

// The most pixels an image may have (a decoded float RGB copy is 12 bytes a pixel): a file whose
// header declares more is refused before it is decoded.
constexpr int64_t kMaxImagePixels = int64_t(1) << 27;

// Where the undistorted image lies: its pinhole camera (size = the kept region) and the kept
// region's top-left corner in the full-size undistorted image.
struct UndistortedGeometry {
  camgraph::Camera camera;  // intrinsics at (camera.width, camera.height), pose of the input
  int roi_x = 0, roi_y = 0;
  bool undistort = false;  // false: the image is used as stored
};

// The geometry of undistorting `cam` (at cam.camera's size). Active OPENCV distortion with
// `crop` (the default): as OpenSplat/COLMAP's undistorter, K' = getOptimalNewCameraMatrix(K, dist,
// size, alpha = 0) and the valid ROI it returns, so no black fill remains; the camera is K' moved
// by the ROI's corner, at the ROI's size. Without `crop`, and for fisheye: the original K and size.
// Without distortion, or in builds without OpenCV: cam.camera unchanged.
UndistortedGeometry undistorted_geometry(const DistortedCamera& cam, bool crop = true);

// Decodes `path` as RGB, undistorts it with `cam.distortion` as undistorted_geometry(cam, crop)
// says (crop to the valid region by default), then downscales by `downscale` (INTER_AREA). When
// the file's size differs from cam.camera's (same aspect ratio) intrinsics are rescaled first.
// Returns [H, W, 3] float32 in [0, 1] and sets `out_camera` to the pinhole camera at the
// returned size.
at::Tensor load_undistorted_image(const std::filesystem::path& path, const DistortedCamera& cam, int downscale,
                                  camgraph::Camera* out_camera, bool crop = true);

}  // namespace camgraph::splat
