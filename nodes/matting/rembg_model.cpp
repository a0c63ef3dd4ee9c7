#include "matting/rembg_model.h"

#include "camgraph/formats/onnx_summary.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

namespace camgraph::matting {

namespace fs = std::filesystem;

const std::vector<ModelInfo>& known_models() {
  static const std::array<float, 3> imagenet_mean{0.485f, 0.456f, 0.406f}, imagenet_std{0.229f, 0.224f, 0.225f};
  static const std::vector<ModelInfo> models = {
      {"u2net", 320, imagenet_mean, imagenet_std},
      {"u2netp", 320, imagenet_mean, imagenet_std},
      {"u2net_human_seg", 320, imagenet_mean, imagenet_std},
      {"silueta", 320, imagenet_mean, imagenet_std},
      {"isnet-general-use", 1024, {0.5f, 0.5f, 0.5f}, {1.f, 1.f, 1.f}},
      {"isnet-anime", 1024, imagenet_mean, {1.f, 1.f, 1.f}},
  };
  return models;
}

const ModelInfo& model_info(const std::string& name) {
  for (const auto& m : known_models())
    if (m.name == name) return m;
  throw std::invalid_argument("unknown rembg model '" + name + "'");
}

std::vector<fs::path> model_search_dirs() {
  std::vector<fs::path> dirs;
  auto env = [](const char* n) -> std::string {
    const char* v = std::getenv(n);
    return v ? v : "";
  };
  if (!env("U2NET_HOME").empty()) dirs.emplace_back(env("U2NET_HOME"));
  if (!env("XDG_DATA_HOME").empty()) dirs.push_back(fs::path(env("XDG_DATA_HOME")) / ".u2net");
  if (!env("HOME").empty()) dirs.push_back(fs::path(env("HOME")) / ".u2net");
  return dirs;
}

ModelLookup find_model_file(const std::string& name) {
  ModelLookup r;
  for (const auto& d : model_search_dirs()) {
    const fs::path f = d / (name + ".onnx");
    r.tried.push_back(f);
    std::error_code ec;
    if (fs::is_regular_file(f, ec)) {
      r.found = f;
      break;
    }
  }
  return r;
}

std::string missing_model_message(const std::string& name, const std::vector<fs::path>& tried) {
  std::string s = name + ".onnx not found; looked for: ";
  if (tried.empty()) s += "(nothing: U2NET_HOME, XDG_DATA_HOME and HOME are all unset)";
  for (size_t i = 0; i < tried.size(); ++i) s += (i ? ", " : "") + tried[i].string();
  return s + ". Download rembg's " + name + ".onnx (github.com/danielgatis/rembg releases) into ~/.u2net, " +
         "or set U2NET_HOME to the folder holding it, or give the file in the model_path parameter";
}

// ---- pre- and post-processing ----------------------------------------------------------------

cv::Mat preprocess(const cv::Mat& rgb, const ModelInfo& info) {
  CV_Assert(rgb.type() == CV_32FC3 && !rgb.empty());
  const int S = info.size;
  cv::Mat r;
  const bool shrink = rgb.cols >= S && rgb.rows >= S;
  cv::resize(rgb, r, cv::Size(S, S), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  double mx = 0;
  cv::minMaxLoc(r.reshape(1), nullptr, &mx);
  mx = std::max(mx, 1e-6);
  const int dims[4] = {1, 3, S, S};
  cv::Mat blob(4, dims, CV_32F);  // [1, 3, S, S]
  for (int c = 0; c < 3; ++c) {
    float* plane = blob.ptr<float>(0, c);
    for (int y = 0; y < S; ++y) {
      const auto* row = r.ptr<cv::Vec3f>(y);
      for (int x = 0; x < S; ++x)
        plane[y * S + x] = float((row[x][c] / mx - info.mean[size_t(c)]) / info.std[size_t(c)]);
    }
  }
  return blob;
}

cv::Mat normalise_prediction(const cv::Mat& pred) {
  double mn = 0, mx = 0;
  cv::minMaxLoc(pred, &mn, &mx);
  cv::Mat out;
  if (mx - mn < 1e-12) return cv::Mat(pred.size(), CV_32F, cv::Scalar(0));
  pred.convertTo(out, CV_32F, 1.0 / (mx - mn), -mn / (mx - mn));
  return out;
}

cv::Mat resize_mask(const cv::Mat& mask, cv::Size size) {
  cv::Mat out;
  cv::resize(mask, out, size, 0, 0, cv::INTER_LINEAR);
  cv::min(cv::max(out, 0.0), 1.0, out);
  return out;
}

cv::Mat cleanup_mask(const cv::Mat& mask, int kernel, double blur_sigma, double threshold) {
  cv::Mat m = mask.clone();
  if (kernel > 1)
    cv::morphologyEx(m, m, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(kernel, kernel)));
  if (blur_sigma > 0) cv::GaussianBlur(m, m, cv::Size(0, 0), blur_sigma, blur_sigma, cv::BORDER_DEFAULT);
  cv::Mat out;
  cv::Mat(m > threshold).convertTo(out, CV_32F, 1.0 / 255);
  return out;
}

// ---- the network ------------------------------------------------------------------------------

struct RembgModel::Net {
  cv::dnn::Net net;
};

RembgModel::~RembgModel() = default;

RembgModel::RembgModel(const fs::path& file, ModelInfo info, bool use_cuda)
    : file_(file), info_(std::move(info)), net_(std::make_unique<Net>()) {
  // Our own bounded walk first: OpenCV's importer never sees a weight that claims more than the file holds.
  std::string bytes;
  OnnxSummary s;
  try {
    bytes = read_onnx_file(file);
    s = inspect_onnx(bytes, file.string());
  } catch (const std::runtime_error& e) {
    throw ModelError(std::string(e.what()) + "; download it again");
  }
  static const char* unsupported[] = {"LayerNormalization", "GridSample"};
  for (const char* op : unsupported)
    if (std::find(s.op_types.begin(), s.op_types.end(), op) != s.op_types.end())
      throw ModelError(file.string() + " uses the " + op + " operator (opset " + std::to_string(s.opset) +
                       "), which OpenCV " CV_VERSION "'s dnn module cannot run (e.g. BiRefNet); use one of " +
                       "u2net, u2netp, u2net_human_seg, silueta, isnet-general-use, isnet-anime, or method keying");
  try {
    net_->net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  } catch (const std::exception& e) {  // cv::Exception, and whatever else the importer throws
    throw ModelError("OpenCV " CV_VERSION " cannot load " + file.string() + ": " + e.what());
  }
  if (net_->net.empty()) throw ModelError("OpenCV " CV_VERSION " loaded an empty network from " + file.string());
  output_ = s.outputs.front();  // rembg reads the first output (U-2-Net's fused map d0)
  if (net_->net.getLayerId(output_) < 0) {
    const auto names = net_->net.getUnconnectedOutLayersNames();
    if (names.empty()) throw ModelError(file.string() + ": OpenCV found no output layer");
    output_ = names.front();
  }
  backend_ = "opencv-cpu";
  if (use_cuda) {
    for (const auto& bt : cv::dnn::getAvailableBackends())
      if (bt.first == cv::dnn::DNN_BACKEND_CUDA && bt.second == cv::dnn::DNN_TARGET_CUDA) {
        net_->net.setPreferableBackend(cv::dnn::DNN_BACKEND_CUDA);
        net_->net.setPreferableTarget(cv::dnn::DNN_TARGET_CUDA);
        backend_ = "cuda";
      }
  }
}

cv::Mat RembgModel::predict_raw(const cv::Mat& rgb) const {
  const cv::Mat blob = preprocess(rgb, info_);
  cv::Mat out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      net_->net.setInput(blob);
      out = net_->net.forward(output_);
    } catch (const cv::Exception& e) {
      throw ModelError("OpenCV " CV_VERSION " could not run " + file_.string() + ": " + e.what());
    }
  }
  // [1, C, h, w]: rembg takes channel 0.
  if (out.dims != 4 || out.size[0] < 1 || out.size[1] < 1)
    throw ModelError(file_.string() + ": expected a [1, C, H, W] output, got " + std::to_string(out.dims) + " dims");
  const cv::Mat pred(out.size[2], out.size[3], CV_32F, out.ptr<float>(0, 0));
  return normalise_prediction(pred);
}

cv::Mat RembgModel::predict(const cv::Mat& rgb) const { return resize_mask(predict_raw(rgb), rgb.size()); }

std::shared_ptr<const RembgModel> load_model_cached(const fs::path& file, const ModelInfo& info, bool use_cuda) {
  static std::mutex m;
  static std::map<std::string, std::shared_ptr<const RembgModel>> cache;
  std::error_code ec;
  const auto abs = fs::absolute(file, ec);
  const std::string key = abs.string() + "|" + std::to_string(fs::file_size(file, ec)) + "|" +
                          std::to_string(fs::last_write_time(file, ec).time_since_epoch().count()) + "|" + info.name +
                          "|" + std::to_string(info.size) + "|" + (use_cuda ? "cuda" : "cpu");
  std::lock_guard<std::mutex> lock(m);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto model = std::make_shared<const RembgModel>(file, info, use_cuda);
  if (cache.size() >= 3) cache.clear();
  cache[key] = model;
  return model;
}

}  // namespace camgraph::matting
