#include "graph_controller.h"

#include <QClipboard>
#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QMimeData>
#include <QRectF>
#include <QGuiApplication>
#include <QSettings>
#include <QStandardPaths>
#include <QRandomGenerator>
#include <QUndoCommand>
#include <QUuid>
#include <algorithm>
#include <cmath>
#include <set>

#include "camgraph/error.h"

namespace camgraph::ui {
namespace {

using nlohmann::json;

QString qs(const std::string& s) { return QString::fromStdString(s); }
std::string ss(const QString& s) { return s.toStdString(); }

// Header colour per palette category (Blender-like: sources warm, processing cool, outputs red).
QString categoryColor(const std::string& c) {
  static const std::map<std::string, QString> colors = {
      {"Input", "#3d6b47"}, {"Source", "#6b5a3d"}, {"Image", "#3d5a7a"}, {"3D", "#6a3d7a"},
      {"Camera", "#2f6f5f"}, {"Shot", "#7a5a2f"}, {"Text", "#7a7a3d"}, {"Dataset", "#4a4a7a"},
      {"Output", "#7a3d3d"}};
  auto it = colors.find(c);
  return it == colors.end() ? QString("#555a60") : it->second;
}

QString typeColor(PortType t) {
  for (const auto& info : port_type_table())
    if (info.type == t) return QString::fromUtf8(info.colour.data(), int(info.colour.size()));
  return "#ffffff";
}

QVariant toVariant(const json& j) {
  switch (j.type()) {
    case json::value_t::boolean: return j.get<bool>();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return QVariant::fromValue<qlonglong>(j.get<int64_t>());
    case json::value_t::number_float: return j.get<double>();
    case json::value_t::string: return qs(j.get<std::string>());
    case json::value_t::null: return {};
    default: return qs(j.dump());
  }
}

json toJson(const ParamSpec& spec, const QVariant& v) {
  switch (spec.type) {
    case ParamType::Int:
    case ParamType::Seed: return static_cast<int64_t>(std::llround(v.toDouble()));
    case ParamType::Float: return v.toDouble();
    case ParamType::Bool: return v.toBool();
    default: return ss(v.toString());
  }
}

// One undo step: the document before and after. Parameter edits with the same key merge while
// the edit is open (a slider drag), so one drag is one step.
class SnapshotCommand : public QUndoCommand {
 public:
  SnapshotCommand(GraphController* g, const QString& text, GraphDocument before, GraphDocument after,
                  QString key)
      : QUndoCommand(text), g_(g), before_(std::move(before)), after_(std::move(after)), key_(std::move(key)) {}
  void undo() override { g_->applySnapshot(before_); }
  void redo() override { g_->applySnapshot(after_); }
  int id() const override { return key_.isEmpty() ? -1 : 0x6367; }
  bool mergeWith(const QUndoCommand* other) override {
    const auto* o = static_cast<const SnapshotCommand*>(other);
    if (!open_ || o->key_ != key_) return false;
    after_ = o->after_;
    return true;
  }
  bool open_ = true;

 private:
  GraphController* g_;
  GraphDocument before_, after_;
  QString key_;
};

bool sameNode(const NodeInstance& a, const NodeInstance& b) {
  return a.id == b.id && a.type == b.type && a.params == b.params && a.bypass == b.bypass;
}

constexpr const char* kClipboardMime = "application/x-camgraph";

}  // namespace

// ---------------------------------------------------------------- list models

int NodeListModel::rowCount(const QModelIndex&) const { return int(g_->document().graph.nodes.size()); }

QHash<int, QByteArray> NodeListModel::roleNames() const {
  return {{IdRole, "nodeId"},       {TypeRole, "nodeType"},       {TitleRole, "title"},
          {CategoryRole, "category"}, {HeaderColorRole, "headerColor"}, {XRole, "nodeX"},
          {YRole, "nodeY"},         {WidthRole, "nodeWidth"},     {HeightRole, "nodeHeight"},
          {InputsRole, "inputs"},   {OutputsRole, "outputs"},     {BypassRole, "bypass"},
          {SelectedRole, "selected"}, {StateRole, "runState"},  {ProgressRole, "progress"},
          {MessageRole, "message"}, {SecondsRole, "seconds"},     {SummaryRole, "summary"}};
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
      const bool connected = outputs ? !g_->document().graph.links_from(n.id).empty() &&
                                           std::any_of(g_->document().graph.links.begin(),
                                                       g_->document().graph.links.end(),
                                                       [&](const Link& l) { return l.from == PortRef{n.id, p.name}; })
                                     : g_->document().graph.link_to({n.id, p.name}) != nullptr;
      list.push_back(QVariantMap{{"name", qs(p.name)}, {"type", qs(std::string(to_string(p.type)))},
                                 {"color", typeColor(p.type)}, {"optional", p.optional},
                                 {"connected", connected}, {"doc", qs(p.doc)}});
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
  return {{FromNodeRole, "fromNode"}, {FromPortRole, "fromPort"}, {ToNodeRole, "toNode"},
          {ToPortRole, "toPort"},     {ColorRole, "wireColor"},   {X1Role, "x1"},
          {Y1Role, "y1"},             {X2Role, "x2"},             {Y2Role, "y2"},
          {SelectedRole, "selected"}, {PathRole, "svgPath"}, {ReroutesRole, "reroutes"}};
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

// ---------------------------------------------------------------- controller

GraphController::GraphController(QObject* parent)
    : QObject(parent),
      registry_(&Registry::builtin()),
      nodes_(std::make_unique<NodeListModel>(this)),
      links_(std::make_unique<LinkListModel>(this)),
      session_id_(QUuid::createUuid().toString(QUuid::WithoutBraces).left(8)) {
  doc_.ui = json::object();
  connect(&undo_, &QUndoStack::indexChanged, this, &GraphController::undoStateChanged);
  connect(&undo_, &QUndoStack::cleanChanged, this, [this] {
    emit dirtyChanged();
    emit windowTitleChanged();
  });
  autosave_timer_.setInterval(autosave_seconds_ * 1000);
  connect(&autosave_timer_, &QTimer::timeout, this, [this] { autosaveNow(); });
  autosave_timer_.start();
}

GraphController::~GraphController() {
  // A clean exit leaves no recovery file behind.
  QFile::remove(autosavePath());
}

void GraphController::setAutosaveSeconds(int s) {
  autosave_seconds_ = std::max(0, s);
  autosave_timer_.stop();
  if (autosave_seconds_ > 0) {
    autosave_timer_.setInterval(autosave_seconds_ * 1000);
    autosave_timer_.start();
  }
  emit autosaveChanged();
}

QString GraphController::windowTitle() const {
  const QString name = path_.isEmpty() ? QStringLiteral("Untitled") : QFileInfo(path_).fileName();
  return name + (dirty() ? QStringLiteral("*") : QString()) + QStringLiteral(" \u2014 CamGraph");
}

json& GraphController::uiNodes(GraphDocument& d) const {
  if (!d.ui.is_object()) d.ui = json::object();
  json& n = d.ui["nodes"];
  if (!n.is_object()) n = json::object();
  return n;
}

json& GraphController::uiArray(GraphDocument& d, const char* key) const {
  if (!d.ui.is_object()) d.ui = json::object();
  json& a = d.ui[key];
  if (!a.is_array()) a = json::array();
  return a;
}

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

int GraphController::rowOf(const QString& id) const {
  const auto& nodes = doc_.graph.nodes;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].id == ss(id)) return int(i);
  return -1;
}

