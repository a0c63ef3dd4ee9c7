// Builds without OpenCV: no image decoding.
#include <stdexcept>

#include "image_io.h"

namespace camgraph::splat {

bool have_image_decoder() { return false; }

at::Tensor load_undistorted_image(const std::filesystem::path& path, const DistortedCamera&, int, camgraph::Camera*) {
  throw std::runtime_error(path.string() + ": cannot load image: this build has no image decoder (OpenCV)");
}

}  // namespace camgraph::splat
