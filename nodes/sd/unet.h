// SD 1.5's UNet (diffusers UNet2DConditionModel, LDM "model.diffusion_model"): noise prediction
//   latents [B, 4, h, w], timesteps [B] (float, 0..999), context [B, L, 768] -> eps [B, 4, h, w]
// time: sinusoidal(320, cos first, freq shift 0) -> time_embedding.linear_1 -> SiLU -> linear_2 [B, 1280]
// conv_in [B, 320, h, w] -> down_blocks (CrossAttnDownBlock2D x3 + DownBlock2D: 2 resnets each,
// a Transformer2DModel after each resnet where cross_attention[i], a stride-2 conv except the last)
// -> mid_block (resnet, transformer, resnet) [B, 1280, h/8, w/8] -> up_blocks (UpBlock2D +
// CrossAttnUpBlock2D x3: 3 resnets each on [h, skip] concatenated along channels, transformers,
// nearest 2x + conv except the last) -> GroupNorm(32, 1e-5) -> SiLU -> conv_out.
// Modules are named as the diffusers keys (down_blocks.N.attentions.M.transformer_blocks.0.attn1.to_q
// ...). Channels, block count, resnets per block, attention levels, context width and the
// projection kind (1x1 conv in SD 1.x, Linear in SD 2.x) come from the tensor shapes.
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

struct UNetConfig {
  int64_t in_channels = 4, out_channels = 4;
  std::vector<int64_t> block_channels{320, 640, 1280, 1280};   // output channels of down_blocks.0..N-1
  int64_t layers_per_block = 2;                                // resnets per down block (up: +1)
  std::vector<bool> cross_attention{true, true, true, false};  // transformer after each resnet, per level
  int64_t heads = 8;          // attention heads of every transformer (SD 1.x), used when head_dim == 0
  int64_t head_dim = 0;       // > 0: heads = channels / head_dim per level (SD 2.x: 64)
  int64_t context_dim = 768;  // text embedding width (SD 2.x: 1024)
  int64_t norm_groups = 32;
  int64_t transformer_depth = 1;   // BasicTransformerBlocks per Transformer2DModel
  bool linear_projection = false;  // proj_in/proj_out as Linear (SD 2.x) instead of 1x1 conv
  int64_t time_embed_dim() const { return block_channels.front() * 4; }  // 1280
  int64_t heads_for(int64_t channels) const { return head_dim > 0 ? channels / head_dim : heads; }
};

// ResnetBlock2D: norm1 -> SiLU -> conv1, + time_emb_proj(SiLU(temb)), norm2 -> SiLU -> conv2, + shortcut.
struct UNetResnetImpl : torch::nn::Module {
  UNetResnetImpl(int64_t in, int64_t out, int64_t temb, int64_t groups);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb);  // [B, in, H, W], [B, T] -> [B, out, H, W]
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};  // shortcut (1x1) when in != out
  torch::nn::Linear time_emb_proj{nullptr};
};
TORCH_MODULE(UNetResnet);

// Multi-head attention (diffusers Attention): to_q/to_k/to_v without bias, to_out.0 with bias.
struct UNetAttentionImpl : torch::nn::Module {
  UNetAttentionImpl(int64_t channels, int64_t context, int64_t heads);
  // x [B, N, C], context [B, L, context] (self-attention when undefined) -> [B, N, C]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out;  // [0]: Linear
  int64_t heads;
};
TORCH_MODULE(UNetAttention);

// GEGLU feed-forward: net.0.proj [C -> 8C] split into (h, gate), h * gelu(gate), net.2 [4C -> C].
struct UNetFeedForwardImpl : torch::nn::Module {
  explicit UNetFeedForwardImpl(int64_t channels);
  at::Tensor forward(const at::Tensor& x);  // [B, N, C]
  torch::nn::ModuleList net;                // [0]: GEGLU (module "proj"), [1]: dropout (no weights), [2]: Linear
};
TORCH_MODULE(UNetFeedForward);

