// camera.path: every motion primitive checked by projecting known 3D points through the produced
// cameras; keyframe interpolation (exact keyframes, continuity); node errors name the parameter.
#include <gtest/gtest.h>

#include <cmath>

#include "camera/motion.h"
#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/error.h"
#include "camgraph/evaluator.h"
#include "camgraph/node_context.h"
#include "camgraph/values.h"

using namespace camgraph;
using namespace camgraph::cam;

namespace {

// A camera at (4, 0, 1) looking at (0, 0, 1) (+Z up): level, forward -x, right +y (forward x up).
const Vec3 kEye{4, 0, 1}, kTarget{0, 0, 1};

PathResult one(const std::string& type, const std::string& dir, double intensity = 0.5, int frames = 9,
               std::string easing = "linear") {
  MotionPrimitive p;
  p.type = type;
  p.direction = dir;
  p.intensity = intensity;
  p.easing = easing;
  ShotIntrinsics k{64, 48, 40};
  MotionScene s;
  s.extent = 3;
  s.target = kTarget;
  return motion_path(Pose::look_at(kEye, kTarget, {0, 0, 1}), k, s, {p}, frames, 8);
}

// Scene points around the target, in front of the start camera.
const std::vector<Vec3> kPoints{{0, 0, 1}, {0, 0.5, 1.3}, {1, -0.4, 0.8}, {-1, 0.3, 1.1}, {2, 0.2, 0.9}};

Pose pose_of(const Camera& c) { return Pose::from_world_to_camera(c.world_to_camera); }

double rot_diff(const Camera& a, const Camera& b) {
  double d = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) d = std::max(d, std::abs(a.world_to_camera[i * 4 + j] - b.world_to_camera[i * 4 + j]));
  return d;
}

std::shared_ptr<const CameraPathValue> run_path(const std::string& params_json, std::string* error = nullptr,
                                                std::string* error_param = nullptr) {
  const std::string text = R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
    {"id": "path", "type": "camera.path", "params": )" +
                           params_json + R"(}], "links": []}})";
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.out_dir = std::filesystem::temp_directory_path();
  const RunResult r = ev.run(load_cgraph_text(text, builtin_registry()).graph, opt);
  if (!r.ok) {
    if (error) *error = r.nodes.count("path") ? r.nodes.at("path").error : "validation failed";
    if (error_param && r.nodes.count("path")) *error_param = r.nodes.at("path").error_param;
    return nullptr;
  }
  return std::dynamic_pointer_cast<const CameraPathValue>(ev.outputs("path").at("path"));
}

}  // namespace

TEST(CameraPath, PanLeftMovesScenePointsRight) {
  const PathResult r = one("pan", "left");
  ASSERT_EQ(r.cameras.size(), 9u);
  for (const Vec3& p : kPoints)
    for (size_t i = 1; i < r.cameras.size(); ++i) {
      EXPECT_GT(project(r.cameras[i], p).u, project(r.cameras[i - 1], p).u + 0.5) << "frame " << i;
    }
  // Rotation about the camera centre: the centre never moves; 45 degrees at intensity 0.5.
  for (const auto& c : r.cameras) EXPECT_NEAR(norm(c.position() - kEye), 0, 1e-9);
  const Vec3 f0 = pose_of(r.cameras.front()).forward(), f1 = pose_of(r.cameras.back()).forward();
  EXPECT_NEAR(std::acos(dot(f0, f1)) * 180 / M_PI, 45, 1e-6);
  EXPECT_EQ(r.motion[0]["type"], "pan");
  EXPECT_EQ(r.motion[0]["direction"], "left");
  EXPECT_NEAR(r.motion[0]["magnitude"]["value"].get<double>(), 45, 1e-9);
  EXPECT_EQ(r.motion[0]["magnitude"]["unit"], "degrees");
  // 45 degrees over 1 s (8 frames at 8 fps): "fast" (>= 40 deg/s).
  EXPECT_EQ(r.motion[0]["speed"], "fast");
  const PathResult right = one("pan", "right");
  EXPECT_LT(project(right.cameras.back(), kTarget).u, project(right.cameras.front(), kTarget).u - 5);
}

