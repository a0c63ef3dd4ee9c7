// The pickle opcodes of the restricted unpickler (see unpickler.h): a value stack, a mark stack and
// a memo; containers, scalars and strings only. Globals, REDUCE and storages: tensor_rebuild.cpp.
#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>
#include <new>

#include "unpickler.h"

namespace camgraph::checkpoint_detail {

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

Unpickler::Unpickler(ZipReader& zip, std::string prefix, std::string_view data, bool allow_unknown)
    : zip_(zip), prefix_(std::move(prefix)), data_(data), allow_unknown_(allow_unknown) {
  // Objects: one per two pickle bytes (plus a million), about 100 bytes of memory per pickle byte
  // at most (a real state dict takes ten bytes or more per object). Copies of existing containers
  // (an OrderedDict made from a list copies its pairs): as many. Materialised views (non-contiguous
  // tensors copied out of their storage): up to twice the file plus 64 MiB.
  object_budget_ = static_cast<std::uint64_t>(data.size()) / 2 + (1u << 20);
  copy_budget_ = static_cast<std::uint64_t>(data.size()) / 2 + (1u << 20);
  materialise_budget_ = 2 * zip.file_size() + (std::uint64_t(64) << 20);
}

Unpickler::~Unpickler() {
  for (auto& o : arena_) {  // every object is held by the arena: clearing frees no container here
    o->items.clear();
    o->dict.clear();
  }
}

void Unpickler::error(const std::string& m) const {
  throw std::runtime_error(zip_.source() + ": data.pkl at byte " + std::to_string(op_pos_) + ": " + m);
}

Obj Unpickler::make(Kind k) {
  if (arena_.size() >= object_budget_)
    error("the pickle builds more than " + std::to_string(object_budget_) +
          " objects (about one per two bytes is the most a checkpoint needs)");
  auto o = std::make_shared<PyObj>();
  o->kind = k;
  arena_.push_back(o);
  return o;
}
Obj Unpickler::make_int(std::int64_t v) {
  auto o = make(Kind::Int);
  o->i = v;
  return o;
}
Obj Unpickler::make_str(Kind k, std::string s) {
  auto o = make(k);
  o->s = std::move(s);
  return o;
}

std::uint8_t Unpickler::byte() {
  if (pos_ >= data_.size()) error("unexpected end of pickle (truncated file?)");
  return static_cast<std::uint8_t>(data_[pos_++]);
}
std::uint32_t Unpickler::u32_at() { return le32(bytes(4)); }
std::uint64_t Unpickler::u64_at() { return le64(bytes(8)); }
const unsigned char* Unpickler::bytes(std::uint64_t n) {
  if (n > data_.size() - pos_)
    error("unexpected end of pickle: " + std::to_string(n) + " bytes declared, " + std::to_string(data_.size() - pos_) +
          " left (truncated file?)");
  auto p = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  pos_ += n;
  return p;
}
std::string Unpickler::string(std::uint64_t n) {
  auto p = bytes(n);  // checked against the pickle's size before anything is allocated
  return std::string(reinterpret_cast<const char*>(p), n);
}
std::string Unpickler::line() {
  const auto end = data_.find('\n', pos_);
  if (end == std::string_view::npos) error("unexpected end of pickle in GLOBAL");
  std::string s(data_.substr(pos_, end - pos_));
  pos_ = end + 1;
  return s;
}
std::int64_t Unpickler::long_bytes(std::uint64_t n) {
  if (n > 8) error("integer wider than 64 bits");
  auto p = bytes(n);
  std::uint64_t u = 0;
  for (std::uint64_t k = 0; k < n; ++k) u |= static_cast<std::uint64_t>(p[k]) << (8 * k);
  if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~std::uint64_t{0} << (8 * n);  // sign-extend
  return static_cast<std::int64_t>(u);
}

void Unpickler::push(Obj o) { stack_.push_back(std::move(o)); }
void Unpickler::need(std::size_t n) const {
  const std::size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() < floor + n) error("stack underflow");
}
Obj Unpickler::pop() {
  need(1);
  auto o = stack_.back();
  stack_.pop_back();
  return o;
}
Obj& Unpickler::top() {
  need(1);
  return stack_.back();
}
std::vector<Obj> Unpickler::pop_mark() {
  if (marks_.empty()) error("no MARK on the stack");
  const std::size_t m = marks_.back();
  marks_.pop_back();
  std::vector<Obj> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
  stack_.resize(m);
  return items;
}
Obj Unpickler::memo_get(std::uint64_t k) {
  auto it = memo_.find(k);
  if (it == memo_.end()) error("memo key " + std::to_string(k) + " was never stored");
  return it->second;
}
void Unpickler::add_copies(std::uint64_t n) {
  copies_ += n;
  if (copies_ > copy_budget_)
    error("the pickle copies more than " + std::to_string(copy_budget_) +
          " container elements (a large list reused over and over?)");
}

