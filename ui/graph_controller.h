// The editor's document: a .cgraph graph plus its `ui` section (positions, groups, comments),
// edited only through commands on a QUndoStack. Headless (no QML engine needed) and tested in
// ui/tests; QML views bind to `nodes`, `links`, `groups` and `comments` and call the invokables.
//
// One class, its members defined by role:
//   graph_controller.cpp             document state, snapshots and undo, run states
//   graph_controller_edit.cpp        node, wire, move, parameter and bypass edits
//   graph_controller_clipboard.cpp   copy, paste, duplicate
//   graph_controller_decorations.cpp groups and comments
//   graph_controller_reroutes.cpp    reroute points of wires
//   graph_controller_seeds.cpp       seed lock / re-roll options
//   graph_controller_selection.cpp   selection (not undoable)
//   graph_controller_canvas.cpp      canvas geometry, hit tests, view fitting
//   graph_controller_queries.cpp     queries for the inspector, palette and popups
//   graph_controller_files.cpp       new / open / save / autosave / recover
// with helpers of their own: graph_models.h (the list models), snapshot_command.h (the undo step),
// file_session.h (path, recent files, autosave files), canvas_geometry.h (wires, view fit).
#pragma once
#include <QObject>
#include <QPointF>
#include <QRectF>
#include <QSet>
#include <QStringList>
#include <QTimer>
#include <QUndoStack>
#include <QVariant>
#include <QtQml/qqmlregistration.h>
#include <map>
#include <memory>
#include <set>

#include "camgraph/cgraph_io.h"
#include "file_session.h"
#include "graph_models.h"

namespace camgraph::ui {

class GraphController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  Q_PROPERTY(QAbstractListModel* nodes READ nodes CONSTANT)
  Q_PROPERTY(QAbstractListModel* links READ links CONSTANT)
  Q_PROPERTY(QVariantList groups READ groups NOTIFY decorationsChanged)
  Q_PROPERTY(QVariantList comments READ comments NOTIFY decorationsChanged)
  Q_PROPERTY(QVariantList palette READ palette CONSTANT)
  Q_PROPERTY(QUndoStack* undoStack READ undoStack CONSTANT)
  Q_PROPERTY(bool canUndo READ canUndo NOTIFY undoStateChanged)
  Q_PROPERTY(bool canRedo READ canRedo NOTIFY undoStateChanged)
  Q_PROPERTY(QString undoText READ undoText NOTIFY undoStateChanged)
  Q_PROPERTY(QString redoText READ redoText NOTIFY undoStateChanged)
  Q_PROPERTY(bool dirty READ dirty NOTIFY dirtyChanged)
  Q_PROPERTY(QString filePath READ filePath NOTIFY filePathChanged)
  Q_PROPERTY(QString windowTitle READ windowTitle NOTIFY windowTitleChanged)
  Q_PROPERTY(QStringList recentFiles READ recentFiles NOTIFY recentFilesChanged)
  Q_PROPERTY(QStringList selection READ selection NOTIFY selectionChanged)
  Q_PROPERTY(QString currentNode READ currentNode NOTIFY selectionChanged)
  Q_PROPERTY(QString selectedLink READ selectedLink NOTIFY selectedLinkChanged)
  Q_PROPERTY(QString lastError READ lastError NOTIFY errorOccurred)
  Q_PROPERTY(int autosaveSeconds READ autosaveSeconds WRITE setAutosaveSeconds NOTIFY autosaveChanged)
  Q_PROPERTY(QVariantMap viewport READ viewport WRITE setViewport NOTIFY viewportChanged)
  Q_PROPERTY(int revision READ revision NOTIFY revisionChanged)  // bumps on every document change

 public:
  // Node geometry shared with the QML delegates (so wires start exactly at the port dots).
  static constexpr double kNodeWidth = 190, kHeader = 26, kRow = 20, kFooter = 18;
  // Fitting the view: pixels kept around the graph, and the zoom range (never past 100%).
  static constexpr double kFitMargin = 40, kFitMinZoom = 0.1, kFitMaxZoom = 1;
  Q_INVOKABLE double nodeWidth() const { return kNodeWidth; }
  Q_INVOKABLE double headerHeight() const { return kHeader; }
  Q_INVOKABLE double rowHeight() const { return kRow; }

  explicit GraphController(QObject* parent = nullptr);
  ~GraphController() override;

