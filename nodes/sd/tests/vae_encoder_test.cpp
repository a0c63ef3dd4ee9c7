// VAE encoder against diffusers' AutoencoderKL.encode on the tiny random VAE
// (nodes/sd/tests/golden/make_goldens.py make_vae_encoder_goldens; F16 weights, 16x16 image).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "camgraph/safetensors.h"
#include "sd/vae_encoder.h"
#include "sd/weight_file.h"
#include "test_support.h"
#include "sd_test_support.h"

using namespace camgraph;
using namespace camgraph::sd;
using camgraph::testing::error_of;
namespace fs = std::filesystem;
using camgraph::sd::testing::golden_dir;
using camgraph::sd::testing::rel_err;

TEST(VaeEncoder, MatchesDiffusersEncode) {
  WeightFile w(golden_dir() / "vae/encoder.safetensors");
  VaeEncoder vae = load_vae_encoder(w);
  EXPECT_EQ(vae->config().down_channels, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(vae->config().resnets_per_block, 1);
  EXPECT_EQ(vae->config().latent_channels, 4);
  SafetensorsReader g(golden_dir() / "vae_encoder_golden.safetensors");
  const at::Tensor image = g.get("image");  // [1, 3, 16, 16] in [-1, 1]
  const VaeLatentDistribution d = vae->distribution(image);
  ASSERT_EQ(d.mean.sizes(), g.get("mean").sizes());
  EXPECT_LT(rel_err(d.mean, g.get("mean")), 1e-5);
  EXPECT_LT(rel_err(d.std, g.get("std")), 1e-5);
  const at::Tensor latent = vae->forward(image);
  EXPECT_LT(rel_err(latent, g.get("latent")), 1e-5);

  // Sampling: mean + std * noise drawn from the generator, reproducible per seed.
  auto gen = [](uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); };
  const at::Tensor s1 = vae->sample(image, gen(5)), s2 = vae->sample(image, gen(5)), s3 = vae->sample(image, gen(6));
  EXPECT_TRUE(at::equal(s1, s2));
  EXPECT_FALSE(at::equal(s1, s3));
  const at::Tensor noise = at::randn(d.mean.sizes(), gen(5));
  EXPECT_LT(rel_err(s1, (d.mean + d.std * noise) * 0.18215), 1e-6);
}

TEST(VaeEncoder, LoadsTheLdmSingleFileLayout) {
  // The key table from the generator (checked there with diffusers' convert_ldm_vae_checkpoint).
  std::ifstream f(golden_dir() / "vae/encoder_ldm_keys.json");
  const auto table = nlohmann::json::parse(f);
  ASSERT_GT(table.size(), 20u);
  for (const auto& [key, ldm] : table.items()) EXPECT_EQ(vae_encoder_ldm_key(key), ldm.get<std::string>()) << key;

  // The diffusers file rewritten in LDM keys (attention as 1x1 convs, as LDM files store it).
  const SafetensorsFile src = safetensors_load(golden_dir() / "vae/encoder.safetensors");
  std::map<std::string, at::Tensor> ldm;
  for (const auto& [k, t] : src.tensors) {
    const std::string lk = table.at(k).get<std::string>();
    ldm[lk] = (t.dim() == 2 && lk.find(".attn_1.") != std::string::npos) ? t.view({t.size(0), t.size(1), 1, 1}) : t;
  }
  const fs::path dir = camgraph::testing::temp_dir("sd_vae_encoder_ldm");
  safetensors_save_atomic(dir / "vae_ldm.safetensors", ldm);
  WeightFile w(dir / "vae_ldm.safetensors");
  VaeEncoder vae = load_vae_encoder(w);
  SafetensorsReader g(golden_dir() / "vae_encoder_golden.safetensors");
  EXPECT_LT(rel_err(vae->forward(g.get("image")), g.get("latent")), 1e-5);
}

TEST(VaeEncoder, RefusesFilesWithoutAnEncoder) {
  WeightFile dec(golden_dir() / "vae/decoder.safetensors");
  const std::string e = error_of([&] { load_vae_encoder(dec); });
  EXPECT_NE(e.find("decoder.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("no VAE encoder"), std::string::npos) << e;
  WeightFile w(golden_dir() / "vae/encoder.safetensors");
  VaeEncoder vae = load_vae_encoder(w);
  EXPECT_NE(error_of([&] { vae->forward(at::zeros({1, 4, 16, 16})); }).find("RGB"), std::string::npos);
}
