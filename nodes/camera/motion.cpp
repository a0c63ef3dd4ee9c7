#include "camera/motion.h"

#include <algorithm>
#include <cmath>

namespace camgraph::cam {

using nlohmann::json;

namespace {

constexpr double kDeg = M_PI / 180.0;

// Per type: directions (the first is the default), full-scale magnitude at intensity 1 and its unit.
struct TypeInfo {
  const char* type;
  std::vector<std::string> directions;
  double full_scale;       // at intensity 1 (zoom: "in" factor - 1; see zoom_factor)
  const char* unit;        // degrees, world_units, focal_factor
  const char* relative;    // what a translation is a fraction of: scene_extent, target_distance, or ""
  const char* speed_kind;  // rotation, translation, zoom, none
};

const std::vector<TypeInfo>& type_table() {
  static const std::vector<TypeInfo> t{
      {"static", {"none"}, 0, "", "", "none"},
      {"pan", {"left", "right"}, 90, "degrees", "", "rotation"},
      {"tilt", {"up", "down"}, 60, "degrees", "", "rotation"},
      {"roll", {"clockwise", "counterclockwise"}, 60, "degrees", "", "rotation"},
      {"truck", {"left", "right"}, 0.5, "world_units", "scene_extent", "translation"},
      {"pedestal", {"up", "down"}, 0.5, "world_units", "scene_extent", "translation"},
      {"dolly", {"in", "out"}, 0.7, "world_units", "target_distance", "translation"},
      {"zoom", {"in", "out"}, 2.0, "focal_factor", "", "zoom"},
      {"orbit", {"left", "right"}, 90, "degrees", "", "rotation"},
      {"crane", {"up", "down"}, 45, "degrees", "", "rotation"},
      {"dolly_zoom", {"in", "out"}, 0.5, "world_units", "target_distance", "translation"},
  };
  return t;
}

const TypeInfo& type_info(const std::string& type, const std::string& field) {
  for (const auto& t : type_table())
    if (type == t.type) return t;
  std::string list;
  for (const auto& t : type_table()) list += std::string(list.empty() ? "" : ", ") + t.type;
  throw MotionError(field, "unknown motion type '" + type + "' (one of: " + list + ")");
}

std::string canonical_direction(const std::string& d) {
  if (d == "counter_clockwise" || d == "counter-clockwise" || d == "anticlockwise" || d == "ccw")
    return "counterclockwise";
  if (d == "cw") return "clockwise";
  return d;
}

Vec3 json_vec3(const json& j, const std::string& field) {
  if (!j.is_array() || j.size() != 3 || !j[0].is_number() || !j[1].is_number() || !j[2].is_number())
    throw MotionError(field, field + " must be [x, y, z]");
  return {j[0].get<double>(), j[1].get<double>(), j[2].get<double>()};
}

// A primitive resolved against the scene: what to apply at progress p in [0, 1].
struct Resolved {
  MotionPrimitive p;
  const TypeInfo* info = nullptr;
  double sign = 1;       // +1 for the first direction
  double magnitude = 0;  // in info->unit
  double relative = 0;   // translations: fraction of extent / distance
};

}  // namespace

const std::vector<std::string>& motion_types() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> r;
    for (const auto& t : type_table()) r.push_back(t.type);
    return r;
  }();
  return v;
}

const std::vector<std::string>& easing_choices() {
  static const std::vector<std::string> v{"linear", "ease_in", "ease_out", "ease_in_out"};
  return v;
}

double ease(const std::string& mode, double t) {
  t = std::clamp(t, 0.0, 1.0);
  if (mode == "ease_in") return t * t;
  if (mode == "ease_out") return 1 - (1 - t) * (1 - t);
  if (mode == "ease_in_out") return t * t * (3 - 2 * t);
  return t;
}

int round_up_4n1(int frames) { return frames <= 5 ? 5 : 4 * ((frames - 1 + 3) / 4) + 1; }