const NodeRunState* GraphController::runState(const std::string& id) const {
  auto it = run_states_.find(id);
  return it == run_states_.end() ? nullptr : &it->second;
}

void GraphController::setRunState(const QString& id, const NodeRunState& s) {
  run_states_[ss(id)] = s;
  const int row = rowOf(id);
  if (row >= 0) nodes_->changed(row);
}

void GraphController::clearRunStates() {
  run_states_.clear();
  if (!doc_.graph.nodes.empty())
    emit nodes_->dataChanged(nodes_->index(0), nodes_->index(int(doc_.graph.nodes.size()) - 1));
}

void GraphController::setNodeSummary(const QString& id, const QString& summary) {
  summaries_[ss(id)] = summary;
  const int row = rowOf(id);
  if (row >= 0) nodes_->changed(row);
}

QString GraphController::nodeSummary(const std::string& id) const {
  auto it = summaries_.find(id);
  return it == summaries_.end() ? QString() : it->second;
}

void GraphController::fail(const QString& message) {
  last_error_ = message;
  emit errorOccurred(message);
}

void GraphController::push(const QString& text, const GraphDocument& after, const QString& mergeKey) {
  GraphDocument next = after;
  pruneUiOfRemoved(next);
  undo_.push(new SnapshotCommand(this, text, doc_, std::move(next), mergeKey));
}

void GraphController::pruneUiOfRemoved(GraphDocument& d) {
  if (!d.ui.is_object()) return;
  if (d.ui.contains("reroutes") && d.ui["reroutes"].is_object()) {
    json& r = d.ui["reroutes"];
    for (auto it = r.begin(); it != r.end();) {
      const std::string key = it.key();
      const size_t dot = key.rfind('.');
      const bool wired = dot != std::string::npos && d.graph.link_to({key.substr(0, dot), key.substr(dot + 1)});
      if (!wired || !it.value().is_array() || it.value().empty()) it = r.erase(it);
      else ++it;
    }
    if (r.empty()) d.ui.erase("reroutes");
  }
  if (d.ui.contains("params") && d.ui["params"].is_object()) {
    json& p = d.ui["params"];
    for (auto it = p.begin(); it != p.end();) {
      if (!d.graph.node(it.key())) it = p.erase(it);
      else ++it;
    }
    if (p.empty()) d.ui.erase("params");
  }
}

