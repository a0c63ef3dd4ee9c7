// torch.save zip checkpoints: the public entry points. The zip container is zip_reader.cpp, the
// restricted unpickler pickle_machine.cpp + tensor_rebuild.cpp; here: finding data.pkl, choosing
// the state dict inside the unpickled object and flattening it to named tensors, without recursion
// (a list that holds itself is refused, nesting is limited, shared containers are budgeted).
#include "camgraph/formats/torch_checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <unordered_set>

#include "camgraph/safetensors.h"
#include "unpickler.h"
#include "zip_reader.h"

namespace camgraph {
namespace {

using checkpoint_detail::Kind;
using checkpoint_detail::Obj;
using checkpoint_detail::PyObj;

constexpr std::size_t kMaxDepth = 1000;

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw std::runtime_error(source + ": " + what);
}

std::string key_text(const Obj& k) {
  switch (k->kind) {
    case Kind::Str: return k->s;
    case Kind::Int: return std::to_string(k->i);
    default: return std::string("<") + checkpoint_detail::kind_name(k->kind) + ">";
  }
}

std::string shown(const std::string& path) {
  if (path.empty()) return "the top object";
  return "'" + (path.size() > 200 ? path.substr(0, 200) + "..." : path) + "'";
}

// Walks the tensors reachable from a pickled object in order, depth first, with an explicit stack:
// at most kMaxDepth containers deep, no container inside itself, at most `visits` objects visited
// (containers shared many times would otherwise multiply the walk) and `key_bytes` of key text.
class TensorWalk {
 public:
  TensorWalk(std::string source, std::uint64_t visits, std::uint64_t key_bytes)
      : source_(std::move(source)), visits_(visits), visits_left_(visits), key_bytes_left_(key_bytes) {}

  // leaf(path, tensor) returns false to stop the walk. Paths are built only when `paths` is set.
  template <class Leaf>
  void run(const Obj& root, bool paths, Leaf&& leaf) {
    paths_ = paths;
    stack_.clear();
    on_path_.clear();
    if (!enter(root, "", leaf)) return;
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      const PyObj* o = f.obj;
      const std::size_t n = o->kind == Kind::Dict ? o->dict.size() : o->items.size();
      if (f.next == n) {
        on_path_.erase(o);
        stack_.pop_back();
        continue;
      }
      const std::size_t k = f.next++;
      const Obj& child = o->kind == Kind::Dict ? o->dict[k].second : o->items[k];
      std::string path;
      if (paths_) {
        const std::string key = o->kind == Kind::Dict ? key_text(o->dict[k].first) : std::to_string(k);
        path = f.path.empty() ? key : f.path + "." + key;
      }
      if (!enter(child, std::move(path), leaf)) return;
    }
  }

 private:
  struct Frame {
    const PyObj* obj;
    std::string path;
    std::size_t next = 0;
  };

  template <class Leaf>
  bool enter(const Obj& o, std::string path, Leaf& leaf) {
    if (visits_left_ == 0)
      fail(source_, "data.pkl: the object shares its containers so often that walking it visits more than the " +
                        std::to_string(visits_) + " objects allowed (at " + shown(path) + ")");
    --visits_left_;
    if (o->kind == Kind::Tensor) {
      if (path.size() > key_bytes_left_)
        fail(source_, "data.pkl: the tensor names add up to more than this file can hold (at " + shown(path) + ")");
      key_bytes_left_ -= path.size();
      return leaf(path, o->tensor);
    }
    if (o->kind != Kind::Dict && o->kind != Kind::List && o->kind != Kind::Tuple) return true;
    if (!on_path_.insert(o.get()).second)
      fail(source_, std::string("data.pkl: the ") + checkpoint_detail::kind_name(o->kind) + " at " + shown(path) +
                        " contains itself (a cycle through the pickle memo)");
    if (stack_.size() >= kMaxDepth)
      fail(source_,
           "data.pkl: containers nested deeper than " + std::to_string(kMaxDepth) + " levels (at " + shown(path) + ")");
    stack_.push_back(Frame{o.get(), std::move(path)});
    return true;
  }

