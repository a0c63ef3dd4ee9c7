// GraphController: edits produce the expected graph, every edit undoes and redoes, refusals leave
// the graph alone and say why, copy/paste works across documents, files round-trip, autosave recovers.
// Canvas geometry, reroutes, fit and the helper classes are in graph_canvas_test.cpp.
#include <QDir>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "canvas_geometry.h"
#include "file_session.h"
#include "graph_controller.h"
#include "graph_test_support.h"
#include "preview_items.h"
#include "run_controller.h"
#include "snapshot_command.h"

using camgraph::Link;
using camgraph::PortRef;
using camgraph::ui::GraphController;

using camgraph::ui::testing::examples;
using camgraph::ui::testing::hasLink;

class GraphControllerTest : public QObject {
  Q_OBJECT
  QTemporaryDir autosave_;

 private slots:
  void initTestCase() {
    QVERIFY(autosave_.isValid());
    qputenv("CAMGRAPH_AUTOSAVE_DIR", autosave_.path().toUtf8());
    QCoreApplication::setOrganizationName("CamGraphTests");
  }

  void addConnectUndoRedo() {
    GraphController g;
    const QString a = g.addNode("image.pattern", 0, 0);
    const QString b = g.addNode("image.resize", 250, 0);
    QCOMPARE(a, QString("pattern"));
    QCOMPARE(b, QString("resize"));
    QCOMPARE(g.nodes()->rowCount(), 2);
    // Defaults from the spec are written into the new node.
    QCOMPARE(g.paramValue(a, "width").toInt(),
             int(g.registry().find("image.pattern")->param("width")->default_value.get<int64_t>()));
    QVERIFY(g.connectPorts(a, "image", b, "image").isEmpty());
    QVERIFY(hasLink(g, "pattern.image", "resize.image"));
    QCOMPARE(g.links()->rowCount(), 1);
    QVERIFY(g.dirty());
    QCOMPARE(g.undoStack()->count(), 3);
    g.undo();
    QCOMPARE(g.links()->rowCount(), 0);
    g.undo();
    QCOMPARE(g.nodes()->rowCount(), 1);
    g.redo();
    g.redo();
    QVERIFY(hasLink(g, "pattern.image", "resize.image"));
    QCOMPARE(g.nodes()->rowCount(), 2);
    // The wire's end points sit on the port dots.
    const QModelIndex li = g.links()->index(0);
    const QPointF out = g.portPosition("pattern", "image", true);
    QCOMPARE(g.links()->data(li, Qt::UserRole + 6).toDouble(), out.x());
    QCOMPARE(out.x(), GraphController::kNodeWidth);
  }

  void incompatibleConnectionIsRefused() {
    GraphController g;
    const QString t = g.addNode("text.prompt", 0, 0);
    const QString r = g.addNode("image.resize", 250, 0);
    const int steps = g.undoStack()->count();
    QSignalSpy errors(&g, &GraphController::errorOccurred);
    const QString why = g.connectPorts(t, "text", r, "image");
    QVERIFY(!why.isEmpty());
    QVERIFY2(why.contains("Text") && why.contains("Image"), qPrintable(why));
    QCOMPARE(errors.count(), 1);
    QCOMPARE(g.links()->rowCount(), 0);
    QCOMPARE(g.undoStack()->count(), steps);
    QVERIFY(!g.canConnect(t, "text", r, "image").isEmpty());
    QVERIFY(!g.connectPorts(t, "nope", r, "image").isEmpty());
    QVERIFY(!g.connectPorts(r, "image", r, "image").isEmpty());  // itself
  }

  void connectingAnInputReplacesItsWire() {
    GraphController g;
    g.addNode("image.pattern", 0, 0);
    g.addNode("image.pattern", 0, 200);
    g.addNode("image.resize", 250, 0);
    QVERIFY(g.connectPorts("pattern", "image", "resize", "image").isEmpty());
    QVERIFY(g.connectPorts("pattern_2", "image", "resize", "image").isEmpty());
    QCOMPARE(g.document().graph.links.size(), size_t(1));
    QVERIFY(hasLink(g, "pattern_2.image", "resize.image"));
    QCOMPARE(g.inputSource("resize", "image"), QString("pattern_2.image"));
    g.undo();
    QVERIFY(hasLink(g, "pattern.image", "resize.image"));
    QCOMPARE(g.document().graph.links.size(), size_t(1));
  }