void GraphController::applySnapshot(const GraphDocument& d) {
  const auto& a = doc_.graph.nodes;
  const auto& b = d.graph.nodes;
  bool structural = a.size() != b.size();
  for (size_t i = 0; !structural && i < a.size(); ++i) structural = a[i].id != b[i].id || a[i].type != b[i].type;
  const bool graphChanged = !(doc_.graph == d.graph);
  const bool linksChanged = !(doc_.graph.links == d.graph.links);
  const json oldUiNodes = doc_.ui.is_object() && doc_.ui.contains("nodes") ? doc_.ui["nodes"] : json::object();
  const json newUiNodes = d.ui.is_object() && d.ui.contains("nodes") ? d.ui["nodes"] : json::object();
  auto deco = [](const GraphDocument& x, const char* k) {
    return x.ui.is_object() && x.ui.contains(k) ? x.ui[k] : json();
  };
  const bool decoChanged = deco(doc_, "groups") != deco(d, "groups") || deco(doc_, "comments") != deco(d, "comments");
  const bool reroutesChanged = deco(doc_, "reroutes") != deco(d, "reroutes");
  std::vector<int> changedRows;
  if (!structural)
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string& id = a[i].id;
      const bool moved = oldUiNodes.value(id, json()) != newUiNodes.value(id, json());
      if (moved || !sameNode(a[i], b[i]) || linksChanged) changedRows.push_back(int(i));
    }
  std::set<std::string> paramNodes;
  if (!structural)
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].params != b[i].params) paramNodes.insert(a[i].id);

  doc_.graph = d.graph;
  doc_.ui = d.ui;
  doc_.extra = d.extra;
  doc_.graph_extra = d.graph_extra;
  if (structural) {
    nodes_->reset();
  } else {
    for (int r : changedRows) nodes_->changed(r);
  }
  if (structural || linksChanged) links_->reset();
  else if (!changedRows.empty() || reroutesChanged) links_->geometryChanged();
  if (decoChanged) emit decorationsChanged();
  pruneSelection();
  ++revision_;
  emit revisionChanged();
  if (graphChanged) emit graphEdited();
  for (const auto& id : paramNodes) emit paramEdited(qs(id));
}

void GraphController::pruneSelection() {
  bool changed = false;
  for (const QString& id : QStringList(selection_order_))
    if (!doc_.graph.node(ss(id))) {
      selection_.remove(id);
      selection_order_.removeAll(id);
      changed = true;
    }
  if (changed) emit selectionChanged();
}

// ---------------------------------------------------------------- edits

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

QString GraphController::portType(const QString& node, const QString& port, bool output) const {
  const NodeInstance* n = doc_.graph.node(ss(node));
  const NodeSpec* s = n ? registry_->find(n->type) : nullptr;
  const PortSpec* p = s ? (output ? s->output(ss(port)) : s->input(ss(port))) : nullptr;
  return p ? qs(std::string(to_string(p->type))) : QString();
}

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
                             [&](const Link& l) { return l.to == PortRef{b->id, in->name}; }),
              links.end());
  links.push_back({{a->id, out->name}, {b->id, in->name}});
  if (!d.graph.topological_order()) return tr("this wire would make a cycle ('%1' already depends on '%2')").arg(fromNode, toNode);
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
                             [&](const Link& l) { return l.to == PortRef{ss(toNode), ss(toPort)}; }),
              links.end());
  if (links.size() != before) push(tr("Disconnect %1.%2").arg(toNode, toPort), d);
  if (selected_link_ == toNode + "." + toPort) {
    selected_link_.clear();
    emit selectedLinkChanged();
  }
}

