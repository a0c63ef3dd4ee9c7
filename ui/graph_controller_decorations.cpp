// GraphController decorations: groups and comments, kept in the file's ui section
// (`ui.groups[] = {id, title, color, x, y, w, h}`, `ui.comments[] = {id, text, x, y, w, h}`).
// Moving a group moves the nodes in it (moveGroupBy, graph_controller_edit.cpp).
#include <QRectF>
#include <set>

#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::qs;
using detail::ss;
using nlohmann::json;

QVariantList GraphController::groups() const {
  QVariantList out;
  if (doc_.ui.is_object() && doc_.ui.contains("groups") && doc_.ui["groups"].is_array())
    for (const json& g : doc_.ui["groups"])
      out.push_back(QVariantMap{{"id", qs(g.value("id", ""))},
                                {"title", qs(g.value("title", ""))},
                                {"color", qs(g.value("color", "#4a6fa5"))},
                                {"x", g.value("x", 0.0)},
                                {"y", g.value("y", 0.0)},
                                {"w", g.value("w", 300.0)},
                                {"h", g.value("h", 200.0)}});
  return out;
}

QVariantList GraphController::comments() const {
  QVariantList out;
  if (doc_.ui.is_object() && doc_.ui.contains("comments") && doc_.ui["comments"].is_array())
    for (const json& c : doc_.ui["comments"])
      out.push_back(QVariantMap{{"id", qs(c.value("id", ""))},
                                {"text", qs(c.value("text", ""))},
                                {"x", c.value("x", 0.0)},
                                {"y", c.value("y", 0.0)},
                                {"w", c.value("w", 220.0)},
                                {"h", c.value("h", 80.0)}});
  return out;
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
    r = r.united(nodeBox(*n));
  }
  if (r.isNull()) r = QRectF(0, 0, 400, 250);
  r.adjust(-20, -40, 20, 20);
  GraphDocument d = doc_;
  const QString id = newDecorationId("group");
  uiArray(d, "groups")
      .push_back({{"id", ss(id)},
                  {"title", ss(title)},
                  {"color", ss(color)},
                  {"x", r.x()},
                  {"y", r.y()},
                  {"w", r.width()},
                  {"h", r.height()}});
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

}  // namespace camgraph::ui
