#include "camera/geometry.h"

#include <stdexcept>

namespace camgraph::cam {

Vec3 normalised(const Vec3& v) {
  const double n = norm(v);
  if (!(n > 1e-12)) throw std::runtime_error("zero-length direction");
  return (1.0 / n) * v;
}

Mat3 mat3_mul(const Mat3& a, const Mat3& b) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  return r;
}

Mat3 mat3_transpose(const Mat3& a) { return {a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]}; }

Vec3 mat3_apply(const Mat3& m, const Vec3& v) {
  return {m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
          m[6] * v[0] + m[7] * v[1] + m[8] * v[2]};
}

Vec3 mat3_column(const Mat3& m, int c) { return {m[c], m[3 + c], m[6 + c]}; }

Mat3 axis_angle(const Vec3& axis, double a) {
  const Vec3 k = normalised(axis);
  const double c = std::cos(a), s = std::sin(a), t = 1 - c;
  const double x = k[0], y = k[1], z = k[2];
  return {t * x * x + c,     t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c,
          t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c};
}

Quat quat_normalised(const Quat& q) {
  const double n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  if (!(n > 1e-12)) throw std::runtime_error("zero quaternion");
  return {q[0] / n, q[1] / n, q[2] / n, q[3] / n};
}

Quat quat_from_mat3(const Mat3& m) {
  // Shepperd's method: pick the largest of 4w^2, 4x^2, 4y^2, 4z^2.
  const double tr = m[0] + m[4] + m[8];
  Quat q;
  if (tr > 0) {
    const double s = std::sqrt(tr + 1.0) * 2;
    q = {0.25 * s, (m[7] - m[5]) / s, (m[2] - m[6]) / s, (m[3] - m[1]) / s};
  } else if (m[0] > m[4] && m[0] > m[8]) {
    const double s = std::sqrt(1.0 + m[0] - m[4] - m[8]) * 2;
    q = {(m[7] - m[5]) / s, 0.25 * s, (m[1] + m[3]) / s, (m[2] + m[6]) / s};
  } else if (m[4] > m[8]) {
    const double s = std::sqrt(1.0 + m[4] - m[0] - m[8]) * 2;
    q = {(m[2] - m[6]) / s, (m[1] + m[3]) / s, 0.25 * s, (m[5] + m[7]) / s};
  } else {
    const double s = std::sqrt(1.0 + m[8] - m[0] - m[4]) * 2;
    q = {(m[3] - m[1]) / s, (m[2] + m[6]) / s, (m[5] + m[7]) / s, 0.25 * s};
  }
  return quat_normalised(q);
}

Mat3 mat3_from_quat(Quat q) {
  q = quat_normalised(q);
  const double w = q[0], x = q[1], y = q[2], z = q[3];
  return {1 - 2 * (y * y + z * z), 2 * (x * y - w * z),     2 * (x * z + w * y),
          2 * (x * y + w * z),     1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
          2 * (x * z - w * y),     2 * (y * z + w * x),     1 - 2 * (x * x + y * y)};
}

Quat quat_mul(const Quat& a, const Quat& b) {
  return {a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3], a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
          a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1], a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0]};
}

Quat quat_conj(const Quat& q) { return {q[0], -q[1], -q[2], -q[3]}; }

double quat_dot(const Quat& a, const Quat& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]; }

