// The safetensors format (u64 little-endian header length, JSON header, raw data): used by the
// disk cache and by nodes that load published weights. Includes ATen.
#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace camgraph {

struct SafetensorsFile {
  std::map<std::string, at::Tensor> tensors;          // CPU, contiguous
  std::map<std::string, std::string> metadata;        // "__metadata__" (string to string)
};

// Serialises CPU or device tensors (copied to CPU). Supported dtypes: F64 F32 F16 BF16 I64 I32
// I16 I8 U8 BOOL.
std::string safetensors_serialize(const std::map<std::string, at::Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});
// Parses a whole file's bytes; errors name `source` and what is wrong (header size, dtype,
// offsets out of range, overlapping data...).
SafetensorsFile safetensors_parse(std::string_view bytes, const std::string& source);
SafetensorsFile safetensors_load(const std::filesystem::path& path);
void safetensors_save_atomic(const std::filesystem::path& path,
                             const std::map<std::string, at::Tensor>& tensors,
                             const std::map<std::string, std::string>& metadata = {});

}  // namespace camgraph
