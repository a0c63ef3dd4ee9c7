#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>

#include "ply.h"
#include "test_util.h"

using namespace camgraph::splat;
using splat_test::error_of;
using splat_test::TempDir;

namespace {

GaussianSet random_set(int64_t n, int degree, uint64_t seed) {
  at::manual_seed(seed);
  const int64_t k = sh_coeffs_for_degree(degree);
  GaussianSet g;
  g.means = at::randn({n, 3}) * 10;
  g.log_scales = at::randn({n, 3}) - 3;
  g.quats = at::randn({n, 4});
  g.opacity_logits = at::randn({n});
  g.sh = at::randn({n, k, 3});
  if (n > 2) {  // awkward values must survive bit-exactly
    g.means[0][0] = std::numeric_limits<float>::denorm_min();
    g.means[0][1] = -0.0f;
    g.opacity_logits[1] = std::numeric_limits<float>::max();
  }
  return g;
}

bool bit_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  const at::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), size_t(ca.numel()) * ca.element_size()) == 0;
}

// Property names and the float data of a binary 3DGS PLY we wrote.
std::vector<std::string> header_props(const std::string& bytes, size_t* data_offset) {
  std::vector<std::string> props;
  size_t pos = 0;
  while (true) {
    const size_t e = bytes.find('\n', pos);
    const std::string line = bytes.substr(pos, e - pos);
    pos = e + 1;
    if (line == "end_header") break;
    if (line.rfind("property float ", 0) == 0) props.push_back(line.substr(15));
  }
  *data_offset = pos;
  return props;
}

}  // namespace

class PlyDegree : public ::testing::TestWithParam<int> {};

TEST_P(PlyDegree, RoundTripBitExact) {
  const int degree = GetParam();
  TempDir dir("ply_rt");
  const GaussianSet g = random_set(37, degree, 100 + degree);
  const auto path = dir.path / "point_cloud.ply";
  write_gaussian_ply(path, g);
  // Atomic write leaves only the file itself.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1);

  const GaussianSet r = read_gaussian_ply(path);
  EXPECT_EQ(r.sh_degree(), degree);
  EXPECT_TRUE(bit_equal(r.means, g.means));
  EXPECT_TRUE(bit_equal(r.log_scales, g.log_scales));
  EXPECT_TRUE(bit_equal(r.quats, g.quats));
  EXPECT_TRUE(bit_equal(r.opacity_logits, g.opacity_logits));
  EXPECT_TRUE(bit_equal(r.sh, g.sh));
  EXPECT_NO_THROW(r.validate());

  // INRIA layout: property order, and f_rest channel-major.
  const std::string bytes = splat_test::read_bytes(path);
  size_t off = 0;
  const auto props = header_props(bytes, &off);
  const int64_t k = sh_coeffs_for_degree(degree), rest = 3 * (k - 1);
  ASSERT_EQ(int64_t(props.size()), 17 + rest);
  EXPECT_EQ(props[0], "x");
  EXPECT_EQ(props[3], "nx");
  EXPECT_EQ(props[6], "f_dc_0");
  EXPECT_EQ(props[9 + rest], "opacity");
  EXPECT_EQ(props[10 + rest], "scale_0");
  EXPECT_EQ(props[13 + rest], "rot_0");
  EXPECT_EQ(bytes.size() - off, size_t(37 * props.size() * 4));
  const int row = 5;
  auto value = [&](int col) {
    float v;
    std::memcpy(&v, bytes.data() + off + (size_t(row) * props.size() + size_t(col)) * 4, 4);
    return v;
  };
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(value(6 + c), g.sh[row][0][c].item<float>());
    for (int64_t j = 1; j < k; ++j) {
      const int64_t idx = c * (k - 1) + (j - 1);
      EXPECT_EQ(props[size_t(9 + idx)], "f_rest_" + std::to_string(idx));
      EXPECT_EQ(value(int(9 + idx)), g.sh[row][j][c].item<float>()) << "channel " << c << " coeff " << j;
    }
  }
  EXPECT_EQ(value(13 + int(rest)), g.quats[row][0].item<float>());  // rot_0 = w
  EXPECT_EQ(value(0), g.means[row][0].item<float>());
}

INSTANTIATE_TEST_SUITE_P(Degrees, PlyDegree, ::testing::Values(0, 1, 2, 3));

