// The SD 1.5 generator; see pipeline.h. Latents [B, 4, h, w] (scaled by 0.18215 as sampled),
// images [B, H, W, 3] in [0, 1] at the boundary, [B, 3, H, W] in [-1, 1] towards the VAE.
#include "sd/pipeline.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>

#include "camgraph/shipped_files.h"
#include "sd/clip_text_encoder.h"
#include "sd/clip_tokenizer.h"
#include "sd/unet.h"
#include "sd/vae_decoder.h"
#include "sd/vae_encoder.h"
#include "sd/weight_file.h"

namespace camgraph::sd {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Pipeline::Parts {
  std::unique_ptr<ClipTokenizer> tokenizer;
  ClipTextEncoder text_encoder{nullptr};  // CPU, float32
  UNet unet{nullptr};                     // on the device; float16 on CUDA
  VaeDecoder vae_decoder{nullptr};        // on the device, float32
  VaeEncoder vae_encoder{nullptr};        // on the device, float32; null when no encoder was found
  std::string vae_encoder_error;          // why, for img2img requests
  LoraMerger lora;
  std::vector<LoraSpec> applied;  // the merged LoRA set
  std::vector<LoraFileReport> reports;
  at::Tensor alphas_cumprod = sd15_alphas_cumprod();
  json info = json::object();
};

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The weight file of a diffusers component folder (safetensors preferred, fp16 variants accepted).
fs::path component_file(const fs::path& folder, const std::vector<std::string>& stems) {
  for (const char* ext : {".safetensors", ".fp16.safetensors", ".bin", ".fp16.bin"})
    for (const auto& stem : stems)
      if (fs::exists(folder / (stem + ext))) return folder / (stem + ext);
  std::string names;
  for (const auto& stem : stems) names += (names.empty() ? "" : " or ") + stem + ".safetensors";
  throw std::runtime_error(folder.string() + ": no weights found (expected " + names + ")");
}

json read_json(const fs::path& p) {
  std::ifstream f(p);
  if (!f) return json::object();
  try {
    return json::parse(f);
  } catch (const std::exception& e) {
    throw std::runtime_error(p.string() + ": not valid JSON (" + e.what() + ")");
  }
}

bool same_loras(const std::vector<LoraSpec>& a, const std::vector<LoraSpec>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].path != b[i].path || a[i].te_strength != b[i].te_strength || a[i].unet_strength != b[i].unet_strength)
      return false;
  return true;
}

// [H, W, C] in [0, 1] -> [1, 3, height, width] in [-1, 1] (bilinear resize when the size differs).
at::Tensor image_to_vae_input(const at::Tensor& img, int width, int height) {
  if (img.dim() != 3 || img.size(2) < 3)
    throw std::invalid_argument("init_image: expected [H, W, 3 or 4], got " + c10::str(img.sizes()));
  at::Tensor x = img.to(at::kCPU, at::kFloat).slice(2, 0, 3).permute({2, 0, 1}).unsqueeze(0).contiguous();
  if (x.size(2) != height || x.size(3) != width) x = at::upsample_bilinear2d(x, {height, width}, false);
  return x.clamp(0, 1) * 2 - 1;
}

}  // namespace

at::Tensor latent_preview_rgb(const at::Tensor& latents) {
  static const float kFactors[4][3] = {{0.3512f, 0.2297f, 0.3227f},
                                       {0.3250f, 0.4974f, 0.2350f},
                                       {-0.2829f, 0.1762f, 0.2721f},
                                       {-0.2120f, -0.2616f, -0.7177f}};
  const at::Tensor f = at::from_blob(const_cast<float*>(&kFactors[0][0]), {4, 3}, at::kFloat).to(latents.device());
  const at::Tensor rgb = at::matmul(latents.to(at::kFloat).permute({0, 2, 3, 1}), f);  // [B, h, w, 3]
  return ((rgb + 1) * 0.5).clamp(0, 1);
}

