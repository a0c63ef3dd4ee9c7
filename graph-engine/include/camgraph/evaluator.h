// Graph evaluation: validate, then demand-driven topological execution with a content-hash
// cache (memory + optional disk), progress events, cancellation and per-node timing.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "camgraph/error.h"
#include "camgraph/events.h"
#include "camgraph/graph.h"
#include "camgraph/spec.h"
#include "camgraph/value.h"

namespace camgraph {

struct CancelToken;
class Cache;

struct RunOptions {
  std::vector<std::string> targets;  // nodes to bring up to date; empty: output nodes (or leaves)
  DeviceKind device = DeviceKind::Auto;
  std::filesystem::path graph_dir = ".";
  std::filesystem::path out_dir = "out";
  std::optional<std::filesystem::path> cache_dir;  // on-disk cache
  EventSink on_event;
  // Ask nodes for Preview events (intermediate values, e.g. training snapshots); off for
  // headless runs, where building them would be wasted work.
  bool previews = false;
  const CancelToken* cancel = nullptr;
};

enum class NodeState { Pending, Done, Cached, Failed, Skipped };
const char* to_string(NodeState s);

struct NodeResult {
  NodeState state = NodeState::Pending;
  double seconds = 0;
  std::string error;
  std::string error_param;
  std::string cache_key;
};

struct RunResult {
  bool ok = false;
  bool cancelled = false;
  std::vector<Problem> problems;            // validation problems (nothing ran if non-empty)
  std::map<std::string, NodeResult> nodes;  // every node that was considered
  double seconds = 0;
};

class Evaluator {
 public:
  // The registry is the caller's: the app passes the node families it links (builtin_registry()
  // of camgraph_nodes), tests their own nodes. It must outlive the evaluator.
  explicit Evaluator(const Registry& registry, std::size_t memory_cache_bytes = std::size_t(4) << 30);
  ~Evaluator();

  RunResult run(const Graph& graph, const RunOptions& options);

  // Outputs of a node from the last run that computed or fetched them.
  std::map<std::string, Value> outputs(const std::string& node_id) const;
  // How many times each node type's execute() ran in this evaluator (for tests and stats).
  int executions(const std::string& node_id) const;
  void clear_cache();

 private:
  const Registry& registry_;
  std::unique_ptr<Cache> cache_;
  std::map<std::string, std::map<std::string, Value>> last_outputs_;
  std::map<std::string, int> executions_;
};

// Validation without running: types, required inputs, cycles, parameter ranges, unknown nodes.
std::vector<Problem> validate(const Graph& graph, const Registry& registry);

// Resolved device for a request (Auto -> Cuda when available).
DeviceKind resolve_device(DeviceKind requested);

}  // namespace camgraph
