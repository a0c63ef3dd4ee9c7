// Image decoding, undistortion and downscaling with OpenCV.
#include <cmath>
#include <optional>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "image_io.h"

namespace camgraph::splat {

bool have_image_decoder() { return true; }

UndistortedGeometry undistorted_geometry(const DistortedCamera& dcam, bool crop) {
  UndistortedGeometry g;
  g.camera = dcam.camera;
  const Distortion& d = dcam.distortion;
  const camgraph::Camera& cam = dcam.camera;
  if (!d.active() || cam.fx <= 0 || cam.width <= 0 || cam.height <= 0) return g;
  g.undistort = true;
  if (!crop || d.model == DistortionModel::Fisheye) return g;  // original K and size
  const cv::Matx33d K(cam.fx, 0, cam.cx, 0, cam.fy, cam.cy, 0, 0, 1);
  const std::vector<double> D = {d.k1, d.k2, d.p1, d.p2, d.k3};
  cv::Rect roi;
  const cv::Mat nk = cv::getOptimalNewCameraMatrix(K, D, cv::Size(cam.width, cam.height), 0.0, cv::Size(), &roi);
  roi &= cv::Rect(0, 0, cam.width, cam.height);
  if (roi.width <= 0 || roi.height <= 0) return g;  // degenerate distortion: keep K and the full frame
  g.camera.fx = nk.at<double>(0, 0);
  g.camera.fy = nk.at<double>(1, 1);
  g.camera.cx = nk.at<double>(0, 2) - roi.x;
  g.camera.cy = nk.at<double>(1, 2) - roi.y;
  g.camera.width = roi.width;
  g.camera.height = roi.height;
  g.roi_x = roi.x;
  g.roi_y = roi.y;
  return g;
}

at::Tensor load_undistorted_image(const std::filesystem::path& path, const DistortedCamera& dcam, int downscale,
                                  camgraph::Camera* out_camera, bool crop) {
  if (downscale < 1)
    throw std::runtime_error("load_undistorted_image: downscale must be >= 1, got " + std::to_string(downscale));
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw std::runtime_error(path.string() + ": image file not found");
  std::optional<std::pair<int, int>> declared;
  try {
    declared = read_image_header_size(path);
  } catch (const std::runtime_error&) {
    // A header this small parser does not follow: OpenCV's decoder has the last word.
  }
  auto check_size = [&](int64_t w, int64_t h, const char* what) {
    if (w * h > kMaxImagePixels)
      throw std::runtime_error(path.string() + ": " + what + " " + std::to_string(w) + "x" + std::to_string(h) +
                               " pixels, more than the " + std::to_string(kMaxImagePixels) + " this reader decodes");
  };
  if (declared) check_size(declared->first, declared->second, "image header declares");
  cv::Mat bgr;
  try {
    // Camera models describe the stored pixel grid: do not apply EXIF orientation.
    bgr = cv::imread(path.string(), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw std::runtime_error(path.string() + ": cannot decode image: " + e.what());
  }
  if (bgr.empty() || bgr.cols <= 0 || bgr.rows <= 0)
    throw std::runtime_error(path.string() + ": cannot decode image (corrupt or unsupported format)");
  check_size(bgr.cols, bgr.rows, "image is");

  camgraph::Camera cam = dcam.camera;
  if (cam.width <= 0 || cam.height <= 0) {  // size unknown: take the file's (intrinsics must be set by caller)
    cam.width = bgr.cols;
    cam.height = bgr.rows;
  } else if (cam.width != bgr.cols || cam.height != bgr.rows) {
    const double a = double(cam.width) / cam.height, b = double(bgr.cols) / bgr.rows;
    if (std::abs(a - b) > 0.01 * a)
      throw std::runtime_error(path.string() + ": image is " + std::to_string(bgr.cols) + "x" +
                               std::to_string(bgr.rows) + " but its camera is " + std::to_string(cam.width) + "x" +
                               std::to_string(cam.height) + " (different aspect ratio)");
    cam = cam.resized(bgr.cols, bgr.rows);
  }

  const Distortion& d = dcam.distortion;
  DistortedCamera sized = dcam;
  sized.camera = cam;
  const UndistortedGeometry g = undistorted_geometry(sized, crop);
  if (g.undistort) {
    const cv::Matx33d K(cam.fx, 0, cam.cx, 0, cam.fy, cam.cy, 0, 0, 1);
    // K' of the full-size undistorted image: the cropped camera moved back by the ROI corner.
    const cv::Matx33d NK(g.camera.fx, 0, g.camera.cx + g.roi_x, 0, g.camera.fy, g.camera.cy + g.roi_y, 0, 0, 1);
    cv::Mat und;
    if (d.model == DistortionModel::Fisheye) {
      const cv::Vec4d D(d.k1, d.k2, d.k3, d.k4);
      cv::fisheye::undistortImage(bgr, und, K, D, NK, bgr.size());
    } else {
      const std::vector<double> D = {d.k1, d.k2, d.p1, d.p2, d.k3};
      cv::undistort(bgr, und, K, D, NK);
    }
    const cv::Rect roi(g.roi_x, g.roi_y, g.camera.width, g.camera.height);
    bgr = roi == cv::Rect(0, 0, und.cols, und.rows) ? und : und(roi).clone();
    cam = g.camera;
  }

  if (downscale > 1) {
    const int w = std::max(1, bgr.cols / downscale), h = std::max(1, bgr.rows / downscale);
    cv::Mat small;
    cv::resize(bgr, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    bgr = small;
    cam = cam.resized(w, h);
  }

  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  if (!rgb.isContinuous()) rgb = rgb.clone();
  at::Tensor t = at::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, at::kByte).to(at::kFloat).div_(255.0);  // [H, W, 3]
  if (out_camera) *out_camera = cam;
  return t;
}

}  // namespace camgraph::splat