void validate_request(const GenerateRequest& r) {
  auto bad = [](const std::string& field, const std::string& msg) { throw std::invalid_argument(field + ": " + msg); };
  for (auto [name, v] : {std::pair<const char*, int>{"width", r.width}, {"height", r.height}}) {
    if (v < 8 || v > 8192) bad(name, std::to_string(v) + " is outside 8..8192");
    if (v % 8 != 0)
      bad(name, std::to_string(v) + " is not a multiple of 8 (SD's VAE works on 8x8 pixel blocks); use " +
                    std::to_string(v / 8 * 8) + " or " + std::to_string(v / 8 * 8 + 8));
  }
  if (r.batch < 1 || r.batch > 64) bad("batch", std::to_string(r.batch) + " is outside 1..64");
  if (r.steps < 1 || r.steps > 1000) bad("steps", std::to_string(r.steps) + " is outside 1..1000");
  if (!(r.cfg >= 0 && r.cfg <= 100)) bad("cfg", "must be in 0..100");
  if (r.clip_skip < 1) bad("clip_skip", "must be >= 1 (1 = last layer)");
  if (r.init_image.defined() && !(r.strength > 0 && r.strength <= 1)) bad("strength", "must be in (0, 1]");
  if (r.mask.defined() && !r.init_image.defined())
    bad("mask", "needs an init image (inpainting regenerates part of it)");
  if (r.mask.defined() && r.mask.dim() != 2) bad("mask", "expected [H, W], got " + c10::str(r.mask.sizes()));
}

Pipeline::Pipeline(PipelineSources s, c10::Device d)
    : sources_(std::move(s)), device_(d), parts_(std::make_unique<Parts>()) {}
Pipeline::~Pipeline() = default;

int Pipeline::vae_scale() const { return 1 << (int(parts_->vae_decoder->config().up_channels.size()) - 1); }
json Pipeline::info() const { return parts_->info; }

std::shared_ptr<Pipeline> Pipeline::load(const PipelineSources& src, c10::Device device) {
  std::shared_ptr<Pipeline> p(new Pipeline(src, device));
  Parts& parts = *p->parts_;
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path ckpt = src.checkpoint;
  if (!fs::exists(ckpt)) throw std::runtime_error(ckpt.string() + ": checkpoint not found");
  std::unique_ptr<WeightFile> single, te_file, unet_file, vae_file;
  int64_t te_heads = 0;
  if (fs::is_directory(ckpt)) {
    parts.info["layout"] = "diffusers";
    for (const char* sub : {"text_encoder", "unet", "vae", "tokenizer"})
      if (!fs::is_directory(ckpt / sub))
        throw std::runtime_error(
            ckpt.string() + ": diffusers folder without " + sub +
            "/ (expected text_encoder/, unet/, vae/, tokenizer/ as diffusers' save_pretrained writes them)");
    parts.tokenizer = std::make_unique<ClipTokenizer>(
        ClipTokenizer::from_files(ckpt / "tokenizer/vocab.json", ckpt / "tokenizer/merges.txt"));
    const json te_cfg = read_json(ckpt / "text_encoder/config.json");
    te_heads = te_cfg.value("num_attention_heads", int64_t(0));
    te_file = std::make_unique<WeightFile>(component_file(ckpt / "text_encoder", {"model", "pytorch_model"}));
    unet_file = std::make_unique<WeightFile>(component_file(ckpt / "unet", {"diffusion_pytorch_model"}));
    vae_file = std::make_unique<WeightFile>(component_file(ckpt / "vae", {"diffusion_pytorch_model"}));
  } else {
    parts.info["layout"] = "single file";
    // Single files carry no tokenizer: the user's merges file, else the CLIP vocabulary we ship.
    fs::path merges = src.merges.empty() ? find_shipped_file(kClipVocabularyFile) : src.merges;
    if (merges.empty())
      throw std::runtime_error(ckpt.filename().string() +
                               ": single-file checkpoints carry no tokenizer, and CamGraph's CLIP vocabulary was not "
                               "found (looked in " +
                               describe_shipped_search(kClipVocabularyFile) +
                               "); reinstall CamGraph, or set merges to CLIP's merges file "
                               "(bpe_simple_vocab_16e6.txt.gz from openai/CLIP, or tokenizer/merges.txt of any SD 1.5 "
                               "diffusers folder)");
    parts.info["tokenizer"] = merges.string();
    parts.tokenizer = std::make_unique<ClipTokenizer>(ClipTokenizer::from_merges(merges));
    single = std::make_unique<WeightFile>(ckpt);
    if (!src.text_encoder_config.empty()) {
      if (!fs::exists(src.text_encoder_config))
        throw std::runtime_error(src.text_encoder_config.string() + ": not found");
      te_heads = read_json(src.text_encoder_config).value("num_attention_heads", int64_t(0));
    }
  }
  const WeightFile& te_w = te_file ? *te_file : *single;
  const WeightFile& unet_w = unet_file ? *unet_file : *single;
  std::unique_ptr<WeightFile> separate_vae;
  if (!src.vae.empty()) separate_vae = std::make_unique<WeightFile>(src.vae);
  const WeightFile& vae_w = separate_vae ? *separate_vae : vae_file ? *vae_file : *single;

  LoadReport te_report;
  parts.text_encoder = load_clip_text_encoder(te_w, te_heads, &te_report);
  parts.unet = (!unet_file && !src.unet_config.empty())
                   ? load_unet(unet_w, unet_hints_from_config(src.unet_config.string()))
                   : load_unet(unet_w);
  parts.vae_decoder = load_vae_decoder(vae_w);
  try {
    parts.vae_encoder = load_vae_encoder(vae_w);
  } catch (const std::exception&) {
    // A decoder-only VAE file: take the encoder from the checkpoint when it has one.
    const WeightFile* other = separate_vae ? (vae_file ? vae_file.get() : single.get()) : nullptr;
    try {
      if (!other) throw;
      parts.vae_encoder = load_vae_encoder(*other);
    } catch (const std::exception& e2) {
      parts.vae_encoder_error = e2.what();
    }
  }
  // LoRA targets on the float32 weights (merged in place; on CUDA the UNet is converted after).
  parts.lora.add_targets(LoraComponent::TextEncoder, *parts.text_encoder);
  parts.lora.add_targets(LoraComponent::Unet, *parts.unet);
  const bool cuda = device.is_cuda();
  parts.unet->to(device, cuda ? at::kHalf : at::kFloat);
  parts.vae_decoder->to(device);
  if (parts.vae_encoder) parts.vae_encoder->to(device);
  if (cuda) {  // LoRA merging must see the live (converted) parameters
    parts.lora = LoraMerger();
    parts.lora.add_targets(LoraComponent::TextEncoder, *parts.text_encoder);
    parts.lora.add_targets(LoraComponent::Unet, *parts.unet);
  }
  const UNetConfig& uc = parts.unet->config();
  if (uc.context_dim != parts.text_encoder->config().width)
    throw std::runtime_error(ckpt.string() + ": the UNet expects text embeddings of width " +
                             std::to_string(uc.context_dim) + " but the text encoder makes " +
                             std::to_string(parts.text_encoder->config().width) +
                             " (an SD 2.x/XL UNet with an SD 1.x text encoder?)");
  const int64_t embedding_rows = parts.text_encoder->config().vocab;
  if (int64_t(parts.tokenizer->vocab_size()) > embedding_rows)
    throw std::runtime_error(ckpt.string() + ": the tokenizer (" +
                             parts.info.value("tokenizer", std::string("the checkpoint's tokenizer/")) + ") has " +
                             std::to_string(parts.tokenizer->vocab_size()) +
                             " tokens but the text encoder's embedding has " + std::to_string(embedding_rows) +
                             " rows: the merges file does not belong to this checkpoint");
  parts.info["checkpoint"] = ckpt.string();
  if (separate_vae) parts.info["vae"] = src.vae.string();
  parts.info["unet_channels"] = uc.block_channels;
  parts.info["text_encoder"] = {{"layers", parts.text_encoder->config().layers},
                                {"width", parts.text_encoder->config().width}};
  parts.info["vae_channels"] = parts.vae_decoder->config().up_channels;
  parts.info["vae_encoder"] = bool(parts.vae_encoder);
  parts.info["device"] = device.str();
  parts.info["unet_dtype"] = cuda ? "float16" : "float32";
  parts.info["load_seconds"] = seconds_since(t0);
  return p;
}

