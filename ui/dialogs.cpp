#include "dialogs.h"

#include <QColorDialog>
#include <QDir>
#include <QFileDialog>
#include <QUrl>

namespace camgraph::ui {

QString Dialogs::openFile(const QString& title, const QString& filter, const QString& dir) const {
  if (filter == "dir") return QFileDialog::getExistingDirectory(nullptr, title, dir);
  return QFileDialog::getOpenFileName(nullptr, title, dir, filter.isEmpty() ? QString() : filter + ";;All files (*)");
}

QString Dialogs::saveFile(const QString& title, const QString& filter, const QString& dir) const {
  return QFileDialog::getSaveFileName(nullptr, title, dir, filter);
}

QString Dialogs::pickColor(const QString& current) const {
  const QColor c = QColorDialog::getColor(
      QColor(current.size() == 9 ? "#" + current.mid(7, 2) + current.mid(1, 6) : current), nullptr, tr("Colour"),
      QColorDialog::ShowAlphaChannel);
  if (!c.isValid()) return {};
  return QStringLiteral("#%1%2%3%4")
      .arg(c.red(), 2, 16, QChar('0'))
      .arg(c.green(), 2, 16, QChar('0'))
      .arg(c.blue(), 2, 16, QChar('0'))
      .arg(c.alpha(), 2, 16, QChar('0'));
}

QString Dialogs::relativeTo(const QString& path, const QString& base) const {
  if (path.isEmpty()) return path;
  const QString rel = QDir(base).relativeFilePath(path);
  return rel.startsWith("..") ? path : rel;
}

QString Dialogs::localPath(const QUrl& url) const { return url.isLocalFile() ? url.toLocalFile() : url.toString(); }

}  // namespace camgraph::ui
