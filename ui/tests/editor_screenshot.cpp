// Renders a screenshot of the editor after a run (offscreen, software rendering).
// Usage: camgraph_editor_screenshot GRAPH.cgraph OUT.png [--set node.param=value]... [--select node]
//        [--out-dir DIR] [--size WxH]
// docs/images/editor.png is made with the command in docs/editor.md.
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QImage>
#include <QTemporaryDir>
#include <QTimer>
#include <cstdio>

#include "camgraph/builtin_nodes.h"
#include "camgraph/spec.h"
#include "ui_test_support.h"

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? "offscreen" : qgetenv("QT_QPA_PLATFORM"));
  camgraph::ui::testing::prepare_software_rendering();
  QApplication app(argc, argv);
  QCoreApplication::setOrganizationName("CamGraphScreenshot");
  QTemporaryDir tmp;
  qputenv("CAMGRAPH_AUTOSAVE_DIR", tmp.filePath("autosave").toUtf8());
  const QStringList args = app.arguments();
  if (args.size() < 3) {
    std::fprintf(
        stderr,
        "usage: %s GRAPH.cgraph OUT.png [--set node.param=value]... [--select node] [--out-dir DIR] [--size WxH]\n",
        argv[0]);
    return 2;
  }
  QStringList sets;
  QString select, outDir = tmp.filePath("out");
  QSize size(1600, 900);
  for (int i = 3; i + 1 < args.size(); i += 2) {
    if (args[i] == "--set") sets << args[i + 1];
    else if (args[i] == "--select") select = args[i + 1];
    else if (args[i] == "--out-dir") outDir = args[i + 1];
    else if (args[i] == "--size")
      size = QSize(args[i + 1].section('x', 0, 0).toInt(), args[i + 1].section('x', 1, 1).toInt());
  }

  camgraph::ui::testing::Editor ed;
  if (!ed.load()) return 1;
  ed.window->resize(size);
  ed.runner->setOutDir(outDir);
  if (!ed.graph->open(args[1])) {
    std::fprintf(stderr, "error: %s\n", qPrintable(ed.graph->lastError()));
    return 1;
  }
  for (const QString& s : sets) {
    const QString node = s.section('.', 0, 0), param = s.section('.', 1).section('=', 0, 0), value = s.section('=', 1);
    const auto* n = ed.graph->document().graph.node(node.toStdString());
    const auto* spec = n ? camgraph::builtin_registry().find(n->type) : nullptr;
    const auto* ps = spec ? spec->param(param.toStdString()) : nullptr;
    if (!ps) {
      std::fprintf(stderr, "error: --set %s: no such node parameter\n", qPrintable(s));
      return 2;
    }
    QVariant v = value;
    if (ps->type == camgraph::ParamType::Int || ps->type == camgraph::ParamType::Seed ||
        ps->type == camgraph::ParamType::Float)
      v = value.toDouble();
    else if (ps->type == camgraph::ParamType::Bool) v = value == "true";
    const QString why = ed.graph->setParam(node, param, v);
    if (!why.isEmpty()) {
      std::fprintf(stderr, "error: %s\n", qPrintable(why));
      return 2;
    }
  }
  ed.graph->undoStack()->setClean();  // the title shows the file, not an edit
  QMetaObject::invokeMethod(ed.item("canvas"), "fitView");
  QElapsedTimer t;
  t.start();
  ed.runner->run();
  if (!ed.runner->wait(30 * 60 * 1000)) return 1;
  std::fprintf(stderr, "run %s in %.1f s\n", qPrintable(ed.runner->status()), t.elapsed() / 1000.0);
  if (!select.isEmpty()) ed.graph->select(select);
  QMetaObject::invokeMethod(ed.item("canvas"), "fitView");
  // Let the views settle (layouts, preview render, plot).
  QElapsedTimer settle;
  settle.start();
  while (settle.elapsed() < 1500) QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
  const QImage shot = ed.window->grabWindow();
  if (shot.isNull() || !shot.save(args[2])) {
    std::fprintf(stderr, "error: could not grab or save %s\n", qPrintable(args[2]));
    return 1;
  }
  std::fprintf(stderr, "wrote %s (%dx%d)\n", qPrintable(args[2]), shot.width(), shot.height());
  return ed.runner->status() == "ok" ? 0 : 1;
}
