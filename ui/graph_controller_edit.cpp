// GraphController edits: nodes, wires, moves, parameters and bypass. Each edit builds the next
// document and pushes it as one undo step (push); live drags apply snapshots and push at the end.
#include <algorithm>
#include <cmath>
#include <set>

#include "camgraph/error.h"
#include "graph_controller.h"
#include "graph_controller_support.h"
#include "snapshot_command.h"

namespace camgraph::ui {

using detail::qs;
using detail::ss;
using nlohmann::json;

// ---------------------------------------------------------------- nodes

QString GraphController::addNode(const QString& type, double x, double y) {
  const NodeSpec* spec = registry_->find(ss(type));
  if (!spec) {
    fail(QStringLiteral("unknown node type '%1'").arg(type));
    return {};
  }
  GraphDocument d = doc_;
  std::string base = spec->type.substr(spec->type.rfind('.') + 1);
  NodeInstance n;
  n.id = d.graph.unique_id(base);
  n.type = spec->type;
  n.version = spec->version;
  for (const ParamSpec& p : spec->params) n.params[p.name] = p.default_value;
  d.graph.nodes.push_back(n);
  uiNodes(d)[n.id] = {{"x", std::round(x)}, {"y", std::round(y)}};
  push(tr("Add %1").arg(qs(spec->title)), d);
  select(qs(n.id));
  return qs(n.id);
}

QString GraphController::addNodeConnected(const QString& type, double x, double y, const QString& fromNode,
                                          const QString& fromPort, bool fromIsInput) {
  undo_.beginMacro(tr("Add connected node"));
  const QString id = addNode(type, x, y);
  if (!id.isEmpty()) {
    const NodeSpec* spec = registry_->find(ss(type));
    for (const PortSpec& p : fromIsInput ? spec->outputs : spec->inputs) {
      const QString why = fromIsInput ? canConnect(id, qs(p.name), fromNode, fromPort)
                                      : canConnect(fromNode, fromPort, id, qs(p.name));
      if (!why.isEmpty()) continue;
      if (fromIsInput) connectPorts(id, qs(p.name), fromNode, fromPort);
      else connectPorts(fromNode, fromPort, id, qs(p.name));
      break;
    }
  }
  undo_.endMacro();
  return id;
}

void GraphController::removeNodes(const QStringList& ids) {
  GraphDocument d = doc_;
  std::set<std::string> gone;
  for (const QString& id : ids) gone.insert(ss(id));
  auto& nodes = d.graph.nodes;
  const size_t before = nodes.size();
  nodes.erase(std::remove_if(nodes.begin(), nodes.end(), [&](const NodeInstance& n) { return gone.count(n.id); }),
              nodes.end());
  if (nodes.size() == before) return;
  auto& links = d.graph.links;
  links.erase(std::remove_if(links.begin(), links.end(),
                             [&](const Link& l) { return gone.count(l.from.node) || gone.count(l.to.node); }),
              links.end());
  for (const auto& id : gone) uiNodes(d).erase(id);
  push(ids.size() == 1 ? tr("Delete %1").arg(ids.first()) : tr("Delete %1 nodes").arg(before - nodes.size()), d);
}

void GraphController::removeSelection() {
  if (!selection_order_.isEmpty()) removeNodes(selection_order_);
  else if (!selected_link_.isEmpty()) removeSelectedLink();
}

// ---------------------------------------------------------------- wires

QString GraphController::connectInto(GraphDocument& d, const QString& fromNode, const QString& fromPort,
                                     const QString& toNode, const QString& toPort) const {
  const NodeInstance* a = d.graph.node(ss(fromNode));
  const NodeInstance* b = d.graph.node(ss(toNode));
  if (!a || !b) return tr("no node '%1'").arg(!a ? fromNode : toNode);
  if (a == b) return tr("a node cannot feed itself");
  const NodeSpec* sa = registry_->find(a->type);
  const NodeSpec* sb = registry_->find(b->type);
  const PortSpec* out = sa ? sa->output(ss(fromPort)) : nullptr;
  const PortSpec* in = sb ? sb->input(ss(toPort)) : nullptr;
  if (!out) return tr("'%1' has no output '%2'").arg(fromNode, fromPort);
  if (!in) return tr("'%1' has no input '%2'").arg(toNode, toPort);
  if (!port_types_compatible(out->type, in->type))
    return tr("%1 output '%2' cannot feed the %3 input '%4'")
        .arg(qs(std::string(to_string(out->type))), fromPort, qs(std::string(to_string(in->type))), toPort);
  auto& links = d.graph.links;
  links.erase(std::remove_if(links.begin(), links.end(),
                             [&](const Link& l) {
                               return l.to == PortRef{b->id, in->name};
                             }),
              links.end());
  links.push_back({{a->id, out->name}, {b->id, in->name}});
  if (!d.graph.topological_order())
    return tr("this wire would make a cycle ('%1' already depends on '%2')").arg(fromNode, toNode);
  return {};
}

QString GraphController::canConnect(const QString& fromNode, const QString& fromPort, const QString& toNode,
                                    const QString& toPort) const {
  GraphDocument d = doc_;
  return connectInto(d, fromNode, fromPort, toNode, toPort);
}

QString GraphController::connectPorts(const QString& fromNode, const QString& fromPort, const QString& toNode,
                                      const QString& toPort) {
  GraphDocument d = doc_;
  const QString why = connectInto(d, fromNode, fromPort, toNode, toPort);
  if (!why.isEmpty()) {
    fail(tr("Cannot connect %1.%2 to %3.%4: %5").arg(fromNode, fromPort, toNode, toPort, why));
    return why;
  }
  const bool replacing = doc_.graph.link_to({ss(toNode), ss(toPort)}) != nullptr;
  push(replacing ? tr("Replace wire into %1.%2").arg(toNode, toPort) : tr("Connect %1.%2").arg(toNode, toPort), d);
  return {};
}

void GraphController::disconnectInput(const QString& toNode, const QString& toPort) {
  GraphDocument d = doc_;
  auto& links = d.graph.links;
  const size_t before = links.size();
  links.erase(std::remove_if(links.begin(), links.end(),
                             [&](const Link& l) {
                               return l.to == PortRef{ss(toNode), ss(toPort)};
                             }),
              links.end());
  if (links.size() != before) push(tr("Disconnect %1.%2").arg(toNode, toPort), d);
  if (selected_link_ == toNode + "." + toPort) {
    selected_link_.clear();
    emit selectedLinkChanged();
  }
}

// ---------------------------------------------------------------- moves

void GraphController::translateReroutes(GraphDocument& d, const std::set<std::string>& moved, double dx, double dy) {
  if ((dx == 0 && dy == 0) || !d.ui.is_object() || !d.ui.contains("reroutes") || !d.ui["reroutes"].is_object()) return;
  json& all = d.ui["reroutes"];
  for (const Link& l : d.graph.links) {
    if (!moved.count(l.from.node) || !moved.count(l.to.node)) continue;
    auto it = all.find(l.to.node + "." + l.to.port);
    if (it == all.end() || !it->is_array()) continue;
    for (json& p : *it)
      if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number())
        p = json::array({p[0].get<double>() + dx, p[1].get<double>() + dy});
  }
}

