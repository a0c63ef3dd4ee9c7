#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "colmap.h"
#include "test_util.h"

using namespace camgraph::splat;
using splat_test::error_of;
using splat_test::TempDir;

namespace {

ColmapModel sample_model() {
  ColmapModel m;
  auto cam = [&](int id, const char* model, int w, int h, std::vector<double> p) {
    ColmapCamera c;
    c.id = id, c.model = model, c.width = w, c.height = h, c.params = p;
    m.cameras[id] = c;
  };
  cam(1, "PINHOLE", 640, 480, {500.25, 501.5, 320.1, 239.7});
  cam(2, "SIMPLE_RADIAL", 800, 600, {700.0, 400.5, 300.25, -0.0123});
  cam(3, "OPENCV", 1080, 1920, {1375.52, 1374.49, 554.558, 965.268, 0.0578421, -0.0805099, -0.000980296, 0.00015575});
  cam(5, "SIMPLE_PINHOLE", 100, 50, {90.0, 50.0, 25.0});
  cam(6, "RADIAL", 100, 50, {90.0, 50.0, 25.0, 0.01, -0.002});
  const char* names[] = {"b.jpg", "a.jpg", "sub/c.png", "d e.jpg"};
  for (int i = 0; i < 4; ++i) {
    ColmapImage im;
    im.id = 10 + i;
    const double a = 0.3 * (i + 1);
    im.qvec = {std::cos(a / 2), 0.6 * std::sin(a / 2), 0.0, 0.8 * std::sin(a / 2)};
    im.tvec = {0.1 * i, -1.0 / 3.0, 2.0 + i};
    im.camera_id = i % 2 == 0 ? 1 : 3;
    im.name = names[i];
    im.num_points2d = i * 7;
    m.images.push_back(im);
  }
  for (int i = 0; i < 5; ++i) {
    ColmapPoint p;
    p.id = 100 + i * 3;
    p.xyz = {0.1 * i + 1e-9, -2.0 / (i + 1), 3.14159 * i};
    p.rgb = {uint8_t(i * 50), uint8_t(255 - i), uint8_t(7 * i)};
    p.error = 0.25 * i;
    m.points.push_back(p);
  }
  return m;
}

void expect_same(const ColmapModel& a, const ColmapModel& b) {
  ASSERT_EQ(a.cameras.size(), b.cameras.size());
  for (const auto& [id, c] : a.cameras) {
    ASSERT_TRUE(b.cameras.count(id)) << id;
    const auto& d = b.cameras.at(id);
    EXPECT_EQ(c.id, d.id);
    EXPECT_EQ(c.model, d.model);
    EXPECT_EQ(c.width, d.width);
    EXPECT_EQ(c.height, d.height);
    EXPECT_EQ(c.params, d.params);
  }
  ASSERT_EQ(a.images.size(), b.images.size());
  for (size_t i = 0; i < a.images.size(); ++i) {
    EXPECT_EQ(a.images[i].id, b.images[i].id);
    EXPECT_EQ(a.images[i].qvec, b.images[i].qvec);
    EXPECT_EQ(a.images[i].tvec, b.images[i].tvec);
    EXPECT_EQ(a.images[i].camera_id, b.images[i].camera_id);
    EXPECT_EQ(a.images[i].name, b.images[i].name);
    EXPECT_EQ(a.images[i].num_points2d, b.images[i].num_points2d);
  }
  ASSERT_EQ(a.points.size(), b.points.size());
  for (size_t i = 0; i < a.points.size(); ++i) {
    EXPECT_EQ(a.points[i].id, b.points[i].id);
    EXPECT_EQ(a.points[i].xyz, b.points[i].xyz);
    EXPECT_EQ(a.points[i].rgb, b.points[i].rgb);
    EXPECT_EQ(a.points[i].error, b.points[i].error);
  }
}

}  // namespace

TEST(Colmap, BinaryRoundTrip) {
  TempDir dir("colmap_bin");
  const ColmapModel m = sample_model();
  splat_test::write_colmap_bin(dir.path, m, {{10, 0, 11, 3}, {}, {12, 1}});
  EXPECT_TRUE(is_colmap_model_folder(dir.path));
  expect_same(m, read_colmap_model(dir.path));
}