  QAbstractListModel* nodes() const { return nodes_.get(); }
  QAbstractListModel* links() const { return links_.get(); }
  QVariantList groups() const;
  QVariantList comments() const;
  QVariantList palette() const;  // [{type, title, category, color, doc, inputs:[types], outputs:[types]}]
  QUndoStack* undoStack() { return &undo_; }
  bool canUndo() const { return undo_.canUndo(); }
  bool canRedo() const { return undo_.canRedo(); }
  QString undoText() const { return undo_.undoText(); }
  QString redoText() const { return undo_.redoText(); }
  bool dirty() const { return !undo_.isClean(); }
  QString filePath() const { return files_.path(); }
  QString windowTitle() const { return files_.windowTitle(dirty()); }
  QStringList recentFiles() const { return FileSession::recentFiles(); }
  QStringList selection() const { return selection_order_; }
  QString currentNode() const { return selection_order_.isEmpty() ? QString() : selection_order_.last(); }
  QString selectedLink() const { return selected_link_; }
  QString lastError() const { return last_error_; }
  int autosaveSeconds() const { return autosave_seconds_; }
  void setAutosaveSeconds(int s);
  QVariantMap viewport() const;
  int revision() const { return revision_; }
  void setViewport(const QVariantMap& v);  // not an undoable edit; saved with the file

  const camgraph::GraphDocument& document() const { return doc_; }
  const camgraph::Registry& registry() const { return *registry_; }
  void setRegistry(const camgraph::Registry* r) { registry_ = r; }
  int rowOf(const QString& id) const;
  QPointF position(const std::string& id) const;
  QPointF portPosition(const std::string& node, const std::string& port, bool output) const;
  double nodeHeight(const camgraph::NodeInstance& n) const;
  QRectF nodeBox(const camgraph::NodeInstance& n) const;  // the node's rectangle on the canvas
  const NodeRunState* runState(const std::string& id) const;
  void setRunState(const QString& id, const NodeRunState& s);
  void clearRunStates();
  void setNodeSummary(const QString& id, const QString& summary);
  QString nodeSummary(const std::string& id) const;