TEST(Ply, AsciiGaussians) {
  TempDir dir("ply_ascii");
  // Degree 1, properties in a non-standard order, with an extra property.
  std::string s = "ply\r\nformat ascii 1.0\r\ncomment made by hand\r\nelement vertex 2\r\n";
  const char* names[] = {"opacity", "x",     "y",     "z",      "scale_0", "scale_1", "scale_2", "rot_0",
                         "rot_1",   "rot_2", "rot_3", "f_dc_0", "f_dc_1",  "f_dc_2",  "extra"};
  for (const char* n : names) s += std::string("property float ") + n + "\r\n";
  for (int i = 0; i < 9; ++i) s += "property float f_rest_" + std::to_string(i) + "\r\n";
  s += "end_header\r\n";
  s += "0.5 1 2 3 -1 -2 -3 1 0 0 0 0.1 0.2 0.3 99  10 11 12 20 21 22 30 31 32\n";
  s += "-0.5 4 5 6 -4 -5 -6 0 1 0 0 0.4 0.5 0.6 99  1 2 3 4 5 6 7 8 9\n";
  splat_test::write_bytes(dir.path / "a.ply", s);
  const GaussianSet g = read_gaussian_ply(dir.path / "a.ply");
  ASSERT_EQ(g.size(), 2);
  EXPECT_EQ(g.sh_degree(), 1);
  EXPECT_FLOAT_EQ(g.means[1][2].item<float>(), 6.0f);
  EXPECT_FLOAT_EQ(g.opacity_logits[0].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(g.quats[1][1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(g.sh[0][0][2].item<float>(), 0.3f);
  // f_rest channel-major: R coefficients 10 11 12, G 20 21 22, B 30 31 32.
  EXPECT_FLOAT_EQ(g.sh[0][1][0].item<float>(), 10.0f);
  EXPECT_FLOAT_EQ(g.sh[0][3][0].item<float>(), 12.0f);
  EXPECT_FLOAT_EQ(g.sh[0][1][1].item<float>(), 20.0f);
  EXPECT_FLOAT_EQ(g.sh[0][2][2].item<float>(), 31.0f);
}

TEST(Ply, PointCloudBinaryDoubleWithFaces) {
  TempDir dir("ply_pc");
  std::string s =
      "ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty double x\nproperty double y\n"
      "property double z\nproperty float confidence\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
      "element face 1\nproperty list uchar int vertex_indices\nend_header\n";
  for (int i = 0; i < 3; ++i) {
    const double xyz[3] = {i + 0.25, -i * 1e10, 1.0 / 3.0};
    s.append(reinterpret_cast<const char*>(xyz), 24);
    const float conf = 7;
    s.append(reinterpret_cast<const char*>(&conf), 4);
    const unsigned char rgb[3] = {255, uint8_t(i * 100), 0};
    s.append(reinterpret_cast<const char*>(rgb), 3);
  }
  s += '\3';
  const int32_t idx[3] = {0, 1, 2};
  s.append(reinterpret_cast<const char*>(idx), 12);
  splat_test::write_bytes(dir.path / "pc.ply", s);
  const PointCloud pc = read_point_cloud_ply(dir.path / "pc.ply");
  ASSERT_EQ(pc.xyz.size(0), 3);
  EXPECT_EQ(pc.xyz[2][0].item<float>(), 2.25f);
  EXPECT_EQ(pc.xyz[2][1].item<float>(), float(-2e10));
  EXPECT_EQ(pc.xyz[1][2].item<float>(), float(1.0 / 3.0));
  ASSERT_TRUE(pc.colours.defined());
  EXPECT_FLOAT_EQ(pc.colours[0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(pc.colours[2][1].item<float>(), 200.0f / 255.0f);
  EXPECT_EQ(pc.colours[1][2].item<float>(), 0.0f);
}

TEST(Ply, PointCloudAsciiFloatColoursAndNone) {
  TempDir dir("ply_pc_ascii");
  splat_test::write_bytes(
      dir.path / "c.ply",
      "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\n"
      "property float red\nproperty float green\nproperty float blue\nend_header\n"
      "1 2 3 0.5 0.25 1\n4 5 6 0 0.75 0.125\n");
  PointCloud pc = read_point_cloud_ply(dir.path / "c.ply");
  EXPECT_EQ(pc.xyz.size(0), 2);
  EXPECT_EQ(pc.colours[1][1].item<float>(), 0.75f);
  splat_test::write_bytes(
      dir.path / "n.ply",
      "ply\nformat ascii 1.0\nelement vertex 1\nproperty float z\nproperty float y\nproperty float x\n"
      "end_header\n1 2 3\n");
  pc = read_point_cloud_ply(dir.path / "n.ply");
  EXPECT_FALSE(pc.colours.defined());
  EXPECT_EQ(pc.xyz[0][0].item<float>(), 3.0f);  // x is the third property
}

TEST(Ply, BigEndianPointCloud) {
  TempDir dir("ply_be");
  std::string s =
      "ply\nformat binary_big_endian 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float "
      "z\nend_header\n";
  for (float v : {1.5f, -2.0f, 3.25f}) {
    char b[4];
    std::memcpy(b, &v, 4);
    for (int i = 3; i >= 0; --i) s.push_back(b[i]);
  }
  splat_test::write_bytes(dir.path / "be.ply", s);
  const PointCloud pc = read_point_cloud_ply(dir.path / "be.ply");
  EXPECT_EQ(pc.xyz[0][1].item<float>(), -2.0f);
  EXPECT_EQ(pc.xyz[0][2].item<float>(), 3.25f);
}

TEST(Ply, TruncatedAndCorrupt) {
  TempDir dir("ply_bad");
  const auto path = dir.path / "g.ply";
  write_gaussian_ply(path, random_set(10, 2, 7));
  const std::string bytes = splat_test::read_bytes(path);
  splat_test::write_bytes(path, bytes.substr(0, bytes.size() - 100));
  std::string err = error_of([&] { read_gaussian_ply(path); });
  EXPECT_NE(err.find("g.ply"), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  EXPECT_NE(err.find("10 vertex"), std::string::npos) << err;
  EXPECT_NE(err.find("9 complete"), std::string::npos) << err;

  splat_test::write_bytes(path, bytes.substr(0, 60));  // inside the header
  err = error_of([&] { read_gaussian_ply(path); });
  EXPECT_NE(err.find("end_header"), std::string::npos) << err;

  std::string bad = bytes;
  bad.replace(bad.find("property float nx"), 17, "property flt   nx");
  splat_test::write_bytes(path, bad);
  err = error_of([&] { read_gaussian_ply(path); });
  EXPECT_NE(err.find("bad PLY header line 7"), std::string::npos) << err;
  EXPECT_NE(err.find("flt"), std::string::npos) << err;

  splat_test::write_bytes(path,
                          "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                          "property float z\nend_header\n1 2 3\n4 5\n");
  err = error_of([&] { read_point_cloud_ply(path); });
  EXPECT_NE(err.find("ends early"), std::string::npos) << err;

  splat_test::write_bytes(path,
                          "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                          "property float z\nend_header\n1 abc 3\n");
  err = error_of([&] { read_point_cloud_ply(path); });
  EXPECT_NE(err.find("invalid number 'abc'"), std::string::npos) << err;

  // A point cloud is not a 3DGS file.
  splat_test::write_bytes(path,
                          "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                          "property float z\nend_header\n1 2 3\n");
  err = error_of([&] { read_gaussian_ply(path); });
  EXPECT_NE(err.find("'f_dc_0'"), std::string::npos) << err;

  splat_test::write_bytes(path, "not a ply\n");
  err = error_of([&] { read_point_cloud_ply(path); });
  EXPECT_NE(err.find("not a PLY"), std::string::npos) << err;
}

TEST(Ply, BadRestCount) {
  TempDir dir("ply_rest");
  std::string s = "ply\nformat ascii 1.0\nelement vertex 1\n";
  for (const char* n : {"x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
                        "rot_0", "rot_1", "rot_2", "rot_3"})
    s += std::string("property float ") + n + "\n";
  for (int i = 0; i < 6; ++i) s += "property float f_rest_" + std::to_string(i) + "\n";
  s += "end_header\n";
  for (int i = 0; i < 20; ++i) s += "1 ";
  splat_test::write_bytes(dir.path / "r.ply", s + "\n");
  const std::string err = error_of([&] { read_gaussian_ply(dir.path / "r.ply"); });
  EXPECT_NE(err.find("6 f_rest_"), std::string::npos) << err;
  EXPECT_NE(err.find("0, 9, 24 or 45"), std::string::npos) << err;
}

TEST(Ply, WriteRejectsBadShapes) {
  GaussianSet g = random_set(4, 1, 3);
  g.quats = at::zeros({4, 3});
  EXPECT_THROW(gaussian_ply_bytes(g), std::runtime_error);
  g = random_set(4, 1, 3);
  g.sh = at::zeros({4, 5, 3});
  EXPECT_THROW(gaussian_ply_bytes(g), std::runtime_error);
}

TEST(Ply, FloatVerticesAfterAnotherElement) {
  TempDir dir("ply_offset");
  std::string s =
      "ply\nformat binary_little_endian 1.0\nelement camera 2\nproperty float fov\nproperty uchar id\n"
      "element vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n";
  for (int i = 0; i < 2; ++i) {
    const float fov = 1.5f;
    s.append(reinterpret_cast<const char*>(&fov), 4);
    s.push_back(char(i));
  }
  for (float v : {1.f, 2.f, 3.f, 4.f, 5.f, 6.f}) s.append(reinterpret_cast<const char*>(&v), 4);
  splat_test::write_bytes(dir.path / "o.ply", s);
  const PointCloud pc = read_point_cloud_ply(dir.path / "o.ply");
  ASSERT_EQ(pc.xyz.size(0), 2);
  EXPECT_EQ(pc.xyz[0][0].item<float>(), 1.0f);
  EXPECT_EQ(pc.xyz[1][2].item<float>(), 6.0f);
  splat_test::write_bytes(dir.path / "o.ply", s.substr(0, s.size() - 1));
  const std::string err = error_of([&] { read_point_cloud_ply(dir.path / "o.ply"); });
  EXPECT_NE(err.find("1 complete"), std::string::npos) << err;
}
