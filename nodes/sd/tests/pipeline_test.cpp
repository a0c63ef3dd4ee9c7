// The SD pipeline and the sd.generate node on tiny weights against diffusers'
// StableDiffusionPipeline / StableDiffusionImg2ImgPipeline (nodes/sd/tests/golden/make_goldens.py
// make_pipeline_goldens): the tiny text encoder, the tiny VAE and a tiny UNet with a 64-wide
// context, 16x16 images. diffusers draws its noise its own way, so the golden's initial latents and
// every noise it drew are passed in (GenerateRequest::initial_noise / step_noise).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "camgraph/node_context.h"
#include "camgraph/safetensors.h"
#include "sd/clip_text_encoder.h"
#include "sd/pipeline.h"
#include "sd/unet.h"
#include "tiny_sd.h"
#include "sd/vae_encoder.h"
#include "sd/weight_file.h"
#include "node_runner.h"
#include "test_support.h"
#include "sd_test_support.h"

namespace camgraph {
void register_sd_nodes(Registry& r);
}

using namespace camgraph;
using namespace camgraph::sd;
using camgraph::testing::error_of;
namespace fs = std::filesystem;
using camgraph::sd::testing::golden_dir;
using camgraph::sd::testing::rel_err;
using json = nlohmann::json;

namespace {

fs::path tiny_diffusers_folder() { return camgraph::sd::testing::tiny_sd_folder(); }

// The same weights as one LDM single file (cond_stage_model / model.diffusion_model / first_stage_model).
fs::path tiny_single_file() {
  static const fs::path file = [] {
    const fs::path g = golden_dir();
    std::map<std::string, at::Tensor> all = safetensors_load(g / "text_encoder/ldm.safetensors").tensors;
    for (auto& [k, t] : safetensors_load(g / "vae/decoder_ldm.safetensors").tensors) all[k] = t;
    for (auto& [k, t] : safetensors_load(g / "vae/encoder.safetensors").tensors) {
      const std::string lk = vae_encoder_ldm_key(k);
      all[lk] = (t.dim() == 2 && lk.find(".attn_1.") != std::string::npos) ? t.view({t.size(0), t.size(1), 1, 1}) : t;
    }
    WeightFile uw(g / "pipeline/unet/diffusion_pytorch_model.safetensors");
    const UNet unet = load_unet(uw);
    for (auto& [k, t] : safetensors_load(g / "pipeline/unet/diffusion_pytorch_model.safetensors").tensors)
      all[unet_ldm_key(k, unet->config())] = t;
    const fs::path f = camgraph::testing::temp_dir("sd_pipeline_single") / "tiny-sd.safetensors";
    safetensors_save_atomic(f, all);
    return f;
  }();
  return file;
}

std::shared_ptr<Pipeline> tiny_pipeline() {
  PipelineSources s;
  s.checkpoint = tiny_diffusers_folder();
  static std::shared_ptr<Pipeline> p = Pipeline::load(s, c10::Device(c10::kCPU));
  return p;
}

at::Tensor golden(const std::string& name) {
  static SafetensorsReader g(golden_dir() / "pipeline_golden.safetensors");
  return g.get(name);
}

GenerateRequest golden_request(const std::string& sampler, int steps) {
  GenerateRequest r;
  r.prompt = "a photo of a cat";
  r.negative_prompt = "blue sky";
  r.cfg = 7.5;
  r.sampler = parse_sampler(sampler);
  r.steps = steps;
  r.width = r.height = 16;
  r.initial_noise = golden(sampler + ".x_T");
  if (sampler == "euler_a") {
    const at::Tensor n = golden("euler_a.noise");  // [steps, 1, 4, 8, 8]
    r.step_noise = [n](int i) { return n[i]; };
  }
  return r;
}

void expect_matches_golden(const GenerateResult& res, const std::string& prefix, double tol) {
  const at::Tensor want_lat = golden(prefix + ".latents");
  ASSERT_EQ(res.latents.sizes(), want_lat.sizes());
  EXPECT_LT(rel_err(res.latents, want_lat), tol) << prefix;
  const at::Tensor want_img = golden(prefix + ".image").permute({0, 2, 3, 1});  // [1, 16, 16, 3]
  ASSERT_EQ(res.images.sizes(), want_img.sizes());
  EXPECT_LT((res.images - want_img).abs().max().item<double>(), tol) << prefix;
}

}  // namespace