TEST(Colmap, TextRoundTrip) {
  TempDir dir("colmap_txt");
  const ColmapModel m = sample_model();  // includes a name with a space: NAME is the rest of the line
  splat_test::write_colmap_txt(dir.path, m);
  EXPECT_TRUE(is_colmap_model_folder(dir.path));
  expect_same(m, read_colmap_model(dir.path));
}

TEST(Colmap, BinaryPreferredOverText) {
  TempDir dir("colmap_both");
  ColmapModel m = sample_model();
  splat_test::write_colmap_bin(dir.path, m);
  ColmapModel other = m;
  other.points.pop_back();
  splat_test::write_colmap_txt(dir.path, other);
  EXPECT_EQ(read_colmap_model(dir.path).points.size(), m.points.size());
}

TEST(Colmap, CameraConversion) {
  const ColmapModel m = sample_model();
  const DistortedCamera c3 = m.cameras.at(3).to_camera();
  EXPECT_EQ(c3.camera.width, 1080);
  EXPECT_EQ(c3.camera.fx, 1375.52);
  EXPECT_EQ(c3.camera.cy, 965.268);
  EXPECT_EQ(c3.distortion.model, DistortionModel::OpenCV);
  EXPECT_EQ(c3.distortion.k2, -0.0805099);
  EXPECT_EQ(c3.distortion.p2, 0.00015575);
  const DistortedCamera c2 = m.cameras.at(2).to_camera();
  EXPECT_EQ(c2.camera.fx, 700.0);
  EXPECT_EQ(c2.camera.fy, 700.0);
  EXPECT_EQ(c2.distortion.k1, -0.0123);
  EXPECT_TRUE(c2.distortion.active());
  const DistortedCamera c1 = m.cameras.at(1).to_camera();
  EXPECT_FALSE(c1.distortion.active());
  EXPECT_EQ(c1.camera.cx, 320.1);
  const DistortedCamera c6 = m.cameras.at(6).to_camera();
  EXPECT_EQ(c6.distortion.k2, -0.002);
}

TEST(Colmap, QuaternionToWorldToCamera) {
  // 90 degrees about z: x -> y.
  ColmapImage im;
  im.qvec = {std::sqrt(0.5), 0, 0, std::sqrt(0.5)};
  im.tvec = {1, 2, 3};
  const auto m = im.world_to_camera();
  const double p[3] = {1, 0, 0};
  double out[3];
  for (int i = 0; i < 3; ++i) out[i] = m[i * 4] * p[0] + m[i * 4 + 1] * p[1] + m[i * 4 + 2] * p[2] + m[i * 4 + 3];
  EXPECT_NEAR(out[0], 1.0, 1e-12);
  EXPECT_NEAR(out[1], 3.0, 1e-12);
  EXPECT_NEAR(out[2], 3.0, 1e-12);
  EXPECT_EQ(m[15], 1.0);
  // Camera centre = -R^T t.
  camgraph::Camera cam;
  cam.world_to_camera = m;
  const auto c = cam.position();
  EXPECT_NEAR(c[0], -2.0, 1e-12);
  EXPECT_NEAR(c[1], 1.0, 1e-12);
  EXPECT_NEAR(c[2], -3.0, 1e-12);
}

TEST(Colmap, UnknownModelBinary) {
  TempDir dir("colmap_fov");
  ColmapModel m = sample_model();
  splat_test::write_colmap_bin(dir.path, m);
  // Patch camera 3's model id to FOV (7): find its record.
  std::string bytes = splat_test::read_bytes(dir.path / "cameras.bin");
  size_t off = 8;
  for (const auto& [id, cam] : m.cameras) {
    if (id == 3) {
      const int32_t fov = 7;
      std::memcpy(&bytes[off + 4], &fov, 4);
      // FOV has 5 params, OPENCV 8: the reader must fail before reading them.
      break;
    }
    off += 4 + 4 + 16 + 8 * cam.params.size();
  }
  splat_test::write_bytes(dir.path / "cameras.bin", bytes);
  const std::string err = error_of([&] { read_colmap_model(dir.path); });
  EXPECT_NE(err.find("cameras.bin"), std::string::npos) << err;
  EXPECT_NE(err.find("camera 3"), std::string::npos) << err;
  EXPECT_NE(err.find("FOV (id 7)"), std::string::npos) << err;
  EXPECT_NE(err.find("OPENCV"), std::string::npos) << err;  // lists the supported ones
}

