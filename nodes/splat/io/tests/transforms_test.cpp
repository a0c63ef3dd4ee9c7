#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "transforms.h"

using namespace camgraph::splat;
using nlohmann::json;
using splat_test::error_of;
using splat_test::TempDir;

namespace {

json c2w_json(double tx, double ty, double tz, double yaw) {
  // OpenGL camera-to-world: rotation about world y, then translation.
  const double c = std::cos(yaw), s = std::sin(yaw);
  return json::array(
      {json::array({c, 0, s, tx}), json::array({0, 1, 0, ty}), json::array({-s, 0, c, tz}), json::array({0, 0, 0, 1})});
}

void tiny_png(const std::filesystem::path& p, int w, int h) {
  splat_test::write_png(p, w, h, std::vector<uint8_t>(size_t(w) * h * 3, 128));
}

void write_json(const std::filesystem::path& p, const json& j) { splat_test::write_bytes(p, j.dump(1)); }

}  // namespace

TEST(Transforms, CameraAngleX) {
  TempDir dir("tf_angle");
  tiny_png(dir.path / "images" / "r_0.png", 40, 30);
  tiny_png(dir.path / "images" / "r_1.png", 40, 30);
  json j = {{"camera_angle_x", 0.6911112070083618}, {"w", 40}, {"h", 30}};
  j["frames"] = json::array({{{"file_path", "./images/r_0"}, {"transform_matrix", c2w_json(0, 0, 4, 0)}},
                             {{"file_path", "images/r_1.png"}, {"transform_matrix", c2w_json(4, 0, 0, M_PI / 2)}}});
  write_json(dir.path / "transforms.json", j);
  const TransformsScene s = read_transforms(dir.path / "transforms.json");
  ASSERT_EQ(s.frames.size(), 2u);
  EXPECT_EQ(s.skipped_frames, 0);
  EXPECT_EQ(s.frames[0].name, "r_0.png");  // extension-less path resolved
  const auto& cam = s.frames[0].camera.camera;
  const double f = 0.5 * 40 / std::tan(0.5 * 0.6911112070083618);
  EXPECT_NEAR(cam.fx, f, 1e-9);
  EXPECT_NEAR(cam.fy, f, 1e-9);  // no camera_angle_y: square pixels
  EXPECT_EQ(cam.cx, 20.0);
  EXPECT_EQ(cam.cy, 15.0);
  EXPECT_EQ(cam.width, 40);
  EXPECT_FALSE(s.frames[0].camera.distortion.active());
  EXPECT_FALSE(s.ply_path.has_value());

  // Camera 0 sits at (0, 0, 4) looking down -z (OpenGL): the world origin is in front of it
  // (positive OpenCV depth) and projects to the principal point.
  for (const auto& fr : s.frames) {
    const auto& m = fr.camera.camera.world_to_camera;
    EXPECT_NEAR(m[2 * 4 + 3], 4.0, 1e-12) << fr.name;  // z_cam of the origin
    EXPECT_NEAR(m[0 * 4 + 3], 0.0, 1e-12) << fr.name;
    EXPECT_NEAR(m[1 * 4 + 3], 0.0, 1e-12) << fr.name;
    EXPECT_EQ(m, camgraph::Camera::world_to_camera_from_opengl_c2w(fr.opengl_c2w));
    // A world point above the origin (OpenGL y up) appears above the centre: smaller image y.
    const double y_cam = m[1 * 4 + 1] * 1.0 + m[1 * 4 + 3];
    EXPECT_LT(y_cam, 0.0) << fr.name;
  }
  const auto pos = s.frames[1].camera.camera.position();
  EXPECT_NEAR(pos[0], 4.0, 1e-12);
  EXPECT_NEAR(pos[2], 0.0, 1e-12);
}