Quat quat_log(const Quat& q) {
  const double vn = std::sqrt(q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  if (vn < 1e-15) return {0, 0, 0, 0};
  const double a = std::atan2(vn, q[0]) / vn;
  return {0, a * q[1], a * q[2], a * q[3]};
}

Quat quat_exp(const Quat& q) {
  const double a = std::sqrt(q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  if (a < 1e-15) return {1, 0, 0, 0};
  const double s = std::sin(a) / a;
  return {std::cos(a), s * q[1], s * q[2], s * q[3]};
}

Quat slerp(const Quat& a, Quat b, double t) {
  double d = quat_dot(a, b);
  if (d < 0) {
    b = {-b[0], -b[1], -b[2], -b[3]};
    d = -d;
  }
  if (d > 1 - 1e-12) {
    Quat r;
    for (int i = 0; i < 4; ++i) r[i] = a[i] + t * (b[i] - a[i]);
    return quat_normalised(r);
  }
  const double th = std::acos(std::min(1.0, d)), s = std::sin(th);
  const double wa = std::sin((1 - t) * th) / s, wb = std::sin(t * th) / s;
  return quat_normalised({wa * a[0] + wb * b[0], wa * a[1] + wb * b[1], wa * a[2] + wb * b[2], wa * a[3] + wb * b[3]});
}

namespace {
Quat squad_control(const Quat& prev, const Quat& q, const Quat& next) {
  const Quat qi = quat_conj(q);
  const Quat a = quat_log(quat_mul(qi, next)), b = quat_log(quat_mul(qi, prev));
  const Quat m{0, -(a[1] + b[1]) / 4, -(a[2] + b[2]) / 4, -(a[3] + b[3]) / 4};
  return quat_mul(q, quat_exp(m));
}
// slerp without the shortest-arc flip (squad's inner interpolations must not flip).
Quat slerp_noflip(const Quat& a, const Quat& b, double t) {
  const double d = std::clamp(quat_dot(a, b), -1.0, 1.0);
  if (std::abs(d) > 1 - 1e-12) {
    Quat r;
    for (int i = 0; i < 4; ++i) r[i] = a[i] + t * (b[i] - a[i]);
    return quat_normalised(r);
  }
  const double th = std::acos(d), s = std::sin(th);
  const double wa = std::sin((1 - t) * th) / s, wb = std::sin(t * th) / s;
  return {wa * a[0] + wb * b[0], wa * a[1] + wb * b[1], wa * a[2] + wb * b[2], wa * a[3] + wb * b[3]};
}
}  // namespace

Quat squad(const Quat& q0, const Quat& q1, const Quat& q2, const Quat& q3, double t) {
  const Quat s1 = squad_control(q0, q1, q2), s2 = squad_control(q1, q2, q3);
  return quat_normalised(slerp_noflip(slerp_noflip(q1, q2, t), slerp_noflip(s1, s2, t), 2 * t * (1 - t)));
}

Mat4 Pose::world_to_camera() const {
  const Mat3 Rt = mat3_transpose(R);
  const Vec3 t = mat3_apply(Rt, C);
  return {Rt[0], Rt[1], Rt[2], -t[0], Rt[3], Rt[4], Rt[5], -t[1], Rt[6], Rt[7], Rt[8], -t[2], 0, 0, 0, 1};
}

Pose Pose::from_world_to_camera(const Mat4& m) {
  Pose p;
  p.R = {m[0], m[4], m[8], m[1], m[5], m[9], m[2], m[6], m[10]};  // transpose of the 3x3 block
  const Vec3 t{m[3], m[7], m[11]};
  const Vec3 rt = mat3_apply(p.R, t);
  p.C = {-rt[0], -rt[1], -rt[2]};
  return p;
}

Pose Pose::look_at(const Vec3& eye, const Vec3& target, const Vec3& up) {
  const Vec3 z = normalised(target - eye);
  const Vec3 x = normalised(cross(z, up));
  const Vec3 y = cross(z, x);
  Pose p;
  p.R = {x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]};
  p.C = eye;
  return p;
}

Projection project(const Camera& c, const Vec3& p) {
  const Mat4& m = c.world_to_camera;
  const double x = m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3];
  const double y = m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7];
  const double z = m[8] * p[0] + m[9] * p[1] + m[10] * p[2] + m[11];
  return {c.fx * x / z + c.cx, c.fy * y / z + c.cy, z};
}

const std::vector<std::string>& up_choices() {
  static const std::vector<std::string> c{"+z", "-z", "+y", "-y", "+x", "-x", "cameras"};
  return c;
}

