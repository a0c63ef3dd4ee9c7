// SD 1.5 text encoder and LoRA merge speed on CPU with random weights of the real shapes
// (CLIP ViT-L/14: vocab 49408, width 768, 12 layers, 12 heads, MLP 3072; 123 M parameters).
// Prints seconds per encode (cond + uncond, [2, 77] tokens), per 2-window prompt, per LoRA apply
// (rank 16 kohya LoRA on q/k/v/out/fc1/fc2 of all 12 layers) and per unmerge, and peak RSS.
//   bench_sd_text_encoder [repeats=5]
#include <sys/resource.h>

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "camgraph/safetensors.h"
#include "sd/clip_text_encoder.h"
#include "sd/lora.h"

using namespace camgraph;
using namespace camgraph::sd;
namespace fs = std::filesystem;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}
}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  torch::manual_seed(0);
  ClipTextEncoder te{ClipTextConfig{}};
  te->eval();
  size_t params = 0;
  for (const auto& p : te->parameters()) params += size_t(p.numel());
  std::printf("SD 1.5 text encoder: %.1f M parameters, %d torch threads\n", double(params) / 1e6,
              at::get_num_threads());
  const at::Tensor ids = at::randint(0, 49408, {2, 77}, at::kLong);
  te->forward(ids);  // warm-up
  double t0 = now();
  for (int i = 0; i < repeats; ++i) te->forward(ids);
  std::printf("encode [2, 77] (cond + uncond): %.3f s\n", (now() - t0) / repeats);
  t0 = now();
  for (int i = 0; i < repeats; ++i) te->forward(ids, 2);
  std::printf("encode [2, 77], clip skip 2:    %.3f s\n", (now() - t0) / repeats);

  // A rank-16 kohya LoRA on every attention and MLP projection (72 modules).
  const fs::path dir = fs::temp_directory_path() / "camgraph-bench-sd-lora";
  fs::create_directories(dir);
  std::map<std::string, at::Tensor> lora;
  for (int l = 0; l < 12; ++l)
    for (const auto& [m, io] :
         std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>>{{"self_attn_q_proj", {768, 768}},
                                                                          {"self_attn_k_proj", {768, 768}},
                                                                          {"self_attn_v_proj", {768, 768}},
                                                                          {"self_attn_out_proj", {768, 768}},
                                                                          {"mlp_fc1", {3072, 768}},
                                                                          {"mlp_fc2", {768, 3072}}}) {
      const std::string k = "lora_te_text_model_encoder_layers_" + std::to_string(l) + "_" + m;
      lora[k + ".lora_down.weight"] = at::randn({16, io.second}).to(at::kHalf);
      lora[k + ".lora_up.weight"] = at::randn({io.first, 16}).to(at::kHalf);
      lora[k + ".alpha"] = at::tensor(8.0f);
    }
  safetensors_save_atomic(dir / "lora.safetensors", lora);
  LoraMerger merger;
  merger.add_targets(LoraComponent::TextEncoder, *te);
  double apply = 0, unmerge = 0;
  size_t matched = 0;
  for (int i = 0; i < repeats; ++i) {
    t0 = now();
    matched = merger.apply({{dir / "lora.safetensors", 0.8, 1.0}})[0].matched;
    apply += now() - t0;
    t0 = now();
    merger.unmerge();
    unmerge += now() - t0;
  }
  std::printf("LoRA apply (72 modules, rank 16, %zu matched): %.3f s, unmerge: %.3f s\n", matched, apply / repeats,
              unmerge / repeats);
  fs::remove_all(dir);
  std::printf("peak RSS: %.0f MB\n", peak_rss_mb());
  return 0;
}
