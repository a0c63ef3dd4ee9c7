#include "depth/model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "camgraph/formats/onnx_summary.h"
#include "depth/depth_anything.h"

namespace camgraph::depth {

namespace fs = std::filesystem;

const std::vector<ModelKind>& model_kinds() {
  static const std::vector<ModelKind> kinds = {
      {"midas_v21_small", 256, true, false, true, 0},
      {"midas_v21_384", 384, true, false, true, 0},
      {"depth_anything_v2_relative", 518, false, true, true, 0},
      {"depth_anything_v2_metric_indoor", 518, false, true, false, 20},
      {"depth_anything_v2_metric_outdoor", 518, false, true, false, 80},
  };
  return kinds;
}

const ModelKind& model_kind(const std::string& name) {
  for (const auto& k : model_kinds())
    if (k.name == name) return k;
  throw std::invalid_argument("unknown depth model kind '" + name + "'");
}

std::string kind_from_file_name(const fs::path& file) {
  std::string n = file.filename().string();
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
  if (has("model-small") || has("midas_v21_small") || has("midas-small")) return "midas_v21_small";
  if (has("f6b98070") || has("midas_v21_384") || has("midas_v21-")) return "midas_v21_384";
  if (has("depth_anything") || has("depth-anything") || has("depthanything")) {
    if (has("metric")) {
      if (has("hypersim") || has("indoor")) return "depth_anything_v2_metric_indoor";
      if (has("vkitti") || has("outdoor")) return "depth_anything_v2_metric_outdoor";
      return "";
    }
    return "depth_anything_v2_relative";
  }
  return "";
}

cv::Size network_size(cv::Size image, const ModelKind& kind, int input_override) {
  const int input = input_override > 0 ? input_override : kind.input;
  if (kind.square) return {input, input};
  // Depth Anything: lower_bound resize with ensure_multiple_of = 14.
  const int base = std::max(14, int(std::lround(input / 14.0)) * 14);
  const double scale = std::max(double(base) / image.width, double(base) / image.height);
  auto fit = [&](double v) {
    int m = int(std::lround(v / 14.0)) * 14;
    if (m < base) m = int(std::ceil(v / 14.0)) * 14;
    return std::max(m, base);
  };
  return {fit(image.width * scale), fit(image.height * scale)};
}

cv::Mat preprocess(const cv::Mat& rgb, const ModelKind& kind, cv::Size net, bool bicubic_only) {
  CV_Assert(rgb.type() == CV_32FC3 && !rgb.empty());
  cv::Mat r;
  if (rgb.size() == net) {
    r = rgb;
  } else {
    const bool shrink = !bicubic_only && rgb.cols >= net.width && rgb.rows >= net.height;
    cv::resize(rgb, r, net, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_CUBIC);
  }
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
  const int dims[4] = {1, 3, net.height, net.width};
  cv::Mat blob(4, dims, CV_32F);  // [1, 3, h, w]
  for (int c = 0; c < 3; ++c) {
    float* plane = blob.ptr<float>(0, c);
    const float m = kind.imagenet_norm ? mean[c] : 0.f, s = kind.imagenet_norm ? stdv[c] : 1.f;
    for (int y = 0; y < net.height; ++y) {
      const auto* row = r.ptr<cv::Vec3f>(y);
      for (int x = 0; x < net.width; ++x) plane[y * net.width + x] = (std::clamp(row[x][c], 0.f, 1.f) - m) / s;
    }
  }
  return blob;
}

bool is_torch_checkpoint_name(const fs::path& file) {
  std::string e = file.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e == ".pth" || e == ".pt";
}

std::string where_to_download(const fs::path& file, const std::string& kind_name) {
  std::string n = file.filename().string();
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (kind_name.rfind("midas", 0) == 0)
    return "download model-small.onnx (256x256) or model-f6b98070.onnx (384x384) from "
           "https://github.com/isl-org/MiDaS/releases/tag/v2_1";
  std::string size = "Small", enc = "vits";
  if (n.find("vitb") != std::string::npos) size = "Base", enc = "vitb";
  if (n.find("vitl") != std::string::npos) size = "Large", enc = "vitl";
  std::string repo = "depth-anything/Depth-Anything-V2-" + size, name = "depth_anything_v2_" + enc + ".pth";
  if (kind_name == "depth_anything_v2_metric_indoor")
    repo = "depth-anything/Depth-Anything-V2-Metric-Hypersim-" + size,
    name = "depth_anything_v2_metric_hypersim_" + enc + ".pth";
  if (kind_name == "depth_anything_v2_metric_outdoor")
    repo = "depth-anything/Depth-Anything-V2-Metric-VKITTI-" + size,
    name = "depth_anything_v2_metric_vkitti_" + enc + ".pth";
  return "download " + name + " from https://huggingface.co/" + repo + " (vits = Small, vitb = Base, vitl = Large)";
}

struct DepthModel::Net {
  cv::dnn::Net net;
  std::unique_ptr<DepthAnythingV2> dav2;  // libtorch backend
};

DepthModel::DepthModel(const fs::path& file, ModelKind kind, int input_override, bool use_cuda, int vit_heads)
    : file_(file), kind_(std::move(kind)), input_override_(input_override), net_(std::make_unique<Net>()) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw ModelError(file.filename().string() + " does not exist or is not a file (looked for " +
                     fs::absolute(file).lexically_normal().string() + "); " + where_to_download(file, kind_.name));
  if (fs::file_size(file, ec) < 16) throw ModelError(file.string() + " is empty or truncated; download it again");
  if (is_torch_checkpoint_name(file)) {
    if (kind_.name.rfind("depth_anything", 0) != 0)
      throw ModelError(file.filename().string() +
                       ": only Depth Anything V2 checkpoints run from a .pth; MiDaS needs its "
                       "ONNX file (" +
                       where_to_download(file, kind_.name) + ")");
    DepthAnythingOptions o;
    o.metric = !kind_.disparity;
    o.max_depth = kind_.max_depth > 0 ? kind_.max_depth : 20;
    o.num_heads = vit_heads;
    o.device = use_cuda && at::hasCUDA() ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
    try {
      net_->dav2 = std::make_unique<DepthAnythingV2>(file, o);
    } catch (const std::exception& e) {
      throw ModelError(e.what());
    }
    backend_ = o.device.is_cuda() ? "libtorch-cuda" : "libtorch-cpu";
    variant_ = net_->dav2->variant();
    return;
  }
  // Our own bounded walk first (formats/model): OpenCV's importer never sees a weight that claims
  // more than the file holds.
  std::string bytes;
  try {
    bytes = read_onnx_file(file);
    inspect_onnx(bytes, file.string());
  } catch (const std::runtime_error& e) {
    throw ModelError("cannot load " + file.filename().string() + ": " + e.what() + "; download it again");
  }
  try {
    net_->net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    std::string hint = kind_.name.rfind("depth_anything", 0) == 0
                           ? " Depth Anything V2 ONNX files must be exported with opset 16 or lower "
                             "(torch.onnx.export(..., opset_version=16)) for OpenCV 4.6."
                           : " Is it a MiDaS v2.1 ONNX file (model-small.onnx or model-f6b98070.onnx)?";
    const auto* cv_error = dynamic_cast<const cv::Exception*>(&e);
    throw ModelError("OpenCV dnn cannot load " + file.filename().string() + ": " +
                     (cv_error ? cv_error->err : e.what()) + "." + hint);
  }
  if (net_->net.empty()) throw ModelError(file.filename().string() + " holds no network");
  backend_ = "opencv-cpu";
  // Debian's OpenCV has no CUDA dnn backend; the network runs on the CPU even on CUDA runs.
  (void)use_cuda;
}

