// Image decoding for datasets. With OpenCV (CAMGRAPH_SPLAT_WITH_OPENCV) images are decoded,
// undistorted (same K) and downscaled (INTER_AREA); without it loading throws a clear error.
#pragma once
#include <ATen/ATen.h>

#include <filesystem>
#include <utility>

#include "intrinsics.h"

namespace camgraph::splat {

// True when this build can decode images.
bool have_image_decoder();

// Width and height from a PNG or JPEG header (no decoding); other formats need the decoder.
// Throws naming the file when it is unreadable or not an image.
std::pair<int, int> read_image_size(const std::filesystem::path& path);

// Decodes `path` as RGB, undistorts it with `cam.distortion` keeping the pinhole K, and
// downscales by `downscale` (INTER_AREA). When the file's size differs from cam.camera's
// (same aspect ratio) intrinsics are rescaled first. Returns [H, W, 3] float32 in [0, 1] and
// sets `out_camera` to the pinhole camera at the returned size.
at::Tensor load_undistorted_image(const std::filesystem::path& path, const DistortedCamera& cam, int downscale,
                                  camgraph::Camera* out_camera);

}  // namespace camgraph::splat