TEST(SdPipeline, Txt2ImgMatchesDiffusersForEverySampler) {
  auto pipe = tiny_pipeline();
  EXPECT_EQ(pipe->vae_scale(), 2);  // the tiny VAE has two levels
  for (const auto& [sampler, steps] :
       std::vector<std::pair<std::string, int>>{{"ddim", 2}, {"euler_a", 2}, {"dpmpp_2m_karras", 3}}) {
    int calls = 0;
    GenerateRequest r = golden_request(sampler, steps);
    r.on_step = [&](int step, int total, const at::Tensor& x, const at::Tensor& x0) {
      ++calls;
      EXPECT_EQ(step, calls);
      EXPECT_EQ(total, steps);
      EXPECT_EQ(x.sizes(), x0.sizes());
    };
    const GenerateResult res = pipe->generate(r);
    EXPECT_EQ(calls, steps) << sampler;
    expect_matches_golden(res, sampler, 2e-4);
    EXPECT_EQ(res.summary["sampler"], sampler);
  }
}

TEST(SdPipeline, Img2ImgMatchesDiffusers) {
  GenerateRequest r = golden_request("dpmpp_2m_karras", 4);
  r.initial_noise = golden("img2img.noise");                    // the noise added to the init latents
  r.init_image = golden("img2img.init")[0].permute({1, 2, 0});  // [16, 16, 3] in [0, 1]
  r.strength = 0.5;
  int calls = 0;
  r.on_step = [&](int, int total, const at::Tensor&, const at::Tensor&) {
    ++calls;
    EXPECT_EQ(total, 2);
  };
  const GenerateResult res = tiny_pipeline()->generate(r);
  EXPECT_EQ(calls, 2);  // 4 steps at strength 0.5
  EXPECT_EQ(res.summary["mode"], "img2img");
  expect_matches_golden(res, "img2img", 5e-4);
}

TEST(SdPipeline, SingleFileCheckpointGivesTheSameImage) {
  PipelineSources s;
  s.checkpoint = tiny_single_file();
  s.unet_config = golden_dir() / "pipeline/unet/config.json";                   // tiny: 2 heads, 4 groups
  s.text_encoder_config = golden_dir() / "text_encoder/diffusers/config.json";  // tiny: 2 heads of 32
  // No merges given: the CLIP vocabulary CamGraph ships (49,408 tokens) is used, and refused by
  // name because this tiny text encoder's embedding is smaller.
  const std::string shipped = error_of([&] { Pipeline::load(s, c10::Device(c10::kCPU)); });
  EXPECT_NE(shipped.find("bpe_simple_vocab_16e6.txt.gz) has 49408 tokens"), std::string::npos) << shipped;
  EXPECT_NE(shipped.find("does not belong to this checkpoint"), std::string::npos) << shipped;
  s.merges = golden_dir() / "tokenizer/merges.txt";
  auto pipe = Pipeline::load(s, c10::Device(c10::kCPU));
  EXPECT_EQ(pipe->info()["layout"], "single file");
  expect_matches_golden(pipe->generate(golden_request("ddim", 2)), "ddim", 2e-4);
}

TEST(SdPipeline, SeparateVaeInTheStandaloneLdmLayout) {
  // Standalone VAE files (vae-ft-mse-840000-ema-pruned.safetensors) hold LDM keys without
  // "first_stage_model.": the tiny VAE rewritten so, given as the separate VAE.
  const std::string pre = "first_stage_model.";
  std::map<std::string, at::Tensor> bare;
  for (auto& [k, t] : safetensors_load(golden_dir() / "vae/decoder_ldm.safetensors").tensors)
    bare[k.substr(pre.size())] = t;
  for (auto& [k, t] : safetensors_load(golden_dir() / "vae/encoder.safetensors").tensors) {
    const std::string lk = vae_encoder_ldm_key(k).substr(pre.size());
    bare[lk] = (t.dim() == 2 && lk.find(".attn_1.") != std::string::npos) ? t.view({t.size(0), t.size(1), 1, 1}) : t;
  }
  ASSERT_EQ(bare.count("decoder.up.0.block.0.conv1.weight"), 1u);
  const fs::path f = camgraph::testing::temp_dir("sd_pipeline_vae") / "vae-standalone.safetensors";
  safetensors_save_atomic(f, bare);
  PipelineSources s;
  s.checkpoint = tiny_diffusers_folder();
  s.vae = f;
  auto pipe = Pipeline::load(s, c10::Device(c10::kCPU));
  EXPECT_EQ(pipe->info()["vae"], f.string());
  expect_matches_golden(pipe->generate(golden_request("ddim", 2)), "ddim", 2e-4);
  GenerateRequest r = golden_request("dpmpp_2m_karras", 4);
  r.initial_noise = golden("img2img.noise");
  r.init_image = golden("img2img.init")[0].permute({1, 2, 0});
  r.strength = 0.5;
  expect_matches_golden(pipe->generate(r), "img2img", 5e-4);
}

