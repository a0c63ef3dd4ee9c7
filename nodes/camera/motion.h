// Camera paths from structured motion primitives (CameraBench vocabulary) and from keyframes.
// Pure geometry (no torch, no NodeContext): camera.path adapts parameters to these calls and the
// tests call them directly. Vocabulary, intensity mapping and conventions: docs/camera-motion.md.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "camera/geometry.h"

namespace camgraph::cam {

// A user error in a motion or keyframe description; `field` names the offending part.
struct MotionError : std::runtime_error {
  std::string field;
  MotionError(std::string f, const std::string& what) : std::runtime_error(what), field(std::move(f)) {}
};

const std::vector<std::string>&
motion_types();  // static, pan, tilt, roll, truck, pedestal, dolly, zoom, orbit, crane, dolly_zoom
const std::vector<std::string>& easing_choices();  // linear, ease_in, ease_out, ease_in_out
double ease(const std::string& easing, double t);  // t in [0, 1] -> [0, 1], monotone

struct MotionPrimitive {
  std::string type = "static";
  std::string direction;            // empty: the type's first direction
  double intensity = 0.5;           // 0..1, mapped to a magnitude (docs/camera-motion.md)
  std::optional<double> magnitude;  // overrides intensity, in the type's unit
  int start = 0, end = -1;          // frame range (end -1: last frame)
  std::string easing = "ease_in_out";
  // From {"type", "direction", "intensity" | "magnitude", "frames": [a, b], "easing"}.
  static MotionPrimitive from_json(const nlohmann::json& j, const std::string& field);
};

// The scene quantities that intensities are relative to.
struct MotionScene {
  Vec3 up{0, 0, 1};
  double extent = 1.0;   // scene radius, world units
  Vec3 target{0, 0, 0};  // orbit / crane / dolly / dolly-zoom target (on the start view axis or given)
};

struct ShotIntrinsics {
  int width = 320, height = 240;
  double fy = 0;  // start focal length in pixels (fx = fy, principal point at the centre)
};

struct PathResult {
  std::vector<Camera> cameras;
  nlohmann::json motion = nlohmann::json::array();
  std::vector<std::string> warnings;
};

// Cameras for `frames` frames at `fps` from `start`, every primitive applied over its frame range
// (overlapping primitives compose). Throws MotionError.
PathResult motion_path(const Pose& start, const ShotIntrinsics& k, const MotionScene& scene,
                       const std::vector<MotionPrimitive>& primitives, int frames, double fps);

struct Keyframe {
  int frame = 0;
  Vec3 position{0, 0, 0};
  std::optional<Quat> orientation;  // camera-to-world (OpenCV axes), w x y z
  std::optional<Vec3> look_at;      // alternative to orientation
  std::optional<double> fy;         // pixels at the output resolution
};
// From [{"frame", "position", "quaternion" | "look_at", "fov" (degrees) | "focal" (pixels)}, ...].
std::vector<Keyframe> keyframes_from_json(const nlohmann::json& j, int frames, int height);

struct KeyframeOptions {
  std::string position_spline = "catmull_rom";  // catmull_rom (centripetal), cubic (natural), linear
  std::string rotation = "slerp";               // slerp, squad
  std::optional<Vec3> target;                   // every frame looks at it (orientations ignored)
  Vec3 up{0, 0, 1};
  double default_fy = 0;
};
// One camera per frame; keyframe frames are hit exactly; holds before the first / after the last.
PathResult keyframe_path(const std::vector<Keyframe>& keys, const ShotIntrinsics& k, const KeyframeOptions& o,
                         int frames, double fps);

// Position splines through (frame, point) knots, evaluated at frame x (exposed for tests).
Vec3 spline_point(const std::vector<double>& knots, const std::vector<Vec3>& points, const std::string& mode, double x);

// Rounds a frame count up to the next 4N+1 (N >= 1).
int round_up_4n1(int frames);

// Speed label from a magnitude per second in the primitive's unit ("slow", "medium", "fast").
std::string speed_label(const std::string& type, double per_second);

}  // namespace camgraph::cam