std::string speed_label(const std::string& type, double per_second) {
  const std::string kind = type_info(type, "type").speed_kind;
  double slow = 0, medium = 0;
  if (kind == "rotation") slow = 15, medium = 40;            // degrees per second
  else if (kind == "translation") slow = 0.1, medium = 0.3;  // fraction of extent / distance per second
  else if (kind == "zoom") slow = 0.2, medium = 0.5;         // log2 focal factor per second
  else return "none";
  per_second = std::abs(per_second);
  return per_second < slow ? "slow" : per_second < medium ? "medium" : "fast";
}

MotionPrimitive MotionPrimitive::from_json(const json& j, const std::string& field) {
  if (!j.is_object()) throw MotionError(field, field + ": each motion must be an object {\"type\": ...}");
  MotionPrimitive p;
  try {
    p.type = j.value("type", std::string("static"));
    if (p.type == "arc") p.type = "orbit";
    if (p.type == "dolly-zoom" || p.type == "dollyzoom") p.type = "dolly_zoom";
    p.direction = canonical_direction(j.value("direction", std::string()));
    p.intensity = j.value("intensity", 0.5);
    if (j.contains("magnitude")) p.magnitude = j["magnitude"].get<double>();
    if (j.contains("frames")) {
      const json& f = j["frames"];
      if (!f.is_array() || f.size() != 2) throw MotionError(field, field + ".frames must be [first, last]");
      p.start = f[0].get<int>();
      p.end = f[1].get<int>();
    }
    p.easing = j.value("easing", std::string("ease_in_out"));
  } catch (const json::exception& e) {
    throw MotionError(field, field + ": " + e.what());
  }
  return p;
}