TEST(CameraPath, TiltUpMovesScenePointsDown) {
  const PathResult r = one("tilt", "up", 0.3);
  for (const Vec3& p : kPoints)
    for (size_t i = 1; i < r.cameras.size(); ++i) EXPECT_GT(project(r.cameras[i], p).v, project(r.cameras[i - 1], p).v);
  for (const auto& c : r.cameras) EXPECT_NEAR(norm(c.position() - kEye), 0, 1e-9);
  // The forward axis rises: its up component grows to sin(18 degrees).
  EXPECT_NEAR(pose_of(r.cameras.back()).forward()[2], std::sin(18 * M_PI / 180), 1e-9);
  const PathResult down = one("tilt", "down", 0.3);
  EXPECT_LT(project(down.cameras.back(), kTarget).v, project(down.cameras.front(), kTarget).v - 5);
}

TEST(CameraPath, RollClockwiseTurnsTheImageCounterClockwise) {
  const PathResult r = one("roll", "clockwise", 0.5);
  // A point to the right of the centre moves up in the image (v decreases); the centre stays.
  const Camera& c0 = r.cameras.front();
  const Vec3 right_point = kTarget + 1.5 * pose_of(c0).right();  // 15 px right of the centre
  EXPECT_NEAR(project(c0, right_point).u, 32 + 15, 1e-9);
  // 30 degrees (intensity 0.5 of 60): the point turns up, counter-clockwise on screen.
  EXPECT_NEAR(project(r.cameras.back(), right_point).v, 24 - 15 * std::sin(M_PI / 6), 1e-9);
  EXPECT_NEAR(project(r.cameras.back(), right_point).u, 32 + 15 * std::cos(M_PI / 6), 1e-9);
  const PathResult ccw = one("roll", "counterclockwise", 0.5);
  EXPECT_NEAR(project(ccw.cameras.back(), right_point).v, 24 + 15 * std::sin(M_PI / 6), 1e-9);
  EXPECT_NEAR(project(r.cameras.back(), kTarget).u, 32, 1e-9);
  EXPECT_NEAR(project(r.cameras.back(), kTarget).v, 24, 1e-9);
}

TEST(CameraPath, ZoomChangesOnlyTheFocalLength) {
  const PathResult r = one("zoom", "in", 0.5);  // factor 1 + 2 * 0.5 = 2
  const Camera& a = r.cameras.front();
  const Camera& b = r.cameras.back();
  EXPECT_EQ(a.world_to_camera, b.world_to_camera);
  EXPECT_EQ(a.cx, b.cx);
  EXPECT_EQ(a.cy, b.cy);
  EXPECT_NEAR(b.fx / a.fx, 2.0, 1e-12);
  for (size_t i = 1; i < r.cameras.size(); ++i) {
    EXPECT_EQ(r.cameras[i].world_to_camera, a.world_to_camera);
    EXPECT_GT(r.cameras[i].fx, r.cameras[i - 1].fx);
  }
  // The image centre stays fixed; other points move away from it by the focal ratio.
  EXPECT_NEAR(project(b, kTarget).u, 32, 1e-9);
  const Vec3 p = kPoints[2];
  EXPECT_NEAR(project(b, p).u - 32, 2.0 * (project(a, p).u - 32), 1e-9);
  const PathResult out = one("zoom", "out", 1.0);  // factor 2
  EXPECT_NEAR(out.cameras.back().fx / out.cameras.front().fx, 0.5, 1e-12);
}