GenerateResult Pipeline::generate(const GenerateRequest& r) {
  validate_request(r);
  std::lock_guard<std::mutex> lock(mutex_);
  Parts& parts = *parts_;
  const auto t0 = std::chrono::steady_clock::now();
  at::NoGradGuard no_grad;
  GenerateResult out;

  // LoRAs: merged only when the set changed (apply restores the originals first).
  if (!same_loras(r.loras, parts.applied)) {
    parts.applied.clear();
    parts.reports.clear();
    if (r.loras.empty()) {
      parts.lora.unmerge();
    } else {
      parts.reports = parts.lora.apply(r.loras);
    }
    parts.applied = r.loras;
  }
  out.loras = parts.reports;

  const int scale = vae_scale();
  const int64_t B = r.batch, h = r.height / scale, w = r.width / scale;
  const bool cfg = r.cfg > 1.0;

  // Text conditioning: prompt and negative prompt padded to the same number of 77-token windows.
  TokenizedPrompt pos = tokenize_prompt(*parts.tokenizer, r.prompt);
  TokenizedPrompt neg = tokenize_prompt(*parts.tokenizer, cfg ? r.negative_prompt : std::string());
  const TokenizedPrompt empty = tokenize_prompt(*parts.tokenizer, "");
  while (cfg && pos.ids.size() < neg.ids.size()) {
    pos.ids.push_back(empty.ids[0]);
    pos.weights.push_back(empty.weights[0]);
  }
  while (cfg && neg.ids.size() < pos.ids.size()) {
    neg.ids.push_back(empty.ids[0]);
    neg.weights.push_back(empty.weights[0]);
  }
  const at::ScalarType unet_dtype = device_.is_cuda() ? at::kHalf : at::kFloat;
  const at::Tensor c_pos = encode_tokenized_prompt(parts.text_encoder, pos, r.clip_skip);  // [1, L, D]
  at::Tensor context = c_pos.expand({B, c_pos.size(1), c_pos.size(2)});
  if (cfg) {
    const at::Tensor c_neg = encode_tokenized_prompt(parts.text_encoder, neg, r.clip_skip);
    context = at::cat({c_neg.expand({B, c_neg.size(1), c_neg.size(2)}), context}, 0);  // [2B, L, D]: uncond, cond
  }
  context = context.to(device_, unet_dtype).contiguous();
  const double t_text = seconds_since(t0);

  // Per-image generators (seed + b), on the CPU in float32.
  std::vector<at::Generator> gens;
  for (int64_t b = 0; b < B; ++b) gens.push_back(at::make_generator<at::CPUGeneratorImpl>(r.seed + uint64_t(b)));
  auto draw = [&]() {
    std::vector<at::Tensor> n;
    for (auto& g : gens) n.push_back(at::randn({1, 4, h, w}, g, at::TensorOptions().dtype(at::kFloat)));
    return at::cat(n, 0).to(device_);
  };
  at::Tensor first_noise;
  if (r.initial_noise.defined()) {
    if (r.initial_noise.sizes() != at::IntArrayRef({B, 4, h, w}))
      throw std::invalid_argument("initial_noise: expected " + c10::str(at::IntArrayRef({B, 4, h, w})) + ", got " +
                                  c10::str(r.initial_noise.sizes()));
    first_noise = r.initial_noise.to(device_, at::kFloat);
    draw();  // keep the generators' positions as if drawn
  } else {
    first_noise = draw();
  }
  const StepNoise step_noise = r.step_noise ? r.step_noise : StepNoise([&](int) { return draw(); });

  const SamplerPlan plan = make_plan(r.sampler, r.steps, parts.alphas_cumprod);
  int first_step = 0;
  at::Tensor x, init_latents, keep;  // keep: [B, 1, h, w], 1 where the init image is kept (inpainting)
  if (r.init_image.defined()) {
    if (!parts.vae_encoder)
      throw std::runtime_error("init_image: img2img needs the VAE encoder, which the weights lack (" +
                               parts.vae_encoder_error + ")");
    const at::Tensor img = image_to_vae_input(r.init_image, r.width, r.height).to(device_);
    init_latents = parts.vae_encoder->forward(img).expand({B, 4, h, w}).contiguous();  // mean * 0.18215
    first_step = img2img_first_step(r.steps, r.strength);
    x = noise_latents_to_step(r.sampler, plan, parts.alphas_cumprod, init_latents, first_noise, first_step);
    if (r.mask.defined()) {
      at::Tensor m = r.mask.to(at::kCPU, at::kFloat).clamp(0, 1).unsqueeze(0).unsqueeze(0);  // [1, 1, H, W]
      if (m.size(2) != r.height || m.size(3) != r.width) m = at::upsample_bilinear2d(m, {r.height, r.width}, false);
      m = at::adaptive_avg_pool2d(m, {h, w});  // the fraction of each latent pixel to regenerate
      keep = (1 - m).expand({B, 1, h, w}).to(device_).contiguous();
    }
  } else {
    x = first_noise * plan.init_noise_sigma;
  }

  // sqrt(alpha_bar) of the model input at each step: the VP form x_in = sqrt(a) x0 + sqrt(1 - a) eps
  // holds for all three samplers' model inputs.
  const std::vector<double> ac = [&] {
    const at::Tensor c = parts.alphas_cumprod.contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  }();
  auto sqrt_a = [&](int step) {
    if (r.sampler == SamplerKind::Ddim) return std::sqrt(ac[size_t(plan.timesteps[size_t(step)])]);
    const double s = plan.sigmas[size_t(step)];
    return 1.0 / std::sqrt(s * s + 1);
  };

  int step = first_step;
  const int run_steps = r.steps - first_step;
  double unet_seconds = 0;
  const EpsModel model = [&](const at::Tensor& x_in, double t) {
    if (r.cancelled && r.cancelled()) throw std::runtime_error("cancelled");
    const auto ts = std::chrono::steady_clock::now();
    const at::Tensor in = (cfg ? at::cat({x_in, x_in}, 0) : x_in).to(unet_dtype);
    const at::Tensor tt = at::full({in.size(0)}, t, at::TensorOptions().dtype(at::kFloat).device(device_));
    at::Tensor eps = parts.unet->forward(in, tt, context).to(at::kFloat);
    if (cfg) {
      const auto e = eps.chunk(2, 0);
      eps = e[0] + r.cfg * (e[1] - e[0]);
    }
    if (keep.defined()) {  // inpainting: the known region's x0 is the init image's latents
      const double sa = sqrt_a(step), sb = std::sqrt(std::max(1 - sa * sa, 1e-12));
      const at::Tensor x0 = (x_in - sb * eps) / sa;
      const at::Tensor x0_blend = keep * init_latents + (1 - keep) * x0;
      eps = (x_in - sa * x0_blend) / sb;
    }
    unet_seconds += seconds_since(ts);
    return eps;
  };
  const StepCallback on_step = [&](int i, int, const at::Tensor& xi, const at::Tensor& x0) {
    ++step;
    if (r.on_step) r.on_step(i - first_step + 1, run_steps, xi, x0);
  };
  x = run_sampler(r.sampler, plan, parts.alphas_cumprod, x, model, step_noise, first_step, on_step);
  if (keep.defined()) x = keep * init_latents + (1 - keep) * x;
  const double t_sample = seconds_since(t0);

  at::Tensor rgb = parts.vae_decoder->forward(x.to(at::kFloat));  // [B, 3, H, W] in [-1, 1]
  out.images = ((rgb + 1) * 0.5).clamp(0, 1).permute({0, 2, 3, 1}).to(at::kCPU).contiguous();
  out.latents = x.to(at::kCPU, at::kFloat).contiguous();

  size_t modules = 0, matched = 0;
  for (const auto& rep : out.loras) {
    modules += rep.modules;
    matched += rep.matched;
  }
  out.summary = {
      {"sampler", sampler_name(r.sampler)},
      {"steps", r.steps},
      {"steps_run", run_steps},
      {"cfg", r.cfg},
      {"seed", r.seed},
      {"width", r.width},
      {"height", r.height},
      {"batch", r.batch},
      {"clip_skip", r.clip_skip},
      {"mode", r.mask.defined()         ? "inpaint"
               : r.init_image.defined() ? "img2img"
                                        : "txt2img"},
      {"prompt_windows", pos.ids.size()},
      {"lora_modules", modules},
      {"lora_matched", matched},
      {"seconds", {{"text", t_text}, {"unet", unet_seconds}, {"sampling", t_sample}, {"total", seconds_since(t0)}}},
      {"seconds_per_step", run_steps > 0 ? unet_seconds / run_steps : 0.0}};
  if (r.init_image.defined()) out.summary["strength"] = r.strength;
  return out;
}

