// torch.save zip checkpoints: a zip reader for stored entries (ZIP64 aware, no decompression:
// torch.save never compresses) and a restricted unpickler that only builds dicts, lists, tuples,
// scalars, strings and tensors.
#include "camgraph/formats/torch_checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <unordered_map>

#include "camgraph/safetensors.h"

namespace camgraph {
namespace {

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw std::runtime_error(source + ": " + what);
}

// ---------------------------------------------------------------------------------------------
// Zip container (stored entries only).

struct ZipEntry {
  std::uint64_t data_offset = 0;  // resolved lazily from the local header
  std::uint64_t header_offset = 0;
  std::uint64_t size = 0;
  std::uint16_t method = 0;
};

std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(le32(p)) | (static_cast<std::uint64_t>(le32(p + 4)) << 32);
}

class ZipReader {
 public:
  explicit ZipReader(const std::filesystem::path& path) : source_(path.string()) {
    in_.open(path, std::ios::binary);
    if (!in_) fail(source_, "cannot open checkpoint file (does it exist and is it readable?)");
    in_.seekg(0, std::ios::end);
    file_size_ = static_cast<std::uint64_t>(in_.tellg());
    read_directory();
  }

  const std::string& source() const { return source_; }
  const std::map<std::string, ZipEntry>& entries() const { return entries_; }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }

  std::uint64_t size_of(const std::string& name) const { return entry(name).size; }

  // Reads `n` bytes of entry `name` into dst (n <= entry size).
  void read(const std::string& name, void* dst, std::uint64_t n) {
    ZipEntry& e = entry(name);
    if (e.method != 0)
      fail(source_, "zip entry '" + name + "' is compressed (method " + std::to_string(e.method) +
                        "); torch.save writes stored entries: re-save the checkpoint with torch.save");
    if (n > e.size) fail(source_, "zip entry '" + name + "' is shorter than its tensor data");
    if (e.data_offset == 0) {
      unsigned char h[30];
      read_at(e.header_offset, h, 30, "local header of '" + name + "'");
      if (le32(h) != 0x04034b50u) fail(source_, "corrupt zip: bad local header for '" + name + "'");
      e.data_offset = e.header_offset + 30 + le16(h + 26) + le16(h + 28);
    }
    if (e.data_offset + n > file_size_)
      fail(source_, "truncated file: entry '" + name + "' runs past the end of the file");
    read_at(e.data_offset, dst, n, "entry '" + name + "'");
  }

  std::string read_all(const std::string& name) {
    std::string s(static_cast<std::size_t>(size_of(name)), '\0');
    read(name, s.data(), s.size());
    return s;
  }

 private:
  ZipEntry& entry(const std::string& name) {
    auto it = entries_.find(name);
    if (it == entries_.end()) fail(source_, "zip entry '" + name + "' is missing");
    return it->second;
  }
  const ZipEntry& entry(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) fail(source_, "zip entry '" + name + "' is missing");
    return it->second;
  }

  void read_at(std::uint64_t offset, void* dst, std::uint64_t n, const std::string& what) {
    if (offset > file_size_ || n > file_size_ - offset)
      fail(source_, "truncated file: " + what + " runs past the end of the file");
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (!in_) fail(source_, "read error in " + what);
  }

  void read_directory() {
    if (file_size_ < 22) fail(source_, "not a PyTorch checkpoint: file too short to be a zip (truncated?)");
    const std::uint64_t tail = std::min<std::uint64_t>(file_size_, 22 + 65535 + 20);
    std::vector<unsigned char> buf(tail);
    read_at(file_size_ - tail, buf.data(), tail, "zip end record");
    std::int64_t eocd = -1;
    for (std::int64_t i = static_cast<std::int64_t>(tail) - 22; i >= 0; --i)
      if (le32(&buf[i]) == 0x06054b50u) {
        eocd = i;
        break;
      }
    if (eocd < 0) fail(source_, "not a zip archive or truncated (no end-of-central-directory record)");
    const unsigned char* e = &buf[eocd];
    std::uint64_t count = le16(e + 10);
    std::uint64_t cd_size = le32(e + 12);
    std::uint64_t cd_offset = le32(e + 16);
    if (eocd >= 20 && le32(&buf[eocd - 20]) == 0x07064b50u) {  // ZIP64 locator
      const std::uint64_t z64 = le64(&buf[eocd - 20 + 8]);
      unsigned char r[56];
      read_at(z64, r, 56, "zip64 end record");
      if (le32(r) != 0x06064b50u) fail(source_, "corrupt zip64 end record");
      count = le64(r + 32);
      cd_size = le64(r + 40);
      cd_offset = le64(r + 48);
    }
    if (cd_offset + cd_size > file_size_) fail(source_, "truncated file: central directory past the end");
    std::vector<unsigned char> cd(cd_size);
    read_at(cd_offset, cd.data(), cd_size, "central directory");
    std::uint64_t p = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (p + 46 > cd_size || le32(&cd[p]) != 0x02014b50u) fail(source_, "corrupt zip central directory");
      const unsigned char* h = &cd[p];
      ZipEntry z;
      z.method = le16(h + 10);
      std::uint64_t csize = le32(h + 20), usize = le32(h + 24), off = le32(h + 42);
      const std::uint16_t nlen = le16(h + 28), xlen = le16(h + 30), clen = le16(h + 32);
      if (p + 46 + nlen + xlen + clen > cd_size) fail(source_, "corrupt zip central directory");
      std::string name(reinterpret_cast<const char*>(h + 46), nlen);
      // ZIP64 extra field: present values replace the 0xFFFFFFFF ones, in this order.
      const unsigned char* x = h + 46 + nlen;
      for (std::uint16_t q = 0; q + 4 <= xlen;) {
        const std::uint16_t id = le16(x + q), len = le16(x + q + 2);
        if (id == 0x0001) {
          std::uint16_t k = q + 4;
          if (usize == 0xFFFFFFFFu && k + 8 <= q + 4 + len) {
            usize = le64(x + k);
            k += 8;
          }
          if (csize == 0xFFFFFFFFu && k + 8 <= q + 4 + len) {
            csize = le64(x + k);
            k += 8;
          }
          if (off == 0xFFFFFFFFu && k + 8 <= q + 4 + len) {
            off = le64(x + k);
            k += 8;
          }
        }
        q = static_cast<std::uint16_t>(q + 4 + len);
      }
      z.size = z.method == 0 ? usize : csize;
      z.header_offset = off;
      entries_[name] = z;
      p += 46 + nlen + xlen + clen;
    }
  }

  std::string source_;
  std::ifstream in_;
  std::uint64_t file_size_ = 0;
  std::map<std::string, ZipEntry> entries_;
};

