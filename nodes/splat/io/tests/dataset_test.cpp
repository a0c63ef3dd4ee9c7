#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>

#include "dataset.h"
#include "image_io.h"
#include "test_util.h"

using namespace camgraph::splat;
using splat_test::error_of;
using splat_test::TempDir;

namespace {

constexpr int kW = 40, kH = 30, kViews = 10;
const double kCentre[3] = {10, -3, 2};
constexpr double kRadius = 5;

// Colour of 2x2 block (bx, by) in image i: downscale 2 with INTER_AREA reproduces it exactly.
uint8_t block_colour(int i, int bx, int by, int c) { return uint8_t((i * 40 + bx * 11 + by * 7 + c * 60) % 256); }

// Camera i on a ring around kCentre, looking at it (OpenCV axes), as a COLMAP quaternion + t.
void ring_pose(int i, std::array<double, 4>* q, std::array<double, 3>* t) {
  const double a = 2 * M_PI * i / kViews;
  const double pos[3] = {kCentre[0] + kRadius * std::cos(a), kCentre[1], kCentre[2] + kRadius * std::sin(a)};
  // Camera z (forward) points at the centre, y down = world -y, x = y cross z.
  const double z[3] = {-std::cos(a), 0, -std::sin(a)};
  const double y[3] = {0, -1, 0};
  const double x[3] = {y[1] * z[2] - y[2] * z[1], y[2] * z[0] - y[0] * z[2], y[0] * z[1] - y[1] * z[0]};
  const double R[3][3] = {{x[0], x[1], x[2]}, {y[0], y[1], y[2]}, {z[0], z[1], z[2]}};  // world-to-camera
  const double tr = R[0][0] + R[1][1] + R[2][2];
  // Rotation matrix -> quaternion (w x y z); pick the numerically safe branch.
  if (tr > 0) {
    const double s = std::sqrt(tr + 1) * 2;
    *q = {0.25 * s, (R[2][1] - R[1][2]) / s, (R[0][2] - R[2][0]) / s, (R[1][0] - R[0][1]) / s};
  } else if (R[0][0] > R[1][1] && R[0][0] > R[2][2]) {
    const double s = std::sqrt(1 + R[0][0] - R[1][1] - R[2][2]) * 2;
    *q = {(R[2][1] - R[1][2]) / s, 0.25 * s, (R[0][1] + R[1][0]) / s, (R[0][2] + R[2][0]) / s};
  } else if (R[1][1] > R[2][2]) {
    const double s = std::sqrt(1 + R[1][1] - R[0][0] - R[2][2]) * 2;
    *q = {(R[0][2] - R[2][0]) / s, (R[0][1] + R[1][0]) / s, 0.25 * s, (R[1][2] + R[2][1]) / s};
  } else {
    const double s = std::sqrt(1 + R[2][2] - R[0][0] - R[1][1]) * 2;
    *q = {(R[1][0] - R[0][1]) / s, (R[0][2] + R[2][0]) / s, (R[1][2] + R[2][1]) / s, 0.25 * s};
  }
  for (int r = 0; r < 3; ++r) (*t)[r] = -(R[r][0] * pos[0] + R[r][1] * pos[1] + R[r][2] * pos[2]);
}

// A COLMAP dataset: root/images/img_XX.png, root/sparse/0 (binary).
ColmapModel make_dataset(const std::filesystem::path& root, bool with_points = true, const char* model = "PINHOLE",
                         std::vector<double> params = {30, 30, 20, 15}) {
  ColmapModel m;
  ColmapCamera cam;
  cam.id = 1, cam.model = model, cam.width = kW, cam.height = kH, cam.params = params;
  m.cameras[1] = cam;
  for (int i = kViews - 1; i >= 0; --i) {  // reverse order: the loader must sort by name
    ColmapImage im;
    im.id = i + 1;
    ring_pose(i, &im.qvec, &im.tvec);
    im.camera_id = 1;
    im.name = "img_" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".png";
    m.images.push_back(im);
    std::vector<uint8_t> rgb(size_t(kW) * kH * 3);
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x)
        for (int c = 0; c < 3; ++c) rgb[(size_t(y) * kW + x) * 3 + c] = block_colour(i, x / 2, y / 2, c);
    splat_test::write_png(root / "images" / im.name, kW, kH, rgb);
  }
  if (with_points)
    for (int i = 0; i < 20; ++i) {
      ColmapPoint p;
      p.id = i;
      p.xyz = {kCentre[0] + 0.1 * i - 1, kCentre[1] + 0.05 * i, kCentre[2] - 0.07 * i};
      p.rgb = {uint8_t(i * 10), 255, 0};
      m.points.push_back(p);
    }
  splat_test::write_colmap_bin(root / "sparse" / "0", m);
  return m;
}