void GraphController::translateReroutes(GraphDocument& d, const std::set<std::string>& moved, double dx,
                                        double dy) {
  if ((dx == 0 && dy == 0) || !d.ui.is_object() || !d.ui.contains("reroutes") || !d.ui["reroutes"].is_object())
    return;
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
    v = check_param(n->id, *ps, toJson(*ps, value));
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

void GraphController::finishParamEdit() {
  if (undo_.index() == 0) return;
  if (auto* c = dynamic_cast<SnapshotCommand*>(const_cast<QUndoCommand*>(undo_.command(undo_.index() - 1))))
    c->open_ = false;
}

void GraphController::resetParam(const QString& id, const QString& name) {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* ps = spec ? spec->param(ss(name)) : nullptr;
  if (!ps) return;
  finishParamEdit();
  setParam(id, name, toVariant(ps->default_value));
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

// Copy: a complete .cgraph document with the selected nodes, the wires between them and their
// positions; any .cgraph text (e.g. another file's) pastes the same way.
QString GraphController::copySelection() {
  if (selection_order_.isEmpty()) return {};
  GraphDocument clip;
  std::set<std::string> ids;
  for (const NodeInstance& n : doc_.graph.nodes)
    if (selection_.contains(qs(n.id))) {
      clip.graph.nodes.push_back(n);
      ids.insert(n.id);
      const QPointF p = position(n.id);
      uiNodes(clip)[n.id] = {{"x", p.x()}, {"y", p.y()}};
    }
  for (const Link& l : doc_.graph.links)
    if (ids.count(l.from.node) && ids.count(l.to.node)) {
      clip.graph.links.push_back(l);
      // The wire's reroute points travel with it.
      const std::string key = l.to.node + "." + l.to.port;
      if (doc_.ui.is_object() && doc_.ui.contains("reroutes") && doc_.ui["reroutes"].contains(key))
        clip.ui["reroutes"][key] = doc_.ui["reroutes"][key];
    }
  // So do the seed options (lock, re-roll each run).
  for (const std::string& id : ids)
    if (doc_.ui.is_object() && doc_.ui.contains("params") && doc_.ui["params"].contains(id))
      clip.ui["params"][id] = doc_.ui["params"][id];
  const QString text = qs(to_cgraph_text(clip));
  if (auto* cb = QGuiApplication::clipboard()) {
    auto* mime = new QMimeData;
    mime->setText(text);
    mime->setData(kClipboardMime, text.toUtf8());
    cb->setMimeData(mime);
  }
  return text;
}

QStringList GraphController::paste(const QString& text, double x, double y) {
  GraphDocument clip;
  try {
    clip = parse_cgraph(ss(text), "clipboard");
  } catch (const std::exception& e) {
    fail(tr("Paste: the clipboard holds no CamGraph nodes (%1)").arg(QString::fromUtf8(e.what())));
    return {};
  }
  if (clip.graph.nodes.empty()) return {};
  for (const NodeInstance& n : clip.graph.nodes)
    if (!registry_->find(n.type)) {
      fail(tr("Paste: node '%1' has a type this build does not know: '%2'").arg(qs(n.id), qs(n.type)));
      return {};
    }
  GraphDocument d = doc_;
  std::map<std::string, std::string> rename;
  const json clipUi = clip.ui.is_object() && clip.ui.contains("nodes") ? clip.ui["nodes"] : json::object();
  double minX = 1e300, minY = 1e300;
  for (const NodeInstance& n : clip.graph.nodes) {
    const json p = clipUi.value(n.id, json::object());
    minX = std::min(minX, p.value("x", 0.0));
    minY = std::min(minY, p.value("y", 0.0));
  }
  QStringList added;
  for (NodeInstance n : clip.graph.nodes) {
    const json p = clipUi.value(n.id, json::object());
    const std::string old = n.id;
    n.id = d.graph.unique_id(old);
    rename[old] = n.id;
    d.graph.nodes.push_back(n);
    uiNodes(d)[n.id] = {{"x", std::round(x + p.value("x", 0.0) - minX)}, {"y", std::round(y + p.value("y", 0.0) - minY)}};
    added << qs(n.id);
  }
  const json clipReroutes = clip.ui.is_object() && clip.ui.contains("reroutes") && clip.ui["reroutes"].is_object()
                                ? clip.ui["reroutes"] : json::object();
  for (const Link& l : clip.graph.links) {
    if (!rename.count(l.from.node) || !rename.count(l.to.node)) continue;
    d.graph.links.push_back({{rename[l.from.node], l.from.port}, {rename[l.to.node], l.to.port}});
    const std::string key = l.to.node + "." + l.to.port;
    if (!clipReroutes.contains(key) || !clipReroutes[key].is_array()) continue;
    json points = json::array();
    for (const json& p : clipReroutes[key])
      if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number())
        points.push_back({std::round(x + p[0].get<double>() - minX), std::round(y + p[1].get<double>() - minY)});
    if (!points.empty()) d.ui["reroutes"][rename[l.to.node] + "." + l.to.port] = points;
  }
  if (clip.ui.is_object() && clip.ui.contains("params") && clip.ui["params"].is_object())
    for (auto it = clip.ui["params"].begin(); it != clip.ui["params"].end(); ++it)
      if (rename.count(it.key()) && it.value().is_object()) d.ui["params"][rename[it.key()]] = it.value();
  push(added.size() == 1 ? tr("Paste %1").arg(added.first()) : tr("Paste %1 nodes").arg(added.size()), d);
  clearSelection();
  for (const QString& id : added) select(id, true);
  return added;
}

QStringList GraphController::pasteClipboard(double x, double y) {
  const QClipboard* cb = QGuiApplication::clipboard();
  if (!cb || !cb->mimeData()) return {};
  const QMimeData* m = cb->mimeData();
  const QString text = m->hasFormat(kClipboardMime) ? QString::fromUtf8(m->data(kClipboardMime)) : m->text();
  return paste(text, x, y);
}

QStringList GraphController::duplicateSelection() {
  if (selection_order_.isEmpty()) return {};
  double minX = 1e300, minY = 1e300;
  for (const QString& id : selection_order_) {
    minX = std::min(minX, position(ss(id)).x());
    minY = std::min(minY, position(ss(id)).y());
  }
  const QString text = copySelection();
  return paste(text, minX + 30, minY + 30);
}

QString GraphController::newDecorationId(const char* prefix) const {
  std::set<std::string> used;
  for (const char* k : {"groups", "comments"})
    if (doc_.ui.is_object() && doc_.ui.contains(k) && doc_.ui[k].is_array())
      for (const json& g : doc_.ui[k]) used.insert(g.value("id", ""));
  for (int i = 1;; ++i) {
    const std::string id = std::string(prefix) + std::to_string(i);
    if (!used.count(id)) return qs(id);
  }
}

QString GraphController::addGroup(const QString& title, const QString& color) {
  QRectF r;
  for (const QString& id : selection_order_) {
    const NodeInstance* n = doc_.graph.node(ss(id));
    r = r.united(QRectF(position(n->id), QSizeF(kNodeWidth, nodeHeight(*n))));
  }
  if (r.isNull()) r = QRectF(0, 0, 400, 250);
  r.adjust(-20, -40, 20, 20);
  GraphDocument d = doc_;
  const QString id = newDecorationId("group");
  uiArray(d, "groups").push_back({{"id", ss(id)}, {"title", ss(title)}, {"color", ss(color)},
                                  {"x", r.x()}, {"y", r.y()}, {"w", r.width()}, {"h", r.height()}});
  push(tr("Add group"), d);
  return id;
}

void GraphController::updateGroup(const QString& id, const QVariantMap& fields) {
  GraphDocument d = doc_;
  bool found = false;
  for (const char* k : {"groups", "comments"})
    for (json& g : uiArray(d, k))
      if (g.value("id", "") == ss(id)) {
        found = true;
        for (auto it = fields.begin(); it != fields.end(); ++it) {
          const QVariant& v = it.value();
          if (v.typeId() == QMetaType::QString) g[ss(it.key())] = ss(v.toString());
          else g[ss(it.key())] = v.toDouble();
        }
      }
  if (found && d.ui != doc_.ui) push(tr("Edit %1").arg(id), d, "deco." + id + "." + fields.keys().join(','));
}

QString GraphController::addComment(const QString& text, double x, double y) {
  GraphDocument d = doc_;
  const QString id = newDecorationId("comment");
  uiArray(d, "comments").push_back({{"id", ss(id)}, {"text", ss(text)}, {"x", x}, {"y", y}, {"w", 220}, {"h", 80}});
  push(tr("Add comment"), d);
  return id;
}

void GraphController::updateComment(const QString& id, const QVariantMap& fields) { updateGroup(id, fields); }

void GraphController::removeDecoration(const QString& id) {
  GraphDocument d = doc_;
  for (const char* k : {"groups", "comments"}) {
    json& a = uiArray(d, k);
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].value("id", "") == ss(id)) {
        a.erase(a.begin() + i);
        push(tr("Delete %1").arg(id), d);
        return;
      }
  }
}

