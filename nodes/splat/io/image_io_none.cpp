// Builds without OpenCV: no image decoding.
#include <stdexcept>

#include "image_io.h"

namespace camgraph::splat {

bool have_image_decoder() { return false; }

// getOptimalNewCameraMatrix needs OpenCV: cameras stay as stored (no image can be loaded anyway).
UndistortedGeometry undistorted_geometry(const DistortedCamera& cam, bool) {
  UndistortedGeometry g;
  g.camera = cam.camera;
  return g;
}

at::Tensor load_undistorted_image(const std::filesystem::path& path, const DistortedCamera&, int, camgraph::Camera*,
                                  bool) {
  throw std::runtime_error(path.string() + ": cannot load image: this build has no image decoder (OpenCV)");
}

}  // namespace camgraph::splat
