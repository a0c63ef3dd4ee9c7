#include "camgraph/safetensors.h"

#include <ATen/ATen.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
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
    {at::kDouble, "F64"}, {at::kFloat, "F32"}, {at::kHalf, "F16"}, {at::kBFloat16, "BF16"}, {at::kLong, "I64"},
    {at::kInt, "I32"},    {at::kShort, "I16"}, {at::kChar, "I8"},  {at::kByte, "U8"},       {at::kBool, "BOOL"},
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
constexpr int kMaxHeaderDepth = 8;                     // a real header nests 3 deep (shape in tensor in root)
constexpr size_t kMaxRank = 64;

// Fails when the JSON text opens more than kMaxHeaderDepth arrays or objects at once (brackets in
// strings do not count): nlohmann would build, and dump() would recurse through, every level.
void check_header_depth(std::string_view text, const std::function<void(const std::string&)>& fail) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxHeaderDepth)
        fail("header nested deeper than " + std::to_string(kMaxHeaderDepth) + " levels at byte " +
             std::to_string(8 + i));
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// A user's text in a message: at most 80 characters.
std::string brief(const std::string& s) { return s.size() > 80 ? s.substr(0, 80) + "..." : s; }
std::string brief(const nlohmann::json& j) {
  if (j.is_array()) return "[array of " + std::to_string(j.size()) + "]";
  if (j.is_object()) return "{object of " + std::to_string(j.size()) + "}";
  return brief(j.dump());  // a scalar: no recursion
}

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

namespace {

struct Layout {
  uint64_t data_start = 0;
  std::map<std::string, std::string> metadata;
  std::map<std::string, SafetensorsTensorInfo> tensors;
};

// Validates the header of a whole file's bytes (see safetensors.h for the checks).
Layout parse_layout(std::string_view bytes, const std::string& source) {
  auto fail = [&](const std::string& m) -> void {
    throw std::runtime_error(source + ": not a valid safetensors file: " + m);
  };
  if (bytes.size() < 8) fail("shorter than the 8-byte header length");
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= uint64_t(uint8_t(bytes[i])) << (8 * i);
  if (hlen > kMaxHeader) fail("header length " + std::to_string(hlen) + " exceeds 100 MB");
  if (hlen < 2) fail("header length " + std::to_string(hlen) + " is too short for a JSON object");
  if (8 + hlen > bytes.size())
    fail("header length " + std::to_string(hlen) + " runs past the end of the file (" + std::to_string(bytes.size()) +
         " bytes; truncated?)");
  if (bytes[8] != '{') fail("header does not start with '{' (not JSON)");
  check_header_depth(bytes.substr(8, hlen), fail);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, hlen));
  } catch (const std::exception& e) {
    fail(std::string("header is not JSON: ") + brief(std::string(e.what())));
  }
  if (!header.is_object()) fail("header is not a JSON object");
  const uint64_t data_size = bytes.size() - 8 - hlen;
  Layout out;
  out.data_start = 8 + hlen;
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail("__metadata__ must be an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail("__metadata__ value for '" + brief(m.key()) + "' is not a string");
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const auto& e = *it;
    const std::string where = "tensor '" + brief(it.key()) + "'";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      fail(where + " needs dtype, shape and data_offsets");
    SafetensorsTensorInfo info;
    if (!e["dtype"].is_string() || !dtype_from_name(e["dtype"].get<std::string>(), info.dtype))
      fail(where + " has unsupported dtype " + brief(e["dtype"]) + " (known: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
    const auto& shape = e["shape"];
    if (!shape.is_array() || shape.size() > kMaxRank)
      fail(where + " has a bad shape " + brief(shape) + " (an array of at most " + std::to_string(kMaxRank) +
           " dimensions)");
    // The element count, and the product of the non-zero dims (libtorch's strides of an empty
    // tensor), must both fit: a [0, 2^62, 2^62] tensor has no elements but unrepresentable strides.
    uint64_t numel = 1, nonzero = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(INT64_MAX))
        fail(where + " has a bad shape: dimension " + brief(d) + " is not a count");
      info.shape.push_back(d.get<int64_t>());
      if (__builtin_mul_overflow(numel, d.get<uint64_t>(), &numel) ||
          (d.get<uint64_t>() && __builtin_mul_overflow(nonzero, d.get<uint64_t>(), &nonzero)) ||
          nonzero > uint64_t(INT64_MAX))
        fail(where + " has a shape whose element count overflows");
    }
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(where + " has bad data_offsets");
    info.begin = off[0].get<uint64_t>();
    info.end = off[1].get<uint64_t>();
    const uint64_t esize = c10::elementSize(info.dtype);
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, esize, &nbytes) || info.end < info.begin || info.end - info.begin != nbytes)
      fail(where + ": data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
           ") do not match shape " + brief(shape.dump()) + " and dtype " + e["dtype"].get<std::string>() + " (" +
           std::to_string(nbytes) + " bytes)");
    if (info.end > data_size)
      fail(where + " ends at byte " + std::to_string(info.end) + " of a " + std::to_string(data_size) +
           "-byte data buffer (truncated?)");
    ranges.push_back({{info.begin, info.end}, it.key()});
    out.tensors[it.key()] = std::move(info);
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [r, name] : ranges) {
    if (r.first < covered)
      fail("tensor data ranges overlap (tensor '" + brief(name) + "' starts at data byte " + std::to_string(r.first) +
           ", before the previous tensor ends at " + std::to_string(covered) + ")");
    if (r.first > covered)
      fail("bytes [" + std::to_string(covered) + ", " + std::to_string(r.first) +
           ") of the data buffer belong to no tensor (before tensor '" + brief(name) + "')");
    covered = r.second;
  }
  if (covered != data_size)
    fail("the data buffer has " + std::to_string(data_size - covered) + " trailing bytes that belong to no tensor");
  return out;
}

