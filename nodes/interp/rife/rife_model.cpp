#include "interp/rife/rife_model.h"

#include <torch/torch.h>

#include <mutex>

#include "camgraph/formats/torch_checkpoint.h"
#include "interp/rife/ifnet.h"

namespace camgraph::interp {

RifeModel::RifeModel(const std::filesystem::path& weights, c10::Device device, bool half)
    : device_(device), half_(half && device.is_cuda()) {
  CheckpointOptions opt;
  opt.strip_prefix = "module.";
  auto state = load_state_dict_any(weights, opt);
  for (auto& kv : state) kv.second = kv.second.to(at::kFloat);
  const IFNetLayout layout = infer_ifnet_layout(state, weights.string());
  net_ = std::make_shared<IFNetImpl>(layout);
  net_->load_state(state, weights.string());
  net_->eval();
  net_->to(device_, half_ ? at::kHalf : at::kFloat);
  version_ = layout.version;
}

RifeModel::~RifeModel() = default;

int64_t RifeModel::pad_multiple(double scale) const { return net_->layout.pad_multiple(scale); }

at::Tensor RifeModel::interpolate(const at::Tensor& frame0, const at::Tensor& frame1, double t, double scale) {
  torch::NoGradGuard no_grad;
  const bool batched = frame0.dim() == 4;
  if (frame0.sizes() != frame1.sizes() || frame0.size(-1) < 3)
    throw std::invalid_argument("RIFE: two frames of one size with 3 or more channels expected");
  const auto prep = [&](const at::Tensor& f) {  // [B, H, W, C] -> [B, 3, H, W]
    at::Tensor x = batched ? f : f.unsqueeze(0);
    return x.slice(3, 0, 3).permute({0, 3, 1, 2}).to(device_, half_ ? at::kHalf : at::kFloat).contiguous();
  };
  at::Tensor a = prep(frame0), b = prep(frame1);
  const int64_t h = a.size(2), w = a.size(3), m = pad_multiple(scale);
  const int64_t ph = (h + m - 1) / m * m, pw = (w + m - 1) / m * m;
  if (ph != h || pw != w) {
    a = at::replication_pad2d(a, {0, pw - w, 0, ph - h});
    b = at::replication_pad2d(b, {0, pw - w, 0, ph - h});
  }
  at::Tensor out = net_->forward(a, b, t, scale).slice(2, 0, h).slice(3, 0, w);
  out = out.to(at::kFloat).clamp(0.0, 1.0).permute({0, 2, 3, 1}).contiguous();
  return batched ? out : out.squeeze(0);
}

std::shared_ptr<RifeModel> load_rife_cached(const std::filesystem::path& weights, c10::Device device, bool half) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<RifeModel>> cache;
  std::error_code ec;
  const auto size = std::filesystem::file_size(weights, ec);
  const auto mtime = std::filesystem::last_write_time(weights, ec).time_since_epoch().count();
  const std::string key = std::filesystem::absolute(weights).string() + "|" + std::to_string(size) + "|" +
                          std::to_string(mtime) + "|" + device.str() + "|" + (half ? "h" : "f");
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto model = std::make_shared<RifeModel>(weights, device, half);
  if (cache.size() >= 2) cache.clear();
  cache[key] = model;
  return model;
}

}  // namespace camgraph::interp
