// COLMAP models written to break the readers: lying record counts, huge point and track counts,
// unterminated names, NaN and zero quaternions, bad camera sizes and focal lengths, every
// truncation of a valid file. Each must fail fast, naming the file and the record or line.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "colmap.h"
#include "test_util.h"
#include "hostile_file_support.h"

using namespace camgraph::splat;
using splat_test::error_of;
using splat_test::TempDir;

using camgraph::testing::expect_has;
using camgraph::testing::fast_error;

namespace {

ColmapModel small_model() {
  ColmapModel m;
  ColmapCamera c;
  c.id = 1, c.model = "PINHOLE", c.width = 64, c.height = 48, c.params = {50, 51, 32, 24};
  m.cameras[1] = c;
  for (int i = 0; i < 2; ++i) {
    ColmapImage im;
    im.id = 1 + i, im.qvec = {1, 0, 0, 0}, im.tvec = {0.5 * i, 0, 1}, im.camera_id = 1;
    im.name = "im" + std::to_string(i) + ".png";
    m.images.push_back(im);
  }
  for (int i = 0; i < 3; ++i) {
    ColmapPoint p;
    p.id = 10 + i, p.xyz = {double(i), 1, 2}, p.rgb = {1, 2, 3}, p.error = 0.5;
    m.points.push_back(p);
  }
  return m;
}

template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// images.bin of one image with these fields.
std::string image_bin(const std::array<double, 4>& q, const std::array<double, 3>& t, uint64_t num_points,
                      const std::string& name = "a.png", bool terminate = true) {
  std::string s;
  put(s, uint64_t(1));
  put(s, int32_t(7));
  for (double v : q) put(s, v);
  for (double v : t) put(s, v);
  put(s, int32_t(1));
  s += name;
  if (terminate) s.push_back('\0');
  put(s, num_points);
  return s;
}

std::string camera_bin(uint64_t count, int32_t model, uint64_t w, uint64_t h, const std::vector<double>& params) {
  std::string s;
  put(s, count);
  put(s, int32_t(1));
  put(s, model);
  put(s, w);
  put(s, h);
  for (double v : params) put(s, v);
  return s;
}

}  // namespace

TEST(ColmapHostile, RecordCountsBeyondTheFile) {
  TempDir dir("colh_counts");
  const auto cams = dir.path / "cameras.bin";
  splat_test::write_bytes(cams, camera_bin(UINT64_MAX, 1, 64, 48, {50, 50, 32, 24}));
  std::string err = fast_error([&] { read_colmap_cameras_bin(cams); });
  expect_has(err, {"cameras.bin", "camera record 1 of 18446744073709551615", "truncated", "offset"});

  const auto pts = dir.path / "points3D.bin";
  std::string s;
  put(s, uint64_t(1) << 62);
  splat_test::write_bytes(pts, s);
  err = fast_error([&] { read_colmap_points_bin(pts); });
  expect_has(err, {"points3D.bin", "point record 0 of 4611686018427387904", "truncated"});
}

TEST(ColmapHostile, HugePointAndTrackCounts) {
  TempDir dir("colh_tracks");
  const auto ims = dir.path / "images.bin";
  for (uint64_t np : {uint64_t(1) << 62, UINT64_MAX / 24 + 1, UINT64_MAX}) {
    splat_test::write_bytes(ims, image_bin({1, 0, 0, 0}, {0, 0, 0}, np));
    const std::string err = fast_error([&] { read_colmap_images_bin(ims); });
    expect_has(err, {"images.bin", "image record 0 of 1", "2D points (" + std::to_string(np) + " x 24 bytes)"});
  }
  const auto pts = dir.path / "points3D.bin";
  std::string s;
  put(s, uint64_t(1));
  put(s, uint64_t(5));
  for (double v : {1.0, 2.0, 3.0}) put(s, v);
  s += "abc";
  put(s, 0.5);
  put(s, UINT64_MAX / 8 + 2);
  splat_test::write_bytes(pts, s);
  const std::string err = fast_error([&] { read_colmap_points_bin(pts); });
  expect_has(err, {"points3D.bin", "point record 0 of 1", "track (2305843009213693953 x 8 bytes)"});
}

TEST(ColmapHostile, UnterminatedImageName) {
  TempDir dir("colh_name");
  const auto ims = dir.path / "images.bin";
  splat_test::write_bytes(ims, image_bin({1, 0, 0, 0}, {0, 0, 0}, 0, std::string(1000, 'n'), false).substr(0, 1068));
  const std::string err = fast_error([&] { read_colmap_images_bin(ims); });
  expect_has(err, {"images.bin", "no terminating NUL", "offset 72"});
}