std::array<double, 2> project(const camgraph::Camera& c, const std::array<double, 3>& p) {
  const auto& m = c.world_to_camera;
  double v[3];
  for (int r = 0; r < 3; ++r) v[r] = m[r * 4] * p[0] + m[r * 4 + 1] * p[1] + m[r * 4 + 2] * p[2] + m[r * 4 + 3];
  return {c.fx * v[0] / v[2] + c.cx, c.fy * v[1] / v[2] + c.cy};
}

}  // namespace

TEST(Dataset, ColmapDownscaleHoldoutNormalisation) {
  if (!have_image_decoder()) GTEST_SKIP() << "this build has no image decoder (OpenCV)";
  TempDir dir("ds_colmap");
  const ColmapModel model = make_dataset(dir.path);
  DatasetOptions o;
  o.downscale = 2;
  o.holdout_every = 4;
  const SplatDataset ds = load_colmap_dataset(dir.path, o);

  // Holdout: sorted indices 0, 4, 8 are test.
  ASSERT_EQ(ds.test.size(), 3u);
  ASSERT_EQ(ds.train.size(), 7u);
  EXPECT_EQ(ds.test[0].name, "img_00.png");
  EXPECT_EQ(ds.test[1].name, "img_04.png");
  EXPECT_EQ(ds.test[2].name, "img_08.png");
  EXPECT_EQ(ds.train[0].name, "img_01.png");
  EXPECT_EQ(ds.train[3].name, "img_05.png");

  // Downscale: image and intrinsics.
  for (const auto* set : {&ds.train, &ds.test})
    for (const auto& v : *set) {
      ASSERT_TRUE(v.image.defined());
      EXPECT_EQ(v.image.sizes(), (at::IntArrayRef{kH / 2, kW / 2, 3}));
      EXPECT_EQ(v.image.scalar_type(), at::kFloat);
      EXPECT_EQ(v.camera.width, kW / 2);
      EXPECT_EQ(v.camera.height, kH / 2);
      EXPECT_DOUBLE_EQ(v.camera.fx, 15.0);
      EXPECT_DOUBLE_EQ(v.camera.cx, 10.0);
      EXPECT_DOUBLE_EQ(v.camera.cy, 7.5);
      const int i = std::stoi(v.name.substr(4, 2));
      for (int by : {0, 7, 14})
        for (int bx : {0, 9, 19})
          for (int c = 0; c < 3; ++c)
            EXPECT_NEAR(v.image[by][bx][c].item<float>(), block_colour(i, bx, by, c) / 255.0f, 1e-6)
                << v.name << " " << bx << "," << by << "," << c;
    }

  // Normalisation: centre = ring centre, radius 1, extent 1.1.
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(ds.normalisation.centre[k], kCentre[k], 1e-9);
  EXPECT_NEAR(ds.normalisation.scale, 1 / kRadius, 1e-12);
  EXPECT_NEAR(ds.extent, 1.1, 1e-12);
  double mean[3] = {0, 0, 0}, max_d = 0;
  for (const auto* set : {&ds.train, &ds.test})
    for (const auto& v : *set) {
      const auto p = v.camera.position();
      for (int k = 0; k < 3; ++k) mean[k] += p[k] / kViews;
      max_d = std::max(max_d, std::sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]));
    }
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(mean[k], 0.0, 1e-9);
  EXPECT_NEAR(max_d, 1.0, 1e-9);

  // Points: normalised the same way, so every point projects to the same pixel as before
  // (original camera, scaled to the downscaled image).
  ASSERT_TRUE(ds.points.defined());
  ASSERT_EQ(ds.points.size(0), 20);
  ASSERT_EQ(ds.point_colours.sizes(), (at::IntArrayRef{20, 3}));
  EXPECT_NEAR(ds.point_colours[3][0].item<float>(), 30 / 255.0f, 1e-7);
  EXPECT_EQ(ds.point_colours[3][1].item<float>(), 1.0f);
  const auto& img1 = model.images[size_t(kViews - 1 - 1)];  // img_01
  ASSERT_EQ(img1.name, "img_01.png");
  camgraph::Camera orig = model.cameras.at(1).to_camera().camera.resized(kW / 2, kH / 2);
  orig.world_to_camera = img1.world_to_camera();
  for (int i = 0; i < 20; ++i) {
    const auto& wp = model.points[size_t(i)].xyz;
    const std::array<double, 3> np = {ds.points[i][0].item<double>(), ds.points[i][1].item<double>(),
                                      ds.points[i][2].item<double>()};
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(np[k], (wp[k] - kCentre[k]) / kRadius, 1e-6);
    const auto a = project(orig, wp), b = project(ds.train[0].camera, np);
    EXPECT_NEAR(a[0], b[0], 1e-4);
    EXPECT_NEAR(a[1], b[1], 1e-4);
  }
}