// A container may end up holding itself (through the memo): such cycles are kept here and refused
// by whoever walks the result (torch_checkpoint.cpp), and freed by the arena.
void Unpickler::append(Obj& list, const std::vector<Obj>& items) {
  if (list->kind != Kind::List) error(std::string("APPEND to a ") + kind_name(list->kind));
  list->items.insert(list->items.end(), items.begin(), items.end());
}
void Unpickler::set_items(Obj& d, const std::vector<Obj>& items) {
  if (d->kind != Kind::Dict) error(std::string("SETITEM on a ") + kind_name(d->kind));
  if (items.size() % 2) error("SETITEMS with an odd number of items");
  for (std::size_t k = 0; k < items.size(); k += 2) {
    if (items[k]->kind == Kind::Str) {  // dict semantics: a repeated string key replaces the value
      auto [it, added] = d->index.emplace(items[k]->s, d->dict.size());
      if (!added) {
        d->dict[it->second].second = items[k + 1];
        continue;
      }
    }
    d->dict.emplace_back(items[k], items[k + 1]);
  }
}

Obj Unpickler::run() {
  try {
    while (true) {
      op_pos_ = pos_;
      const std::uint8_t op = byte();
      if (op == '.') {  // STOP
        if (stack_.empty()) error("STOP with an empty stack");
        return stack_.back();
      }
      step(op);
    }
  } catch (const PickleProblem& p) {
    error(p.what());
  } catch (const c10::Error& e) {
    error(std::string("libtorch refused the data: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    error("out of memory");
  }
}

void Unpickler::step(std::uint8_t op) {
  switch (op) {
    case 0x80: byte(); break;                          // PROTO
    case 0x95: bytes(8); break;                        // FRAME
    case '(': marks_.push_back(stack_.size()); break;  // MARK
    case '}': push(make(Kind::Dict)); break;
    case ']': push(make(Kind::List)); break;
    case ')': push(make(Kind::Tuple)); break;
    case 't':
    case 'l': {  // TUPLE, LIST
      auto items = pop_mark();
      auto o = make(op == 't' ? Kind::Tuple : Kind::List);
      o->items = std::move(items);
      push(o);
      break;
    }
    case 'd': {  // DICT
      auto items = pop_mark();
      auto o = make(Kind::Dict);
      set_items(o, items.size() % 2 ? std::vector<Obj>(items.begin(), items.end() - 1) : items);
      push(o);
      break;
    }
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE1..3
      const std::size_t n = op - 0x84;
      need(n);
      auto o = make(Kind::Tuple);
      o->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
      stack_.resize(stack_.size() - n);
      push(o);
      break;
    }
    case 'a': {  // APPEND
      auto v = pop();
      append(top(), {v});
      break;
    }
    case 'e': {  // APPENDS
      auto items = pop_mark();
      append(top(), items);
      break;
    }
    case 's': {  // SETITEM
      auto v = pop();
      auto k = pop();
      set_items(top(), {k, v});
      break;
    }
    case 'u': {  // SETITEMS
      auto items = pop_mark();
      set_items(top(), items);
      break;
    }
    case 'q': memo_[byte()] = top(); break;                                // BINPUT
    case 'r': memo_[u32_at()] = top(); break;                              // LONG_BINPUT
    case 0x94: memo_[memo_.size()] = top(); break;                         // MEMOIZE
    case 'h': push(memo_get(byte())); break;                               // BINGET
    case 'j': push(memo_get(u32_at())); break;                             // LONG_BINGET
    case 'J': push(make_int(static_cast<std::int32_t>(u32_at()))); break;  // BININT
    case 'K': push(make_int(byte())); break;                               // BININT1
    case 'M': push(make_int(le16(bytes(2)))); break;                       // BININT2
    case 0x8a: push(make_int(long_bytes(byte()))); break;                  // LONG1
    case 0x8b: push(make_int(long_bytes(u32_at()))); break;                // LONG4
    case 'G': {                                                            // BINFLOAT (big-endian)
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
    case 0x89: {  // NEWTRUE, NEWFALSE
      auto o = make(Kind::Bool);
      o->i = op == 0x88;
      push(o);
      break;
    }
    case 'X': push(make_str(Kind::Str, string(u32_at()))); break;     // BINUNICODE
    case 0x8c: push(make_str(Kind::Str, string(byte()))); break;      // SHORT_BINUNICODE
    case 0x8d: push(make_str(Kind::Str, string(u64_at()))); break;    // BINUNICODE8
    case 'T': push(make_str(Kind::Str, string(u32_at()))); break;     // BINSTRING
    case 'U': push(make_str(Kind::Str, string(byte()))); break;       // SHORT_BINSTRING
    case 'C': push(make_str(Kind::Bytes, string(byte()))); break;     // SHORT_BINBYTES
    case 'B': push(make_str(Kind::Bytes, string(u32_at()))); break;   // BINBYTES
    case 0x8e: push(make_str(Kind::Bytes, string(u64_at()))); break;  // BINBYTES8
    case 'c': {                                                       // GLOBAL
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
    case 'R':     // REDUCE
    case 0x81: {  // NEWOBJ
      auto args = pop();
      auto f = pop();
      push(reduce(f, args));
      break;
    }
    case 'b':  // BUILD: the state of an OrderedDict, Parameter or placeholder is ignored
      pop();
      need(1);
      break;
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

}  // namespace camgraph::checkpoint_detail