// ---------------------------------------------------------------------------------------------
// Pickle values.

struct PyObj;
using Obj = std::shared_ptr<PyObj>;

enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Tensor, Storage, Opaque };

struct PyObj {
  Kind kind = Kind::None;
  std::int64_t i = 0;
  double f = 0;
  std::string s;                          // Str, Bytes, Global ("module.name"), Opaque (its class)
  std::vector<Obj> items;                 // Tuple, List
  std::vector<std::pair<Obj, Obj>> dict;  // Dict (insertion order)
  at::Tensor tensor;                      // Tensor, Storage (1-D, its dtype)
};

Obj make(Kind k) {
  auto o = std::make_shared<PyObj>();
  o->kind = k;
  return o;
}
Obj make_int(std::int64_t v) {
  auto o = make(Kind::Int);
  o->i = v;
  return o;
}
Obj make_str(Kind k, std::string s) {
  auto o = make(k);
  o->s = std::move(s);
  return o;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Tensor: return "tensor";
    case Kind::Storage: return "storage";
    case Kind::Opaque: return "object";
  }
  return "?";
}

// Storage classes and dtypes the unpickler accepts as globals.
bool storage_dtype(const std::string& global, at::ScalarType& out) {
  static const std::map<std::string, at::ScalarType> table = {
      {"torch.DoubleStorage", at::kDouble},
      {"torch.FloatStorage", at::kFloat},
      {"torch.HalfStorage", at::kHalf},
      {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},
      {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},
      {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool},
      {"torch.ComplexFloatStorage", at::kComplexFloat},
      {"torch.ComplexDoubleStorage", at::kComplexDouble},
      {"torch.UntypedStorage", at::kByte},
      {"torch.float64", at::kDouble},
      {"torch.float32", at::kFloat},
      {"torch.float16", at::kHalf},
      {"torch.bfloat16", at::kBFloat16},
      {"torch.int64", at::kLong},
      {"torch.int32", at::kInt},
      {"torch.int16", at::kShort},
      {"torch.int8", at::kChar},
      {"torch.uint8", at::kByte},
      {"torch.bool", at::kBool},
  };
  auto it = table.find(global);
  if (it == table.end()) return false;
  out = it->second;
  return true;
}

