// LoRA merging; see lora.h.
#include "sd/lora.h"

#include <torch/torch.h>

#include <algorithm>
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

// One module as found in a file: role ("down", "up", "alpha", "hada_w1_a", "lokr_w2"...) -> tensor key.
using LoraModule = std::map<std::string, std::string>;

// Splits a file key into (module key, role); role "" when not a key of a kind merged here.
std::pair<std::string, std::string> split_key(const std::string& key) {
  static const std::pair<const char*, const char*> kRoles[] = {
      {".lora_down.weight", "down"},
      {".lora_up.weight", "up"},
      {".lora_A.weight", "down"},
      {".lora_B.weight", "up"},
      {".lora_A.default.weight", "down"},
      {".lora_B.default.weight", "up"},
      {".alpha", "alpha"},
      // LyCORIS LoHa (Hadamard product) and LoKr (Kronecker product); Tucker parts are recognised to be refused.
      {".hada_w1_a", "hada_w1_a"},
      {".hada_w1_b", "hada_w1_b"},
      {".hada_w2_a", "hada_w2_a"},
      {".hada_w2_b", "hada_w2_b"},
      {".hada_t1", "hada_t1"},
      {".hada_t2", "hada_t2"},
      {".lokr_w1", "lokr_w1"},
      {".lokr_w1_a", "lokr_w1_a"},
      {".lokr_w1_b", "lokr_w1_b"},
      {".lokr_w2", "lokr_w2"},
      {".lokr_w2_a", "lokr_w2_a"},
      {".lokr_w2_b", "lokr_w2_b"},
      {".lokr_t1", "lokr_t1"},
      {".lokr_t2", "lokr_t2"},
  };
  for (const auto& [suffix, role] : kRoles)
    if (ends_with(key, suffix)) return {key.substr(0, key.size() - std::string(suffix).size()), role};
  return {"", ""};
}

bool has(const LoraModule& m, const char* role) { return m.count(role) != 0; }

