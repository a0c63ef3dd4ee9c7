// GraphController: edits produce the expected graph, every edit undoes and redoes, refusals leave
// the graph alone and say why, copy/paste works across documents, files round-trip, autosave recovers.
#include <QDir>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "canvas_geometry.h"
#include "file_session.h"
#include "graph_controller.h"
#include "preview_items.h"
#include "run_controller.h"
#include "snapshot_command.h"

using camgraph::Link;
using camgraph::PortRef;
using camgraph::ui::GraphController;

namespace {

QString examples() { return QStringLiteral(CAMGRAPH_SOURCE_DIR "/examples-graphs"); }

bool hasLink(const GraphController& g, const QString& from, const QString& to) {
  auto split = [](const QString& s) {
    const int dot = s.lastIndexOf('.');
    return PortRef{s.left(dot).toStdString(), s.mid(dot + 1).toStdString()};
  };
  const Link want{split(from), split(to)};
  for (const Link& l : g.document().graph.links)
    if (l == want) return true;
  return false;
}

}  // namespace

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
    QCOMPARE(g.paramValue(a, "width").toInt(), int(g.registry().find("image.pattern")->param("width")->default_value.get<int64_t>()));
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
    bad.write(R"({"format": "camgraph", "version": 1, "graph": {"nodes": [{"id": "x", "type": "image.blurr"}], "links": []}})");
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

  void reroutePointsShapeTheWireAndUndo() {
    GraphController g;
    const QString a = g.addNode("image.pattern", 0, 0);
    const QString b = g.addNode("image.resize", 600, 0);
    QVERIFY(g.connectPorts(a, "image", b, "image").isEmpty());
    QVERIFY(g.addReroute(b, "nope", 0, 0) < 0);  // no wire there
    const QPointF out = g.portPosition(a.toStdString(), "image", true);
    const QPointF in = g.portPosition(b.toStdString(), "image", false);
    // Far below the straight wire: not on it yet.
    const double midX = (out.x() + in.x()) / 2;
    QVERIFY(g.linkAt(midX, out.y() + 300).isEmpty());
    const int steps = g.undoStack()->count();
    QCOMPARE(g.addReroute(b, "image", midX, out.y() + 300), 0);
    QCOMPARE(g.undoStack()->count(), steps + 1);
    QCOMPARE(g.reroutes(b, "image").size(), 1);
    // The wire now passes through the point (hit test and drawn path agree) and no longer midway.
    QCOMPARE(g.linkAt(midX, out.y() + 300)["toNode"].toString(), b);
    QVERIFY(g.linkAt(midX, out.y() + 1).isEmpty());
    const auto& link = g.document().graph.links.front();
    QVERIFY(g.wireSvgPath(link).contains(QString::number(out.y() + 300)));
    QCOMPARE(g.wireSvgPath(link).count('C'), 2);
    QCOMPARE(g.links()->data(g.links()->index(0), camgraph::ui::LinkListModel::ReroutesRole).toList().size(), 1);
    // A second point nearer the input goes after the first.
    QCOMPARE(g.addReroute(b, "image", in.x() - 20, out.y() + 300), 1);
    QCOMPARE(g.addReroute(b, "image", out.x() + 20, out.y() + 250), 0);
    QCOMPARE(g.reroutes(b, "image").size(), 3);
    QCOMPARE(g.reroutes(b, "image")[0].toMap()["x"].toDouble(), std::round(out.x() + 20));
    // Hit test of the points.
    QCOMPARE(g.rerouteAt(midX + 3, out.y() + 302)["index"].toInt(), 1);
    QCOMPARE(g.rerouteAt(midX + 3, out.y() + 302)["toNode"].toString(), b);
    QVERIFY(g.rerouteAt(midX + 30, out.y() + 302).isEmpty());
    // A drag is one undo step.
    const int before = g.undoStack()->count();
    for (int i = 1; i <= 5; ++i) g.moveReroute(b, "image", 1, midX + 10 * i, out.y() + 300);
    g.finishParamEdit();
    QCOMPARE(g.undoStack()->count(), before + 1);
    QCOMPARE(g.reroutes(b, "image")[1].toMap()["x"].toDouble(), std::round(midX + 50));
    g.undo();
    QCOMPARE(g.reroutes(b, "image")[1].toMap()["x"].toDouble(), std::round(midX));
    g.removeReroute(b, "image", 0);
    QCOMPARE(g.reroutes(b, "image").size(), 2);
    g.undo();
    QCOMPARE(g.reroutes(b, "image").size(), 3);
    // Saved in the ui section and read back.
    QTemporaryDir dir;
    QVERIFY(g.saveAs(dir.filePath("reroute.cgraph")));
    GraphController h;
    QVERIFY(h.open(dir.filePath("reroute.cgraph")));
    QCOMPARE(h.reroutes(b, "image"), g.reroutes(b, "image"));
    // Copy/paste carries the points (moved with the nodes) and seed options with the nodes.
    g.selectAll();
    const QString clip = g.copySelection();
    GraphController other;
    const QStringList pasted = other.paste(clip, 1000, 500);
    QCOMPARE(pasted.size(), 2);
    const QVariantList moved = other.reroutes(b, "image");
    QCOMPARE(moved.size(), 3);
    const double dx = other.position(a.toStdString()).x() - g.position(a.toStdString()).x();
    QCOMPARE(moved[1].toMap()["x"].toDouble(), g.reroutes(b, "image")[1].toMap()["x"].toDouble() + dx);
    const QStringList again = g.paste(clip, 0, 800);  // renamed copies in the same document
    QCOMPARE(g.reroutes(again[1], "image").size(), 3);
    QCOMPARE(g.reroutes(b, "image").size(), 3);
    // Removing the wire removes its points; undo brings both back.
    h.disconnectInput(b, "image");
    QVERIFY(!h.document().ui.contains("reroutes"));
    h.undo();
    QCOMPARE(h.reroutes(b, "image").size(), 3);
  }

  void reroutePointsFollowMovedNodes() {
    // pattern -> resize -> save with a reroute point on each wire. Rule: points of a wire whose
    // two ends both move are translated; a wire with one moved end keeps its points.
    GraphController g;
    QVERIFY(g.open(examples() + "/checker-resize.cgraph"));
    QCOMPARE(g.addReroute("resize", "image", 130, 200), 0);  // pattern -> resize
    QCOMPARE(g.addReroute("save", "image", 390, 250), 0);    // resize -> save
    auto point = [&](const QString& node) {
      const QVariantMap m = g.reroutes(node, "image").value(0).toMap();
      return QPointF(m["x"].toDouble(), m["y"].toDouble());
    };
    const QPointF inner0 = point("resize"), outer0 = point("save");
    // A multi-select drag of pattern and resize in fractional steps: one undo step, whole units.
    g.select("pattern");
    g.select("resize", true);
    const int steps = g.undoStack()->count();
    g.beginMove();
    for (int i = 0; i < 4; ++i) g.moveSelectionBy(10.3, -5.2);
    QCOMPARE(point("resize"), inner0 + QPointF(41.2, -20.8));  // live while dragging
    g.endMove();
    QCOMPARE(g.undoStack()->count(), steps + 1);
    QCOMPARE(g.position("pattern"), QPointF(41, -21));
    QCOMPARE(point("resize"), inner0 + QPointF(41, -21));  // both ends moved: translated, rounded
    QCOMPARE(point("save"), outer0);                       // save did not move: kept
    g.undo();
    QCOMPARE(point("resize"), inner0);
    QCOMPARE(g.position("pattern"), QPointF(0, 0));
    g.redo();
    QCOMPARE(point("resize"), inner0 + QPointF(41, -21));
    g.undo();
    // A group move takes the points of wires between its nodes.
    g.select("resize");
    g.select("save", true);
    const QString group = g.addGroup("Out", "#4a6fa5");
    g.beginMove();
    g.moveGroupBy(group, 0, 100);
    g.endMove();
    QCOMPARE(g.position("save"), QPointF(520, 100));
    QCOMPARE(point("save"), outer0 + QPointF(0, 100));
    QCOMPARE(point("resize"), inner0);  // pattern is outside the group
    g.undo();
    QCOMPARE(point("save"), outer0);
    // One node on its own: every wire has one moved end, nothing follows.
    g.moveNode("resize", 300, 40);
    QCOMPARE(g.position("resize"), QPointF(300, 40));
    QCOMPARE(point("resize"), inner0);
    QCOMPARE(point("save"), outer0);
    // Saved as moved.
    g.select("pattern");
    g.select("resize", true);
    g.select("save", true);
    g.beginMove();
    g.moveSelectionBy(-100, 0);
    g.endMove();
    QCOMPARE(g.document().ui["reroutes"]["save.image"][0][0].get<double>(), outer0.x() - 100);
    QCOMPARE(g.document().ui["reroutes"]["resize.image"][0][0].get<double>(), inner0.x() - 100);
  }

  void frameSeriesFromRecordsAndTheirPlot() {
    // A dataset.qc-shaped record: per-frame lists at any depth, scalars and strings ignored.
    const nlohmann::json rec = {
        {"sharpness", {{"mean", 3.0}, {"per_frame", {1.0, 2.0, 6.0}}}},
        {"reprojection", {{"per_frame", {nullptr, 0.5, 0.25}}}},
        {"subject", {{"mask_area", {0.1, 0.2, 0.3}}, {"frames_hidden", 0}}},
        {"failures", {"a", "b"}},
        {"frames", 3}};
    const QVariantList s = camgraph::ui::RunController::frameSeriesOf(rec);
    QCOMPARE(s.size(), 3);
    QMap<QString, QVariantList> byName;
    for (const QVariant& v : s) byName[v.toMap()["name"].toString()] = v.toMap()["values"].toList();
    QCOMPARE(byName.keys(), (QStringList{"reprojection", "sharpness", "subject.mask_area"}));
    QCOMPARE(byName["sharpness"][2].toDouble(), 6.0);
    QVERIFY(std::isnan(byName["reprojection"][0].toDouble()));
    camgraph::ui::SeriesPlotView plot;
    plot.setSeries(s);
    QCOMPARE(plot.plots(), 3);
    plot.setSeries({});
    QCOMPARE(plot.plots(), 0);
  }

  void hitTestsAndSearch() {
    GraphController g;
    QVERIFY(g.open(examples() + "/checker-resize.cgraph"));
    const QPointF in = g.portPosition("resize", "image", false);
    const QVariantMap hit = g.portAt(in.x() + 3, in.y() - 2);
    QCOMPARE(hit["node"].toString(), QString("resize"));
    QCOMPARE(hit["output"].toBool(), false);
    QVERIFY(g.portAt(in.x() + 100, in.y() + 100).isEmpty());
    // Midway along the wire pattern -> resize (a straight horizontal Bezier here).
    const QPointF out = g.portPosition("pattern", "image", true);
    const QVariantMap link = g.linkAt((in.x() + out.x()) / 2, in.y() + 1);
    QCOMPARE(link["toNode"].toString(), QString("resize"));
    QVERIFY(g.linkAt((in.x() + out.x()) / 2, in.y() + 60).isEmpty());

    // Dropping an Image wire offers only nodes with an Image-compatible input.
    const QVariantList forImage = g.searchNodes("", "Image", true);
    QVERIFY(!forImage.isEmpty());
    for (const QVariant& v : forImage) {
      const auto* spec = g.registry().find(v.toMap()["type"].toString().toStdString());
      bool ok = false;
      for (const auto& p : spec->inputs) ok = ok || camgraph::port_types_compatible(camgraph::PortType::Image, p.type);
      QVERIFY2(ok, qPrintable(v.toMap()["type"].toString()));
    }
    QVERIFY(forImage.size() < g.palette().size());
    const QVariantList resize = g.searchNodes("resize image");
    QVERIFY(std::any_of(resize.begin(), resize.end(), [](const QVariant& v) { return v.toMap()["type"] == "image.resize"; }));
    QVERIFY(resize.size() < g.palette().size());
    // addNodeConnected wires the new node in one undo step.
    const int steps = g.undoStack()->count();
    const QString id = g.addNodeConnected("image.resize", 0, 300, "pattern", "image", false);
    QVERIFY(hasLink(g, "pattern.image", id + ".image"));
    QCOMPARE(g.undoStack()->count(), steps + 1);
  }

  // ---- the controller's helpers (canvas_geometry.h, snapshot_command.h, file_session.h) ----

  void fitTransformCentresAndNeverZoomsPastOneHundredPercent() {
    using camgraph::ui::fitTransform;
    // Wider than the view: zoomed out so the width fits inside the margins, centred vertically.
    auto t = fitTransform(QRectF(100, 50, 1000, 200), QSizeF(800, 600), 40, 0.1, 1);
    QCOMPARE(t.zoom, 0.72);
    QCOMPARE(100 * t.zoom + t.panX, 40.0);              // left edge at the margin
    QCOMPARE(1100 * t.zoom + t.panX, 760.0);            // right edge at the other margin
    QCOMPARE(150 * t.zoom + t.panY, 300.0);             // centred vertically
    // Small content: 100%, centred.
    t = fitTransform(QRectF(-300, -100, 200, 100), QSizeF(800, 600), 40, 0.1, 1);
    QCOMPARE(t.zoom, 1.0);
    QCOMPARE(-200 + t.panX, 400.0);
    QCOMPARE(-50 + t.panY, 300.0);
    // Huge content: the minimum zoom; a view smaller than its margins too.
    QCOMPARE(fitTransform(QRectF(0, 0, 1e6, 10), QSizeF(800, 600), 40, 0.1, 1).zoom, 0.1);
    QCOMPARE(fitTransform(QRectF(0, 0, 100, 100), QSizeF(50, 50), 40, 0.1, 1).zoom, 0.1);
    // Nothing to fit, or no view yet: 100% with the origin at the margin.
    t = fitTransform(QRectF(), QSizeF(800, 600), 40, 0.1, 1);
    QCOMPARE(t.zoom, 1.0);
    QCOMPARE(t.panX, 40.0);
    QCOMPARE(t.panY, 40.0);
    QCOMPARE(fitTransform(QRectF(0, 0, 100, 100), QSizeF(0, 0), 40, 0.1, 1).zoom, 1.0);
  }

  void openingFitsEveryNodeIntoTheView() {
    const QSizeF view(900, 600);
    for (const QString& name : QStringList{"demo.cgraph", "checker-resize.cgraph", "motion-rotation.cgraph"}) {
      GraphController g;
      QVERIFY(g.open(examples() + "/" + name));
      // The nodes' bounding box.
      QRectF box;
      for (const auto& n : g.document().graph.nodes) box = box.united(g.nodeBox(n));
      const QVariantMap r = g.nodesRect();
      QCOMPARE(QRectF(r["x"].toDouble(), r["y"].toDouble(), r["w"].toDouble(), r["h"].toDouble()), box);
      // Every node lands inside the view, margin included; never zoomed in past 100%.
      const QVariantMap t = g.fitTransform(view.width(), view.height());
      const double zoom = t["zoom"].toDouble(), panX = t["panX"].toDouble(), panY = t["panY"].toDouble();
      QVERIFY2(zoom > 0 && zoom <= 1, qPrintable(name));
      for (const auto& n : g.document().graph.nodes) {
        const QRectF b = g.nodeBox(n);
        const QRectF onScreen(b.x() * zoom + panX, b.y() * zoom + panY, b.width() * zoom, b.height() * zoom);
        QVERIFY2(QRectF(QPointF(0, 0), view).adjusted(39.4, 39.4, -39.4, -39.4).contains(onScreen),
                 qPrintable(name + ": " + QString::fromStdString(n.id)));
      }
      // The box is centred (to the whole pixel).
      QCOMPARE(panX, std::round(panX));
      QCOMPARE(panY, std::round(panY));
      QVERIFY(std::abs(box.center().x() * zoom + panX - view.width() / 2) <= 0.5);
      QVERIFY(std::abs(box.center().y() * zoom + panY - view.height() / 2) <= 0.5);
    }
    // demo.cgraph is wider than the view: zoomed out. checker-resize fits at 100%.
    GraphController demo, small;
    QVERIFY(demo.open(examples() + "/demo.cgraph"));
    QVERIFY(small.open(examples() + "/checker-resize.cgraph"));
    QVERIFY(demo.fitTransform(view.width(), view.height())["zoom"].toDouble() < 1);
    QCOMPARE(small.fitTransform(view.width(), view.height())["zoom"].toDouble(), 1.0);
  }

  void fitTargetsNodesThenDecorations() {
    GraphController g;
    // Empty: 100% with the origin at the margin.
    QCOMPARE(g.fitTransform(800, 600), (QVariantMap{{"zoom", 1.0}, {"panX", 40.0}, {"panY", 40.0}}));
    // Only a comment: it is what the view fits.
    g.addComment("note", 1000, 1000);
    QVariantMap t = g.fitTransform(800, 600);
    QCOMPARE(t["zoom"].toDouble(), 1.0);
    QCOMPARE(1110 + t["panX"].toDouble(), 400.0);  // the comment (220 x 80) centred
    QCOMPARE(1040 + t["panY"].toDouble(), 300.0);
    // With nodes, the nodes (a far comment does not shrink the view).
    const QString a = g.addNode("image.pattern", 0, 0);
    t = g.fitTransform(800, 600);
    QCOMPARE(t["zoom"].toDouble(), 1.0);
    const QRectF box = g.nodeBox(*g.document().graph.node(a.toStdString()));
    QCOMPARE(box.center().x() + t["panX"].toDouble(), 400.0);
    QCOMPARE(g.nodesRect()["w"].toDouble(), box.width());
    QVERIFY(g.fitRect()["w"].toDouble() > 1000);  // fitRect still spans everything
  }

  void wireGeometry() {
    using namespace camgraph::ui;
    // Horizontal tangents, at least 40 units long.
    const WireSegment s = wireSegment(QPointF(0, 0), QPointF(200, 100));
    QCOMPARE(s.c1, QPointF(100, 0));
    QCOMPARE(s.c2, QPointF(100, 100));
    QCOMPARE(wireSegment(QPointF(0, 0), QPointF(10, 0)).c1, QPointF(40, 0));
    QCOMPARE(wireSvgPath({QPointF(0, 0), QPointF(200, 100)}), QString("M 0 0 C 100 0 100 100 200 100"));
    QCOMPARE(wireSvgPath({QPointF(0, 0), QPointF(100, 0), QPointF(200, 0)}),
             QString("M 0 0 C 50 0 50 0 100 0 C 150 0 150 0 200 0"));
    // Near the curve's middle (100, 50), not near the chord's far corner.
    QVERIFY(wireSegmentNear(s, QPointF(100, 52), 3));
    QVERIFY(!wireSegmentNear(s, QPointF(190, 10), 6));
    // The point goes into the segment it lengthens least.
    QCOMPARE(nearestPolylineSegment({QPointF(0, 0), QPointF(100, 0), QPointF(200, 0)}, QPointF(150, 5)), 1);
    QCOMPARE(nearestPolylineSegment({QPointF(0, 0), QPointF(100, 0), QPointF(200, 0)}, QPointF(40, -5)), 0);
  }

  void snapshotCommandsMergeUntilClosed() {
    using camgraph::GraphDocument;
    using camgraph::ui::SnapshotCommand;
    auto doc = [](int v) {
      GraphDocument d;
      d.ui = {{"v", v}};
      return d;
    };
    int current = 0;
    auto apply = [&](const GraphDocument& d) { current = d.ui["v"].get<int>(); };
    QUndoStack stack;
    stack.push(new SnapshotCommand(apply, "a", doc(0), doc(1), "slider"));
    stack.push(new SnapshotCommand(apply, "a", doc(1), doc(2), "slider"));
    QCOMPARE(stack.count(), 1);  // merged: one drag, one step
    QCOMPARE(current, 2);
    SnapshotCommand::closeCurrent(stack);
    stack.push(new SnapshotCommand(apply, "a", doc(2), doc(3), "slider"));
    QCOMPARE(stack.count(), 2);  // closed: a new step
    stack.push(new SnapshotCommand(apply, "b", doc(3), doc(4)));
    stack.push(new SnapshotCommand(apply, "b", doc(4), doc(5)));
    QCOMPARE(stack.count(), 4);  // no key: never merged
    stack.undo();
    stack.undo();
    stack.undo();
    QCOMPARE(current, 2);
    stack.undo();
    QCOMPARE(current, 0);
    stack.redo();
    QCOMPARE(current, 2);
  }

  void fileSessionNamesAutosavesAndKeepsTheOriginal() {
    using camgraph::ui::FileSession;
    QTemporaryDir dir;
    FileSession a, b;
    QCOMPARE(a.windowTitle(false), QString("Untitled \u2014 CamGraph"));
    QCOMPARE(a.dir(), QDir::currentPath());
    // Untitled documents autosave per session; titled ones per path.
    QVERIFY(QFileInfo(a.autosavePath()).fileName().startsWith("untitled-"));
    QVERIFY(a.autosavePath() != b.autosavePath());
    QCOMPARE(QFileInfo(a.autosavePath()).absolutePath(), QDir(FileSession::autosaveDir()).absolutePath());
    const QString path = dir.filePath("scene.cgraph");
    a.setPath(path);
    b.setPath(path);
    QCOMPARE(a.autosavePath(), b.autosavePath());
    QVERIFY(QFileInfo(a.autosavePath()).fileName().startsWith("scene-"));
    QCOMPARE(a.windowTitle(true), QString("scene.cgraph* \u2014 CamGraph"));
    QCOMPARE(a.dir(), dir.path());
    // The autosave carries the original's path; another session sees it as recoverable.
    camgraph::GraphDocument d;
    a.writeAutosave(d);
    QVERIFY(QFile::exists(a.autosavePath()));
    QVERIFY(!a.recoverableFiles().contains(a.autosavePath()));
    FileSession other;
    QVERIFY(other.recoverableFiles().contains(a.autosavePath()));
    QFile f(a.autosavePath());
    QVERIFY(f.open(QIODevice::ReadOnly));
    auto back = camgraph::parse_cgraph(f.readAll().toStdString());
    QCOMPARE(FileSession::takeAutosaveOrigin(back), path);
    QVERIFY(!back.extra.contains("autosave_of"));
    a.removeAutosave();
    QVERIFY(!QFile::exists(a.autosavePath()));
    // Recent files: newest first, no duplicates.
    FileSession::addRecent(path);
    FileSession::addRecent(dir.filePath("other.cgraph"));
    FileSession::addRecent(path);
    QCOMPARE(FileSession::recentFiles().first(), QFileInfo(path).absoluteFilePath());
    QCOMPARE(FileSession::recentFiles().count(QFileInfo(path).absoluteFilePath()), 1);
  }
};

QTEST_MAIN(GraphControllerTest)
#include "graph_controller_test.moc"