PathResult motion_path(const Pose& start, const ShotIntrinsics& k, const MotionScene& scene,
                       const std::vector<MotionPrimitive>& primitives, int frames, double fps) {
  if (frames < 1) throw MotionError("frames", "a shot needs at least one frame");
  PathResult out;
  const Vec3 up = normalised(scene.up);
  const Vec3 fwd0 = start.forward(), right0 = start.right();
  const double dist0 = norm(scene.target - start.C);
  // Horizontal right axis for crane arcs (perpendicular to up and to the view direction).
  Vec3 horiz_right = cross(fwd0, up);
  horiz_right = norm(horiz_right) > 1e-9 ? normalised(horiz_right) : right0;

  std::vector<Resolved> rs;
  for (size_t i = 0; i < primitives.size(); ++i) {
    const std::string field = "motions[" + std::to_string(i) + "]";
    Resolved r;
    r.p = primitives[i];
    r.info = &type_info(r.p.type, field);
    if (r.p.end < 0) r.p.end = frames - 1;
    if (r.p.start < 0 || r.p.start > frames - 1 || r.p.end > frames - 1 || r.p.end < r.p.start)
      throw MotionError(field, field + ": frame range [" + std::to_string(r.p.start) + ", " + std::to_string(r.p.end) +
                                   "] is not inside the shot's frames [0, " + std::to_string(frames - 1) +
                                   "] or not ordered");
    if (std::find(easing_choices().begin(), easing_choices().end(), r.p.easing) == easing_choices().end())
      throw MotionError(field,
                        field + ": unknown easing '" + r.p.easing + "' (linear, ease_in, ease_out, ease_in_out)");
    const auto& dirs = r.info->directions;
    if (r.p.direction.empty() || r.p.type == "static") r.p.direction = dirs[0];
    const auto it = std::find(dirs.begin(), dirs.end(), r.p.direction);
    if (it == dirs.end()) {
      std::string list;
      for (const auto& d : dirs) list += (list.empty() ? "" : ", ") + d;
      throw MotionError(field,
                        field + ": '" + r.p.direction + "' is not a direction of " + r.p.type + " (" + list + ")");
    }
    r.sign = it == dirs.begin() ? 1 : -1;
    if (!(r.p.intensity >= 0 && r.p.intensity <= 1))
      throw MotionError(field, field + ": intensity " + std::to_string(r.p.intensity) + " is outside 0..1");
    const std::string rel = r.info->relative;
    const double rel_base = rel == "scene_extent" ? scene.extent : rel == "target_distance" ? dist0 : 1.0;
    if (r.p.type == "zoom") {
      const double factor = r.p.magnitude ? *r.p.magnitude
                                          : 1 + r.p.intensity * (r.p.direction == "in" ? r.info->full_scale : 1.0);
      if (!(factor >= 1)) throw MotionError(field, field + ": a zoom magnitude is a focal factor >= 1");
      r.magnitude = factor;
      if (r.p.magnitude)
        r.p.intensity = std::min(1.0, (factor - 1) / (r.p.direction == "in" ? r.info->full_scale : 1.0));
    } else if (r.p.magnitude) {
      r.magnitude = *r.p.magnitude;
      if (r.magnitude < 0) throw MotionError(field, field + ": magnitude must be >= 0 (the direction gives the sign)");
      r.p.intensity = std::min(1.0, r.magnitude / (r.info->full_scale * (rel.empty() ? 1.0 : rel_base)));
    } else {
      r.magnitude = r.p.intensity * r.info->full_scale * (rel.empty() ? 1.0 : rel_base);
    }
    if (!rel.empty()) r.relative = rel_base > 0 ? r.magnitude / rel_base : 0;
    if ((r.p.type == "dolly" || r.p.type == "dolly_zoom") && r.p.direction == "in" && r.magnitude >= 0.95 * dist0)
      throw MotionError(field, field + ": dolly in by " + std::to_string(r.magnitude) +
                                   " would reach the target (distance " + std::to_string(dist0) + ")");
    if (r.p.type == "crane") {
      // Keep the arc away from the pole above / below the target.
      const Vec3 v = normalised(start.C - scene.target);
      const double elevation = std::asin(std::clamp(dot(v, up), -1.0, 1.0)) / kDeg;
      const double limit = r.sign > 0 ? 85 - elevation : 85 + elevation;
      if (r.magnitude > limit) {
        out.warnings.push_back(field + ": crane clamped from " + std::to_string(r.magnitude) + " to " +
                               std::to_string(std::max(0.0, limit)) + " degrees (the arc would pass over the target)");
        r.magnitude = std::max(0.0, limit);
      }
    }
    rs.push_back(r);
  }

  for (int i = 0; i < frames; ++i) {
    Vec3 translation{0, 0, 0};
    Mat3 arc = axis_angle(up, 0);  // rotation about the target (orbit, crane)
    double pan = 0, tilt = 0, roll = 0, focal = 1, dz_shift = 0;
    for (const Resolved& r : rs) {
      const double span = r.p.end - r.p.start;
      const double t = span <= 0 ? (i >= r.p.end ? 1.0 : 0.0) : ease(r.p.easing, (i - r.p.start) / span);
      const double m = r.magnitude * t, s = r.sign;
      const std::string& ty = r.p.type;
      if (ty == "pan") pan += s * m * kDeg;                                  // left: counter-clockwise about up
      else if (ty == "tilt") tilt += s * m * kDeg;                           // up: forward turns towards up
      else if (ty == "roll") roll += s * m * kDeg;                           // clockwise: +z (forward) rotation
      else if (ty == "truck") translation = translation - (s * m) * right0;  // left: -right
      else if (ty == "pedestal") translation = translation + (s * m) * up;
      else if (ty == "dolly") translation = translation + (s * m) * fwd0;
      else if (ty == "zoom") focal *= s > 0 ? std::pow(r.magnitude, t) : std::pow(r.magnitude, -t);
      else if (ty == "orbit") arc = mat3_mul(axis_angle(up, -s * m * kDeg), arc);  // right: counter-clockwise about up
      else if (ty == "crane") arc = mat3_mul(axis_angle(horiz_right, -s * m * kDeg), arc);
      else if (ty == "dolly_zoom") dz_shift += s * m;
    }
    translation = translation + dz_shift * fwd0;
    Pose p;
    const Vec3 c1 = start.C + translation;
    p.C = scene.target + mat3_apply(arc, c1 - scene.target);
    p.R = mat3_mul(axis_angle(up, pan), mat3_mul(arc, start.R));
    p.R = mat3_mul(p.R, mat3_mul(axis_angle({1, 0, 0}, tilt), axis_angle({0, 0, 1}, roll)));
    // Dolly zoom: the focal length follows the distance to the target, so the target keeps its size.
    if (dz_shift != 0) focal *= (dist0 - dz_shift) / dist0;
    Camera c = Camera::from_fov(k.width, k.height, 60, p.world_to_camera());
    c.fx = c.fy = k.fy * focal;
    out.cameras.push_back(c);
  }

  for (const Resolved& r : rs) {
    const double seconds = std::max(1.0, double(r.p.end - r.p.start)) / fps;
    json m = {{"type", r.p.type},
              {"direction", r.p.direction},
              {"intensity", r.p.intensity},
              {"frames", {r.p.start, r.p.end}},
              {"seconds", {r.p.start / fps, r.p.end / fps}},
              {"easing", r.p.easing}};
    if (r.p.type == "static") {
      m.erase("direction");
      m["speed"] = "none";
    } else {
      m["magnitude"] = {{"value", r.magnitude}, {"unit", r.info->unit}};
      if (std::string(r.info->relative).size()) m["relative"] = {{"value", r.relative}, {"of", r.info->relative}};
      double per_s = 0;
      std::string per_unit;
      const std::string kind = r.info->speed_kind;
      if (kind == "rotation") per_s = r.magnitude / seconds, per_unit = "degrees_per_second";
      else if (kind == "translation")
        per_s = r.relative / seconds, per_unit = std::string(r.info->relative) + "_per_second";
      else per_s = std::log2(r.magnitude) / seconds, per_unit = "log2_focal_factor_per_second";
      m["speed"] = speed_label(r.p.type, per_s);
      m["speed_value"] = {{"value", per_s}, {"unit", per_unit}};
      if (r.p.type == "orbit" || r.p.type == "crane" || r.p.type == "dolly" || r.p.type == "dolly_zoom")
        m["target"] = scene.target;
      if (r.p.type == "zoom" || r.p.type == "dolly_zoom")
        m["focal"] = {out.cameras[size_t(r.p.start)].fy, out.cameras[size_t(r.p.end)].fy};
    }
    out.motion.push_back(m);
  }
  if (rs.empty())
    out.motion.push_back({{"type", "static"},
                          {"intensity", 0},
                          {"frames", {0, frames - 1}},
                          {"seconds", {0, (frames - 1) / fps}},
                          {"easing", "linear"},
                          {"speed", "none"}});
  return out;
}

