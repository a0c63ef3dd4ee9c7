// Native file and colour dialogs for QML (Qt Widgets; this Qt has no QtQuick.Dialogs module).
#pragma once
#include <QObject>
#include <QString>
#include <QUrl>
#include <QtQml/qqmlregistration.h>

namespace camgraph::ui {

class Dialogs : public QObject {
  Q_OBJECT
  QML_ELEMENT
 public:
  using QObject::QObject;
  // filter: a spec file filter ("Images (*.png *.jpg)", "dir" for folders). "" when cancelled.
  Q_INVOKABLE QString openFile(const QString& title, const QString& filter, const QString& dir = {}) const;
  Q_INVOKABLE QString saveFile(const QString& title, const QString& filter, const QString& dir = {}) const;
  Q_INVOKABLE QString pickColor(const QString& current) const;  // "#rrggbbaa" or "" when cancelled
  // A path relative to `base` when it lies below it (graphs stay portable), else absolute.
  Q_INVOKABLE QString relativeTo(const QString& path, const QString& base) const;
  Q_INVOKABLE QString localPath(const QUrl& url) const;
};

}  // namespace camgraph::ui
