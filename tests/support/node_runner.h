// Runs one node directly (no graph, no cache) for family tests; output files go under `out`.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "camgraph/node_context.h"
#include "camgraph/output_files.h"

namespace camgraph::testing {

// `registry`: e.g. a Registry filled by one family's register_<family>_nodes (tests that link only the
// families they need) or builtin_registry(). `events` receives the node's progress, warnings and
// (with `previews`) Preview events.
inline std::map<std::string, Value> run_node(const Registry& registry, const std::string& type,
                                             const nlohmann::json& params, std::map<std::string, Value> inputs,
                                             const std::filesystem::path& out, const EventSink& events = {},
                                             bool previews = false) {
  const NodeSpec* spec = registry.find(type);
  if (!spec) throw std::runtime_error("node type '" + type + "' is not registered");
  NodeInstance node;
  node.id = "n";
  node.type = type;
  node.params = params;
  OutputFiles files(out);
  NodeContext::Setup s;
  s.node = &node;
  s.spec = spec;
  s.inputs = std::move(inputs);
  s.out_dir = out;
  s.graph_dir = out;
  s.output_files = &files;
  s.events = events;
  s.previews = previews;
  NodeContext ctx(s);
  spec->execute(ctx);
  return ctx.outputs();
}

}  // namespace camgraph::testing