TEST(CameraPath, DollyInMovesAlongTheViewAxisAndEnlargesNearPointsMore) {
  const PathResult r = one("dolly", "in", 0.5);  // 0.7 * 0.5 * distance 4 = 1.4
  const Vec3 f = pose_of(r.cameras.front()).forward();
  for (size_t i = 0; i < r.cameras.size(); ++i) {
    const Vec3 d = r.cameras[i].position() - kEye;
    EXPECT_NEAR(norm(d - dot(d, f) * f), 0, 1e-9);  // on the view axis
    EXPECT_EQ(rot_diff(r.cameras[i], r.cameras.front()), 0);
    EXPECT_EQ(r.cameras[i].fx, r.cameras.front().fx);
  }
  EXPECT_NEAR(dot(r.cameras.back().position() - kEye, f), 1.4, 1e-9);
  // Same lateral offset, near (depth 1.5) and far (depth 6) points: the near one grows more.
  const Vec3 right = pose_of(r.cameras.front()).right();
  const Vec3 near_p = kEye + 2.6 * f + 0.3 * right, far_p = kEye + 6.0 * f + 0.3 * right;
  auto offset = [](const Camera& c, const Vec3& p) { return project(c, p).u - c.cx; };
  const double near_growth = offset(r.cameras.back(), near_p) / offset(r.cameras.front(), near_p);
  const double far_growth = offset(r.cameras.back(), far_p) / offset(r.cameras.front(), far_p);
  EXPECT_GT(far_growth, 1.0);
  EXPECT_GT(near_growth, far_growth + 0.5);
  EXPECT_NEAR(near_growth, 2.6 / 1.2, 1e-9);
  EXPECT_EQ(r.motion[0]["relative"]["of"], "target_distance");
  EXPECT_NEAR(r.motion[0]["relative"]["value"].get<double>(), 0.35, 1e-12);
}

TEST(CameraPath, TruckAndPedestalTranslateAlongRightAndUp) {
  const PathResult t = one("truck", "left", 0.4);  // 0.5 * 0.4 * extent 3 = 0.6
  const Vec3 right = pose_of(t.cameras.front()).right();
  EXPECT_NEAR(norm(t.cameras.back().position() - (kEye - 0.6 * right)), 0, 1e-9);
  EXPECT_EQ(rot_diff(t.cameras.back(), t.cameras.front()), 0);
  EXPECT_GT(project(t.cameras.back(), kTarget).u, project(t.cameras.front(), kTarget).u);  // scene moves right
  const PathResult p = one("pedestal", "up", 0.4);
  EXPECT_NEAR(norm(p.cameras.back().position() - (kEye + Vec3{0, 0, 0.6})), 0, 1e-9);
  EXPECT_GT(project(p.cameras.back(), kTarget).v, project(p.cameras.front(), kTarget).v);  // scene moves down
}

TEST(CameraPath, OrbitKeepsTheTargetCentredAndTheDistance) {
  for (const std::string dir : {"left", "right"}) {
    const PathResult r = one("orbit", dir, 0.5);
    for (const auto& c : r.cameras) {
      EXPECT_NEAR(project(c, kTarget).u, 32, 1e-9);
      EXPECT_NEAR(project(c, kTarget).v, 24, 1e-9);
      EXPECT_NEAR(norm(c.position() - kTarget), 4, 1e-9);
      EXPECT_NEAR(c.position()[2], 1, 1e-9);
    }
    // Orbit right: the camera moves towards its own right.
    const Vec3 moved = r.cameras[1].position() - kEye;
    const double side = dot(moved, pose_of(r.cameras.front()).right());
    EXPECT_TRUE(dir == "right" ? side > 0 : side < 0) << dir;
    const Vec3 f0 = r.cameras.front().position() - kTarget, f1 = r.cameras.back().position() - kTarget;
    EXPECT_NEAR(std::acos(dot(f0, f1) / 16) * 180 / M_PI, 45, 1e-6);
  }
}

TEST(CameraPath, CraneRaisesTheCameraOnAnArcLookingAtTheTarget) {
  const PathResult r = one("crane", "up", 0.5);  // 22.5 degrees
  for (size_t i = 0; i < r.cameras.size(); ++i) {
    EXPECT_NEAR(project(r.cameras[i], kTarget).u, 32, 1e-9);
    EXPECT_NEAR(project(r.cameras[i], kTarget).v, 24, 1e-9);
    EXPECT_NEAR(norm(r.cameras[i].position() - kTarget), 4, 1e-9);
    if (i) {
      EXPECT_GT(r.cameras[i].position()[2], r.cameras[i - 1].position()[2]);
    }
  }
  EXPECT_NEAR(r.cameras.back().position()[2], 1 + 4 * std::sin(22.5 * M_PI / 180), 1e-9);
}