DepthModel::~DepthModel() = default;

cv::Mat DepthModel::predict_raw(const cv::Mat& rgb) const {
  const cv::Size net = network_size(rgb.size(), kind_, input_override_);
  if (net_->dav2) {
    // The original transform: bicubic resize (cv2.INTER_CUBIC), ImageNet normalisation.
    cv::Mat blob = preprocess(rgb, kind_, net, /*bicubic_only=*/true);
    at::Tensor out;
    try {
      c10::InferenceMode guard;
      const at::Tensor x = at::from_blob(blob.ptr<float>(), {1, 3, net.height, net.width}, at::kFloat);
      out = net_->dav2->forward(x).to(at::kCPU).contiguous();
    } catch (const std::exception& e) {
      throw ModelError("running " + file_.filename().string() + " at " + std::to_string(net.width) + "x" +
                       std::to_string(net.height) + " failed: " + e.what());
    }
    return cv::Mat(int(out.size(1)), int(out.size(2)), CV_32F, out.data_ptr<float>()).clone();
  }
  const cv::Mat blob = preprocess(rgb, kind_, net);
  cv::Mat out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      net_->net.setInput(blob);
      out = net_->net.forward();
    } catch (const cv::Exception& e) {
      throw ModelError("running " + file_.filename().string() + " at " + std::to_string(net.width) + "x" +
                       std::to_string(net.height) + " failed: " + e.err +
                       (kind_.square ? "" : " (a fixed-size export needs input_size set to its size)"));
    }
  }
  // [h, w], [1, h, w] or [1, 1, h, w].
  const int d = out.dims;
  if (d < 2 || out.size[d - 1] * out.size[d - 2] != int(out.total()))
    throw ModelError(file_.filename().string() + ": the output has " + std::to_string(out.total()) +
                     " values, not one depth map");
  const int h = out.size[d - 2], w = out.size[d - 1];
  cv::Mat m(h, w, CV_32F, out.ptr<float>());
  return m.clone();
}

cv::Mat DepthModel::predict(const cv::Mat& rgb) const {
  const cv::Mat raw = predict_raw(rgb);
  cv::Mat r;
  if (net_->dav2) {
    // As the original's infer_image: bilinear, align_corners = True.
    const cv::Mat c = raw.isContinuous() ? raw : raw.clone();
    at::Tensor t = at::from_blob(c.data, {1, 1, c.rows, c.cols}, at::kFloat);
    t = at::upsample_bilinear2d(t, {rgb.rows, rgb.cols}, true).contiguous();
    r = cv::Mat(rgb.rows, rgb.cols, CV_32F, t.data_ptr<float>()).clone();
  } else {
    cv::resize(raw, r, rgb.size(), 0, 0, cv::INTER_CUBIC);
  }
  if (!kind_.disparity) r = cv::max(r, 0.f);
  return r;
}

std::shared_ptr<const DepthModel> load_model_cached(const fs::path& file, const ModelKind& kind, int input_override,
                                                    bool use_cuda, int vit_heads) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const DepthModel>> cache;
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  const auto mtime = fs::last_write_time(file, ec).time_since_epoch().count();
  const std::string key = fs::absolute(file).string() + "|" + std::to_string(size) + "|" + std::to_string(mtime) + "|" +
                          kind.name + "|" + std::to_string(input_override) + "|" + (use_cuda ? "cuda" : "cpu") + "|" +
                          std::to_string(vit_heads);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto m = cache[key].lock()) return m;
  auto m = std::make_shared<const DepthModel>(file, kind, input_override, use_cuda, vit_heads);
  cache[key] = m;
  return m;
}

}  // namespace camgraph::depth
