// A small self-checking file format for named CPU tensors plus JSON metadata (checkpoints).
//
//   "CGSPLAT1" | u64 header length | header JSON | tensor bytes ... | u64 XXH3 of all before
//
// The header holds {"meta": ..., "tensors": [{name, dtype, shape, offset, bytes}]}; tensor
// bytes are raw, contiguous, little-endian. Written atomically (temp file + rename).
#pragma once
#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace camgraph::splat {

struct TensorArchive {
  nlohmann::json meta;
  std::map<std::string, at::Tensor> tensors;
};

void write_archive(const std::filesystem::path& path, const TensorArchive& archive);
// Throws std::runtime_error naming the file if it is missing, truncated, corrupt or not ours.
TensorArchive read_archive(const std::filesystem::path& path);

}  // namespace camgraph::splat