std::shared_ptr<Pipeline> cached_pipeline(const PipelineSources& sources, c10::Device device, bool* reused) {
  static std::mutex mutex;
  static std::shared_ptr<Pipeline> cached;
  static std::string cached_key;
  auto stamp = [](const fs::path& p) -> std::string {
    if (p.empty()) return "-";
    std::error_code ec;
    std::string s = fs::absolute(p).lexically_normal().string();
    if (fs::is_regular_file(p, ec))
      s += ":" + std::to_string(fs::file_size(p, ec)) + ":" +
           std::to_string(fs::last_write_time(p, ec).time_since_epoch().count());
    else if (fs::is_directory(p, ec))
      for (const char* f : {"unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                            "vae/diffusion_pytorch_model.safetensors"})
        if (fs::exists(p / f, ec)) s += ":" + std::to_string(fs::last_write_time(p / f, ec).time_since_epoch().count());
    return s;
  };
  const std::string key = stamp(sources.checkpoint) + "|" + stamp(sources.vae) + "|" + stamp(sources.merges) + "|" +
                          stamp(sources.unet_config) + "|" + stamp(sources.text_encoder_config) + "|" + device.str();
  std::lock_guard<std::mutex> lock(mutex);
  if (cached && cached_key == key) {
    if (reused) *reused = true;
    return cached;
  }
  cached.reset();  // free the old weights before loading new ones
  cached_key.clear();
  cached = Pipeline::load(sources, device);
  cached_key = key;
  if (reused) *reused = false;
  return cached;
}

}  // namespace camgraph::sd