bool has_prefix(const LoraModule& m, const std::string& prefix) {
  for (const auto& [role, key] : m)
    if (role.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
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
      std::map<std::string, std::string>
          other_kinds;  // kohya-named module -> a tensor kind not merged here (IA3, OFT...)
      for (const auto& [key, info] : file.tensors()) {
        const auto [mod, role] = split_key(key);
        if (role.empty()) {
          const size_t dot = key.find('.');
          if (dot != std::string::npos && (key.compare(0, 10, "lora_unet_") == 0 || key.compare(0, 8, "lora_te_") == 0))
            other_kinds.emplace(key.substr(0, dot), key.substr(dot + 1));
          continue;
        }
        modules[mod][role] = key;
      }
      for (const auto& [mod, kind] : other_kinds) {  // counted and named, not merged
        const auto m = modules.find(mod);
        if (m != modules.end() && (m->second.size() > 1 || !has(m->second, "alpha"))) continue;
        ++rep.modules;
        rep.unmatched.push_back(mod + " (unsupported LoRA tensor kind: " + kind + ")");
      }
      for (const auto& [mod, m] : modules) {
        if (m.size() == 1 && has(m, "alpha")) continue;  // a stray ".alpha"
        ++rep.modules;
        const bool loha = has_prefix(m, "hada_"), lokr = has_prefix(m, "lokr_");
        if (!loha && !lokr && (!has(m, "down") || !has(m, "up"))) {
          rep.unmatched.push_back(mod + " (has only lora_" + std::string(has(m, "down") ? "down" : "up") + ")");
          continue;
        }
        std::vector<std::string> missing;
        if (loha) {
          for (const char* r : {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"})
            if (!has(m, r)) missing.push_back(r);
          if (has(m, "hada_t1") || has(m, "hada_t2")) {
            rep.unmatched.push_back(mod + " (unsupported LoHa Tucker form: hada_t1/hada_t2)");
            continue;
          }
        } else if (lokr) {
          if (has(m, "lokr_t1") || has(m, "lokr_t2")) {
            rep.unmatched.push_back(mod + " (unsupported LoKr Tucker form: lokr_t2)");
            continue;
          }
          for (const char* w : {"lokr_w1", "lokr_w2"}) {
            const std::string a = std::string(w) + "_a", b = std::string(w) + "_b";
            if (has(m, w)) continue;
            if (!has(m, a.c_str())) missing.push_back(std::string(w) + " or " + a);
            if (!has(m, b.c_str())) missing.push_back(std::string(w) + " or " + b);
          }
        }
        if (!missing.empty()) {
          std::string list;
          for (const auto& r : missing) list += (list.empty() ? "" : ", ") + r;
          rep.unmatched.push_back(mod + " (incomplete " + std::string(loha ? "LoHa" : "LoKr") + " module, lacks " +
                                  list + ")");
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
        const at::Tensor& w = target->weight;                                         // [out, in] or [out, in, kh, kw]
        const int64_t out = w.size(0), cols = w.numel() / std::max<int64_t>(out, 1);  // in * kh * kw
        auto get = [&](const char* role) { return file.get_float(m.at(role)); };
        auto shape_error = [&](const std::string& kind, const std::string& shapes) {
          return std::runtime_error(spec.path.string() + ": " + kind + " module " + mod + " has shape " + shapes +
                                    ", which does not fit the model weight " + c10::str(w.sizes()));
        };
        // a [n, r...] @ b [r, k...] as 2-D matrices; throws unless the inner dims agree.
        auto product = [&](const char* kind, const char* a_role, const char* b_role, int64_t* rank) {
          const at::Tensor a = get(a_role).flatten(1), b = get(b_role).flatten(1);
          if (a.size(1) != b.size(0))
            throw shape_error(
                kind, std::string(a_role) + " " + c10::str(a.sizes()) + " " + b_role + " " + c10::str(b.sizes()));
          if (rank) *rank = b.size(0);
          return at::matmul(a, b);
        };
        at::Tensor delta;  // [out, in * kh * kw]
        double scale = 1.0;
        if (loha) {
          int64_t rank = 0;
          const at::Tensor p1 = product("LoHa", "hada_w1_a", "hada_w1_b", &rank),
                           p2 = product("LoHa", "hada_w2_a", "hada_w2_b", nullptr);
          if (p1.size(0) != out || p1.size(1) != cols || !p1.sizes().equals(p2.sizes()))
            throw shape_error("LoHa", "w1_a@w1_b " + c10::str(p1.sizes()) + " w2_a@w2_b " + c10::str(p2.sizes()));
          delta = p1 * p2;
          if (has(m, "alpha")) scale = get("alpha").item<double>() / double(rank);
        } else if (lokr) {
          // LyCORIS: alpha / r applies only when a factor is decomposed (r = its inner dim, w2's winning);
          // full w1 and w2 merge at scale 1.
          int64_t rank = 0;
          const at::Tensor w1 = has(m, "lokr_w1") ? get("lokr_w1").flatten(1)
                                                  : product("LoKr", "lokr_w1_a", "lokr_w1_b", &rank);
          const at::Tensor w2 = has(m, "lokr_w2") ? get("lokr_w2").flatten(1)
                                                  : product("LoKr", "lokr_w2_a", "lokr_w2_b", &rank);
          // A conv's w2 is [o2, i2 * kh * kw] (or [o2, i2, kh, kw], flattened); kron(w1 [o1, i1], w2) then has the
          // layout of [o1 * o2, i1 * i2, kh, kw] flattened, as kron(w1[..., None, None], w2 4-D) would.
          if (w1.dim() != 2 || w1.size(0) * w2.size(0) != out || w1.size(1) * w2.size(1) != cols)
            throw shape_error("LoKr", "w1 " + c10::str(w1.sizes()) + " w2 " + c10::str(w2.sizes()));
          delta = at::kron(w1, w2);
          if (rank > 0 && has(m, "alpha")) scale = get("alpha").item<double>() / double(rank);
        } else {
          const at::Tensor down = get("down"), up = get("up");  // [r, in...], [out, r...]
          const int64_t rank = down.size(0);
          const double alpha = has(m, "alpha") ? get("alpha").item<double>() : double(rank);
          delta = at::matmul(up.flatten(1), down.flatten(1));
          if (up.size(0) != out || delta.numel() != w.numel())
            throw std::runtime_error(spec.path.string() + ": LoRA module " + mod + " has shape up " +
                                     c10::str(up.sizes()) + " down " + c10::str(down.sizes()) +
                                     ", which does not fit the model weight " + c10::str(w.sizes()));
          scale = alpha / double(rank);
        }
        if (!originals_.count(store_key)) originals_[store_key] = w.detach().clone();
        w.add_(delta.view(w.sizes()).to(w.device(), w.scalar_type()), strength * scale);  // CUDA/fp16 weights too
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
