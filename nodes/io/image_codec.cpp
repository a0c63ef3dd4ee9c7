#include "image_codec.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace camgraph::io {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".tif" || e == ".tiff" || e == ".bmp" || e == ".webp" ||
         e == ".exr";
}

at::Tensor read_image(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw std::runtime_error("image not found: " + path.string());
  cv::Mat m = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  if (m.empty()) throw std::runtime_error("cannot decode image " + path.string() + " (corrupt or unsupported format)");
  double scale = 1.0;
  switch (m.depth()) {
    case CV_8U: scale = 1.0 / 255; break;
    case CV_16U: scale = 1.0 / 65535; break;
    case CV_32F: scale = 1.0; break;
    default: throw std::runtime_error("unsupported pixel depth in " + path.string());
  }
  cv::Mat f;
  m.convertTo(f, CV_32F, scale);
  cv::Mat rgb;
  switch (f.channels()) {
    case 1: cv::cvtColor(f, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(f, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(f, rgb, cv::COLOR_BGRA2RGBA); break;
    default: throw std::runtime_error("unsupported channel count in " + path.string());
  }
  at::Tensor t = at::from_blob(rgb.data, {rgb.rows, rgb.cols, rgb.channels()}, at::kFloat).clone();
  return t;
}

std::string encode_image(const at::Tensor& pixels, const std::string& extension, int bit_depth, int jpeg_quality) {
  at::Tensor p = pixels.detach().to(at::kCPU, at::kFloat).clamp(0, 1).contiguous();  // [H, W, C]
  if (p.dim() == 2) p = p.unsqueeze(2);
  const int h = int(p.size(0)), w = int(p.size(1)), c = int(p.size(2));
  if (c != 1 && c != 3 && c != 4)
    throw std::runtime_error("cannot encode an image with " + std::to_string(c) + " channels");
  cv::Mat f(h, w, CV_32FC(c), p.data_ptr<float>());
  cv::Mat bgr;
  if (c == 3) cv::cvtColor(f, bgr, cv::COLOR_RGB2BGR);
  else if (c == 4) cv::cvtColor(f, bgr, cv::COLOR_RGBA2BGRA);
  else bgr = f;
  std::string ext = extension;
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  const bool sixteen = bit_depth == 16 && (ext == ".png" || ext == ".tif" || ext == ".tiff");
  cv::Mat q;
  bgr.convertTo(q, sixteen ? CV_16U : CV_8U, sixteen ? 65535.0 : 255.0);  // rounds to nearest
  std::vector<int> params;
  if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, jpeg_quality};
  if (ext == ".png") params = {cv::IMWRITE_PNG_COMPRESSION, 3};
  std::vector<uchar> buf;
  if (!cv::imencode(ext, q, buf, params)) throw std::runtime_error("cannot encode image as " + ext);
  return std::string(buf.begin(), buf.end());
}

}  // namespace camgraph::io
