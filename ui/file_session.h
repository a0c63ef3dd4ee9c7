// The file side of one editor document, apart from the graph itself: its path, the window title,
// the recent-files list (QSettings "recentFiles", newest first, 10 entries) and its autosave file
// (one per document path, or per session while untitled, in $CAMGRAPH_AUTOSAVE_DIR or the app data
// folder). An autosave keeps the original's path in the file (`autosave_of`) so recovery can offer it.
#pragma once
#include <QString>
#include <QStringList>

#include "camgraph/cgraph_io.h"

namespace camgraph::ui {

class FileSession {
 public:
  FileSession();  // a new session id for untitled autosaves

  const QString& path() const { return path_; }  // absolute, "" while untitled
  void setPath(const QString& path) { path_ = path; }
  QString dir() const;                    // the folder relative paths resolve against (the cwd while untitled)
  QString windowTitle(bool dirty) const;  // "demo.cgraph* — CamGraph"

  static QStringList recentFiles();
  static void addRecent(const QString& path);

  static QString autosaveDir();
  QString autosavePath() const;  // where this document's autosave goes
  void removeAutosave() const;
  // Writes `doc` to autosavePath(), tagged with the original's path. Throws on error.
  void writeAutosave(GraphDocument doc) const;
  QStringList recoverableFiles() const;  // autosaves of other sessions, newest first
  // Removes the `autosave_of` tag from a loaded autosave; returns the original's path ("" if untitled).
  static QString takeAutosaveOrigin(GraphDocument& loaded);

 private:
  QString path_;
  QString session_id_;
};

}  // namespace camgraph::ui
