#include "splat/train/archive.h"

#include <camgraph/output_files.h>

#include <cstring>
#include <stdexcept>

namespace camgraph::splat {
namespace {
constexpr char kMagic[8] = {'C', 'G', 'S', 'P', 'L', 'A', 'T', '1'};

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "f32";
    case at::kDouble: return "f64";
    case at::kInt: return "i32";
    case at::kLong: return "i64";
    case at::kByte: return "u8";
    case at::kBool: return "bool";
    default: throw std::runtime_error(std::string("archive: unsupported dtype ") + c10::toString(t));
  }
}

at::ScalarType dtype_from(const std::string& s) {
  if (s == "f32") return at::kFloat;
  if (s == "f64") return at::kDouble;
  if (s == "i32") return at::kInt;
  if (s == "i64") return at::kLong;
  if (s == "u8") return at::kByte;
  if (s == "bool") return at::kBool;
  throw std::runtime_error("unknown dtype '" + s + "'");
}

void put_u64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = char((v >> (8 * i)) & 0xff);
  out.append(b, 8);
}

uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
  return v;
}
}  // namespace

void write_archive(const std::filesystem::path& path, const TensorArchive& archive) {
  // Header first (offsets from sizes), then one buffer holding everything: one copy of the data.
  nlohmann::json header = {{"meta", archive.meta}, {"tensors", nlohmann::json::array()}};
  std::vector<at::Tensor> tensors;
  size_t offset = 0;
  for (const auto& [name, t] : archive.tensors) {
    auto c = t.detach().to(at::kCPU).contiguous();
    const size_t bytes = size_t(c.numel()) * c.element_size();
    header["tensors"].push_back({{"name", name},
                                 {"dtype", dtype_name(c.scalar_type())},
                                 {"shape", c.sizes().vec()},
                                 {"offset", offset},
                                 {"bytes", bytes}});
    offset += bytes;
    tensors.push_back(c);
  }
  const std::string h = header.dump();
  std::string out;
  out.reserve(24 + h.size() + offset);
  out.append(kMagic, 8);
  put_u64(out, h.size());
  out += h;
  for (const auto& c : tensors)
    if (c.numel()) out.append(static_cast<const char*>(c.data_ptr()), size_t(c.numel()) * c.element_size());
  put_u64(out, hash_bytes(out));
  write_file_atomic(path, out);
}

TensorArchive read_archive(const std::filesystem::path& path) {
  const std::string where = "checkpoint " + path.string();
  std::string data;
  try {
    data = read_file(path);
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": cannot read: " + e.what());
  }
  if (data.size() < 24 || std::memcmp(data.data(), kMagic, 8) != 0)
    throw std::runtime_error(where + ": not a CamGraph splat checkpoint (bad header)");
  const uint64_t stored = get_u64(data.data() + data.size() - 8);
  if (hash_bytes(std::string_view(data.data(), data.size() - 8)) != stored)
    throw std::runtime_error(where + ": file is truncated or corrupt (checksum mismatch)");
  const uint64_t hlen = get_u64(data.data() + 8);
  if (hlen > data.size() - 24) throw std::runtime_error(where + ": corrupt header length");
  TensorArchive a;
  try {
    auto header = nlohmann::json::parse(data.begin() + 16, data.begin() + 16 + int64_t(hlen));
    a.meta = header.at("meta");
    const size_t base = 16 + hlen, end = data.size() - 8;
    for (const auto& t : header.at("tensors")) {
      const auto shape = t.at("shape").get<std::vector<int64_t>>();
      const size_t off = t.at("offset").get<size_t>(), bytes = t.at("bytes").get<size_t>();
      auto tensor = at::empty(shape, at::TensorOptions().dtype(dtype_from(t.at("dtype").get<std::string>())));
      if (size_t(tensor.numel()) * tensor.element_size() != bytes || base + off + bytes > end)
        throw std::runtime_error("tensor '" + t.at("name").get<std::string>() + "' out of range");
      if (bytes) std::memcpy(tensor.data_ptr(), data.data() + base + off, bytes);
      a.tensors[t.at("name").get<std::string>()] = tensor;
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": corrupt contents: " + e.what());
  }
  return a;
}

}  // namespace camgraph::splat