TEST(SdPipeline, SeedsAreSeedPlusBatchIndexAndDeterministic) {
  auto pipe = tiny_pipeline();
  GenerateRequest r;
  r.prompt = "a photo of a dog";
  r.sampler = SamplerKind::EulerAncestral;  // draws noise at every step too
  r.steps = 3;
  r.width = 16;
  r.height = 24;
  r.seed = 41;
  r.batch = 2;
  const GenerateResult two = pipe->generate(r);
  ASSERT_EQ(two.images.sizes(), (at::IntArrayRef{2, 24, 16, 3}));
  r.batch = 1;
  r.seed = 42;
  const GenerateResult one = pipe->generate(r);
  EXPECT_LT(rel_err(two.latents[1], one.latents[0]), 1e-5);  // batched vs alone: float rounding only
  EXPECT_FALSE(at::allclose(two.latents[0], two.latents[1]));
  EXPECT_TRUE(at::equal(pipe->generate(r).latents, one.latents));
  EXPECT_GE(two.images.min().item<double>(), 0.0);
  EXPECT_LE(two.images.max().item<double>(), 1.0);
}

TEST(SdPipeline, InpaintingKeepsTheKnownRegion) {
  auto pipe = tiny_pipeline();
  GenerateRequest r;
  r.prompt = "a photo of a cat";
  r.negative_prompt = "blue sky";
  r.sampler = SamplerKind::DpmPP2MKarras;
  r.steps = 4;
  r.width = r.height = 16;
  r.seed = 3;
  r.init_image = golden("img2img.init")[0].permute({1, 2, 0});
  r.strength = 1.0;
  at::Tensor mask = at::zeros({16, 16});
  mask.slice(1, 8, 16).fill_(1);  // regenerate the right half, keep the left
  r.mask = mask;
  WeightFile ew(tiny_diffusers_folder() / "vae/diffusion_pytorch_model.safetensors");
  const at::Tensor init_lat = load_vae_encoder(ew)->forward(r.init_image.permute({2, 0, 1}).unsqueeze(0) * 2 -
                                                            1);  // [1, 4, 8, 8]
  int checked = 0;
  r.on_step = [&](int, int, const at::Tensor&, const at::Tensor& x0) {
    // every step's predicted x0 is the init latents in the kept (left) half
    EXPECT_LT((x0.slice(3, 0, 4) - init_lat.slice(3, 0, 4)).abs().max().item<double>(), 1e-4);
    ++checked;
  };
  const GenerateResult in = pipe->generate(r);
  EXPECT_EQ(checked, 4);
  EXPECT_EQ(in.summary["mode"], "inpaint");
  EXPECT_LT((in.latents.slice(3, 0, 4) - init_lat.slice(3, 0, 4)).abs().max().item<double>(), 1e-5);
  EXPECT_GT((in.latents.slice(3, 4, 8) - init_lat.slice(3, 4, 8)).abs().max().item<double>(), 1e-2);
  // Without the mask the left half is regenerated too.
  r.mask = at::Tensor();
  r.on_step = nullptr;
  const GenerateResult plain = pipe->generate(r);
  EXPECT_GT((plain.latents.slice(3, 0, 4) - init_lat.slice(3, 0, 4)).abs().max().item<double>(), 1e-2);
}

