// PLY files written to break the reader: lying headers, huge declared counts, truncations,
// hostile list counts, NaN and infinite values. Each must fail fast with an error naming the file
// and the problem, before any allocation the file cannot back.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <limits>

#include "ply.h"
#include "test_util.h"
#include "hostile_file_support.h"

using namespace camgraph::splat;
using splat_test::error_of;
using splat_test::TempDir;

using camgraph::testing::expect_has;
using camgraph::testing::fast_error;

namespace {

const char* const kGaussianProps[] = {"x",       "y",       "z",       "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
                                      "scale_0", "scale_1", "scale_2", "rot_0",  "rot_1",  "rot_2",  "rot_3"};

// A degree-0 3DGS header: `format`, `type` for every property, `count` vertices declared.
std::string gaussian_header(const std::string& format, const std::string& type, const std::string& count) {
  std::string s = "ply\nformat " + format + " 1.0\nelement vertex " + count + "\n";
  for (const char* n : kGaussianProps) s += "property " + type + " " + n + "\n";
  return s + "end_header\n";
}

// One ascii row of a valid Gaussian (unit quaternion), with `x` as given.
std::string ascii_row(const std::string& x = "0.5") { return x + " 1 2 0.1 0.2 0.3 0 -3 -3 -3 1 0 0 0\n"; }

template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

// The memory bomb: ascii (or double) files declaring billions of vertices made libtorch
// allocate the whole table (136 GB) before the data was looked at.
TEST(PlyHostile, AsciiHeaderDeclaringBillionsOfVertices) {
  TempDir dir("plyh_ascii");
  const auto path = dir.path / "liar.ply";
  splat_test::write_bytes(path, gaussian_header("ascii", "float", "2000000000") + ascii_row() + ascii_row());
  const std::string err = fast_error([&] { read_gaussian_ply(path); });
  expect_has(err, {"liar.ply", "2000000000 vertex", "ends early", "offset"});
}

TEST(PlyHostile, DoubleHeaderDeclaringBillionsOfVertices) {
  TempDir dir("plyh_double");
  const auto path = dir.path / "liar.ply";
  for (const char* format : {"binary_little_endian", "binary_big_endian"}) {
    std::string s = gaussian_header(format, "double", "1500000000");
    for (int i = 0; i < 3 * 14; ++i) put(s, 0.0);
    splat_test::write_bytes(path, s);
    const std::string err = fast_error([&] { read_gaussian_ply(path); });
    expect_has(err, {"liar.ply", "1500000000 vertex", "112 bytes each", "3 complete"});
  }
}

TEST(PlyHostile, FloatFastPathDeclaringMoreThanTheFile) {
  TempDir dir("plyh_float");
  const auto path = dir.path / "liar.ply";
  std::string s = gaussian_header("binary_little_endian", "float", "9223372036854775807");
  for (int i = 0; i < 14; ++i) put(s, 1.0f);
  splat_test::write_bytes(path, s);
  const std::string err = fast_error([&] { read_gaussian_ply(path); });
  expect_has(err, {"liar.ply", "9223372036854775807 vertex", "1 complete"});
}

// Counts whose products with the row size overflow 64 bits must not wrap around to small sizes.
TEST(PlyHostile, ElementBeforeTheVerticesWithAnOverflowingCount) {
  TempDir dir("plyh_overflow");
  const auto path = dir.path / "wrap.ply";
  std::string s =
      "ply\nformat binary_little_endian 1.0\nelement pad 2305843009213693952\nproperty double a\n"
      "element vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n";
  for (float v : {1.f, 2.f, 3.f}) put(s, v);  // 2^61 * 8 bytes = 2^64: wraps to 0
  splat_test::write_bytes(path, s);
  const std::string err = fast_error([&] { read_point_cloud_ply(path); });
  expect_has(err, {"wrap.ply", "2305843009213693952 pad", "truncated"});
}

TEST(PlyHostile, ListElementsDeclaringMoreRowsThanBytes) {
  TempDir dir("plyh_lists");
  const auto path = dir.path / "faces.ply";
  std::string s =
      "ply\nformat binary_little_endian 1.0\nelement face 4000000000000\n"
      "property list uchar int vertex_indices\nelement vertex 1\nproperty float x\nproperty float y\n"
      "property float z\nend_header\n";
  splat_test::write_bytes(path, s + std::string(64, '\0'));
  const std::string err = fast_error([&] { read_point_cloud_ply(path); });
  expect_has(err, {"faces.ply", "4000000000000 face", "at least 1 bytes"});
}

// An element without properties takes no bytes: a huge count must not be walked row by row.
TEST(PlyHostile, ElementWithoutPropertiesAndAHugeCount) {
  TempDir dir("plyh_empty");
  const auto path = dir.path / "empty.ply";
  for (const char* format : {"ascii", "binary_big_endian"}) {
    std::string s = std::string("ply\nformat ") + format +
                    " 1.0\nelement nothing 9000000000000000000\nelement vertex 1\nproperty float x\n"
                    "property float y\nproperty float z\nend_header\n";
    if (std::string(format) == "ascii") {
      s += "1 2 3\n";
    } else {
      for (uint32_t v : {0x3f800000u, 0x40000000u, 0x40400000u}) {  // 1, 2, 3 big-endian
        for (int b = 3; b >= 0; --b) s.push_back(char((v >> (8 * b)) & 0xFF));
      }
    }
    splat_test::write_bytes(path, s);
    const auto t0 = std::chrono::steady_clock::now();
    const PointCloud pc = read_point_cloud_ply(path);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
    ASSERT_EQ(pc.xyz.size(0), 1) << format;
    EXPECT_EQ(pc.xyz[0][2].item<float>(), 3.0f) << format;
  }
}

TEST(PlyHostile, HostileListCounts) {
  TempDir dir("plyh_listcount");
  const auto path = dir.path / "list.ply";
  const std::string tail = "element vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n";
  // ascii: NaN, negative, fractional and huge counts.
  for (const char* n : {"nan", "-1", "2.5", "1e300"}) {
    splat_test::write_bytes(path, "ply\nformat ascii 1.0\nelement face 1\nproperty list uchar int idx\n" + tail +
                                      std::string(n) + " 1 2 3\n1 2 3\n");
    const std::string err = fast_error([&] { read_point_cloud_ply(path); });
    expect_has(err, {"list.ply", "face 0 property 'idx'", "list count"});
  }
  // binary: a uint32 count of 4 billion items over a few bytes, and a float count of NaN.
  std::string s = "ply\nformat binary_little_endian 1.0\nelement face 1\nproperty list uint int idx\n" + tail;
  put(s, uint32_t(0xFFFFFFFFu));
  for (float v : {1.f, 2.f, 3.f}) put(s, v);
  splat_test::write_bytes(path, s);
  std::string err = fast_error([&] { read_point_cloud_ply(path); });
  expect_has(err, {"list.ply", "list count 4294967295", "offset"});
  s = "ply\nformat binary_little_endian 1.0\nelement face 1\nproperty list float int idx\n" + tail;
  put(s, std::numeric_limits<float>::quiet_NaN());
  for (float v : {1.f, 2.f, 3.f}) put(s, v);
  splat_test::write_bytes(path, s);
  err = fast_error([&] { read_point_cloud_ply(path); });
  expect_has(err, {"list.ply", "list count nan"});
}

TEST(PlyHostile, NanAndInfiniteValuesAreNamed) {
  TempDir dir("plyh_nan");
  const auto path = dir.path / "nan.ply";
  splat_test::write_bytes(path, gaussian_header("ascii", "float", "2") + ascii_row() + ascii_row("nan"));
  std::string err = fast_error([&] { read_gaussian_ply(path); });
  expect_has(err, {"nan.ply", "vertex 1 property 'x'", "NaN or infinite"});

  std::string s = gaussian_header("binary_little_endian", "float", "1");
  for (const char* n : kGaussianProps)
    put(s, std::string(n) == "scale_1" ? std::numeric_limits<float>::infinity()
           : std::string(n) == "rot_0" ? 1.f
                                       : 0.f);
  splat_test::write_bytes(path, s);
  err = fast_error([&] { read_gaussian_ply(path); });
  expect_has(err, {"nan.ply", "vertex 0 property 'scale_1'", "inf"});

  splat_test::write_bytes(path,
                          "ply\nformat ascii 1.0\nelement vertex 2\nproperty double x\nproperty double y\n"
                          "property double z\nend_header\n1 2 3\n4 -inf 6\n");
  err = fast_error([&] { read_point_cloud_ply(path); });
  expect_has(err, {"nan.ply", "vertex 1 property 'y'"});
}

TEST(PlyHostile, ZeroQuaternion) {
  TempDir dir("plyh_quat");
  const auto path = dir.path / "quat.ply";
  splat_test::write_bytes(path,
                          gaussian_header("ascii", "float", "2") + ascii_row() + "0 0 0 0 0 0 0 -3 -3 -3 0 0 0 0\n");
  const std::string err = fast_error([&] { read_gaussian_ply(path); });
  expect_has(err, {"quat.ply", "vertex 1", "zero rotation quaternion"});
}

TEST(PlyHostile, BadHeaders) {
  TempDir dir("plyh_header");
  const auto path = dir.path / "h.ply";
  auto err_for = [&](const std::string& bytes) {
    splat_test::write_bytes(path, bytes);
    return fast_error([&] { read_point_cloud_ply(path); });
  };
  expect_has(err_for("ply\nformat ascii 1.0\nelement vertex -5\nproperty float x\nend_header\n"),
             {"h.ply", "line 3", "element <name> <count>"});
  expect_has(err_for("ply\nformat ascii 1.0\nelement vertex 99999999999999999999999\nend_header\n"),
             {"h.ply", "line 3"});
  expect_has(err_for("ply\nformat ascii 1.0\nproperty float x\nend_header\n"), {"h.ply", "property before"});
  // A header that never ends: a megabyte of comments.
  std::string endless = "ply\nformat ascii 1.0\n";
  while (endless.size() < (3u << 20)) endless += "comment " + std::string(100, 'x') + "\n";
  expect_has(err_for(endless), {"h.ply", "no end_header"});
  expect_has(err_for("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                     "property float z\nend_header\n"),
             {"h.ply", "vertex ascii data ends early", "1 vertex"});
  expect_has(err_for("ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty list uchar float x\n"
                     "property float y\nproperty float z\nend_header\n" +
                     std::string(20, '\1')),
             {"h.ply", "'x' is a list"});
  expect_has(err_for(""), {"h.ply", "end_header"});
}

// Every prefix of a small valid file either reads or fails with an error naming the file.
TEST(PlyHostile, EveryTruncationOfAValidFileFailsCleanly) {
  TempDir dir("plyh_trunc");
  const auto path = dir.path / "t.ply";
  GaussianSet g;
  at::manual_seed(3);
  g.means = at::randn({3, 3});
  g.log_scales = at::randn({3, 3});
  g.quats = at::randn({3, 4});
  g.opacity_logits = at::randn({3});
  g.sh = at::randn({3, 4, 3});
  const std::string bytes = gaussian_ply_bytes(g);
  for (size_t n = 0; n < bytes.size(); n += 7) {
    splat_test::write_bytes(path, bytes.substr(0, n));
    const std::string err = error_of([&] { read_gaussian_ply(path); });
    EXPECT_NE(err.find("t.ply"), std::string::npos) << n << ": " << err;
  }
}

// Found by fuzz_ply: zero vertices after a list element reached memcpy with the empty table's null
// buffer (undefined even for 0 bytes). Corpus: tests/fuzz/corpus/ply/crash-zero-vertices-after-list.ply.
TEST(PlyHostile, ZeroVerticesAfterAListElement) {
  TempDir dir("plyh_zero");
  std::string s =
      "ply\nformat binary_little_endian 1.0\nelement face 1\nproperty list uchar int idx\n"
      "element vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n";
  put(s, uint8_t(1));
  put(s, int32_t(7));
  splat_test::write_bytes(dir.path / "zero.ply", s);
  const PointCloud pc = read_point_cloud_ply(dir.path / "zero.ply");
  EXPECT_EQ(pc.xyz.size(0), 0);
  EXPECT_EQ(pc.xyz.size(1), 3);
}
