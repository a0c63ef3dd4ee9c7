// PLY reading (ascii, binary little/big endian) and 3DGS PLY writing.
#include "ply.h"

#include <camgraph/output_files.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace camgraph::splat {
namespace fs = std::filesystem;

namespace {

enum class PlyFormat { Ascii, BinaryLE, BinaryBE };
enum class PlyType { I8, U8, I16, U16, I32, U32, F32, F64 };

struct PlyProperty {
  std::string name;
  PlyType type = PlyType::F32;
  bool is_list = false;
  PlyType count_type = PlyType::U8;
};

struct PlyElement {
  std::string name;
  uint64_t count = 0;
  std::vector<PlyProperty> props;
  int find(const std::string& n) const {
    for (size_t i = 0; i < props.size(); ++i)
      if (props[i].name == n) return int(i);
    return -1;
  }
};

struct PlyHeader {
  PlyFormat format = PlyFormat::Ascii;
  std::vector<PlyElement> elements;
  size_t data_offset = 0;
};

int type_size(PlyType t) {
  switch (t) {
    case PlyType::I8:
    case PlyType::U8: return 1;
    case PlyType::I16:
    case PlyType::U16: return 2;
    case PlyType::I32:
    case PlyType::U32:
    case PlyType::F32: return 4;
    case PlyType::F64: return 8;
  }
  return 0;
}

bool parse_type(const std::string& s, PlyType* t) {
  static const std::map<std::string, PlyType> kTypes = {
      {"char", PlyType::I8},   {"int8", PlyType::I8},     {"uchar", PlyType::U8},   {"uint8", PlyType::U8},
      {"short", PlyType::I16}, {"int16", PlyType::I16},   {"ushort", PlyType::U16}, {"uint16", PlyType::U16},
      {"int", PlyType::I32},   {"int32", PlyType::I32},   {"uint", PlyType::U32},   {"uint32", PlyType::U32},
      {"float", PlyType::F32}, {"float32", PlyType::F32}, {"double", PlyType::F64}, {"float64", PlyType::F64}};
  auto it = kTypes.find(s);
  if (it == kTypes.end()) return false;
  *t = it->second;
  return true;
}

bool host_little_endian() {
  const uint16_t one = 1;
  uint8_t b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

PlyHeader parse_header(const std::string& data, const std::string& fn) {
  PlyHeader h;
  size_t pos = 0;
  int line_no = 0;
  bool have_format = false;
  auto bad = [&](const std::string& line, const std::string& why) -> std::runtime_error {
    return std::runtime_error(fn + ": bad PLY header line " + std::to_string(line_no) + " '" + line + "': " + why);
  };
  while (true) {
    const size_t end = data.find('\n', pos);
    if (end == std::string::npos || end - pos > 4096)
      throw std::runtime_error(fn + ": PLY header has no end_header line (truncated or not a PLY file)");
    std::string line = data.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = end + 1;
    ++line_no;
    std::istringstream ss(line);
    std::string kw;
    ss >> kw;
    if (line_no == 1) {
      if (kw != "ply") throw std::runtime_error(fn + ": not a PLY file (first line is '" + line.substr(0, 40) + "')");
      continue;
    }
    if (kw.empty() || kw == "comment" || kw == "obj_info") continue;
    if (kw == "end_header") break;
    if (kw == "format") {
      std::string f, v;
      ss >> f >> v;
      if (f == "ascii") h.format = PlyFormat::Ascii;
      else if (f == "binary_little_endian") h.format = PlyFormat::BinaryLE;
      else if (f == "binary_big_endian") h.format = PlyFormat::BinaryBE;
      else throw bad(line, "unknown format '" + f + "'");
      have_format = true;
    } else if (kw == "element") {
      PlyElement e;
      long long count = -1;
      if (!(ss >> e.name >> count) || count < 0) throw bad(line, "expected 'element <name> <count>'");
      e.count = uint64_t(count);
      h.elements.push_back(e);
    } else if (kw == "property") {
      if (h.elements.empty()) throw bad(line, "property before any element");
      PlyProperty p;
      std::string t;
      ss >> t;
      if (t == "list") {
        std::string ct, it;
        ss >> ct >> it >> p.name;
        p.is_list = true;
        if (!parse_type(ct, &p.count_type) || !parse_type(it, &p.type) || p.name.empty())
          throw bad(line, "expected 'property list <count type> <item type> <name>'");
      } else {
        ss >> p.name;
        if (!parse_type(t, &p.type)) throw bad(line, "unknown property type '" + t + "'");
        if (p.name.empty()) throw bad(line, "property has no name");
      }
      h.elements.back().props.push_back(p);
    } else {
      throw bad(line, "unknown keyword '" + kw + "'");
    }
  }
  if (!have_format) throw std::runtime_error(fn + ": PLY header has no format line");
  h.data_offset = pos;
  return h;
}

// Reads one binary scalar as double (for list counts and non-float conversions).
double read_bin(const char* p, PlyType t, bool swap) {
  char b[8];
  const int n = type_size(t);
  std::memcpy(b, p, n);
  if (swap) std::reverse(b, b + n);
  switch (t) {
    case PlyType::I8: {
      int8_t v;
      std::memcpy(&v, b, 1);
      return v;
    }
    case PlyType::U8: {
      uint8_t v;
      std::memcpy(&v, b, 1);
      return v;
    }
    case PlyType::I16: {
      int16_t v;
      std::memcpy(&v, b, 2);
      return v;
    }
    case PlyType::U16: {
      uint16_t v;
      std::memcpy(&v, b, 2);
      return v;
    }
    case PlyType::I32: {
      int32_t v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case PlyType::U32: {
      uint32_t v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case PlyType::F32: {
      float v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case PlyType::F64: {
      double v;
      std::memcpy(&v, b, 8);
      return v;
    }
  }
  return 0;
}

// A double outside float's range becomes +-inf (a plain conversion would be undefined); the
// readers then reject it as not finite.
float to_float(double v) {
  constexpr double kMax = double(std::numeric_limits<float>::max());
  if (v > kMax) return std::numeric_limits<float>::infinity();
  if (v < -kMax) return -std::numeric_limits<float>::infinity();
  return float(v);
}

// Row size of an element without list properties (0 when it has lists).
size_t fixed_row_bytes(const PlyElement& e) {
  size_t n = 0;
  for (const auto& pr : e.props) {
    if (pr.is_list) return 0;
    n += size_t(type_size(pr.type));
  }
  return n;
}

std::runtime_error truncated(const std::string& fn, const PlyElement& e, size_t row_bytes, uint64_t avail,
                             uint64_t offset) {
  return std::runtime_error(fn + ": " + e.name + " data truncated: header declares " + std::to_string(e.count) + " " +
                            e.name + " elements x " + std::to_string(row_bytes) + " bytes, but only " +
                            std::to_string(avail) + " bytes follow offset " + std::to_string(offset) + " (" +
                            std::to_string(avail / row_bytes) + " complete elements)");
}

// The fewest bytes a row of `e` can take: binary, its scalars and list counts (lists may be
// empty); ascii, two per number (a digit and a separator).
uint64_t min_row_bytes(const PlyElement& e, PlyFormat format) {
  uint64_t n = 0;
  for (const auto& pr : e.props)
    n += format == PlyFormat::Ascii ? 2 : uint64_t(type_size(pr.is_list ? pr.count_type : pr.type));
  return n;
}

// Before anything is allocated: the elements up to `target` must fit in the bytes after the
// header, at their smallest row size (a header may declare billions of rows over a small file).
void check_declared_counts(const PlyHeader& h, size_t target, uint64_t data_size, const std::string& fn) {
  const bool ascii = h.format == PlyFormat::Ascii;
  const uint64_t start = std::min<uint64_t>(h.data_offset, data_size);
  uint64_t left = data_size - start + (ascii ? 1 : 0);  // ascii: the last number needs no separator
  for (size_t ei = 0; ei <= target; ++ei) {
    const PlyElement& e = h.elements[ei];
    const uint64_t row = min_row_bytes(e, h.format);
    if (row == 0) continue;  // no properties: the rows take no bytes (and are not walked)
    if (e.count > left / row)
      throw std::runtime_error(fn + ": " + e.name + (ascii ? " ascii data ends early" : " data truncated") +
                               ": header declares " + std::to_string(e.count) + " " + e.name +
                               " elements of at least " + std::to_string(row) + " bytes each (" +
                               (ascii ? "ascii" : "binary") + "), but only " + std::to_string(left - (ascii ? 1 : 0)) +
                               " bytes are left for them in the " + std::to_string(data_size - start) +
                               " bytes after the header at offset " + std::to_string(start) + " (" +
                               std::to_string(left / row) + " complete elements at most)");
    left -= e.count * row;
  }
}

// A list count read from the file, checked: a whole number of items that fit in `left` bytes.
uint64_t list_count(double n, uint64_t item_bytes, uint64_t left, const std::string& fn, const PlyElement& e,
                    uint64_t row, const PlyProperty& pr, uint64_t offset) {
  if (!(n >= 0) || n != std::floor(n) || n > double(left / std::max<uint64_t>(1, item_bytes)))
    throw std::runtime_error(fn + ": " + e.name + " " + std::to_string(row) + " property '" + pr.name +
                             "': list count " + std::to_string(n) + " at offset " + std::to_string(offset) +
                             " is not a whole number of items that fit in the " + std::to_string(left) + " bytes left");
  return uint64_t(n);
}

// Reads element `target` of the file into a [count, props] float32 table (list properties
// are skipped and left 0). Earlier elements are skipped.
at::Tensor read_element_table(const std::string& data, const PlyHeader& h, size_t target, const std::string& fn) {
  const PlyElement& te = h.elements[target];
  const int64_t np = int64_t(te.props.size());
  check_declared_counts(h, target, data.size(), fn);
  at::Tensor table = at::zeros({int64_t(te.count), np}, at::kFloat);  // [count, props]
  float* out = table.data_ptr<float>();

  if (h.format == PlyFormat::Ascii) {
    const char* p = data.data() + h.data_offset;
    const char* end = data.data() + data.size();
    for (size_t ei = 0; ei <= target; ++ei) {
      const PlyElement& e = h.elements[ei];
      if (e.props.empty()) continue;
      for (uint64_t row = 0; row < e.count; ++row) {
        for (size_t k = 0; k < e.props.size(); ++k) {
          const PlyProperty& pr = e.props[k];
          auto next = [&](const char* what) {
            while (p < end && std::isspace(static_cast<unsigned char>(*p))) ++p;
            if (p >= end)
              throw std::runtime_error(fn + ": ascii data ends early: header declares " + std::to_string(e.count) +
                                       " " + e.name + " elements, file ends in element " + std::to_string(row) +
                                       " at property '" + pr.name + "'" + what);
            char* q = nullptr;
            const double v = std::strtod(p, &q);
            if (q == p) {
              std::string tok(p, std::min<size_t>(20, size_t(end - p)));
              throw std::runtime_error(fn + ": " + e.name + " " + std::to_string(row) + " property '" + pr.name +
                                       "': invalid number '" + tok.substr(0, tok.find_first_of(" \t\r\n")) + "'");
            }
            p = q;
            return v;
          };
          if (pr.is_list) {
            const uint64_t left = uint64_t(end - p);
            const uint64_t n = list_count(next(" (list count)"), 2, left + 1, fn, e, row, pr,
                                          uint64_t(p - data.data()));
            for (uint64_t j = 0; j < n; ++j) next(" (list item)");
          } else {
            const double v = next("");
            if (ei == target) out[int64_t(row) * np + int64_t(k)] = to_float(v);
          }
        }
      }
    }
    return table;
  }

  const bool swap = (h.format == PlyFormat::BinaryLE) != host_little_endian();
  size_t pos = h.data_offset;
  for (size_t ei = 0; ei <= target; ++ei) {
    const PlyElement& e = h.elements[ei];
    bool fixed = true;
    size_t row_bytes = 0;
    for (const auto& pr : e.props) {
      fixed = fixed && !pr.is_list;
      row_bytes += pr.is_list ? 0 : size_t(type_size(pr.type));
    }
    if (e.props.empty()) continue;
    const size_t avail = data.size() - pos;
    if (fixed) {
      if (e.count > avail / row_bytes) throw truncated(fn, e, row_bytes, avail, pos);
      const uint64_t need = e.count * row_bytes;
      if (ei != target) {
        pos += size_t(need);
        continue;
      }
      const char* base = data.data() + pos;
      bool all_f32 = !swap;
      for (const auto& pr : e.props) all_f32 = all_f32 && pr.type == PlyType::F32;
      if (all_f32) {
        if (need > 0) std::memcpy(out, base, size_t(need));  // bit-exact fast path (no rows: no buffer)
      } else {
        std::vector<size_t> offs;
        size_t o = 0;
        for (const auto& pr : e.props) offs.push_back(o), o += size_t(type_size(pr.type));
        for (uint64_t row = 0; row < e.count; ++row)
          for (int64_t k = 0; k < np; ++k) {
            const char* q = base + row * row_bytes + offs[k];
            const PlyType t = e.props[k].type;
            float v;
            if (t == PlyType::F32 && !swap) std::memcpy(&v, q, 4);
            else v = to_float(read_bin(q, t, swap));
            out[int64_t(row) * np + k] = v;
          }
      }
      pos += size_t(need);
      continue;
    }
    // Rows with list properties: walk them.
    for (uint64_t row = 0; row < e.count; ++row) {
      for (size_t k = 0; k < e.props.size(); ++k) {
        const PlyProperty& pr = e.props[k];
        auto need = [&](size_t n) {
          if (n > data.size() - pos)
            throw std::runtime_error(fn + ": " + e.name + " data truncated: header declares " +
                                     std::to_string(e.count) + " " + e.name + " elements, file ends in element " +
                                     std::to_string(row) + " at property '" + pr.name + "' (offset " +
                                     std::to_string(pos) + ")");
        };
        if (pr.is_list) {
          need(size_t(type_size(pr.count_type)));
          const double n = read_bin(data.data() + pos, pr.count_type, swap);
          pos += size_t(type_size(pr.count_type));
          const uint64_t item = uint64_t(type_size(pr.type));
          const size_t bytes = size_t(list_count(n, item, data.size() - pos, fn, e, row, pr, pos) * item);
          pos += bytes;
        } else {
          need(size_t(type_size(pr.type)));
          if (ei == target) out[int64_t(row) * np + int64_t(k)] = to_float(read_bin(data.data() + pos, pr.type, swap));
          pos += size_t(type_size(pr.type));
        }
      }
    }
  }
  return table;
}

struct VertexTable {
  PlyHeader header;
  const PlyElement* vertex = nullptr;
  at::Tensor table;  // [N, props] float32
};

VertexTable read_vertex_table(const fs::path& path) {
  const std::string fn = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fn + ": cannot open file");
  // Header first; binary float vertex data is then read straight into the table.
  std::string head;
  char buf[4096];
  while (head.find("end_header\n") == std::string::npos && head.size() < (1u << 20) && in) {
    in.read(buf, sizeof buf);
    head.append(buf, size_t(in.gcount()));
  }
  VertexTable vt;
  vt.header = parse_header(head, fn);
  const auto& els = vt.header.elements;
  size_t vi = els.size();
  for (size_t i = 0; i < els.size(); ++i)
    if (els[i].name == "vertex") vi = i;
  if (vi == els.size()) throw std::runtime_error(fn + ": PLY file has no 'vertex' element");
  vt.vertex = &els[vi];

  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw std::runtime_error(fn + ": cannot read the file size (" + ec.message() + ")");
  check_declared_counts(vt.header, vi, size, fn);  // every count fits the file: the sums below cannot overflow
  bool direct = vt.header.format == PlyFormat::BinaryLE && host_little_endian();
  uint64_t offset = vt.header.data_offset;
  for (size_t i = 0; direct && i <= vi; ++i) {
    direct = fixed_row_bytes(els[i]) > 0;
    if (direct && i < vi) offset += els[i].count * fixed_row_bytes(els[i]);
  }
  for (const auto& pr : vt.vertex->props) direct = direct && pr.type == PlyType::F32;
  if (direct) {
    const size_t row = fixed_row_bytes(*vt.vertex);
    const uint64_t avail = size > offset ? size - offset : 0;
    if (vt.vertex->count > avail / row) throw truncated(fn, *vt.vertex, row, avail, offset);
    vt.table = at::empty({int64_t(vt.vertex->count), int64_t(vt.vertex->props.size())}, at::kFloat);  // [N, props]
    in.clear();
    in.seekg(std::streamoff(offset));
    in.read(reinterpret_cast<char*>(vt.table.data_ptr<float>()), std::streamsize(vt.vertex->count * row));
    if (!in) throw std::runtime_error(fn + ": read error in vertex data");
    return vt;
  }
  const std::string data = camgraph::read_file(path);
  vt.table = read_element_table(data, vt.header, vi, fn);
  return vt;
}

int require_prop(const PlyElement& e, const std::string& name, const std::string& fn, const char* kind) {
  const int i = e.find(name);
  if (i < 0) throw std::runtime_error(fn + ": " + kind + " PLY vertex has no property '" + name + "'");
  if (e.props[size_t(i)].is_list) throw std::runtime_error(fn + ": vertex property '" + name + "' is a list");
  return i;
}

at::Tensor columns(const at::Tensor& table, const std::vector<int64_t>& cols) {
  return table.index_select(1, at::tensor(cols, at::kLong)).contiguous();
}

// NaN or infinite values in the columns a reader keeps poison every later step (and an infinite
// scale makes a huge splat): the first one is an error naming its element and property.
void require_finite(const at::Tensor& table, const std::vector<int64_t>& cols, const PlyElement& e,
                    const std::string& fn) {
  const at::Tensor bad = at::isfinite(columns(table, cols)).logical_not();  // [N, cols]
  if (!bad.any().item<bool>()) return;
  const at::Tensor first = bad.nonzero()[0];  // row, column (row-major order: the file's first)
  const int64_t row = first[0].item<int64_t>(), col = cols[size_t(first[1].item<int64_t>())];
  throw std::runtime_error(fn + ": " + e.name + " " + std::to_string(row) + " property '" + e.props[size_t(col)].name +
                           "' is " + std::to_string(table[row][col].item<float>()) +
                           " (NaN or infinite values are not accepted)");
}

}  // namespace

// ---- 3DGS PLY ----------------------------------------------------------------------------

std::string gaussian_ply_bytes(const GaussianSet& g_in) {
  g_in.validate("write_gaussian_ply");
  const int degree = g_in.sh_degree();
  if (degree > 3) throw std::runtime_error("write_gaussian_ply: SH degree " + std::to_string(degree) + " > 3");
  if (!host_little_endian()) throw std::runtime_error("write_gaussian_ply: big-endian hosts are not supported");
  const int64_t n = g_in.size(), k = g_in.sh_coeffs();
  auto cpu = [](const at::Tensor& t) { return t.detach().to(at::kCPU, at::kFloat).contiguous(); };
  at::Tensor sh = cpu(g_in.sh);                                                // [N, K, 3]
  at::Tensor dc = sh.select(1, 0);                                             // [N, 3]
  at::Tensor rest = sh.slice(1, 1).transpose(1, 2).reshape({n, 3 * (k - 1)});  // [N, 3*(K-1)] channel-major
  at::Tensor table = at::cat({cpu(g_in.means), at::zeros({n, 3}, at::kFloat), dc, rest,
                              cpu(g_in.opacity_logits).reshape({n, 1}), cpu(g_in.log_scales), cpu(g_in.quats)},
                             1)
                         .contiguous();  // [N, 17 + 3*(K-1)]

  std::string head = "ply\nformat binary_little_endian 1.0\nelement vertex " + std::to_string(n) + "\n";
  auto prop = [&](const std::string& name) { head += "property float " + name + "\n"; };
  for (const char* s : {"x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"}) prop(s);
  for (int64_t i = 0; i < 3 * (k - 1); ++i) prop("f_rest_" + std::to_string(i));
  prop("opacity");
  for (int i = 0; i < 3; ++i) prop("scale_" + std::to_string(i));
  for (int i = 0; i < 4; ++i) prop("rot_" + std::to_string(i));
  head += "end_header\n";
  std::string bytes = head;
  bytes.append(reinterpret_cast<const char*>(table.data_ptr<float>()), size_t(table.numel()) * sizeof(float));
  return bytes;
}

void write_gaussian_ply(const fs::path& path, const GaussianSet& g) {
  camgraph::write_file_atomic(path, gaussian_ply_bytes(g));
}

GaussianSet read_gaussian_ply(const fs::path& path) {
  const std::string fn = path.string();
  VertexTable vt = read_vertex_table(path);
  const PlyElement& e = *vt.vertex;
  auto req = [&](const std::string& name) { return int64_t(require_prop(e, name, fn, "3DGS")); };

  {
    std::string missing;
    for (const char* n : {"x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
                          "rot_0", "rot_1", "rot_2", "rot_3"})
      if (e.find(n) < 0) missing += (missing.empty() ? "'" : ", '") + std::string(n) + "'";
    if (!missing.empty())
      throw std::runtime_error(fn + ": not a 3DGS PLY: vertex lacks " + missing +
                               " (a plain point cloud? read it with read_point_cloud_ply)");
  }
  int64_t n_rest = 0;
  for (const auto& p : e.props)
    if (p.name.rfind("f_rest_", 0) == 0) ++n_rest;
  int degree = -1;
  for (int d = 0; d <= 3; ++d)
    if (n_rest == 3 * (sh_coeffs_for_degree(d) - 1)) degree = d;
  if (degree < 0)
    throw std::runtime_error(fn + ": vertex has " + std::to_string(n_rest) +
                             " f_rest_* properties; expected 3 * ((d + 1)^2 - 1) for SH degree d = 0..3 "
                             "(0, 9, 24 or 45)");
  const int64_t k = sh_coeffs_for_degree(degree);

  GaussianSet g;
  g.means = columns(vt.table, {req("x"), req("y"), req("z")});
  g.log_scales = columns(vt.table, {req("scale_0"), req("scale_1"), req("scale_2")});
  g.quats = columns(vt.table, {req("rot_0"), req("rot_1"), req("rot_2"), req("rot_3")});
  {
    const at::Tensor zero = (g.quats.abs().amax(1) == 0);  // [N]: cannot be normalised
    if (zero.any().item<bool>())
      throw std::runtime_error(fn + ": " + e.name + " " + std::to_string(zero.nonzero()[0][0].item<int64_t>()) +
                               " has the zero rotation quaternion (rot_0..3 all 0)");
  }
  g.opacity_logits = vt.table.select(1, req("opacity")).contiguous();
  // sh[:, j, c]: DC from f_dc_c, coefficient j >= 1 from f_rest_{c*(K-1) + j-1}.
  std::vector<int64_t> cols;
  for (int64_t j = 0; j < k; ++j)
    for (int c = 0; c < 3; ++c)
      cols.push_back(j == 0 ? req("f_dc_" + std::to_string(c)) : req("f_rest_" + std::to_string(c * (k - 1) + j - 1)));
  for (const char* n : {"x", "y", "z", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"})
    cols.push_back(req(n));
  require_finite(vt.table, cols, e, fn);  // every column the set keeps
  cols.resize(size_t(3 * k));
  g.sh = columns(vt.table, cols).view({vt.table.size(0), k, 3});  // [N, K, 3]
  return g;
}

// ---- point clouds ------------------------------------------------------------------------

PointCloud read_point_cloud_ply(const fs::path& path) {
  const std::string fn = path.string();
  VertexTable vt = read_vertex_table(path);
  const PlyElement& e = *vt.vertex;
  PointCloud pc;
  const std::vector<int64_t> xyz = {require_prop(e, "x", fn, "point-cloud"), require_prop(e, "y", fn, "point-cloud"),
                                    require_prop(e, "z", fn, "point-cloud")};
  require_finite(vt.table, xyz, e, fn);
  pc.xyz = columns(vt.table, xyz);  // [P, 3]
  for (const char* prefix : {"", "diffuse_"}) {
    const std::string p = prefix;
    const int r = e.find(p + "red"), gi = e.find(p + "green"), b = e.find(p + "blue");
    if (r < 0 || gi < 0 || b < 0) continue;
    const PlyType t = e.props[size_t(r)].type;
    for (int i : {r, gi, b})
      if (e.props[size_t(i)].is_list || e.props[size_t(i)].type != t)
        throw std::runtime_error(fn + ": vertex colour properties " + p + "red/green/blue must have one scalar type");
    double div = 1.0;
    if (t == PlyType::U8) div = 255.0;
    else if (t == PlyType::U16) div = 65535.0;
    else if (t != PlyType::F32 && t != PlyType::F64)
      throw std::runtime_error(fn + ": vertex property '" + p +
                               "red' has unsupported colour type (use uchar, ushort, float or double)");
    pc.colours = (columns(vt.table, {r, gi, b}) / div).clamp(0.0, 1.0);  // [P, 3]
    break;
  }
  return pc;
}

}  // namespace camgraph::splat
