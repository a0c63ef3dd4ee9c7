// The .cgraph file format (docs/cgraph-format.md): JSON, "format": "camgraph", integer schema
// version, a `graph` section (executed and hashed) and a `ui` section (ignored by the engine).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "camgraph/graph.h"
#include "camgraph/spec.h"

namespace camgraph {

constexpr int kCgraphVersion = 1;

struct GraphDocument {
  Graph graph;
  nlohmann::json ui = nlohmann::json::object();           // positions, groups, comments, viewport
  nlohmann::json extra = nlohmann::json::object();        // unknown top-level keys, preserved
  nlohmann::json graph_extra = nlohmann::json::object();  // unknown keys in `graph`
  std::filesystem::path source;                           // file it was loaded from, if any
};

// Parses and checks structure (not node types); throws GraphError with a JSON path.
GraphDocument parse_cgraph(const std::string& text, const std::string& source_name = "<string>");
// Parses, migrates (format and node versions), and checks against the registry: unknown node
// types, unknown ports and parameters, dangling/duplicate links, type mismatches, cycles,
// out-of-range values. Throws GraphError on the first problem; see validate() for all of them.
GraphDocument load_cgraph(const std::filesystem::path& path, const Registry& registry);
GraphDocument load_cgraph_text(const std::string& text, const Registry& registry,
                               const std::string& source_name = "<string>");
nlohmann::json to_json(const GraphDocument& doc);
std::string to_cgraph_text(const GraphDocument& doc);  // pretty, stable key order
// Atomic save (temp file + rename).
void save_cgraph(const GraphDocument& doc, const std::filesystem::path& path);

// Content hash of the `graph` section (canonical JSON), hex. With a registry, parameters whose
// spec says they cannot change outputs (ParamSpec::affects_outputs) are left out.
std::string graph_hash(const Graph& graph, const Registry* registry = nullptr);

}  // namespace camgraph
