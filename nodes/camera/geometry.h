// Small 3D helpers for camera paths and billboards: vectors, 3x3 rotations, quaternions, poses,
// the scene "up" direction and the billboard quad. No torch; all double precision.
// Conventions: camera axes OpenCV (x right, y down, z forward); a pose's rotation R is
// camera-to-world (its columns are the camera axes in world coordinates); quaternions (w, x, y, z).
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "camgraph/camera.h"

namespace camgraph::cam {

using Mat3 = std::array<double, 9>;  // row-major
using Quat = std::array<double, 4>;  // w, x, y, z

inline Vec3 operator+(const Vec3& a, const Vec3& b) { return {a[0] + b[0], a[1] + b[1], a[2] + b[2]}; }
inline Vec3 operator-(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
inline Vec3 operator*(double s, const Vec3& a) { return {s * a[0], s * a[1], s * a[2]}; }
inline double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
inline Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
inline double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }
Vec3 normalised(const Vec3& v);  // throws std::runtime_error on a zero vector

Mat3 mat3_mul(const Mat3& a, const Mat3& b);
Mat3 mat3_transpose(const Mat3& a);
Vec3 mat3_apply(const Mat3& m, const Vec3& v);
Vec3 mat3_column(const Mat3& m, int c);
Mat3 axis_angle(const Vec3& axis, double radians);  // right-handed rotation about a unit axis

Quat quat_from_mat3(const Mat3& m);
Mat3 mat3_from_quat(Quat q);  // normalises q
Quat quat_normalised(const Quat& q);
Quat quat_mul(const Quat& a, const Quat& b);
Quat quat_conj(const Quat& q);
Quat quat_log(const Quat& q);  // unit q -> pure quaternion (0, v)
Quat quat_exp(const Quat& q);  // pure quaternion -> unit
double quat_dot(const Quat& a, const Quat& b);
Quat slerp(const Quat& a, Quat b, double t);  // shortest arc
// Shoemake's squad between q1 and q2 with neighbours q0, q3 (all in one hemisphere).
Quat squad(const Quat& q0, const Quat& q1, const Quat& q2, const Quat& q3, double t);

// A camera pose: rotation camera-to-world and centre.
struct Pose {
  Mat3 R{1, 0, 0, 0, 1, 0, 0, 0, 1};
  Vec3 C{0, 0, 0};
  Vec3 right() const { return mat3_column(R, 0); }
  Vec3 down() const { return mat3_column(R, 1); }
  Vec3 forward() const { return mat3_column(R, 2); }
  Mat4 world_to_camera() const;
  static Pose from_world_to_camera(const Mat4& w2c);
  // Looking from `eye` at `target`, `up` up in the image (its projection; fails when parallel).
  static Pose look_at(const Vec3& eye, const Vec3& target, const Vec3& up);
};

// Projects a world point through a camera: pixel (u, v) and camera z.
struct Projection {
  double u = 0, v = 0, z = 0;
};
Projection project(const Camera& c, const Vec3& p);

// "up" choices shared by the camera and shot nodes: "+z", "-z", "+y", "-y", "+x", "-x", or
// "cameras" (normalised mean of the training cameras' -y axes; needs cameras).
const std::vector<std::string>& up_choices();
Vec3 resolve_up(const std::string& choice, const std::vector<Camera>& training_cameras);  // throws

// A billboard as placed by shot.billboard (the JSON object in its Record):
// {"foot": [x,y,z], "up": [x,y,z], "height": h, "facing": "camera"|"fixed", "normal": [x,y,z],
//  "cutout": index, "cutout_size": [w, h], "content": [u0, v0, u1, v1], "foot_px": [u, v], ...}
// The cutout pixel (u, v) (pixel units, origin top-left) lies at
//   foot + (u - foot_px.u) * s * right + (foot_px.v - v) * s * up,   s = height / (v1 - v0),
// where right is perpendicular to up and to the facing direction.
struct Billboard {
  Vec3 foot{0, 0, 0}, up{0, 0, 1}, normal{1, 0, 0};
  double height = 1;
  bool faces_camera = true;
  int cutout = 0;
  int cutout_width = 1, cutout_height = 1;
  std::array<double, 4> content{0, 0, 1, 1};  // u0, v0, u1, v1 (pixels)
  std::array<double, 2> foot_px{0.5, 1};
  double world_per_pixel() const { return height / std::max(1e-9, content[3] - content[1]); }
  // The plane axes seen from a camera at `eye`: right (image +u) and the plane normal (towards the eye).
  std::pair<Vec3, Vec3> axes(const Vec3& eye) const;
  Vec3 point(double u, double v, const Vec3& eye) const;  // world position of cutout pixel (u, v)
  nlohmann::json to_json() const;
  static Billboard from_json(const nlohmann::json& j);  // throws std::runtime_error
};
std::vector<Billboard> billboards_from_record(const nlohmann::json& record);  // {"billboards": [...]}

// Whether the billboard's content box is fully inside the camera's image (and in front of it).
bool billboard_inside(const Billboard& b, const Camera& c);

}  // namespace camgraph::cam
