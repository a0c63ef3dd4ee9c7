// camera family: camera.orbit (an arc around a target point at a fixed height) and camera.path
// (CameraBench motion primitives or keyframes, with a framing check for billboards).
#include <ATen/ATen.h>

#include <cmath>

#include "camera/motion.h"
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
  // The same record as camera.path's orbit (docs/camera-motion.md).
  const std::string direction = a1 >= a0 ? "right" : "left";
  const double degrees = std::abs(a1 - a0) * 180 / M_PI, seconds = std::max(1, frames - 1) / path->fps;
  path->motion = json::array({{{"type", "orbit"},
                               {"direction", direction},
                               {"intensity", std::min(1.0, degrees / 90)},
                               {"magnitude", {{"value", degrees}, {"unit", "degrees"}}},
                               {"speed", cam::speed_label("orbit", degrees / seconds)},
                               {"speed_value", {{"value", degrees / seconds}, {"unit", "degrees_per_second"}}},
                               {"frames", {0, frames - 1}},
                               {"seconds", {0.0, (frames - 1) / path->fps}},
                               {"easing", easing},
                               {"target", target}}});
  ctx.set_output("path", path);
}

// ---- camera.path ----------------------------------------------------------------------------

using namespace camgraph::cam;

// Scene centre and radius: info["centre"] / info["extent"] when the trainer wrote them, else the
// median of the Gaussian means and the 90th percentile of their distance from it.
std::pair<Vec3, double> scene_centre_extent(const SplatSceneValue& s) {
  Vec3 centre{0, 0, 0};
  double extent = 0;
  const json& info = s.info;
  if (info.contains("centre") && info["centre"].is_array() && info["centre"].size() == 3)
    centre = {info["centre"][0].get<double>(), info["centre"][1].get<double>(), info["centre"][2].get<double>()};
  else if (s.count() > 0) {
    const at::Tensor med = std::get<0>(s.means.to(at::kCPU, at::kDouble).median(0));  // [3]
    centre = {med[0].item<double>(), med[1].item<double>(), med[2].item<double>()};
  }
  if (info.contains("extent") && info["extent"].is_number()) extent = info["extent"].get<double>();
  else if (s.count() > 0) {
    const at::Tensor c = at::tensor({centre[0], centre[1], centre[2]}, at::kDouble);
    const at::Tensor d = (s.means.to(at::kCPU, at::kDouble) - c).norm(2, 1);  // [N]
    extent = at::quantile(d, 0.9).item<double>();
  }
  return {centre, extent > 0 ? extent : 1.0};
}

Pose explicit_pose(NodeContext& ctx) {
  const json j = ctx.guard<json::exception>(
      "start_pose", "not valid JSON: ", [&] { return json::parse(ctx.param_string("start_pose")); });
  try {
    if (j.contains("world_to_camera")) {
      const json& rows = j["world_to_camera"];
      if (!rows.is_array() || rows.size() < 3)
        ctx.fail("start_pose", "world_to_camera must be 3 or 4 rows of 4 numbers");
      Mat4 m = mat4_identity();
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) m[size_t(r * 4 + c)] = rows.at(size_t(r)).at(size_t(c)).get<double>();
      return Pose::from_world_to_camera(m);
    }
    if (j.contains("position") && j.contains("quaternion")) {
      Pose p;
      p.C = {j["position"].at(0).get<double>(), j["position"].at(1).get<double>(), j["position"].at(2).get<double>()};
      const json& q = j["quaternion"];
      p.R = mat3_from_quat(
          {q.at(0).get<double>(), q.at(1).get<double>(), q.at(2).get<double>(), q.at(3).get<double>()});
      return p;
    }
  } catch (const std::exception& e) {
    ctx.fail("start_pose", e.what());
  }
  ctx.fail("start_pose",
           "expected {\"position\": [x, y, z], \"quaternion\": [w, x, y, z]} (camera-to-world, OpenCV axes) "
           "or {\"world_to_camera\": [[...], [...], [...]]}");
}

