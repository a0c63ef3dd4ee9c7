// The SD 1.5 generator: tokenizer + CLIP text encoder + UNet + VAE, loaded once from a single-file
// checkpoint (.safetensors/.ckpt, LDM keys) or a diffusers folder (text_encoder/ unet/ vae/
// tokenizer/), an optional separate VAE, LoRAs merged in place (exact unmerge when the set
// changes, no reload). txt2img, img2img (init image + strength) and inpainting with an ordinary
// model (img2img + mask: the known region's predicted x0 is replaced by the init latents at every
// step and the final latents are blended, like A1111's "inpaint" with a non-inpainting checkpoint,
// except that the latent mask stays soft (the fraction of each latent pixel to regenerate) where
// A1111 rounds it to 0/1; tested by its properties (known region kept, holes regenerated), not
// against A1111's output).
//
// Determinism: image b of a batch uses a torch CPU generator seeded with seed + b, drawing in this
// order: the initial noise [1, 4, h, w] (txt2img x_T, or img2img's noise added to the init latents),
// then one [1, 4, h, w] draw per ancestral (euler_a) step. So image b of a batch equals image 0 of a
// batch-1 run with seed + b, on every device (the noise is drawn on the CPU in float32).
// Precision: float32 on CPU; on CUDA the UNet runs in float16 (weights converted, inputs cast),
// the text encoder and the VAE stay in float32 (SD's VAE overflows in fp16).
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sd/lora.h"
#include "sd/samplers.h"

namespace camgraph::sd {

struct PipelineSources {
  std::filesystem::path checkpoint;  // single file, or a diffusers folder (model_index.json)
  std::filesystem::path vae;         // optional: a separate VAE file (diffusers or LDM keys)
  std::filesystem::path merges;      // CLIP merges for single files (bpe_simple_vocab_16e6.txt[.gz] or merges.txt)
  // Single files whose UNet is not SD 1.5's 8 heads / 32 GroupNorm groups: a diffusers
  // unet/config.json holding them (a diffusers folder's own config.json is always read).
  std::filesystem::path unet_config;
  // Likewise for a text encoder whose heads are not 64 wide: a transformers text_encoder/config.json.
  std::filesystem::path text_encoder_config;
  bool operator==(const PipelineSources& o) const {
    return checkpoint == o.checkpoint && vae == o.vae && merges == o.merges && unet_config == o.unet_config &&
           text_encoder_config == o.text_encoder_config;
  }
};

// Called after each step: (step 1-based, steps run, current latents, predicted x0), both [B, 4, h, w].
using GenerateStepFn = std::function<void(int, int, const at::Tensor&, const at::Tensor&)>;

struct GenerateRequest {
  std::string prompt, negative_prompt;  // A1111 syntax: (word:1.2), [word], BREAK, > 75 tokens
  SamplerKind sampler = SamplerKind::DpmPP2MKarras;
  int steps = 20;
  double cfg = 7.0;  // <= 1: no classifier-free guidance (the negative prompt is unused)
  uint64_t seed = 0;
  int width = 512, height = 512, batch = 1;  // width/height: multiples of 8
  int clip_skip = 1;
  std::vector<LoraSpec> loras;  // merged before sampling; the previous set is unmerged exactly

  // img2img: RGB [H, W, 3(+1)] in [0, 1] (resized to width x height when it differs); the init
  // latents are the VAE encoder's mean. strength in (0, 1]: steps * strength steps run.
  at::Tensor init_image;
  double strength = 0.75;
  // Inpainting (with init_image): [H, W] in [0, 1], 1 = regenerate, 0 = keep the init image.
  at::Tensor mask;

  GenerateStepFn on_step;           // progress / previews
  std::function<bool()> cancelled;  // polled between steps; true aborts with std::runtime_error("cancelled")

  // Reproduction hooks (tests against diffusers, whose pipelines draw noise their own way): unit
  // noise [B, 4, h, w] used instead of the seeded initial draw, and ancestral noise per step.
  at::Tensor initial_noise;
  StepNoise step_noise;
};

struct GenerateResult {
  at::Tensor images;                  // [B, height, width, 3] float32 in [0, 1], CPU
  at::Tensor latents;                 // [B, 4, h, w] float32, CPU (scaled, as sampled)
  std::vector<LoraFileReport> loras;  // what the current LoRA set matched
  nlohmann::json summary;             // sampler, steps, seed, sizes, lora counts, timings
};

// Fixed linear latent -> RGB map for previews (SD 1.5's 4 latent channels; the widely used
// coefficients of ComfyUI's latent_formats.SD15.latent_rgb_factors): rgb = latents^T F in about
// [-1, 1], then (rgb + 1) / 2 clamped. latents [B, 4, h, w] -> [B, h, w, 3] in [0, 1].
at::Tensor latent_preview_rgb(const at::Tensor& latents);

class Pipeline {
 public:
  // Loads every component (throws naming the file and the missing part). device: CPU or CUDA.
  static std::shared_ptr<Pipeline> load(const PipelineSources& sources, c10::Device device);
  ~Pipeline();

  // Thread-safe (one generation at a time per pipeline). Throws std::invalid_argument naming the
  // request field ("width", "strength", ...) for impossible requests.
  GenerateResult generate(const GenerateRequest& request);

  const PipelineSources& sources() const { return sources_; }
  c10::Device device() const { return device_; }
  int vae_scale() const;        // image pixels per latent pixel (8 for SD 1.5)
  nlohmann::json info() const;  // what was loaded from where (layouts, configs)

  struct Parts;

 private:
  Pipeline(PipelineSources s, c10::Device d);
  PipelineSources sources_;
  c10::Device device_;
  std::unique_ptr<Parts> parts_;
  std::mutex mutex_;
};

// One pipeline kept per process (the last one used): the same sources and device reuse it, so a
// changed prompt, seed or LoRA set does not reload; other sources replace it. File sizes and
// modification times are part of the key, so a replaced weight file is reloaded.
std::shared_ptr<Pipeline> cached_pipeline(const PipelineSources& sources, c10::Device device, bool* reused = nullptr);

// Checks width/height/batch/steps/strength/cfg/clip_skip; throws std::invalid_argument whose
// message starts with the field name ("width: 500 is not a multiple of 8").
void validate_request(const GenerateRequest& r);

}  // namespace camgraph::sd
