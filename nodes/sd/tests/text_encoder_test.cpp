// CLIP text encoder against transformers' CLIPTextModel on a tiny random model
// (nodes/sd/tests/golden/make_goldens.py), loaded from both layouts and from F16/BF16 weights.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "camgraph/safetensors.h"
#include "sd/clip_text_encoder.h"
#include "sd/weight_file.h"
#include "test_support.h"
#include "sd_test_support.h"

using namespace camgraph;
using namespace camgraph::sd;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using camgraph::sd::testing::golden_dir;
using camgraph::sd::testing::rel_err;

namespace {

// Max |a - b| relative to max |b|.
int64_t config_heads(const fs::path& config_json) {
  std::ifstream f(config_json);
  return nlohmann::json::parse(f).at("num_attention_heads").get<int64_t>();
}

}  // namespace

TEST(ClipTextEncoder, MatchesTransformersFromBothLayouts) {
  SafetensorsReader golden(golden_dir() / "text_encoder_golden.safetensors");
  const at::Tensor ids = golden.get("ids");                                 // [2, 77]
  const at::Tensor last = golden.get("last"), skip2 = golden.get("skip2");  // [2, 77, 64]

  // Single-file LDM layout, F16 weights; head count as the tiny model's (not recorded in the file).
  WeightFile ldm(golden_dir() / "text_encoder/ldm.safetensors");
  LoadReport rep;
  ClipTextEncoder a = load_clip_text_encoder(ldm, 2, &rep);
  EXPECT_EQ(rep.prefix, "cond_stage_model.transformer.text_model.");
  EXPECT_EQ(rep.loaded, a->parameters().size());
  EXPECT_TRUE(rep.missing.empty());
  EXPECT_TRUE(rep.unused.empty()) << rep.unused.front();
  EXPECT_EQ(a->config().width, 64);
  EXPECT_EQ(a->config().layers, 3);
  EXPECT_EQ(a->config().mlp, 128);
  EXPECT_EQ(a->config().positions, 77);
  EXPECT_EQ(a->config().vocab, ids.max().item<int64_t>() + 1);  // EOS (the padding) is the last id
  EXPECT_LT(rel_err(a->forward(ids), last), 1e-5);
  EXPECT_LT(rel_err(a->forward(ids, 2), skip2), 1e-5);

  // diffusers folder, BF16 weights, heads from its config.json.
  const fs::path dir = golden_dir() / "text_encoder/diffusers";
  WeightFile diff(dir / "model.safetensors");
  ClipTextEncoder b = load_clip_text_encoder(diff, config_heads(dir / "config.json"), &rep);
  EXPECT_EQ(rep.prefix, "text_model.");
  EXPECT_LT(rel_err(b->forward(ids), last), 1e-5);
  EXPECT_LT(rel_err(b->forward(ids, 2), skip2), 1e-5);

  // The same LDM weights in a torch.save .ckpt ({"state_dict": ..., "global_step": ...}), read
  // through the restricted unpickler.
  WeightFile ckpt(golden_dir() / "text_encoder/ldm.ckpt");
  ClipTextEncoder c = load_clip_text_encoder(ckpt, 2, &rep);
  EXPECT_EQ(rep.prefix, "cond_stage_model.transformer.text_model.");
  EXPECT_LT(rel_err(c->forward(ids), last), 1e-5);

  // The head split matters: one 64-wide head (the default rule) is a different model here.
  ClipTextEncoder one_head = load_clip_text_encoder(ldm, 0);
  EXPECT_GT(rel_err(one_head->forward(ids), last), 1e-3);
}

TEST(ClipTextEncoder, PromptWeightsScaleTokensAndKeepTheMean) {
  WeightFile ldm(golden_dir() / "text_encoder/ldm.safetensors");
  ClipTextEncoder te = load_clip_text_encoder(ldm, 2);
  const ClipTokenizer tok = ClipTokenizer::from_files(golden_dir() / "tokenizer/vocab.json",
                                                      golden_dir() / "tokenizer/merges.txt");
  const TokenizedPrompt plain = tokenize_prompt(tok, "cat dog");
  const TokenizedPrompt weighted = tokenize_prompt(tok, "(cat:1.3) dog");
  ASSERT_EQ(plain.ids, weighted.ids);
  const at::Tensor z0 = encode_tokenized_prompt(te, plain);     // [1, 77, 64]
  const at::Tensor z1 = encode_tokenized_prompt(te, weighted);  // [1, 77, 64]
  ASSERT_EQ(z0.sizes(), (std::vector<int64_t>{1, 77, 64}));
  EXPECT_TRUE(at::allclose(
      z0, te->forward(at::tensor(std::vector<int64_t>(plain.ids[0].begin(), plain.ids[0].end())).unsqueeze(0))));
  EXPECT_NEAR(z1.mean().item<double>(), z0.mean().item<double>(), 1e-5);
  // Token 1 ("cat") is 1.3x token 1 of the plain prompt, up to the common rescale factor.
  const double s = (z1[0][2] / z0[0][2]).mean().item<double>();  // "dog": weight 1 -> the rescale
  EXPECT_TRUE(at::allclose(z1[0][1], z0[0][1] * 1.3 * s, 1e-4, 1e-5));
  EXPECT_TRUE(at::allclose(z1[0][5], z0[0][5] * s, 1e-4, 1e-5));
  // 80 tokens -> two windows concatenated.
  std::string long_prompt;
  for (int i = 0; i < 80; ++i) long_prompt += "cat ";
  EXPECT_EQ(encode_tokenized_prompt(te, tokenize_prompt(tok, long_prompt)).size(1), 154);
}

TEST(ClipTextEncoder, FilesWithoutATextEncoderAreRefused) {
  const fs::path dir = temp_dir("sd-te");
  safetensors_save_atomic(dir / "vae.safetensors",
                          {{"first_stage_model.decoder.conv_in.weight", at::zeros({4, 4, 3, 3})}});
  WeightFile r(dir / "vae.safetensors");
  const std::string e = error_of([&] { load_clip_text_encoder(r); });
  EXPECT_NE(e.find("vae.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("no CLIP text encoder"), std::string::npos) << e;
  // A text encoder with one layer's tensors removed.
  WeightFile ldm(golden_dir() / "text_encoder/ldm.safetensors");
  std::map<std::string, at::Tensor> t;
  for (const std::string& name : ldm.names())
    if (name.find("layers.1.mlp.fc2.weight") == std::string::npos) t[name] = ldm.get_float(name);
  safetensors_save_atomic(dir / "broken.safetensors", t);
  WeightFile broken(dir / "broken.safetensors");
  const std::string m = error_of([&] { load_clip_text_encoder(broken, 2); });
  EXPECT_NE(m.find("layers.1.mlp.fc2.weight"), std::string::npos) << m;
}
