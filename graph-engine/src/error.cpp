#include "camgraph/error.h"

namespace camgraph {

std::string Problem::to_string() const {
  // "node 'train', 'steps' (at /graph/nodes/2/params/steps): must be >= 1"
  std::string where;
  if (!node.empty()) where = "node '" + node + "'";
  if (!param.empty()) where += (where.empty() ? "'" : ", '") + param + "'";
  if (!path.empty()) where += where.empty() ? "at " + path : " (at " + path + ")";
  return where.empty() ? message : where + ": " + message;
}

GraphError::GraphError(Problem p) : std::runtime_error(p.to_string()), problem_(std::move(p)) {}

GraphError::GraphError(std::string node, std::string param, std::string message)
    : GraphError(Problem{std::move(node), std::move(param), "", std::move(message)}) {}

}  // namespace camgraph