void GraphController::moveNode(const QString& id, double x, double y) {
  if (!doc_.graph.node(ss(id))) return;
  GraphDocument d = doc_;
  const QPointF from = position(ss(id));
  uiNodes(d)[ss(id)] = {{"x", std::round(x)}, {"y", std::round(y)}};
  // One node moved: no wire has both ends moved (a wire from a node to itself is a cycle), so the
  // points stay; kept through the same rule as multi-node moves.
  translateReroutes(d, {ss(id)}, std::round(x) - from.x(), std::round(y) - from.y());
  push(tr("Move %1").arg(id), d);
}

void GraphController::beginMove() {
  move_before_ = doc_;
  moving_ = true;
}

void GraphController::moveSelectionBy(double dx, double dy) {
  if (!moving_) beginMove();
  GraphDocument d = doc_;
  std::set<std::string> moved;
  for (const QString& id : selection_order_) {
    const QPointF p = position(ss(id));
    uiNodes(d)[ss(id)] = {{"x", p.x() + dx}, {"y", p.y() + dy}};
    moved.insert(ss(id));
  }
  translateReroutes(d, moved, dx, dy);
  applySnapshot(d);  // live, not yet an undo step
}

void GraphController::moveGroupBy(const QString& id, double dx, double dy) {
  if (!moving_) beginMove();
  GraphDocument d = doc_;
  for (json& g : uiArray(d, "groups")) {
    if (g.value("id", "") != ss(id)) continue;
    const QRectF r(g.value("x", 0.0), g.value("y", 0.0), g.value("w", 0.0), g.value("h", 0.0));
    std::set<std::string> moved;
    for (const NodeInstance& n : d.graph.nodes) {
      const QPointF p = position(n.id);
      if (r.contains(p + QPointF(kNodeWidth / 2, kHeader / 2))) {
        uiNodes(d)[n.id] = {{"x", p.x() + dx}, {"y", p.y() + dy}};
        moved.insert(n.id);
      }
    }
    translateReroutes(d, moved, dx, dy);
    g["x"] = r.x() + dx;
    g["y"] = r.y() + dy;
  }
  for (json& c : uiArray(d, "comments"))
    if (c.value("id", "") == ss(id)) {
      c["x"] = c.value("x", 0.0) + dx;
      c["y"] = c.value("y", 0.0) + dy;
    }
  applySnapshot(d);
}

