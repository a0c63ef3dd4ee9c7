// camgraph: the node editor. Usage: camgraph [FILE.cgraph] (--help: every option)
#include <QApplication>
#include <QFileInfo>
#include <QQmlApplicationEngine>
#include <QQuickStyle>
#include <QtQml/qqmlextensionplugin.h>

#include <cstdio>
#include <cstring>

#include "app_registry.h"
#include "camgraph/builtin_nodes.h"
#include "graph_controller.h"

Q_IMPORT_QML_PLUGIN(CamGraphPlugin)

namespace {

// Printed by --help; the man page camgraph(1) is generated from it (packaging/man).
constexpr const char* kHelp = R"(camgraph - the CamGraph node editor

usage:
  camgraph [FILE.cgraph] [options]

Opens FILE.cgraph (a CamGraph workflow) on the canvas, or an empty graph. Run graphs without
the editor with camgraph-cli(1).

options:
  --no-recovery   do not offer to restore the autosaved copy of an unsaved graph
  --smoke-test    start, open FILE if given, then quit: exit 0 when the window and the graph
                  loaded, 1 otherwise (checks an installation; works with QT_QPA_PLATFORM=offscreen)
  -platform NAME  Qt platform plugin (e.g. offscreen, xcb, wayland); other Qt options as Qt documents
  --version       print the version and exit
  --help          print this help and exit

files:
  Example graphs are installed in PREFIX/share/camgraph/examples, next to the program's bin/.
)";

bool has_flag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Before QApplication: --help and --version need no display.
  if (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (has_flag(argc, argv, "--version")) {
    std::printf("camgraph %s\n", CAMGRAPH_VERSION);
    return 0;
  }
  const bool smoke_test = has_flag(argc, argv, "--smoke-test");
  // QApplication (not QGuiApplication): QCustomPlot and the native dialogs are widgets.
  QApplication app(argc, argv);
  QApplication::setOrganizationName("CamGraph");
  QApplication::setApplicationName("CamGraph");
  QApplication::setApplicationVersion(CAMGRAPH_VERSION);
  // The desktop entry's id (packaging/desktop): window icon and grouping on Wayland.
  QGuiApplication::setDesktopFileName("org.camgraph.CamGraph");
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
  bool opened_all = true;
  for (int i = 1; i < args.size(); ++i)
    if (args[i].endsWith(".cgraph")) {
      auto* graph = engine.rootObjects().first()->findChild<camgraph::ui::GraphController*>("graph");
      const bool opened = graph && graph->open(args[i]);
      if (opened)
        QMetaObject::invokeMethod(engine.rootObjects().first()->findChild<QObject*>("canvas"), "fitView",
                                  Qt::QueuedConnection);
      else std::fprintf(stderr, "camgraph: could not open %s\n", qPrintable(args[i]));
      opened_all = opened_all && opened;
    }
  if (smoke_test) {
    // Quit once the event loop has shown the window (first frame queued).
    QMetaObject::invokeMethod(
        &app, [opened_all] { QCoreApplication::exit(opened_all ? 0 : 1); }, Qt::QueuedConnection);
  }
  return app.exec();
}
