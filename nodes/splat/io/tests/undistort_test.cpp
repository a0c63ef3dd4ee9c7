// Undistortion of OPENCV-distorted views: getOptimalNewCameraMatrix(alpha 0) +
// crop to the valid ROI leaves no black fill, and the returned camera matches
// the cropped (and downscaled) image.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "dataset.h"
#include "image_io.h"
#include "test_util.h"

#ifdef CAMGRAPH_SPLAT_WITH_OPENCV
#include <opencv2/calib3d.hpp>
#endif

using namespace camgraph::splat;
using splat_test::TempDir;

#ifdef CAMGRAPH_SPLAT_WITH_OPENCV
namespace {

constexpr int kW = 400, kH = 300;
constexpr double kFx = 300, kFy = 310, kCx = 203.7, kCy = 148.2;
// k1 k2 p1 p2 k3: barrel (undistorting with the same K loses field of view) and
// pincushion (as fox, k1 > 0: undistorting with the same K leaves black fill at
// the border).
const std::vector<double> kBarrel = {-0.28, 0.07, 0.0012, -0.0008, 0.0};
const std::vector<double> kPincushion = {0.12, 0.02, -0.001, 0.0015, 0.0};
constexpr double kBackground = 40, kPeak = 200, kSigma = 2.5;

// Camera-space directions (x/z, y/z) on a grid inside the distorted frame.
std::vector<std::array<double, 2>> grid_directions() {
  std::vector<std::array<double, 2>> d;
  for (int j = -2; j <= 2; ++j)
    for (int i = -2; i <= 2; ++i) d.push_back({0.22 * i, 0.16 * j});
  return d;
}

// Distorted pixel positions (corner convention: pixel i covers [i, i+1)) from
// OpenCV's projectPoints.
std::vector<cv::Point2d> distorted_pixels(const std::vector<std::array<double, 2>> &dirs,
                                          const std::vector<double> &dist) {
  std::vector<cv::Point3d> obj;
  for (const auto &d : dirs) obj.emplace_back(2 * d[0], 2 * d[1], 2.0);
  const cv::Matx33d K(kFx, 0, kCx, 0, kFy, kCy, 0, 0, 1);
  std::vector<cv::Point2d> px;
  cv::projectPoints(obj, cv::Vec3d(0, 0, 0), cv::Vec3d(0, 0, 0), K, dist, px);
  return px;
}

// A transforms.json scene with one OPENCV-distorted frame; `blobs`: Gaussian
// blobs at the given distorted pixels on a grey background, else a uniform
// bright image.
std::filesystem::path write_scene(const std::filesystem::path &dir, const std::vector<double> &dist,
                                  const std::vector<cv::Point2d> &blobs) {
  std::vector<uint8_t> rgb(size_t(kW * kH * 3));
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      double v = blobs.empty() ? 230 : kBackground;
      for (const auto &b : blobs) {
        const double dx = x + 0.5 - b.x, dy = y + 0.5 - b.y;
        v += kPeak * std::exp(-(dx * dx + dy * dy) / (2 * kSigma * kSigma));
      }
      for (int c = 0; c < 3; ++c) rgb[size_t((y * kW + x) * 3 + c)] = uint8_t(std::lround(std::min(255.0, v)));
    }
  splat_test::write_png(dir / "view.png", kW, kH, rgb);
  nlohmann::json j = {{"camera_model", "OPENCV"},
                      {"fl_x", kFx},
                      {"fl_y", kFy},
                      {"cx", kCx},
                      {"cy", kCy},
                      {"w", kW},
                      {"h", kH},
                      {"k1", dist[0]},
                      {"k2", dist[1]},
                      {"p1", dist[2]},
                      {"p2", dist[3]}};
  const auto row = [](double a, double b, double c, double d) { return nlohmann::json::array({a, b, c, d}); };
  j["frames"] = nlohmann::json::array(
      {{{"file_path", "view.png"},
        {"transform_matrix",
         nlohmann::json::array({row(1, 0, 0, 0), row(0, 1, 0, 0), row(0, 0, 1, 0), row(0, 0, 0, 1)})}}});
  splat_test::write_bytes(dir / "transforms.json", j.dump());
  return dir / "transforms.json";
}

DatasetOptions one_view(int downscale) {
  DatasetOptions o;
  o.holdout_every = 0;
  o.init = "random";
  o.random_points = 10;
  o.downscale = downscale;
  return o;
}