  std::string source_;
  std::uint64_t visits_, visits_left_, key_bytes_left_;
  bool paths_ = true;
  std::vector<Frame> stack_;
  std::unordered_set<const PyObj*> on_path_;
};

Obj dict_get(const Obj& d, const std::string& key) {
  if (d->kind != Kind::Dict) return nullptr;
  auto it = d->index.find(key);
  return it == d->index.end() ? nullptr : d->dict[it->second].second;
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

std::string find_data_pkl(const checkpoint_detail::ZipReader& zip) {
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
      fail(zip.source(), "a TorchScript archive, not a torch.save checkpoint (load it with torch::jit::load)");
    fail(zip.source(), "zip archive without data.pkl: not a torch.save checkpoint");
  }
  return pkl;
}

TensorList load_from_zip(checkpoint_detail::ZipReader& zip, const CheckpointOptions& options) {
  const std::string& source = zip.source();
  const std::string pkl = find_data_pkl(zip);
  const std::string prefix = pkl.substr(0, pkl.size() - 8);
  if (zip.has(prefix + "byteorder")) {
    const std::string order = zip.read_all(prefix + "byteorder");
    if (order.rfind("little", 0) != 0)
      fail(source, "big-endian checkpoint ('" + order.substr(0, 32) + "') is not supported");
  }
  const std::string bytes = zip.read_all(pkl);
  checkpoint_detail::Unpickler u(zip, prefix, bytes, options.allow_unknown_globals);
  Obj root = u.run();
  TensorWalk walk(source, 2 * static_cast<std::uint64_t>(u.objects()) + 1024,
                  (std::uint64_t(64) << 20) + 64 * static_cast<std::uint64_t>(bytes.size()));

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
      if (!e || e->kind != Kind::Dict) continue;
      bool holds = false;
      walk.run(e, false, [&](const std::string&, const at::Tensor&) { return !(holds = true); });
      if (holds) {
        chosen = e;
        break;
      }
    }
  }
  TensorList out;
  walk.run(chosen, true, [&](const std::string& path, const at::Tensor& t) {
    out.emplace_back(path, t);
    return true;
  });
  if (out.empty()) fail(source, "the checkpoint holds no tensors");
  strip(out, options.strip_prefix);
  return out;
}

// Not a zip: say what it is when we can tell.
[[noreturn]] void not_a_zip(const std::string& source, const unsigned char* head, std::size_t n) {
  if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
    fail(source,
         "legacy (pre-1.6) torch.save format is not supported: re-save it with a recent "
         "PyTorch (torch.save(torch.load(f), g)) or convert it to .safetensors");
  fail(source, "not a PyTorch zip checkpoint (expected a torch.save file starting with 'PK')");
}

bool zip_magic(const unsigned char* m, std::size_t n) {
  return n >= 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4;
}

}  // namespace

bool is_torch_zip_checkpoint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char m[4] = {};
  return in.read(reinterpret_cast<char*>(m), 4) && zip_magic(m, 4);
}

TensorList load_torch_checkpoint_ordered(const std::filesystem::path& path, const CheckpointOptions& options) {
  const std::string source = path.string();
  if (!std::filesystem::exists(path)) fail(source, "checkpoint file not found");
  {
    std::ifstream in(path, std::ios::binary);
    unsigned char head[4] = {};
    in.read(reinterpret_cast<char*>(head), 4);
    const auto n = static_cast<std::size_t>(in.gcount());
    if (!zip_magic(head, n)) not_a_zip(source, head, n);
  }
  checkpoint_detail::ZipReader zip(checkpoint_detail::file_source(path), source);
  return load_from_zip(zip, options);
}

TensorList load_torch_checkpoint_bytes(std::string_view bytes, const std::string& source,
                                       const CheckpointOptions& options) {
  const auto* head = reinterpret_cast<const unsigned char*>(bytes.data());
  if (!zip_magic(head, bytes.size())) not_a_zip(source, head, bytes.size());
  checkpoint_detail::ZipReader zip(checkpoint_detail::memory_source(bytes), source);
  return load_from_zip(zip, options);
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
