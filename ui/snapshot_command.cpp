#include "snapshot_command.h"

namespace camgraph::ui {

namespace {
constexpr int kSnapshotId = 0x6367;  // shared by all snapshots: QUndoStack merges only equal ids
}

SnapshotCommand::SnapshotCommand(Apply apply, const QString& text, GraphDocument before, GraphDocument after,
                                 QString mergeKey)
    : QUndoCommand(text),
      apply_(std::move(apply)),
      before_(std::move(before)),
      after_(std::move(after)),
      key_(std::move(mergeKey)) {}

int SnapshotCommand::id() const { return key_.isEmpty() ? -1 : kSnapshotId; }

bool SnapshotCommand::mergeWith(const QUndoCommand* other) {
  const auto* o = static_cast<const SnapshotCommand*>(other);  // same id(): a snapshot
  if (!open_ || o->key_ != key_) return false;
  after_ = o->after_;
  return true;
}

void SnapshotCommand::closeCurrent(QUndoStack& stack) {
  if (stack.index() == 0) return;
  if (auto* c = dynamic_cast<SnapshotCommand*>(const_cast<QUndoCommand*>(stack.command(stack.index() - 1)))) c->close();
}

}  // namespace camgraph::ui
