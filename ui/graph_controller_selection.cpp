// GraphController selection: the selected nodes (in selection order; the last is the current node)
// and the selected wire. Not undoable.
#include <QRectF>

#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::qs;
using detail::ss;

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
    const QRectF r = nodeBox(n);
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

}  // namespace camgraph::ui
