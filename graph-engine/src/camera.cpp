#include "camgraph/camera.h"

#include <cmath>
#include <stdexcept>

namespace camgraph {

Mat4 mat4_identity() { return {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}; }

Mat4 mat4_mul(const Mat4& a, const Mat4& b) {
  Mat4 r{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += a[i * 4 + k] * b[k * 4 + j];
      r[i * 4 + j] = s;
    }
  return r;
}

Mat4 mat4_rigid_inverse(const Mat4& m) {
  // [R t; 0 1]^-1 = [R^T  -R^T t; 0 1]
  Mat4 r = mat4_identity();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r[i * 4 + j] = m[j * 4 + i];
  for (int i = 0; i < 3; ++i) {
    double s = 0;
    for (int k = 0; k < 3; ++k) s += r[i * 4 + k] * m[k * 4 + 3];
    r[i * 4 + 3] = -s;
  }
  return r;
}

Vec3 Camera::position() const {
  Mat4 c2w = camera_to_world();
  return {c2w[3], c2w[7], c2w[11]};
}

Mat4 Camera::world_to_camera_from_opengl_c2w(const Mat4& c2w) {
  // OpenGL camera axes (x right, y up, z back) -> OpenCV (x right, y down, z forward):
  // flip the camera's y and z columns, then invert.
  Mat4 flipped = c2w;
  for (int row = 0; row < 3; ++row) {
    flipped[row * 4 + 1] = -c2w[row * 4 + 1];
    flipped[row * 4 + 2] = -c2w[row * 4 + 2];
  }
  return mat4_rigid_inverse(flipped);
}

Mat4 Camera::look_at(const Vec3& eye, const Vec3& target, const Vec3& up) {
  auto sub = [](const Vec3& a, const Vec3& b) { return Vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]}; };
  auto cross = [](const Vec3& a, const Vec3& b) {
    return Vec3{a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
  };
  auto normalised = [](Vec3 v) {
    const double n = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (n < 1e-12) throw std::runtime_error("look_at: degenerate direction");
    return Vec3{v[0] / n, v[1] / n, v[2] / n};
  };
  // OpenCV camera axes: z forward, x right, y down.
  const Vec3 z = normalised(sub(target, eye));
  const Vec3 x = normalised(cross(z, up));  // right = forward x up
  const Vec3 y = cross(z, x);               // down
  Mat4 m = mat4_identity();
  const Vec3* rows[3] = {&x, &y, &z};
  for (int r = 0; r < 3; ++r) {
    const Vec3& a = *rows[r];
    m[r * 4 + 0] = a[0];
    m[r * 4 + 1] = a[1];
    m[r * 4 + 2] = a[2];
    m[r * 4 + 3] = -(a[0] * eye[0] + a[1] * eye[1] + a[2] * eye[2]);
  }
  return m;
}

Camera Camera::from_fov(int width, int height, double fov_y_degrees, const Mat4& world_to_camera) {
  Camera c;
  c.width = width;
  c.height = height;
  c.fy = 0.5 * height / std::tan(0.5 * fov_y_degrees * M_PI / 180.0);
  c.fx = c.fy;
  c.cx = 0.5 * width;
  c.cy = 0.5 * height;
  c.world_to_camera = world_to_camera;
  return c;
}

Camera Camera::resized(int new_width, int new_height) const {
  Camera c = *this;
  const double sx = double(new_width) / width, sy = double(new_height) / height;
  c.width = new_width;
  c.height = new_height;
  c.fx = fx * sx;
  c.fy = fy * sy;
  c.cx = cx * sx;
  c.cy = cy * sy;
  return c;
}

bool Camera::operator==(const Camera& o) const {
  return width == o.width && height == o.height && fx == o.fx && fy == o.fy && cx == o.cx && cy == o.cy &&
         world_to_camera == o.world_to_camera;
}

nlohmann::json Camera::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (int i = 0; i < 3; ++i)
    rows.push_back({world_to_camera[i * 4 + 0], world_to_camera[i * 4 + 1], world_to_camera[i * 4 + 2],
                    world_to_camera[i * 4 + 3]});
  return {{"width", width}, {"height", height},       {"fx", fx}, {"fy", fy}, {"cx", cx},
          {"cy", cy},       {"world_to_camera", rows}};
}

Camera Camera::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::runtime_error("camera: expected an object");
  Camera c;
  try {
    c.width = j.at("width").get<int>();
    c.height = j.at("height").get<int>();
    c.fx = j.at("fx").get<double>();
    c.fy = j.at("fy").get<double>();
    c.cx = j.at("cx").get<double>();
    c.cy = j.at("cy").get<double>();
    const auto& rows = j.at("world_to_camera");
    if (!rows.is_array() || rows.size() < 3)
      throw std::runtime_error("world_to_camera must have 3 or 4 rows of 4 numbers");
    for (int i = 0; i < 3; ++i) {
      if (!rows[i].is_array() || rows[i].size() != 4)
        throw std::runtime_error("world_to_camera row " + std::to_string(i) + " must have 4 numbers");
      for (int k = 0; k < 4; ++k) c.world_to_camera[i * 4 + k] = rows[i][k].get<double>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("camera: ") + e.what());
  }
  if (c.width <= 0 || c.height <= 0) throw std::runtime_error("camera: width and height must be > 0");
  if (!(c.fx > 0) || !(c.fy > 0)) throw std::runtime_error("camera: fx and fy must be > 0");
  return c;
}

}  // namespace camgraph