TEST(Colmap, UnknownModelText) {
  TempDir dir("colmap_txt_bad");
  splat_test::write_colmap_txt(dir.path, sample_model());
  splat_test::write_bytes(dir.path / "cameras.txt",
                          "# c\n1 PINHOLE 10 10 5 5 5 5\n4 FULL_OPENCV 10 10 1 2 3 4 5 6 7 8 9 10 11 12\n");
  const std::string err = error_of([&] { read_colmap_model(dir.path); });
  EXPECT_NE(err.find("cameras.txt"), std::string::npos) << err;
  EXPECT_NE(err.find("camera 4"), std::string::npos) << err;
  EXPECT_NE(err.find("FULL_OPENCV"), std::string::npos) << err;

  splat_test::write_bytes(dir.path / "cameras.txt", "1 PINHOLE 10 10 5 5 5\n");
  const std::string err2 = error_of([&] { read_colmap_model(dir.path); });
  EXPECT_NE(err2.find("3 parameters, expected 4"), std::string::npos) << err2;
}

TEST(Colmap, TruncatedBinary) {
  TempDir dir("colmap_trunc");
  const ColmapModel m = sample_model();
  splat_test::write_colmap_bin(dir.path, m, {{10, 0, 11, 3}, {}, {12, 1}});
  const std::string images = splat_test::read_bytes(dir.path / "images.bin");
  // Cut inside the last image's 2D points.
  splat_test::write_bytes(dir.path / "images.bin", images.substr(0, images.size() - 5));
  std::string err = error_of([&] { read_colmap_model(dir.path); });
  EXPECT_NE(err.find("images.bin"), std::string::npos) << err;
  EXPECT_NE(err.find("image record 3 of 4"), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  EXPECT_NE(err.find("only"), std::string::npos) << err;
  // Cut inside a name.
  splat_test::write_bytes(dir.path / "images.bin", images.substr(0, 8 + 4 + 56 + 4 + 2));
  err = error_of([&] { read_colmap_model(dir.path); });
  EXPECT_NE(err.find("image record 0 of 4"), std::string::npos) << err;

  splat_test::write_bytes(dir.path / "images.bin", images);
  const std::string points = splat_test::read_bytes(dir.path / "points3D.bin");
  splat_test::write_bytes(dir.path / "points3D.bin", points.substr(0, 8 + 43 + 16 + 10));
  err = error_of([&] { read_colmap_model(dir.path); });
  EXPECT_NE(err.find("points3D.bin"), std::string::npos) << err;
  EXPECT_NE(err.find("point record 1 of 5"), std::string::npos) << err;
  EXPECT_NE(err.find("expected"), std::string::npos) << err;

  splat_test::write_bytes(dir.path / "points3D.bin", points);
  const std::string cams = splat_test::read_bytes(dir.path / "cameras.bin");
  splat_test::write_bytes(dir.path / "cameras.bin", cams.substr(0, 3));
  err = error_of([&] { read_colmap_model(dir.path); });
  EXPECT_NE(err.find("cameras.bin"), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
}

TEST(Colmap, MissingCameraReference) {
  TempDir dir("colmap_ref");
  ColmapModel m = sample_model();
  m.images[1].camera_id = 42;
  splat_test::write_colmap_bin(dir.path, m);
  const std::string err = error_of([&] { read_colmap_model(dir.path); });
  EXPECT_NE(err.find("camera 42"), std::string::npos) << err;
  EXPECT_NE(err.find("a.jpg"), std::string::npos) << err;
}