bool allowed_function(const std::string& g) {
  return g == "collections.OrderedDict" || g == "torch._utils._rebuild_tensor" ||
         g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_parameter" ||
         g == "torch._utils._rebuild_parameter_with_state";
}

class Unpickler {
 public:
  Unpickler(ZipReader& zip, std::string prefix, std::string_view data, bool allow_unknown)
      : zip_(zip), prefix_(std::move(prefix)), data_(data), allow_unknown_(allow_unknown) {}

  Obj run() {
    while (true) {
      const std::uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;    // PROTO
        case 0x95: bytes(8); break;  // FRAME
        case '.':                    // STOP
          if (stack_.empty()) error("STOP with an empty stack");
          return stack_.back();
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '}': push(make(Kind::Dict)); break;
        case ']': push(make(Kind::List)); break;
        case ')': push(make(Kind::Tuple)); break;
        case 't': {
          auto o = make(Kind::Tuple);
          o->items = pop_mark();
          push(o);
          break;
        }
        case 'l': {
          auto o = make(Kind::List);
          o->items = pop_mark();
          push(o);
          break;
        }
        case 'd': {
          auto items = pop_mark();
          auto o = make(Kind::Dict);
          for (std::size_t k = 0; k + 1 < items.size(); k += 2) o->dict.emplace_back(items[k], items[k + 1]);
          push(o);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const std::size_t n = op - 0x84;
          need(n);
          auto o = make(Kind::Tuple);
          o->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push(o);
          break;
        }
        case 'a': {
          auto v = pop();
          append(top(), {v});
          break;
        }  // APPEND
        case 'e': {
          auto items = pop_mark();
          append(top(), items);
          break;
        }  // APPENDS
        case 's': {
          auto v = pop();
          auto k = pop();
          set_items(top(), {k, v});
          break;
        }
        case 'u': {
          auto items = pop_mark();
          set_items(top(), items);
          break;
        }
        case 'q': memo_[byte()] = top(); break;                             // BINPUT
        case 'r': memo_[u32()] = top(); break;                              // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;                      // MEMOIZE
        case 'h': push(memo_get(byte())); break;                            // BINGET
        case 'j': push(memo_get(u32())); break;                             // LONG_BINGET
        case 'J': push(make_int(static_cast<std::int32_t>(u32()))); break;  // BININT
        case 'K': push(make_int(byte())); break;                            // BININT1
        case 'M': {
          auto b = bytes(2);
          push(make_int(le16(b)));
          break;
        }                                                      // BININT2
        case 0x8a: push(make_int(long_bytes(byte()))); break;  // LONG1
        case 0x8b: push(make_int(long_bytes(u32()))); break;   // LONG4
        case 'G': {                                            // BINFLOAT (big-endian)
          auto b = bytes(8);
          std::uint64_t u = 0;
          for (int k = 0; k < 8; ++k) u = (u << 8) | b[k];
          auto o = make(Kind::Float);
          std::memcpy(&o->f, &u, 8);
          push(o);
          break;
        }
        case 'N': push(make(Kind::None)); break;
        case 0x88:
        case 0x89: {
          auto o = make(Kind::Bool);
          o->i = op == 0x88;
          push(o);
          break;
        }
        case 'X': push(make_str(Kind::Str, string(u32()))); break;     // BINUNICODE
        case 0x8c: push(make_str(Kind::Str, string(byte()))); break;   // SHORT_BINUNICODE
        case 0x8d: push(make_str(Kind::Str, string(u64()))); break;    // BINUNICODE8
        case 'T': push(make_str(Kind::Str, string(u32()))); break;     // BINSTRING
        case 'U': push(make_str(Kind::Str, string(byte()))); break;    // SHORT_BINSTRING
        case 'C': push(make_str(Kind::Bytes, string(byte()))); break;  // SHORT_BINBYTES
        case 'B': push(make_str(Kind::Bytes, string(u32()))); break;   // BINBYTES
        case 0x8e: push(make_str(Kind::Bytes, string(u64()))); break;  // BINBYTES8
        case 'c': {                                                    // GLOBAL
          std::string module = line(), name = line();
          push(global(module + "." + name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(), module = pop();
          if (module->kind != Kind::Str || name->kind != Kind::Str) error("STACK_GLOBAL needs two strings");
          push(global(module->s + "." + name->s));
          break;
        }
        case 'R': {
          auto args = pop();
          auto f = pop();
          push(reduce(f, args));
          break;
        }  // REDUCE
        case 0x81: {
          auto args = pop();
          auto cls = pop();
          push(reduce(cls, args));
          break;
        }  // NEWOBJ
        case 'b':
          pop();
          need(1);
          break;  // BUILD: state of an OrderedDict/Parameter/placeholder is ignored
        case 'Q': push(persistent_load(pop())); break;  // BINPERSID
        case '0': pop(); break;                         // POP
        case '1': pop_mark(); break;                    // POP_MARK
        case '2': push(top()); break;                   // DUP
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          error(std::string("unsupported pickle opcode ") + hex +
                " (a state_dict needs none; the file holds something else)");
        }
      }
    }
  }