TEST(SdPipeline, LorasMergeAndUnmergeWithoutReload) {
  auto pipe = tiny_pipeline();
  GenerateRequest r = golden_request("ddim", 2);
  const GenerateResult base = pipe->generate(r);
  r.loras = {{golden_dir() / "lora/te_kohya.safetensors", 0.8, 1.0}};
  const GenerateResult with = pipe->generate(r);
  ASSERT_EQ(with.loras.size(), 1u);
  EXPECT_EQ(with.loras[0].matched, with.loras[0].modules);
  EXPECT_EQ(with.loras[0].modules, 9u);  // q, v, fc1 of 3 layers
  EXPECT_EQ(with.summary["lora_matched"], 9);
  EXPECT_GT((with.latents - base.latents).abs().max().item<double>(), 1e-4);
  r.loras.clear();
  EXPECT_TRUE(at::equal(pipe->generate(r).latents, base.latents));  // exact unmerge
}

TEST(SdPipeline, RefusesImpossibleRequestsNamingTheField) {
  GenerateRequest r;
  r.width = 500;
  EXPECT_EQ(error_of([&] { validate_request(r); }).rfind("width: 500 is not a multiple of 8", 0), 0u);
  r.width = 512;
  r.height = 7;
  EXPECT_EQ(error_of([&] { validate_request(r); }).rfind("height:", 0), 0u);
  r.height = 512;
  r.mask = at::ones({8, 8});
  EXPECT_EQ(error_of([&] { validate_request(r); }).rfind("mask:", 0), 0u);
}

TEST(SdPipeline, LatentPreviewIsAnImage) {
  const at::Tensor lat = at::randn({2, 4, 5, 6});
  const at::Tensor rgb = latent_preview_rgb(lat);
  ASSERT_EQ(rgb.sizes(), (at::IntArrayRef{2, 5, 6, 3}));
  EXPECT_GE(rgb.min().item<double>(), 0.0);
  EXPECT_LE(rgb.max().item<double>(), 1.0);
  // Linear before the clamp: channel 0 of the latent moves R by +0.3512 / 2.
  const at::Tensor z = at::zeros({1, 4, 1, 1});
  at::Tensor one = z.clone();
  one[0][0][0][0] = 1;
  EXPECT_NEAR((latent_preview_rgb(one) - latent_preview_rgb(z))[0][0][0][0].item<double>(), 0.3512 / 2, 1e-6);
}

// ---- the node ----------------------------------------------------------------------------------

namespace {

struct NodeRun {
  std::map<std::string, Value> outputs;
  std::vector<Event> events;
};

NodeRun run_generate(const json& params, std::map<std::string, Value> inputs = {}, bool previews = true) {
  static Registry reg = [] {
    Registry r;
    register_sd_nodes(r);
    return r;
  }();
  NodeRun run;
  run.outputs = camgraph::testing::run_node(
      reg, "sd.generate", params, std::move(inputs), camgraph::testing::temp_dir("sd_node_out"),
      [&](const Event& e) { run.events.push_back(e); }, previews);
  return run;
}

json tiny_params() {
  return {{"checkpoint", tiny_diffusers_folder().string()},
          {"prompt", "a photo of a cat"},
          {"negative_prompt", "blue sky"},
          {"width", 16},
          {"height", 16},
          {"steps", 4},
          {"batch", 2},
          {"seed", 5},
          {"preview_every", 2},
          {"sampler", "euler_a"}};
}

}  // namespace

TEST(SdGenerateNode, GeneratesABatchWithProgressAndPreviews) {
  const NodeRun run = run_generate(tiny_params());
  auto img = std::dynamic_pointer_cast<const ImageValue>(run.outputs.at("image"));
  auto all = std::dynamic_pointer_cast<const FrameSequenceValue>(run.outputs.at("images"));
  auto rec = std::dynamic_pointer_cast<const RecordValue>(run.outputs.at("record"));
  ASSERT_TRUE(img && all && rec);
  EXPECT_EQ(img->pixels.sizes(), (at::IntArrayRef{16, 16, 3}));
  EXPECT_EQ(all->frames.sizes(), (at::IntArrayRef{2, 16, 16, 3}));
  EXPECT_TRUE(at::equal(all->frames[0], img->pixels));
  EXPECT_EQ(rec->record["seeds"], json::array({5, 6}));
  EXPECT_EQ(rec->record["steps_run"], 4);
  int previews = 0, step_progress = 0;
  for (const auto& e : run.events) {
    if (e.kind == EventKind::Preview) {
      ++previews;
      auto p = std::dynamic_pointer_cast<const ImageValue>(e.value);
      ASSERT_TRUE(p);
      EXPECT_EQ(p->pixels.sizes(), (at::IntArrayRef{16, 16, 3}));
      EXPECT_NE(e.message.find("step"), std::string::npos);
    }
    if (e.kind == EventKind::Progress && e.message.rfind("step ", 0) == 0) ++step_progress;
  }
  EXPECT_EQ(previews, 2);  // steps 2 and 4
  EXPECT_EQ(step_progress, 4);
  // Same seed, same node output; no previews when nobody wants them.
  const NodeRun again = run_generate(tiny_params(), {}, false);
  EXPECT_TRUE(at::equal(std::dynamic_pointer_cast<const ImageValue>(again.outputs.at("image"))->pixels, img->pixels));
  for (const auto& e : again.events) EXPECT_NE(e.kind, EventKind::Preview);
  EXPECT_EQ(again.outputs.count("record"), 1u);
  EXPECT_TRUE(
      std::dynamic_pointer_cast<const RecordValue>(again.outputs.at("record"))->record["model_reused"].get<bool>());
}