Vec3 resolve_up(const std::string& choice, const std::vector<Camera>& cams) {
  if (choice == "cameras") {
    if (cams.empty()) throw std::runtime_error("up = cameras needs a splat scene with training cameras");
    Vec3 s{0, 0, 0};
    for (const auto& c : cams) s = s - Pose::from_world_to_camera(c.world_to_camera).down();
    if (norm(s) < 1e-6 * double(cams.size()))
      throw std::runtime_error("the training cameras' up axes cancel out; choose an explicit up");
    return normalised(s);
  }
  const double sign = choice[0] == '-' ? -1 : 1;
  const char axis = choice.back();
  if (axis == 'x') return {sign, 0, 0};
  if (axis == 'y') return {0, sign, 0};
  if (axis == 'z') return {0, 0, sign};
  throw std::runtime_error("unknown up '" + choice + "'");
}

std::pair<Vec3, Vec3> Billboard::axes(const Vec3& eye) const {
  Vec3 n = normal;
  if (faces_camera) {
    Vec3 d = eye - foot;
    d = d - dot(d, up) * up;  // horizontal direction to the camera
    n = norm(d) > 1e-9 ? normalised(d) : normal;
  }
  // Seen from the eye, image right = forward x up with forward = -n.
  return {normalised(cross(up, n)), n};
}

Vec3 Billboard::point(double u, double v, const Vec3& eye) const {
  const Vec3 r = axes(eye).first;
  const double s = world_per_pixel();
  return foot + ((u - foot_px[0]) * s) * r + ((foot_px[1] - v) * s) * up;
}

namespace {
Vec3 vec3_of(const nlohmann::json& j, const char* key) {
  const auto& a = j.at(key);
  if (!a.is_array() || a.size() != 3) throw std::runtime_error(std::string("'") + key + "' must be [x, y, z]");
  return {a[0].get<double>(), a[1].get<double>(), a[2].get<double>()};
}
}  // namespace

nlohmann::json Billboard::to_json() const {
  return {{"foot", foot},
          {"up", up},
          {"height", height},
          {"facing", faces_camera ? "camera" : "fixed"},
          {"normal", normal},
          {"cutout", cutout},
          {"cutout_size", {cutout_width, cutout_height}},
          {"content", content},
          {"foot_px", foot_px}};
}

Billboard Billboard::from_json(const nlohmann::json& j) {
  Billboard b;
  try {
    b.foot = vec3_of(j, "foot");
    b.up = normalised(vec3_of(j, "up"));
    b.height = j.at("height").get<double>();
    b.faces_camera = j.value("facing", std::string("camera")) == "camera";
    if (j.contains("normal")) b.normal = normalised(vec3_of(j, "normal"));
    b.cutout = j.value("cutout", 0);
    b.cutout_width = j.at("cutout_size").at(0).get<int>();
    b.cutout_height = j.at("cutout_size").at(1).get<int>();
    for (int i = 0; i < 4; ++i) b.content[size_t(i)] = j.at("content").at(i).get<double>();
    b.foot_px = {j.at("foot_px").at(0).get<double>(), j.at("foot_px").at(1).get<double>()};
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed billboard: ") + e.what());
  }
  if (!(b.height > 0)) throw std::runtime_error("billboard height must be positive");
  return b;
}

std::vector<Billboard> billboards_from_record(const nlohmann::json& record) {
  std::vector<Billboard> out;
  if (!record.is_object() || !record.contains("billboards") || !record["billboards"].is_array())
    throw std::runtime_error("expected a record {\"billboards\": [...]} from shot.billboard");
  for (const auto& j : record["billboards"]) out.push_back(Billboard::from_json(j));
  return out;
}

bool billboard_inside(const Billboard& b, const Camera& c) {
  const Vec3 eye = Pose::from_world_to_camera(c.world_to_camera).C;
  for (double u : {b.content[0], b.content[2]})
    for (double v : {b.content[1], b.content[3]}) {
      const Projection p = project(c, b.point(u, v, eye));
      if (!(p.z > 0) || p.u < 0 || p.v < 0 || p.u > c.width || p.v > c.height) return false;
    }
  return true;
}

}  // namespace camgraph::cam
