// transforms.json files and image headers written to break the readers: deep nesting, oversized
// files, number overflow, wrong types, absurd sizes, lying PNG/JPEG headers.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>

#include "image_io.h"
#include "test_util.h"
#include "transforms.h"
#include "hostile_file_support.h"

using namespace camgraph::splat;
using nlohmann::json;
using splat_test::error_of;
using splat_test::TempDir;

using camgraph::testing::expect_has;
using camgraph::testing::fast_error;

namespace {

json identity_pose() {
  return json::array(
      {json::array({1, 0, 0, 0}), json::array({0, 1, 0, 0}), json::array({0, 0, 1, 0}), json::array({0, 0, 0, 1})});
}

}  // namespace

TEST(TransformsHostile, DeepNestingFailsBeforeParsing) {
  TempDir dir("tfh_deep");
  const auto path = dir.path / "transforms.json";
  for (const char* open : {"[", "{\"a\":"}) {
    std::string s = "{\"frames\": [], \"x\": ";
    for (int i = 0; i < 100000; ++i) s += open;
    splat_test::write_bytes(path, s);
    expect_has(fast_error([&] { read_transforms(path); }),
               {"transforms.json", "line 1, column", "nested deeper than 128 levels"});
  }
  // Brackets inside strings do not count.
  splat_test::write_bytes(path, "{\"frames\": [], \"x\": \"" + std::string(100000, '[') + "\\\"\"}");
  EXPECT_EQ(read_transforms(path).frames.size(), 0u);
}

TEST(TransformsHostile, OversizedFileIsRefusedUnread) {
  TempDir dir("tfh_big");
  const auto path = dir.path / "transforms.json";
  splat_test::write_bytes(path, "{}");
  std::filesystem::resize_file(path, uint64_t(300) << 20);  // sparse: no disk used
  expect_has(fast_error([&] { read_transforms(path); }), {"transforms.json", "314572800 bytes", "more than"});
}

TEST(TransformsHostile, NumberOverflowAndWrongTypes) {
  TempDir dir("tfh_types");
  const auto path = dir.path / "transforms.json";
  splat_test::write_bytes(path, "{\"fl_x\": 1e999, \"frames\": []}");
  expect_has(fast_error([&] { read_transforms(path); }), {"transforms.json", "invalid JSON", "1e999"});

  auto check = [&](const json& j, const std::vector<std::string>& parts) {
    splat_test::write_bytes(path, j.dump());
    expect_has(fast_error([&] { read_transforms(path); }), parts);
  };
  check(json::array({1, 2}), {"transforms.json", "top level must be an object"});
  check(json{{"frames", "all of them"}}, {"transforms.json", "'frames'"});
  check(json{{"frames", json::array({42})}}, {"transforms.json", "frame 0", "not an object"});
  check(json{{"frames", json::array({{{"file_path", 5}}})}}, {"transforms.json", "frame 0", "file_path"});
  check(json{{"frames", json::array({{{"file_path", "a.png"}, {"transform_matrix", "eye(4)"}}})}},
        {"transforms.json", "frame 0", "4x4"});
  json m = identity_pose();
  m[1][2] = json::array({1});
  check(json{{"frames", json::array({{{"file_path", "a.png"}, {"transform_matrix", m}}})}},
        {"transforms.json", "frame 0", "[1][2] is not a number"});
  m = identity_pose();
  m[0][0] = 1e300;
  check(json{{"frames", json::array({{{"file_path", "a.png"}, {"transform_matrix", m}}})}},
        {"transforms.json", "frame 0", "not orthonormal"});
}

TEST(TransformsHostile, AbsurdImageSizesAndFocalLengths) {
  TempDir dir("tfh_size");
  splat_test::write_png(dir.path / "a.png", 4, 3, std::vector<uint8_t>(36, 9));
  const auto path = dir.path / "transforms.json";
  auto check = [&](json j, const std::vector<std::string>& parts) {
    j["frames"] = json::array({{{"file_path", "a.png"}, {"transform_matrix", identity_pose()}}});
    splat_test::write_bytes(path, j.dump());
    expect_has(fast_error([&] { read_transforms(path); }), parts);
  };
  check(json{{"w", 1e300}, {"h", 3}, {"fl_x", 5}}, {"transforms.json", "frame 0", "invalid image size"});
  check(json{{"w", -4}, {"h", 3}, {"fl_x", 5}}, {"transforms.json", "frame 0", "invalid image size"});
  check(json{{"w", 4}, {"h", 0.2}, {"fl_x", 5}}, {"transforms.json", "frame 0", "invalid image size"});
  check(json{{"w", 4}, {"h", 3}, {"fl_x", -5}}, {"transforms.json", "frame 0", "focal length must be positive"});
  check(json{{"w", 4}, {"h", 3}, {"camera_angle_x", 0}}, {"transforms.json", "frame 0", "focal length"});
}

// PNG and JPEG headers that lie about the size: negative, zero, or a decompression bomb.
TEST(ImageHeaderHostile, LyingSizes) {
  TempDir dir("imgh");
  splat_test::write_png(dir.path / "ok.png", 4, 3, std::vector<uint8_t>(36, 9));
  const std::string png = splat_test::read_bytes(dir.path / "ok.png");
  auto with_size = [&](uint32_t w, uint32_t h) {
    std::string s = png;
    for (int i = 0; i < 4; ++i) {
      s[size_t(16 + i)] = char((w >> (24 - 8 * i)) & 0xFF);
      s[size_t(20 + i)] = char((h >> (24 - 8 * i)) & 0xFF);
    }
    splat_test::write_bytes(dir.path / "bad.png", s);
    return dir.path / "bad.png";
  };
  expect_has(fast_error([&] { read_image_size(with_size(0x80000000u, 3)); }),
             {"bad.png", "PNG header declares an invalid size 2147483648x3"});
  expect_has(fast_error([&] { read_image_size(with_size(4, 0)); }), {"bad.png", "invalid size 4x0"});
  if (have_image_decoder()) {
    camgraph::Camera cam;
    expect_has(fast_error([&] { load_undistorted_image(with_size(100000, 100000), {}, 1, &cam); }),
               {"bad.png", "100000x100000", "more than"});
  }
  // JPEG: SOI, then SOF0 declaring 0 x 0.
  const std::string jpeg = std::string("\xFF\xD8\xFF\xC0\x00\x11\x08\x00\x00\x00\x00\x03", 12) + std::string(20, '\0');
  splat_test::write_bytes(dir.path / "bad.jpg", jpeg);
  expect_has(fast_error([&] { read_image_size(dir.path / "bad.jpg"); }), {"bad.jpg", "invalid size 0x0"});
  // JPEG that ends inside its markers.
  splat_test::write_bytes(dir.path / "cut.jpg", std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF", 10));
  expect_has(fast_error([&] { read_image_size(dir.path / "cut.jpg"); }), {"cut.jpg", "truncated"});
}
