// The UNet against diffusers' UNet2DConditionModel on a tiny random model of SD 1.5's block types
// (nodes/sd/tests/golden/make_goldens.py: 2/4/4/4 channels, 2 resnets per level, 2 heads, context 12,
// F16 weights), in the diffusers layout and in the LDM single-file layout written from the
// generator's own key table (ldm_keys.json.gz, verified there with diffusers' converter).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "camgraph/safetensors.h"
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

using camgraph::sd::testing::tiny_unet;
std::map<std::string, std::string> ldm_table() { return camgraph::sd::testing::tiny_unet_ldm_table(); }

// Writes the tiny UNet's tensors under other names (and optionally changes one tensor).
fs::path write_renamed(const fs::path& dir, const std::string& name,
                       const std::function<std::string(const std::string&)>& rename,
                       const std::function<void(std::map<std::string, at::Tensor>&)>& edit = nullptr) {
  SafetensorsReader r(tiny_unet());
  std::map<std::string, at::Tensor> out;
  for (const auto& [key, info] : r.tensors()) out[rename(key)] = r.get(key);
  if (edit) edit(out);
  const fs::path p = dir / name;
  safetensors_save_atomic(p, out);
  return p;
}

}  // namespace

TEST(UNet, MatchesDiffusersOnTheTinyModel) {
  WeightFile w(tiny_unet());
  UNet unet = load_unet(w);  // heads (2) and norm groups (2) from unet/config.json next to it
  const UNetConfig& c = unet->config();
  EXPECT_EQ(c.block_channels, (std::vector<int64_t>{2, 4, 4, 4}));
  EXPECT_EQ(c.cross_attention, (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(c.layers_per_block, 2);
  EXPECT_EQ(c.context_dim, 12);
  EXPECT_EQ(c.heads, 2);
  EXPECT_EQ(c.norm_groups, 2);
  EXPECT_FALSE(c.linear_projection);
  SafetensorsReader g(golden_dir() / "unet_golden.safetensors");
  const at::Tensor eps = unet->forward(g.get("x"), g.get("t"), g.get("ctx"));  // [2, 4, 8, 8], t = 999, 37.5
  ASSERT_EQ(eps.sizes(), g.get("eps").sizes());
  EXPECT_LT(rel_err(eps, g.get("eps")), 1e-4);
  std::printf("relative error to diffusers: %.2e\n", rel_err(eps, g.get("eps")));
  // Odd sizes: 6x10 -> 3x5 -> 2x3 -> 1x2; the upsamplers go back to each skip's size.
  const at::Tensor odd = unet->forward(g.get("x_odd"), g.get("t_odd"), g.get("ctx_odd"));
  ASSERT_EQ(odd.sizes(), g.get("eps_odd").sizes());
  EXPECT_LT(rel_err(odd, g.get("eps_odd")), 1e-4);
  // The timestep matters: swapping the two timesteps changes both outputs.
  const at::Tensor swapped = unet->forward(g.get("x"), g.get("t").flip(0), g.get("ctx"));
  EXPECT_GT(rel_err(swapped, g.get("eps")), 1e-3);
}

TEST(UNet, LdmKeyTableMatchesTheGenerator) {
  WeightFile w(tiny_unet());
  UNet unet = load_unet(w);
  const auto table = ldm_table();
  ASSERT_EQ(table.size(), unet->named_parameters().size());
  for (const auto& p : unet->named_parameters()) {
    ASSERT_TRUE(table.count(p.key())) << p.key();
    EXPECT_EQ(unet_ldm_key(p.key(), unet->config()), table.at(p.key())) << p.key();
  }
  // Module paths (as LoRA names use them) map the same way, and SD 1.5's numbering.
  UNetConfig sd15;
  EXPECT_EQ(unet_ldm_key("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", sd15),
            "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn1.to_q");
  EXPECT_EQ(unet_ldm_key("down_blocks.2.downsamplers.0.conv.weight", sd15),
            "model.diffusion_model.input_blocks.9.0.op.weight");
  EXPECT_EQ(unet_ldm_key("up_blocks.0.upsamplers.0.conv.bias", sd15),
            "model.diffusion_model.output_blocks.2.1.conv.bias");
  EXPECT_EQ(unet_ldm_key("up_blocks.1.upsamplers.0.conv.bias", sd15),
            "model.diffusion_model.output_blocks.5.2.conv.bias");
  EXPECT_EQ(unet_ldm_key("up_blocks.3.resnets.2.conv_shortcut.weight", sd15),
            "model.diffusion_model.output_blocks.11.0.skip_connection.weight");
  EXPECT_EQ(unet_ldm_key("mid_block.resnets.1.time_emb_proj.weight", sd15),
            "model.diffusion_model.middle_block.2.emb_layers.1.weight");
  EXPECT_EQ(unet_ldm_key("time_embedding.linear_2.bias", sd15), "model.diffusion_model.time_embed.2.bias");
  EXPECT_EQ(unet_ldm_key("conv_norm_out.weight", sd15), "model.diffusion_model.out.0.weight");
}

TEST(UNet, LdmSingleFileAndPrefixedLayoutsGiveTheSameOutput) {
  const fs::path dir = temp_dir("sd_unet_layouts");
  const auto table = ldm_table();
  // An LDM single file with the generator's names (and a text-encoder tensor, as real files have).
  const fs::path ldm = write_renamed(
      dir, "tiny_ldm.safetensors", [&](const std::string& k) { return table.at(k); },
      [](auto& t) { t["cond_stage_model.transformer.text_model.final_layer_norm.weight"] = at::ones({4}); });
  const fs::path prefixed = write_renamed(dir, "tiny_prefixed.safetensors",
                                          [](const std::string& k) { return "unet." + k; });
  SafetensorsReader g(golden_dir() / "unet_golden.safetensors");
  const UNetHints hints{2, 0, 2};  // no config.json next to these files
  WeightFile w(tiny_unet());
  const at::Tensor want = load_unet(w)->forward(g.get("x"), g.get("t"), g.get("ctx"));
  for (const fs::path& p : {ldm, prefixed}) {
    WeightFile f(p);
    UNet unet = load_unet(f, hints);
    EXPECT_EQ(unet->config().block_channels, (std::vector<int64_t>{2, 4, 4, 4})) << p;
    EXPECT_EQ(unet->config().cross_attention, (std::vector<bool>{true, true, true, false})) << p;
    EXPECT_EQ(unet->config().layers_per_block, 2) << p;
    EXPECT_EQ(unet->config().context_dim, 12) << p;
    const at::Tensor got = unet->forward(g.get("x"), g.get("t"), g.get("ctx"));
    EXPECT_TRUE(at::equal(got, want)) << p;
    EXPECT_LT(rel_err(got, g.get("eps")), 1e-4) << p;
  }
  // Without hints an LDM file gets SD 1.5's 8 heads, which 2 channels cannot hold: a clear error.
  WeightFile f(ldm);
  const std::string e = error_of([&] { load_unet(f); });
  EXPECT_NE(e.find("tiny_ldm.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("attention heads"), std::string::npos) << e;
}

TEST(UNet, ConfigComesFromShapesInBothLayouts) {
  // A different family member: 3 levels, one resnet each, attention on the lower two only, Linear
  // projections (SD 2.x style), 2 transformer blocks, context 20, 4 heads.
  UNetConfig c;
  c.block_channels = {8, 16, 24};
  c.layers_per_block = 1;
  c.cross_attention = {false, true, true};
  c.heads = 4;
  c.context_dim = 20;
  c.norm_groups = 8;
  c.transformer_depth = 2;
  c.linear_projection = true;
  at::manual_seed(3);
  UNet ref(c);
  std::map<std::string, at::Tensor> diffusers, ldm;
  for (const auto& p : ref->named_parameters()) {
    diffusers[p.key()] = p.value().detach().clone();
    ldm[unet_ldm_key(p.key(), c)] = p.value().detach().clone();
  }
  EXPECT_EQ(ldm.size(), diffusers.size());  // the table is one to one
  const fs::path dir = temp_dir("sd_unet_shapes");
  safetensors_save_atomic(dir / "d.safetensors", diffusers);
  safetensors_save_atomic(dir / "l.safetensors", ldm);
  const at::Tensor x = at::randn({1, 4, 8, 8}), t = at::full({1}, 250.0), ctx = at::randn({1, 7, 20});
  const at::Tensor want = ref->forward(x, t, ctx);
  for (const char* name : {"d.safetensors", "l.safetensors"}) {
    WeightFile f(dir / name);
    UNet u = load_unet(f, UNetHints{4, 0, 8});
    const UNetConfig& got = u->config();
    EXPECT_EQ(got.block_channels, c.block_channels) << name;
    EXPECT_EQ(got.layers_per_block, 1) << name;
    EXPECT_EQ(got.cross_attention, c.cross_attention) << name;
    EXPECT_EQ(got.context_dim, 20) << name;
    EXPECT_EQ(got.transformer_depth, 2) << name;
    EXPECT_TRUE(got.linear_projection) << name;
    EXPECT_TRUE(at::allclose(u->forward(x, t, ctx), want, 1e-5, 1e-6)) << name;
  }
  // The norm groups follow the channels when no hint is given (32 does not divide 8: 8).
  WeightFile f(dir / "d.safetensors");
  EXPECT_EQ(load_unet(f, UNetHints{4, 0, 0})->config().norm_groups, 8);
}

TEST(UNet, RefusesTruncatedMisShapedAndForeignFiles) {
  const fs::path dir = temp_dir("sd_unet_bad");
  // Truncated: the reader refuses it, naming the file.
  const fs::path cut = dir / "cut.safetensors";
  fs::copy_file(tiny_unet(), cut);
  fs::resize_file(cut, fs::file_size(cut) - 1000);
  EXPECT_NE(error_of([&] { WeightFile f(cut); }).find("cut.safetensors"), std::string::npos);
  // One tensor with a wrong shape: file and key named.
  const std::string key = "up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_k.weight";
  const fs::path bad = write_renamed(
      dir, "bad.safetensors", [](const std::string& k) { return k; },
      [&](auto& t) {
        t[key] = at::zeros({4, 13}, at::kHalf);
      });
  {
    WeightFile f(bad);
    const std::string e = error_of([&] { load_unet(f, UNetHints{2, 0, 2}); });
    EXPECT_NE(e.find("bad.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find(key), std::string::npos) << e;
  }
  // A missing tensor: file and key named.
  const std::string gone = "mid_block.resnets.1.norm2.bias";
  const fs::path missing = write_renamed(
      dir, "missing.safetensors", [](const std::string& k) { return k; }, [&](auto& t) { t.erase(gone); });
  {
    WeightFile f(missing);
    const std::string e = error_of([&] { load_unet(f, UNetHints{2, 0, 2}); });
    EXPECT_NE(e.find("missing.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find(gone), std::string::npos) << e;
  }
  // SDXL (add_embedding): refused by name rather than failing on some later key.
  const fs::path xl = write_renamed(
      dir, "xl.safetensors", [](const std::string& k) { return k; },
      [](auto& t) {
        t["add_embedding.linear_1.weight"] = at::zeros({8, 4});
      });
  {
    WeightFile f(xl);
    const std::string e = error_of([&] { load_unet(f); });
    EXPECT_NE(e.find("xl.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("SDXL"), std::string::npos) << e;
  }
  // Not a UNet at all.
  WeightFile vae(golden_dir() / "vae/decoder.safetensors");
  const std::string e = error_of([&] { load_unet(vae); });
  EXPECT_NE(e.find("decoder.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("no UNet found"), std::string::npos) << e;
}

TEST(UNet, TimestepFeaturesAreCosThenSin) {
  const at::Tensor f = unet_timestep_features(at::tensor({0.0f, 10.0f}), 8);  // [2, 8]
  ASSERT_EQ(f.sizes(), (at::IntArrayRef{2, 8}));
  EXPECT_FLOAT_EQ(f[0][0].item<float>(), 1.0f);  // cos(0)
  EXPECT_FLOAT_EQ(f[0][4].item<float>(), 0.0f);  // sin(0)
  EXPECT_NEAR(f[1][1].item<float>(), std::cos(10.0 * std::pow(10000.0, -1.0 / 4)), 1e-6);
  EXPECT_NEAR(f[1][5].item<float>(), std::sin(10.0 * std::pow(10000.0, -1.0 / 4)), 1e-6);
}

// Full SD 1.5 size with random weights: parameter count and one 64x64-latent forward on CPU.
// 3.4 GB of float32 weights, so not run by default:
//   sd_unet_tests --gtest_also_run_disabled_tests --gtest_filter='*FullSize*'
TEST(UNet, DISABLED_FullSizeSd15ShapesAndParameterCount) {
  UNet unet{UNetConfig{}};
  int64_t n = 0;
  for (const auto& p : unet->parameters()) n += p.numel();
  std::printf("SD 1.5 UNet parameters: %lld\n", static_cast<long long>(n));
  EXPECT_EQ(n, 859520964);  // diffusers' UNet2DConditionModel with SD 1.5's config
  const auto t0 = std::chrono::steady_clock::now();
  const at::Tensor eps = unet->forward(at::randn({1, 4, 64, 64}), at::full({1}, 999.0), at::randn({1, 77, 768}));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("one forward [1, 4, 64, 64]: %.2f s (%d torch threads)\n", s, at::get_num_threads());
  EXPECT_EQ(eps.sizes(), (at::IntArrayRef{1, 4, 64, 64}));
  EXPECT_TRUE(eps.isfinite().all().item<bool>());
}
