#include "camgraph/graph.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace camgraph {

const NodeInstance* Graph::node(std::string_view id) const {
  for (const auto& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

NodeInstance* Graph::node(std::string_view id) {
  for (auto& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

const Link* Graph::link_to(const PortRef& input) const {
  for (const auto& l : links)
    if (l.to == input) return &l;
  return nullptr;
}

std::vector<const Link*> Graph::links_from(std::string_view node_id) const {
  std::vector<const Link*> out;
  for (const auto& l : links)
    if (l.from.node == node_id) out.push_back(&l);
  return out;
}

std::vector<const Link*> Graph::links_into(std::string_view node_id) const {
  std::vector<const Link*> out;
  for (const auto& l : links)
    if (l.to.node == node_id) out.push_back(&l);
  return out;
}

static std::vector<std::string> closure(const Graph& g, std::string_view start, bool upstream) {
  std::set<std::string> seen;
  std::vector<std::string> stack{std::string(start)}, out;
  while (!stack.empty()) {
    std::string id = stack.back();
    stack.pop_back();
    if (!seen.insert(id).second) continue;
    out.push_back(id);
    for (const auto& l : g.links) {
      if (upstream && l.to.node == id) stack.push_back(l.from.node);
      if (!upstream && l.from.node == id) stack.push_back(l.to.node);
    }
  }
  return out;
}

std::vector<std::string> Graph::ancestors(std::string_view id) const { return closure(*this, id, true); }
std::vector<std::string> Graph::descendants(std::string_view id) const { return closure(*this, id, false); }

std::optional<std::vector<std::string>> Graph::topological_order(std::vector<std::string>* cycle_out) const {
  // Kahn's algorithm; ties broken by file order so the order is stable.
  std::map<std::string, int> index, indegree;
  for (size_t i = 0; i < nodes.size(); ++i) {
    index[nodes[i].id] = int(i);
    indegree[nodes[i].id] = 0;
  }
  for (const auto& l : links)
    if (index.count(l.from.node) && index.count(l.to.node)) indegree[l.to.node]++;
  std::set<std::pair<int, std::string>> ready;
  for (const auto& [id, d] : indegree)
    if (d == 0) ready.insert({index[id], id});
  std::vector<std::string> order;
  while (!ready.empty()) {
    auto [i, id] = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(id);
    for (const auto& l : links)
      if (l.from.node == id && index.count(l.to.node) && --indegree[l.to.node] == 0)
        ready.insert({index[l.to.node], l.to.node});
  }
  if (order.size() == nodes.size()) return order;
  if (cycle_out) {
    // Walk back from a node still blocked until a node repeats: that loop is a cycle.
    std::string cur;
    for (const auto& [id, d] : indegree)
      if (d > 0) {
        cur = id;
        break;
      }
    std::vector<std::string> path;
    std::map<std::string, size_t> pos;
    while (!pos.count(cur)) {
      pos[cur] = path.size();
      path.push_back(cur);
      for (const auto& l : links)
        if (l.to.node == cur && indegree.count(l.from.node) && indegree[l.from.node] > 0) {
          cur = l.from.node;
          break;
        }
    }
    std::vector<std::string> cycle(path.begin() + long(pos[cur]), path.end());
    std::reverse(cycle.begin(), cycle.end());
    *cycle_out = cycle;
  }
  return std::nullopt;
}

std::string Graph::unique_id(std::string_view base) const {
  std::string b(base);
  if (!node(b)) return b;
  for (int i = 2;; ++i) {
    std::string c = b + "_" + std::to_string(i);
    if (!node(c)) return c;
  }
}

bool Graph::operator==(const Graph& o) const {
  if (nodes.size() != o.nodes.size() || links.size() != o.links.size()) return false;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto &a = nodes[i], &b = o.nodes[i];
    if (a.id != b.id || a.type != b.type || a.version != b.version || a.params != b.params || a.bypass != b.bypass ||
        a.extra != b.extra)
      return false;
  }
  return links == o.links;
}

}  // namespace camgraph
