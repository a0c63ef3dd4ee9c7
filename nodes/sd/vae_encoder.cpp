// VAE encoder; see vae_encoder.h. Axis order [B, C, H, W].
#include "sd/vae_encoder.h"

#include <torch/torch.h>

#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include "sd/weight_file.h"

namespace camgraph::sd {

namespace nn = torch::nn;

namespace {
nn::GroupNorm group_norm(int64_t c) { return nn::GroupNorm(nn::GroupNormOptions(32, c).eps(1e-6)); }
nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t pad = -1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad < 0 ? k / 2 : pad));
}
}  // namespace

VaeDownsampleImpl::VaeDownsampleImpl(int64_t c) { conv = register_module("conv", sd::conv(c, c, 3, 2, 0)); }

at::Tensor VaeDownsampleImpl::forward(const at::Tensor& x) {
  return conv(at::constant_pad_nd(x, {0, 1, 0, 1}, 0));  // diffusers' Downsample2D(padding=0)
}

VaeDownBlockImpl::VaeDownBlockImpl(int64_t in, int64_t out, int64_t n, bool downsample) {
  resnets = register_module("resnets", nn::ModuleList());
  downsamplers = register_module("downsamplers", nn::ModuleList());
  for (int64_t i = 0; i < n; ++i) resnets->push_back(VaeResnet(i == 0 ? in : out, out));
  if (downsample) downsamplers->push_back(VaeDownsample(out));
}

at::Tensor VaeDownBlockImpl::forward(at::Tensor x) {
  for (size_t i = 0; i < resnets->size(); ++i) x = resnets->at<VaeResnetImpl>(i).forward(x);
  if (downsamplers->size()) x = downsamplers->at<VaeDownsampleImpl>(0).forward(x);
  return x;
}

VaeEncoderStackImpl::VaeEncoderStackImpl(const VaeEncoderConfig& c) {
  conv_in = register_module("conv_in", conv(3, c.down_channels.front(), 3));
  down_blocks = register_module("down_blocks", nn::ModuleList());
  int64_t in = c.down_channels.front();
  for (size_t i = 0; i < c.down_channels.size(); ++i) {
    down_blocks->push_back(VaeDownBlock(in, c.down_channels[i], c.resnets_per_block, i + 1 < c.down_channels.size()));
    in = c.down_channels[i];
  }
  mid_block = register_module("mid_block", VaeMidBlock(in));
  conv_norm_out = register_module("conv_norm_out", group_norm(in));
  conv_out = register_module("conv_out", conv(in, 2 * c.latent_channels, 3));
}

VaeEncoderImpl::VaeEncoderImpl(const VaeEncoderConfig& c) : config_(c) {
  encoder = register_module("encoder", VaeEncoderStack(c));
  quant_conv = register_module("quant_conv",
                               nn::Conv2d(nn::Conv2dOptions(2 * c.latent_channels, 2 * c.latent_channels, 1)));
}

VaeLatentDistribution VaeEncoderImpl::distribution(const at::Tensor& image) {
  if (image.dim() != 4 || image.size(1) != 3)
    throw std::invalid_argument("VAE encoder: expected RGB [B, 3, H, W], got " + c10::str(image.sizes()));
  at::NoGradGuard no_grad;
  auto& e = *encoder;
  at::Tensor x = e.conv_in(image);
  for (size_t i = 0; i < e.down_blocks->size(); ++i) x = e.down_blocks->at<VaeDownBlockImpl>(i).forward(x);
  x = e.mid_block(x);
  x = quant_conv(e.conv_out(at::silu(e.conv_norm_out(x))));  // [B, 8, H/8, W/8]
  const auto parts = x.chunk(2, 1);
  return {parts[0], at::exp(0.5 * parts[1].clamp(-30.0, 20.0))};
}

at::Tensor VaeEncoderImpl::forward(const at::Tensor& image) {
  return distribution(image).mean * config_.scaling_factor;
}

at::Tensor VaeEncoderImpl::sample(const at::Tensor& image, at::Generator generator) {
  const VaeLatentDistribution d = distribution(image);
  const at::Tensor noise = at::randn(d.mean.sizes(), generator, at::TensorOptions().dtype(at::kFloat));
  return (d.mean + d.std * noise.to(d.mean.options())) * config_.scaling_factor;
}

