// GraphController: document state, snapshots and undo, per-node run state. The other members are
// defined by role in graph_controller_*.cpp (see graph_controller.h).
#include "graph_controller.h"
#include "app_registry.h"

#include <QFile>
#include <algorithm>
#include <cmath>
#include <set>

#include "graph_controller_support.h"
#include "snapshot_command.h"

namespace camgraph::ui {

using nlohmann::json;

// ---------------------------------------------------------------- shared helpers

namespace detail {

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

// Header colour per palette category (Blender-like: sources warm, processing cool, outputs red).
QString categoryColor(const std::string& c) {
  static const std::map<std::string, QString> colors = {
      {"Input", "#3d6b47"}, {"Source", "#6b5a3d"}, {"Image", "#3d5a7a"},   {"3D", "#6a3d7a"},    {"Camera", "#2f6f5f"},
      {"Shot", "#7a5a2f"},  {"Text", "#7a7a3d"},   {"Dataset", "#4a4a7a"}, {"Output", "#7a3d3d"}};
  auto it = colors.find(c);
  return it == colors.end() ? QString("#555a60") : it->second;
}

QString typeColor(PortType t) {
  for (const auto& info : port_type_table())
    if (info.type == t) return QString::fromUtf8(info.colour.data(), int(info.colour.size()));
  return "#ffffff";
}

}  // namespace detail

using detail::qs;
using detail::ss;

namespace {

bool sameNode(const NodeInstance& a, const NodeInstance& b) {
  return a.id == b.id && a.type == b.type && a.params == b.params && a.bypass == b.bypass;
}

// What a new snapshot changes, so that applySnapshot refreshes only that.
struct SnapshotChanges {
  bool structural = false;  // nodes added, removed, reordered or retyped: reset the models
  bool graph = false, links = false, decorations = false, reroutes = false;
  std::vector<int> rows;             // node rows to refresh (when not structural)
  std::set<std::string> paramNodes;  // nodes whose parameters changed
};

json uiValue(const GraphDocument& d, const char* key) {
  return d.ui.is_object() && d.ui.contains(key) ? d.ui[key] : json();
}

SnapshotChanges compareSnapshots(const GraphDocument& now, const GraphDocument& next) {
  SnapshotChanges c;
  const auto& a = now.graph.nodes;
  const auto& b = next.graph.nodes;
  c.structural = a.size() != b.size();
  for (size_t i = 0; !c.structural && i < a.size(); ++i) c.structural = a[i].id != b[i].id || a[i].type != b[i].type;
  c.graph = !(now.graph == next.graph);
  c.links = !(now.graph.links == next.graph.links);
  c.decorations = uiValue(now, "groups") != uiValue(next, "groups") ||
                  uiValue(now, "comments") != uiValue(next, "comments");
  c.reroutes = uiValue(now, "reroutes") != uiValue(next, "reroutes");
  if (c.structural) return c;
  const json oldUiNodes = now.ui.is_object() && now.ui.contains("nodes") ? now.ui["nodes"] : json::object();
  const json newUiNodes = next.ui.is_object() && next.ui.contains("nodes") ? next.ui["nodes"] : json::object();
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& id = a[i].id;
    const bool moved = oldUiNodes.value(id, json()) != newUiNodes.value(id, json());
    if (moved || !sameNode(a[i], b[i]) || c.links) c.rows.push_back(int(i));
    if (a[i].params != b[i].params) c.paramNodes.insert(id);
  }
  return c;
}

}  // namespace

// ---------------------------------------------------------------- controller

GraphController::GraphController(QObject* parent)
    : QObject(parent),
      registry_(&appRegistry()),
      nodes_(std::make_unique<NodeListModel>(this)),
      links_(std::make_unique<LinkListModel>(this)) {
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
  files_.removeAutosave();
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

// ---------------------------------------------------------------- snapshots

void GraphController::push(const QString& text, const GraphDocument& after, const QString& mergeKey) {
  GraphDocument next = after;
  pruneUiOfRemoved(next);
  undo_.push(
      new SnapshotCommand([this](const GraphDocument& d) { applySnapshot(d); }, text, doc_, std::move(next), mergeKey));
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
  const SnapshotChanges c = compareSnapshots(doc_, d);
  doc_.graph = d.graph;
  doc_.ui = d.ui;
  doc_.extra = d.extra;
  doc_.graph_extra = d.graph_extra;
  if (c.structural) {
    nodes_->reset();
  } else {
    for (int r : c.rows) nodes_->changed(r);
  }
  if (c.structural || c.links) links_->reset();
  else if (!c.rows.empty() || c.reroutes) links_->geometryChanged();
  if (c.decorations) emit decorationsChanged();
  pruneSelection();
  ++revision_;
  emit revisionChanged();
  if (c.graph) emit graphEdited();
  for (const auto& id : c.paramNodes) emit paramEdited(qs(id));
}

}  // namespace camgraph::ui