struct UNetGegluImpl : torch::nn::Module {
  explicit UNetGegluImpl(int64_t channels);
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(UNetGeglu);

// BasicTransformerBlock: x += attn1(norm1 x); x += attn2(norm2 x, context); x += ff(norm3 x).
struct UNetTransformerBlockImpl : torch::nn::Module {
  UNetTransformerBlockImpl(int64_t channels, int64_t context, int64_t heads);
  at::Tensor forward(at::Tensor x, const at::Tensor& context);  // [B, N, C]
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  UNetAttention attn1{nullptr}, attn2{nullptr};
  UNetFeedForward ff{nullptr};
};
TORCH_MODULE(UNetTransformerBlock);

// Transformer2DModel: GroupNorm(eps 1e-6) -> proj_in -> blocks over H*W tokens -> proj_out, + x.
struct UNetTransformerImpl : torch::nn::Module {
  UNetTransformerImpl(int64_t channels, const UNetConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);  // [B, C, H, W], [B, L, D]
  torch::nn::GroupNorm norm{nullptr};
  std::shared_ptr<torch::nn::Module> proj_in, proj_out;  // Conv2d 1x1 or Linear
  torch::nn::ModuleList transformer_blocks;
};
TORCH_MODULE(UNetTransformer);

// Down block: resnets (+ attentions), then downsamplers.0.conv (3x3, stride 2) except the last.
// Up block: resnets on cat([h, skip]) (+ attentions), then upsamplers.0.conv after nearest 2x.
struct UNetBlockImpl : torch::nn::Module {
  torch::nn::ModuleList resnets, attentions, samplers;  // samplers: registered "downsamplers"/"upsamplers"
};
TORCH_MODULE(UNetBlock);

struct UNetSamplerImpl : torch::nn::Module {
  UNetSamplerImpl(int64_t channels, bool down);
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(UNetSampler);

struct UNetTimeEmbeddingImpl : torch::nn::Module {
  UNetTimeEmbeddingImpl(int64_t in, int64_t out);
  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(UNetTimeEmbedding);

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const UNetConfig& c);
  // latents [B, 4, h, w], timesteps [B] (float, 0..999; a single value is broadcast), context
  // [B, L, 768] -> noise prediction [B, 4, h, w]. Runs on the device and dtype of the weights.
  at::Tensor forward(const at::Tensor& latents, const at::Tensor& timesteps, const at::Tensor& context);
  const UNetConfig& config() const { return config_; }

  UNetTimeEmbedding time_embedding{nullptr};
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks, up_blocks;
  UNetBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};

 private:
  UNetConfig config_;
};
TORCH_MODULE(UNet);

// Sinusoidal timestep features as diffusers' get_timestep_embedding(t, dim, flip_sin_to_cos=True,
// downscale_freq_shift=0): [cos(t f_k), sin(t f_k)], f_k = 10000^(-k / (dim/2)). [B] -> [B, dim]
at::Tensor unet_timestep_features(const at::Tensor& timesteps, int64_t dim);

// What the tensors do not record; 0 = not given. Heads: SD 1.x 8 per transformer; SD 2.x (Linear
// projections with context 1024) 64 channels per head. GroupNorm groups: 32 (fewer when a level is
// narrower). A diffusers folder's unet/config.json holds them (num_attention_heads or
// attention_head_dim, a list for SD 2.x, and norm_num_groups).
struct UNetHints {
  int64_t heads = 0, head_dim = 0, norm_groups = 0;
};
// Reads a diffusers UNet config.json; throws naming the file when it is not JSON.
UNetHints unet_hints_from_config(const std::string& config_json_path);

// From a diffusers unet/diffusion_pytorch_model.safetensors (or the same keys under "unet."), or an
// LDM single file (model.diffusion_model.*): config from shapes, float32 weights. Throws naming the
// file and the missing/mis-shaped key. The one-argument form takes the hints from a config.json
// next to the weight file when there is one (diffusers folders), else the SD defaults.
UNet load_unet(const WeightFile& file);
UNet load_unet(const WeightFile& file, const UNetHints& hints);

// A diffusers key of the UNet (parameter "down_blocks.0.resnets.1.conv1.weight" or module path
// "down_blocks.0.resnets.1.conv1") -> the LDM single-file key with its "model.diffusion_model."
// prefix ("model.diffusion_model.input_blocks.2.0.in_layers.2.weight"). Keys it does not know are
// returned unchanged under the prefix.
std::string unet_ldm_key(const std::string& diffusers_key, const UNetConfig& config);

}  // namespace camgraph::sd
