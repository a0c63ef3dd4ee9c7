// Errors that name where the problem is: a node, a parameter, a port or a JSON path.
#pragma once
#include <stdexcept>
#include <string>

namespace camgraph {

struct Problem {
  std::string node;     // node id, empty when not about one node
  std::string param;    // parameter or port name, may be empty
  std::string path;     // JSON path in the file (e.g. /graph/nodes/3/params/steps), may be empty
  std::string message;  // what is wrong

  std::string to_string() const;  // "node 'train', parameter 'steps': must be >= 1"
};

// Thrown for graph, file and node errors. Carries one problem (what() is its text).
class GraphError : public std::runtime_error {
 public:
  explicit GraphError(Problem p);
  GraphError(std::string node, std::string param, std::string message);
  const Problem& problem() const { return problem_; }

 private:
  Problem problem_;
};

// Thrown from inside a node's execute() when the run was cancelled.
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace camgraph
