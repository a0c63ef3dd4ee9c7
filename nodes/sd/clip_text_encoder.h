// CLIP ViT-L/14 text encoder (SD 1.5's cond_stage_model): token + position embeddings, pre-LN
// transformer layers with causal self-attention and quick_gelu MLP, final LayerNorm.
// Child modules are named as the transformers checkpoint keys (text_model.encoder.layers.N.
// self_attn.q_proj ...), so loading is a name-for-name copy; the configuration is inferred from
// tensor shapes (SD 1.5: vocab 49408, width 768, 12 layers, MLP 3072, 77 positions).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <string>
#include <vector>

#include "sd/clip_tokenizer.h"

namespace camgraph::sd {

class WeightFile;

struct ClipTextConfig {
  int64_t vocab = 49408, width = 768, layers = 12, heads = 12, mlp = 3072, positions = 77;
  bool quick_gelu = true;  // SD 1.5 (OpenAI CLIP); "gelu" for other CLIPs
  double ln_eps = 1e-5;
};

struct ClipAttentionImpl : torch::nn::Module {
  explicit ClipAttentionImpl(const ClipTextConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& causal_mask);  // [B, L, D], [L, L] -> [B, L, D]
  int64_t heads;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};  // [D, D]
};
TORCH_MODULE(ClipAttention);

struct ClipMlpImpl : torch::nn::Module {
  explicit ClipMlpImpl(const ClipTextConfig& c);
  at::Tensor forward(const at::Tensor& x);  // [B, L, D] -> [B, L, D]
  bool quick_gelu;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};  // [mlp, D], [D, mlp]
};
TORCH_MODULE(ClipMlp);

struct ClipEncoderLayerImpl : torch::nn::Module {
  explicit ClipEncoderLayerImpl(const ClipTextConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& causal_mask);  // [B, L, D]
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  ClipAttention self_attn{nullptr};
  ClipMlp mlp{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

struct ClipEmbeddingsImpl : torch::nn::Module {
  explicit ClipEmbeddingsImpl(const ClipTextConfig& c);
  at::Tensor forward(const at::Tensor& ids);         // [B, L] int64 -> [B, L, D]
  torch::nn::Embedding token_embedding{nullptr};     // [vocab, D]
  torch::nn::Embedding position_embedding{nullptr};  // [positions, D]
};
TORCH_MODULE(ClipEmbeddings);

struct ClipEncoderImpl : torch::nn::Module {
  explicit ClipEncoderImpl(const ClipTextConfig& c);
  torch::nn::ModuleList layers;
};
TORCH_MODULE(ClipEncoder);

struct ClipTextTransformerImpl : torch::nn::Module {
  explicit ClipTextTransformerImpl(const ClipTextConfig& c);
  ClipEmbeddings embeddings{nullptr};
  ClipEncoder encoder{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(ClipTextTransformer);

class ClipTextEncoderImpl : public torch::nn::Module {
 public:
  explicit ClipTextEncoderImpl(const ClipTextConfig& c);
  // ids [B, L<=positions] int64 -> [B, L, D]. clip_skip 1: last layer; n: the output of layer
  // (layers - n + 1), as A1111/ComfyUI "clip skip" (final LayerNorm applied in both cases).
  at::Tensor forward(const at::Tensor& ids, int clip_skip = 1);
  const ClipTextConfig& config() const { return config_; }

  ClipTextTransformer text_model{nullptr};

 private:
  ClipTextConfig config_;
};
TORCH_MODULE(ClipTextEncoder);

// What a weight load found: tensors copied, the model's parameters the file lacked, and the
// file's tensors under the model's prefix that the model does not use.
struct LoadReport {
  std::string source, prefix;
  size_t loaded = 0;
  std::vector<std::string> missing, unused;
};

// Finds the text encoder in a diffusers text_encoder/model.safetensors or an LDM single file
// (cond_stage_model.transformer.text_model.*; .safetensors or .ckpt), infers the configuration from the shapes and loads
// it in float32 (F16/BF16 upcast). `heads` is not recorded in the tensors: pass the config.json
// value when there is one (diffusers folders), else 0 for SD 1.5's 64-wide heads (width / 64).
// Throws naming the file when tensors are missing or shaped wrongly.
ClipTextEncoder load_clip_text_encoder(const WeightFile& file, int64_t heads = 0, LoadReport* report = nullptr);

// A1111's prompt weighting on the encoder output: each window [1, 77, D] is encoded, its tokens
// scaled by their weights and the window rescaled to its unweighted mean; windows are
// concatenated along the sequence: [1, 77 * windows, D].
at::Tensor encode_tokenized_prompt(ClipTextEncoder& te, const TokenizedPrompt& prompt, int clip_skip = 1);

}  // namespace camgraph::sd
