// Graph validation against a registry: every problem, each with its node id / JSON path.
#include <map>
#include <regex>
#include <set>

#include "camgraph/error.h"
#include "camgraph/evaluator.h"

namespace camgraph {

bool valid_node_id(const std::string& id) {
  static const std::regex re("[A-Za-z0-9_][A-Za-z0-9_-]*");
  return std::regex_match(id, re);
}

std::vector<Problem> validate(const Graph& graph, const Registry& registry) {
  std::vector<Problem> problems;
  auto add = [&](std::string node, std::string param, std::string path, std::string msg) {
    problems.push_back({std::move(node), std::move(param), std::move(path), std::move(msg)});
  };

  std::map<std::string, size_t> index;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const auto& n = graph.nodes[i];
    const std::string path = "/graph/nodes/" + std::to_string(i);
    if (!valid_node_id(n.id)) {
      add(n.id, "", path + "/id", "node id must be letters, digits, '_' or '-'");
      continue;
    }
    if (index.count(n.id)) {
      add(n.id, "", path + "/id", "duplicate node id (also at /graph/nodes/" + std::to_string(index[n.id]) + ")");
      continue;
    }
    index[n.id] = i;
    const NodeSpec* spec = registry.find(n.type);
    if (!spec) {
      add(n.id, "", path + "/type", "unknown node type '" + n.type + "' (not in this build; see `camgraph-cli nodes`)");
      continue;
    }
    if (n.version > spec->version)
      add(n.id, "", path + "/version",
          "saved by a newer version of '" + n.type + "' (v" + std::to_string(n.version) + "; this build has v" +
              std::to_string(spec->version) + ")");
    if (!n.params.is_object()) {
      add(n.id, "", path + "/params", "params must be an object");
      continue;
    }
    for (auto it = n.params.begin(); it != n.params.end(); ++it) {
      const ParamSpec* ps = spec->param(it.key());
      if (!ps) {
        add(n.id, it.key(), path + "/params/" + it.key(), "unknown parameter for '" + n.type + "'");
        continue;
      }
      try {
        check_param(n.id, *ps, *it);
      } catch (const GraphError& e) {
        add(n.id, it.key(), path + "/params/" + it.key(), e.problem().message);
      }
    }
  }

  std::set<std::pair<std::string, std::string>> connected_inputs;
  for (size_t i = 0; i < graph.links.size(); ++i) {
    const auto& l = graph.links[i];
    const std::string path = "/graph/links/" + std::to_string(i);
    const NodeInstance* from = graph.node(l.from.node);
    const NodeInstance* to = graph.node(l.to.node);
    if (!from) {
      add("", "", path + "/from", "link from unknown node '" + l.from.node + "'");
      continue;
    }
    if (!to) {
      add("", "", path + "/to", "link to unknown node '" + l.to.node + "'");
      continue;
    }
    const NodeSpec* fs = registry.find(from->type);
    const NodeSpec* ts = registry.find(to->type);
    if (!fs || !ts) continue;  // already reported
    const PortSpec* out = fs->output(l.from.port);
    const PortSpec* in = ts->input(l.to.port);
    if (!out) {
      add(l.from.node, l.from.port, path + "/from", "'" + from->type + "' has no output '" + l.from.port + "'");
      continue;
    }
    if (!in) {
      add(l.to.node, l.to.port, path + "/to", "'" + to->type + "' has no input '" + l.to.port + "'");
      continue;
    }
    if (!connected_inputs.insert({l.to.node, l.to.port}).second) {
      add(l.to.node, l.to.port, path, "input '" + l.to.port + "' is connected more than once");
      continue;
    }
    if (!port_types_compatible(out->type, in->type))
      add(l.to.node, l.to.port, path,
          "type mismatch: " + l.from.to_string() + " is " + std::string(to_string(out->type)) + " but input '" +
              l.to.port + "' takes " + std::string(to_string(in->type)));
  }

  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const auto& n = graph.nodes[i];
    const NodeSpec* spec = registry.find(n.type);
    if (!spec) continue;
    for (const auto& in : spec->inputs)
      if (!in.optional && !connected_inputs.count({n.id, in.name}))
        add(n.id, in.name, "/graph/nodes/" + std::to_string(i),
            "required input '" + in.name + "' (" + std::string(to_string(in.type)) + ") is not connected");
  }

  std::vector<std::string> cycle;
  if (!graph.topological_order(&cycle)) {
    std::string text;
    for (const auto& id : cycle) text += id + " -> ";
    text += cycle.empty() ? "?" : cycle.front();
    add(cycle.empty() ? "" : cycle.front(), "", "/graph/links", "cycle: " + text);
  }
  return problems;
}

}  // namespace camgraph