QVariantList GraphController::groups() const {
  QVariantList out;
  if (doc_.ui.is_object() && doc_.ui.contains("groups") && doc_.ui["groups"].is_array())
    for (const json& g : doc_.ui["groups"])
      out.push_back(QVariantMap{{"id", qs(g.value("id", ""))}, {"title", qs(g.value("title", ""))},
                                {"color", qs(g.value("color", "#4a6fa5"))}, {"x", g.value("x", 0.0)},
                                {"y", g.value("y", 0.0)}, {"w", g.value("w", 300.0)}, {"h", g.value("h", 200.0)}});
  return out;
}

QVariantList GraphController::comments() const {
  QVariantList out;
  if (doc_.ui.is_object() && doc_.ui.contains("comments") && doc_.ui["comments"].is_array())
    for (const json& c : doc_.ui["comments"])
      out.push_back(QVariantMap{{"id", qs(c.value("id", ""))}, {"text", qs(c.value("text", ""))},
                                {"x", c.value("x", 0.0)}, {"y", c.value("y", 0.0)}, {"w", c.value("w", 220.0)},
                                {"h", c.value("h", 80.0)}});
  return out;
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
  doc_.ui["viewport"] = {{"x", v.value("x").toDouble()}, {"y", v.value("y").toDouble()},
                         {"zoom", v.value("zoom", 1.0).toDouble()}};
  emit viewportChanged();
}

// ---------------------------------------------------------------- selection

void GraphController::select(const QString& id, bool additive) {
  if (!additive) {
    for (const QString& s : selection_order_)
      if (int r = rowOf(s); r >= 0 && s != id) {
        selection_.remove(s);
        nodes_->changed(r);
      }
    selection_order_.clear();
    selection_.clear();
  }
  if (!id.isEmpty() && doc_.graph.node(ss(id))) {
    if (additive && selection_.contains(id)) {
      selection_.remove(id);
      selection_order_.removeAll(id);
    } else {
      selection_.insert(id);
      selection_order_.removeAll(id);
      selection_order_.append(id);
    }
    nodes_->changed(rowOf(id));
  }
  if (!selected_link_.isEmpty()) {
    selected_link_.clear();
    links_->geometryChanged();
    emit selectedLinkChanged();
  }
  emit selectionChanged();
}

void GraphController::selectInRect(double x, double y, double w, double h, bool additive) {
  const QRectF box = QRectF(x, y, w, h).normalized();
  if (!additive) clearSelection();
  for (const NodeInstance& n : doc_.graph.nodes) {
    const QRectF r(position(n.id), QSizeF(kNodeWidth, nodeHeight(n)));
    if (box.intersects(r) && !selection_.contains(qs(n.id))) select(qs(n.id), true);
  }
}

void GraphController::selectAll() {
  for (const NodeInstance& n : doc_.graph.nodes)
    if (!selection_.contains(qs(n.id))) select(qs(n.id), true);
}

void GraphController::clearSelection() { select({}, false); }

void GraphController::selectLink(const QString& toNode, const QString& toPort) {
  clearSelection();
  selected_link_ = toNode + "." + toPort;
  links_->geometryChanged();
  emit selectedLinkChanged();
}

void GraphController::removeSelectedLink() {
  const int dot = selected_link_.lastIndexOf('.');
  if (dot > 0) disconnectInput(selected_link_.left(dot), selected_link_.mid(dot + 1));
}

// ---------------------------------------------------------------- queries

QVariantList GraphController::paramsOf(const QString& id) const {
  QVariantList out;
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  if (!spec) return out;
  for (const ParamSpec& p : spec->params) {
    QVariantMap m{{"name", qs(p.name)},
                  {"type", qs(std::string(to_string(p.type)))},
                  {"value", toVariant(n->params.contains(p.name) ? n->params[p.name] : p.default_value)},
                  {"default", toVariant(p.default_value)},
                  {"doc", qs(p.doc)},
                  {"filter", qs(p.file_filter)},
                  {"inputFile", p.is_input_file},
                  {"multiline", p.multiline}};
    if (p.min) m["min"] = *p.min;
    if (p.max) m["max"] = *p.max;
    QStringList choices;
    for (const auto& c : p.choices) choices << qs(c);
    m["choices"] = choices;
    out.push_back(m);
  }
  return out;
}

