// SD 1.5's VAE encoder (AutoencoderKL.encode), for img2img: RGB [-1, 1] [B, 3, H, W] -> conv_in ->
// down blocks (resnets, then a stride-2 3x3 conv on the input padded right/bottom by one, except
// the last) -> mid block (resnet, single-head self-attention, resnet) -> GroupNorm(32, eps 1e-6)
// -> SiLU -> conv_out [B, 2*4, H/8, W/8] -> quant_conv -> (mean, logvar) of a diagonal Gaussian;
// latent = mean (or mean + std * unit noise) * 0.18215. Modules are named as the diffusers keys
// (encoder.down_blocks.N.resnets.M.conv1 ...); channels, block and resnet counts come from the
// tensor shapes (SD 1.5: 128 256 512 512, two resnets per down block). Loads diffusers vae/
// weights and LDM single files (first_stage_model.encoder.down.N.block.M ..., through
// vae_encoder_ldm_key). Shares the resnet/attention/mid-block modules with the decoder.
#pragma once
#include <ATen/core/Generator.h>

#include "sd/vae_decoder.h"

namespace camgraph::sd {

struct VaeDownsampleImpl : torch::nn::Module {
  explicit VaeDownsampleImpl(int64_t channels);
  at::Tensor forward(const at::Tensor& x);  // pad (0, 1, 0, 1), 3x3 conv stride 2: [B, C, H, W] -> [B, C, H/2, W/2]
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(VaeDownsample);

struct VaeDownBlockImpl : torch::nn::Module {
  VaeDownBlockImpl(int64_t in, int64_t out, int64_t resnet_count, bool downsample);
  at::Tensor forward(at::Tensor x);
  torch::nn::ModuleList resnets, downsamplers;
};
TORCH_MODULE(VaeDownBlock);

struct VaeEncoderConfig {
  int64_t latent_channels = 4;
  std::vector<int64_t> down_channels{128, 256, 512, 512};  // output channels of down_blocks.0..N-1
  int64_t resnets_per_block = 2;
  double scaling_factor = 0.18215;
};

struct VaeEncoderStackImpl : torch::nn::Module {
  explicit VaeEncoderStackImpl(const VaeEncoderConfig& c);
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks;
  VaeMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeEncoderStack);

// The encoder's diagonal Gaussian, unscaled (before scaling_factor): [B, 4, H/8, W/8] each.
struct VaeLatentDistribution {
  at::Tensor mean, std;
};

class VaeEncoderImpl : public torch::nn::Module {
 public:
  explicit VaeEncoderImpl(const VaeEncoderConfig& c);
  // RGB in [-1, 1], [B, 3, H, W] (H, W multiples of 8) -> mean and std (logvar clamped to [-30, 20]).
  VaeLatentDistribution distribution(const at::Tensor& image);
  // Latents as the sampler takes them: mean * scaling_factor, [B, 4, H/8, W/8].
  at::Tensor forward(const at::Tensor& image);
  // A draw (mean + std * noise) * scaling_factor, the noise from `generator` (CPU, drawn in float32
  // so a seed gives the same latents on every device).
  at::Tensor sample(const at::Tensor& image, at::Generator generator);
  const VaeEncoderConfig& config() const { return config_; }
  torch::nn::Conv2d quant_conv{nullptr};
  VaeEncoderStack encoder{nullptr};

 private:
  VaeEncoderConfig config_;
};
TORCH_MODULE(VaeEncoder);

// The LDM single-file key of an encoder module key ("encoder.down_blocks.1.resnets.0.conv1.weight"
// -> "first_stage_model.encoder.down.1.block.0.conv1.weight"; down blocks keep their order).
std::string vae_encoder_ldm_key(const std::string& key);

// From a diffusers vae/diffusion_pytorch_model.safetensors (or keys under "vae."), or an LDM single
// file (first_stage_model.*): config from shapes, float32 weights. Throws naming the file and the
// missing/mis-shaped key.
VaeEncoder load_vae_encoder(const WeightFile& file);

}  // namespace camgraph::sd
