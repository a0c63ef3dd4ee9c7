// LoRA merging; see lora.h.
#include "sd/lora.h"

#include <torch/torch.h>

#include <stdexcept>

#include "camgraph/safetensors.h"
#include "sd/unet.h"

namespace camgraph::sd {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string flatten(std::string path) {
  for (char& c : path)
    if (c == '.') c = '_';
  return path;
}

// One LoRA module as found in a file.
struct LoraModule {
  std::string down, up, alpha;  // tensor keys ("" when absent)
};

// Splits a file key into (module key, role) where role is down/up/alpha; "" when not a LoRA key.
std::pair<std::string, std::string> split_key(const std::string& key) {
  static const std::pair<const char*, const char*> kRoles[] = {
      {".lora_down.weight", "down"}, {".lora_up.weight", "up"},       {".lora_A.weight", "down"},
      {".lora_B.weight", "up"},      {".lora_A.default.weight", "down"}, {".lora_B.default.weight", "up"},
      {".alpha", "alpha"},
  };
  for (const auto& [suffix, role] : kRoles)
    if (ends_with(key, suffix)) return {key.substr(0, key.size() - std::string(suffix).size()), role};
  return {"", ""};
}

}  // namespace

void LoraMerger::add_targets(LoraComponent component, torch::nn::Module& module) {
  auto& targets = component == LoraComponent::TextEncoder ? te_ : unet_;
  auto& flat = component == LoraComponent::TextEncoder ? te_flat_ : unet_flat_;
  for (const auto& m : module.named_modules("", /*include_self=*/false)) {
    const bool linear = dynamic_cast<torch::nn::LinearImpl*>(m.value().get()) != nullptr;
    const bool conv = dynamic_cast<torch::nn::Conv2dImpl*>(m.value().get()) != nullptr;
    if (!linear && !conv) continue;
    const auto params = m.value()->named_parameters(/*recurse=*/false);
    if (!params.contains("weight")) continue;
    targets[m.key()] = Target{params["weight"]};
    flat[flatten(m.key())] = m.key();
  }
  // kohya LoRAs trained on LDM checkpoints name UNet modules by the LDM layout
  // (lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q, ..._input_blocks_1_0_in_layers_2).
  if (const auto* unet = dynamic_cast<const UNetImpl*>(&module); unet && component == LoraComponent::Unet) {
    static const std::string kPrefix = "model.diffusion_model.";
    for (const auto& [path, target] : targets) {
      const std::string ldm = unet_ldm_key(path, unet->config());
      if (ldm.compare(0, kPrefix.size(), kPrefix) == 0) flat.emplace(flatten(ldm.substr(kPrefix.size())), path);
    }
  }
}

void LoraMerger::unmerge() {
  at::NoGradGuard no_grad;
  for (const auto& [key, original] : originals_) {
    const bool te = key.compare(0, 3, "te:") == 0;
    const std::string path = key.substr(te ? 3 : 5);
    (te ? te_ : unet_).at(path).weight.copy_(original);
  }
  originals_.clear();
}

std::vector<LoraFileReport> LoraMerger::apply(const std::vector<LoraSpec>& loras) {
  unmerge();
  std::vector<LoraFileReport> reports;
  at::NoGradGuard no_grad;
  try {
    for (const LoraSpec& spec : loras) {
      SafetensorsReader file(spec.path);
      LoraFileReport rep;
      rep.path = spec.path.string();
      std::map<std::string, LoraModule> modules;
      std::map<std::string, std::string> other_kinds;  // kohya-named module -> a tensor kind not merged here (LoHa, LoKr...)
      for (const auto& [key, info] : file.tensors()) {
        const auto [mod, role] = split_key(key);
        if (role.empty()) {
          const size_t dot = key.find('.');
          if (dot != std::string::npos && (key.compare(0, 10, "lora_unet_") == 0 || key.compare(0, 8, "lora_te_") == 0))
            other_kinds.emplace(key.substr(0, dot), key.substr(dot + 1));
          continue;
        }
        auto& m = modules[mod];
        (role == "down" ? m.down : role == "up" ? m.up : m.alpha) = key;
      }
      for (const auto& [mod, kind] : other_kinds) {  // e.g. LyCORIS hada_w1_a / lokr_w1: counted and named, not merged
        const auto m = modules.find(mod);
        if (m != modules.end() && (!m->second.down.empty() || !m->second.up.empty())) continue;
        ++rep.modules;
        rep.unmatched.push_back(mod + " (unsupported LoRA tensor kind: " + kind + ")");
      }
      for (const auto& [mod, m] : modules) {
        if (m.down.empty() && m.up.empty()) continue;  // a stray ".alpha"
        ++rep.modules;
        if (m.down.empty() || m.up.empty()) {
          rep.unmatched.push_back(mod + " (has only lora_" + std::string(m.down.empty() ? "up" : "down") + ")");
          continue;
        }
        // Which model weight, and which strength.
        const Target* target = nullptr;
        std::string store_key;
        double strength = 0;
        auto find = [&](bool te, const std::string& path_or_flat, bool is_flat) {
          auto& targets = te ? te_ : unet_;
          auto& flat = te ? te_flat_ : unet_flat_;
          std::string path = path_or_flat;
          if (is_flat) {
            const auto f = flat.find(path_or_flat);
            if (f == flat.end()) return;
            path = f->second;
          }
          const auto t = targets.find(path);
          if (t == targets.end()) return;
          target = &t->second;
          store_key = (te ? "te:" : "unet:") + path;
          strength = te ? spec.te_strength : spec.unet_strength;
        };
        if (mod.compare(0, 8, "lora_te_") == 0) find(true, mod.substr(8), true);
        else if (mod.compare(0, 10, "lora_unet_") == 0) find(false, mod.substr(10), true);
        else if (mod.compare(0, 13, "text_encoder.") == 0) find(true, mod.substr(13), false);
        else if (mod.compare(0, 5, "unet.") == 0) find(false, mod.substr(5), false);
        if (!target) {
          rep.unmatched.push_back(mod + " (no such weight in the loaded model)");
          continue;
        }
        const at::Tensor down = file.get_float(m.down), up = file.get_float(m.up);  // [r, in...], [out, r...]
        const int64_t rank = down.size(0);
        const double alpha = m.alpha.empty() ? double(rank) : file.get_float(m.alpha).item<double>();
        const at::Tensor& w = target->weight;  // [out, in] or [out, in, kh, kw]
        at::Tensor delta = at::matmul(up.flatten(1), down.flatten(1));  // [out, in * kh * kw]
        if (up.size(0) != w.size(0) || delta.numel() != w.numel())
          throw std::runtime_error(spec.path.string() + ": LoRA module " + mod + " has shape up " +
                                   c10::str(up.sizes()) + " down " + c10::str(down.sizes()) +
                                   ", which does not fit the model weight " + c10::str(w.sizes()));
        if (!originals_.count(store_key)) originals_[store_key] = w.detach().clone();
        w.add_(delta.view(w.sizes()).to(w.device(), w.scalar_type()), strength * alpha / double(rank));  // CUDA/fp16 weights too
        ++rep.matched;
      }
      reports.push_back(std::move(rep));
    }
  } catch (...) {
    unmerge();
    throw;
  }
  return reports;
}

}  // namespace camgraph::sd