void GraphController::endMove() {
  if (!moving_) return;
  moving_ = false;
  // Snap to whole units so files stay tidy.
  GraphDocument after = doc_;
  json& positions = uiNodes(after);
  for (auto it = positions.begin(); it != positions.end(); ++it) {
    json& p = it.value();
    p["x"] = std::round(p.value("x", 0.0));
    p["y"] = std::round(p.value("y", 0.0));
  }
  if (after.ui.contains("reroutes") && after.ui["reroutes"].is_object())
    for (auto it = after.ui["reroutes"].begin(); it != after.ui["reroutes"].end(); ++it)
      for (json& p : it.value())
        if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number())
          p = json::array({std::round(p[0].get<double>()), std::round(p[1].get<double>())});
  if (after.ui == move_before_.ui) return;
  doc_ = move_before_;  // the command's redo() installs `after`
  push(tr("Move"), after);
}

// ---------------------------------------------------------------- parameters and bypass

QString GraphController::setParam(const QString& id, const QString& name, const QVariant& value) {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* ps = spec ? spec->param(ss(name)) : nullptr;
  if (!ps) {
    const QString why = tr("node '%1' has no parameter '%2'").arg(id, name);
    fail(why);
    return why;
  }
  if (ps->type == ParamType::Seed && seedOptions(id, name).value("lock").toBool()) {
    const QString why = tr("%1.%2 is locked: unlock the seed to change it").arg(id, name);
    fail(why);
    return why;
  }
  json v;
  try {
    v = check_param(n->id, *ps, detail::toJson(*ps, value));
  } catch (const GraphError& e) {
    fail(QString::fromUtf8(e.what()));
    return QString::fromUtf8(e.what());
  }
  if (n->params.contains(ps->name) && n->params[ps->name] == v) return {};
  GraphDocument d = doc_;
  d.graph.node(n->id)->params[ps->name] = v;
  push(tr("Set %1.%2").arg(id, name), d, id + "." + name);
  return {};
}

void GraphController::finishParamEdit() { SnapshotCommand::closeCurrent(undo_); }

void GraphController::resetParam(const QString& id, const QString& name) {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* ps = spec ? spec->param(ss(name)) : nullptr;
  if (!ps) return;
  finishParamEdit();
  setParam(id, name, detail::toVariant(ps->default_value));
  finishParamEdit();
}

void GraphController::setBypass(const QString& id, bool bypass) {
  const NodeInstance* n = doc_.graph.node(ss(id));
  if (!n || n->bypass == bypass) return;
  GraphDocument d = doc_;
  d.graph.node(ss(id))->bypass = bypass;
  push(bypass ? tr("Bypass %1").arg(id) : tr("Enable %1").arg(id), d);
}

void GraphController::toggleBypassSelection() {
  if (selection_order_.isEmpty()) return;
  GraphDocument d = doc_;
  const bool bypass = !d.graph.node(ss(selection_order_.last()))->bypass;
  for (const QString& id : selection_order_) d.graph.node(ss(id))->bypass = bypass;
  push(bypass ? tr("Bypass") : tr("Enable"), d);
}

}  // namespace camgraph::ui