// ---- keyframes ------------------------------------------------------------------------------

std::vector<Keyframe> keyframes_from_json(const json& j, int frames, int height) {
  if (!j.is_array() || j.empty()) throw MotionError("keyframes", "keyframes must be a non-empty JSON array");
  std::vector<Keyframe> keys;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string f = "keyframes[" + std::to_string(i) + "]";
    const json& e = j[i];
    if (!e.is_object() || !e.contains("frame") || !e["frame"].is_number_integer())
      throw MotionError("keyframes", f + ": needs an integer \"frame\"");
    Keyframe k;
    k.frame = e["frame"].get<int>();
    if (k.frame < 0 || k.frame > frames - 1)
      throw MotionError("keyframes", f + ": frame " + std::to_string(k.frame) + " is outside the shot's frames [0, " +
                                         std::to_string(frames - 1) + "]");
    if (!keys.empty() && k.frame <= keys.back().frame)
      throw MotionError("keyframes", f + ": frame " + std::to_string(k.frame) +
                                         " does not come after the previous keyframe's frame " +
                                         std::to_string(keys.back().frame) +
                                         " (keyframes must be strictly increasing)");
    if (!e.contains("position")) throw MotionError("keyframes", f + ": needs \"position\": [x, y, z]");
    k.position = json_vec3(e["position"], f + ".position");
    if (e.contains("quaternion")) {
      const json& q = e["quaternion"];
      if (!q.is_array() || q.size() != 4) throw MotionError("keyframes", f + ".quaternion must be [w, x, y, z]");
      try {
        k.orientation = quat_normalised(
            {q[0].get<double>(), q[1].get<double>(), q[2].get<double>(), q[3].get<double>()});
      } catch (const std::exception& ex) {
        throw MotionError("keyframes", f + ".quaternion: " + ex.what());
      }
    }
    if (e.contains("look_at")) k.look_at = json_vec3(e["look_at"], f + ".look_at");
    if (e.contains("fov")) {
      const double fov = e["fov"].get<double>();
      if (!(fov > 1 && fov < 179)) throw MotionError("keyframes", f + ".fov must be in (1, 179) degrees");
      k.fy = 0.5 * height / std::tan(0.5 * fov * kDeg);
    }
    if (e.contains("focal")) k.fy = e["focal"].get<double>();
    if (k.fy && !(*k.fy > 0)) throw MotionError("keyframes", f + ": focal length must be positive");
    keys.push_back(k);
  }
  return keys;
}

