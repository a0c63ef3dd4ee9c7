// Camera intrinsics with lens distortion, as read from COLMAP and transforms.json.
// Pixel coordinates follow COLMAP/OpenCV: (0, 0) is the top-left corner of the first pixel.
#pragma once
#include <camgraph/camera.h>

#include <string>

namespace camgraph::splat {

enum class DistortionModel {
  None,     // pinhole
  OpenCV,   // k1 k2 p1 p2 k3 (Brown-Conrady; SIMPLE_RADIAL/RADIAL are special cases)
  Fisheye,  // OpenCV fisheye (equidistant) k1 k2 k3 k4
};

struct Distortion {
  DistortionModel model = DistortionModel::None;
  double k1 = 0, k2 = 0, k3 = 0, k4 = 0, p1 = 0, p2 = 0;
  // True when undistortion would change the image.
  bool active() const {
    return model != DistortionModel::None && (k1 != 0 || k2 != 0 || k3 != 0 || k4 != 0 || p1 != 0 || p2 != 0);
  }
  bool operator==(const Distortion& o) const {
    return model == o.model && k1 == o.k1 && k2 == o.k2 && k3 == o.k3 && k4 == o.k4 && p1 == o.p1 && p2 == o.p2;
  }
};

// A view's camera as stored in a dataset: pinhole part (+ pose) and its distortion.
struct DistortedCamera {
  camgraph::Camera camera;  // intrinsics at (camera.width, camera.height), world-to-camera
  Distortion distortion;
};

}  // namespace camgraph::splat
