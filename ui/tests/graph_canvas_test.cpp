// GraphController on the canvas: reroute points, hit tests and search, fitting the view on open,
// wire geometry, plots of per-frame records; and the helper classes (undo steps, file session).
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

class GraphCanvasTest : public QObject {
  Q_OBJECT
  QTemporaryDir autosave_;

 private slots:
  void initTestCase() {
    QVERIFY(autosave_.isValid());
    qputenv("CAMGRAPH_AUTOSAVE_DIR", autosave_.path().toUtf8());
    QCoreApplication::setOrganizationName("CamGraphTests");
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
    const nlohmann::json rec = {{"sharpness", {{"mean", 3.0}, {"per_frame", {1.0, 2.0, 6.0}}}},
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
    QVERIFY(std::any_of(resize.begin(), resize.end(),
                        [](const QVariant& v) { return v.toMap()["type"] == "image.resize"; }));
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
    QCOMPARE(100 * t.zoom + t.panX, 40.0);    // left edge at the margin
    QCOMPARE(1100 * t.zoom + t.panX, 760.0);  // right edge at the other margin
    QCOMPARE(150 * t.zoom + t.panY, 300.0);   // centred vertically
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

QTEST_MAIN(GraphCanvasTest)
#include "graph_canvas_test.moc"