namespace {

Vec3 lerp(const Vec3& a, const Vec3& b, double t) { return a + t * (b - a); }

Vec3 centripetal_catmull_rom(const Vec3& p0, const Vec3& p1, const Vec3& p2, const Vec3& p3, double u) {
  const double d12 = std::sqrt(norm(p2 - p1));
  if (d12 < 1e-9) return p1;
  // Knot intervals sqrt(|Pi+1 - Pi|); a coincident neighbour gets a small interval instead of zero.
  const double d01 = std::max(std::sqrt(norm(p1 - p0)), 1e-3 * d12),
               d23 = std::max(std::sqrt(norm(p3 - p2)), 1e-3 * d12);
  const double t0 = 0, t1 = d01, t2 = t1 + d12, t3 = t2 + d23, t = t1 + u * d12;
  const Vec3 a1 = lerp(p0, p1, (t - t0) / (t1 - t0)), a2 = lerp(p1, p2, (t - t1) / (t2 - t1)),
             a3 = lerp(p2, p3, (t - t2) / (t3 - t2));
  const Vec3 b1 = lerp(a1, a2, (t - t0) / (t2 - t0)), b2 = lerp(a2, a3, (t - t1) / (t3 - t1));
  return lerp(b1, b2, (t - t1) / (t2 - t1));
}

// Natural cubic spline second derivatives for one coordinate.
std::vector<double> natural_second_derivatives(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  std::vector<double> m(n, 0.0);
  if (n < 3) return m;
  std::vector<double> c(n, 0.0), d(n, 0.0);
  // Tridiagonal system for interior points (Thomas algorithm).
  for (size_t i = 1; i + 1 < n; ++i) {
    const double h0 = x[i] - x[i - 1], h1 = x[i + 1] - x[i];
    const double a = h0 / 6, b = (h0 + h1) / 3, cc = h1 / 6;
    const double r = (y[i + 1] - y[i]) / h1 - (y[i] - y[i - 1]) / h0;
    const double denom = b - a * c[i - 1];
    c[i] = cc / denom;
    d[i] = (r - a * d[i - 1]) / denom;
  }
  for (int i = int(n) - 2; i >= 1; --i) m[size_t(i)] = d[size_t(i)] - c[size_t(i)] * m[size_t(i) + 1];
  return m;
}

}  // namespace

Vec3 spline_point(const std::vector<double>& x, const std::vector<Vec3>& pts, const std::string& mode, double at) {
  const size_t n = x.size();
  if (at <= x.front()) return pts.front();
  if (at >= x.back()) return pts.back();
  size_t k = 0;
  while (k + 1 < n && x[k + 1] <= at) ++k;
  if (at == x[k]) return pts[k];
  const double u = (at - x[k]) / (x[k + 1] - x[k]);
  if (mode == "linear" || n == 2) return lerp(pts[k], pts[k + 1], u);
  if (mode == "cubic") {
    Vec3 r;
    for (int a = 0; a < 3; ++a) {
      std::vector<double> y(n);
      for (size_t i = 0; i < n; ++i) y[i] = pts[i][size_t(a)];
      const std::vector<double> m = natural_second_derivatives(x, y);
      const double h = x[k + 1] - x[k], A = (x[k + 1] - at) / h, B = (at - x[k]) / h;
      r[size_t(a)] = A * y[k] + B * y[k + 1] + ((A * A * A - A) * m[k] + (B * B * B - B) * m[k + 1]) * h * h / 6;
    }
    return r;
  }
  const Vec3 p0 = k == 0 ? 2.0 * pts[0] - pts[1] : pts[k - 1];
  const Vec3 p3 = k + 2 >= n ? 2.0 * pts[n - 1] - pts[n - 2] : pts[k + 2];
  return centripetal_catmull_rom(p0, pts[k], pts[k + 1], p3, u);
}