  void cyclesAreRefused() {
    GraphController g;
    g.addNode("image.resize", 0, 0);
    g.addNode("image.resize", 250, 0);
    QVERIFY(g.connectPorts("resize", "image", "resize_2", "image").isEmpty());
    const QString why = g.connectPorts("resize_2", "image", "resize", "image");
    QVERIFY2(why.contains("cycle"), qPrintable(why));
    QCOMPARE(g.document().graph.links.size(), size_t(1));
  }

  void disconnectAndDeleteUndo() {
    GraphController g;
    QVERIFY(g.open(examples() + "/checker-resize.cgraph"));
    QCOMPARE(g.document().graph.links.size(), size_t(2));
    g.disconnectInput("save", "image");
    QVERIFY(!hasLink(g, "resize.image", "save.image"));
    g.undo();
    QVERIFY(hasLink(g, "resize.image", "save.image"));
    g.removeNodes({"resize"});
    QCOMPARE(g.document().graph.nodes.size(), size_t(2));
    QVERIFY(g.document().graph.links.empty());  // both wires of the removed node went with it
    g.undo();
    QCOMPARE(g.document().graph.nodes.size(), size_t(3));
    QCOMPARE(g.document().graph.links.size(), size_t(2));
    QCOMPARE(g.position("resize"), QPointF(260, 0));
    // The selected wire is deleted by removeSelection.
    g.selectLink("save", "image");
    g.removeSelection();
    QVERIFY(!hasLink(g, "resize.image", "save.image"));
  }

  void sliderDragIsOneUndoStep() {
    GraphController g;
    const QString id = g.addNode("image.pattern", 0, 0);
    const QVariant before = g.paramValue(id, "width");
    const int steps = g.undoStack()->count();
    for (int w : {100, 120, 140, 160}) QVERIFY(g.setParam(id, "width", w).isEmpty());
    QCOMPARE(g.undoStack()->count(), steps + 1);
    QCOMPARE(g.paramValue(id, "width").toInt(), 160);
    g.finishParamEdit();  // slider released
    QVERIFY(g.setParam(id, "width", 200).isEmpty());
    QCOMPARE(g.undoStack()->count(), steps + 2);
    g.undo();
    QCOMPARE(g.paramValue(id, "width").toInt(), 160);
    g.undo();
    QCOMPARE(g.paramValue(id, "width"), before);
    // Another parameter does not merge into the width step.
    g.redo();
    QVERIFY(g.setParam(id, "height", 64).isEmpty());
    QCOMPARE(g.undoStack()->count(), steps + 2);
    QCOMPARE(g.paramValue(id, "width").toInt(), 160);
  }

  void badParameterValuesAreRefused() {
    GraphController g;
    const QString id = g.addNode("image.pattern", 0, 0);
    const int steps = g.undoStack()->count();
    const QString why = g.setParam(id, "width", -5);
    QVERIFY2(why.contains("pattern") && why.contains("width"), qPrintable(why));
    QVERIFY(!g.setParam(id, "pattern", "no-such-choice").isEmpty());
    QVERIFY(!g.setParam(id, "bogus", 1).isEmpty());
    QCOMPARE(g.undoStack()->count(), steps);
    g.resetParam(id, "width");  // already default: no step
    QCOMPARE(g.undoStack()->count(), steps);
  }

