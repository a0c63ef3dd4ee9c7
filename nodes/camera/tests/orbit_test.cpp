// camera.orbit: the target stays at the image centre, the camera keeps its radius and height.
#include <gtest/gtest.h>

#include <cmath>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/values.h"

using namespace camgraph;

TEST(CameraOrbit, TargetStaysCentredAndRadiusIsKept) {
  const std::string text = R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
    {"id": "orbit", "type": "camera.orbit", "params": {"frames": 9, "radius": 3, "camera_height": 2,
      "target_x": 1, "target_y": -1, "target_z": 0.5, "start_angle": 0, "end_angle": 90, "easing": "linear",
      "width": 64, "height": 48}}], "links": []}})";
  Evaluator ev(builtin_registry());
  RunOptions opt;
  opt.out_dir = std::filesystem::temp_directory_path();
  ASSERT_TRUE(ev.run(load_cgraph_text(text, builtin_registry()).graph, opt).ok);
  auto path = std::dynamic_pointer_cast<const CameraPathValue>(ev.outputs("orbit").at("path"));
  ASSERT_EQ(path->cameras.size(), 9u);
  for (size_t i = 0; i < path->cameras.size(); ++i) {
    const Camera& c = path->cameras[i];
    const Mat4& m = c.world_to_camera;
    const double x = m[0] * 1 + m[1] * -1 + m[2] * 0.5 + m[3], y = m[4] * 1 + m[5] * -1 + m[6] * 0.5 + m[7],
                 z = m[8] * 1 + m[9] * -1 + m[10] * 0.5 + m[11];
    EXPECT_NEAR(c.fx * x / z + c.cx, 32, 1e-9);
    EXPECT_NEAR(c.fy * y / z + c.cy, 24, 1e-9);
    const Vec3 p = c.position();
    EXPECT_NEAR(std::hypot(p[0] - 1, p[1] + 1), 3, 1e-9);
    EXPECT_NEAR(p[2], 2, 1e-9);
    // Linear easing: equal angle steps (90 / 8 degrees).
    const double angle = std::atan2(p[1] + 1, p[0] - 1) * 180 / M_PI;
    EXPECT_NEAR(angle, 90.0 * double(i) / 8, 1e-9);
  }
  EXPECT_EQ(path->motion[0]["type"], "orbit");
  EXPECT_EQ(path->motion[0]["direction"], "right");
  // The camera.path record: 90 degrees over 8 frames at 16 fps (0.5 s) = 180 deg/s, "fast".
  EXPECT_NEAR(path->motion[0]["magnitude"]["value"].get<double>(), 90, 1e-9);
  EXPECT_EQ(path->motion[0]["magnitude"]["unit"], "degrees");
  EXPECT_EQ(path->motion[0]["speed"], "fast");
  EXPECT_NEAR(path->motion[0]["intensity"].get<double>(), 1.0, 1e-12);
}