PathResult keyframe_path(const std::vector<Keyframe>& keys, const ShotIntrinsics& k, const KeyframeOptions& o,
                         int frames, double fps) {
  if (keys.empty()) throw MotionError("keyframes", "no keyframes");
  std::vector<double> x;
  std::vector<Vec3> pts;
  std::vector<Quat> qs;
  std::vector<double> logf;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Keyframe& kf = keys[i];
    x.push_back(kf.frame);
    pts.push_back(kf.position);
    logf.push_back(std::log(kf.fy.value_or(o.default_fy)));
    if (o.target) continue;
    Quat q;
    if (kf.orientation) q = *kf.orientation;
    else if (kf.look_at) {
      try {
        q = quat_from_mat3(Pose::look_at(kf.position, *kf.look_at, o.up).R);
      } catch (const std::exception& e) {
        throw MotionError("keyframes", "keyframes[" + std::to_string(i) + "].look_at: " + e.what());
      }
    } else {
      throw MotionError("keyframes",
                        "keyframes[" + std::to_string(i) +
                            "]: needs \"quaternion\" or \"look_at\" (or set a look-at target for the whole path)");
    }
    if (!qs.empty() && quat_dot(qs.back(), q) < 0) q = {-q[0], -q[1], -q[2], -q[3]};  // one hemisphere
    qs.push_back(q);
  }
  PathResult out;
  for (int i = 0; i < frames; ++i) {
    Pose p;
    p.C = spline_point(x, pts, o.position_spline, i);
    // Focal length: log-linear between keyframes (monotone, no overshoot).
    double lf = logf.front();
    if (i >= x.back()) lf = logf.back();
    else if (i > x.front()) {
      size_t s = 0;
      while (s + 1 < x.size() && x[s + 1] <= i) ++s;
      lf = i == x[s] ? logf[s] : logf[s] + (i - x[s]) / (x[s + 1] - x[s]) * (logf[s + 1] - logf[s]);
    }
    if (o.target) {
      try {
        p = Pose::look_at(p.C, *o.target, o.up);
      } catch (const std::exception& e) {
        throw MotionError("target",
                          "frame " + std::to_string(i) + ": the camera is at the look-at target or looks along up");
      }
    } else {
      Quat q = qs.front();
      if (i >= x.back()) q = qs.back();
      else if (i > x.front()) {
        size_t s = 0;
        while (s + 1 < x.size() && x[s + 1] <= i) ++s;
        if (i == x[s]) q = qs[s];
        else {
          const double u = (i - x[s]) / (x[s + 1] - x[s]);
          if (o.rotation == "squad") {
            const Quat q0 = s == 0 ? qs[s] : qs[s - 1], q3 = s + 2 >= qs.size() ? qs[s + 1] : qs[s + 2];
            q = squad(q0, qs[s], qs[s + 1], q3, u);
          } else {
            q = slerp(qs[s], qs[s + 1], u);
          }
        }
      }
      p.R = mat3_from_quat(q);
    }
    Camera c = Camera::from_fov(k.width, k.height, 60, p.world_to_camera());
    c.fx = c.fy = std::exp(lf);
    out.cameras.push_back(c);
  }
  json kf = json::array();
  for (const auto& key : keys) kf.push_back(key.frame);
  out.motion.push_back({{"type", "keyframes"},
                        {"frames", {0, frames - 1}},
                        {"seconds", {0, (frames - 1) / fps}},
                        {"keyframes", kf},
                        {"position_spline", o.position_spline},
                        {"rotation", o.target ? "look_at" : o.rotation}});
  return out;
}

}  // namespace camgraph::cam
