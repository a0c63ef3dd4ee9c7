// VAE decoder; see vae_decoder.h. Axis order [B, C, H, W].
#include "sd/vae_decoder.h"

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <regex>
#include <set>
#include <stdexcept>

#include "sd/weight_file.h"

namespace camgraph::sd {

namespace nn = torch::nn;

namespace {
nn::GroupNorm group_norm(int64_t c) { return nn::GroupNorm(nn::GroupNormOptions(32, c).eps(1e-6)); }
nn::Conv2d conv(int64_t in, int64_t out, int64_t k) { return nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2)); }
}  // namespace

VaeResnetImpl::VaeResnetImpl(int64_t in, int64_t out) {
  norm1 = register_module("norm1", group_norm(in));
  conv1 = register_module("conv1", conv(in, out, 3));
  norm2 = register_module("norm2", group_norm(out));
  conv2 = register_module("conv2", conv(out, out, 3));
  if (in != out) conv_shortcut = register_module("conv_shortcut", conv(in, out, 1));
}

at::Tensor VaeResnetImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv1(at::silu(norm1(x)));
  h = conv2(at::silu(norm2(h)));
  return (conv_shortcut ? conv_shortcut(x) : x) + h;
}

VaeAttentionImpl::VaeAttentionImpl(int64_t c) {
  group_norm = register_module("group_norm", sd::group_norm(c));
  to_q = register_module("to_q", nn::Linear(c, c));
  to_k = register_module("to_k", nn::Linear(c, c));
  to_v = register_module("to_v", nn::Linear(c, c));
  to_out = register_module("to_out", nn::ModuleList());
  to_out->push_back(nn::Linear(c, c));
}

at::Tensor VaeAttentionImpl::forward(const at::Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const at::Tensor h = group_norm(x).view({B, C, H * W}).transpose(1, 2);  // [B, HW, C]
  const at::Tensor q = to_q(h), k = to_k(h), v = to_v(h);
  const at::Tensor w = at::softmax(at::matmul(q, k.transpose(1, 2)) / std::sqrt(double(C)), -1);  // [B, HW, HW]
  const at::Tensor o = to_out->at<nn::LinearImpl>(0).forward(at::matmul(w, v));                   // [B, HW, C]
  return x + o.transpose(1, 2).reshape({B, C, H, W});
}

VaeMidBlockImpl::VaeMidBlockImpl(int64_t c) {
  resnets = register_module("resnets", nn::ModuleList());
  attentions = register_module("attentions", nn::ModuleList());
  resnets->push_back(VaeResnet(c, c));
  resnets->push_back(VaeResnet(c, c));
  attentions->push_back(VaeAttention(c));
}

at::Tensor VaeMidBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = resnets->at<VaeResnetImpl>(0).forward(x);
  h = attentions->at<VaeAttentionImpl>(0).forward(h);
  return resnets->at<VaeResnetImpl>(1).forward(h);
}

VaeUpsampleImpl::VaeUpsampleImpl(int64_t c) { conv = register_module("conv", sd::conv(c, c, 3)); }

at::Tensor VaeUpsampleImpl::forward(const at::Tensor& x) {
  return conv(at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}));
}

VaeUpBlockImpl::VaeUpBlockImpl(int64_t in, int64_t out, int64_t n, bool upsample) {
  resnets = register_module("resnets", nn::ModuleList());
  upsamplers = register_module("upsamplers", nn::ModuleList());
  for (int64_t i = 0; i < n; ++i) resnets->push_back(VaeResnet(i == 0 ? in : out, out));
  if (upsample) upsamplers->push_back(VaeUpsample(out));
}

at::Tensor VaeUpBlockImpl::forward(at::Tensor x) {
  for (size_t i = 0; i < resnets->size(); ++i) x = resnets->at<VaeResnetImpl>(i).forward(x);
  if (upsamplers->size()) x = upsamplers->at<VaeUpsampleImpl>(0).forward(x);
  return x;
}

VaeDecoderStackImpl::VaeDecoderStackImpl(const VaeDecoderConfig& c) {
  const int64_t top = c.up_channels.front();
  conv_in = register_module("conv_in", conv(c.latent_channels, top, 3));
  mid_block = register_module("mid_block", VaeMidBlock(top));
  up_blocks = register_module("up_blocks", nn::ModuleList());
  int64_t in = top;
  for (size_t i = 0; i < c.up_channels.size(); ++i) {
    up_blocks->push_back(VaeUpBlock(in, c.up_channels[i], c.resnets_per_block, i + 1 < c.up_channels.size()));
    in = c.up_channels[i];
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(in));
  conv_out = register_module("conv_out", conv(in, 3, 3));
}

VaeDecoderImpl::VaeDecoderImpl(const VaeDecoderConfig& c) : config_(c) {
  post_quant_conv = register_module("post_quant_conv",
                                    nn::Conv2d(nn::Conv2dOptions(c.latent_channels, c.latent_channels, 1)));
  decoder = register_module("decoder", VaeDecoderStack(c));
}