 private:
  [[noreturn]] void error(const std::string& m) const {
    fail(zip_.source(), "data.pkl at byte " + std::to_string(pos_) + ": " + m);
  }
  std::uint8_t byte() {
    if (pos_ >= data_.size()) error("unexpected end of pickle (truncated file?)");
    return static_cast<std::uint8_t>(data_[pos_++]);
  }
  const unsigned char* bytes(std::uint64_t n) {
    if (n > data_.size() - pos_) error("unexpected end of pickle (truncated file?)");
    auto p = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
    pos_ += n;
    return p;
  }
  std::uint32_t u32() { return le32(bytes(4)); }
  std::uint64_t u64() { return le64(bytes(8)); }
  std::string string(std::uint64_t n) {
    auto p = bytes(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string line() {
    const auto end = data_.find('\n', pos_);
    if (end == std::string_view::npos) error("unexpected end of pickle in GLOBAL");
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  std::int64_t long_bytes(std::uint64_t n) {
    if (n > 8) error("integer wider than 64 bits");
    auto p = bytes(n);
    std::uint64_t u = 0;
    for (std::uint64_t k = 0; k < n; ++k) u |= static_cast<std::uint64_t>(p[k]) << (8 * k);
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~std::uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<std::int64_t>(u);
  }

  void push(Obj o) { stack_.push_back(std::move(o)); }
  void need(std::size_t n) const {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) error("stack underflow");
  }
  Obj pop() {
    need(1);
    auto o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Obj& top() {
    need(1);
    return stack_.back();
  }
  std::vector<Obj> pop_mark() {
    if (marks_.empty()) error("no MARK on the stack");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Obj> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Obj memo_get(std::uint64_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) error("memo key " + std::to_string(k) + " was never stored");
    return it->second;
  }
  void append(Obj& list, const std::vector<Obj>& items) {
    if (list->kind != Kind::List) error(std::string("APPEND to a ") + kind_name(list->kind));
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  void set_items(Obj& d, const std::vector<Obj>& items) {
    if (d->kind != Kind::Dict) error(std::string("SETITEM on a ") + kind_name(d->kind));
    if (items.size() % 2) error("SETITEMS with an odd number of items");
    for (std::size_t k = 0; k < items.size(); k += 2) {
      bool replaced = false;  // keep dict semantics: a repeated string key replaces the value
      if (items[k]->kind == Kind::Str)
        for (auto& kv : d->dict)
          if (kv.first->kind == Kind::Str && kv.first->s == items[k]->s) {
            kv.second = items[k + 1];
            replaced = true;
            break;
          }
      if (!replaced) d->dict.emplace_back(items[k], items[k + 1]);
    }
  }

  Obj global(const std::string& g) {
    at::ScalarType dt;
    if (allowed_function(g) || storage_dtype(g, dt)) return make_str(Kind::Global, g);
    if (!allow_unknown_) {
      error("forbidden global '" + g +
            "': only tensors, storages and OrderedDict are accepted from a checkpoint (nothing is "
            "executed). If you trust the file's extra entries, load it with allow_unknown_globals "
            "(they become inert placeholders) or re-save only its state_dict");
    }
    return make_str(Kind::Opaque, g);
  }

  static std::vector<std::int64_t> int_tuple(const Obj& o, const char* what, const Unpickler& u) {
    if (o->kind != Kind::Tuple && o->kind != Kind::List) u.error(std::string(what) + " is not a tuple");
    std::vector<std::int64_t> v;
    for (const auto& x : o->items) {
      if (x->kind != Kind::Int) u.error(std::string(what) + " holds a non-integer");
      v.push_back(x->i);
    }
    return v;
  }

  Obj reduce(const Obj& f, const Obj& args) {
    if (f->kind == Kind::Opaque) return make_str(Kind::Opaque, f->s);  // inert: never called
    if (f->kind != Kind::Global) error(std::string("REDUCE on a ") + kind_name(f->kind));
    if (args->kind != Kind::Tuple) error("REDUCE arguments are not a tuple");
    const auto& a = args->items;
    const std::string& g = f->s;
    if (g == "collections.OrderedDict") {
      auto d = make(Kind::Dict);
      if (!a.empty() && a[0]->kind == Kind::List)  // OrderedDict([(k, v), ...])
        for (const auto& kv : a[0]->items)
          if (kv->kind == Kind::Tuple && kv->items.size() == 2) d->dict.emplace_back(kv->items[0], kv->items[1]);
      return d;
    }
    if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") {
      if (a.size() < 4) error(g + " needs at least 4 arguments");
      if (a[0]->kind != Kind::Storage) error(g + ": first argument is not a storage");
      if (a[1]->kind != Kind::Int) error(g + ": storage offset is not an integer");
      const auto size = int_tuple(a[2], "tensor size", *this);
      const auto stride = int_tuple(a[3], "tensor stride", *this);
      if (size.size() != stride.size()) error(g + ": size and stride differ in length");
      const std::int64_t numel = a[0]->tensor.numel();
      std::int64_t last = a[1]->i;
      bool empty = false;
      for (std::size_t k = 0; k < size.size(); ++k) {
        if (size[k] < 0 || stride[k] < 0) error(g + ": negative size or stride");
        if (size[k] == 0) empty = true;
        else last += (size[k] - 1) * stride[k];
      }
      if (a[1]->i < 0 || (!empty && last >= numel))
        error(g + ": tensor reaches past its storage (" + std::to_string(numel) + " elements)");
      auto o = make(Kind::Tensor);
      o->tensor = empty ? at::empty(size, a[0]->tensor.options())
                        : a[0]->tensor.as_strided(size, stride, a[1]->i).contiguous();
      return o;
    }
    if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Kind::Tensor) error(g + ": first argument is not a tensor");
      return a[0];
    }
    error("global '" + g + "' cannot be called");
  }

  Obj persistent_load(const Obj& pid) {
    // ('storage', storage_type, key, location, numel)
    if (pid->kind != Kind::Tuple || pid->items.size() < 5 || pid->items[0]->kind != Kind::Str ||
        pid->items[0]->s != "storage")
      error("unsupported persistent id (expected a storage reference)");
    const auto& t = pid->items;
    at::ScalarType dtype;
    if (t[1]->kind != Kind::Global || !storage_dtype(t[1]->s, dtype)) error("unknown storage type");
    if (t[2]->kind != Kind::Str) error("storage key is not a string");
    if (t[4]->kind != Kind::Int || t[4]->i < 0) error("storage size is not a count");
    const std::string& key = t[2]->s;
    auto it = storages_.find(key);
    if (it != storages_.end()) {
      if (it->second->tensor.scalar_type() != dtype) error("storage '" + key + "' used with two dtypes");
      return it->second;
    }
    const std::string name = prefix_ + "data/" + key;
    if (!zip_.has(name)) error("storage '" + key + "' has no entry '" + name + "' in the archive (truncated?)");
    auto o = make(Kind::Storage);
    o->tensor = at::empty({t[4]->i}, at::TensorOptions().dtype(dtype));
    zip_.read(name, o->tensor.data_ptr(), static_cast<std::uint64_t>(o->tensor.nbytes()));
    storages_[key] = o;
    return o;
  }

  ZipReader& zip_;
  std::string prefix_;
  std::string_view data_;
  bool allow_unknown_;
  std::size_t pos_ = 0;
  std::vector<Obj> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Obj> memo_;
  std::map<std::string, Obj> storages_;
};

std::string key_text(const Obj& k) {
  switch (k->kind) {
    case Kind::Str: return k->s;
    case Kind::Int: return std::to_string(k->i);
    default: return std::string("<") + kind_name(k->kind) + ">";
  }
}

bool holds_tensors(const Obj& o) {
  if (o->kind == Kind::Tensor) return true;
  if (o->kind == Kind::Dict)
    for (const auto& kv : o->dict)
      if (holds_tensors(kv.second)) return true;
  if (o->kind == Kind::List || o->kind == Kind::Tuple)
    for (const auto& x : o->items)
      if (holds_tensors(x)) return true;
  return false;
}

void flatten(const Obj& o, const std::string& path, TensorList& out) {
  const auto join = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
  if (o->kind == Kind::Tensor) {
    out.emplace_back(path, o->tensor);
  } else if (o->kind == Kind::Dict) {
    for (const auto& kv : o->dict) flatten(kv.second, join(key_text(kv.first)), out);
  } else if (o->kind == Kind::List || o->kind == Kind::Tuple) {
    for (std::size_t k = 0; k < o->items.size(); ++k) flatten(o->items[k], join(std::to_string(k)), out);
  }
}

Obj dict_get(const Obj& d, const std::string& key) {
  if (d->kind != Kind::Dict) return nullptr;
  for (const auto& kv : d->dict)
    if (kv.first->kind == Kind::Str && kv.first->s == key) return kv.second;
  return nullptr;
}

void strip(TensorList& list, const std::string& prefix) {
  if (prefix.empty()) return;
  for (auto& kv : list)
    if (kv.first.rfind(prefix, 0) == 0) kv.first.erase(0, prefix.size());
}

std::map<std::string, at::Tensor> to_map(const TensorList& list, const std::string& source) {
  std::map<std::string, at::Tensor> m;
  for (const auto& kv : list)
    if (!m.emplace(kv.first, kv.second).second)
      throw std::runtime_error(source + ": two tensors named '" + kv.first + "' (after removing the prefix)");
  return m;
}

}  // namespace

