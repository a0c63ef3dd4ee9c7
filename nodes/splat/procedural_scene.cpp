#include "procedural_scene.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace camgraph::splat {

namespace {

struct V3 {
  double x, y, z;
  V3 operator+(const V3& o) const { return {x + o.x, y + o.y, z + o.z}; }
  V3 operator-(const V3& o) const { return {x - o.x, y - o.y, z - o.z}; }
  V3 operator*(double s) const { return {x * s, y * s, z * s}; }
  V3 mul(const V3& o) const { return {x * o.x, y * o.y, z * o.z}; }
  double dot(const V3& o) const { return x * o.x + y * o.y + z * o.z; }
  V3 normalised() const {
    const double n = std::sqrt(dot(*this));
    return {x / n, y / n, z / n};
  }
};

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kWall = 3.0, kWallHeight = 2.2;

struct Hit {
  double t = kInf;
  V3 normal{0, 0, 1};
  int material = -1;  // 0 floor, 1 walls, 2 sphere, 3 blue box, 4 green box, 5 pillar
};

struct Box {
  V3 lo, hi;
  int material;
};
const Box kBoxes[] = {
    {{-1.3, 0.3, 0.0}, {-0.7, 0.9, 0.8}, 3},
    {{0.65, -0.95, 0.0}, {1.15, -0.45, 0.5}, 4},
    {{0.7, 0.8, 0.0}, {0.95, 1.05, 1.5}, 5},
};
const V3 kSphereCentre{0.0, 0.0, 0.55};
constexpr double kSphereRadius = 0.55;
const V3 kSun = V3{0.45, 0.3, 0.85}.normalised();

double hash01(int a, int b) {  // deterministic per-cell variation
  uint32_t h = uint32_t(a) * 73856093u ^ uint32_t(b) * 19349663u;
  h ^= h >> 13;
  h *= 0x5bd1e995u;
  h ^= h >> 15;
  return (h & 0xffffff) / double(0xffffff);
}

void intersect_box(const V3& o, const V3& d, const Box& b, Hit& hit) {
  double t0 = 1e-6, t1 = hit.t;
  int axis = -1;
  double sign = 0;
  const double os[3] = {o.x, o.y, o.z}, ds[3] = {d.x, d.y, d.z};
  const double lo[3] = {b.lo.x, b.lo.y, b.lo.z}, hi[3] = {b.hi.x, b.hi.y, b.hi.z};
  for (int a = 0; a < 3; ++a) {
    if (std::abs(ds[a]) < 1e-12) {
      if (os[a] < lo[a] || os[a] > hi[a]) return;
      continue;
    }
    double ta = (lo[a] - os[a]) / ds[a], tb = (hi[a] - os[a]) / ds[a];
    double s = -1;
    if (ta > tb) {
      std::swap(ta, tb);
      s = 1;
    }
    if (ta > t0) {
      t0 = ta;
      axis = a;
      sign = s;
    }
    t1 = std::min(t1, tb);
    if (t0 > t1) return;
  }
  if (axis < 0) return;  // ray starts inside
  hit.t = t0;
  hit.normal = {axis == 0 ? sign : 0, axis == 1 ? sign : 0, axis == 2 ? sign : 0};
  hit.material = b.material;
}

Hit trace(const V3& o, const V3& d) {
  Hit hit;
  if (d.z < 0) {  // floor
    const double t = -o.z / d.z;
    if (t > 1e-6 && t < hit.t) {
      hit.t = t;
      hit.normal = {0, 0, 1};
      hit.material = 0;
    }
  }
  // Walls: the inside faces of the courtyard's four walls.
  const double os[2] = {o.x, o.y}, ds[2] = {d.x, d.y};
  for (int a = 0; a < 2; ++a)
    for (double side : {-kWall, kWall}) {
      if (std::abs(ds[a]) < 1e-12) continue;
      const double t = (side - os[a]) / ds[a];
      if (t <= 1e-6 || t >= hit.t) continue;
      const V3 p = o + d * t;
      if (p.z < 0 || p.z > kWallHeight) continue;
      hit.t = t;
      hit.normal = {a == 0 ? -side / kWall : 0, a == 1 ? -side / kWall : 0, 0};
      hit.material = 1;
    }
  {  // sphere
    const V3 oc = o - kSphereCentre;
    const double b = oc.dot(d), c = oc.dot(oc) - kSphereRadius * kSphereRadius, disc = b * b - c;
    if (disc > 0) {
      const double t = -b - std::sqrt(disc);
      if (t > 1e-6 && t < hit.t) {
        hit.t = t;
        hit.normal = ((o + d * t) - kSphereCentre) * (1.0 / kSphereRadius);
        hit.material = 2;
      }
    }
  }
  for (const auto& b : kBoxes) intersect_box(o, d, b, hit);
  return hit;
}

V3 albedo(const Hit& h, const V3& p) {
  switch (h.material) {
    case 0: {  // stone floor: 0.5 m checker with per-tile variation
      const int i = int(std::floor(p.x * 2)), j = int(std::floor(p.y * 2));
      const double v = 0.85 + 0.3 * hash01(i, j);
      return ((i + j) & 1) ? V3{0.62, 0.58, 0.5} * v : V3{0.36, 0.33, 0.3} * v;
    }
    case 1: {  // brick walls: 0.25 x 0.12 bricks, offset rows, mortar lines
      const double u = std::abs(h.normal.x) > 0.5 ? p.y : p.x;
      const int row = int(std::floor(p.z / 0.12));
      const double shifted = u / 0.25 + (row & 1) * 0.5;
      const int col = int(std::floor(shifted));
      const double fu = shifted - col, fv = p.z / 0.12 - row;
      if (fu < 0.06 || fv < 0.1) return {0.78, 0.76, 0.7};
      const double v = 0.8 + 0.4 * hash01(col, row);
      return V3{0.62, 0.27, 0.18} * v;
    }
    case 2: {  // sphere: latitude bands crossed with longitude segments, a red and white checkerboard
      const V3 n = h.normal;
      const double lat = std::asin(std::clamp(n.z, -1.0, 1.0)), lon = std::atan2(n.y, n.x);
      const bool stripe = int(std::floor(lat / 0.26 + 8)) & 1;
      const bool seg = int(std::floor(lon / 0.39 + 16)) & 1;
      return stripe != seg ? V3{0.85, 0.12, 0.1} : V3{0.95, 0.93, 0.88};
    }
    case 3: {  // blue box with a grid
      const double g = 0.1;
      const bool line = std::fmod(std::abs(p.x) + 10, g) < 0.012 || std::fmod(std::abs(p.y) + 10, g) < 0.012 ||
                        std::fmod(p.z + 10, g) < 0.012;
      return line ? V3{0.9, 0.9, 0.95} : V3{0.15, 0.3, 0.75};
    }
    case 4: {  // green box with diagonal stripes
      const bool s = int(std::floor((p.x + p.y + p.z) * 12)) & 1;
      return s ? V3{0.2, 0.6, 0.25} : V3{0.1, 0.4, 0.15};
    }
    case 5:  // yellow pillar with bands
      return int(std::floor(p.z * 6)) & 1 ? V3{0.95, 0.8, 0.2} : V3{0.6, 0.45, 0.1};
    default: return {0, 0, 0};
  }
}

V3 shade(const V3& o, const V3& d, double* depth_t) {
  const Hit h = trace(o, d);
  *depth_t = h.t;
  if (h.material < 0) {  // sky
    const double t = std::clamp(d.z, 0.0, 1.0);
    return V3{0.7, 0.8, 0.92} * (1 - t) + V3{0.3, 0.5, 0.85} * t;
  }
  const V3 p = o + d * h.t;
  const double lambert = std::max(0.0, h.normal.dot(kSun));
  double light = 0.35;
  if (lambert > 0 && trace(p + h.normal * 1e-4, kSun).material < 0) light += 0.75 * lambert;
  const V3 c = albedo(h, p) * light;
  return {std::min(c.x, 1.0), std::min(c.y, 1.0), std::min(c.z, 1.0)};
}

}  // namespace