std::vector<MotionPrimitive> primitives_from_params(NodeContext& ctx) {
  const std::string text = ctx.param_string("motions");
  std::vector<MotionPrimitive> out;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    MotionPrimitive p;
    p.type = ctx.param_string("motion");
    const std::string dir = ctx.param_string("direction");
    p.direction = dir == "auto" ? "" : dir;
    p.intensity = ctx.param_float("intensity");
    p.easing = ctx.param_string("easing");
    if (p.type != "static") out.push_back(p);
    return out;
  }
  json j = ctx.guard<json::exception>("motions", "not valid JSON: ", [&] { return json::parse(text); });
  if (j.is_object()) j = json::array({j});
  if (!j.is_array()) ctx.fail("motions", "expected a JSON array of motions [{\"type\": \"pan\", ...}]");
  ctx.guard<MotionError>("motions", [&] {
    for (size_t i = 0; i < j.size(); ++i) {
      MotionPrimitive p = MotionPrimitive::from_json(j[i], "motions[" + std::to_string(i) + "]");
      if (p.type != "static") out.push_back(p);
    }
  });
  return out;
}

void path_execute(NodeContext& ctx) {
  std::shared_ptr<const SplatSceneValue> scene;
  if (ctx.has_input("scene")) scene = ctx.input<SplatSceneValue>("scene");
  const std::vector<Camera> no_cameras;
  const std::vector<Camera>& train_cams = scene ? scene->training_cameras : no_cameras;

  const double fps = ctx.param_float("fps");
  int frames = int(ctx.param_int("frames"));
  if (ctx.param_float("duration") > 0) frames = std::max(1, int(std::lround(ctx.param_float("duration") * fps)));
  const int requested = frames;
  if (ctx.param_string("frame_count") == "4n+1") frames = round_up_4n1(frames);
  const int width = int(ctx.param_int("width")), height = int(ctx.param_int("height"));

  const Vec3 up = ctx.guard("up", [&] { return resolve_up(ctx.param_string("up"), train_cams); });

  // Start pose and field of view.
  const std::string start_mode = ctx.param_string("start");
  const Vec3 target_param{ctx.param_float("target_x"), ctx.param_float("target_y"), ctx.param_float("target_z")};
  double fov = ctx.param_float("fov");
  Pose start;
  if (start_mode == "training_camera") {
    if (!scene) ctx.fail("start", "start = training_camera needs the 'scene' input");
    if (train_cams.empty()) ctx.fail("start", "the splat scene carries no training cameras; use look_at or explicit");
    const int idx = int(ctx.param_int("start_camera"));
    if (idx >= int(train_cams.size()))
      ctx.fail("start_camera", "camera " + std::to_string(idx) + " does not exist (the scene has " +
                                   std::to_string(train_cams.size()) + " training cameras)");
    const Camera& tc = train_cams[size_t(idx)];
    start = Pose::from_world_to_camera(tc.world_to_camera);
    if (fov <= 0) fov = 2 * std::atan(0.5 * tc.height / tc.fy) * 180 / M_PI;
  } else if (start_mode == "look_at") {
    const Vec3 eye{ctx.param_float("eye_x"), ctx.param_float("eye_y"), ctx.param_float("eye_z")};
    try {
      start = Pose::look_at(eye, target_param, up);
    } catch (const std::exception&) {
      ctx.fail("eye_x", "the eye is at the target or looks straight along up");
    }
  } else {
    start = explicit_pose(ctx);
  }
  if (fov <= 0) fov = 60;
  ShotIntrinsics k;
  k.width = width;
  k.height = height;
  k.fy = 0.5 * height / std::tan(0.5 * fov * M_PI / 180);

  MotionScene ms;
  ms.up = up;
  Vec3 centre{0, 0, 0};
  if (scene) std::tie(centre, ms.extent) = scene_centre_extent(*scene);
  if (ctx.param_float("extent") > 0) ms.extent = ctx.param_float("extent");
  if (start_mode == "look_at" || ctx.param_string("target") == "point") {
    ms.target = target_param;
  } else {
    double d = ctx.param_float("target_distance");
    if (d <= 0) d = dot(centre - start.C, start.forward());
    if (d <= 1e-6) d = ms.extent;
    ms.target = start.C + d * start.forward();
  }

  PathResult res;
  const bool keyframe_mode = ctx.param_string("mode") == "keyframes";
  try {
    if (keyframe_mode) {
      json j;
      try {
        j = json::parse(ctx.param_string("keyframes"));
      } catch (const json::exception& e) {
        ctx.fail("keyframes", std::string("not valid JSON: ") + e.what());
      }
      KeyframeOptions o;
      o.position_spline = ctx.param_string("position_spline");
      o.rotation = ctx.param_string("rotation");
      o.up = up;
      o.default_fy = k.fy;
      if (ctx.param_bool("look_at_target")) o.target = target_param;
      res = keyframe_path(keyframes_from_json(j, frames, height), k, o, frames, fps);
    } else {
      res = motion_path(start, k, ms, primitives_from_params(ctx), frames, fps);
    }
  } catch (const MotionError& e) {
    ctx.fail(e.field.rfind("motions", 0) == 0 ? "motions" : e.field, e.what());
  }
  for (const auto& w : res.warnings) ctx.warn(w);
  if (frames != requested)
    for (auto& m : res.motion) m["frames_requested"] = requested;

  // Framing check.
  auto framing = std::make_shared<RecordValue>();
  framing->record = {{"checked", false}};
  if (ctx.has_input("billboards")) {
    const std::vector<Billboard> bbs = ctx.guard(
        "billboards", [&] { return billboards_from_record(ctx.input<RecordValue>("billboards")->record); });
    json inside = json::array(), outside = json::array();
    for (size_t i = 0; i < res.cameras.size(); ++i) {
      bool ok = true;
      for (const auto& b : bbs) ok = ok && billboard_inside(b, res.cameras[i]);
      inside.push_back(ok);
      if (!ok) outside.push_back(i);
    }
    framing->record = {{"checked", true},
                       {"billboards", bbs.size()},
                       {"inside", inside},
                       {"all_inside", outside.empty()},
                       {"frames_outside", outside}};
    if (!outside.empty() && ctx.param_string("framing") == "fail")
      ctx.fail("framing", "the character leaves the frame at " + std::to_string(outside.size()) + " of " +
                              std::to_string(res.cameras.size()) + " frames (first: frame " +
                              std::to_string(outside[0].get<int>()) + ")");
    if (!outside.empty()) ctx.warn("the character leaves the frame at " + std::to_string(outside.size()) + " frames");
  }

  auto path = std::make_shared<CameraPathValue>();
  path->cameras = std::move(res.cameras);
  path->fps = fps;
  path->motion = std::move(res.motion);
  ctx.set_output("path", path);
  ctx.set_output("framing", framing);
}

}  // namespace

