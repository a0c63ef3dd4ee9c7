// What a node's execute() sees: its parameters, inputs, outputs, progress and cancellation.
// Includes values.h (torch): only node code includes this.
#pragma once
#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "camgraph/error.h"
#include "camgraph/events.h"
#include "camgraph/graph.h"
#include "camgraph/output_files.h"
#include "camgraph/spec.h"
#include "camgraph/values.h"

namespace camgraph {

// Shared between a run and whoever may cancel it (CLI signal handler, editor).
struct CancelToken {
  std::atomic<bool> requested{false};
  void cancel() { requested = true; }
  bool is_cancelled() const { return requested.load(); }
};

class NodeContext {
 public:
  struct Setup {
    const NodeInstance* node = nullptr;
    const NodeSpec* spec = nullptr;
    std::map<std::string, Value> inputs;
    DeviceKind device = DeviceKind::Cpu;  // resolved: Cpu or Cuda
    std::filesystem::path graph_dir;      // relative input paths resolve here
    std::filesystem::path out_dir;        // relative output paths resolve here
    OutputFiles* output_files = nullptr;
    const CancelToken* cancel = nullptr;
    EventSink events;
    bool previews = false;  // the run wants Preview events (RunOptions::previews)
    // The run's provenance (see Evaluator: graph hash, nodes with types, versions, canonical
    // params and input links, input files with content hashes, seeds); null outside a graph run.
    std::shared_ptr<const json> provenance;
  };
  explicit NodeContext(Setup setup);

  const std::string& node_id() const { return setup_.node->id; }
  const NodeSpec& spec() const { return *setup_.spec; }
  DeviceKind device() const { return setup_.device; }
  // The run's provenance record; an empty object when the node runs outside an evaluator.
  const json& provenance() const;
  c10::Device torch_device() const { return to_torch_device(setup_.device); }

  // Parameters (validated against the spec before the run).
  const json& param(const std::string& name) const;
  int64_t param_int(const std::string& name) const;
  double param_float(const std::string& name) const;
  bool param_bool(const std::string& name) const;
  std::string param_string(const std::string& name) const;            // String, Enum, Path, Colour
  std::array<double, 4> param_colour(const std::string& name) const;  // RGBA in [0, 1]
  uint64_t param_seed(const std::string& name) const;
  // An input file or folder named by a Path parameter, resolved against the graph's folder;
  // throws naming the node and parameter when it does not exist.
  std::filesystem::path input_path(const std::string& param_name) const;
  // An output path named by a Path parameter, resolved against the run's output folder.
  std::filesystem::path output_path(const std::string& param_name) const;

  // Inputs.
  bool has_input(const std::string& name) const;
  Value input_value(const std::string& name) const;  // throws when missing
  template <class V>
  std::shared_ptr<const V> input(const std::string& name) const {
    auto v = std::dynamic_pointer_cast<const V>(input_value(name));
    if (!v) fail_port(name, "input has the wrong value type");
    return v;
  }

  // Outputs. Every declared output must be set before execute() returns.
  void set_output(const std::string& name, Value value);
  // Sets output `name` to a Record value holding `record` (the usual summary or "files" output).
  void set_record(const std::string& name, json record);
  const std::map<std::string, Value>& outputs() const { return outputs_; }

  // Progress in [0, 1] with an optional message; the engine adds the ETA.
  void progress(double fraction, const std::string& message = {});
  // With structured data for plots (e.g. {"step": 100, "loss": 0.05, "psnr": 24.1}).
  void progress(double fraction, const std::string& message, const json& data);
  void warn(const std::string& message);
  // Whether anyone wants intermediate values: check before building an expensive preview.
  bool wants_previews() const { return setup_.previews && bool(setup_.events); }
  // Sends an intermediate value (e.g. the splat being trained, a decoded latent) with a label
  // and optional data; does nothing unless wants_previews(). The value must not change afterwards.
  void preview(Value value, const std::string& label = {}, const json& data = json::object());
  bool cancelled() const;
  void check_cancelled() const;  // throws Cancelled

  // Writes files atomically and refuses to overwrite files camgraph did not write.
  OutputFiles& files() const { return *setup_.output_files; }
  const std::filesystem::path& out_dir() const { return setup_.out_dir; }

  [[noreturn]] void fail(const std::string& param, const std::string& message) const;
  [[noreturn]] void fail_port(const std::string& port, const std::string& message) const;

  // Runs `step` and returns its result; an exception of type E that it throws becomes this node's
  // error naming `name` (a parameter or a port), its text after `prefix`. A GraphError or
  // Cancelled from inside passes through unchanged. For a library call that reports a bad file
  // or value:  auto lut = ctx.guard("lut", [&] { return read_cube(path); });
  template <class E = std::exception, class Step>
  decltype(auto) guard(const std::string& name, const std::string& prefix, Step&& step) const {
    try {
      return std::forward<Step>(step)();
    } catch (const GraphError&) {
      throw;
    } catch (const Cancelled&) {
      throw;
    } catch (const E& e) {
      fail(name, prefix + e.what());
    }
  }
  template <class E = std::exception, class Step>
  decltype(auto) guard(const std::string& name, Step&& step) const {
    return guard<E>(name, std::string(), std::forward<Step>(step));
  }

 private:
  Setup setup_;
  std::map<std::string, Value> outputs_;
  double started_at_ = 0;
};

}  // namespace camgraph
