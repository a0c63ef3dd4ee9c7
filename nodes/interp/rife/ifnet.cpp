#include "interp/rife/ifnet.h"

#include <torch/torch.h>

#include <cmath>
#include <set>
#include <stdexcept>

#include "interp/rife/warp.h"

namespace camgraph::interp {

namespace {

const at::Tensor& need(const std::map<std::string, at::Tensor>& s, const std::string& key, int64_t dims,
                       const std::string& source) {
  auto it = s.find(key);
  if (it == s.end())
    throw std::runtime_error(source + ": not a RIFE IFNet state dict: tensor '" + key + "' is missing");
  if (it->second.dim() != dims)
    throw std::runtime_error(source + ": tensor '" + key + "' has " + std::to_string(it->second.dim()) +
                             " dimensions, expected " + std::to_string(dims));
  return it->second;
}

}  // namespace

int64_t IFNetLayout::pad_multiple(double user_scale) const {
  const double coarsest = std::pow(2.0, static_cast<double>(blocks() - 1)) / user_scale;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(4.0 * coarsest)));
}

std::vector<double> IFNetLayout::scale_list(double user_scale) const {
  std::vector<double> s;
  for (int64_t i = 0; i < blocks(); ++i) s.push_back(std::pow(2.0, static_cast<double>(blocks() - 1 - i)) / user_scale);
  return s;
}

IFNetLayout infer_ifnet_layout(const std::map<std::string, at::Tensor>& s, const std::string& source) {
  IFNetLayout l;
  for (int64_t i = 0;; ++i) {
    const std::string p = "block" + std::to_string(i) + ".";
    if (!s.count(p + "conv0.0.0.weight")) break;
    const auto& w0 = need(s, p + "conv0.0.0.weight", 4, source);     // [c/2, Cin, 3, 3]
    const auto& w1 = need(s, p + "conv0.1.0.weight", 4, source);     // [c, c/2, 3, 3]
    const auto& last = need(s, p + "lastconv.0.weight", 4, source);  // [c, 4 * out, 4, 4] (transposed conv)
    l.widths.push_back(w1.size(0));
    l.in_channels.push_back(w0.size(1));
    if (last.size(1) % 4)
      throw std::runtime_error(source + ": " + p + "lastconv.0.weight has " + std::to_string(last.size(1)) +
                               " outputs, not a multiple of 4");
    const int64_t out = last.size(1) / 4;
    if (i == 0) l.out_channels = out;
    else if (out != l.out_channels) throw std::runtime_error(source + ": blocks disagree on their output channels");
    int64_t n = 0;
    while (s.count(p + "convblock." + std::to_string(n) + ".conv.weight")) ++n;
    if (i == 0) l.res_convs = n;
    else if (n != l.res_convs) throw std::runtime_error(source + ": blocks disagree on their residual conv count");
  }
  if (l.widths.empty())
    throw std::runtime_error(source +
                             ": not a RIFE IFNet state dict: no 'block0.conv0.0.0.weight' (is this a "
                             "Practical-RIFE 4.x flownet.pkl?)");
  if (s.count("encode.0.weight"))
    throw std::runtime_error(source +
                             ": RIFE 4.7-4.9 style encoder ('encode.0.weight') is not supported; use "
                             "4.6 or 4.14+ weights");
  if (s.count("encode.cnn0.weight")) {
    l.head_mid = need(s, "encode.cnn0.weight", 4, source).size(0);
    l.head_out = need(s, "encode.cnn3.weight", 4, source).size(1);  // ConvTranspose: [in, out, 4, 4]
  }
  if (l.out_channels < 5) throw std::runtime_error(source + ": IFBlock output has fewer than 5 channels");
  // The block inputs implied by the layout must match the weights.
  const int64_t e = l.head_out, f = l.feat_channels();
  for (int64_t i = 0; i < l.blocks(); ++i) {
    const int64_t expect = i == 0 ? 7 + 2 * e : 8 + 4 + 2 * e + f;
    if (l.in_channels[i] != expect)
      throw std::runtime_error(source + ": unknown IFNet variant: block" + std::to_string(i) + " takes " +
                               std::to_string(l.in_channels[i]) + " input channels, the layout (encoder " +
                               std::to_string(e) + ", features " + std::to_string(f) + ") implies " +
                               std::to_string(expect));
  }
  if (!l.has_head()) l.version = "4.6";
  else if (f == 0) l.version = "4.14";
  else if (l.blocks() == 4) l.version = "4.22";
  else l.version = "4.25";
  return l;
}

