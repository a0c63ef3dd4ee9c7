// camera family: camera.orbit (an arc around a target point at a fixed height).
#include <cmath>

#include "camgraph/node_context.h"

namespace camgraph {

namespace {

double ease(const std::string& mode, double t) {
  if (mode == "ease_in") return t * t;
  if (mode == "ease_out") return 1 - (1 - t) * (1 - t);
  if (mode == "ease_in_out") return t * t * (3 - 2 * t);
  return t;
}

void orbit_execute(NodeContext& ctx) {
  const int frames = int(ctx.param_int("frames"));
  const double r = ctx.param_float("radius"), h = ctx.param_float("camera_height");
  const double a0 = ctx.param_float("start_angle") * M_PI / 180, a1 = ctx.param_float("end_angle") * M_PI / 180;
  const Vec3 target{ctx.param_float("target_x"), ctx.param_float("target_y"), ctx.param_float("target_z")};
  const std::string easing = ctx.param_string("easing");
  auto path = std::make_shared<CameraPathValue>();
  path->fps = ctx.param_float("fps");
  for (int i = 0; i < frames; ++i) {
    const double t = frames == 1 ? 0 : ease(easing, double(i) / (frames - 1));
    const double a = a0 + (a1 - a0) * t;
    const Vec3 eye{target[0] + r * std::cos(a), target[1] + r * std::sin(a), h};
    path->cameras.push_back(Camera::from_fov(int(ctx.param_int("width")), int(ctx.param_int("height")),
                                             ctx.param_float("fov"), Camera::look_at(eye, target, {0, 0, 1})));
  }
  // Counter-clockwise seen from above (+Z up) moves the camera to its right: the orbit is "right".
  const std::string direction = a1 >= a0 ? "right" : "left";
  path->motion = json::array({{{"type", "orbit"}, {"direction", direction},
                               {"degrees", std::abs(a1 - a0) * 180 / M_PI}, {"frames", {0, frames - 1}},
                               {"easing", easing}}});
  ctx.set_output("path", path);
}

}  // namespace

void register_camera_nodes(Registry& r) {
  r.add({.type = "camera.orbit",
         .category = "Camera",
         .title = "Orbit Path",
         .doc = "A camera arc around a target point at a fixed height (+Z up), always looking at the target.",
         .outputs = {{"path", PortType::CameraPath, "one camera per frame"}},
         .params = {p_int("frames", 49, 1, 100000, "number of frames"),
                    p_float("fps", 16, 0.1, 1000, "frame rate"),
                    p_int("width", 320, 8, 16384, "image width"),
                    p_int("height", 240, 8, 16384, "image height"),
                    p_float("fov", 60, 5, 150, "vertical field of view, degrees"),
                    p_float("radius", 2.0, 0.01, 1e6, "distance from the target in the ground plane"),
                    p_float("camera_height", 1.2, -1e6, 1e6, "camera height (z)"),
                    p_float("target_x", 0, -1e6, 1e6, "target x"),
                    p_float("target_y", 0, -1e6, 1e6, "target y"),
                    p_float("target_z", 0.4, -1e6, 1e6, "target z"),
                    p_float("start_angle", 0, -3600, 3600, "start angle around +Z, degrees"),
                    p_float("end_angle", 60, -3600, 3600, "end angle, degrees"),
                    p_enum("easing", "ease_in_out", {"linear", "ease_in", "ease_out", "ease_in_out"}, "speed profile")},
         .execute = orbit_execute});
}

}  // namespace camgraph
