// rembg's segmentation models (the `<model>.onnx` files rembg users already have) through
// OpenCV's dnn module: model discovery, rembg's pre- and post-processing, inference.
// Images are cv::Mat CV_32FC3 RGB in [0, 1]; masks CV_32FC1 in [0, 1].
#pragma once
#include <array>
#include <filesystem>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace camgraph::matting {

struct ModelInfo {
  std::string name;             // rembg's model name, also the file stem
  int size = 320;               // square network input
  std::array<float, 3> mean{};  // RGB, applied after dividing by the image's own maximum
  std::array<float, 3> std{};
};

// u2net, u2netp, u2net_human_seg, silueta, isnet-general-use, isnet-anime.
const std::vector<ModelInfo>& known_models();
const ModelInfo& model_info(const std::string& name);  // throws std::invalid_argument

// The folders searched for `<model>.onnx`, in order: $U2NET_HOME, $XDG_DATA_HOME/.u2net, ~/.u2net
// (each only when its variable is set).
std::vector<std::filesystem::path> model_search_dirs();

struct ModelLookup {
  std::filesystem::path found;               // empty when not found
  std::vector<std::filesystem::path> tried;  // every file looked for, in order
};
ModelLookup find_model_file(const std::string& name);
// "u2net.onnx not found; looked for: ...; download ... into ~/.u2net, or set U2NET_HOME or model_path".
std::string missing_model_message(const std::string& name, const std::vector<std::filesystem::path>& tried);

// A model file that cannot be used: corrupt, not ONNX, or with operators OpenCV cannot run.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// rembg's pre-processing: resize to size x size (no aspect kept; area for shrinking, bilinear
// otherwise), divide by the resized image's maximum, subtract mean, divide by std. [1, 3, S, S].
cv::Mat preprocess(const cv::Mat& rgb, const ModelInfo& info);
// rembg's post-processing of the first output's first channel: min-max normalise ([S, S]).
cv::Mat normalise_prediction(const cv::Mat& pred);
// Bilinear resize back to the image.
cv::Mat resize_mask(const cv::Mat& mask, cv::Size size);
// rembg's optional cleanup: opening (ellipse, kernel px), Gaussian blur (sigma), threshold.
cv::Mat cleanup_mask(const cv::Mat& mask, int kernel, double blur_sigma, double threshold);

class RembgModel {
 public:
  // Reads and checks the file, builds the network; throws ModelError.
  RembgModel(const std::filesystem::path& file, ModelInfo info, bool use_cuda = false);
  ~RembgModel();
  // The normalised prediction at the network's resolution ([S, S]) and resized to the image.
  cv::Mat predict_raw(const cv::Mat& rgb) const;
  cv::Mat predict(const cv::Mat& rgb) const;

  const ModelInfo& info() const { return info_; }
  const std::filesystem::path& file() const { return file_; }
  const std::string& output_name() const { return output_; }
  const std::string& backend() const { return backend_; }  // "opencv-cpu" or "cuda"

 private:
  std::filesystem::path file_;
  ModelInfo info_;
  std::string output_, backend_;
  struct Net;  // the cv::dnn::Net, kept out of this header
  std::unique_ptr<Net> net_;
  mutable std::mutex mutex_;  // a Net runs one forward at a time
};

// Loaded models are kept by file (path, size, modification time), info and backend.
std::shared_ptr<const RembgModel> load_model_cached(const std::filesystem::path& file, const ModelInfo& info,
                                                    bool use_cuda);

}  // namespace camgraph::matting