IFNetImpl::IFNetImpl(IFNetLayout l) : layout(std::move(l)) {
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layout.blocks(); ++i)
    blocks->push_back(IFBlock(layout.in_channels[i], layout.widths[i], layout.out_channels, layout.res_convs));
  if (layout.has_head()) encode = register_module("encode", Head(layout.head_mid, layout.head_out));
}

void IFNetImpl::load_state(const std::map<std::string, at::Tensor>& state, const std::string& source) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& kv : named_parameters(true)) {
    std::string key = kv.key();
    if (key.rfind("blocks.", 0) == 0) {  // our "blocks.i." is the file's "blocki."
      const auto dot = key.find('.', 7);
      key = "block" + key.substr(7, dot - 7) + key.substr(dot);
    }
    auto it = state.find(key);
    if (it == state.end()) throw std::runtime_error(source + ": IFNet weight '" + key + "' is missing");
    if (it->second.sizes() != kv.value().sizes())
      throw std::runtime_error(source + ": IFNet weight '" + key + "' has shape " + c10::str(it->second.sizes()) +
                               ", expected " + c10::str(kv.value().sizes()));
    kv.value().copy_(it->second);
    used.insert(key);
  }
  for (const auto& kv : state)
    if (!used.count(kv.first))
      throw std::runtime_error(source + ": unexpected tensor '" + kv.first + "' for a RIFE " + layout.version +
                               "-layout IFNet");
}

at::Tensor IFNetImpl::forward(const at::Tensor& img0, const at::Tensor& img1, double t, double user_scale) {
  const auto scales = layout.scale_list(user_scale);
  const at::Tensor timestep = at::full_like(img0.slice(1, 0, 1), t);  // [B, 1, H, W]
  at::Tensor f0, f1;
  if (layout.has_head()) {
    f0 = encode->forward(img0);  // [B, E, H, W]
    f1 = encode->forward(img1);
  }
  at::Tensor flow, mask, feat, warped0 = img0, warped1 = img1;
  for (int64_t i = 0; i < layout.blocks(); ++i) {
    auto* block = blocks[i]->as<IFBlockImpl>();
    if (!flow.defined()) {
      std::vector<at::Tensor> parts{img0, img1};
      if (layout.has_head()) parts.insert(parts.end(), {f0, f1});
      parts.push_back(timestep);
      auto o = block->forward(at::cat(parts, 1), at::Tensor(), scales[i]);
      flow = o.flow, mask = o.mask, feat = o.feat;
    } else {
      std::vector<at::Tensor> parts{warped0, warped1};
      if (layout.has_head()) {
        parts.push_back(backward_warp(f0, flow.slice(1, 0, 2)));
        parts.push_back(backward_warp(f1, flow.slice(1, 2, 4)));
      }
      parts.push_back(timestep);
      parts.push_back(mask);
      if (layout.feat_channels() > 0) parts.push_back(feat);
      auto o = block->forward(at::cat(parts, 1), flow, scales[i]);
      mask = layout.has_head() ? o.mask : mask + o.mask;
      flow = flow + o.flow;
      feat = o.feat;
    }
    warped0 = backward_warp(img0, flow.slice(1, 0, 2));
    warped1 = backward_warp(img1, flow.slice(1, 2, 4));
  }
  const at::Tensor m = at::sigmoid(mask);
  return warped0 * m + warped1 * (1 - m);
}

}  // namespace camgraph::interp
