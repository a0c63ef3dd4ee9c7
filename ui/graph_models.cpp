#include "graph_models.h"

#include <algorithm>

#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::categoryColor;
using detail::qs;
using detail::typeColor;

int NodeListModel::rowCount(const QModelIndex&) const { return int(g_->document().graph.nodes.size()); }

QHash<int, QByteArray> NodeListModel::roleNames() const {
  return {{IdRole, "nodeId"},         {TypeRole, "nodeType"},           {TitleRole, "title"},
          {CategoryRole, "category"}, {HeaderColorRole, "headerColor"}, {XRole, "nodeX"},
          {YRole, "nodeY"},           {WidthRole, "nodeWidth"},         {HeightRole, "nodeHeight"},
          {InputsRole, "inputs"},     {OutputsRole, "outputs"},         {BypassRole, "bypass"},
          {SelectedRole, "selected"}, {StateRole, "runState"},          {ProgressRole, "progress"},
          {MessageRole, "message"},   {SecondsRole, "seconds"},         {SummaryRole, "summary"}};
}

QVariant NodeListModel::data(const QModelIndex& index, int role) const {
  const auto& nodes = g_->document().graph.nodes;
  if (!index.isValid() || index.row() >= int(nodes.size())) return {};
  const NodeInstance& n = nodes[index.row()];
  const NodeSpec* spec = g_->registry().find(n.type);
  const NodeRunState* rs = g_->runState(n.id);
  auto ports = [&](bool outputs) {
    QVariantList list;
    if (!spec) return list;
    for (const PortSpec& p : outputs ? spec->outputs : spec->inputs) {
      const bool connected = outputs
                                 ? !g_->document().graph.links_from(n.id).empty() &&
                                       std::any_of(g_->document().graph.links.begin(), g_->document().graph.links.end(),
                                                   [&](const Link& l) {
                                                     return l.from == PortRef{n.id, p.name};
                                                   })
                                 : g_->document().graph.link_to({n.id, p.name}) != nullptr;
      list.push_back(QVariantMap{{"name", qs(p.name)},
                                 {"type", qs(std::string(to_string(p.type)))},
                                 {"color", typeColor(p.type)},
                                 {"optional", p.optional},
                                 {"connected", connected},
                                 {"doc", qs(p.doc)}});
    }
    return list;
  };
  switch (role) {
    case IdRole: return qs(n.id);
    case TypeRole: return qs(n.type);
    case TitleRole: return spec ? qs(spec->title) : qs(n.type);
    case CategoryRole: return spec ? qs(spec->category) : QString();
    case HeaderColorRole: return categoryColor(spec ? spec->category : "");
    case XRole: return g_->position(n.id).x();
    case YRole: return g_->position(n.id).y();
    case WidthRole: return GraphController::kNodeWidth;
    case HeightRole: return g_->nodeHeight(n);
    case InputsRole: return ports(false);
    case OutputsRole: return ports(true);
    case BypassRole: return n.bypass;
    case SelectedRole: return g_->isSelected(qs(n.id));
    case StateRole: return rs ? rs->state : QString();
    case ProgressRole: return rs ? rs->progress : 0.0;
    case MessageRole: return rs ? rs->message : QString();
    case SecondsRole: return rs ? rs->seconds : 0.0;
    case SummaryRole: return g_->nodeSummary(n.id);
  }
  return {};
}

int LinkListModel::rowCount(const QModelIndex&) const { return int(g_->document().graph.links.size()); }

QHash<int, QByteArray> LinkListModel::roleNames() const {
  return {{FromNodeRole, "fromNode"},
          {FromPortRole, "fromPort"},
          {ToNodeRole, "toNode"},
          {ToPortRole, "toPort"},
          {ColorRole, "wireColor"},
          {X1Role, "x1"},
          {Y1Role, "y1"},
          {X2Role, "x2"},
          {Y2Role, "y2"},
          {SelectedRole, "selected"},
          {PathRole, "svgPath"},
          {ReroutesRole, "reroutes"}};
}

QVariant LinkListModel::data(const QModelIndex& index, int role) const {
  const auto& links = g_->document().graph.links;
  if (!index.isValid() || index.row() >= int(links.size())) return {};
  const Link& l = links[index.row()];
  switch (role) {
    case FromNodeRole: return qs(l.from.node);
    case FromPortRole: return qs(l.from.port);
    case ToNodeRole: return qs(l.to.node);
    case ToPortRole: return qs(l.to.port);
    case ColorRole: {
      const NodeInstance* n = g_->document().graph.node(l.from.node);
      const NodeSpec* s = n ? g_->registry().find(n->type) : nullptr;
      const PortSpec* p = s ? s->output(l.from.port) : nullptr;
      return p ? typeColor(p->type) : QString("#ffffff");
    }
    case X1Role: return g_->portPosition(l.from.node, l.from.port, true).x();
    case Y1Role: return g_->portPosition(l.from.node, l.from.port, true).y();
    case X2Role: return g_->portPosition(l.to.node, l.to.port, false).x();
    case Y2Role: return g_->portPosition(l.to.node, l.to.port, false).y();
    case SelectedRole: return g_->selectedLink() == qs(l.to.to_string());
    case PathRole: return g_->wireSvgPath(l);
    case ReroutesRole: return g_->reroutes(qs(l.to.node), qs(l.to.port));
  }
  return {};
}

}  // namespace camgraph::ui