TEST(ColmapHostile, NonFiniteAndZeroPoses) {
  TempDir dir("colh_pose");
  const auto ims = dir.path / "images.bin";
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  auto err_for = [&](const std::array<double, 4>& q, const std::array<double, 3>& t) {
    splat_test::write_bytes(ims, image_bin(q, t, 0));
    return fast_error([&] { read_colmap_images_bin(ims); });
  };
  expect_has(err_for({nan, 0, 0, 0}, {0, 0, 0}), {"images.bin", "image record 0 of 1", "image 7", "quaternion"});
  expect_has(err_for({1, 0, inf, 0}, {0, 0, 0}), {"images.bin", "image 7", "non-finite quaternion"});
  expect_has(err_for({0, 0, 0, 0}, {0, 0, 0}), {"images.bin", "image 7", "zero or unusable quaternion"});
  expect_has(err_for({1e300, 1e300, 0, 0}, {0, 0, 0}), {"images.bin", "image 7", "quaternion"});
  expect_has(err_for({1, 0, 0, 0}, {0, -inf, 0}), {"images.bin", "image 7", "non-finite translation"});

  const auto pts = dir.path / "points3D.bin";
  std::string s;
  put(s, uint64_t(1));
  put(s, uint64_t(5));
  for (double v : {1.0, nan, 3.0}) put(s, v);
  s += "abc";
  put(s, 0.5);
  put(s, uint64_t(0));
  splat_test::write_bytes(pts, s);
  expect_has(fast_error([&] { read_colmap_points_bin(pts); }), {"points3D.bin", "point 5", "non-finite position"});

  // Text: the same checks, with the line.
  splat_test::write_bytes(dir.path / "images.txt", "# comment\n7 0 0 0 0 0 0 0 1 a.png\n\n");
  expect_has(fast_error([&] { read_colmap_images_txt(dir.path / "images.txt"); }),
             {"images.txt:2", "image 7", "zero or unusable quaternion"});
  splat_test::write_bytes(dir.path / "images.txt", "7 nan 0 0 0 0 0 0 1 a.png\n\n");
  expect_has(fast_error([&] { read_colmap_images_txt(dir.path / "images.txt"); }), {"images.txt:1", "QW"});
  splat_test::write_bytes(dir.path / "points3D.txt", "1 1e999 2 3 4 5 6 0.5\n");
  expect_has(fast_error([&] { read_colmap_points_txt(dir.path / "points3D.txt"); }), {"points3D.txt:1", "X"});
}

TEST(ColmapHostile, BadCameras) {
  TempDir dir("colh_cams");
  const auto cams = dir.path / "cameras.bin";
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto err_for = [&](int32_t model, uint64_t w, uint64_t h, const std::vector<double>& p) {
    splat_test::write_bytes(cams, camera_bin(1, model, w, h, p));
    return fast_error([&] { read_colmap_cameras_bin(cams); });
  };
  expect_has(err_for(1, 0, 48, {50, 50, 32, 24}), {"cameras.bin", "camera 1", "invalid size 0x48"});
  expect_has(err_for(1, UINT64_MAX, 48, {50, 50, 32, 24}), {"cameras.bin", "camera 1", "invalid size"});
  expect_has(err_for(1, 64, 48, {50, nan, 32, 24}), {"cameras.bin", "camera 1", "parameter 1", "not a finite"});
  expect_has(err_for(1, 64, 48, {50, 0, 32, 24}), {"cameras.bin", "camera 1", "focal length"});
  expect_has(err_for(0, 64, 48, {-5, 32, 24}), {"cameras.bin", "camera 1", "focal length"});
  expect_has(err_for(99, 64, 48, {}), {"cameras.bin", "camera 1", "unknown model id 99"});
  expect_has(err_for(-2147483647 - 1, 64, 48, {}), {"cameras.bin", "camera 1", "unknown model id"});

  splat_test::write_bytes(dir.path / "cameras.txt", "1 PINHOLE 64 48 50 -1 32 24\n");
  expect_has(fast_error([&] { read_colmap_cameras_txt(dir.path / "cameras.txt"); }),
             {"cameras.txt:1", "camera 1", "focal length"});
  splat_test::write_bytes(dir.path / "cameras.txt", "1 PINHOLE -64 48 50 50 32 24\n");
  expect_has(fast_error([&] { read_colmap_cameras_txt(dir.path / "cameras.txt"); }),
             {"cameras.txt", "camera 1", "invalid size"});
  splat_test::write_bytes(dir.path / "cameras.txt", "1 PINHOLE 64 48 50 50 32 24 1 2 3 4 5 6 7 8 9\n");
  expect_has(fast_error([&] { read_colmap_cameras_txt(dir.path / "cameras.txt"); }),
             {"cameras.txt:1", "parameters, expected 4"});
}

// Every prefix of every file of a valid binary model fails with an error naming that file.
TEST(ColmapHostile, EveryTruncationOfAValidModelFailsCleanly) {
  TempDir dir("colh_trunc");
  splat_test::write_colmap_bin(dir.path, small_model());
  ASSERT_NO_THROW(read_colmap_model(dir.path));
  for (const char* name : {"cameras.bin", "images.bin", "points3D.bin"}) {
    const std::string bytes = splat_test::read_bytes(dir.path / name);
    for (size_t n = 0; n < bytes.size(); ++n) {
      splat_test::write_bytes(dir.path / name, bytes.substr(0, n));
      const std::string err = error_of([&] { read_colmap_model(dir.path); });
      EXPECT_NE(err.find(name), std::string::npos) << name << " cut at " << n << ": " << err;
    }
    splat_test::write_bytes(dir.path / name, bytes);
  }
}