  void copyPasteWithinAndBetweenFiles() {
    GraphController a;
    QVERIFY(a.open(examples() + "/checker-resize.cgraph"));
    QVERIFY(a.setParam("pattern", "cell_size", 9).isEmpty());
    a.select("pattern");
    a.select("resize", true);
    const QString text = a.copySelection();
    QVERIFY(text.contains("image.pattern"));

    GraphController b;  // another document
    const QStringList added = b.paste(text, 100, 100);
    QCOMPARE(added, QStringList({"pattern", "resize"}));
    QVERIFY(hasLink(b, "pattern.image", "resize.image"));  // the wire between copied nodes comes along
    QCOMPARE(b.paramValue("pattern", "cell_size").toInt(), 9);
    QCOMPARE(b.position("pattern"), QPointF(100, 100));
    QCOMPARE(b.position("resize"), QPointF(360, 100));
    QCOMPARE(b.selection(), added);

    // Pasting into the source renames on collision and does not wire to the originals.
    const QStringList again = a.paste(text, 0, 300);
    QCOMPARE(again, QStringList({"pattern_2", "resize_2"}));
    QVERIFY(hasLink(a, "pattern_2.image", "resize_2.image"));
    QCOMPARE(a.document().graph.links.size(), size_t(3));
    a.undo();
    QCOMPARE(a.document().graph.nodes.size(), size_t(3));

    // Duplicate = copy + paste next to the originals.
    a.select("save");
    QCOMPARE(a.duplicateSelection(), QStringList({"save_2"}));
    QCOMPARE(a.position("save_2"), a.position("save") + QPointF(30, 30));

    // Text that is not a graph, and unknown node types, are refused with a reason.
    QVERIFY(a.paste("hello", 0, 0).isEmpty());
    QVERIFY(a.lastError().contains("Paste"));
    QString foreign = text;
    foreign.replace("image.resize", "image.unknown_kind");
    QVERIFY(a.paste(foreign, 0, 0).isEmpty());
    QVERIFY(a.lastError().contains("image.unknown_kind"));
  }

  void bypassAndMoveUndo() {
    GraphController g;
    QVERIFY(g.open(examples() + "/checker-resize.cgraph"));
    g.setBypass("resize", true);
    QVERIFY(g.document().graph.node("resize")->bypass);
    g.undo();
    QVERIFY(!g.document().graph.node("resize")->bypass);
    g.select("pattern");
    g.select("resize", true);
    g.beginMove();
    g.moveSelectionBy(10, 5);
    g.moveSelectionBy(10, 5);
    g.endMove();
    QCOMPARE(g.position("pattern"), QPointF(20, 10));
    QCOMPARE(g.position("resize"), QPointF(280, 10));
    QCOMPARE(g.position("save"), QPointF(520, 0));
    g.undo();  // the whole drag is one step
    QCOMPARE(g.position("pattern"), QPointF(0, 0));
    QCOMPARE(g.position("resize"), QPointF(260, 0));
  }

  void selection() {
    GraphController g;
    QVERIFY(g.open(examples() + "/checker-resize.cgraph"));
    g.selectInRect(-10, -10, 470, 50, false);  // covers pattern and resize
    QCOMPARE(g.selection().size(), 2);
    g.selectAll();
    QCOMPARE(g.selection().size(), 3);
    g.removeSelection();
    QCOMPARE(g.nodes()->rowCount(), 0);
    g.undo();
    QCOMPARE(g.nodes()->rowCount(), 3);
  }

  void groupsAndCommentsLiveInTheUiSection() {
    QTemporaryDir dir;
    GraphController g;
    QVERIFY(g.open(examples() + "/checker-resize.cgraph"));
    g.select("pattern");
    g.select("resize", true);
    const QString group = g.addGroup("Source", "#4a6fa5");
    const QString note = g.addComment("check the filter", 0, 300);
    QCOMPARE(g.groups().size(), 1);
    QCOMPARE(g.comments().size(), 1);
    // Moving a group moves the nodes inside it (not the others).
    g.beginMove();
    g.moveGroupBy(group, 0, 100);
    g.endMove();
    QCOMPARE(g.position("pattern"), QPointF(0, 100));
    QCOMPARE(g.position("resize"), QPointF(260, 100));
    QCOMPARE(g.position("save"), QPointF(520, 0));
    g.updateGroup(group, {{"title", "Inputs"}});
    const QString path = dir.filePath("g.cgraph");
    QVERIFY(g.saveAs(path));
    const auto doc = camgraph::load_cgraph(path.toStdString(), camgraph::builtin_registry());
    QCOMPARE(QString::fromStdString(doc.ui["groups"][0]["title"].get<std::string>()), QString("Inputs"));
    QCOMPARE(QString::fromStdString(doc.ui["comments"][0]["text"].get<std::string>()), QString("check the filter"));
    QCOMPARE(doc.ui["nodes"]["pattern"]["y"].get<double>(), 100.0);
    g.removeDecoration(note);
    QCOMPARE(g.comments().size(), 0);
    g.undo();
    QCOMPARE(g.comments().size(), 1);
  }