  // ---- edits (each one undoable) ----
  Q_INVOKABLE QString addNode(const QString& type, double x, double y);  // returns the new id ("" on error)
  // Adds a node and wires `fromNode.fromPort` (an output, or an input when fromIsInput) to its
  // first compatible port, in one undo step.
  Q_INVOKABLE QString addNodeConnected(const QString& type, double x, double y, const QString& fromNode,
                                       const QString& fromPort, bool fromIsInput);
  Q_INVOKABLE void removeNodes(const QStringList& ids);
  Q_INVOKABLE void removeSelection();
  // Returns "" when connected, otherwise why not (also in lastError). Replaces a wire into `toPort`.
  Q_INVOKABLE QString connectPorts(const QString& fromNode, const QString& fromPort, const QString& toNode,
                                   const QString& toPort);
  Q_INVOKABLE QString canConnect(const QString& fromNode, const QString& fromPort, const QString& toNode,
                                 const QString& toPort) const;
  Q_INVOKABLE void disconnectInput(const QString& toNode, const QString& toPort);
  Q_INVOKABLE void moveNode(const QString& id, double x, double y);
  // Interactive drag of the selection: live updates, one undo step at endMove().
  Q_INVOKABLE void beginMove();
  Q_INVOKABLE void moveSelectionBy(double dx, double dy);
  Q_INVOKABLE void endMove();
  Q_INVOKABLE QString setParam(const QString& id, const QString& name, const QVariant& value);
  Q_INVOKABLE void finishParamEdit();  // closes slider merging (slider released)
  Q_INVOKABLE void resetParam(const QString& id, const QString& name);
  Q_INVOKABLE void setBypass(const QString& id, bool bypass);
  Q_INVOKABLE void toggleBypassSelection();
  Q_INVOKABLE QString copySelection();  // also puts it on the clipboard; returns the text
  Q_INVOKABLE QStringList paste(const QString& text, double x, double y);  // returns new ids
  Q_INVOKABLE QStringList pasteClipboard(double x, double y);
  Q_INVOKABLE QStringList duplicateSelection();
  Q_INVOKABLE QString addGroup(const QString& title, const QString& color);    // around the selection
  Q_INVOKABLE void updateGroup(const QString& id, const QVariantMap& fields);  // title, color, x, y, w, h
  Q_INVOKABLE void moveGroupBy(const QString& id, double dx, double dy);       // live; the group and its nodes
  Q_INVOKABLE QString addComment(const QString& text, double x, double y);
  Q_INVOKABLE void updateComment(const QString& id, const QVariantMap& fields);
  Q_INVOKABLE void removeDecoration(const QString& id);
  // Seeds: per node parameter options kept in the file's ui section
  // (`ui.params[node][param] = {lock, each_run}`). A locked seed refuses edits; an unlocked seed with
  // each_run gets a new random value before every Run (rerollSeeds, one undo step).
  Q_INVOKABLE QVariantMap seedOptions(const QString& id, const QString& name) const;  // {lock, eachRun}
  Q_INVOKABLE QString setSeedOptions(const QString& id, const QString& name, bool lock, bool eachRun);
  Q_INVOKABLE QVariant randomiseSeed(const QString& id, const QString& name);  // the new value, or null
  Q_INVOKABLE QStringList rerollSeeds();  // "node.param" of each seed re-rolled (one undo step)
  // Reroute points: waypoints of the wire into `toNode.toPort`, kept in `ui.reroutes["node.port"]`
  // as [[x, y], ...] in the order the wire passes them. Every edit is undoable; moves of the same
  // point merge until finishParamEdit() (the drag is released).
  Q_INVOKABLE int addReroute(const QString& toNode, const QString& toPort, double x, double y);  // index
  Q_INVOKABLE void moveReroute(const QString& toNode, const QString& toPort, int index, double x, double y);
  Q_INVOKABLE void removeReroute(const QString& toNode, const QString& toPort, int index);
  Q_INVOKABLE QVariantList reroutes(const QString& toNode, const QString& toPort) const;  // [{x, y}]
  // The reroute point within `radius` of (x, y): {toNode, toPort, index}, or empty.
  Q_INVOKABLE QVariantMap rerouteAt(double x, double y, double radius = 8) const;
  // The wire's polyline of control points: output port, reroutes, input port.
  QList<QPointF> wirePoints(const camgraph::Link& l) const;
  QString wireSvgPath(const camgraph::Link& l) const;  // cubic segments, as drawn by NodeCanvas.qml

  Q_INVOKABLE void undo() { undo_.undo(); }
  Q_INVOKABLE void redo() { undo_.redo(); }

  // ---- selection (not undoable) ----
  Q_INVOKABLE void select(const QString& id, bool additive = false);
  Q_INVOKABLE void selectInRect(double x, double y, double w, double h, bool additive);
  Q_INVOKABLE void selectAll();
  Q_INVOKABLE void clearSelection();
  Q_INVOKABLE bool isSelected(const QString& id) const { return selection_.contains(id); }
  Q_INVOKABLE void selectLink(const QString& toNode, const QString& toPort);
  Q_INVOKABLE void removeSelectedLink();

  // ---- queries for the inspector and popups ----
  Q_INVOKABLE QVariantList
  paramsOf(const QString& id) const;  // [{name,type,value,default,min,max,choices,doc,filter,multiline}]
  Q_INVOKABLE QVariantMap nodeInfo(const QString& id) const;  // {id,type,title,category,doc,bypass,outputs}
  // Palette entries whose ports could take `portType` (as an input when wantInput), filtered by text.
  Q_INVOKABLE QVariantList searchNodes(const QString& text, const QString& portType = {}, bool wantInput = true) const;
  Q_INVOKABLE QString portType(const QString& node, const QString& port, bool output) const;
  Q_INVOKABLE QVariant paramValue(const QString& id, const QString& name) const;
  // "node.port" of the output feeding an input, or "".
  Q_INVOKABLE QString inputSource(const QString& node, const QString& port) const;