TEST(CameraPath, DollyZoomKeepsTheTargetSize) {
  const PathResult r = one("dolly_zoom", "in", 0.5);  // 0.5 * 0.5 * 4 = 1 closer
  for (const auto& c : r.cameras) EXPECT_NEAR(c.fy / norm(c.position() - kTarget), r.cameras[0].fy / 4, 1e-9);
  EXPECT_NEAR(norm(r.cameras.back().position() - kTarget), 3, 1e-9);
  // A background point behind the target shrinks towards the centre (the view behind the subject widens).
  const Vec3 right = pose_of(r.cameras.front()).right();
  const Vec3 bg = kTarget + Vec3{-4, 0, 0} + 0.5 * right;
  EXPECT_GT(std::abs(project(r.cameras.front(), bg).u - 32), std::abs(project(r.cameras.back(), bg).u - 32));
}

TEST(CameraPath, StaticKeepsEveryCameraIdentical) {
  ShotIntrinsics k{64, 48, 40};
  const PathResult r = motion_path(Pose::look_at(kEye, kTarget, {0, 0, 1}), k, MotionScene{}, {}, 5, 8);
  for (const auto& c : r.cameras) EXPECT_EQ(c, r.cameras.front());
  EXPECT_EQ(r.motion[0]["type"], "static");
}

TEST(CameraPath, EasingShapesProgressAndCompositionAddsUp) {
  const PathResult lin = one("pan", "left", 0.5, 9, "linear"), in = one("pan", "left", 0.5, 9, "ease_in");
  auto angle = [](const PathResult& r, int i) {
    return std::acos(
               std::clamp(dot(pose_of(r.cameras[0]).forward(), pose_of(r.cameras[size_t(i)]).forward()), -1.0, 1.0)) *
           180 / M_PI;
  };
  EXPECT_NEAR(angle(lin, 4), 22.5, 1e-6);
  EXPECT_NEAR(angle(in, 4), 45 * 0.25, 1e-6);
  // Pan on frames 0..4 then truck on 4..8: the second half only translates.
  MotionPrimitive a, b;
  a.type = "pan";
  a.direction = "right";
  a.end = 4;
  a.easing = "linear";
  b.type = "truck";
  b.direction = "right";
  b.start = 4;
  b.easing = "linear";
  MotionScene s;
  s.target = kTarget;
  const PathResult r = motion_path(Pose::look_at(kEye, kTarget, {0, 0, 1}), ShotIntrinsics{64, 48, 40}, s, {a, b}, 9,
                                   8);
  for (int i = 5; i < 9; ++i) EXPECT_EQ(rot_diff(r.cameras[size_t(i)], r.cameras[4]), 0);
  EXPECT_NEAR(norm(r.cameras[4].position() - kEye), 0, 1e-12);
  EXPECT_GT(norm(r.cameras[8].position() - kEye), 0.2);
  EXPECT_EQ(r.motion.size(), 2u);
  EXPECT_EQ(r.motion[1]["frames"][0], 4);
}

TEST(CameraPath, BadPrimitivesAreRejectedWithTheField) {
  MotionPrimitive p;
  p.type = "pan";
  p.direction = "in";
  try {
    motion_path(Pose::look_at(kEye, kTarget, {0, 0, 1}), ShotIntrinsics{64, 48, 40}, MotionScene{}, {p}, 9, 8);
    FAIL() << "expected a MotionError";
  } catch (const MotionError& e) {
    EXPECT_NE(std::string(e.what()).find("not a direction of pan"), std::string::npos) << e.what();
  }
  p.direction = "left";
  p.end = 20;
  EXPECT_THROW(
      motion_path(Pose::look_at(kEye, kTarget, {0, 0, 1}), ShotIntrinsics{64, 48, 40}, MotionScene{}, {p}, 9, 8),
      MotionError);
}

// ---- keyframes ------------------------------------------------------------------------------