bool is_torch_zip_checkpoint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char m[4] = {};
  return in.read(m, 4) && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4;
}

TensorList load_torch_checkpoint_ordered(const std::filesystem::path& path, const CheckpointOptions& options) {
  const std::string source = path.string();
  if (!std::filesystem::exists(path)) fail(source, "checkpoint file not found");
  if (!is_torch_zip_checkpoint(path)) {
    std::ifstream in(path, std::ios::binary);
    unsigned char h[2] = {};
    in.read(reinterpret_cast<char*>(h), 2);
    if (in && h[0] == 0x80 && h[1] <= 5)
      fail(source,
           "legacy (pre-1.6) torch.save format is not supported: re-save it with a recent "
           "PyTorch (torch.save(torch.load(f), g)) or convert it to .safetensors");
    fail(source, "not a PyTorch zip checkpoint (expected a torch.save file starting with 'PK')");
  }
  ZipReader zip(path);
  std::string pkl;
  for (const auto& kv : zip.entries()) {
    const std::string& n = kv.first;
    if (n.size() >= 8 && n.compare(n.size() - 8, 8, "data.pkl") == 0 && (n.size() == 8 || n[n.size() - 9] == '/') &&
        (pkl.empty() || n.size() < pkl.size()))
      pkl = n;
  }
  if (pkl.empty()) {
    if (zip.has("constants.pkl") || std::any_of(zip.entries().begin(), zip.entries().end(), [](const auto& kv) {
          return kv.first.find("/constants.pkl") != std::string::npos;
        }))
      fail(source, "a TorchScript archive, not a torch.save checkpoint (load it with torch::jit::load)");
    fail(source, "zip archive without data.pkl: not a torch.save checkpoint");
  }
  const std::string prefix = pkl.substr(0, pkl.size() - 8);
  if (zip.has(prefix + "byteorder")) {
    const std::string order = zip.read_all(prefix + "byteorder");
    if (order.rfind("little", 0) != 0) fail(source, "big-endian checkpoint ('" + order + "') is not supported");
  }
  const std::string bytes = zip.read_all(pkl);
  Unpickler u(zip, prefix, bytes, options.allow_unknown_globals);
  Obj root = u.run();

  Obj chosen = root;
  if (!options.entry.empty()) {
    std::string rest = options.entry;
    while (!rest.empty()) {
      const auto dot = rest.find('.');
      const std::string k = rest.substr(0, dot);
      rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
      chosen = dict_get(chosen, k);
      if (!chosen) fail(source, "no entry '" + options.entry + "' in the checkpoint");
    }
  } else if (root->kind == Kind::Dict) {
    for (const char* k : {"state_dict", "model_state_dict", "model", "module", "params_ema", "params", "net", "ema"}) {
      Obj e = dict_get(root, k);
      if (e && e->kind == Kind::Dict && holds_tensors(e)) {
        chosen = e;
        break;
      }
    }
  }
  TensorList out;
  flatten(chosen, "", out);
  if (out.empty()) fail(source, "the checkpoint holds no tensors");
  strip(out, options.strip_prefix);
  return out;
}

std::map<std::string, at::Tensor> load_torch_checkpoint(const std::filesystem::path& path,
                                                        const CheckpointOptions& options) {
  return to_map(load_torch_checkpoint_ordered(path, options), path.string());
}

std::map<std::string, at::Tensor> load_state_dict_any(const std::filesystem::path& path,
                                                      const CheckpointOptions& options) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".safetensors") {
    if (!std::filesystem::exists(path)) fail(path.string(), "weights file not found");
    TensorList list;
    for (auto& kv : safetensors_load(path).tensors) list.emplace_back(kv.first, kv.second);
    strip(list, options.strip_prefix);
    return to_map(list, path.string());
  }
  return load_torch_checkpoint(path, options);
}

}  // namespace camgraph
