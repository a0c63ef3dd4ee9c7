// SD 1.5's VAE decoder (AutoencoderKL): latents [B, 4, h, w] / 0.18215 -> post_quant_conv ->
// conv_in -> mid block (resnet, single-head self-attention, resnet) -> up blocks (resnets, nearest
// 2x upsample + conv except the last) -> GroupNorm(32, eps 1e-6) -> SiLU -> conv_out -> RGB in
// [-1, 1], [B, 3, 8h, 8w]. Modules are named as the diffusers keys (decoder.up_blocks.N.resnets.M
// .conv1 ...); channels, block and resnet counts come from tensor shapes (SD 1.5: 512 512 256 128,
// three resnets per up block). Loads diffusers vae/ weights and LDM single files
// (first_stage_model.decoder.up.N.block.M ..., through vae_decoder_ldm_key).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <string>
#include <vector>

namespace camgraph::sd {

class WeightFile;

struct VaeResnetImpl : torch::nn::Module {
  VaeResnetImpl(int64_t in, int64_t out);
  at::Tensor forward(const at::Tensor& x);  // [B, in, H, W] -> [B, out, H, W]
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};  // shortcut when in != out
};
TORCH_MODULE(VaeResnet);

struct VaeAttentionImpl : torch::nn::Module {
  explicit VaeAttentionImpl(int64_t channels);
  at::Tensor forward(const at::Tensor& x);  // [B, C, H, W], one head over H*W positions
  torch::nn::GroupNorm group_norm{nullptr};
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out;  // [0]: Linear
};
TORCH_MODULE(VaeAttention);

struct VaeMidBlockImpl : torch::nn::Module {
  explicit VaeMidBlockImpl(int64_t channels);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::ModuleList resnets, attentions;
};
TORCH_MODULE(VaeMidBlock);

struct VaeUpsampleImpl : torch::nn::Module {
  explicit VaeUpsampleImpl(int64_t channels);
  at::Tensor forward(const at::Tensor& x);  // nearest 2x, then 3x3 conv
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(VaeUpsample);

struct VaeUpBlockImpl : torch::nn::Module {
  VaeUpBlockImpl(int64_t in, int64_t out, int64_t resnet_count, bool upsample);
  at::Tensor forward(at::Tensor x);
  torch::nn::ModuleList resnets, upsamplers;
};
TORCH_MODULE(VaeUpBlock);

struct VaeDecoderConfig {
  int64_t latent_channels = 4;
  std::vector<int64_t> up_channels{512, 512, 256, 128};  // output channels of up_blocks.0..N-1
  int64_t resnets_per_block = 3;
  double scaling_factor = 0.18215;
};

struct VaeDecoderStackImpl : torch::nn::Module {
  explicit VaeDecoderStackImpl(const VaeDecoderConfig& c);
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  VaeMidBlock mid_block{nullptr};
  torch::nn::ModuleList up_blocks;
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeDecoderStack);

class VaeDecoderImpl : public torch::nn::Module {
 public:
  explicit VaeDecoderImpl(const VaeDecoderConfig& c);
  // Latents as the sampler returns them (scaled by scaling_factor) -> RGB [-1, 1].
  at::Tensor forward(const at::Tensor& latents);  // [B, 4, h, w] -> [B, 3, 8h, 8w]
  const VaeDecoderConfig& config() const { return config_; }
  torch::nn::Conv2d post_quant_conv{nullptr};
  VaeDecoderStack decoder{nullptr};

 private:
  VaeDecoderConfig config_;
};
TORCH_MODULE(VaeDecoder);

// The LDM single-file key of a decoder module key ("decoder.up_blocks.0.resnets.1.conv1.weight"
// -> "first_stage_model.decoder.up.<N-1>.block.1.conv1.weight"), N = number of up blocks.
std::string vae_decoder_ldm_key(const std::string& key, int64_t up_blocks);

// From a diffusers vae/diffusion_pytorch_model.safetensors (or the same keys under "vae."), or an
// LDM single file (first_stage_model.*): config from shapes, float32 weights. Throws naming the file and the missing/mis-shaped key.
VaeDecoder load_vae_decoder(const WeightFile& file);

}  // namespace camgraph::sd