TEST(CameraPathKeyframes, HitsEveryKeyframeExactlyAndIsContinuous) {
  const nlohmann::json keys = nlohmann::json::parse(R"([
    {"frame": 0, "position": [4, 0, 1], "look_at": [0, 0, 1], "fov": 50},
    {"frame": 10, "position": [3, 2, 1.5], "look_at": [0, 0, 1]},
    {"frame": 18, "position": [0, 3.5, 2], "quaternion": [0, 0, -0.70710678, 0.70710678], "fov": 30},
    {"frame": 32, "position": [-3, 1, 1.2], "look_at": [0, 0, 0.5], "fov": 40}])");
  for (const std::string spline : {"catmull_rom", "cubic", "linear"})
    for (const std::string rot : {"slerp", "squad"}) {
      const auto kf = keyframes_from_json(keys, 33, 48);
      KeyframeOptions o;
      o.position_spline = spline;
      o.rotation = rot;
      o.default_fy = 0.5 * 48 / std::tan(25 * M_PI / 180);
      const PathResult r = keyframe_path(kf, ShotIntrinsics{64, 48, 0}, o, 33, 16);
      ASSERT_EQ(r.cameras.size(), 33u);
      for (const auto& k : kf) {
        const Camera& c = r.cameras[size_t(k.frame)];
        EXPECT_NEAR(norm(c.position() - k.position), 0, 1e-9) << spline << " " << rot << " frame " << k.frame;
        Quat want = k.orientation ? *k.orientation : quat_from_mat3(Pose::look_at(k.position, *k.look_at, {0, 0, 1}).R);
        const Quat got = quat_from_mat3(pose_of(c).R);
        EXPECT_NEAR(std::abs(quat_dot(want, got)), 1, 1e-9) << spline << " " << rot << " frame " << k.frame;
        if (k.fy) {
          EXPECT_NEAR(c.fy, *k.fy, 1e-9);
        }
      }
      // Continuity: no frame-to-frame step is much larger than its neighbours (no jump at a keyframe).
      for (size_t i = 1; i + 1 < r.cameras.size(); ++i) {
        const double step = norm(r.cameras[i].position() - r.cameras[i - 1].position());
        const double next = norm(r.cameras[i + 1].position() - r.cameras[i].position());
        EXPECT_LT(step, 3.0 * next + 0.05) << spline << " " << rot << " frame " << i;
        EXPECT_LT(next, 3.0 * step + 0.05) << spline << " " << rot << " frame " << i;
        EXPECT_LT(rot_diff(r.cameras[i], r.cameras[i - 1]), 0.25) << spline << " " << rot << " frame " << i;
        EXPECT_LT(std::abs(std::log(r.cameras[i].fy / r.cameras[i - 1].fy)), 0.1);
      }
    }
}

TEST(CameraPathKeyframes, CatmullRomIsSmootherThanLinearAtKeyframes) {
  const std::vector<double> x{0, 8, 16, 24};
  const std::vector<Vec3> p{{0, 0, 0}, {1, 1, 0}, {2, 0, 0}, {3, 1, 0}};
  auto kink = [&](const std::string& mode) {
    const Vec3 a = spline_point(x, p, mode, 7), b = spline_point(x, p, mode, 8), c = spline_point(x, p, mode, 9);
    return norm((c - b) - (b - a));  // second difference at the keyframe
  };
  EXPECT_LT(kink("catmull_rom"), 0.5 * kink("linear"));
  EXPECT_LT(kink("cubic"), 0.5 * kink("linear"));
}

