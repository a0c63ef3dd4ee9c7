// The ONNX protobuf walk (see onnx_summary.h). Protobuf wire format: each field is a varint key
// (field number << 3 | wire type) followed by a varint (0), 8 bytes (1), a varint length and that
// many bytes (2), or 4 bytes (5); groups (3, 4) do not occur in ONNX.
#include "camgraph/formats/onnx_summary.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

namespace camgraph {
namespace {

constexpr uint64_t kMaxOnnxBytes = uint64_t(2) << 30;  // protobuf's 2 GB message limit

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t value = 0;  // wire 0
  const unsigned char* data = nullptr;
  size_t size = 0;    // wire 2 (also 1 and 5: the fixed bytes)
  size_t offset = 0;  // of the key, from the start of the file
};

class Walker {
 public:
  Walker(std::string_view bytes, const std::string& source)
      : base_(reinterpret_cast<const unsigned char*>(bytes.data())), source_(source) {}

  [[noreturn]] void fail(size_t offset, const std::string& what) const {
    throw std::runtime_error(source_ + ": not a valid ONNX model: " + what + " at byte " + std::to_string(offset));
  }
  size_t offset_of(const unsigned char* p) const { return size_t(p - base_); }

  bool read_varint(const unsigned char*& p, const unsigned char* end, uint64_t& v) const {
    v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p >= end) return false;
      const unsigned char b = *p++;
      if (shift == 63 && (b & 0x7e)) return false;  // more than 64 bits
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }

  // Calls f(field) for each field of the message in [p, end); `what` names the message in errors.
  template <class F>
  void for_each_field(const unsigned char* p, const unsigned char* end, const char* what, F&& f) const {
    while (p < end) {
      Field fd;
      fd.offset = offset_of(p);
      uint64_t key;
      if (!read_varint(p, end, key)) fail(fd.offset, std::string("truncated or overlong field key in ") + what);
      if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) fail(fd.offset, std::string("field number 0 in ") + what);
      fd.number = uint32_t(key >> 3);
      fd.wire = uint32_t(key & 7);
      switch (fd.wire) {
        case 0:
          if (!read_varint(p, end, fd.value)) fail(fd.offset, std::string("truncated varint in ") + what);
          break;
        case 1:
        case 5: {
          const size_t n = fd.wire == 1 ? 8 : 4;
          if (size_t(end - p) < n) fail(fd.offset, std::string("truncated fixed-size field in ") + what);
          fd.data = p;
          fd.size = n;
          p += n;
          break;
        }
        case 2: {
          uint64_t n;
          if (!read_varint(p, end, n)) fail(fd.offset, std::string("truncated length in ") + what);
          if (n > uint64_t(end - p))
            fail(fd.offset, std::string("a field of ") + what + " declares " + std::to_string(n) + " bytes, only " +
                                std::to_string(end - p) + " remain in its message");
          fd.data = p;
          fd.size = size_t(n);
          p += n;
          break;
        }
        default: fail(fd.offset, "wire type " + std::to_string(fd.wire) + " in " + what + " (not protobuf data?)");
      }
      f(fd);
    }
  }
  template <class F>
  void for_each_field(const Field& m, const char* what, F&& f) const {
    for_each_field(m.data, m.data + m.size, what, std::forward<F>(f));
  }

  std::string str(const Field& f) const {
    if (f.wire != 2) fail(f.offset, "a string field that is not length-delimited");
    return std::string(reinterpret_cast<const char*>(f.data), f.size);
  }

  // Counts the elements of a repeated numeric field, packed (wire 2) or not.
  uint64_t count_elements(const Field& f, size_t fixed_width) const {
    if (f.wire != 2) return 1;
    if (fixed_width) {
      if (f.size % fixed_width) fail(f.offset, "packed tensor data whose size is not a multiple of its element size");
      return f.size / fixed_width;
    }
    uint64_t n = 0, v;
    for (const unsigned char *p = f.data, *end = f.data + f.size; p < end; ++n)
      if (!read_varint(p, end, v)) fail(f.offset, "truncated packed varints in tensor data");
    return n;
  }

  void check_tensor(const Field& t);

 private:
  const unsigned char* base_;
  const std::string& source_;
};

// Bytes per element of an ONNX TensorProto.DataType; 0 for STRING (and unknown: -1).
int element_size(uint64_t type) {
  switch (type) {
    case 2:
    case 3:
    case 9: return 1;  // UINT8 INT8 BOOL
    case 4:
    case 5:
    case 10:
    case 16: return 2;  // UINT16 INT16 FLOAT16 BFLOAT16
    case 1:
    case 6:
    case 12: return 4;  // FLOAT INT32 UINT32
    case 7:
    case 11:
    case 13:
    case 14: return 8;   // INT64 DOUBLE UINT64 COMPLEX64
    case 15: return 16;  // COMPLEX128
    case 8: return 0;    // STRING
    default: return -1;
  }
}

