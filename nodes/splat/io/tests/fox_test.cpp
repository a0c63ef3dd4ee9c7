// Checks against the real fox data (instant-ngp sample), skipped when the shared folder is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "colmap.h"
#include "dataset.h"
#include "image_io.h"
#include "ply.h"
#include "test_util.h"
#include "transforms.h"

using namespace camgraph::splat;

#define REQUIRE_FOX(dir)                                                    \
  const std::filesystem::path dir = splat_test::fox_dir();                  \
  if (dir.empty())                                                          \
    GTEST_SKIP() << "fox data not found (set CAMGRAPH_SHARED or put it in " \
                    "<source>/../shared/data/fox)";

namespace {

using R3 = std::array<double, 9>;
R3 rot(const camgraph::Mat4& m) { return {m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]}; }
R3 mul_bt(const R3& a, const R3& b) {  // a * b^T
  R3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) r[i * 3 + j] += a[i * 3 + k] * b[j * 3 + k];
  return r;
}
// Direction from camera i to camera j, in camera i's frame (invariant under similarity transforms).
std::array<double, 3> dir_in_cam(const camgraph::Camera& ci, const camgraph::Camera& cj, double* dist) {
  const auto a = ci.position(), b = cj.position();
  const R3 r = rot(ci.world_to_camera);
  std::array<double, 3> d{};
  for (int k = 0; k < 3; ++k)
    d[k] = r[k * 3] * (b[0] - a[0]) + r[k * 3 + 1] * (b[1] - a[1]) + r[k * 3 + 2] * (b[2] - a[2]);
  *dist = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  for (auto& v : d) v /= *dist;
  return d;
}

}  // namespace

TEST(Fox, ColmapModel) {
  REQUIRE_FOX(fox);
  const ColmapModel m = read_colmap_model(fox / "colmap" / "sparse" / "0");
  EXPECT_EQ(m.images.size(), 50u);
  ASSERT_EQ(m.cameras.size(), 1u);
  EXPECT_GT(m.points.size(), 1000u);
  const DistortedCamera c = m.cameras.begin()->second.to_camera();
  EXPECT_EQ(c.camera.width, 1080);
  EXPECT_EQ(c.camera.height, 1920);
}

TEST(Fox, TransformsSkipsMissingImages) {
  REQUIRE_FOX(fox);
  int warnings = 0;
  const TransformsScene s = read_transforms(fox / "transforms.json", [&](const std::string&) { ++warnings; });
  EXPECT_EQ(s.frames.size(), 50u);
  EXPECT_EQ(s.skipped_frames, 17);
  EXPECT_EQ(warnings, 17);
  const auto& c = s.frames[0].camera;
  EXPECT_EQ(c.camera.width, 1080);
  EXPECT_EQ(c.camera.fx, 1375.52);
  EXPECT_EQ(c.distortion.model, DistortionModel::OpenCV);
  EXPECT_EQ(c.distortion.k1, 0.0578421);

  const TransformsScene ns = read_transforms(fox / "transforms_nerfstudio.json");
  EXPECT_EQ(ns.frames.size(), 50u);
  EXPECT_EQ(ns.skipped_frames, 0);
  ASSERT_TRUE(ns.ply_path.has_value());
  std::map<std::string, camgraph::Mat4> a;
  for (const auto& f : s.frames) a[f.name] = f.camera.camera.world_to_camera;
  for (const auto& f : ns.frames) {
    ASSERT_TRUE(a.count(f.name)) << f.name;
    for (int k = 0; k < 16; ++k) EXPECT_NEAR(a[f.name][k], f.camera.camera.world_to_camera[k], 1e-9) << f.name;
  }
}

TEST(Fox, SparsePointCloud) {
  REQUIRE_FOX(fox);
  const PointCloud pc = read_point_cloud_ply(fox / "sparse_pc.ply");
  EXPECT_EQ(pc.xyz.size(0), 14460);
  ASSERT_TRUE(pc.colours.defined());
  EXPECT_EQ(pc.colours.size(0), 14460);
  EXPECT_GE(pc.colours.min().item<float>(), 0.0f);
  EXPECT_LE(pc.colours.max().item<float>(), 1.0f);
  EXPECT_TRUE(at::isfinite(pc.xyz).all().item<bool>());
}

