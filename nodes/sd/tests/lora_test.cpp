// LoRA merge (kohya and PEFT keys) against PEFT's own LoRA layers merged into transformers'
// CLIPTextModel, and UNet LoRAs against diffusers' own LoRA loading on the tiny UNet
// (tests/golden/sd/make_goldens.py); exact unmerge; unmatched modules reported.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>

#include "camgraph/safetensors.h"
#include "sd/clip_text_encoder.h"
#include "sd/lora.h"
#include "sd/unet.h"
#include "sd/weight_file.h"
#include "test_support.h"
#include "tiny_unet.h"

using namespace camgraph;
using namespace camgraph::sd;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

fs::path golden_dir() { return fs::path(CAMGRAPH_SOURCE_DIR) / "tests/golden/sd"; }

double rel_err(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

std::map<std::string, at::Tensor> snapshot(torch::nn::Module& m) {
  std::map<std::string, at::Tensor> s;
  for (const auto& p : m.named_parameters()) s[p.key()] = p.value().detach().clone();
  return s;
}

}  // namespace

TEST(Lora, KohyaAndPeftKeysMatchPeftMergeAndUnmergeExactly) {
  WeightFile te_file(golden_dir() / "text_encoder/ldm.safetensors");
  ClipTextEncoder te = load_clip_text_encoder(te_file, 2);
  SafetensorsReader g(golden_dir() / "lora_golden.safetensors");
  const at::Tensor ids = g.get("ids");
  const auto before = snapshot(*te);
  const at::Tensor base = te->forward(ids);

  LoraMerger merger;
  merger.add_targets(LoraComponent::TextEncoder, *te);
  const fs::path kohya = golden_dir() / "lora/te_kohya.safetensors", peft = golden_dir() / "lora/te_peft.safetensors";

  auto reports = merger.apply({{kohya, 0.8, 1.0}});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].modules, 9u);  // q, v, fc1 in 3 layers
  EXPECT_EQ(reports[0].matched, 9u);
  EXPECT_TRUE(reports[0].unmatched.empty());
  EXPECT_LT(rel_err(te->forward(ids), g.get("kohya_0.8")), 1e-5);

  reports = merger.apply({{peft, 1.0, 1.0}});  // replaces the set: kohya unmerged first
  EXPECT_EQ(reports[0].matched, 9u);
  EXPECT_LT(rel_err(te->forward(ids), g.get("peft_1.0")), 1e-5);

  reports = merger.apply({{kohya, 0.8, 0.0}, {peft, 0.5, 0.0}});
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_LT(rel_err(te->forward(ids), g.get("kohya_0.8+peft_0.5")), 1e-5);
  EXPECT_EQ(merger.touched(), 9u);

  merger.unmerge();
  for (const auto& p : te->named_parameters()) EXPECT_TRUE(at::equal(p.value(), before.at(p.key()))) << p.key();
  EXPECT_TRUE(at::equal(te->forward(ids), base));
}