void Walker::check_tensor(const Field& t) {
  if (t.wire != 2) fail(t.offset, "a tensor that is not a message");
  std::string name;
  std::vector<int64_t> dims;
  uint64_t type = 0, raw = 0, typed = 0;
  bool has_raw = false, has_typed = false, external = false;
  for_each_field(t, "a tensor", [&](const Field& f) {
    switch (f.number) {
      case 1:  // dims (int64, packed or not)
        if (f.wire == 0) {
          dims.push_back(int64_t(f.value));
        } else if (f.wire == 2) {
          uint64_t v;
          for (const unsigned char *p = f.data, *end = f.data + f.size; p < end;) {
            if (!read_varint(p, end, v)) fail(f.offset, "truncated tensor dims");
            dims.push_back(int64_t(v));
          }
        }
        break;
      case 2: type = f.value; break;
      case 8: name = str(f); break;
      case 9:
        has_raw = true;
        raw += f.wire == 2 ? f.size : 0;
        break;
      case 4:
      case 5:
      case 6:
      case 7:
      case 10:
      case 11: {  // float int32 string int64 double uint64 data
        has_typed = true;
        const size_t width = f.number == 4 ? 4 : f.number == 10 ? 8 : 0;  // the others are varints
        typed += f.number == 6 ? 1 : count_elements(f, f.wire == 2 ? width : 0);
        break;
      }
      case 13: external = true; break;  // external_data
      case 14: external = external || f.value == 1; break;
      default: break;
    }
  });
  const std::string what = "tensor '" + name + "'";
  if (external) fail(t.offset, what + " keeps its data in an external file (not supported)");
  const int esize = element_size(type);
  if (esize < 0) fail(t.offset, what + " has unknown data type " + std::to_string(type));
  uint64_t numel = 1;
  for (int64_t d : dims) {
    if (d < 0) fail(t.offset, what + " has a negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(numel, uint64_t(d), &numel))
      fail(t.offset, what + ": the product of its dims overflows");
  }
  uint64_t held = 0;
  if (has_raw) {
    uint64_t need = 0;
    if (esize == 0) fail(t.offset, what + ": raw data for a string tensor");
    if (__builtin_mul_overflow(numel, uint64_t(esize), &need) || need != raw)
      fail(t.offset, what + " declares " + std::to_string(numel) + " elements of " + std::to_string(esize) +
                         " bytes but holds " + std::to_string(raw) + " bytes of raw data");
    held = numel;
  } else if (has_typed) {
    held = typed;
  }
  // Complex values take two floats or doubles each.
  if (!has_raw && (type == 14 || type == 15) && held % 2 == 0) held /= 2;
  if (held != numel)
    fail(t.offset, what + " declares " + std::to_string(numel) + " elements but holds " + std::to_string(held));
}

}  // namespace

OnnxSummary inspect_onnx(std::string_view bytes, const std::string& source) {
  Walker w(bytes, source);
  if (bytes.size() > kMaxOnnxBytes)
    w.fail(0, "the file is " + std::to_string(bytes.size()) + " bytes, more than protobuf's 2 GB limit");
  OnnxSummary s;
  bool has_ir = false, has_graph = false;
  std::set<std::string> ops;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  w.for_each_field(p, p + bytes.size(), "the model", [&](const Field& m) {
    if (m.number == 1 && m.wire == 0) has_ir = true, s.ir_version = int64_t(m.value);
    if (m.number == 8 && m.wire == 2) {  // opset_import
      std::string domain;
      int64_t version = 0;
      w.for_each_field(m, "an opset import", [&](const Field& o) {
        if (o.number == 1) domain = w.str(o);
        if (o.number == 2 && o.wire == 0) version = int64_t(o.value);
      });
      if (domain.empty() || domain == "ai.onnx") s.opset = version;
    }
    if (m.number != 7 || m.wire != 2) return;  // graph
    has_graph = true;
    w.for_each_field(m, "the graph", [&](const Field& g) {
      if (g.number == 1 && g.wire == 2) {  // node
        ++s.nodes;
        w.for_each_field(g, "a node", [&](const Field& n) {
          if (n.number == 4) ops.insert(w.str(n));   // op_type
          if (n.number != 5 || n.wire != 2) return;  // attribute
          w.for_each_field(n, "an attribute", [&](const Field& a) {
            if (a.number == 5 || a.number == 11) w.check_tensor(a), ++s.weights;  // t, tensors
          });
        });
      } else if (g.number == 5 && g.wire == 2) {  // initializer
        w.check_tensor(g);
        ++s.weights;
      } else if (g.number == 12 && g.wire == 2) {  // output
        w.for_each_field(g, "a graph output", [&](const Field& v) {
          if (v.number == 1) s.outputs.push_back(w.str(v));  // name
        });
      }
    });
  });
  if (!has_ir) w.fail(0, "no IR version (not an ONNX file?)");
  if (!has_graph) w.fail(0, "no graph");
  if (s.nodes == 0 || s.outputs.empty()) w.fail(0, "a graph without operators or outputs");
  s.op_types.assign(ops.begin(), ops.end());
  return s;
}

std::string read_onnx_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw std::runtime_error(source + ": not a file");
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw std::runtime_error(source + ": cannot read its size: " + ec.message());
  if (size > kMaxOnnxBytes)
    throw std::runtime_error(source + ": not a valid ONNX model: the file is " + std::to_string(size) +
                             " bytes, more than protobuf's 2 GB limit");
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size_t(size), '\0');
  if (!in || !in.read(bytes.data(), std::streamsize(size)))
    throw std::runtime_error(source + ": cannot read the file: " + std::strerror(errno));
  return bytes;
}

}  // namespace camgraph