TEST(SdGenerateNode, Img2ImgFromTheInput) {
  auto init = std::make_shared<ImageValue>();
  init->pixels = golden("img2img.init")[0].permute({1, 2, 0}).contiguous();
  json p = tiny_params();
  p["strength"] = 0.5;
  p["batch"] = 1;
  const NodeRun run = run_generate(p, {{"init_image", init}});
  auto rec = std::dynamic_pointer_cast<const RecordValue>(run.outputs.at("record"));
  EXPECT_EQ(rec->record["mode"], "img2img");
  EXPECT_EQ(rec->record["steps_run"], 2);
}

TEST(SdGenerateNode, WarnsAboutUnmatchedLoraModules) {
  // A kohya LoRA with one module the tiny model has and one it does not.
  const fs::path dir = camgraph::testing::temp_dir("sd_node_lora");
  auto good = safetensors_load(golden_dir() / "lora/te_kohya.safetensors").tensors;
  std::map<std::string, at::Tensor> mixed;
  const std::string keep = "lora_te_text_model_encoder_layers_0_self_attn_q_proj";
  for (const char* s : {".lora_down.weight", ".lora_up.weight", ".alpha"}) mixed[keep + s] = good.at(keep + s);
  mixed["lora_unet_no_such_block_proj.lora_down.weight"] = at::ones({2, 4});
  mixed["lora_unet_no_such_block_proj.lora_up.weight"] = at::ones({4, 2});
  fs::create_directories(dir / "loras");
  safetensors_save_atomic(dir / "loras/mixed.safetensors", mixed);
  json p = tiny_params();
  p["models_root"] = dir.string();
  p["loras"] = "mixed:0.7";
  p["batch"] = 1;
  const NodeRun run = run_generate(p);
  std::string warning;
  for (const auto& e : run.events)
    if (e.kind == EventKind::Warning) warning += e.message;
  EXPECT_NE(warning.find("1 of 2 modules matched"), std::string::npos) << warning;
  EXPECT_NE(warning.find("no_such_block"), std::string::npos) << warning;
  auto rec = std::dynamic_pointer_cast<const RecordValue>(run.outputs.at("record"));
  EXPECT_EQ(rec->record["lora_matched"], 1);
  EXPECT_EQ(rec->record["lora_modules"], 2);
  EXPECT_EQ(rec->record["loras"][0]["unmatched"].size(), 1u);
}