TEST(Dataset, OptionsWithoutImages) {
  TempDir dir("ds_opts");
  make_dataset(dir.path, /*with_points=*/false);
  DatasetOptions o;
  o.load_images = false;
  o.max_images = 3;
  o.holdout_every = 0;
  o.downscale = 4;
  o.init = "random";
  o.random_points = 500;
  o.seed = 42;
  const SplatDataset a = load_colmap_dataset(dir.path, o);
  EXPECT_TRUE(a.test.empty());
  ASSERT_EQ(a.train.size(), 3u);
  EXPECT_EQ(a.train[2].name, "img_02.png");
  EXPECT_FALSE(a.train[0].image.defined());
  EXPECT_EQ(a.train[0].camera.width, kW / 4);
  EXPECT_DOUBLE_EQ(a.train[0].camera.fx, 30.0 * (kW / 4) / kW);
  ASSERT_EQ(a.points.sizes(), (at::IntArrayRef{500, 3}));
  EXPECT_LE(a.points.abs().max().item<float>(), float(a.extent));
  EXPECT_GT(a.points.abs().max().item<float>(), 0.5f * float(a.extent));
  EXPECT_GE(a.point_colours.min().item<float>(), 0.0f);
  EXPECT_LE(a.point_colours.max().item<float>(), 1.0f);
  const SplatDataset b = load_colmap_dataset(dir.path, o);
  EXPECT_TRUE(at::equal(a.points, b.points));
  o.seed = 43;
  const SplatDataset c = load_colmap_dataset(dir.path, o);
  EXPECT_FALSE(at::equal(a.points, c.points));

  // normalise = false: world coordinates, extent in world units.
  o.normalise = false;
  o.max_images = 0;
  const SplatDataset w = load_colmap_dataset(dir.path, o);
  EXPECT_EQ(w.normalisation.scale, 1.0);
  EXPECT_EQ(w.normalisation.centre[0], 0.0);
  EXPECT_NEAR(w.extent, 1.1 * kRadius, 1e-9);

  // init "points" without sparse points fails; "auto" falls back to random.
  o.init = "points";
  std::string err = error_of([&] { load_colmap_dataset(dir.path, o); });
  EXPECT_NE(err.find("sparse points"), std::string::npos) << err;
  o.init = "auto";
  EXPECT_EQ(load_colmap_dataset(dir.path, o).points.size(0), 500);
  o.init = "mesh";
  err = error_of([&] { load_colmap_dataset(dir.path, o); });
  EXPECT_NE(err.find("unknown init 'mesh'"), std::string::npos) << err;

  // init "ply:<path>" (relative to the dataset root), no colours -> grey with a warning.
  splat_test::write_bytes(dir.path / "init.ply",
                          "ply\nformat ascii 1.0\nelement vertex 2\nproperty double x\n"
                          "property double y\nproperty double z\nend_header\n10 -3 2\n15 -3 2\n");
  o.init = "ply:init.ply";
  o.normalise = true;
  std::vector<std::string> warnings;
  const SplatDataset p = load_colmap_dataset(dir.path, o, [&](const std::string& s) { warnings.push_back(s); });
  ASSERT_EQ(p.points.size(0), 2);
  EXPECT_NEAR(p.points[0].abs().max().item<float>(), 0.0f, 1e-5);
  EXPECT_NEAR(p.points[1][0].item<float>(), 1.0f, 1e-5);
  EXPECT_EQ(p.point_colours[1][2].item<float>(), 0.5f);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(Dataset, MissingAndCorruptImages) {
  TempDir dir("ds_bad");
  make_dataset(dir.path);
  DatasetOptions o;
  std::filesystem::remove(dir.path / "images" / "img_03.png");
  std::string err = error_of([&] { load_colmap_dataset(dir.path, o); });
  EXPECT_NE(err.find("img_03.png"), std::string::npos) << err;
  EXPECT_NE(err.find((dir.path / "images").string()), std::string::npos) << err;

  splat_test::write_bytes(dir.path / "images" / "img_03.png", "\x89PNG\r\n\x1a\nthis is not really a png");
  err = error_of([&] { load_colmap_dataset(dir.path, o); });
  if (have_image_decoder()) {
    EXPECT_NE(err.find("img_03.png"), std::string::npos) << err;
    EXPECT_NE(err.find("cannot decode"), std::string::npos) << err;
  } else {
    EXPECT_NE(err.find("no image decoder (OpenCV)"), std::string::npos) << err;
  }
}

TEST(Dataset, UndistortionKeepsCentre) {
  if (!have_image_decoder()) GTEST_SKIP() << "this build has no image decoder (OpenCV)";
  TempDir dir("ds_dist");
  make_dataset(dir.path, true, "OPENCV", {30, 30, 20, 15, -0.3, 0.05, 0, 0});
  DatasetOptions o;
  o.holdout_every = 0;
  o.max_images = 1;
  o.crop_undistorted = false;  // original K and size (the default crop is tested in undistort_test.cpp)
  const SplatDataset d = load_colmap_dataset(dir.path, o);
  TempDir dir2("ds_nodist");
  make_dataset(dir2.path);
  const SplatDataset p = load_colmap_dataset(dir2.path, o);
  const at::Tensor a = d.train[0].image, b = p.train[0].image;  // [H, W, 3]
  EXPECT_EQ(a.sizes(), b.sizes());
  // The principal point does not move; the corners do.
  EXPECT_TRUE(at::allclose(a[15][20], b[15][20]));
  EXPECT_GT((a - b).abs().sum().item<float>(), 1.0f);
  EXPECT_EQ(d.train[0].camera.fx, 30.0);
}

TEST(Dataset, AutoDetect) {
  TempDir dir("ds_auto");
  make_dataset(dir.path);
  DatasetOptions o;
  o.load_images = false;
  EXPECT_EQ(load_dataset(dir.path, o).points.size(0), 20);  // COLMAP (sparse points)

  TempDir tdir("ds_auto_tf");
  splat_test::write_png(tdir.path / "a.png", 4, 4, std::vector<uint8_t>(48, 9));
  splat_test::write_png(tdir.path / "b.png", 4, 4, std::vector<uint8_t>(48, 9));
  nlohmann::json j = {{"fl_x", 4.0}, {"w", 4}, {"h", 4}};
  auto mat = [](double x) {
    return nlohmann::json::array({nlohmann::json::array({1, 0, 0, x}), nlohmann::json::array({0, 1, 0, 0}),
                                  nlohmann::json::array({0, 0, 1, 0}), nlohmann::json::array({0, 0, 0, 1})});
  };
  j["frames"] = nlohmann::json::array({{{"file_path", "b"}, {"transform_matrix", mat(2)}},
                                       {{"file_path", "a"}, {"transform_matrix", mat(0)}},
                                       {{"file_path", "gone"}, {"transform_matrix", mat(1)}}});
  splat_test::write_bytes(tdir.path / "transforms.json", j.dump());
  int warnings = 0;
  o.holdout_every = 2;
  o.init = "random";
  o.random_points = 10;
  const SplatDataset t = load_dataset(tdir.path, o, [&](const std::string&) { ++warnings; });
  EXPECT_EQ(warnings, 1);
  ASSERT_EQ(t.test.size(), 1u);
  ASSERT_EQ(t.train.size(), 1u);
  EXPECT_EQ(t.test[0].name, "a.png");
  EXPECT_NEAR(t.test[0].camera.position()[0], -1.0, 1e-12);  // centre 1, radius 1
  EXPECT_NEAR(t.train[0].camera.position()[0], 1.0, 1e-12);
  EXPECT_EQ(t.points.size(0), 10);

  const std::string err = error_of([&] { load_dataset(tdir.path / "nothing", o); });
  EXPECT_NE(err.find("not found"), std::string::npos) << err;
}

TEST(Dataset, ModelFolderGivenDirectly) {
  TempDir dir("ds_model_dir");
  make_dataset(dir.path);
  DatasetOptions o;
  o.max_images = 2;
  o.holdout_every = 0;
  o.load_images = have_image_decoder();
  const SplatDataset d = load_dataset(dir.path / "sparse" / "0", o);  // images found at ../../images
  ASSERT_EQ(d.train.size(), 2u);
  EXPECT_EQ(d.train[1].image_path, dir.path / "images" / "img_01.png");
  EXPECT_EQ(d.train[1].image.defined(), have_image_decoder());
}
