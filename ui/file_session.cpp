#include "file_session.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>
#include <QUuid>

namespace camgraph::ui {

namespace {
constexpr const char* kAutosaveOf = "autosave_of";
constexpr int kRecentFiles = 10;
}  // namespace

FileSession::FileSession() : session_id_(QUuid::createUuid().toString(QUuid::WithoutBraces).left(8)) {}

QString FileSession::dir() const { return path_.isEmpty() ? QDir::currentPath() : QFileInfo(path_).absolutePath(); }

QString FileSession::windowTitle(bool dirty) const {
  const QString name = path_.isEmpty() ? QStringLiteral("Untitled") : QFileInfo(path_).fileName();
  return name + (dirty ? QStringLiteral("*") : QString()) + QStringLiteral(" \u2014 CamGraph");
}

QStringList FileSession::recentFiles() { return QSettings().value("recentFiles").toStringList(); }

void FileSession::addRecent(const QString& path) {
  QStringList r = recentFiles();
  const QString abs = QFileInfo(path).absoluteFilePath();
  r.removeAll(abs);
  r.prepend(abs);
  while (r.size() > kRecentFiles) r.removeLast();
  QSettings().setValue("recentFiles", r);
}

QString FileSession::autosaveDir() {
  return qEnvironmentVariableIsSet("CAMGRAPH_AUTOSAVE_DIR")
             ? qEnvironmentVariable("CAMGRAPH_AUTOSAVE_DIR")
             : QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/autosave";
}

QString FileSession::autosavePath() const {
  // One file per document (named after its path) and per session for untitled ones.
  const QString key =
      path_.isEmpty() ? "untitled-" + session_id_
                      : QString(QCryptographicHash::hash(path_.toUtf8(), QCryptographicHash::Sha1).toHex().left(12));
  const QString name = path_.isEmpty() ? key : QFileInfo(path_).completeBaseName() + "-" + key;
  return autosaveDir() + "/" + name + ".cgraph";
}

void FileSession::removeAutosave() const { QFile::remove(autosavePath()); }

void FileSession::writeAutosave(GraphDocument doc) const {
  doc.extra[kAutosaveOf] = path_.toStdString();
  QDir().mkpath(autosaveDir());
  save_cgraph(doc, std::filesystem::path(autosavePath().toStdString()));
}

QStringList FileSession::recoverableFiles() const {
  QStringList out;
  const QString mine = autosavePath();
  for (const QFileInfo& f : QDir(autosaveDir()).entryInfoList({"*.cgraph"}, QDir::Files, QDir::Time))
    if (f.absoluteFilePath() != mine) out << f.absoluteFilePath();
  return out;
}

QString FileSession::takeAutosaveOrigin(GraphDocument& loaded) {
  QString original;
  if (loaded.extra.contains(kAutosaveOf) && loaded.extra[kAutosaveOf].is_string())
    original = QString::fromStdString(loaded.extra[kAutosaveOf].get<std::string>());
  loaded.extra.erase(kAutosaveOf);
  return original;
}

}  // namespace camgraph::ui
