// LoRA merge (kohya and PEFT keys) against PEFT's own LoRA layers merged into transformers'
// CLIPTextModel, and UNet LoRAs against diffusers' own LoRA loading on the tiny UNet
// (nodes/sd/tests/golden/make_goldens.py); exact unmerge; unmatched modules reported.
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
#include "sd_test_support.h"

using namespace camgraph;
using namespace camgraph::sd;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using camgraph::sd::testing::golden_dir;
using camgraph::sd::testing::rel_err;

namespace {

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
  const fs::path kohya = golden_dir() / "lora/unet_kohya.safetensors",
                 peft = golden_dir() / "lora/unet_peft.safetensors";
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
  // And an incomplete LyCORIS LoHa module (no hada_w2_*), which is not merged but must not vanish from the report.
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
  EXPECT_NE(all.find("lora_unet_middle_block_1_proj_out (incomplete LoHa module, lacks hada_w2_a, hada_w2_b)"),
            std::string::npos)
      << all;
  SafetensorsReader g(golden_dir() / "unet_golden.safetensors");
  EXPECT_LT(rel_err(unet->forward(g.get("x"), g.get("t"), g.get("ctx")), g.get("eps_kohya_0.8")), 1e-4);
}

// LyCORIS LoHa and LoKr: merged weights against the formulas computed here with einsum / at::kron
// on the file's tensors (not through LoraMerger's code path), strengths, exact unmerge, counts,
// Tucker forms reported, wrong shapes refused.
namespace {

at::Tensor randn(at::IntArrayRef shape) { return at::randn(shape, at::kFloat); }

// The module path of the first weight whose name contains `needle` (and, when kernel > 0, is a
// kernel x kernel conv).
std::string find_weight(torch::nn::Module& m, const std::string& needle, int64_t kernel = 0) {
  for (const auto& p : m.named_parameters()) {
    const std::string& k = p.key();
    if (k.find(needle) == std::string::npos || k.size() < 7 || k.compare(k.size() - 7, 7, ".weight") != 0) continue;
    if (kernel > 0 && (p.value().dim() != 4 || p.value().size(2) != kernel)) continue;
    return k.substr(0, k.size() - 7);
  }
  return "";
}

struct Expect {
  std::string param;  // parameter name in the module
  at::Tensor delta;   // strength * scale * formula, in the weight's shape
};

void expect_merged(torch::nn::Module& m, const std::map<std::string, at::Tensor>& before,
                   const std::vector<Expect>& ex) {
  const auto params = m.named_parameters();
  for (const auto& e : ex) {
    const at::Tensor want = before.at(e.param) + e.delta;
    const at::Tensor got = params[e.param];
    ASSERT_EQ(got.sizes(), want.sizes()) << e.param;
    EXPECT_GT(e.delta.abs().max().item<double>(), 1e-3) << e.param;  // the delta is not negligible
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-5 * (1 + want.abs().max().item<double>())) << e.param;
  }
}

}  // namespace

