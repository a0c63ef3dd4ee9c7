// The restricted unpickler of torch.save checkpoints (internal to camgraph_model_formats).
//   pickle_machine.cpp  the opcodes (protocols 2 to 5) over a value stack, a mark stack and a memo
//   tensor_rebuild.cpp  the globals it accepts, REDUCE of them, storages (persistent_load)
// Nothing from the file is executed. Bounds: every object lives in the unpickler's arena (so cycles
// made through the memo and deep nesting are freed without recursion, when the unpickler goes);
// copies of existing containers (OrderedDict of a list) and materialised tensor views are budgeted
// against the file's size; strings naming globals are short. Errors: std::runtime_error
// "<source>: data.pkl at byte N: <problem>".
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "zip_reader.h"

namespace camgraph::checkpoint_detail {

struct PyObj;
using Obj = std::shared_ptr<PyObj>;

enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Tensor, Storage, Opaque };
const char* kind_name(Kind k);

struct PyObj {
  Kind kind = Kind::None;
  std::int64_t i = 0;
  double f = 0;
  std::string s;                                  // Str, Bytes, Global ("module.name"), Opaque (its class)
  std::vector<Obj> items;                         // Tuple, List
  std::vector<std::pair<Obj, Obj>> dict;          // Dict (insertion order)
  std::unordered_map<std::string, size_t> index;  // Dict: position of each string key
  at::Tensor tensor;                              // Tensor, Storage (1-D, its dtype)
};

// Thrown by the rebuild functions; the machine adds the source and byte offset.
struct PickleProblem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Unpickler {
 public:
  Unpickler(ZipReader& zip, std::string prefix, std::string_view data, bool allow_unknown);
  ~Unpickler();  // empties every container of the arena first: no recursive destruction
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // Runs the pickle to STOP. The objects stay valid while the unpickler lives.
  Obj run();
  std::size_t objects() const { return arena_.size(); }

 private:
  // pickle_machine.cpp
  void step(std::uint8_t op);
  [[noreturn]] void error(const std::string& m) const;
  Obj make(Kind k);
  Obj make_int(std::int64_t v);
  Obj make_str(Kind k, std::string s);
  std::uint8_t byte();
  std::uint32_t u32_at();
  std::uint64_t u64_at();
  const unsigned char* bytes(std::uint64_t n);
  std::string string(std::uint64_t n);
  std::string line();
  std::int64_t long_bytes(std::uint64_t n);
  void push(Obj o);
  void need(std::size_t n) const;
  Obj pop();
  Obj& top();
  std::vector<Obj> pop_mark();
  Obj memo_get(std::uint64_t k);
  void append(Obj& list, const std::vector<Obj>& items);
  void set_items(Obj& d, const std::vector<Obj>& items);
  void add_copies(std::uint64_t n);  // the copy budget

  // tensor_rebuild.cpp
  Obj global(const std::string& g);
  Obj reduce(const Obj& f, const Obj& args);
  Obj persistent_load(const Obj& pid);
  Obj rebuild_tensor(const std::string& g, const std::vector<Obj>& a);

  ZipReader& zip_;
  std::string prefix_;
  std::string_view data_;
  bool allow_unknown_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;  // where the current opcode starts
  std::vector<Obj> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Obj> memo_;
  std::map<std::string, Obj> storages_;
  std::vector<Obj> arena_;
  std::uint64_t object_budget_ = 0;
  std::uint64_t copies_ = 0, copy_budget_ = 0;               // elements copied from existing containers
  std::uint64_t storage_bytes_ = 0;                          // bytes of all storages read
  std::uint64_t materialised_ = 0, materialise_budget_ = 0;  // bytes of tensor views copied
};

}  // namespace camgraph::checkpoint_detail
