// The tiny UNet golden (nodes/sd/tests/golden/unet/, make_goldens.py): its weights are stored gzipped to
// keep the golden budget small, so the tests unpack them into a diffusers-style folder first.
#pragma once
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "sd_test_support.h"

namespace camgraph::sd::testing {

inline std::string gunzip_file(const std::filesystem::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path.string());
  std::string text;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
  const bool ok = n == 0;
  gzclose(f);
  if (!ok) throw std::runtime_error("cannot decompress " + path.string());
  return text;
}

// <temp>/unet/diffusion_pytorch_model.safetensors with unet/config.json next to it (unpacked once per process).
inline std::filesystem::path tiny_unet() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("camgraph-sd-tiny-unet-" + std::to_string(::getpid())) / "unet";
  const fs::path weights = dir / "diffusion_pytorch_model.safetensors";
  if (!fs::exists(weights)) {
    fs::create_directories(dir);
    const std::string bytes = gunzip_file(golden_dir() / "unet/diffusion_pytorch_model.safetensors.gz");
    std::ofstream(dir / "part", std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    fs::rename(dir / "part", weights);
    fs::copy_file(golden_dir() / "unet/config.json", dir / "config.json", fs::copy_options::overwrite_existing);
  }
  return weights;
}

// diffusers key -> LDM key of the tiny UNet, as the golden generator wrote it.
inline std::map<std::string, std::string> tiny_unet_ldm_table() {
  return nlohmann::json::parse(gunzip_file(golden_dir() / "unet/ldm_keys.json.gz"))
      .get<std::map<std::string, std::string>>();
}

}  // namespace camgraph::sd::testing