TEST(CameraPathKeyframes, InvalidFramesAreClearErrors) {
  try {
    keyframes_from_json(
        nlohmann::json::parse(R"([{"frame": 0, "position": [0,0,0]}, {"frame": 40, "position": [1,0,0]}])"), 33, 48);
    FAIL();
  } catch (const MotionError& e) {
    EXPECT_NE(std::string(e.what()).find("keyframes[1]: frame 40 is outside the shot's frames [0, 32]"),
              std::string::npos)
        << e.what();
  }
  try {
    keyframes_from_json(
        nlohmann::json::parse(R"([{"frame": 5, "position": [0,0,0]}, {"frame": 5, "position": [1,0,0]}])"), 33, 48);
    FAIL();
  } catch (const MotionError& e) {
    EXPECT_NE(std::string(e.what()).find("strictly increasing"), std::string::npos) << e.what();
  }
  // Through the node: the error names the node and the parameter.
  std::string err, param;
  EXPECT_EQ(
      run_path(
          R"({"mode": "keyframes", "frames": 10, "keyframes": "[{\"frame\": 3, \"position\": [0,0,0], \"look_at\": [1,0,0]}, {\"frame\": 2, \"position\": [1,0,0], \"look_at\": [2,0,0]}]"})",
          &err, &param),
      nullptr);
  EXPECT_EQ(param, "keyframes");
  EXPECT_NE(err.find("strictly increasing"), std::string::npos) << err;
}

// ---- the node -------------------------------------------------------------------------------

TEST(CameraPathNode, FourNPlusOneAndMotionMetadata) {
  auto path = run_path(R"({"frames": 30, "frame_count": "4n+1", "motion": "orbit", "direction": "right",
                           "intensity": 0.4, "width": 96, "height": 64, "fov": 50})");
  ASSERT_TRUE(path);
  ASSERT_EQ(path->cameras.size(), 33u);
  EXPECT_EQ(path->cameras[0].width, 96);
  EXPECT_EQ(path->cameras[0].height, 64);
  EXPECT_NEAR(path->cameras[0].fy, 32 / std::tan(25 * M_PI / 180), 1e-9);
  const auto& m = path->motion[0];
  EXPECT_EQ(m["type"], "orbit");
  EXPECT_EQ(m["direction"], "right");
  EXPECT_EQ(m["frames"], nlohmann::json({0, 32}));
  EXPECT_EQ(m["frames_requested"], 30);
  EXPECT_NEAR(m["magnitude"]["value"].get<double>(), 36, 1e-9);
  EXPECT_EQ(round_up_4n1(49), 49);
  EXPECT_EQ(round_up_4n1(50), 53);
  EXPECT_EQ(round_up_4n1(1), 5);
  // The default look_at target (0, 0, 0.4) stays at the image centre.
  for (const auto& c : path->cameras) EXPECT_NEAR(project(c, {0, 0, 0.4}).u, 48, 1e-9);
}

TEST(CameraPathNode, StartFromATrainingCameraAndUpFromCameras) {
  // A scene with two training cameras, both level with +Y up (world), via a graph-free call of resolve_up.
  std::vector<Camera> cams{Camera::from_fov(64, 48, 60, Camera::look_at({0, 1, 4}, {0, 1, 0}, {0, 1, 0})),
                           Camera::from_fov(64, 48, 60, Camera::look_at({4, 1, 0}, {0, 1, 0}, {0, 1, 0}))};
  const Vec3 up = resolve_up("cameras", cams);
  EXPECT_NEAR(norm(up - Vec3{0, 1, 0}), 0, 1e-12);
  EXPECT_THROW(resolve_up("cameras", {}), std::runtime_error);
  // Pan with up = +Y keeps the camera level (its right axis stays perpendicular to up).
  MotionPrimitive p;
  p.type = "pan";
  MotionScene s;
  s.up = up;
  const PathResult r = motion_path(pose_of(cams[0]), ShotIntrinsics{64, 48, 40}, s, {p}, 5, 8);
  for (const auto& c : r.cameras) EXPECT_NEAR(dot(pose_of(c).right(), up), 0, 1e-12);
  EXPECT_NEAR(norm(r.cameras[0].position() - Vec3{0, 1, 4}), 0, 1e-12);
}

