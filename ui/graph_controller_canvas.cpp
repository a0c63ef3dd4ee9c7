// GraphController canvas geometry: node and port positions, wires, hit tests, the bounding boxes
// and the view transform that fits the graph (canvas_geometry.h does the arithmetic).
#include <QRectF>
#include <algorithm>

#include "canvas_geometry.h"
#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::qs;
using detail::ss;
using nlohmann::json;

namespace {
QVariantMap rectMap(const QRectF& r) { return {{"x", r.x()}, {"y", r.y()}, {"w", r.width()}, {"h", r.height()}}; }
}  // namespace

// ---------------------------------------------------------------- nodes and ports

QPointF GraphController::position(const std::string& id) const {
  if (!doc_.ui.is_object() || !doc_.ui.contains("nodes")) return {};
  const json& n = doc_.ui["nodes"];
  if (!n.is_object() || !n.contains(id)) return {};
  const json& p = n[id];
  return {p.value("x", 0.0), p.value("y", 0.0)};
}

double GraphController::nodeHeight(const NodeInstance& n) const {
  const NodeSpec* s = registry_->find(n.type);
  const size_t rows = s ? std::max(s->inputs.size(), s->outputs.size()) : 0;
  return kHeader + std::max<size_t>(rows, 1) * kRow + kFooter;
}

QRectF GraphController::nodeBox(const NodeInstance& n) const {
  return QRectF(position(n.id), QSizeF(kNodeWidth, nodeHeight(n)));
}

QPointF GraphController::portPosition(const std::string& node, const std::string& port, bool output) const {
  const NodeInstance* n = doc_.graph.node(node);
  const NodeSpec* s = n ? registry_->find(n->type) : nullptr;
  if (!s) return {};
  const auto& ports = output ? s->outputs : s->inputs;
  int index = 0;
  for (size_t i = 0; i < ports.size(); ++i)
    if (ports[i].name == port) index = int(i);
  const QPointF p = position(node);
  return {p.x() + (output ? kNodeWidth : 0), p.y() + kHeader + (index + 0.5) * kRow};
}

QVariantMap GraphController::portAt(double x, double y, double radius) const {
  QVariantMap best;
  double bestD = radius * radius;
  for (const NodeInstance& n : doc_.graph.nodes) {
    const NodeSpec* s = registry_->find(n.type);
    if (!s) continue;
    for (int output = 0; output < 2; ++output)
      for (const PortSpec& p : output ? s->outputs : s->inputs) {
        const QPointF q = portPosition(n.id, p.name, output);
        const double d = (q.x() - x) * (q.x() - x) + (q.y() - y) * (q.y() - y);
        if (d <= bestD) {
          bestD = d;
          best = {{"node", qs(n.id)},
                  {"port", qs(p.name)},
                  {"output", bool(output)},
                  {"type", qs(std::string(to_string(p.type)))}};
        }
      }
  }
  return best;
}

// ---------------------------------------------------------------- wires

QVariantMap GraphController::linkAt(double x, double y, double radius) const {
  // Wires are drawn as cubic Beziers with horizontal tangents between their control points (the
  // ports and the reroute points; see wireSvgPath): test against the same curves.
  for (const Link& l : doc_.graph.links) {
    const QList<QPointF> pts = wirePoints(l);
    for (int k = 0; k + 1 < pts.size(); ++k)
      if (wireSegmentNear(wireSegment(pts[k], pts[k + 1]), QPointF(x, y), radius))
        return {{"toNode", qs(l.to.node)}, {"toPort", qs(l.to.port)}, {"segment", k}};
  }
  return {};
}

QList<QPointF> GraphController::wirePoints(const Link& l) const {
  QList<QPointF> pts{portPosition(l.from.node, l.from.port, true)};
  for (const QVariant& v : reroutes(qs(l.to.node), qs(l.to.port))) {
    const QVariantMap m = v.toMap();
    pts.push_back({m["x"].toDouble(), m["y"].toDouble()});
  }
  pts.push_back(portPosition(l.to.node, l.to.port, false));
  return pts;
}

QString GraphController::wireSvgPath(const Link& l) const { return camgraph::ui::wireSvgPath(wirePoints(l)); }

// ---------------------------------------------------------------- fitting the view

QVariantMap GraphController::fitRect() const {
  QRectF r;
  for (const NodeInstance& n : doc_.graph.nodes) r = r.united(nodeBox(n));
  for (const QVariant& g : groups() + comments()) {
    const QVariantMap m = g.toMap();
    r = r.united(QRectF(m["x"].toDouble(), m["y"].toDouble(), m["w"].toDouble(), m["h"].toDouble()));
  }
  return rectMap(r);
}

QVariantMap GraphController::nodesRect() const {
  QRectF r;
  for (const NodeInstance& n : doc_.graph.nodes) r = r.united(nodeBox(n));
  return rectMap(r);
}

QRectF GraphController::fitTarget() const {
  const QVariantMap m = doc_.graph.nodes.empty() ? fitRect() : nodesRect();
  return QRectF(m["x"].toDouble(), m["y"].toDouble(), m["w"].toDouble(), m["h"].toDouble());
}

QVariantMap GraphController::fitTransform(double viewWidth, double viewHeight) const {
  const ViewTransform t = camgraph::ui::fitTransform(fitTarget(), QSizeF(viewWidth, viewHeight), kFitMargin,
                                                     kFitMinZoom, kFitMaxZoom);
  return {{"zoom", t.zoom}, {"panX", t.panX}, {"panY", t.panY}};
}

QVariantMap GraphController::viewport() const {
  QVariantMap m;
  if (doc_.ui.is_object() && doc_.ui.contains("viewport") && doc_.ui["viewport"].is_object()) {
    const json& v = doc_.ui["viewport"];
    m = {{"x", v.value("x", 0.0)}, {"y", v.value("y", 0.0)}, {"zoom", v.value("zoom", 1.0)}};
  }
  return m;
}

void GraphController::setViewport(const QVariantMap& v) {
  doc_.ui["viewport"] = {
      {"x", v.value("x").toDouble()}, {"y", v.value("y").toDouble()}, {"zoom", v.value("zoom", 1.0).toDouble()}};
  emit viewportChanged();
}

}  // namespace camgraph::ui