  // ---- canvas geometry and hit tests (canvas units) ----
  Q_INVOKABLE QVariantMap fitRect() const;    // bounding box of nodes, groups and comments {x, y, w, h}
  Q_INVOKABLE QVariantMap nodesRect() const;  // bounding box of the nodes {x, y, w, h}; zeros when none
  // The view transform {zoom, panX, panY} (view = canvas * zoom + pan) that shows the graph's nodes
  // (the decorations when there are none) centred in a view of the given pixel size, kFitMargin
  // pixels around, zoomed out as needed but never in past 100%. NodeCanvas applies it on open.
  Q_INVOKABLE QVariantMap fitTransform(double viewWidth, double viewHeight) const;
  // The nearest port within `radius` ({node, port, output, type} or empty), and the wire passing
  // within `radius` ({toNode, toPort, segment} or empty).
  Q_INVOKABLE QVariantMap portAt(double x, double y, double radius = 12) const;
  Q_INVOKABLE QVariantMap linkAt(double x, double y, double radius = 6) const;
  Q_INVOKABLE QPointF portPoint(const QString& node, const QString& port, bool output) const {
    return portPosition(node.toStdString(), port.toStdString(), output);
  }

  // ---- files ----
  Q_INVOKABLE void newGraph();
  Q_INVOKABLE bool open(const QString& path);  // false: lastError says why; the document is unchanged
  Q_INVOKABLE bool save();                     // false when untitled (use saveAs) or on error
  Q_INVOKABLE bool saveAs(const QString& path);
  Q_INVOKABLE QString toText() const;
  Q_INVOKABLE QString autosavePath() const { return files_.autosavePath(); }  // this document's autosave
  Q_INVOKABLE bool autosaveNow();                                             // writes the autosave file if dirty
  Q_INVOKABLE QStringList recoverableFiles() const { return files_.recoverableFiles(); }  // left by a crash
  Q_INVOKABLE bool recover(const QString& autosaveFile);  // opens it as a dirty document
  Q_INVOKABLE void discardRecovery(const QString& autosaveFile);
  Q_INVOKABLE QString graphDir() const { return files_.dir(); }  // folder relative paths resolve against

  // Used by the undo commands: installs a snapshot and refreshes the models.
  void applySnapshot(const camgraph::GraphDocument& doc);

 signals:
  void decorationsChanged();
  void undoStateChanged();
  void dirtyChanged();
  void filePathChanged();
  void windowTitleChanged();
  void recentFilesChanged();
  void selectionChanged();
  void selectedLinkChanged();
  void errorOccurred(const QString& message);
  void autosaveChanged();
  void viewportChanged();
  void graphEdited();                       // any change to the executed graph (live mode)
  void paramEdited(const QString& nodeId);  // a parameter changed
  void documentReplaced();                  // new/open/recover (NodeCanvas fits the view)
  void revisionChanged();

 private:
  void push(const QString& text, const camgraph::GraphDocument& after, const QString& mergeKey = {});
  void fail(const QString& message);
  void setPath(const QString& path);
  void addRecent(const QString& path);
  void pruneSelection();
  void resetViewState();  // run states, summaries, models and selection after a replaced document
  QString connectInto(camgraph::GraphDocument& d, const QString& fromNode, const QString& fromPort,
                      const QString& toNode, const QString& toPort) const;
  nlohmann::json& uiNodes(camgraph::GraphDocument& d) const;
  nlohmann::json& uiArray(camgraph::GraphDocument& d, const char* key) const;
  QString newDecorationId(const char* prefix) const;
  QRectF fitTarget() const;                                  // what fitTransform shows: the nodes, else the decorations
  static void pruneUiOfRemoved(camgraph::GraphDocument& d);  // reroutes/seed options of gone nodes/wires
  // Reroute points follow moved nodes: the points of a wire whose *both* ends are in `moved` are
  // translated by (dx, dy); a wire with one moved end keeps its points (as in Blender and ComfyUI,
  // the user placed them around something that did not move).
  static void translateReroutes(camgraph::GraphDocument& d, const std::set<std::string>& moved, double dx, double dy);
  // Nodes without a stored position get a simple left-to-right layout by depth.
  static void placeUnpositionedNodes(camgraph::GraphDocument& d);

  const camgraph::Registry* registry_;
  camgraph::GraphDocument doc_;
  std::unique_ptr<NodeListModel> nodes_;
  std::unique_ptr<LinkListModel> links_;
  QUndoStack undo_;
  FileSession files_;
  QSet<QString> selection_;
  QStringList selection_order_;
  QString selected_link_;
  QString last_error_;
  std::map<std::string, NodeRunState> run_states_;
  std::map<std::string, QString> summaries_;
  camgraph::GraphDocument move_before_;
  bool moving_ = false;
  QTimer autosave_timer_;
  int autosave_seconds_ = 30;
  int revision_ = 0;
};

}  // namespace camgraph::ui
