// LoRA merging with exact unmerge. Files in kohya/A1111 keys
//   lora_te_<module path with '_'>.lora_down.weight [r, in(, kh, kw)], .lora_up.weight [out, r(, 1, 1)], .alpha []
//   lora_unet_<module path with '_'>...
// or diffusers/PEFT keys
//   text_encoder.<module path>.lora_A.weight [r, in], .lora_B.weight [out, r]   (also "lora_A.default.weight")
//   unet.<module path>...
// are merged as W += strength * (alpha / r) * up @ down (alpha absent: alpha = r). LyCORIS modules
// under the same names merge too:
//   LoHa .hada_w1_a [out, r] .hada_w1_b [r, in(*kh*kw)] .hada_w2_a .hada_w2_b (.alpha):
//     W += strength * (alpha / r) * (w1_a @ w1_b) * (w2_a @ w2_b), r = w1_b rows (alpha absent: scale 1)
//   LoKr .lokr_w1 or .lokr_w1_a @ .lokr_w1_b, .lokr_w2 or .lokr_w2_a @ .lokr_w2_b (.alpha):
//     W += strength * scale * kron(w1, w2) reshaped; scale = alpha / r when a factor is decomposed
//     (r = its inner dim, w2's if both), else 1
// Tucker forms (hada_t1/hada_t2, lokr_t2) are reported unsupported. Several LoRAs
// at once, each with its own text-encoder and UNet strength. The original weights of every touched
// tensor are kept, so unmerge (and re-merging a changed set) restores them bit for bit instead of
// subtracting. Every LoRA module that matches no model weight is reported by name, and so is every
// kohya-named module whose tensors are of another kind (IA3, OFT, Tucker...) or incomplete.
#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace camgraph::sd {

enum class LoraComponent { TextEncoder, Unet };

struct LoraSpec {
  std::filesystem::path path;
  double te_strength = 1.0, unet_strength = 1.0;
};

struct LoraFileReport {
  std::string path;
  size_t modules = 0;                  // LoRA modules (down/up pairs, LoHa, LoKr...) in the file
  size_t matched = 0;                  // merged into a model weight
  std::vector<std::string> unmatched;  // module keys as written in the file, with the reason
};

class LoraMerger {
 public:
  // Registers every 2-D/4-D ".weight" parameter of `module` whose owner is a Linear or Conv2d,
  // under `component`; module paths are the module's own parameter names without ".weight"
  // (e.g. "text_model.encoder.layers.0.self_attn.q_proj"). For a UNet (component Unet) the kohya
  // names of the LDM layout ("input_blocks_1_1_transformer_blocks_0_attn1_to_q") match as well.
  void add_targets(LoraComponent component, torch::nn::Module& module);

  // Restores the originals, then merges every LoRA in `loras` (in order). Throws naming the file
  // for unreadable files or shape mismatches (the model is restored first).
  std::vector<LoraFileReport> apply(const std::vector<LoraSpec>& loras);
  // Restores every touched weight exactly.
  void unmerge();
  size_t touched() const { return originals_.size(); }

 private:
  struct Target {
    at::Tensor weight;  // the live parameter
  };
  std::map<std::string, Target> te_, unet_;                 // module path -> target
  std::map<std::string, std::string> te_flat_, unet_flat_;  // kohya flat name -> module path
  std::map<std::string, at::Tensor> originals_;             // "te:" / "unet:" + path -> original weight
};

}  // namespace camgraph::sd