TEST(Lora, UnmatchedModulesAreNamedAndBadShapesRestoreTheModel) {
  WeightFile te_file(golden_dir() / "text_encoder/ldm.safetensors");
  ClipTextEncoder te = load_clip_text_encoder(te_file, 2);
  const auto before = snapshot(*te);
  LoraMerger merger;
  merger.add_targets(LoraComponent::TextEncoder, *te);
  const fs::path dir = temp_dir("sd-lora");
  SafetensorsReader kohya(golden_dir() / "lora/te_kohya.safetensors");
  std::map<std::string, at::Tensor> t;
  for (const auto& [name, info] : kohya.tensors()) t[name] = kohya.get(name);
  // A layer the model lacks, a UNet module (no UNet registered), and a half module.
  t["lora_te_text_model_encoder_layers_7_self_attn_q_proj.lora_down.weight"] = at::zeros({4, 64});
  t["lora_te_text_model_encoder_layers_7_self_attn_q_proj.lora_up.weight"] = at::zeros({64, 4});
  t["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"] = at::zeros({4, 32});
  t["lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight"] = at::zeros({32, 4});
  t["lora_te_text_model_encoder_layers_0_mlp_fc2.lora_down.weight"] = at::zeros({4, 128});
  safetensors_save_atomic(dir / "mixed.safetensors", t);
  const auto reports = merger.apply({{dir / "mixed.safetensors", 1.0, 1.0}});
  EXPECT_EQ(reports[0].modules, 12u);
  EXPECT_EQ(reports[0].matched, 9u);
  ASSERT_EQ(reports[0].unmatched.size(), 3u);
  std::string all;
  for (const auto& u : reports[0].unmatched) all += u + "\n";
  EXPECT_NE(all.find("lora_te_text_model_encoder_layers_7_self_attn_q_proj (no such weight"), std::string::npos) << all;
  EXPECT_NE(all.find("lora_unet_down_blocks_0_attentions_0_proj_in"), std::string::npos) << all;
  EXPECT_NE(all.find("lora_te_text_model_encoder_layers_0_mlp_fc2 (has only lora_down)"), std::string::npos) << all;

  // A module of the wrong shape: error names the file and module, nothing stays merged.
  t.clear();
  for (const auto& [name, info] : kohya.tensors()) t[name] = kohya.get(name);
  t["lora_te_text_model_encoder_layers_2_mlp_fc1.lora_up.weight"] = at::zeros({64, 4});  // fc1 is [128, 64]
  safetensors_save_atomic(dir / "bad.safetensors", t);
  const std::string e = error_of([&] { merger.apply({{dir / "bad.safetensors", 1.0, 1.0}}); });
  EXPECT_NE(e.find("bad.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("lora_te_text_model_encoder_layers_2_mlp_fc1"), std::string::npos) << e;
  for (const auto& p : te->named_parameters()) EXPECT_TRUE(at::equal(p.value(), before.at(p.key()))) << p.key();
  const std::string missing = error_of([&] { merger.apply({{dir / "absent.safetensors", 1.0, 1.0}}); });
  EXPECT_NE(missing.find("absent.safetensors"), std::string::npos) << missing;
}

namespace {

std::string flat(std::string s) {
  for (char& c : s)
    if (c == '.') c = '_';
  return s;
}

}  // namespace

TEST(Lora, UnetKohyaAndPeftMatchDiffusersLoraLoading) {
  WeightFile w(camgraph::sd::testing::tiny_unet());
  UNet unet = load_unet(w);
  SafetensorsReader g(golden_dir() / "unet_golden.safetensors");
  const at::Tensor x = g.get("x"), t = g.get("t"), ctx = g.get("ctx");
  const auto before = snapshot(*unet);
  const at::Tensor base = unet->forward(x, t, ctx);
  EXPECT_LT(rel_err(base, g.get("eps")), 1e-4);

  LoraMerger merger;
  merger.add_targets(LoraComponent::Unet, *unet);
  const fs::path kohya = golden_dir() / "lora/unet_kohya.safetensors", peft = golden_dir() / "lora/unet_peft.safetensors";
  // kohya: attention q/k/v/out, attn2 to_k, 1x1-conv proj_in/proj_out, GEGLU ff, LoCon 3x3 conv1/conv2,
  // conv_shortcut, time_emb_proj; rank 4, alpha 2, F16.
  auto reports = merger.apply({{kohya, 1.0, 0.8}});
  EXPECT_EQ(reports[0].modules, 13u);
  EXPECT_EQ(reports[0].matched, 13u);
  EXPECT_TRUE(reports[0].unmatched.empty()) << reports[0].unmatched.front();
  EXPECT_LT(rel_err(unet->forward(x, t, ctx), g.get("eps_kohya_0.8")), 1e-4);

  reports = merger.apply({{peft, 1.0, 1.0}});  // PEFT unet.<path>.lora_A/B, no alpha
  EXPECT_EQ(reports[0].modules, 6u);
  EXPECT_EQ(reports[0].matched, 6u);
  EXPECT_LT(rel_err(unet->forward(x, t, ctx), g.get("eps_peft_1.0")), 1e-4);

  reports = merger.apply({{kohya, 0.0, 0.8}, {peft, 0.0, 0.5}});
  EXPECT_EQ(reports[0].matched + reports[1].matched, 19u);
  EXPECT_LT(rel_err(unet->forward(x, t, ctx), g.get("eps_kohya_0.8+peft_0.5")), 1e-4);
  EXPECT_EQ(merger.touched(), 19u);

  merger.unmerge();
  for (const auto& p : unet->named_parameters()) EXPECT_TRUE(at::equal(p.value(), before.at(p.key()))) << p.key();
  EXPECT_TRUE(at::equal(unet->forward(x, t, ctx), base));
}

TEST(Lora, UnetKohyaNamesOfTheLdmLayoutMatchToo) {
  // The golden kohya LoRA renamed to LDM module names (lora_unet_input_blocks_1_1_transformer_
  // blocks_0_attn1_to_q, ..._output_blocks_3_0_skip_connection) with the generator's table.
  WeightFile w(camgraph::sd::testing::tiny_unet());
  UNet unet = load_unet(w);
  const auto table = camgraph::sd::testing::tiny_unet_ldm_table();
  std::map<std::string, std::string> by_flat;  // flat diffusers module -> flat LDM module
  for (const auto& [d, l] : table) {
    const std::string dm = d.substr(0, d.rfind('.')), lm = l.substr(0, l.rfind('.'));
    by_flat[flat(dm)] = flat(lm.substr(std::string("model.diffusion_model.").size()));
  }
  SafetensorsReader kohya(golden_dir() / "lora/unet_kohya.safetensors");
  std::map<std::string, at::Tensor> renamed;
  size_t changed = 0;
  for (const auto& [name, info] : kohya.tensors()) {
    const size_t dot = name.find('.');
    const std::string mod = name.substr(std::string("lora_unet_").size(), dot - std::string("lora_unet_").size());
    ASSERT_TRUE(by_flat.count(mod)) << mod;
    changed += by_flat.at(mod) != mod;
    renamed["lora_unet_" + by_flat.at(mod) + name.substr(dot)] = kohya.get(name);
  }
  EXPECT_EQ(changed, 39u);  // every module has a different LDM name
  // Plus one module no UNet has: reported by name.
  renamed["lora_unet_input_blocks_99_1_proj_in.lora_down.weight"] = at::zeros({4, 4, 1, 1});
  renamed["lora_unet_input_blocks_99_1_proj_in.lora_up.weight"] = at::zeros({4, 4, 1, 1});
  // And a LyCORIS LoHa module, which is not merged but must not vanish from the report.
  renamed["lora_unet_middle_block_1_proj_out.hada_w1_a"] = at::zeros({4, 2});
  renamed["lora_unet_middle_block_1_proj_out.hada_w1_b"] = at::zeros({2, 4});
  renamed["lora_unet_middle_block_1_proj_out.alpha"] = at::full({}, 2.0);
  const fs::path dir = temp_dir("sd-lora-ldm");
  safetensors_save_atomic(dir / "ldm_names.safetensors", renamed);

  LoraMerger merger;
  merger.add_targets(LoraComponent::Unet, *unet);
  const auto reports = merger.apply({{dir / "ldm_names.safetensors", 1.0, 0.8}});
  EXPECT_EQ(reports[0].modules, 15u);
  EXPECT_EQ(reports[0].matched, 13u);
  ASSERT_EQ(reports[0].unmatched.size(), 2u);
  std::string all;
  for (const auto& u : reports[0].unmatched) all += u + "\n";
  EXPECT_NE(all.find("lora_unet_input_blocks_99_1_proj_in (no such weight"), std::string::npos) << all;
  EXPECT_NE(all.find("lora_unet_middle_block_1_proj_out (unsupported LoRA tensor kind: hada_w1_a)"), std::string::npos) << all;
  SafetensorsReader g(golden_dir() / "unet_golden.safetensors");
  EXPECT_LT(rel_err(unet->forward(g.get("x"), g.get("t"), g.get("ctx")), g.get("eps_kohya_0.8")), 1e-4);
}
