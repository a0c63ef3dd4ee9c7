// The list models the canvas binds to: one row per node (GraphController::nodes) and per wire
// (GraphController::links). They read the controller's document on demand; the controller tells
// them what changed (GraphController::applySnapshot).
#pragma once
#include <QAbstractListModel>
#include <QString>

namespace camgraph::ui {

class GraphController;

// Per-node run state shown on the canvas (set by RunController).
struct NodeRunState {
  QString state;        // "", "queued", "running", "done", "cached", "failed", "skipped"
  double progress = 0;  // 0..1 while running
  QString message;      // progress message or error text
  double seconds = 0;
};

class NodeListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role {
    IdRole = Qt::UserRole + 1,
    TypeRole,
    TitleRole,
    CategoryRole,
    HeaderColorRole,
    XRole,
    YRole,
    WidthRole,
    HeightRole,
    InputsRole,
    OutputsRole,
    BypassRole,
    SelectedRole,
    StateRole,
    ProgressRole,
    MessageRole,
    SecondsRole,
    SummaryRole
  };
  explicit NodeListModel(GraphController* g) : QAbstractListModel(nullptr), g_(g) {}
  int rowCount(const QModelIndex& = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;
  void reset() {
    beginResetModel();
    endResetModel();
  }
  void changed(int row) { emit dataChanged(index(row), index(row)); }

 private:
  GraphController* g_;
};

class LinkListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role {
    FromNodeRole = Qt::UserRole + 1,
    FromPortRole,
    ToNodeRole,
    ToPortRole,
    ColorRole,
    X1Role,
    Y1Role,
    X2Role,
    Y2Role,
    SelectedRole,
    PathRole,
    ReroutesRole
  };
  explicit LinkListModel(GraphController* g) : QAbstractListModel(nullptr), g_(g) {}
  int rowCount(const QModelIndex& = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;
  void reset() {
    beginResetModel();
    endResetModel();
  }
  void geometryChanged() {
    if (rowCount()) emit dataChanged(index(0), index(rowCount() - 1));
  }

 private:
  GraphController* g_;
};

}  // namespace camgraph::ui
