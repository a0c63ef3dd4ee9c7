// A diffusers folder assembled from the sd family's committed tiny components (nodes/sd/tests/golden,
// make_goldens.py): tokenizer, text encoder, the pipeline's tiny UNet and the tiny VAE (encoder and
// decoder in one file). For tests of the pipeline, sd.generate and nodes that call the pipeline
// (depth.lift's SD fill). Built once per process under the system temp folder.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "camgraph/safetensors.h"
#include "sd_test_support.h"

namespace camgraph::sd::testing {

inline std::filesystem::path tiny_sd_folder() {
  namespace fs = std::filesystem;
  static const fs::path dir = [] {
    const fs::path g = golden_dir();
    const fs::path d = fs::temp_directory_path() / ("camgraph-tiny-sd-" + std::to_string(::getpid())) / "tiny-sd";
    auto put = [&](const char* from, const char* to) {
      fs::create_directories((d / to).parent_path());
      fs::copy_file(g / from, d / to, fs::copy_options::overwrite_existing);
    };
    fs::create_directories(d);
    std::ofstream(d / "model_index.json") << "{\"_class_name\": \"StableDiffusionPipeline\"}";
    put("tokenizer/vocab.json", "tokenizer/vocab.json");
    put("tokenizer/merges.txt", "tokenizer/merges.txt");
    put("text_encoder/diffusers/config.json", "text_encoder/config.json");
    put("text_encoder/diffusers/model.safetensors", "text_encoder/model.safetensors");
    put("pipeline/unet/config.json", "unet/config.json");
    put("pipeline/unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.safetensors");
    auto vae = safetensors_load(g / "vae/decoder.safetensors").tensors;
    for (auto& [k, t] : safetensors_load(g / "vae/encoder.safetensors").tensors) vae[k] = t;
    fs::create_directories(d / "vae");
    safetensors_save_atomic(d / "vae/diffusion_pytorch_model.safetensors", vae);
    return d;
  }();
  return dir;
}

}  // namespace camgraph::sd::testing
