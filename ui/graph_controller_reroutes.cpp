// GraphController reroute points: waypoints of a wire, in `ui.reroutes["node.input"] = [[x, y], ...]`
// in the order the wire passes them. Edits are undoable; moves of one point merge until the drag ends.
#include <cmath>

#include "canvas_geometry.h"
#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::qs;
using detail::ss;
using nlohmann::json;

QVariantList GraphController::reroutes(const QString& toNode, const QString& toPort) const {
  QVariantList out;
  const std::string key = ss(toNode + "." + toPort);
  if (!doc_.ui.is_object() || !doc_.ui.contains("reroutes") || !doc_.ui["reroutes"].is_object()) return out;
  const json& r = doc_.ui["reroutes"];
  if (!r.contains(key) || !r[key].is_array()) return out;
  for (const json& p : r[key])
    if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number())
      out.push_back(QVariantMap{{"x", p[0].get<double>()}, {"y", p[1].get<double>()}});
  return out;
}

QVariantMap GraphController::rerouteAt(double x, double y, double radius) const {
  QVariantMap best;
  double bestD = radius * radius;
  for (const Link& l : doc_.graph.links) {
    const QVariantList pts = reroutes(qs(l.to.node), qs(l.to.port));
    for (int i = 0; i < pts.size(); ++i) {
      const QVariantMap m = pts[i].toMap();
      const double dx = m["x"].toDouble() - x, dy = m["y"].toDouble() - y;
      if (dx * dx + dy * dy <= bestD) {
        bestD = dx * dx + dy * dy;
        best = {{"toNode", qs(l.to.node)}, {"toPort", qs(l.to.port)}, {"index", i}};
      }
    }
  }
  return best;
}

int GraphController::addReroute(const QString& toNode, const QString& toPort, double x, double y) {
  const Link* l = doc_.graph.link_to({ss(toNode), ss(toPort)});
  if (!l) {
    fail(tr("Reroute: no wire into %1.%2").arg(toNode, toPort));
    return -1;
  }
  // Insert where it lengthens the polyline least (i.e. into the segment the point lies on).
  const QPointF p(std::round(x), std::round(y));
  const int best = nearestPolylineSegment(wirePoints(*l), p);
  GraphDocument d = doc_;
  if (!d.ui.is_object()) d.ui = json::object();
  json& r = d.ui["reroutes"];
  if (!r.is_object()) r = json::object();
  json& list = r[ss(toNode + "." + toPort)];
  if (!list.is_array()) list = json::array();
  list.insert(list.begin() + best, json::array({p.x(), p.y()}));
  push(tr("Add reroute on %1.%2").arg(toNode, toPort), d);
  return best;
}

void GraphController::moveReroute(const QString& toNode, const QString& toPort, int index, double x, double y) {
  const std::string key = ss(toNode + "." + toPort);
  if (index < 0 || index >= reroutes(toNode, toPort).size()) return;
  GraphDocument d = doc_;
  d.ui["reroutes"][key][size_t(index)] = json::array({std::round(x), std::round(y)});
  if (d.ui == doc_.ui) return;
  push(tr("Move reroute on %1.%2").arg(toNode, toPort), d, QStringLiteral("reroute.%1.%2").arg(qs(key)).arg(index));
}

void GraphController::removeReroute(const QString& toNode, const QString& toPort, int index) {
  const std::string key = ss(toNode + "." + toPort);
  if (index < 0 || index >= reroutes(toNode, toPort).size()) return;
  GraphDocument d = doc_;
  json& list = d.ui["reroutes"][key];
  list.erase(list.begin() + index);
  push(tr("Remove reroute on %1.%2").arg(toNode, toPort), d);
}

}  // namespace camgraph::ui