TEST(CameraPathNode, ErrorsNameTheParameter) {
  std::string err, param;
  EXPECT_EQ(run_path(R"({"start": "training_camera"})", &err, &param), nullptr);
  EXPECT_EQ(param, "start");
  EXPECT_NE(err.find("needs the 'scene' input"), std::string::npos) << err;
  EXPECT_EQ(run_path(R"({"motions": "[{\"type\": \"pan\", \"direction\": \"out\"}]"})", &err, &param), nullptr);
  EXPECT_EQ(param, "motions");
  EXPECT_NE(err.find("'out' is not a direction of pan"), std::string::npos) << err;
  EXPECT_EQ(run_path(R"({"up": "cameras"})", &err, &param), nullptr);
  EXPECT_EQ(param, "up");
}

namespace {

// Runs camera.path directly with a splat scene input (no graph needed).
std::shared_ptr<const CameraPathValue> run_with_scene(const nlohmann::json& params, Value scene) {
  const NodeSpec* spec = builtin_registry().find("camera.path");
  NodeInstance node;
  node.id = "path";
  node.type = "camera.path";
  node.params = params;
  OutputFiles files(std::filesystem::temp_directory_path());
  NodeContext::Setup s;
  s.node = &node;
  s.spec = spec;
  s.inputs = {{"scene", scene}};
  s.output_files = &files;
  NodeContext ctx(s);
  spec->execute(ctx);
  return std::dynamic_pointer_cast<const CameraPathValue>(ctx.outputs().at("path"));
}

}  // namespace

TEST(CameraPathNode, TrainingCameraStartSceneExtentAndExplicitPose) {
  auto scene = std::make_shared<SplatSceneValue>();
  scene->means = at::zeros({4, 3});
  scene->training_cameras = {Camera::from_fov(64, 48, 50, Camera::look_at({0, 1, 4}, {0, 1, 0}, {0, 1, 0})),
                             Camera::from_fov(64, 48, 50, Camera::look_at({4, 1, 0}, {0, 1, 0}, {0, 1, 0}))};
  scene->info = {{"extent", 2.0}, {"centre", {0, 1, 0}}};
  // Dolly in from training camera 1 (its own 50 degree field of view), up from the cameras (+Y):
  // the target is the scene centre's depth on the view axis (4), 0.7 * 0.5 * 4 = 1.4 closer.
  auto p = run_with_scene({{"start", "training_camera"},
                           {"start_camera", 1},
                           {"up", "cameras"},
                           {"fov", 0},
                           {"motion", "dolly"},
                           {"direction", "in"},
                           {"intensity", 0.5},
                           {"frames", 5},
                           {"width", 80},
                           {"height", 60}},
                          scene);
  ASSERT_EQ(p->cameras.size(), 5u);
  EXPECT_NEAR(norm(p->cameras.front().position() - Vec3{4, 1, 0}), 0, 1e-9);
  EXPECT_NEAR(norm(p->cameras.back().position() - Vec3{2.6, 1, 0}), 0, 1e-9);
  EXPECT_NEAR(p->cameras.front().fy, 30 / std::tan(25 * M_PI / 180), 1e-9);
  EXPECT_EQ(p->cameras.front().width, 80);
  EXPECT_NEAR(p->motion[0]["relative"]["value"].get<double>(), 0.35, 1e-12);
  // Truck: a fraction of the scene extent (0.5 * 0.4 * 2 = 0.4).
  auto t = run_with_scene({{"start", "training_camera"},
                           {"start_camera", 0},
                           {"up", "cameras"},
                           {"motion", "truck"},
                           {"direction", "right"},
                           {"intensity", 0.4},
                           {"frames", 3}},
                          scene);
  EXPECT_NEAR(norm(t->cameras.back().position() - t->cameras.front().position()), 0.4, 1e-9);
  EXPECT_EQ(t->motion[0]["relative"]["of"], "scene_extent");
  // Explicit pose: position + quaternion (camera-to-world, OpenCV axes) comes back exactly.
  const Pose want = Pose::look_at({1, 2, 3}, {0, 0, 0}, {0, 0, 1});
  const Quat q = quat_from_mat3(want.R);
  auto e = run_with_scene({{"start", "explicit"},
                           {"motion", "static"},
                           {"frames", 2},
                           {"start_pose", nlohmann::json({{"position", {1, 2, 3}}, {"quaternion", q}}).dump()}},
                          scene);
  for (int i = 0; i < 12; ++i)
    EXPECT_NEAR(e->cameras[0].world_to_camera[size_t(i)], want.world_to_camera()[size_t(i)], 1e-12);
}
