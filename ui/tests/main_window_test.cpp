// The main window offscreen: loads examples-graphs/checker-resize.cgraph, runs it off the GUI
// thread, and checks node states on the canvas, the preview, caching, re-runs and failures.
#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include "preview_items.h"
#include "ui_test_support.h"

using camgraph::ui::testing::Editor;

namespace {
// Canvas (content) coordinates -> window pixels, through the canvas's zoom and pan.
QPoint canvasToWindow(QQuickItem* canvas, QPointF p) {
  const double z = canvas->property("zoom").toDouble();
  return canvas
      ->mapToScene(
          QPointF(p.x() * z + canvas->property("panX").toDouble(), p.y() * z + canvas->property("panY").toDouble()))
      .toPoint();
}
}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    qputenv("CAMGRAPH_AUTOSAVE_DIR", tmp_.filePath("autosave").toUtf8());
    QCoreApplication::setOrganizationName("CamGraphTests");
    camgraph::ui::testing::prepare_software_rendering();
  }

  void runsCheckerResizeAndShowsStates() {
    Editor ed;
    QVERIFY(ed.load());
    ed.runner->setOutDir(tmp_.filePath("out"));
    QVERIFY(ed.graph->open(CAMGRAPH_SOURCE_DIR "/examples-graphs/checker-resize.cgraph"));
    QVERIFY(QTest::qWaitForWindowExposed(ed.window));
    QCOMPARE(ed.window->title(), QString("checker-resize.cgraph \u2014 CamGraph"));

    // The canvas made one delegate per node, placed from the file's ui section.
    QQuickItem* resize = nullptr;
    QTRY_VERIFY((resize = ed.item("node_resize")) != nullptr);
    QCOMPARE(resize->x(), 260.0);
    QVERIFY(ed.item("node_pattern") && ed.item("node_save"));

    QSignalSpy finished(ed.runner, &camgraph::ui::RunController::finished);
    ed.runner->run();
    QVERIFY(ed.runner->running());
    QVERIFY(ed.runner->wait(120000));
    QCOMPARE(finished.count(), 1);
    QCOMPARE(ed.runner->status(), QString("ok"));
    for (const char* id : {"pattern", "resize", "save"}) {
      QCOMPARE(ed.graph->runState(id)->state, QString("done"));
      QCOMPARE(ed.item(QString("node_") + id)->property("runState").toString(), QString("done"));
    }
    QVERIFY(ed.graph->runState("pattern")->seconds >= 0);
    QVERIFY(QFileInfo::exists(tmp_.filePath("out/checker/noise.png")));
    QVERIFY(ed.runner->log().join('\n').contains("run ok"));

    // Selecting the resized image previews it at its size (128 x 128 in the file).
    ed.graph->select("resize");
    QQuickItem* view = ed.item("imageView");
    QVERIFY(view);
    QTRY_COMPARE(view->property("imageWidth").toInt(), 128);
    QCOMPARE(view->property("imageHeight").toInt(), 128);
    const QVariantMap info = ed.runner->outputInfo("resize");
    QCOMPARE(info["kind"].toString(), QString("image"));

    // Nothing changed: a second run comes from the cache.
    ed.runner->run();
    QVERIFY(ed.runner->wait(60000));
    QCOMPARE(ed.graph->runState("resize")->state, QString("cached"));
    QCOMPARE(ed.graph->runState("pattern")->state, QString("cached"));

    // An edit re-runs what depends on it only.
    QVERIFY(ed.graph->setParam("resize", "width", 96).isEmpty());
    ed.runner->run();
    QVERIFY(ed.runner->wait(60000));
    QCOMPARE(ed.graph->runState("pattern")->state, QString("cached"));
    QCOMPARE(ed.graph->runState("resize")->state, QString("done"));
    QCOMPARE(ed.graph->runState("save")->state, QString("done"));
    QTRY_COMPARE(view->property("imageWidth").toInt(), 96);

    // Run to the selected node stops there.
    ed.graph->clearRunStates();
    QVERIFY(ed.graph->setParam("pattern", "seed", 8).isEmpty());
    ed.graph->select("pattern");
    ed.runner->runSelected();
    QVERIFY(ed.runner->wait(60000));
    QCOMPARE(ed.graph->runState("pattern")->state, QString("done"));
    QVERIFY(!ed.graph->runState("save") || ed.graph->runState("save")->state.isEmpty());
  }

  void failingNodeShowsItsError() {
    Editor ed;
    QVERIFY(ed.load());
    QFile blocker(tmp_.filePath("blocker"));  // a file where the output wants a folder
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    ed.runner->setOutDir(tmp_.path());
    QVERIFY(ed.graph->open(CAMGRAPH_SOURCE_DIR "/examples-graphs/checker-resize.cgraph"));
    QVERIFY(ed.graph->setParam("save", "path", "blocker/noise.png").isEmpty());
    ed.runner->run();
    QVERIFY(ed.runner->wait(60000));
    QCOMPARE(ed.runner->status(), QString("failed"));
    QCOMPARE(ed.graph->runState("save")->state, QString("failed"));
    QVERIFY(!ed.graph->runState("save")->message.isEmpty());
    QCOMPARE(ed.graph->runState("resize")->state, QString("done"));
    QQuickItem* save = ed.item("node_save");
    QCOMPARE(save->property("runState").toString(), QString("failed"));
    QVERIFY(!save->property("message").toString().isEmpty());
    QVERIFY(ed.runner->log().join('\n').contains("error: node 'save'"));
  }

  // Mouse on the real canvas: drag a wire from an output to an input, drag a node, box select.
  void wiringAndMovingWithTheMouse() {
    Editor ed;
    QVERIFY(ed.load());
    QVERIFY(ed.graph->open(CAMGRAPH_SOURCE_DIR "/examples-graphs/checker-resize.cgraph"));
    QVERIFY(QTest::qWaitForWindowExposed(ed.window));
    QQuickItem* canvas = ed.item("canvas");
    QVERIFY(canvas);
    QMetaObject::invokeMethod(canvas, "fitView");
    QTRY_VERIFY(ed.item("node_save") != nullptr);
    auto toWindow = [&](QPointF p) { return canvasToWindow(canvas, p); };
    ed.graph->disconnectInput("save", "image");
    QVERIFY(ed.graph->inputSource("save", "image").isEmpty());
    const QPoint from = toWindow(ed.graph->portPosition("resize", "image", true));
    const QPoint to = toWindow(ed.graph->portPosition("save", "image", false));
    QTest::mousePress(ed.window, Qt::LeftButton, {}, from);
    for (int i = 1; i <= 10; ++i) QTest::mouseMove(ed.window, from + (to - from) * i / 10);
    QTest::mouseRelease(ed.window, Qt::LeftButton, {}, to);
    QCOMPARE(ed.graph->inputSource("save", "image"), QString("resize.image"));

    // Dragging a node's header moves it (one undo step).
    const QPointF before = ed.graph->position("save");
    const QPoint grab = toWindow(before + QPointF(60, 10));
    const int steps = ed.graph->undoStack()->count();
    QTest::mousePress(ed.window, Qt::LeftButton, {}, grab);
    for (int i = 1; i <= 10; ++i) QTest::mouseMove(ed.window, grab + QPoint(0, 8 * i));
    QTest::mouseRelease(ed.window, Qt::LeftButton, {}, grab + QPoint(0, 80));
    QVERIFY(ed.graph->position("save").y() > before.y() + 20);
    QCOMPARE(ed.graph->position("save").x(), before.x());
    QCOMPARE(ed.graph->undoStack()->count(), steps + 1);
    QCOMPARE(ed.graph->currentNode(), QString("save"));
    ed.graph->undo();
    QCOMPARE(ed.graph->position("save"), before);

    // A box from empty canvas around the first two nodes selects them.
    const QPoint a = toWindow(QPointF(-30, -60)), b = toWindow(QPointF(470, 60));
    QTest::mousePress(ed.window, Qt::LeftButton, {}, a);
    for (int i = 1; i <= 10; ++i) QTest::mouseMove(ed.window, a + (b - a) * i / 10);
    QTest::mouseRelease(ed.window, Qt::LeftButton, {}, b);
    QStringList sel = ed.graph->selection();
    sel.sort();
    QCOMPARE(sel, QStringList({"pattern", "resize"}));
  }

  // A wire dropped on empty canvas opens the search filtered to compatible nodes; typing and Enter
  // add the chosen node, already wired.
  void droppingAWireOpensTheFilteredSearch() {
    Editor ed;
    QVERIFY(ed.load());
    QVERIFY(ed.graph->open(CAMGRAPH_SOURCE_DIR "/examples-graphs/checker-resize.cgraph"));
    QVERIFY(QTest::qWaitForWindowExposed(ed.window));
    QQuickItem* canvas = ed.item("canvas");
    QMetaObject::invokeMethod(canvas, "fitView");
    QTRY_VERIFY(ed.item("node_save") != nullptr);
    auto toWindow = [&](QPointF p) { return canvasToWindow(canvas, p); };
    const QPoint from = toWindow(ed.graph->portPosition("pattern", "image", true));
    const QPoint to = toWindow(QPointF(250, 160));  // below the nodes: empty
    QTest::mousePress(ed.window, Qt::LeftButton, {}, from);
    for (int i = 1; i <= 10; ++i) QTest::mouseMove(ed.window, from + (to - from) * i / 10);
    QTest::mouseRelease(ed.window, Qt::LeftButton, {}, to);
    QObject* popup = ed.window->findChild<QObject*>("searchPopup");
    QVERIFY(popup);
    QTRY_VERIFY(popup->property("opened").toBool());
    QCOMPARE(popup->property("portType").toString(), QString("Image"));
    for (char c : std::string("resize")) QTest::keyClick(ed.window, c);
    QTest::keyClick(ed.window, Qt::Key_Return);
    QTRY_VERIFY(!popup->property("visible").toBool());
    QVERIFY(ed.graph->document().graph.node("resize_2"));
    QCOMPARE(ed.graph->inputSource("resize_2", "image"), QString("pattern.image"));
    QCOMPARE(ed.graph->position("resize_2"), QPointF(250, 160));
    ed.graph->undo();  // node and wire are one step
    QVERIFY(!ed.graph->document().graph.node("resize_2"));
  }

  void liveModeRerunsAfterAnEdit() {
    Editor ed;
    QVERIFY(ed.load());
    ed.runner->setOutDir(tmp_.filePath("live"));
    QVERIFY(ed.graph->open(CAMGRAPH_SOURCE_DIR "/examples-graphs/checker-resize.cgraph"));
    ed.runner->run();
    QVERIFY(ed.runner->wait(60000));
    QSignalSpy finished(ed.runner, &camgraph::ui::RunController::finished);
    ed.runner->setLiveMode(true);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);  // switching live on brings things up to date
    QVERIFY(ed.graph->setParam("resize", "width", 64).isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 30000);  // debounced re-run, nobody pressed Run
    QCOMPARE(ed.graph->runState("resize")->state, QString("done"));
    QCOMPARE(ed.graph->runState("pattern")->state, QString("cached"));
  }

  void runReRollsSeedsMarkedEachRun() {
    Editor ed;
    QVERIFY(ed.load());
    ed.runner->setOutDir(tmp_.filePath("reroll"));
    QVERIFY(ed.graph->open(CAMGRAPH_SOURCE_DIR "/examples-graphs/checker-resize.cgraph"));
    QVERIFY(ed.graph->setSeedOptions("pattern", "seed", false, true).isEmpty());
    const qlonglong before = ed.graph->paramValue("pattern", "seed").toLongLong();
    ed.runner->run();
    QVERIFY(ed.runner->wait(60000));
    QCOMPARE(ed.runner->status(), QString("ok"));
    const qlonglong first = ed.graph->paramValue("pattern", "seed").toLongLong();
    QVERIFY(first != before);
    QVERIFY(ed.runner->log().join('\n').contains("seed pattern.seed = " + QString::number(first)));
    QCOMPARE(ed.graph->runState("pattern")->state, QString("done"));
    // Undo returns to the seed before the run (the re-roll is one undo step).
    const int steps = ed.graph->undoStack()->count();
    ed.runner->run();
    QVERIFY(ed.runner->wait(60000));
    QVERIFY(ed.graph->paramValue("pattern", "seed").toLongLong() != first);
    QCOMPARE(ed.graph->runState("pattern")->state, QString("done"));  // a new seed: not cached
    QCOMPARE(ed.graph->undoStack()->count(), steps + 1);
    ed.graph->undo();
    QCOMPARE(ed.graph->paramValue("pattern", "seed").toLongLong(), first);
    // Locked: the seed stays and the run is cached.
    QVERIFY(ed.graph->setSeedOptions("pattern", "seed", true, true).isEmpty());
    ed.runner->run();
    QVERIFY(ed.runner->wait(60000));
    QCOMPARE(ed.graph->paramValue("pattern", "seed").toLongLong(), first);
    QCOMPARE(ed.graph->runState("pattern")->state, QString("cached"));
    // Live mode re-runs keep the seed (a re-roll there would edit and re-run forever).
    QSignalSpy finished(ed.runner, &camgraph::ui::RunController::finished);
    QVERIFY(ed.graph->setSeedOptions("pattern", "seed", false, true).isEmpty());
    const qlonglong unlocked = ed.graph->paramValue("pattern", "seed").toLongLong();
    ed.runner->setLiveMode(true);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
    QTest::qWait(800);
    QCOMPARE(finished.count(), 1);
    QCOMPARE(ed.graph->paramValue("pattern", "seed").toLongLong(), unlocked);
  }

  void splatViewportPathBillboardFlyAndQcPlots() {
    Editor ed;
    QVERIFY(ed.load());
    ed.runner->setOutDir(tmp_.filePath("splat"));
    camgraph::ui::GraphController& g = *ed.graph;
    const QString views = g.addNode("scene.procedural", 0, 0);
    for (auto [k, v] : std::vector<std::pair<const char*, int>>{
             {"views", 6}, {"rings", 1}, {"width", 32}, {"height", 24}, {"samples", 1}})
      QVERIFY(g.setParam(views, k, v).isEmpty());
    const QString train = g.addNode("splat.train", 260, 0);
    for (auto [k, v] : std::vector<std::pair<const char*, int>>{
             {"steps", 20}, {"random_points", 400}, {"sh_degree", 0}, {"holdout_every", 0}})
      QVERIFY2(g.setParam(train, k, v).isEmpty(), k);
    QVERIFY(g.connectPorts(views, "views", train, "views").isEmpty());
    const QString character = g.addNode("image.pattern", 0, 300);
    for (auto [k, v] : std::vector<std::pair<const char*, QVariant>>{
             {"width", 16}, {"height", 32}, {"pattern", "gradient"}, {"colour_a", "#d9481fff"}, {"alpha", true}})
      QVERIFY2(g.setParam(character, k, v).isEmpty(), k);
    const QString place = g.addNode("shot.billboard", 260, 300);
    QVERIFY(g.setParam(place, "foot_x", 0.5).isEmpty());
    QVERIFY(g.connectPorts(character, "image", place, "image").isEmpty());
    const QString path = g.addNode("camera.path", 520, 0);
    for (auto [k, v] : std::vector<std::pair<const char*, int>>{{"frames", 13}, {"width", 64}, {"height", 48}})
      QVERIFY(g.setParam(path, k, v).isEmpty());
    QVERIFY(g.connectPorts(train, "scene", path, "scene").isEmpty());
    QVERIFY(g.connectPorts(place, "billboards", path, "billboards").isEmpty());
    const QString qc = g.addNode("dataset.qc", 260, 600);
    QVERIFY(g.connectPorts(views, "views", qc, "frames").isEmpty());
    const QString encode = g.addNode("encode.video", 520, 600);
    QVERIFY(g.setParam(encode, "path", "clip.mp4").isEmpty());
    QVERIFY(g.connectPorts(views, "views", encode, "frames").isEmpty());
    // Live snapshots while it trains, seen by the selected node's panel in the real QML.
    QVERIFY(g.setParam(train, "preview_every", 5).isEmpty());
    g.select(train);
    QStringList liveLabels, liveStats;
    QMetaObject::Connection live = connect(ed.runner, &camgraph::ui::RunController::previewChanged, this, [&] {
      QQuickItem* label = ed.item("livePreviewLabel");
      auto* view = qobject_cast<camgraph::ui::SplatView*>(ed.item("splatView"));
      if (label && label->isVisible()) liveLabels << label->property("text").toString();
      if (view && view->isVisible()) liveStats << view->stats();
    });
    ed.runner->runTo({path, qc, encode});  // Run alone would stop at the output node (encode)
    QVERIFY(ed.runner->wait(300000));
    disconnect(live);
    QCOMPARE(ed.runner->status(), QString("ok"));
    QVERIFY(ed.runner->previewsReceived() >= 1);
    QCOMPARE(liveLabels.size(), ed.runner->previewsReceived());
    QVERIFY2(QRegularExpression("^Live: step (5|10|15)/20$").match(liveLabels.first()).hasMatch(),
             qPrintable(liveLabels.first()));
    QCOMPARE(liveStats.size(), liveLabels.size());
    QVERIFY2(liveStats.first().contains("live: step"), qPrintable(liveStats.first()));

    // The scene's viewport finds the downstream camera path and the placer feeding it.
    const camgraph::ui::SceneOverlays o = ed.runner->overlaysFor(train);
    QCOMPARE(int(o.path.size()), 13);
    QCOMPARE(o.pathNode, path);
    QCOMPARE(int(o.billboards.size()), 1);
    QCOMPARE(o.billboardNode, place);
    g.select(train);
    auto* splat = qobject_cast<camgraph::ui::SplatView*>(ed.item("splatView"));
    QVERIFY(splat);
    QTRY_VERIFY(splat->isVisible());
    QTRY_COMPARE(splat->billboards(), 1);
    QVERIFY(splat->pathCameras() > 0);  // those in front of the viewer
    // The viewport says which rasterizer it renders with (CPU on a machine without CUDA).
    QQuickItem* device = ed.item("viewportBackend");
    QVERIFY(device && device->isVisible());
    QCOMPARE(device->property("text").toString(), splat->backend());
    QCOMPARE(splat->backend(), camgraph::ui::SplatView::cudaRenderAvailable() ? QString("CUDA") : QString("CPU"));
    QVERIFY(splat->stats().startsWith(splat->backend()));
    QVERIFY(!ed.item("livePreviewLabel")->isVisible());  // the run is over: no live snapshot
    // It starts from the first training camera, looking into the scene.
    QCOMPARE(splat->trainingCameras(), 6);
    const QVector3D c0 = splat->trainingCameraPosition(0);
    QVERIFY2((splat->eye() - c0).length() < 1e-3,
             qPrintable(QString("eye %1 %2 %3").arg(splat->eye().x()).arg(splat->eye().y()).arg(splat->eye().z())));
    // Fly: W moves the eye along the view, mouse look turns about the eye.
    const QVector3D f = splat->forward();
    splat->fly(1, 0, 0);
    const QVector3D moved = splat->eye() - c0;
    QVERIFY(moved.length() > 1e-4);
    QVERIFY(QVector3D::dotProduct(moved.normalized(), f) > 0.999);
    const QVector3D e1 = splat->eye();
    splat->look(40, 0);
    QVERIFY((splat->eye() - e1).length() < 1e-3);
    QVERIFY(QVector3D::dotProduct(splat->forward(), f) < 0.99);
    // Orbit keeps the target: the eye moves.
    splat->orbit(40, 0);
    QVERIFY((splat->eye() - e1).length() > 1e-3);

    // dataset.qc's per-frame lists become plots, one per metric, a point per frame.
    const QVariantList series = ed.runner->frameSeries(qc);
    QStringList names;
    for (const QVariant& s : series) {
      names << s.toMap()["name"].toString();
      if (names.last() == "sharpness") QCOMPARE(s.toMap()["values"].toList().size(), 6);
    }
    QVERIFY2(names.contains("sharpness") && names.contains("reprojection"), qPrintable(names.join(',')));
    // The encoded video plays in the frame player: decoded from the file encode.video wrote.
    const QVariantMap video = ed.runner->outputInfo(encode);
    QCOMPARE(video["kind"].toString(), QString("video"));
    QCOMPARE(video["frames"].toInt(), 6);
    QCOMPARE(video["width"].toInt(), 32);
    QVERIFY(video["fps"].toDouble() > 0);
    const QImage last = ed.runner->image(encode, {}, 5);
    QCOMPARE(last.size(), QSize(32, 24));
    QVERIFY(last != ed.runner->image(encode, {}, 0));  // the views differ
    g.select(encode);
    QQuickItem* view = ed.item("imageView");
    QTRY_COMPARE(view->property("imageWidth").toInt(), 32);

    g.select(qc);
    auto* plot = qobject_cast<camgraph::ui::SeriesPlotView*>(ed.item("seriesPlot"));
    QVERIFY(plot);
    QTRY_COMPARE(plot->plots(), int(series.size()));
  }

  // Reroute points with the mouse: double-click a wire adds one, drag moves it, double-click removes.
  void reroutePointsWithTheMouse() {
    Editor ed;
    QVERIFY(ed.load());
    QVERIFY(ed.graph->open(CAMGRAPH_SOURCE_DIR "/examples-graphs/checker-resize.cgraph"));
    QVERIFY(QTest::qWaitForWindowExposed(ed.window));
    QQuickItem* canvas = ed.item("canvas");
    QMetaObject::invokeMethod(canvas, "fitView");
    QTRY_VERIFY(ed.item("node_save") != nullptr);
    auto toWindow = [&](QPointF p) { return canvasToWindow(canvas, p); };
    // Midway along resize -> save (horizontal end tangents: the Bezier's midpoint is the chord's).
    const QPointF a = ed.graph->portPosition("resize", "image", true),
                  b = ed.graph->portPosition("save", "image", false);
    const QPoint mid = toWindow((a + b) / 2);
    QTest::mouseDClick(ed.window, Qt::LeftButton, {}, mid);
    QTRY_COMPARE(ed.graph->reroutes("save", "image").size(), 1);
    QObject* popup = ed.window->findChild<QObject*>("searchPopup");
    QVERIFY(popup);
    QVERIFY(!popup->property("visible").toBool());  // a double-click on a wire does not open the search
    const QPointF p0(ed.graph->reroutes("save", "image")[0].toMap()["x"].toDouble(),
                     ed.graph->reroutes("save", "image")[0].toMap()["y"].toDouble());
    QVERIFY((p0 - (a + b) / 2).manhattanLength() < 8);
    const int steps = ed.graph->undoStack()->count();
    const QPoint grab = toWindow(p0);
    QTest::mousePress(ed.window, Qt::LeftButton, {}, grab);
    for (int i = 1; i <= 10; ++i) QTest::mouseMove(ed.window, grab + QPoint(0, 6 * i));
    QTest::mouseRelease(ed.window, Qt::LeftButton, {}, grab + QPoint(0, 60));
    QVERIFY(ed.graph->reroutes("save", "image")[0].toMap()["y"].toDouble() > p0.y() + 20);
    QCOMPARE(ed.graph->undoStack()->count(), steps + 1);
    const QPointF p1(ed.graph->reroutes("save", "image")[0].toMap()["x"].toDouble(),
                     ed.graph->reroutes("save", "image")[0].toMap()["y"].toDouble());
    QTest::mouseDClick(ed.window, Qt::LeftButton, {}, toWindow(p1));
    QTRY_COMPARE(ed.graph->reroutes("save", "image").size(), 0);
    ed.graph->undo();
    QCOMPARE(ed.graph->reroutes("save", "image").size(), 1);
  }
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
