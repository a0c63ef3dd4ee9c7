#include "matting/rembg_model.h"

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

// ---- a minimal protobuf walk over the ONNX ModelProto --------------------------------------

namespace {

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t value = 0;                   // varint fields
  const unsigned char* data = nullptr;  // length-delimited fields
  size_t size = 0;
};

bool read_varint(const unsigned char*& p, const unsigned char* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    const unsigned char b = *p++;
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// Calls f(field) for each field of the message in [p, end); false when malformed.
template <class F>
bool for_each_field(const unsigned char* p, const unsigned char* end, F&& f) {
  while (p < end) {
    uint64_t key;
    if (!read_varint(p, end, key)) return false;
    Field fd;
    fd.number = uint32_t(key >> 3);
    fd.wire = uint32_t(key & 7);
    if (fd.number == 0) return false;
    switch (fd.wire) {
      case 0:
        if (!read_varint(p, end, fd.value)) return false;
        break;
      case 1:
        if (end - p < 8) return false;
        p += 8;
        break;
      case 2: {
        uint64_t n;
        if (!read_varint(p, end, n) || n > uint64_t(end - p)) return false;
        fd.data = p;
        fd.size = size_t(n);
        p += n;
        break;
      }
      case 5:
        if (end - p < 4) return false;
        p += 4;
        break;
      default: return false;
    }
    if (!f(fd)) return false;
  }
  return true;
}

std::string str(const Field& f) { return std::string(reinterpret_cast<const char*>(f.data), f.size); }

}  // namespace

OnnxSummary inspect_onnx(const std::vector<unsigned char>& bytes, const std::string& file_name) {
  OnnxSummary s;
  bool has_ir = false, has_graph = false;
  int nodes = 0;
  std::set<std::string> ops;
  const bool ok = for_each_field(bytes.data(), bytes.data() + bytes.size(), [&](const Field& m) {
    if (m.number == 1 && m.wire == 0) has_ir = true;  // ir_version
    if (m.number == 8 && m.wire == 2) {               // opset_import
      std::string domain;
      int64_t version = 0;
      if (!for_each_field(m.data, m.data + m.size, [&](const Field& o) {
            if (o.number == 1 && o.wire == 2) domain = str(o);
            if (o.number == 2 && o.wire == 0) version = int64_t(o.value);
            return true;
          }))
        return false;
      if (domain.empty() || domain == "ai.onnx") s.opset = version;
    }
    if (m.number == 7 && m.wire == 2) {  // graph
      has_graph = true;
      return for_each_field(m.data, m.data + m.size, [&](const Field& g) {
        if (g.number == 1 && g.wire == 2) {  // node
          ++nodes;
          return for_each_field(g.data, g.data + g.size, [&](const Field& n) {
            if (n.number == 4 && n.wire == 2) ops.insert(str(n));  // op_type
            return true;
          });
        }
        if (g.number == 12 && g.wire == 2) {  // output
          return for_each_field(g.data, g.data + g.size, [&](const Field& v) {
            if (v.number == 1 && v.wire == 2) s.outputs.push_back(str(v));  // name
            return true;
          });
        }
        return true;
      });
    }
    return true;
  });
  if (!ok || !has_ir || !has_graph || nodes == 0 || s.outputs.empty())
    throw ModelError(file_name + " is not a valid ONNX model (" +
                     (!ok          ? std::string("the protobuf data is corrupt or truncated")
                      : !has_graph ? std::string("no graph")
                                   : std::string("no operators or no outputs")) +
                     "); download it again");
  s.op_types.assign(ops.begin(), ops.end());
  return s;
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
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ModelError("cannot open " + file.string());
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const OnnxSummary s = inspect_onnx(bytes, file.string());
  static const char* unsupported[] = {"LayerNormalization", "GridSample"};
  for (const char* op : unsupported)
    if (std::find(s.op_types.begin(), s.op_types.end(), op) != s.op_types.end())
      throw ModelError(file.string() + " uses the " + op + " operator (opset " + std::to_string(s.opset) +
                       "), which OpenCV " CV_VERSION "'s dnn module cannot run (e.g. BiRefNet); use one of " +
                       "u2net, u2netp, u2net_human_seg, silueta, isnet-general-use, isnet-anime, or method keying");
  try {
    net_->net = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  } catch (const cv::Exception& e) {
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
