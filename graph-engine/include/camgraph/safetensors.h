// The safetensors format (u64 little-endian header length, JSON header, raw data): used by the
// disk cache and by nodes that load published weights. Includes ATen.
//
// Every reader checks the file as the reference implementation does, and refuses a bad one with an
// error that names the file: header length within 100 MB and inside the file, a JSON object header,
// known dtypes (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL), non-negative shapes whose element count
// times the dtype size equals the tensor's byte range, ranges inside the data buffer, and ranges
// that neither overlap nor leave holes (they tile the data buffer exactly).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace camgraph {

struct SafetensorsFile {
  std::map<std::string, at::Tensor> tensors;    // CPU, contiguous
  std::map<std::string, std::string> metadata;  // "__metadata__" (string to string)
};

// Serialises CPU or device tensors (copied to CPU). Supported dtypes: F64 F32 F16 BF16 I64 I32
// I16 I8 U8 BOOL.
std::string safetensors_serialize(const std::map<std::string, at::Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});
// Parses a whole file's bytes; errors name `source` and what is wrong (header size, dtype,
// offsets out of range, overlapping data...).
SafetensorsFile safetensors_parse(std::string_view bytes, const std::string& source);
// Loads every tensor (through SafetensorsReader: the file is memory-mapped, not read twice).
SafetensorsFile safetensors_load(const std::filesystem::path& path);
void safetensors_save_atomic(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                             const std::map<std::string, std::string>& metadata = {});

// One tensor's entry in a safetensors header.
struct SafetensorsTensorInfo {
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range in the data buffer (after the header)
};

// A safetensors file opened by memory-mapping it (read-only): the header is validated on open, the
// tensors are copied out one at a time on request, so a 4 GB checkpoint is never held twice.
class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::filesystem::path& path);  // throws (names the file)
  ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  const std::string& source() const { return source_; }  // the path, for messages
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::map<std::string, SafetensorsTensorInfo>& tensors() const { return tensors_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  uint64_t file_size() const { return size_; }

  // A CPU tensor (own storage) in the stored dtype. Throws naming the file for an unknown name.
  at::Tensor get(const std::string& name) const;
  // Floating tensors (F16, BF16, F32, F64) converted to `float_type` (CPU upcast of half/bfloat16
  // weights); integer and bool tensors are returned unchanged.
  at::Tensor get_float(const std::string& name, at::ScalarType float_type = at::kFloat) const;

 private:
  std::string source_;
  const char* base_ = nullptr;  // mapping of the whole file
  uint64_t size_ = 0;
  uint64_t data_start_ = 0;  // 8 + header length
  std::map<std::string, std::string> metadata_;
  std::map<std::string, SafetensorsTensorInfo> tensors_;
};

}  // namespace camgraph
