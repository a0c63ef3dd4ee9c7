#include "camgraph/error.h"

namespace camgraph {

std::string Problem::to_string() const {
  std::string where;
  if (!node.empty()) where = "node '" + node + "'";
  if (!param.empty()) where += (where.empty() ? "" : ", ") + std::string("'") + param + "'";
  if (!path.empty()) where += (where.empty() ? "at " : " (at ") + path + (where.empty() ? "" : ")");
  if (!path.empty() && !node.empty()) {
    // "node 'x', 'p' (at /graph/...)" is produced above; keep it.
  }
  return where.empty() ? message : where + ": " + message;
}

GraphError::GraphError(Problem p) : std::runtime_error(p.to_string()), problem_(std::move(p)) {}

GraphError::GraphError(std::string node, std::string param, std::string message)
    : GraphError(Problem{std::move(node), std::move(param), "", std::move(message)}) {}

}  // namespace camgraph
