// camgraph: the node editor. Usage: camgraph [graph.cgraph] [--no-recovery]
#include <QApplication>
#include <QFileInfo>
#include <QQmlApplicationEngine>
#include <QQuickStyle>
#include <QtQml/qqmlextensionplugin.h>

#include "app_registry.h"
#include "camgraph/builtin_nodes.h"
#include "graph_controller.h"

Q_IMPORT_QML_PLUGIN(CamGraphPlugin)

int main(int argc, char** argv) {
  // QApplication (not QGuiApplication): QCustomPlot and the native dialogs are widgets.
  QApplication app(argc, argv);
  QApplication::setOrganizationName("CamGraph");
  QApplication::setApplicationName("CamGraph");
  QQuickStyle::setStyle("Fusion");
  // The editor's controllers (created by the QML) run and preview this build's node families.
  camgraph::ui::setAppRegistry(camgraph::builtin_registry());

  QQmlApplicationEngine engine;
  engine.addImportPath(QStringLiteral("qrc:/"));
  QObject::connect(
      &engine, &QQmlApplicationEngine::objectCreationFailed, &app, [] { QCoreApplication::exit(1); },
      Qt::QueuedConnection);
  engine.load(QUrl(QStringLiteral("qrc:/CamGraph/qml/Main.qml")));
  if (engine.rootObjects().isEmpty()) return 1;

  const QStringList args = app.arguments();
  for (int i = 1; i < args.size(); ++i)
    if (args[i].endsWith(".cgraph")) {
      auto* graph = engine.rootObjects().first()->findChild<camgraph::ui::GraphController*>("graph");
      if (graph && graph->open(args[i]))
        QMetaObject::invokeMethod(engine.rootObjects().first()->findChild<QObject*>("canvas"), "fitView",
                                  Qt::QueuedConnection);
    }
  return app.exec();
}
