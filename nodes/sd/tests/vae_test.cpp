// VAE decoder against diffusers' AutoencoderKL.decode on a tiny random model
// (nodes/sd/tests/golden/make_goldens.py; F16 weights, decode(z / 0.18215)).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>

#include "camgraph/safetensors.h"
#include "sd/vae_decoder.h"
#include "sd/weight_file.h"
#include "test_support.h"
#include "sd_test_support.h"

using namespace camgraph;
using namespace camgraph::sd;
using camgraph::testing::error_of;
namespace fs = std::filesystem;
using camgraph::sd::testing::golden_dir;

TEST(VaeDecoder, MatchesDiffusersDecode) {
  WeightFile w(golden_dir() / "vae/decoder.safetensors");
  VaeDecoder vae = load_vae_decoder(w);
  EXPECT_EQ(vae->config().up_channels, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(vae->config().resnets_per_block, 2);
  SafetensorsReader g(golden_dir() / "vae_golden.safetensors");
  const at::Tensor want = g.get("image");           // [1, 3, 16, 16]
  const at::Tensor got = vae->forward(g.get("z"));  // z [1, 4, 8, 8]
  ASSERT_EQ(got.sizes(), want.sizes());
  const double rel = (got - want).abs().max().item<double>() / want.abs().max().item<double>();
  EXPECT_LT(rel, 1e-5);
}

TEST(VaeDecoder, LoadsTheLdmSingleFileLayout) {
  // The same weights in first_stage_model.decoder.up.N.block.M keys, attention as 1x1 convs.
  WeightFile w(golden_dir() / "vae/decoder_ldm.safetensors");
  VaeDecoder vae = load_vae_decoder(w);
  EXPECT_EQ(vae->config().up_channels, (std::vector<int64_t>{32, 32}));
  SafetensorsReader g(golden_dir() / "vae_golden.safetensors");
  const at::Tensor want = g.get("image");
  const double rel = (vae->forward(g.get("z")) - want).abs().max().item<double>() / want.abs().max().item<double>();
  EXPECT_LT(rel, 1e-5);
  EXPECT_EQ(vae_decoder_ldm_key("decoder.up_blocks.0.resnets.1.conv_shortcut.weight", 4),
            "first_stage_model.decoder.up.3.block.1.nin_shortcut.weight");
  EXPECT_EQ(vae_decoder_ldm_key("decoder.up_blocks.2.upsamplers.0.conv.bias", 4),
            "first_stage_model.decoder.up.1.upsample.conv.bias");
  EXPECT_EQ(vae_decoder_ldm_key("decoder.mid_block.attentions.0.to_out.0.weight", 4),
            "first_stage_model.decoder.mid.attn_1.proj_out.weight");
}

TEST(VaeDecoder, RefusesFilesWithoutADecoder) {
  WeightFile te(golden_dir() / "text_encoder/ldm.safetensors");
  const std::string e = error_of([&] { load_vae_decoder(te); });
  EXPECT_NE(e.find("ldm.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("no VAE decoder"), std::string::npos) << e;
}