TEST(Transforms, FocalLengthsAndPerFrameIntrinsics) {
  TempDir dir("tf_fl");
  tiny_png(dir.path / "a.png", 64, 48);
  tiny_png(dir.path / "b.png", 32, 24);
  tiny_png(dir.path / "c.png", 64, 48);
  json j = {{"fl_x", 50.5},
            {"fl_y", 51.5},
            {"cx", 31.0},
            {"cy", 23.5},
            {"w", 64},
            {"h", 48},
            {"k1", 0.01},
            {"k2", -0.002},
            {"p1", 0.0003},
            {"p2", -0.0004},
            {"camera_model", "OPENCV"},
            {"camera_angle_x", 3.0}};  // fl_x wins over camera_angle_x
  j["frames"] = json::array({
      {{"file_path", "a.png"}, {"transform_matrix", c2w_json(0, 0, 3, 0)}},
      // Per-frame intrinsics, given by angle: the frame's focal keys replace the global ones.
      {{"file_path", "b.png"},
       {"w", 32},
       {"h", 24},
       {"camera_angle_x", 1.0},
       {"cx", 16.0},
       {"cy", 12.0},
       {"camera_model", "PINHOLE"},
       {"transform_matrix", c2w_json(1, 0, 3, 0)}},
      {{"file_path", "c.png"}, {"k3", 0.001}, {"transform_matrix", c2w_json(2, 0, 3, 0)}},
  });
  write_json(dir.path / "transforms.json", j);
  const TransformsScene s = read_transforms(dir.path / "transforms.json");
  ASSERT_EQ(s.frames.size(), 3u);
  const auto& a = s.frames[0].camera;
  EXPECT_EQ(a.camera.fx, 50.5);
  EXPECT_EQ(a.camera.fy, 51.5);
  EXPECT_EQ(a.camera.cx, 31.0);
  EXPECT_EQ(a.camera.cy, 23.5);
  EXPECT_EQ(a.distortion.model, DistortionModel::OpenCV);
  EXPECT_EQ(a.distortion.k1, 0.01);
  EXPECT_EQ(a.distortion.p2, -0.0004);
  EXPECT_EQ(a.distortion.k3, 0.0);
  const auto& b = s.frames[1].camera;
  EXPECT_EQ(b.camera.width, 32);
  EXPECT_NEAR(b.camera.fx, 16.0 / std::tan(0.5), 1e-9);
  EXPECT_NEAR(b.camera.fy, b.camera.fx, 1e-12);
  EXPECT_EQ(b.camera.cx, 16.0);
  EXPECT_FALSE(b.distortion.active());
  EXPECT_EQ(s.frames[2].camera.distortion.k3, 0.001);
  EXPECT_EQ(s.frames[2].camera.distortion.k1, 0.01);
}

TEST(Transforms, MissingImageSkippedWithWarning) {
  TempDir dir("tf_missing");
  tiny_png(dir.path / "images" / "0001.png", 8, 6);
  json j = {{"fl_x", 10.0}};  // no w/h: read from the PNG header
  j["frames"] = json::array({{{"file_path", "images/0001.png"}, {"transform_matrix", c2w_json(0, 0, 3, 0)}},
                             {{"file_path", "images/0002.png"}, {"transform_matrix", c2w_json(1, 0, 3, 0)}}});
  write_json(dir.path / "transforms.json", j);
  std::vector<std::string> warnings;
  const TransformsScene s = read_transforms(dir.path / "transforms.json",
                                            [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.skipped_frames, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("0002.png"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("frame 1"), std::string::npos) << warnings[0];
  EXPECT_EQ(s.frames[0].camera.camera.width, 8);
  EXPECT_EQ(s.frames[0].camera.camera.height, 6);
  EXPECT_EQ(s.frames[0].camera.camera.cx, 4.0);
}

TEST(Transforms, Errors) {
  TempDir dir("tf_err");
  tiny_png(dir.path / "a.png", 8, 6);
  auto check = [&](json j, const std::vector<std::string>& needles) {
    write_json(dir.path / "t.json", j);
    const std::string err = error_of([&] { read_transforms(dir.path / "t.json"); });
    for (const auto& n : needles) EXPECT_NE(err.find(n), std::string::npos) << "missing '" << n << "' in: " << err;
  };
  json base = {{"fl_x", 10.0}, {"w", 8}, {"h", 6}};
  json j = base;
  j["frames"] = json::array({{{"file_path", "a.png"}}});
  check(j, {"t.json", "frame 0", "transform_matrix"});
  j = base;
  j["camera_model"] = "EQUIRECTANGULAR";
  j["frames"] = json::array({{{"file_path", "a.png"}, {"transform_matrix", c2w_json(0, 0, 1, 0)}}});
  check(j, {"t.json", "frame 0", "EQUIRECTANGULAR", "OPENCV"});
  j = {{"w", 8}, {"h", 6}};
  j["frames"] = json::array({{{"file_path", "a.png"}, {"transform_matrix", c2w_json(0, 0, 1, 0)}}});
  check(j, {"frame 0", "focal"});
  j = base;
  j["fl_x"] = "big";
  j["frames"] = json::array({{{"file_path", "a.png"}, {"transform_matrix", c2w_json(0, 0, 1, 0)}}});
  check(j, {"fl_x", "number"});
  j = base;
  json scaled = c2w_json(0, 0, 1, 0);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) scaled[r][c] = scaled[r][c].get<double>() * 2;
  j["frames"] = json::array({{{"file_path", "a.png"}, {"transform_matrix", scaled}}});
  check(j, {"frame 0", "not orthonormal"});
  check(json{{"nothing", 1}}, {"t.json", "frames"});
  splat_test::write_bytes(dir.path / "t.json", "{ \"frames\": [ ");
  const std::string err = error_of([&] { read_transforms(dir.path / "t.json"); });
  EXPECT_NE(err.find("invalid JSON"), std::string::npos) << err;
}
