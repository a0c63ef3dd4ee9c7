// The editor's undo step: the whole document before and after an edit (documents are small, and a
// snapshot undoes anything, ui section included). Steps pushed with the same merge key merge while
// the step is open, so a slider drag or a reroute-point drag is one step; close() ends that.
#pragma once
#include <QString>
#include <QUndoCommand>
#include <QUndoStack>
#include <functional>

#include "camgraph/cgraph_io.h"

namespace camgraph::ui {

class SnapshotCommand : public QUndoCommand {
 public:
  using Apply = std::function<void(const GraphDocument&)>;  // installs a document (undo and redo)
  SnapshotCommand(Apply apply, const QString& text, GraphDocument before, GraphDocument after, QString mergeKey = {});
  void undo() override { apply_(before_); }
  void redo() override { apply_(after_); }
  int id() const override;
  bool mergeWith(const QUndoCommand* other) override;

  bool isOpen() const { return open_; }
  void close() { open_ = false; }
  // Closes the stack's current step when it is a snapshot (not a macro): the next edit with the
  // same key starts a new step.
  static void closeCurrent(QUndoStack& stack);

 private:
  Apply apply_;
  GraphDocument before_, after_;
  QString key_;
  bool open_ = true;
};

}  // namespace camgraph::ui