// Number of all-zero rows/columns along the image border (each side counted
// until a non-zero one).
int zero_border_lines(const at::Tensor &img) {  // [H, W, 3]
  const at::Tensor any = img.amax(2) > 0;       // [H, W]
  const at::Tensor rows = any.any(1), cols = any.any(0);
  auto count = [](const at::Tensor &v) {
    int n = 0, m = 0;
    for (int64_t i = 0; i < v.size(0) && !v[i].item<bool>(); ++i) ++n;
    for (int64_t i = v.size(0) - 1; i >= 0 && !v[i].item<bool>(); --i) ++m;
    return n + m;
  };
  return count(rows) + count(cols);
}

}  // namespace

TEST(Undistort, CropLeavesNoBlackBorder) {
  for (const auto *dist : {&kBarrel, &kPincushion}) {
    TempDir dir("undist_border");
    const auto json = write_scene(dir.path, *dist, {});
    for (int ds : {1, 2}) {
      const SplatDataset d = load_transforms_dataset(json, one_view(ds));
      ASSERT_EQ(d.train.size(), 1u);
      const TrainView &v = d.train[0];
      EXPECT_EQ(v.image.size(0), v.camera.height) << ds;
      EXPECT_EQ(v.image.size(1), v.camera.width) << ds;
      EXPECT_LT(v.camera.width, kW / ds);  // cropped
      EXPECT_LT(v.camera.height, kH / ds);
      EXPECT_GT(v.camera.width, kW / ds * 8 / 10);
      EXPECT_EQ(zero_border_lines(v.image), 0) << ds;
      EXPECT_EQ((v.image.amax(2) == 0).sum().item<int64_t>(), 0) << ds;  // not a single black pixel
      // Without images the cameras are the same.
      DatasetOptions o = one_view(ds);
      o.load_images = false;
      const SplatDataset c = load_transforms_dataset(json, o);
      EXPECT_EQ(c.train[0].camera, v.camera) << ds;
    }
    // The old behaviour (original K, full frame) keeps black fill with
    // pincushion distortion.
    DatasetOptions o = one_view(1);
    o.crop_undistorted = false;
    const SplatDataset full = load_transforms_dataset(json, o);
    EXPECT_EQ(full.train[0].camera.width, kW);
    EXPECT_DOUBLE_EQ(full.train[0].camera.fx, kFx);
    if (dist == &kPincushion) {
      EXPECT_GT(zero_border_lines(full.train[0].image), 0);
    }
  }
}

TEST(Undistort, CroppedCameraMatchesImage) {
  for (const auto *dist : {&kBarrel, &kPincushion}) {
    TempDir dir("undist_blobs");
    const auto dirs = grid_directions();
    const auto px = distorted_pixels(dirs, *dist);
    for (const auto &p : px) {  // the blobs lie well inside the distorted frame
      ASSERT_GT(p.x, 15);
      ASSERT_LT(p.x, kW - 15);
      ASSERT_GT(p.y, 15);
      ASSERT_LT(p.y, kH - 15);
    }
    const auto json = write_scene(dir.path, *dist, px);
    for (int ds : {1, 2}) {
      const SplatDataset d = load_transforms_dataset(json, one_view(ds));
      const TrainView &v = d.train[0];
      const at::Tensor lum = v.image.mean(2).to(at::kDouble);  // [H, W]
      auto a = lum.accessor<double, 2>();
      const double bg = kBackground / 255.0;
      const int r = 8 / ds;
      double worst = 0;
      for (const auto &dd : dirs) {
        // Where the returned pinhole camera puts the point ...
        const double u = v.camera.fx * dd[0] + v.camera.cx, w = v.camera.fy * dd[1] + v.camera.cy;
        ASSERT_GT(u, r + 1);
        ASSERT_LT(u, v.camera.width - r - 1);
        ASSERT_GT(w, r + 1);
        ASSERT_LT(w, v.camera.height - r - 1);
        // ... and where the undistorted image has the blob (weighted centroid,
        // corner convention).
        double sw = 0, sx = 0, sy = 0;
        for (int y = int(w) - r; y <= int(w) + r; ++y)
          for (int x = int(u) - r; x <= int(u) + r; ++x) {
            const double wt = std::max(0.0, a[y][x] - bg);
            sw += wt;
            sx += wt * (x + 0.5);
            sy += wt * (y + 0.5);
          }
        ASSERT_GT(sw, 0);
        worst = std::max(worst, std::hypot(sx / sw - u, sy / sw - w));
      }
      EXPECT_LT(worst, 0.15) << "downscale " << ds << (dist == &kBarrel ? " barrel" : " pincushion");
    }
  }
}
#else
TEST(Undistort, NeedsOpenCV) { GTEST_SKIP() << "this build has no image decoder (OpenCV)"; }
#endif
