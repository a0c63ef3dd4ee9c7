#include "camgraph/safetensors.h"

#include <ATen/ATen.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "camgraph/output_files.h"

namespace camgraph {

namespace {

struct DtypeName {
  at::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {
    {at::kDouble, "F64"}, {at::kFloat, "F32"}, {at::kHalf, "F16"}, {at::kBFloat16, "BF16"},
    {at::kLong, "I64"},   {at::kInt, "I32"},   {at::kShort, "I16"}, {at::kChar, "I8"},
    {at::kByte, "U8"},    {at::kBool, "BOOL"},
};

const char* dtype_name(at::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  throw std::runtime_error(std::string("safetensors: unsupported dtype ") + c10::toString(t));
}

bool dtype_from_name(const std::string& s, at::ScalarType& out) {
  for (const auto& d : kDtypes)
    if (s == d.name) {
      out = d.type;
      return true;
    }
  return false;
}

constexpr uint64_t kMaxHeader = 100u * 1000u * 1000u;  // as the reference implementation

}  // namespace

std::string safetensors_serialize(const std::map<std::string, at::Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> cpu;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const uint64_t nbytes = uint64_t(c.numel()) * c.element_size();
    header[name] = {{"dtype", dtype_name(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    cpu.push_back(c);
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');  // align the data buffer to 8 bytes
  std::string out;
  out.resize(8 + h.size() + offset);
  const uint64_t hlen = h.size();
  for (int i = 0; i < 8; ++i) out[i] = char((hlen >> (8 * i)) & 0xff);
  std::memcpy(&out[8], h.data(), h.size());
  size_t pos = 8 + h.size();
  for (const auto& c : cpu) {
    const size_t n = size_t(c.numel()) * c.element_size();
    if (n) std::memcpy(&out[pos], c.data_ptr(), n);
    pos += n;
  }
  return out;
}

SafetensorsFile safetensors_parse(std::string_view bytes, const std::string& source) {
  auto fail = [&](const std::string& m) -> void {
    throw std::runtime_error(source + ": not a valid safetensors file: " + m);
  };
  if (bytes.size() < 8) fail("shorter than the 8-byte header length");
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= uint64_t(uint8_t(bytes[i])) << (8 * i);
  if (hlen > kMaxHeader) fail("header length " + std::to_string(hlen) + " exceeds 100 MB");
  if (8 + hlen > bytes.size())
    fail("header length " + std::to_string(hlen) + " runs past the end of the file (" +
         std::to_string(bytes.size()) + " bytes; truncated?)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, hlen));
  } catch (const std::exception& e) {
    fail(std::string("header is not JSON: ") + e.what());
  }
  if (!header.is_object()) fail("header is not a JSON object");
  const std::string_view data = bytes.substr(8 + hlen);
  SafetensorsFile out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail("__metadata__ must be an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail("__metadata__ value for '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const auto& e = *it;
    const std::string where = "tensor '" + it.key() + "'";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      fail(where + " needs dtype, shape and data_offsets");
    at::ScalarType dt;
    if (!e["dtype"].is_string() || !dtype_from_name(e["dtype"].get<std::string>(), dt))
      fail(where + " has unsupported dtype " + e["dtype"].dump());
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) fail(where + " has a bad shape " + e["shape"].dump());
      shape.push_back(d.get<int64_t>());
      numel *= shape.back();
    }
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(where + " has bad data_offsets");
    const uint64_t b = off[0].get<uint64_t>(), en = off[1].get<uint64_t>();
    const uint64_t esize = c10::elementSize(dt);
    if (en < b || en - b != uint64_t(numel) * esize)
      fail(where + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(en) +
           ") do not match shape and dtype (" + std::to_string(uint64_t(numel) * esize) + " bytes)");
    if (en > data.size())
      fail(where + " ends at byte " + std::to_string(en) + " of a " + std::to_string(data.size()) +
           "-byte data buffer (truncated?)");
    ranges.push_back({b, en});
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
    if (en > b) std::memcpy(t.data_ptr(), data.data() + b, en - b);
    out.tensors[it.key()] = t;
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail("tensor data ranges overlap");
  return out;
}

SafetensorsFile safetensors_load(const std::filesystem::path& path) {
  return safetensors_parse(read_file(path), path.string());
}

void safetensors_save_atomic(const std::filesystem::path& path,
                             const std::map<std::string, at::Tensor>& tensors,
                             const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, safetensors_serialize(tensors, metadata));
}

}  // namespace camgraph
