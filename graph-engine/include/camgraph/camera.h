// A pinhole camera: intrinsics in pixels and a world-to-camera transform. No torch.
// Axes: OpenCV (x right, y down, z forward). Matrices row-major.
#pragma once
#include <array>
#include <nlohmann/json.hpp>

namespace camgraph {

using Mat4 = std::array<double, 16>;  // row-major 4x4
using Vec3 = std::array<double, 3>;

Mat4 mat4_identity();
Mat4 mat4_mul(const Mat4& a, const Mat4& b);
Mat4 mat4_rigid_inverse(const Mat4& m);  // inverse of [R t; 0 1]

struct Camera {
  int width = 0, height = 0;
  double fx = 0, fy = 0, cx = 0, cy = 0;  // pixels
  Mat4 world_to_camera = mat4_identity();

  Mat4 camera_to_world() const { return mat4_rigid_inverse(world_to_camera); }
  Vec3 position() const;  // camera centre in world coordinates
  // From an OpenGL/NeRF camera-to-world (x right, y up, z backward).
  static Mat4 world_to_camera_from_opengl_c2w(const Mat4& c2w);
  // world_to_camera for a camera at `eye` looking at `target`, with `up` pointing up in the image.
  static Mat4 look_at(const Vec3& eye, const Vec3& target, const Vec3& up);
  // A centred pinhole camera of the given vertical field of view (degrees).
  static Camera from_fov(int width, int height, double fov_y_degrees, const Mat4& world_to_camera);
  // The same camera rendered at another size (intrinsics scaled).
  Camera resized(int new_width, int new_height) const;
  bool operator==(const Camera& o) const;

  nlohmann::json to_json() const;
  static Camera from_json(const nlohmann::json& j);  // throws std::runtime_error on bad input
};

}  // namespace camgraph
