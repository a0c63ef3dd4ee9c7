// What the restricted unpickler builds from globals (see unpickler.h): the accepted globals,
// REDUCE of them (OrderedDict, torch._utils._rebuild_*), and storages (persistent_load). Every
// size, offset and stride is checked for overflow and against the storage, every storage against
// its zip entry, before anything is allocated.
#include <ATen/ATen.h>

#include <map>

#include "unpickler.h"

namespace camgraph::checkpoint_detail {
namespace {

constexpr std::size_t kMaxGlobalName = 1024;
constexpr std::size_t kMaxDims = 64;

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

[[noreturn]] void problem(const std::string& m) { throw PickleProblem(m); }

std::vector<std::int64_t> int_tuple(const Obj& o, const std::string& what) {
  if (o->kind != Kind::Tuple && o->kind != Kind::List) problem(what + " is not a tuple");
  if (o->items.size() > kMaxDims)
    problem(what + " has " + std::to_string(o->items.size()) + " dimensions (at most " + std::to_string(kMaxDims) +
            ")");
  std::vector<std::int64_t> v;
  for (const auto& x : o->items) {
    if (x->kind != Kind::Int) problem(what + " holds a non-integer");
    if (x->i < 0) problem(what + " holds a negative value " + std::to_string(x->i));
    v.push_back(x->i);
  }
  return v;
}

std::string dims_text(const std::vector<std::int64_t>& v) {
  std::string s = "(";
  for (std::size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + std::to_string(v[k]);
  return s + ")";
}

}  // namespace

Obj Unpickler::global(const std::string& g) {
  if (g.size() > kMaxGlobalName) error("a global name of " + std::to_string(g.size()) + " bytes");
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

Obj Unpickler::reduce(const Obj& f, const Obj& args) {
  if (f->kind == Kind::Opaque) return make_str(Kind::Opaque, f->s);  // inert: never called
  if (f->kind != Kind::Global) error(std::string("REDUCE on a ") + kind_name(f->kind));
  if (args->kind != Kind::Tuple) error("REDUCE arguments are not a tuple");
  const auto& a = args->items;
  const std::string& g = f->s;
  if (g == "collections.OrderedDict") {
    auto d = make(Kind::Dict);
    if (!a.empty() && a[0]->kind == Kind::List) {  // OrderedDict([(k, v), ...])
      add_copies(a[0]->items.size());
      std::vector<Obj> items;
      for (const auto& kv : a[0]->items)
        if (kv->kind == Kind::Tuple && kv->items.size() == 2) items.insert(items.end(), {kv->items[0], kv->items[1]});
      set_items(d, items);
    }
    return d;
  }
  if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") return rebuild_tensor(g, a);
  if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != Kind::Tensor) error(g + ": first argument is not a tensor");
    return a[0];
  }
  error("global '" + g + "' cannot be called");
}

// _rebuild_tensor(storage, storage_offset, size, stride, ...): a view of the storage, checked
// against it, then made contiguous (a copy only for strided or overlapping views, budgeted).
Obj Unpickler::rebuild_tensor(const std::string& g, const std::vector<Obj>& a) {
  if (a.size() < 4) error(g + " needs at least 4 arguments");
  if (a[0]->kind != Kind::Storage) error(g + ": first argument is not a storage");
  if (a[1]->kind != Kind::Int || a[1]->i < 0) error(g + ": storage offset is not a count");
  const auto size = int_tuple(a[2], g + ": tensor size");
  const auto stride = int_tuple(a[3], g + ": tensor stride");
  if (size.size() != stride.size()) error(g + ": size and stride differ in length");
  const at::Tensor& storage = a[0]->tensor;
  const std::int64_t storage_numel = storage.numel();
  // The element count, and the product of the non-zero sizes (libtorch's strides of an empty
  // tensor), must both fit.
  std::int64_t numel = 1, nonzero = 1, last = a[1]->i;  // last: the last element reached
  bool empty = false;
  for (std::size_t k = 0; k < size.size(); ++k) {
    if (__builtin_mul_overflow(numel, size[k], &numel) ||
        (size[k] && __builtin_mul_overflow(nonzero, size[k], &nonzero)))
      error(g + ": the element count of size " + dims_text(size) + " overflows");
    std::int64_t reach = 0;
    if (size[k] == 0) empty = true;
    else if (__builtin_mul_overflow(size[k] - 1, stride[k], &reach) || __builtin_add_overflow(last, reach, &last))
      error(g + ": size " + dims_text(size) + " with stride " + dims_text(stride) + " overflows");
  }
  if (!empty && last >= storage_numel)
    error(g + ": size " + dims_text(size) + ", stride " + dims_text(stride) + " and offset " + std::to_string(a[1]->i) +
          " reach element " + std::to_string(last) + " of a " + std::to_string(storage_numel) + "-element storage");
  auto o = make(Kind::Tensor);
  if (empty) {
    o->tensor = at::empty(size, storage.options());
    return o;
  }
  at::Tensor view = storage.as_strided(size, stride, a[1]->i);
  if (!view.is_contiguous()) {
    std::uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<std::uint64_t>(numel), storage.element_size(), &nbytes) ||
        nbytes > materialise_budget_ - materialised_)
      error(g + ": copying a strided or overlapping view of size " + dims_text(size) + " (stride " + dims_text(stride) +
            ") would take the copies past " + std::to_string(materialise_budget_) +
            " bytes, more than this file can hold (stride-0 or repeated views?)");
    materialised_ += nbytes;
    view = view.contiguous();
  }
  o->tensor = view;
  return o;
}

Obj Unpickler::persistent_load(const Obj& pid) {
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
  const std::uint64_t esize = c10::elementSize(dtype), numel = static_cast<std::uint64_t>(t[4]->i);
  std::uint64_t nbytes = 0;
  // Checked against the entry (itself checked against the file) before allocating.
  if (__builtin_mul_overflow(numel, esize, &nbytes) || nbytes > zip_.size_of(name))
    error("storage '" + key + "' declares " + std::to_string(numel) + " elements of " + std::to_string(esize) +
          " bytes (" + t[1]->s + "), but its entry '" + name + "' is shorter: " + std::to_string(zip_.size_of(name)) +
          " bytes");
  // Entries may overlap in a crafted zip: all storages together hold at most the file.
  if (nbytes > zip_.file_size() - storage_bytes_)
    error("storage '" + key + "' (" + std::to_string(nbytes) + " bytes) takes the storages past the " +
          std::to_string(zip_.file_size()) + " bytes of the file (zip entries that overlap?)");
  storage_bytes_ += nbytes;
  auto o = make(Kind::Storage);
  o->tensor = at::empty({t[4]->i}, at::TensorOptions().dtype(dtype));
  zip_.read(name, o->tensor.data_ptr(), nbytes);
  storages_[key] = o;
  return o;
}

}  // namespace camgraph::checkpoint_detail