TEST(Fox, ColmapAndTransformsPosesAgree) {
  REQUIRE_FOX(fox);
  DatasetOptions o;
  o.load_images = false;
  o.holdout_every = 0;
  std::vector<std::string> warnings;
  const SplatDataset col = load_colmap_dataset(fox, o);
  const SplatDataset tf = load_transforms_dataset(fox / "transforms.json", o,
                                                  [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_EQ(col.train.size(), 50u);
  ASSERT_EQ(tf.train.size(), 50u);
  EXPECT_EQ(warnings.size(), 17u);
  EXPECT_NEAR(col.extent, 1.1, 1e-9);
  EXPECT_NEAR(tf.extent, 1.1, 1e-9);
  for (size_t i = 0; i < 50; ++i) {
    ASSERT_EQ(col.train[i].name, tf.train[i].name);
    EXPECT_NEAR(col.train[i].camera.fx, tf.train[i].camera.fx, 1e-3 * tf.train[i].camera.fx);
    EXPECT_NEAR(col.train[i].camera.cx, tf.train[i].camera.cx, 0.5);
  }
  // Relative rotations, and directions to other cameras in each camera's frame, agree;
  // distances agree up to one global scale.
  double ratio0 = 0, worst_rot = 0, worst_dir = 0, worst_ratio = 0;
  for (size_t i = 0; i < 50; ++i)
    for (size_t j = i + 1; j < 50; j += 7) {
      const R3 ra = mul_bt(rot(col.train[i].camera.world_to_camera), rot(col.train[j].camera.world_to_camera));
      const R3 rb = mul_bt(rot(tf.train[i].camera.world_to_camera), rot(tf.train[j].camera.world_to_camera));
      for (int k = 0; k < 9; ++k) worst_rot = std::max(worst_rot, std::abs(ra[k] - rb[k]));
      double da, db;
      const auto va = dir_in_cam(col.train[i].camera, col.train[j].camera, &da);
      const auto vb = dir_in_cam(tf.train[i].camera, tf.train[j].camera, &db);
      if (da < 1e-3) continue;  // nearly coincident cameras: direction is noise
      for (int k = 0; k < 3; ++k) worst_dir = std::max(worst_dir, std::abs(va[k] - vb[k]));
      if (ratio0 == 0) ratio0 = da / db;
      worst_ratio = std::max(worst_ratio, std::abs(da / db / ratio0 - 1));
    }
  EXPECT_LT(worst_rot, 1e-4);
  // Observed for fox: transforms.json is the COLMAP model itself converted to OpenGL
  // camera-to-world (same world frame and scale), so even the normalisations agree.
  EXPECT_NEAR(col.normalisation.scale, tf.normalisation.scale, 1e-5 * tf.normalisation.scale);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(col.normalisation.centre[k], tf.normalisation.centre[k], 1e-4);
  for (size_t i = 0; i < 50; ++i)
    for (int k = 0; k < 12; ++k)
      EXPECT_NEAR(col.train[i].camera.world_to_camera[k], tf.train[i].camera.world_to_camera[k], 1e-4) << i;
  EXPECT_LT(worst_dir, 1e-3);
  EXPECT_LT(worst_ratio, 1e-3);
}

TEST(Fox, LoadImagesDownscaled) {
  REQUIRE_FOX(fox);
  if (!have_image_decoder()) GTEST_SKIP() << "this build has no image decoder (OpenCV)";
  DatasetOptions o;
  o.downscale = 4;
  o.max_images = 3;
  o.holdout_every = 0;
  const SplatDataset ds = load_colmap_dataset(fox, o);
  ASSERT_EQ(ds.train.size(), 3u);
  EXPECT_EQ(ds.train[0].name, "0001.jpg");
  // OPENCV distortion: undistorted to getOptimalNewCameraMatrix(alpha 0) and cropped to its valid
  // ROI at 1080x1920 (no black fill), then 1/4 (INTER_AREA): 269x479 instead of 270x480.
  EXPECT_EQ(ds.train[0].image.sizes(), (at::IntArrayRef{479, 269, 3}));
  EXPECT_EQ(ds.train[0].camera.width, 269);
  EXPECT_EQ(ds.train[0].camera.height, 479);
  EXPECT_NEAR(ds.train[0].camera.fx, 1375.52 / 4, 0.02 * 1375.52 / 4);
  o.load_images = false;  // the same cameras without decoding
  const SplatDataset cams = load_colmap_dataset(fox, o);
  EXPECT_EQ(cams.train[0].camera, ds.train[0].camera);
  const float mean = ds.train[0].image.mean().item<float>();
  EXPECT_GT(mean, 0.05f);
  EXPECT_LT(mean, 0.95f);
  EXPECT_EQ(ds.points.size(0), ds.point_colours.size(0));
}

namespace {
// Fraction of points in front of the camera and inside the image, averaged over views.
double visible_fraction(const SplatDataset& ds) {
  const at::Tensor p = ds.points.to(at::kDouble);  // [P, 3]
  double sum = 0;
  for (const auto& v : ds.train) {
    const auto& m = v.camera.world_to_camera;
    at::Tensor r = at::tensor({m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]}, at::kDouble).view({3, 3});
    at::Tensor t = at::tensor({m[3], m[7], m[11]}, at::kDouble);
    at::Tensor c = p.matmul(r.t()) + t;  // [P, 3] camera space
    at::Tensor z = c.select(1, 2);
    at::Tensor u = c.select(1, 0) / z * v.camera.fx + v.camera.cx, w = c.select(1, 1) / z * v.camera.fy + v.camera.cy;
    at::Tensor in = (z > 0) & (u >= 0) & (u < v.camera.width) & (w >= 0) & (w < v.camera.height);
    sum += in.to(at::kDouble).mean().item<double>();
  }
  return sum / double(ds.train.size());
}
}  // namespace

TEST(Fox, SparsePointsProjectIntoViews) {
  REQUIRE_FOX(fox);
  DatasetOptions o;
  o.load_images = false;
  o.holdout_every = 0;
  const SplatDataset col = load_colmap_dataset(fox, o);
  const SplatDataset ns = load_transforms_dataset(fox / "transforms_nerfstudio.json", o);
  ASSERT_EQ(ns.points.size(0), 14460);
  const double fc = visible_fraction(col), fn = visible_fraction(ns);
  std::cout << "visible fraction: COLMAP points3D " << fc << ", nerfstudio sparse_pc.ply " << fn << "\n";
  EXPECT_GT(fc, 0.5);
  EXPECT_GT(fn, 0.5);
}