  void filesDirtyTitleAndRecent() {
    QTemporaryDir dir;
    GraphController g;
    QCOMPARE(g.windowTitle(), QString("Untitled \u2014 CamGraph"));
    QVERIFY(!g.save());  // untitled: needs Save As
    g.addNode("image.pattern", 0, 0);
    QVERIFY(g.dirty());
    QVERIFY(g.windowTitle().startsWith("Untitled*"));
    const QString path = dir.filePath("a.cgraph");
    QVERIFY(g.saveAs(path));
    QVERIFY(!g.dirty());
    QCOMPARE(g.windowTitle(), QString("a.cgraph \u2014 CamGraph"));
    QCOMPARE(g.recentFiles().first(), QFileInfo(path).absoluteFilePath());
    g.setParam("pattern", "width", 33);
    QVERIFY(g.windowTitle().startsWith("a.cgraph*"));
    g.undo();
    QVERIFY(!g.dirty());  // back at the saved state

    GraphController h;
    QVERIFY(h.open(path));
    QCOMPARE(h.document().graph, g.document().graph);
    QVERIFY(!h.dirty());
    QVERIFY(!h.canUndo());

    // A broken file is refused with the reason; the open document stays.
    QFile bad(dir.filePath("bad.cgraph"));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write(
        R"({"format": "camgraph", "version": 1, "graph": {"nodes": [{"id": "x", "type": "image.blurr"}], "links": []}})");
    bad.close();
    QVERIFY(!h.open(bad.fileName()));
    QVERIFY2(h.lastError().contains("image.blurr"), qPrintable(h.lastError()));
    QCOMPARE(h.filePath(), QFileInfo(path).absoluteFilePath());
    QCOMPARE(h.document().graph.nodes.size(), size_t(1));
  }

  void autosaveAndRecovery() {
    QTemporaryDir dir;
    const QString path = dir.filePath("work.cgraph");
    camgraph::Graph edited;
    QString autosave;
    {
      GraphController g;
      QVERIFY(g.open(examples() + "/checker-resize.cgraph"));
      QVERIFY(g.saveAs(path));
      QVERIFY(!g.autosaveNow());  // nothing unsaved
      QVERIFY(g.setParam("resize", "width", 77).isEmpty());
      QVERIFY(g.autosaveNow());
      autosave = g.autosavePath();
      QVERIFY(QFile::exists(autosave));
      edited = g.document().graph;
      // Simulate a crash: the destructor would remove the autosave, so keep a copy.
      QFile::copy(autosave, autosave + ".keep");
    }
    QVERIFY(!QFile::exists(autosave));  // a clean exit leaves nothing behind
    QFile::rename(autosave + ".keep", autosave);
    GraphController next;
    QVERIFY(next.recoverableFiles().contains(autosave));
    QVERIFY(next.recover(autosave));
    QCOMPARE(next.document().graph, edited);
    QCOMPARE(next.filePath(), QFileInfo(path).absoluteFilePath());
    QVERIFY(next.dirty());  // recovered work is unsaved work
    next.undo();            // back to the file on disk
    QCOMPARE(next.paramValue("resize", "width").toInt(), 128);
    QVERIFY(!QFile::exists(autosave));
  }

