// A loaded RIFE IFNet ready to interpolate: weights from flownet.pkl (torch.save zip, "module."
// keys), .pth/.ckpt or .safetensors; version inferred from the tensors; device and fp16 chosen at
// load. Frames are padded (replicated edge) to the multiple the layout needs and cropped back.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <string>

namespace camgraph::interp {

struct IFNetImpl;

class RifeModel {
 public:
  // Throws std::runtime_error naming the file for a missing/corrupt/foreign weight file.
  RifeModel(const std::filesystem::path& weights, c10::Device device, bool half);
  ~RifeModel();
  RifeModel(const RifeModel&) = delete;
  RifeModel& operator=(const RifeModel&) = delete;

  // frame0, frame1 [H, W, 3] (or [B, H, W, 3]) float in [0, 1], any device -> same shape, on the
  // model's device, float32, clamped to [0, 1]. scale: 0.25 .. 4 (use 0.5 for 4K, as Practical-RIFE).
  at::Tensor interpolate(const at::Tensor& frame0, const at::Tensor& frame1, double t, double scale = 1.0);

  const std::string& version() const { return version_; }
  int64_t pad_multiple(double scale) const;
  c10::Device device() const { return device_; }
  bool half() const { return half_; }

 private:
  std::shared_ptr<IFNetImpl> net_;
  c10::Device device_;
  bool half_;
  std::string version_;
};

// Models stay loaded between runs (keyed by path, size, mtime, device, fp16).
std::shared_ptr<RifeModel> load_rife_cached(const std::filesystem::path& weights, c10::Device device, bool half);

}  // namespace camgraph::interp