at::Tensor VaeDecoderImpl::forward(const at::Tensor& latents) {
  at::NoGradGuard no_grad;
  auto& d = *decoder;
  at::Tensor x = d.conv_in(post_quant_conv(latents / config_.scaling_factor));  // [B, C0, h, w]
  x = d.mid_block(x);
  for (size_t i = 0; i < d.up_blocks->size(); ++i) x = d.up_blocks->at<VaeUpBlockImpl>(i).forward(x);
  return d.conv_out(at::silu(d.conv_norm_out(x)));  // [B, 3, 8h, 8w]
}

std::string vae_decoder_ldm_key(const std::string& key, int64_t up_blocks) {
  // The LDM <-> diffusers table of the decoder (checked in make_goldens.py against diffusers'
  // convert_ldm_vae_checkpoint).
  static const std::pair<const char*, const char*> kFixed[] = {
      {"decoder.mid_block.resnets.0.", "decoder.mid.block_1."},
      {"decoder.mid_block.resnets.1.", "decoder.mid.block_2."},
      {"decoder.mid_block.attentions.0.group_norm.", "decoder.mid.attn_1.norm."},
      {"decoder.mid_block.attentions.0.to_q.", "decoder.mid.attn_1.q."},
      {"decoder.mid_block.attentions.0.to_k.", "decoder.mid.attn_1.k."},
      {"decoder.mid_block.attentions.0.to_v.", "decoder.mid.attn_1.v."},
      {"decoder.mid_block.attentions.0.to_out.0.", "decoder.mid.attn_1.proj_out."},
      {"decoder.conv_norm_out.", "decoder.norm_out."},
  };
  std::string k = key;
  for (const auto& [d, l] : kFixed)
    if (k.compare(0, std::strlen(d), d) == 0) k = l + k.substr(std::strlen(d));
  static const std::regex up_re("^decoder\\.up_blocks\\.(\\d+)\\.(resnets\\.(\\d+)|upsamplers\\.0)\\.(.*)$");
  std::smatch m;
  if (std::regex_match(k, m, up_re)) {
    const int64_t ldm_block = up_blocks - 1 - std::stoll(m[1]);
    const std::string inner = m[3].matched ? "block." + m[3].str() : std::string("upsample");
    k = "decoder.up." + std::to_string(ldm_block) + "." + inner + "." + m[4].str();
  }
  const std::string sc = "conv_shortcut.";
  if (const size_t at = k.find(sc); at != std::string::npos)
    k = k.substr(0, at) + "nin_shortcut." + k.substr(at + sc.size());
  return "first_stage_model." + k;
}

VaeDecoder load_vae_decoder(const WeightFile& file) {
  // LDM keys come under "first_stage_model." in checkpoints and bare in standalone VAE files
  // (vae-ft-mse-840000-ema-pruned.safetensors: decoder.up.0.block.0...).
  std::string prefix;
  const bool bare_ldm = file.contains("decoder.up.0.block.0.conv1.weight");
  const bool ldm = bare_ldm || file.contains("first_stage_model.decoder.conv_in.weight");
  if (ldm) {
    prefix = bare_ldm ? "" : "first_stage_model.";
  } else if (!file.contains("decoder.conv_in.weight")) {
    if (file.contains("vae.decoder.conv_in.weight")) prefix = "vae.";
    else
      throw std::runtime_error(file.source() +
                               ": no VAE decoder found (expected decoder.conv_in.weight or "
                               "first_stage_model.decoder.conv_in.weight)");
  }
  VaeDecoderConfig c;
  c.latent_channels = file.shape(prefix + "decoder.conv_in.weight")[1];
  const std::regex up_re(ldm ? "^decoder\\.up\\.(\\d+)\\.block\\.(\\d+)\\."
                             : "^decoder\\.up_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.");
  std::map<int64_t, std::set<int64_t>> blocks;
  for (const std::string& name : file.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::smatch m;
    const std::string rest = name.substr(prefix.size());
    if (std::regex_search(rest, m, up_re)) blocks[std::stoll(m[1])].insert(std::stoll(m[2]));
  }
  if (blocks.empty()) throw std::runtime_error(file.source() + ": VAE decoder has no up_blocks");
  c.up_channels.clear();
  const int64_t n = int64_t(blocks.size());
  for (int64_t i = 0; i < n; ++i)  // LDM numbers the up blocks from the output side
    c.up_channels.push_back(
        file.shape(prefix + (ldm ? "decoder.up." + std::to_string(n - 1 - i) + ".block.0.conv1.weight"
                                 : "decoder.up_blocks." + std::to_string(i) + ".resnets.0.conv1.weight"))[0]);
  c.resnets_per_block = int64_t(blocks.begin()->second.size());
  VaeDecoder vae(c);
  at::NoGradGuard no_grad;
  for (auto& kv : vae->named_parameters()) {
    const std::string key = ldm ? prefix + vae_decoder_ldm_key(kv.key(), n).substr(std::strlen("first_stage_model."))
                                : prefix + kv.key();
    if (!file.contains(key)) throw std::runtime_error(file.source() + ": VAE decoder tensor missing: " + key);
    const at::Tensor t = file.get_float(key);
    if (t.numel() != kv.value().numel())
      throw std::runtime_error(file.source() + ": tensor " + key + " has shape " + c10::str(t.sizes()) +
                               ", the decoder expects " + c10::str(kv.value().sizes()));
    kv.value().copy_(t.view(kv.value().sizes()));  // also takes 1x1-conv attention weights
  }
  vae->eval();
  return vae;
}

}  // namespace camgraph::sd