ProceduralRender render_courtyard(const Camera& cam, int samples) {
  const int w = cam.width, h = cam.height;
  at::Tensor rgb = at::empty({h, w, 3}, at::kFloat);
  at::Tensor depth = at::zeros({h, w}, at::kFloat);
  float* out = rgb.data_ptr<float>();
  float* dep = depth.data_ptr<float>();
  const Mat4 c2w = cam.camera_to_world();
  const V3 origin{c2w[3], c2w[7], c2w[11]};
  const Mat4& w2c = cam.world_to_camera;
  const V3 forward{w2c[8], w2c[9], w2c[10]};  // camera z axis in world coordinates
  at::parallel_for(0, h, 1, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y)
      for (int x = 0; x < w; ++x) {
        V3 acc{0, 0, 0};
        double z_sum = 0;
        int z_n = 0;
        for (int sy = 0; sy < samples; ++sy)
          for (int sx = 0; sx < samples; ++sx) {
            const double px = x + (sx + 0.5) / samples, py = y + (sy + 0.5) / samples;
            const V3 dir_cam{(px - cam.cx) / cam.fx, (py - cam.cy) / cam.fy, 1.0};
            // world direction = R^T dir_cam (R = rows of world_to_camera)
            const V3 dir = V3{c2w[0] * dir_cam.x + c2w[1] * dir_cam.y + c2w[2] * dir_cam.z,
                              c2w[4] * dir_cam.x + c2w[5] * dir_cam.y + c2w[6] * dir_cam.z,
                              c2w[8] * dir_cam.x + c2w[9] * dir_cam.y + c2w[10] * dir_cam.z}
                               .normalised();
            double t = kInf;
            acc = acc + shade(origin, dir, &t);
            if (std::isfinite(t)) {
              z_sum += t * dir.dot(forward);
              ++z_n;
            }
          }
        const double inv = 1.0 / (samples * samples);
        float* px = out + (y * w + x) * 3;
        px[0] = float(acc.x * inv);
        px[1] = float(acc.y * inv);
        px[2] = float(acc.z * inv);
        dep[y * w + x] = z_n ? float(z_sum / z_n) : 0.f;
      }
  });
  return {rgb, depth};
}

std::vector<Camera> courtyard_ring(int views, int rings, int width, int height, double fov_y_degrees, double radius,
                                   double min_height, double max_height) {
  std::vector<Camera> cams;
  const Vec3 target{0.0, 0.0, 0.45};
  for (int i = 0; i < views; ++i) {
    const int ring = i % rings;
    const double z = rings == 1 ? 0.5 * (min_height + max_height)
                                : min_height + (max_height - min_height) * ring / double(rings - 1);
    const double a = 2 * M_PI * i / views;
    const Vec3 eye{radius * std::cos(a), radius * std::sin(a), z};
    cams.push_back(Camera::from_fov(width, height, fov_y_degrees, Camera::look_at(eye, target, {0, 0, 1})));
  }
  return cams;
}

}  // namespace camgraph::splat
