// GraphController clipboard: copy, paste and duplicate. The clipboard holds a complete .cgraph
// document (text, and the same bytes as application/x-camgraph), so nodes paste between files and
// editor windows, and any .cgraph text pastes too.
#include <QClipboard>
#include <QGuiApplication>
#include <QMimeData>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::qs;
using detail::ss;
using nlohmann::json;

namespace {
constexpr const char* kClipboardMime = "application/x-camgraph";
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
    uiNodes(d)[n.id] = {{"x", std::round(x + p.value("x", 0.0) - minX)},
                        {"y", std::round(y + p.value("y", 0.0) - minY)}};
    added << qs(n.id);
  }
  const json clipReroutes = clip.ui.is_object() && clip.ui.contains("reroutes") && clip.ui["reroutes"].is_object()
                                ? clip.ui["reroutes"]
                                : json::object();
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

}  // namespace camgraph::ui
