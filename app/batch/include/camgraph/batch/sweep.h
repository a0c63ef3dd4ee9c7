// Sweep files (docs/batch.md): one saved graph, parameter overrides ("node.param": value) and
// variation operators (lists, ranges, seeded random draws, product, zip, bundles, nesting). A sweep
// expands deterministically into items; each item's id hashes the graph's content hash and the
// item's resolved overrides, so the same sweep always gives the same items with the same ids.
// No Qt, no torch.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "camgraph/cgraph_io.h"
#include "camgraph/spec.h"

namespace camgraph::batch {

using json = nlohmann::json;

// A problem in a sweep file; the message names the file, the JSON location and the problem.
struct SweepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SweepItem {
  size_t index = 0;  // position in expansion order
  std::string id;    // 16 hex digits, see item_id()
  json overrides;    // {"node.param": value} fixed + varied, normalised by the param specs
  json outputs;      // {"node.param": value} from `per_item` templates (not part of the id)
  // Every override (overrides + outputs) as camgraph-cli `--set NODE.PARAM=VALUE` arguments.
  std::vector<std::string> set_args() const;
};

struct Sweep {
  std::filesystem::path file;        // the sweep file (absolute)
  std::filesystem::path graph_path;  // the graph (absolute)
  std::string name;                  // "name" or the file's stem
  std::string graph_hash;            // graph_hash() of the graph section
  GraphDocument graph;               // as loaded (without overrides)
  json fixed = json::object();       // "set"
  json per_item = json::object();    // "per_item" templates
  std::filesystem::path out;         // "out" (absolute; empty: none given)
  std::vector<SweepItem> items;
  size_t duplicates = 0;  // variants equal to an earlier one (dropped)

  const SweepItem* find(const std::string& id) const;
  // True when per_item sets a parameter of an output node (items write to their own paths);
  // otherwise the runner gives every item its own output folder.
  bool items_have_own_outputs(const Registry& registry) const;
  json to_json() const;  // {"sweep", "name", "graph", "graph_hash", "items": [{index, id, overrides, outputs}]}
};

// Reads, expands and checks a sweep file: every override names a node of the graph and one of its
// parameters, every value passes the parameter's checks (type, range, choices). Throws SweepError.
Sweep load_sweep(const std::filesystem::path& file, const Registry& registry);
Sweep parse_sweep(const json& doc, const std::filesystem::path& file, const Registry& registry);

// The variation operators alone: the list of override objects a `vary` value stands for.
// `where` is the JSON pointer used in error messages.
std::vector<json> expand_vary(const json& vary, const std::string& where);

// 16 hex digits: a hash of the graph hash and the canonical JSON of the resolved overrides.
std::string item_id(const std::string& graph_hash, const json& overrides);

// A value as camgraph-cli --set text (strings raw; numbers in shortest round-trip form).
std::string override_text(const json& value);

// "{id}", "{index}", "{name}" and "{node.param}" (any resolved override) substituted in `tmpl`.
std::string expand_template(const std::string& tmpl, const SweepItem& item, const std::string& sweep_name);

}  // namespace camgraph::batch
