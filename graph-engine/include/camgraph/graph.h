// The graph model: nodes with string ids, named ports and named parameters; links between
// ports. The only part of a .cgraph file that is executed and hashed. No Qt, no torch.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace camgraph {

using json = nlohmann::json;

struct PortRef {
  std::string node;
  std::string port;
  bool operator==(const PortRef& o) const { return node == o.node && port == o.port; }
  bool operator<(const PortRef& o) const { return node != o.node ? node < o.node : port < o.port; }
  std::string to_string() const { return node + "." + port; }
};

struct Link {
  PortRef from;  // an output
  PortRef to;    // an input
  bool operator==(const Link& o) const { return from == o.from && to == o.to; }
};

struct NodeInstance {
  std::string id;
  std::string type;
  int version = 1;  // spec version the params were written for
  json params = json::object();
  bool bypass = false;          // muted in the editor: not executed, not a target
  json extra = json::object();  // unknown keys, preserved on save
};

class Graph {
 public:
  std::vector<NodeInstance> nodes;
  std::vector<Link> links;

  const NodeInstance* node(std::string_view id) const;
  NodeInstance* node(std::string_view id);
  // The link feeding an input, if any.
  const Link* link_to(const PortRef& input) const;
  std::vector<const Link*> links_from(std::string_view node_id) const;
  std::vector<const Link*> links_into(std::string_view node_id) const;
  // Node ids upstream of (and including) `id`.
  std::vector<std::string> ancestors(std::string_view id) const;
  std::vector<std::string> descendants(std::string_view id) const;
  // Topological order of all nodes; std::nullopt when there is a cycle (cycle_out gets one).
  std::optional<std::vector<std::string>> topological_order(std::vector<std::string>* cycle_out = nullptr) const;
  std::string unique_id(std::string_view base) const;  // "blur", "blur_2", ...

  bool operator==(const Graph& o) const;
};

}  // namespace camgraph