void register_camera_nodes(Registry& r) {
  r.add({.type = "camera.orbit",
         .version = 2,  // 2: the motion record of camera.path (magnitude, speed, seconds)
         .category = "Camera",
         .title = "Orbit Path",
         .doc = "A camera arc around a target point at a fixed height (+Z up), always looking at the target.",
         .outputs = {with_overlay({"path", PortType::CameraPath, "one camera per frame"}, "camera_path")},
         .params = {p_int("frames", 49, 1, 100000, "number of frames"), p_float("fps", 16, 0.1, 1000, "frame rate"),
                    p_int("width", 320, 8, 16384, "image width"), p_int("height", 240, 8, 16384, "image height"),
                    p_float("fov", 60, 5, 150, "vertical field of view, degrees"),
                    p_float("radius", 2.0, 0.01, 1e6, "distance from the target in the ground plane"),
                    p_float("camera_height", 1.2, -1e6, 1e6, "camera height (z)"),
                    p_float("target_x", 0, -1e6, 1e6, "target x"), p_float("target_y", 0, -1e6, 1e6, "target y"),
                    p_float("target_z", 0.4, -1e6, 1e6, "target z"),
                    p_float("start_angle", 0, -3600, 3600, "start angle around +Z, degrees"),
                    p_float("end_angle", 60, -3600, 3600, "end angle, degrees"),
                    p_enum("easing", "ease_in_out", {"linear", "ease_in", "ease_out", "ease_in_out"}, "speed profile")},
         .execute = orbit_execute,
         .migrate = [](json&, int) {}});  // parameters unchanged
  r.add(
      {.type = "camera.path",
       .category = "Camera",
       .title = "Camera Path",
       .doc = "A shot's camera: CameraBench motion primitives (static, pan, tilt, roll, truck, pedestal, dolly, "
              "zoom, orbit, crane, dolly zoom) with direction, intensity 0..1 scaled to the scene, easing and frame "
              "ranges, or keyframes (spline positions, slerp/squad orientations, focal lengths). One camera per "
              "frame and a structured motion description; optional framing check for billboards. See "
              "docs/camera-motion.md.",
       .inputs = {{"scene", PortType::SplatScene,
                   "splat scene: training cameras (start pose, up) and extent (intensity scale)", true},
                  {"billboards", PortType::Record, "billboards from shot.billboard, for the framing check", true}},
       .outputs = {with_overlay({"path", PortType::CameraPath, "one camera per frame, motion description"},
                                "camera_path"),
                   {"framing", PortType::Record, "per frame: is every billboard fully inside the image"}},
       .params =
           {p_enum("mode", "motion", {"motion", "keyframes"}, "motion primitives or keyframes"),
            p_int("frames", 49, 1, 100000, "number of frames"),
            p_float("duration", 0, 0, 3600, "shot length in seconds (0: use frames)"),
            p_enum("frame_count", "exact", {"exact", "4n+1"}, "4n+1: round the frame count up to 4N+1 (video models)"),
            p_float("fps", 16, 0.1, 1000, "frame rate"),
            p_int("width", 320, 8, 16384, "image width"),
            p_int("height", 240, 8, 16384, "image height"),
            p_float("fov", 60, 0, 170, "vertical field of view at the start, degrees (0: the training camera's)"),
            p_enum("up", "+z", up_choices(), "world up (cameras: mean of the training cameras' -y axes)"),
            p_enum("start", "look_at", {"look_at", "training_camera", "explicit"}, "start pose"),
            p_int("start_camera", 0, 0, 100000, "start = training_camera: index into the scene's training cameras"),
            p_float("eye_x", 2.0, -1e6, 1e6, "start = look_at: camera position x"),
            p_float("eye_y", 0.0, -1e6, 1e6, "start = look_at: camera position y"),
            p_float("eye_z", 1.3, -1e6, 1e6, "start = look_at: camera position z"),
            p_float("target_x", 0, -1e6, 1e6, "look-at / motion target x"),
            p_float("target_y", 0, -1e6, 1e6, "look-at / motion target y"),
            p_float("target_z", 0.4, -1e6, 1e6, "look-at / motion target z"),
            p_string("start_pose", "",
                     "start = explicit: {\"position\": [x,y,z], \"quaternion\": [w,x,y,z]} (camera-to-world, OpenCV "
                     "axes) or {\"world_to_camera\": [[...],[...],[...]]}"),
            p_enum("target", "view_axis", {"view_axis", "point"},
                   "motion target (orbit, crane, dolly, dolly zoom): on the start view axis, or target_x/y/z"),
            p_float("target_distance", 0, 0, 1e6, "view_axis target: distance (0: depth of the scene centre)"),
            p_float("extent", 0, 0, 1e6, "scene radius for intensities (0: the scene's, else 1)"),
            p_enum("motion", "pan", motion_types(), "single motion (when 'motions' is empty)"),
            p_enum("direction", "auto",
                   {"auto", "left", "right", "up", "down", "in", "out", "clockwise", "counterclockwise"},
                   "direction of the single motion (auto: the type's first)"),
            p_float("intensity", 0.5, 0, 1, "single motion: 0..1, scaled to the scene (docs/camera-motion.md)"),
            p_enum("easing", "ease_in_out", easing_choices(), "single motion: speed profile"),
            p_text("motions", "",
                   "several motions, JSON: [{\"type\": \"pan\", \"direction\": \"left\", \"intensity\": 0.5, "
                   "\"frames\": [0, 24], \"easing\": \"linear\"}, ...]; overlapping ranges compose"),
            p_text("keyframes", "",
                   "mode = keyframes, JSON: [{\"frame\": 0, \"position\": [x,y,z], \"quaternion\": [w,x,y,z] "
                   "| \"look_at\": [x,y,z], \"fov\": degrees | \"focal\": pixels}, ...]"),
            p_enum("position_spline", "catmull_rom", {"catmull_rom", "cubic", "linear"},
                   "keyframe positions: centripetal Catmull-Rom, natural cubic spline, or linear"),
            p_enum("rotation", "slerp", {"slerp", "squad"}, "keyframe orientations"),
            p_bool("look_at_target", false, "keyframes: every frame looks at target_x/y/z"),
            p_enum("framing", "report", {"report", "fail"}, "billboard leaves the frame: report it, or fail the node")},
       .execute = path_execute});
}

}  // namespace camgraph
