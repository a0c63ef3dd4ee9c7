// Loads the editor's main window (the real QML) for tests and tools. Offscreen + software
// rendering so it runs without a display or GPU and grabWindow() works.
#pragma once
#include <QQmlApplicationEngine>
#include <QQuickItem>
#include <QQuickStyle>
#include <QQuickWindow>
#include <QtQml/qqmlextensionplugin.h>
#include <functional>

#include "graph_controller.h"
#include "run_controller.h"

Q_IMPORT_QML_PLUGIN(CamGraphPlugin)

namespace camgraph::ui::testing {

inline void prepare_software_rendering() {
  QQuickWindow::setGraphicsApi(QSGRendererInterface::Software);
  QQuickStyle::setStyle("Fusion");
}

struct Editor {
  QQmlApplicationEngine engine;
  QQuickWindow* window = nullptr;
  GraphController* graph = nullptr;
  RunController* runner = nullptr;

  bool load() {
    engine.addImportPath(QStringLiteral("qrc:/"));
    engine.load(QUrl(QStringLiteral("qrc:/CamGraph/qml/Main.qml")));
    if (engine.rootObjects().isEmpty()) return false;
    window = qobject_cast<QQuickWindow*>(engine.rootObjects().first());
    graph = window ? window->findChild<GraphController*>("graph") : nullptr;
    runner = window ? window->findChild<RunController*>("runner") : nullptr;
    return window && graph && runner;
  }
  // Depth-first search of the visual item tree by objectName.
  QQuickItem* item(const QString& name, QQuickItem* from = nullptr) const {
    if (!from) from = window->contentItem();
    if (from->objectName() == name) return from;
    for (QQuickItem* child : from->childItems())
      if (QQuickItem* hit = item(name, child)) return hit;
    return nullptr;
  }
};

}  // namespace camgraph::ui::testing