at::Tensor copy_tensor(const char* data, const SafetensorsTensorInfo& info) {
  at::Tensor t = at::empty(info.shape, at::TensorOptions().dtype(info.dtype));
  if (info.end > info.begin) std::memcpy(t.data_ptr(), data + info.begin, info.end - info.begin);
  return t;
}

}  // namespace

SafetensorsFile safetensors_parse(std::string_view bytes, const std::string& source) {
  Layout layout = parse_layout(bytes, source);
  SafetensorsFile out;
  out.metadata = std::move(layout.metadata);
  for (const auto& [name, info] : layout.tensors)
    out.tensors[name] = copy_tensor(bytes.data() + layout.data_start, info);
  return out;
}

SafetensorsFile safetensors_load(const std::filesystem::path& path) {
  SafetensorsReader r(path);
  SafetensorsFile out;
  out.metadata = r.metadata();
  for (const auto& [name, info] : r.tensors()) out.tensors[name] = r.get(name);
  return out;
}

SafetensorsReader::SafetensorsReader(const std::filesystem::path& path) : source_(path.string()) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(source_ + ": cannot open safetensors file: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(source_ + ": not a regular file");
  }
  size_ = uint64_t(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    throw std::runtime_error(source_ + ": not a valid safetensors file: shorter than the 8-byte header length");
  }
  void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw std::runtime_error(source_ + ": cannot memory-map: " + std::strerror(errno));
  base_ = static_cast<const char*>(m);
  try {
    Layout layout = parse_layout(std::string_view(base_, size_), source_);
    data_start_ = layout.data_start;
    metadata_ = std::move(layout.metadata);
    tensors_ = std::move(layout.tensors);
  } catch (...) {
    ::munmap(const_cast<char*>(base_), size_);
    base_ = nullptr;
    throw;
  }
}

SafetensorsReader::~SafetensorsReader() {
  if (base_) ::munmap(const_cast<char*>(base_), size_);
}

at::Tensor SafetensorsReader::get(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::runtime_error(source_ + ": no tensor named '" + name + "'");
  return copy_tensor(base_ + data_start_, it->second);
}

at::Tensor SafetensorsReader::get_float(const std::string& name, at::ScalarType float_type) const {
  at::Tensor t = get(name);
  return at::isFloatingType(t.scalar_type()) && t.scalar_type() != float_type ? t.to(float_type) : t;
}

void safetensors_save_atomic(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                             const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, safetensors_serialize(tensors, metadata));
}

}  // namespace camgraph