TEST(SdGenerateNode, ReplacingAModelFileUnderTheSameNameChangesTheCacheKey) {
  Registry reg;
  register_sd_nodes(reg);
  const NodeSpec* spec = reg.find("sd.generate");
  ASSERT_TRUE(spec && spec->cache_stamp);
  const fs::path dir = camgraph::testing::temp_dir("sd_node_stamp");
  fs::create_directories(dir / "loras");
  const fs::path lora = dir / "loras/style.safetensors";
  fs::copy_file(golden_dir() / "lora/te_kohya.safetensors", lora, fs::copy_options::overwrite_existing);
  json p = tiny_params();
  p["models_root"] = dir.string();
  p["loras"] = "style:0.5; nowhere:1";
  const json a = spec->cache_stamp(p, dir);
  EXPECT_EQ(a, spec->cache_stamp(p, dir));  // nothing changed
  EXPECT_TRUE(a["loras"][0].is_array());
  EXPECT_EQ(a["loras"][1], "missing");
  EXPECT_TRUE(a["checkpoint"].is_object());  // the diffusers folder: one stamp per file
  EXPECT_GT(a["checkpoint"].size(), 3u);
  // Retrained under the same name: new size/time, so the node re-runs instead of a stale cache hit.
  fs::copy_file(golden_dir() / "lora/te_peft.safetensors", lora, fs::copy_options::overwrite_existing);
  fs::last_write_time(lora, fs::last_write_time(lora) + std::chrono::seconds(5));
  const json b = spec->cache_stamp(p, dir);
  EXPECT_NE(a["loras"][0], b["loras"][0]);
  EXPECT_EQ(a["checkpoint"], b["checkpoint"]);
}

TEST(SdGenerateNode, LoraListTakesStrengthsFromTheRight) {
  // "name:unet[:te]": only trailing numbers are strengths, so names may contain ':' (C:\...).
  const fs::path dir = camgraph::testing::temp_dir("sd_node_lora_names");
  fs::create_directories(dir / "loras");
  fs::copy_file(golden_dir() / "lora/te_kohya.safetensors", dir / "loras/style:v2.safetensors");
  json p = tiny_params();
  p["models_root"] = dir.string();
  p["batch"] = 1;
  p["loras"] = "style:v2:0.5:0.8\n";
  const NodeRun run = run_generate(p);
  auto rec = std::dynamic_pointer_cast<const RecordValue>(run.outputs.at("record"));
  ASSERT_EQ(rec->record["loras"].size(), 1u);
  EXPECT_NE(rec->record["loras"][0]["file"].get<std::string>().find("style:v2.safetensors"), std::string::npos);
  EXPECT_EQ(rec->record["lora_matched"], 9);
  // Text-encoder strength 0.8 and 0.8 (the default: the UNet strength) differ from 0.5:0.8 only
  // through the text encoder: the TE-only LoRA gives the same image for "style:v2:0.3:0.8".
  p["loras"] = "style:v2:0.3:0.8";
  const NodeRun same_te = run_generate(p);
  EXPECT_TRUE(at::equal(std::dynamic_pointer_cast<const ImageValue>(same_te.outputs.at("image"))->pixels,
                        std::dynamic_pointer_cast<const ImageValue>(run.outputs.at("image"))->pixels));
  p["loras"] = "style:v2:0.5";  // te strength 0.5 too
  const NodeRun other_te = run_generate(p);
  EXPECT_FALSE(at::equal(std::dynamic_pointer_cast<const ImageValue>(other_te.outputs.at("image"))->pixels,
                         std::dynamic_pointer_cast<const ImageValue>(run.outputs.at("image"))->pixels));
  p["loras"] = ":0.5";
  EXPECT_NE(error_of([&] { run_generate(p); }).find("loras"), std::string::npos);
}

TEST(SdGenerateNode, ClearErrors) {
  const fs::path root = camgraph::testing::temp_dir("sd_node_models");
  fs::create_directories(root / "checkpoints");
  json p = tiny_params();
  p["checkpoint"] = "v1-5-pruned-emaonly";
  p["models_root"] = root.string();
  const std::string missing = error_of([&] { run_generate(p); });
  EXPECT_NE(missing.find("checkpoint"), std::string::npos) << missing;
  EXPECT_NE(missing.find("v1-5-pruned-emaonly"), std::string::npos) << missing;
  EXPECT_NE(missing.find((root / "checkpoints").string()), std::string::npos) << missing;
  EXPECT_NE(missing.find("Put a Stable Diffusion 1.5"), std::string::npos) << missing;

  json w = tiny_params();
  w["width"] = 500;
  const std::string bad = error_of([&] { run_generate(w); });
  EXPECT_NE(bad.find("width"), std::string::npos) << bad;
  EXPECT_NE(bad.find("multiple of 8"), std::string::npos) << bad;

  json l = tiny_params();
  l["loras"] = "missing-lora:0.5";
  const std::string lora = error_of([&] { run_generate(l); });
  EXPECT_NE(lora.find("loras"), std::string::npos) << lora;
  EXPECT_NE(lora.find("missing-lora"), std::string::npos) << lora;
}
