// What the GraphController test files share: the example graphs' folder and a wire lookup.
#pragma once
#include <QString>

#include "camgraph/graph.h"
#include "graph_controller.h"

namespace camgraph::ui::testing {

inline QString examples() { return QStringLiteral(CAMGRAPH_SOURCE_DIR "/examples-graphs"); }

// Whether the graph has the wire "node.port" -> "node.port".
inline bool hasLink(const GraphController& g, const QString& from, const QString& to) {
  auto split = [](const QString& s) {
    const int dot = s.lastIndexOf('.');
    return PortRef{s.left(dot).toStdString(), s.mid(dot + 1).toStdString()};
  };
  const Link want{split(from), split(to)};
  for (const Link& l : g.document().graph.links)
    if (l == want) return true;
  return false;
}

}  // namespace camgraph::ui::testing