std::string vae_encoder_ldm_key(const std::string& key) {
  // The LDM <-> diffusers table of the encoder (checked in make_goldens.py against diffusers'
  // convert_ldm_vae_checkpoint; the test compares every key with
  // nodes/sd/tests/golden/vae/encoder_ldm_keys.json).
  static const std::pair<const char*, const char*> kFixed[] = {
      {"encoder.mid_block.resnets.0.", "encoder.mid.block_1."},
      {"encoder.mid_block.resnets.1.", "encoder.mid.block_2."},
      {"encoder.mid_block.attentions.0.group_norm.", "encoder.mid.attn_1.norm."},
      {"encoder.mid_block.attentions.0.to_q.", "encoder.mid.attn_1.q."},
      {"encoder.mid_block.attentions.0.to_k.", "encoder.mid.attn_1.k."},
      {"encoder.mid_block.attentions.0.to_v.", "encoder.mid.attn_1.v."},
      {"encoder.mid_block.attentions.0.to_out.0.", "encoder.mid.attn_1.proj_out."},
      {"encoder.conv_norm_out.", "encoder.norm_out."},
  };
  std::string k = key;
  for (const auto& [d, l] : kFixed)
    if (k.compare(0, std::strlen(d), d) == 0) k = l + k.substr(std::strlen(d));
  static const std::regex down_re("^encoder\\.down_blocks\\.(\\d+)\\.(resnets\\.(\\d+)|downsamplers\\.0)\\.(.*)$");
  std::smatch m;
  if (std::regex_match(k, m, down_re)) {
    const std::string inner = m[3].matched ? "block." + m[3].str() : std::string("downsample");
    k = "encoder.down." + m[1].str() + "." + inner + "." + m[4].str();
  }
  const std::string sc = "conv_shortcut.";
  if (const size_t at = k.find(sc); at != std::string::npos)
    k = k.substr(0, at) + "nin_shortcut." + k.substr(at + sc.size());
  return "first_stage_model." + k;
}

VaeEncoder load_vae_encoder(const WeightFile& file) {
  // LDM keys come under "first_stage_model." in checkpoints and bare in standalone VAE files
  // (vae-ft-mse-840000-ema-pruned.safetensors: encoder.down.0.block.0...).
  std::string prefix;
  const bool bare_ldm = file.contains("encoder.down.0.block.0.conv1.weight");
  const bool ldm = bare_ldm || file.contains("first_stage_model.encoder.conv_in.weight");
  if (ldm) {
    prefix = bare_ldm ? "" : "first_stage_model.";
  } else if (!file.contains("encoder.conv_in.weight")) {
    if (file.contains("vae.encoder.conv_in.weight")) prefix = "vae.";
    else
      throw std::runtime_error(file.source() +
                               ": no VAE encoder found (expected encoder.conv_in.weight or "
                               "first_stage_model.encoder.conv_in.weight; img2img needs the encoder half of the VAE)");
  }
  VaeEncoderConfig c;
  c.latent_channels = file.shape(prefix + "encoder.conv_out.weight")[0] / 2;
  const std::regex down_re(ldm ? "^encoder\\.down\\.(\\d+)\\.block\\.(\\d+)\\."
                               : "^encoder\\.down_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.");
  std::map<int64_t, std::set<int64_t>> blocks;
  for (const std::string& name : file.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::smatch m;
    const std::string rest = name.substr(prefix.size());
    if (std::regex_search(rest, m, down_re)) blocks[std::stoll(m[1])].insert(std::stoll(m[2]));
  }
  if (blocks.empty()) throw std::runtime_error(file.source() + ": VAE encoder has no down blocks");
  c.down_channels.clear();
  for (int64_t i = 0; i < int64_t(blocks.size()); ++i)
    c.down_channels.push_back(
        file.shape(prefix + (ldm ? "encoder.down." + std::to_string(i) + ".block.0.conv1.weight"
                                 : "encoder.down_blocks." + std::to_string(i) + ".resnets.0.conv1.weight"))[0]);
  c.resnets_per_block = int64_t(blocks.begin()->second.size());
  VaeEncoder vae(c);
  at::NoGradGuard no_grad;
  for (auto& kv : vae->named_parameters()) {
    const std::string key = ldm ? prefix + vae_encoder_ldm_key(kv.key()).substr(std::strlen("first_stage_model."))
                                : prefix + kv.key();
    if (!file.contains(key)) throw std::runtime_error(file.source() + ": VAE encoder tensor missing: " + key);
    const at::Tensor t = file.get_float(key);
    if (t.numel() != kv.value().numel())
      throw std::runtime_error(file.source() + ": tensor " + key + " has shape " + c10::str(t.sizes()) +
                               ", the encoder expects " + c10::str(kv.value().sizes()));
    kv.value().copy_(t.view(kv.value().sizes()));  // also takes 1x1-conv attention weights
  }
  vae->eval();
  return vae;
}

}  // namespace camgraph::sd