QVariant GraphController::paramValue(const QString& id, const QString& name) const {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* p = spec ? spec->param(ss(name)) : nullptr;
  if (!p) return {};
  return toVariant(n->params.contains(p->name) ? n->params[p->name] : p->default_value);
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
          best = {{"node", qs(n.id)}, {"port", qs(p.name)}, {"output", bool(output)},
                  {"type", qs(std::string(to_string(p.type)))}};
        }
      }
  }
  return best;
}

QVariantMap GraphController::linkAt(double x, double y, double radius) const {
  // Wires are drawn as cubic Beziers with horizontal tangents between their control points (the
  // ports and the reroute points; see wireSvgPath): sample them.
  for (const Link& l : doc_.graph.links) {
    const QList<QPointF> pts = wirePoints(l);
    for (int k = 0; k + 1 < pts.size(); ++k) {
      const QPointF a = pts[k], b = pts[k + 1];
      const double dx = std::max(40.0, std::abs(b.x() - a.x()) * 0.5);
      const QPointF c1(a.x() + dx, a.y()), c2(b.x() - dx, b.y());
      QPointF prev = a;
      for (int i = 1; i <= 32; ++i) {
        const double t = i / 32.0, u = 1 - t;
        const QPointF p = u * u * u * a + 3 * u * u * t * c1 + 3 * u * t * t * c2 + t * t * t * b;
        // Distance from (x, y) to the segment prev-p.
        const QPointF d = p - prev, w = QPointF(x, y) - prev;
        const double len2 = d.x() * d.x() + d.y() * d.y();
        const double s = len2 > 0 ? std::clamp((w.x() * d.x() + w.y() * d.y()) / len2, 0.0, 1.0) : 0;
        const QPointF e = prev + s * d - QPointF(x, y);
        if (e.x() * e.x() + e.y() * e.y() <= radius * radius)
          return {{"toNode", qs(l.to.node)}, {"toPort", qs(l.to.port)}, {"segment", k}};
        prev = p;
      }
    }
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

QString GraphController::wireSvgPath(const Link& l) const {
  const QList<QPointF> pts = wirePoints(l);
  QString path = QStringLiteral("M %1 %2").arg(pts[0].x()).arg(pts[0].y());
  for (int k = 0; k + 1 < pts.size(); ++k) {
    const QPointF a = pts[k], b = pts[k + 1];
    const double dx = std::max(40.0, std::abs(b.x() - a.x()) * 0.5);
    path += QStringLiteral(" C %1 %2 %3 %4 %5 %6")
                .arg(a.x() + dx).arg(a.y()).arg(b.x() - dx).arg(b.y()).arg(b.x()).arg(b.y());
  }
  return path;
}

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
  const QList<QPointF> pts = wirePoints(*l);
  auto dist = [](QPointF a, QPointF b) { return std::hypot(a.x() - b.x(), a.y() - b.y()); };
  const QPointF p(std::round(x), std::round(y));
  int best = 0;
  double bestCost = 1e300;
  for (int k = 0; k + 1 < pts.size(); ++k) {
    const double cost = dist(pts[k], p) + dist(p, pts[k + 1]) - dist(pts[k], pts[k + 1]);
    if (cost < bestCost) bestCost = cost, best = k;
  }
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

// ---------------------------------------------------------------- seeds

QVariantMap GraphController::seedOptions(const QString& id, const QString& name) const {
  bool lock = false, eachRun = false;
  if (doc_.ui.is_object() && doc_.ui.contains("params") && doc_.ui["params"].is_object()) {
    const json& p = doc_.ui["params"];
    if (p.contains(ss(id)) && p[ss(id)].is_object() && p[ss(id)].contains(ss(name))) {
      const json& o = p[ss(id)][ss(name)];
      if (o.is_object()) {
        lock = o.value("lock", false);
        eachRun = o.value("each_run", false);
      }
    }
  }
  return {{"lock", lock}, {"eachRun", eachRun}};
}

QString GraphController::setSeedOptions(const QString& id, const QString& name, bool lock, bool eachRun) {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* ps = spec ? spec->param(ss(name)) : nullptr;
  if (!ps || ps->type != ParamType::Seed) {
    const QString why = tr("node '%1' has no seed parameter '%2'").arg(id, name);
    fail(why);
    return why;
  }
  const QVariantMap now = seedOptions(id, name);
  if (now["lock"].toBool() == lock && now["eachRun"].toBool() == eachRun) return {};
  GraphDocument d = doc_;
  if (!d.ui.is_object()) d.ui = json::object();
  json& params = d.ui["params"];
  if (!params.is_object()) params = json::object();
  json& node = params[ss(id)];
  if (!node.is_object()) node = json::object();
  if (!lock && !eachRun) node.erase(ss(name));
  else node[ss(name)] = {{"lock", lock}, {"each_run", eachRun}};
  if (node.empty()) params.erase(ss(id));
  const QString what = lock != now["lock"].toBool() ? (lock ? tr("Lock %1.%2") : tr("Unlock %1.%2"))
                                                    : (eachRun ? tr("Re-roll %1.%2 each run") : tr("Keep %1.%2 between runs"));
  push(what.arg(id, name), d);
  return {};
}

static int64_t randomSeed() { return QRandomGenerator::global()->bounded(2147483647); }

QVariant GraphController::randomiseSeed(const QString& id, const QString& name) {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* ps = spec ? spec->param(ss(name)) : nullptr;
  if (!ps || ps->type != ParamType::Seed) {
    fail(tr("node '%1' has no seed parameter '%2'").arg(id, name));
    return {};
  }
  const json old = n->params.contains(ps->name) ? n->params[ps->name] : ps->default_value;
  int64_t v = randomSeed();
  while (old.is_number_integer() && old.get<int64_t>() == v) v = randomSeed();
  finishParamEdit();  // its own undo step, not merged into a previous edit of this seed
  if (!setParam(id, name, QVariant::fromValue<qlonglong>(v)).isEmpty()) return {};
  finishParamEdit();
  return QVariant::fromValue<qlonglong>(v);
}

QStringList GraphController::rerollSeeds() {
  QStringList rolled;
  GraphDocument d = doc_;
  for (NodeInstance& n : d.graph.nodes) {
    const NodeSpec* spec = registry_->find(n.type);
    if (!spec || n.bypass) continue;
    for (const ParamSpec& p : spec->params) {
      if (p.type != ParamType::Seed) continue;
      const QVariantMap o = seedOptions(qs(n.id), qs(p.name));
      if (o["lock"].toBool() || !o["eachRun"].toBool()) continue;
      const json old = n.params.contains(p.name) ? n.params[p.name] : p.default_value;
      int64_t v = randomSeed();
      while (old.is_number_integer() && old.get<int64_t>() == v) v = randomSeed();
      n.params[p.name] = v;
      rolled << qs(n.id + "." + p.name);
    }
  }
  if (!rolled.isEmpty()) {
    finishParamEdit();
    push(tr("Re-roll %1 seed(s)").arg(rolled.size()), d);
  }
  return rolled;
}

QString GraphController::inputSource(const QString& node, const QString& port) const {
  const Link* l = doc_.graph.link_to({ss(node), ss(port)});
  return l ? qs(l->from.to_string()) : QString();
}

QVariantMap GraphController::nodeInfo(const QString& id) const {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  if (!spec) return {};
  QStringList outputs;
  for (const PortSpec& p : spec->outputs) outputs << qs(p.name);
  return {{"id", id}, {"type", qs(n->type)}, {"title", qs(spec->title)}, {"category", qs(spec->category)},
          {"doc", qs(spec->doc)}, {"bypass", n->bypass}, {"outputs", outputs},
          {"color", categoryColor(spec->category)}};
}

QVariantList GraphController::palette() const { return searchNodes({}); }

QVariantList GraphController::searchNodes(const QString& text, const QString& portType, bool wantInput) const {
  QVariantList out;
  const auto wanted = port_type_from_string(ss(portType));
  for (const NodeSpec* s : registry_->all()) {
    const QString hay = qs(s->title + " " + s->type + " " + s->category + " " + s->doc);
    bool match = true;
    for (const QString& word : text.split(' ', Qt::SkipEmptyParts))
      match = match && hay.contains(word, Qt::CaseInsensitive);
    if (!match) continue;
    if (wanted) {
      bool ok = false;
      for (const PortSpec& p : wantInput ? s->inputs : s->outputs)
        ok = ok || (wantInput ? port_types_compatible(*wanted, p.type) : port_types_compatible(p.type, *wanted));
      if (!ok) continue;
    }
    out.push_back(QVariantMap{{"type", qs(s->type)}, {"title", qs(s->title)}, {"category", qs(s->category)},
                              {"color", categoryColor(s->category)}, {"doc", qs(s->doc)}});
  }
  std::stable_sort(out.begin(), out.end(), [](const QVariant& a, const QVariant& b) {
    return a.toMap()["category"].toString() < b.toMap()["category"].toString();
  });
  return out;
}

QVariantMap GraphController::fitRect() const {
  QRectF r;
  for (const NodeInstance& n : doc_.graph.nodes) r = r.united(QRectF(position(n.id), QSizeF(kNodeWidth, nodeHeight(n))));
  for (const QVariant& g : groups() + comments()) {
    const QVariantMap m = g.toMap();
    r = r.united(QRectF(m["x"].toDouble(), m["y"].toDouble(), m["w"].toDouble(), m["h"].toDouble()));
  }
  return {{"x", r.x()}, {"y", r.y()}, {"w", r.width()}, {"h", r.height()}};
}

// ---------------------------------------------------------------- files

void GraphController::setPath(const QString& path) {
  path_ = path;
  emit filePathChanged();
  emit windowTitleChanged();
}

QStringList GraphController::recentFiles() const {
  return QSettings().value("recentFiles").toStringList();
}

void GraphController::addRecent(const QString& path) {
  QStringList r = recentFiles();
  const QString abs = QFileInfo(path).absoluteFilePath();
  r.removeAll(abs);
  r.prepend(abs);
  while (r.size() > 10) r.removeLast();
  QSettings().setValue("recentFiles", r);
  emit recentFilesChanged();
}

QString GraphController::graphDir() const {
  return path_.isEmpty() ? QDir::currentPath() : QFileInfo(path_).absolutePath();
}

void GraphController::newGraph() {
  QFile::remove(autosavePath());
  undo_.clear();
  GraphDocument fresh;
  applySnapshot(fresh);
  doc_ = fresh;
  nodes_->reset();
  links_->reset();
  run_states_.clear();
  summaries_.clear();
  clearSelection();
  setPath({});
  emit decorationsChanged();
  emit viewportChanged();
  emit documentReplaced();
}

bool GraphController::open(const QString& path) {
  GraphDocument loaded;
  try {
    loaded = load_cgraph(std::filesystem::path(ss(path)), *registry_);
  } catch (const std::exception& e) {
    fail(tr("Cannot open %1: %2").arg(path, QString::fromUtf8(e.what())));
    return false;
  }
  QFile::remove(autosavePath());
  undo_.clear();
  doc_ = loaded;
  // Nodes without a stored position get a simple left-to-right layout by depth.
  if (auto order = doc_.graph.topological_order()) {
    std::map<std::string, int> depth;
    std::map<int, int> perColumn;
    for (const auto& id : *order) {
      int dd = 0;
      for (const Link* l : doc_.graph.links_into(id)) dd = std::max(dd, depth[l->from.node] + 1);
      depth[id] = dd;
      json& n = uiNodes(doc_);
      if (!n.contains(id)) n[id] = {{"x", dd * 260}, {"y", perColumn[dd]++ * 160}};
    }
  }
  run_states_.clear();
  summaries_.clear();
  nodes_->reset();
  links_->reset();
  clearSelection();
  setPath(QFileInfo(path).absoluteFilePath());
  addRecent(path);
  emit decorationsChanged();
  emit viewportChanged();
  emit documentReplaced();
  emit graphEdited();
  return true;
}

bool GraphController::save() {
  if (path_.isEmpty()) {
    fail(tr("Untitled graph: choose a file with Save As"));
    return false;
  }
  return saveAs(path_);
}

bool GraphController::saveAs(const QString& path) {
  try {
    save_cgraph(doc_, std::filesystem::path(ss(path)));
  } catch (const std::exception& e) {
    fail(tr("Cannot save %1: %2").arg(path, QString::fromUtf8(e.what())));
    return false;
  }
  QFile::remove(autosavePath());
  setPath(QFileInfo(path).absoluteFilePath());
  undo_.setClean();
  addRecent(path);
  emit windowTitleChanged();
  return true;
}

QString GraphController::toText() const { return qs(to_cgraph_text(doc_)); }

static QString autosaveDir() {
  const QString base = qEnvironmentVariableIsSet("CAMGRAPH_AUTOSAVE_DIR")
                           ? qEnvironmentVariable("CAMGRAPH_AUTOSAVE_DIR")
                           : QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/autosave";
  return base;
}

QString GraphController::autosavePath() const {
  // One file per document (named after its path) and per session for untitled ones; the original's
  // path is kept inside the file (extra key) so recovery can offer it.
  const QString key = path_.isEmpty() ? "untitled-" + session_id_
                                      : QString(QCryptographicHash::hash(path_.toUtf8(), QCryptographicHash::Sha1)
                                                    .toHex()
                                                    .left(12));
  const QString name = path_.isEmpty() ? key : QFileInfo(path_).completeBaseName() + "-" + key;
  return autosaveDir() + "/" + name + ".cgraph";
}

bool GraphController::autosaveNow() {
  if (!dirty()) return false;
  GraphDocument d = doc_;
  d.extra["autosave_of"] = ss(path_);
  try {
    QDir().mkpath(autosaveDir());
    save_cgraph(d, std::filesystem::path(ss(autosavePath())));
  } catch (const std::exception& e) {
    fail(tr("Autosave failed: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
  return true;
}

QStringList GraphController::recoverableFiles() const {
  QStringList out;
  const QString mine = autosavePath();
  for (const QFileInfo& f : QDir(autosaveDir()).entryInfoList({"*.cgraph"}, QDir::Files, QDir::Time))
    if (f.absoluteFilePath() != mine) out << f.absoluteFilePath();
  return out;
}

bool GraphController::recover(const QString& autosaveFile) {
  GraphDocument loaded;
  try {
    loaded = load_cgraph(std::filesystem::path(ss(autosaveFile)), *registry_);
  } catch (const std::exception& e) {
    fail(tr("Cannot recover %1: %2").arg(autosaveFile, QString::fromUtf8(e.what())));
    return false;
  }
  const QString original = loaded.extra.contains("autosave_of") ? qs(loaded.extra["autosave_of"].get<std::string>()) : QString();
  loaded.extra.erase("autosave_of");
  newGraph();
  setPath(original);
  // The recovered content is one undoable step away from the saved file: the title shows '*'.
  GraphDocument base = doc_;
  if (!original.isEmpty()) {
    try {
      base = load_cgraph(std::filesystem::path(ss(original)), *registry_);
    } catch (const std::exception&) {
    }
  }
  doc_ = base;
  nodes_->reset();
  links_->reset();
  undo_.clear();
  push(tr("Recover autosave"), loaded);
  QFile::remove(autosaveFile);
  emit documentReplaced();
  return true;
}

void GraphController::discardRecovery(const QString& autosaveFile) { QFile::remove(autosaveFile); }

}  // namespace camgraph::ui