TEST(Lora, LycorisLohaAndLokrOnTextEncoderMatchTheFormulas) {
  WeightFile te_file(golden_dir() / "text_encoder/ldm.safetensors");
  ClipTextEncoder te = load_clip_text_encoder(te_file, 2);
  const auto before = snapshot(*te);
  at::manual_seed(7);
  const std::string q0 = "text_model.encoder.layers.0.self_attn.q_proj",
                    v0 = "text_model.encoder.layers.0.self_attn.v_proj",
                    o1 = "text_model.encoder.layers.1.self_attn.out_proj",
                    k1 = "text_model.encoder.layers.1.self_attn.k_proj", fc1 = "text_model.encoder.layers.1.mlp.fc1";
  const auto params = te->named_parameters();
  ASSERT_EQ(params[q0 + ".weight"].sizes(), at::IntArrayRef({64, 64}));
  ASSERT_EQ(params[fc1 + ".weight"].sizes(), at::IntArrayRef({128, 64}));
  auto kohya = [](const std::string& path) { return "lora_te_" + flat(path); };
  const double s = 0.7;  // text-encoder strength
  std::map<std::string, at::Tensor> t;
  std::vector<Expect> ex;
  {  // LoHa, rank 3, alpha 1.5
    const at::Tensor a1 = randn({64, 3}), b1 = randn({3, 64}), a2 = randn({64, 3}), b2 = randn({3, 64});
    t[kohya(q0) + ".hada_w1_a"] = a1, t[kohya(q0) + ".hada_w1_b"] = b1;
    t[kohya(q0) + ".hada_w2_a"] = a2, t[kohya(q0) + ".hada_w2_b"] = b2;
    t[kohya(q0) + ".alpha"] = at::full({}, 1.5);
    ex.push_back(
        {q0 + ".weight", s * (1.5 / 3) * at::einsum("or,ri->oi", {a1, b1}) * at::einsum("or,ri->oi", {a2, b2})});
  }
  {  // LoHa without alpha: scale 1
    const at::Tensor a1 = randn({64, 2}), b1 = randn({2, 64}), a2 = randn({64, 2}), b2 = randn({2, 64});
    t[kohya(o1) + ".hada_w1_a"] = a1, t[kohya(o1) + ".hada_w1_b"] = b1;
    t[kohya(o1) + ".hada_w2_a"] = a2, t[kohya(o1) + ".hada_w2_b"] = b2;
    ex.push_back({o1 + ".weight", s * at::einsum("or,ri->oi", {a1, b1}) * at::einsum("or,ri->oi", {a2, b2})});
  }
  {  // LoKr, full w1 and w2: alpha ignored, scale 1
    const at::Tensor w1 = randn({4, 8}), w2 = randn({16, 8});
    t[kohya(v0) + ".lokr_w1"] = w1, t[kohya(v0) + ".lokr_w2"] = w2, t[kohya(v0) + ".alpha"] = at::full({}, 7.0);
    ex.push_back({v0 + ".weight", s * at::kron(w1, w2)});
  }
  {  // LoKr, full w1, decomposed w2 (rank 2, alpha 1): scale 1/2; [128, 64] = [8, 4] (x) [16, 16]
    const at::Tensor w1 = randn({8, 4}), a = randn({16, 2}), b = randn({2, 16});
    t[kohya(fc1) + ".lokr_w1"] = w1, t[kohya(fc1) + ".lokr_w2_a"] = a, t[kohya(fc1) + ".lokr_w2_b"] = b;
    t[kohya(fc1) + ".alpha"] = at::full({}, 1.0);
    ex.push_back({fc1 + ".weight", s * 0.5 * at::kron(w1, at::einsum("or,ri->oi", {a, b}))});
  }
  {  // LoKr, decomposed w1 (rank 2, alpha 3): scale 3/2
    const at::Tensor a = randn({8, 2}), b = randn({2, 4}), w2 = randn({8, 16});
    t[kohya(k1) + ".lokr_w1_a"] = a, t[kohya(k1) + ".lokr_w1_b"] = b, t[kohya(k1) + ".lokr_w2"] = w2;
    t[kohya(k1) + ".alpha"] = at::full({}, 3.0);
    ex.push_back({k1 + ".weight", s * 1.5 * at::kron(at::einsum("or,ri->oi", {a, b}), w2)});
  }
  // A Tucker LoHa: reported by name, not merged.
  const std::string fc2 = kohya("text_model.encoder.layers.0.mlp.fc2");
  t[fc2 + ".hada_w1_a"] = randn({2, 2}), t[fc2 + ".hada_w1_b"] = randn({2, 128});
  t[fc2 + ".hada_w2_a"] = randn({2, 2}), t[fc2 + ".hada_w2_b"] = randn({2, 128});
  t[fc2 + ".hada_t1"] = randn({2, 2, 1, 1}), t[fc2 + ".hada_t2"] = randn({2, 2, 1, 1});
  const fs::path dir = temp_dir("sd-lycoris-te");
  safetensors_save_atomic(dir / "lycoris.safetensors", t);

  LoraMerger merger;
  merger.add_targets(LoraComponent::TextEncoder, *te);
  auto reports = merger.apply({{dir / "lycoris.safetensors", s, 1.0}});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].modules, 6u);
  EXPECT_EQ(reports[0].matched, 5u);
  ASSERT_EQ(reports[0].unmatched.size(), 1u);
  EXPECT_EQ(reports[0].unmatched[0], fc2 + " (unsupported LoHa Tucker form: hada_t1/hada_t2)");
  EXPECT_EQ(merger.touched(), 5u);
  expect_merged(*te, before, ex);
  for (const auto& p : te->named_parameters()) {  // nothing else moved
    bool listed = false;
    for (const auto& e : ex) listed |= e.param == p.key();
    if (!listed) {
      EXPECT_TRUE(at::equal(p.value(), before.at(p.key()))) << p.key();
    }
  }

  merger.unmerge();
  for (const auto& p : te->named_parameters()) EXPECT_TRUE(at::equal(p.value(), before.at(p.key()))) << p.key();

  // A wrong-shape factor: refused naming the file and module, the model restored.
  for (const char* r : {".hada_w1_a", ".hada_w1_b", ".hada_w2_a", ".hada_w2_b", ".hada_t1", ".hada_t2"})
    t.erase(fc2 + r);
  t[kohya(fc1) + ".lokr_w2_b"] = randn({2, 8});  // kron [8,4] (x) [16,8] = [128, 32], fc1 is [128, 64]
  safetensors_save_atomic(dir / "bad_lokr.safetensors", t);
  std::string e = error_of([&] { merger.apply({{dir / "bad_lokr.safetensors", s, 1.0}}); });
  EXPECT_NE(e.find("bad_lokr.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find(kohya(fc1)), std::string::npos) << e;
  for (const auto& p : te->named_parameters()) EXPECT_TRUE(at::equal(p.value(), before.at(p.key()))) << p.key();
  t[kohya(fc1) + ".lokr_w2_b"] = randn({2, 16});
  t[kohya(q0) + ".hada_w2_b"] = randn({3, 32});  // w2 product [64, 32] against w1's [64, 64]
  safetensors_save_atomic(dir / "bad_loha.safetensors", t);
  e = error_of([&] { merger.apply({{dir / "bad_loha.safetensors", s, 1.0}}); });
  EXPECT_NE(e.find("bad_loha.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find(kohya(q0)), std::string::npos) << e;
  for (const auto& p : te->named_parameters()) EXPECT_TRUE(at::equal(p.value(), before.at(p.key()))) << p.key();
}

TEST(Lora, LycorisLohaAndLokrOnUnetConvAndLinearMatchTheFormulas) {
  WeightFile w(camgraph::sd::testing::tiny_unet());
  UNet unet = load_unet(w);
  const auto before = snapshot(*unet);
  at::manual_seed(11);
  const std::string conv = find_weight(*unet, "resnets.0.conv1", 3), conv2 = find_weight(*unet, "resnets.0.conv2", 3),
                    q = find_weight(*unet, "attn1.to_q");
  ASSERT_FALSE(conv.empty());
  ASSERT_FALSE(conv2.empty());
  ASSERT_FALSE(q.empty());
  const auto params = unet->named_parameters();
  const at::Tensor cw = params[conv + ".weight"], cw2 = params[conv2 + ".weight"], qw = params[q + ".weight"];
  const int64_t co = cw.size(0), ci = cw.size(1), co2 = cw2.size(0), ci2 = cw2.size(1), qo = qw.size(0),
                qi = qw.size(1);
  ASSERT_TRUE(co2 % 2 == 0 && ci2 % 2 == 0 && qo % 2 == 0 && qi % 2 == 0) << cw2.sizes() << qw.sizes();
  auto kohya = [](const std::string& path) { return "lora_unet_" + flat(path); };
  const double s = 0.6;  // UNet strength
  std::map<std::string, at::Tensor> t;
  std::vector<Expect> ex;
  {  // LoHa on a 3x3 conv: w1_b / w2_b [r, in*3*3]; rank 2, alpha 1
    const at::Tensor a1 = randn({co, 2}), b1 = randn({2, ci * 9}), a2 = randn({co, 2}), b2 = randn({2, ci * 9});
    t[kohya(conv) + ".hada_w1_a"] = a1, t[kohya(conv) + ".hada_w1_b"] = b1;
    t[kohya(conv) + ".hada_w2_a"] = a2, t[kohya(conv) + ".hada_w2_b"] = b2;
    t[kohya(conv) + ".alpha"] = at::full({}, 1.0);
    const at::Tensor p1 = at::einsum("or,rikl->oikl", {a1, b1.view({2, ci, 3, 3})});
    const at::Tensor p2 = at::einsum("or,rikl->oikl", {a2, b2.view({2, ci, 3, 3})});
    ex.push_back({conv + ".weight", s * 0.5 * p1 * p2});
  }
  {  // LoKr on a 3x3 conv: w1 [2, 2] full, w2 = w2_a [co/2, r] @ w2_b [r, ci/2*3*3]; rank 3, alpha 2
    const at::Tensor w1 = randn({2, 2}), a = randn({co2 / 2, 3}), b = randn({3, ci2 / 2 * 9});
    t[kohya(conv2) + ".lokr_w1"] = w1, t[kohya(conv2) + ".lokr_w2_a"] = a, t[kohya(conv2) + ".lokr_w2_b"] = b;
    t[kohya(conv2) + ".alpha"] = at::full({}, 2.0);
    const at::Tensor w2 = at::einsum("or,rikl->oikl", {a, b.view({3, ci2 / 2, 3, 3})});  // [co/2, ci/2, 3, 3]
    ex.push_back({conv2 + ".weight", s * (2.0 / 3) * at::kron(w1.view({2, 2, 1, 1}), w2)});
  }
  {  // LoKr on a Linear, both factors decomposed (w2's rank 2 sets the scale: alpha 4 / 2)
    const at::Tensor a1 = randn({2, 1}), b1 = randn({1, 2}), a2 = randn({qo / 2, 2}), b2 = randn({2, qi / 2});
    t[kohya(q) + ".lokr_w1_a"] = a1, t[kohya(q) + ".lokr_w1_b"] = b1;
    t[kohya(q) + ".lokr_w2_a"] = a2, t[kohya(q) + ".lokr_w2_b"] = b2;
    t[kohya(q) + ".alpha"] = at::full({}, 4.0);
    ex.push_back(
        {q + ".weight", s * 2.0 * at::kron(at::einsum("or,ri->oi", {a1, b1}), at::einsum("or,ri->oi", {a2, b2}))});
  }
  // A Tucker LoKr (lokr_t2): reported by name, not merged.
  const std::string tucker = kohya(find_weight(*unet, "conv_in", 3));
  ASSERT_NE(tucker, "lora_unet_");
  t[tucker + ".lokr_w1"] = randn({2, 2}), t[tucker + ".lokr_t2"] = randn({2, 2, 3, 3});
  t[tucker + ".lokr_w2_a"] = randn({2, 2}), t[tucker + ".lokr_w2_b"] = randn({2, 2});
  const fs::path dir = temp_dir("sd-lycoris-unet");
  safetensors_save_atomic(dir / "lycoris.safetensors", t);

  LoraMerger merger;
  merger.add_targets(LoraComponent::Unet, *unet);
  const auto reports = merger.apply({{dir / "lycoris.safetensors", 1.0, s}});
  EXPECT_EQ(reports[0].modules, 4u);
  EXPECT_EQ(reports[0].matched, 3u);
  ASSERT_EQ(reports[0].unmatched.size(), 1u);
  EXPECT_EQ(reports[0].unmatched[0], tucker + " (unsupported LoKr Tucker form: lokr_t2)");
  expect_merged(*unet, before, ex);
  merger.unmerge();
  for (const auto& p : unet->named_parameters()) EXPECT_TRUE(at::equal(p.value(), before.at(p.key()))) << p.key();
}
