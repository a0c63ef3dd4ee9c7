// GraphController file session: new, open, save, autosave and recovery. The path, recent files and
// autosave file names live in FileSession (file_session.h); this part replaces the document.
#include <QFile>
#include <QFileInfo>
#include <algorithm>
#include <map>

#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::qs;
using detail::ss;
using nlohmann::json;

void GraphController::setPath(const QString& path) {
  files_.setPath(path);
  emit filePathChanged();
  emit windowTitleChanged();
}

void GraphController::addRecent(const QString& path) {
  FileSession::addRecent(path);
  emit recentFilesChanged();
}

void GraphController::resetViewState() {
  run_states_.clear();
  summaries_.clear();
  nodes_->reset();
  links_->reset();
  clearSelection();
}

void GraphController::placeUnpositionedNodes(GraphDocument& d) {
  const auto order = d.graph.topological_order();
  if (!order) return;
  std::map<std::string, int> depth;
  std::map<int, int> perColumn;
  if (!d.ui.is_object()) d.ui = json::object();
  json& positions = d.ui["nodes"];
  if (!positions.is_object()) positions = json::object();
  for (const auto& id : *order) {
    int dd = 0;
    for (const Link* l : d.graph.links_into(id)) dd = std::max(dd, depth[l->from.node] + 1);
    depth[id] = dd;
    if (!positions.contains(id)) positions[id] = {{"x", dd * 260}, {"y", perColumn[dd]++ * 160}};
  }
}

void GraphController::newGraph() {
  files_.removeAutosave();
  undo_.clear();
  GraphDocument fresh;
  applySnapshot(fresh);
  doc_ = fresh;
  resetViewState();
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
  files_.removeAutosave();
  undo_.clear();
  doc_ = loaded;
  placeUnpositionedNodes(doc_);
  resetViewState();
  setPath(QFileInfo(path).absoluteFilePath());
  addRecent(path);
  emit decorationsChanged();
  emit viewportChanged();
  emit documentReplaced();
  emit graphEdited();
  return true;
}

bool GraphController::save() {
  if (filePath().isEmpty()) {
    fail(tr("Untitled graph: choose a file with Save As"));
    return false;
  }
  return saveAs(filePath());
}

bool GraphController::saveAs(const QString& path) {
  try {
    save_cgraph(doc_, std::filesystem::path(ss(path)));
  } catch (const std::exception& e) {
    fail(tr("Cannot save %1: %2").arg(path, QString::fromUtf8(e.what())));
    return false;
  }
  files_.removeAutosave();
  setPath(QFileInfo(path).absoluteFilePath());
  undo_.setClean();
  addRecent(path);
  emit windowTitleChanged();
  return true;
}

QString GraphController::toText() const { return qs(to_cgraph_text(doc_)); }

bool GraphController::autosaveNow() {
  if (!dirty()) return false;
  try {
    files_.writeAutosave(doc_);
  } catch (const std::exception& e) {
    fail(tr("Autosave failed: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
  return true;
}

bool GraphController::recover(const QString& autosaveFile) {
  GraphDocument loaded;
  try {
    loaded = load_cgraph(std::filesystem::path(ss(autosaveFile)), *registry_);
  } catch (const std::exception& e) {
    fail(tr("Cannot recover %1: %2").arg(autosaveFile, QString::fromUtf8(e.what())));
    return false;
  }
  const QString original = FileSession::takeAutosaveOrigin(loaded);
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
