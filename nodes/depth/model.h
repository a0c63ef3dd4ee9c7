// Monocular depth networks: MiDaS v2.1 ONNX (model-small.onnx 256x256, model-f6b98070.onnx 384x384)
// and Depth Anything V2 ONNX exports (opset <= 16) through OpenCV dnn; Depth Anything V2 `.pth`
// checkpoints through libtorch (depth/depth_anything.h).
// Images are cv::Mat CV_32FC3 RGB in [0, 1]; predictions CV_32FC1.
#pragma once
#include <filesystem>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace camgraph::depth {

// What a network's output means and how its input is prepared.
struct ModelKind {
  std::string name;            // e.g. "midas_v21_small"
  int input = 256;             // MiDaS: square side; Depth Anything: short side (multiple of 14)
  bool square = true;          // MiDaS: resize to input x input; Depth Anything: keep the aspect ratio
  bool imagenet_norm = false;  // Depth Anything: (x - mean) / std; MiDaS: RGB [0, 1], normalised inside
  bool disparity = true;       // relative inverse depth (MiDaS, DA-V2 relative); false: metres
  double max_depth = 0;        // metric DA-V2: sigmoid x max_depth inside the network (20 indoor, 80 outdoor)
};

// midas_v21_small, midas_v21_384, depth_anything_v2_relative, depth_anything_v2_metric_indoor,
// depth_anything_v2_metric_outdoor.
const std::vector<ModelKind>& model_kinds();
const ModelKind& model_kind(const std::string& name);  // throws std::invalid_argument
// From a published file name (model-small.onnx, model-f6b98070.onnx, depth_anything_v2_vits.onnx,
// depth_anything_v2_metric_hypersim_vitl.onnx, ..._vkitti_...); "" when the name says nothing.
std::string kind_from_file_name(const std::filesystem::path& file);

// A model file that cannot be used: missing, corrupt, or with operators OpenCV cannot run.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Network input size for an image: MiDaS input x input; Depth Anything: short side `input`
// (rounded to a multiple of 14), long side scaled and rounded to the nearest multiple of 14.
cv::Size network_size(cv::Size image, const ModelKind& kind, int input_override = 0);
// [1, 3, h, w] blob: bicubic resize (area when shrinking both sides unless `bicubic_only`), RGB,
// ImageNet normalisation for Depth Anything.
cv::Mat preprocess(const cv::Mat& rgb, const ModelKind& kind, cv::Size net, bool bicubic_only = false);

// Where the published file of this name (or kind) comes from, for "missing file" errors.
std::string where_to_download(const std::filesystem::path& file, const std::string& kind_name);
// True for the checkpoints the libtorch backend reads (.pth, .pt).
bool is_torch_checkpoint_name(const std::filesystem::path& file);

class DepthModel {
 public:
  // `.onnx`: OpenCV dnn. `.pth` / `.pt` (Depth Anything V2 kinds only): libtorch; `vit_heads` 0 =
  // hidden / 64 as in every published DINOv2.
  DepthModel(const std::filesystem::path& file, ModelKind kind, int input_override = 0, bool use_cuda = false,
             int vit_heads = 0);
  ~DepthModel();
  // The first output at the network's resolution ([h, w]; [1, h, w] and [1, 1, h, w] accepted).
  cv::Mat predict_raw(const cv::Mat& rgb) const;
  // Resized (bicubic) to the image; disparity or metres per kind().
  cv::Mat predict(const cv::Mat& rgb) const;

  const ModelKind& kind() const { return kind_; }
  const std::filesystem::path& file() const { return file_; }
  const std::string& backend() const { return backend_; }
  // libtorch backend: "vits", "vitb", "vitl", "vitg" (or "vit-<hidden>x<blocks>"); "" on OpenCV dnn.
  const std::string& variant() const { return variant_; }

 private:
  std::filesystem::path file_;
  ModelKind kind_;
  int input_override_ = 0;
  std::string backend_;
  std::string variant_;
  struct Net;
  std::unique_ptr<Net> net_;
  mutable std::mutex mutex_;
};

// Loaded models kept by (path, size, mtime, kind, input, backend, heads).
std::shared_ptr<const DepthModel> load_model_cached(const std::filesystem::path& file, const ModelKind& kind,
                                                    int input_override, bool use_cuda, int vit_heads = 0);

}  // namespace camgraph::depth