  void seedLockRandomiseAndRerollLiveInTheUiSection() {
    GraphController g;
    const QString a = g.addNode("image.pattern", 0, 0);
    const qlonglong first = g.paramValue(a, "seed").toLongLong();
    // Randomise: a new value, one undo step each (two clicks do not merge), undo restores it.
    const int steps = g.undoStack()->count();
    const QVariant r1 = g.randomiseSeed(a, "seed");
    QVERIFY(r1.isValid());
    QVERIFY(r1.toLongLong() != first);
    QCOMPARE(g.paramValue(a, "seed").toLongLong(), r1.toLongLong());
    const QVariant r2 = g.randomiseSeed(a, "seed");
    QVERIFY(r2.toLongLong() != r1.toLongLong());
    QCOMPARE(g.undoStack()->count(), steps + 2);
    g.undo();
    QCOMPARE(g.paramValue(a, "seed").toLongLong(), r1.toLongLong());
    // Not a seed: refused with the node and parameter named.
    QVERIFY(!g.randomiseSeed(a, "width").isValid());
    QVERIFY(g.lastError().contains("width"));
    QVERIFY(!g.setSeedOptions(a, "width", true, false).isEmpty());

    // Lock: stored in ui.params, undoable; a locked seed refuses edits, randomise and re-roll.
    QVERIFY(g.setSeedOptions(a, "seed", true, false).isEmpty());
    QCOMPARE(g.seedOptions(a, "seed")["lock"].toBool(), true);
    QCOMPARE(g.document().ui["params"][a.toStdString()]["seed"]["lock"].get<bool>(), true);
    const QString why = g.setParam(a, "seed", 42);
    QVERIFY2(why.contains("locked") && why.contains(a + ".seed"), qPrintable(why));
    QCOMPARE(g.paramValue(a, "seed").toLongLong(), r1.toLongLong());
    QVERIFY(!g.randomiseSeed(a, "seed").isValid());
    g.undo();  // unlock again
    QCOMPARE(g.seedOptions(a, "seed")["lock"].toBool(), false);
    QVERIFY(g.setParam(a, "seed", 42).isEmpty());

    // Re-roll each run: only unlocked seeds with the option change, in one undo step.
    const QString b = g.addNode("image.pattern", 0, 200);
    QVERIFY(g.setParam(b, "seed", 7).isEmpty());
    QVERIFY(g.setSeedOptions(a, "seed", false, true).isEmpty());
    QVERIFY(g.rerollSeeds() == QStringList{a + ".seed"});
    QVERIFY(g.paramValue(a, "seed").toLongLong() != 42);
    QCOMPARE(g.paramValue(b, "seed").toLongLong(), 7LL);
    g.undo();
    QCOMPARE(g.paramValue(a, "seed").toLongLong(), 42LL);
    g.redo();
    QVERIFY(g.setSeedOptions(a, "seed", true, true).isEmpty());  // lock wins over re-roll
    const qlonglong locked = g.paramValue(a, "seed").toLongLong();
    QVERIFY(g.rerollSeeds().isEmpty());
    QCOMPARE(g.paramValue(a, "seed").toLongLong(), locked);

    // Saved with the file and read back; the engine ignores the ui section.
    QTemporaryDir dir;
    const QString path = dir.filePath("seeds.cgraph");
    QVERIFY(g.saveAs(path));
    GraphController h;
    QVERIFY(h.open(path));
    QCOMPARE(h.seedOptions(a, "seed")["lock"].toBool(), true);
    QCOMPARE(h.seedOptions(a, "seed")["eachRun"].toBool(), true);
    QCOMPARE(h.seedOptions(b, "seed")["lock"].toBool(), false);
    // Copy/paste carries the options to the pasted node.
    h.select(a);
    const QStringList copy = h.paste(h.copySelection(), 0, 600);
    QCOMPARE(copy.size(), 1);
    QCOMPARE(h.seedOptions(copy.first(), "seed")["lock"].toBool(), true);
    h.undo();
    // Deleting the node drops its options from the ui section.
    h.removeNodes({a});
    QVERIFY(!h.document().ui.contains("params"));
  }
};

QTEST_MAIN(GraphControllerTest)
#include "graph_controller_test.moc"
