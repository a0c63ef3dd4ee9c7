// RunController's live previews (Preview events) reaching the splat viewport and the image view,
// and the viewport's render device. No QML engine: the controllers and the C++ items directly.
#include <ATen/ATen.h>  // before Qt: Qt's `slots` macro breaks torch headers

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <chrono>
#include <thread>

#include "camgraph/node_context.h"
#include "camgraph/values.h"
#include "graph_controller.h"
#include "preview_items.h"
#include "run_controller.h"

using camgraph::ui::GraphController;
using camgraph::ui::ImageView;
using camgraph::ui::RunController;
using camgraph::ui::SplatView;

namespace {

// A registry with one test node, "test.latents": three image previews (sizes 8x4, 12x6, 16x8),
// each sent only after the GUI side has acknowledged the one before, then the 20x10 output. The
// handshake makes the test see every preview although the controller coalesces them.
std::atomic<int> g_acknowledged{0};

const camgraph::Registry& latentRegistry() {
  static const camgraph::Registry reg = [] {
    camgraph::Registry r;
    camgraph::NodeSpec s;
    s.type = "test.latents";
    s.category = "Test";
    s.title = "Latents";
    s.outputs = {{"image", camgraph::PortType::Image, "the final image"}};
    s.cacheable = false;
    s.execute = [](camgraph::NodeContext& ctx) {
      auto solid = [](int w, int h, float r, float g, float b) {
        auto v = std::make_shared<camgraph::ImageValue>();
        v->pixels = at::stack({at::full({h, w}, r), at::full({h, w}, g), at::full({h, w}, b)}, 2);
        return v;
      };
      for (int k = 0; k < 3; ++k) {
        ctx.preview(solid(8 + 4 * k, 4 + 2 * k, 1.f, 0.25f * k, 0.f), "latent " + std::to_string(k), {{"step", k}});
        if (!ctx.wants_previews()) break;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (g_acknowledged.load() <= k && std::chrono::steady_clock::now() < until && !ctx.cancelled())
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      ctx.set_output("image", solid(20, 10, 0.f, 0.f, 1.f));
    };
    r.add(std::move(s));
    return r;
  }();
  return reg;
}

// A preview item following a node's output, re-read on every revision (as PreviewPanel.qml binds it).
template <class View>
void follow(View& view, RunController& r, const QString& node, const QString& port, QSizeF size) {
  view.setSize(size);
  view.setProperty("runner", QVariant::fromValue(&r));
  view.setProperty("node", node);
  view.setProperty("port", port);
  QObject::connect(&r, &RunController::outputsChanged, &view, [&view, &r] { view.setProperty("revision", r.revision()); });
}

}  // namespace

class RunControllerTest : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    qputenv("CAMGRAPH_AUTOSAVE_DIR", tmp_.filePath("autosave").toUtf8());
  }

  // splat.train sends a snapshot every preview_every steps while it trains; the viewport shows the
  // newest, re-rendered when it arrives, and the finished scene when the node is done.
  void splatTrainingSnapshotsReachTheViewport() {
    GraphController g;
    const QString views = g.addNode("scene.procedural", 0, 0);
    for (auto [k, v] : std::vector<std::pair<const char*, int>>{{"views", 6}, {"rings", 1}, {"width", 32}, {"height", 24}, {"samples", 1}})
      QVERIFY(g.setParam(views, k, v).isEmpty());
    const QString train = g.addNode("splat.train", 260, 0);
    for (auto [k, v] : std::vector<std::pair<const char*, int>>{{"steps", 120}, {"random_points", 400}, {"sh_degree", 0},
                                                                 {"holdout_every", 0}, {"preview_every", 15}})
      QVERIFY2(g.setParam(train, k, v).isEmpty(), k);
    QVERIFY(g.connectPorts(views, "views", train, "views").isEmpty());

    RunController r;
    r.setGraph(&g);
    r.setOutDir(tmp_.filePath("splat"));
    SplatView view;
    follow(view, r, train, "scene", QSizeF(64, 48));  // the port the panel picks: outputInfo()["port"]

    QList<int> steps, sceneChanges;
    QStringList stats;
    QList<const void*> values;
    bool runningEachTime = true;
    connect(&r, &RunController::previewChanged, this, [&](const QString& node) {
      QCOMPARE(node, train);
      const QVariantMap p = r.preview(node);
      steps << p["step"].toInt();
      QCOMPARE(p["port"].toString(), QString("scene"));
      QCOMPARE(r.outputInfo(node)["kind"].toString(), QString("splat"));
      QVERIFY(r.outputInfo(node)["preview"].toString().startsWith("step "));
      values << r.value(node, "scene").get();
      runningEachTime = runningEachTime && r.running() && g.runState(train.toStdString()) &&
                        g.runState(train.toStdString())->state == "running";
      sceneChanges << view.sceneChanges();  // the view re-rendered on the revision bump
      stats << view.stats();
    });
    r.runTo({train});
    QVERIFY(r.wait(300000));
    QCOMPARE(r.status(), QString("ok"));

    // Coalesced by design: on a loaded machine the run may end before the GUI thread handles a
    // second notification, so one is the minimum here (that every snapshot is sent is
    // splat_nodes_tests' TrainerSendsScenePreviewsOnlyWhenWanted; that successive previews reach
    // the view is imagePreviewsShowInTheImageView, with a handshake).
    QVERIFY2(steps.size() >= 1, qPrintable(QString("previews seen: %1").arg(steps.size())));
    for (int i = 0; i < steps.size(); ++i) {
      QVERIFY2(steps[i] % 15 == 0 && steps[i] > 0 && steps[i] < 120, qPrintable(QString::number(steps[i])));
      if (i > 0) {
        QVERIFY(steps[i] > steps[i - 1]);  // growing: newest only, never an older one after a newer
        QVERIFY(values[i] != values[i - 1]);
        QCOMPARE(sceneChanges[i], sceneChanges[i - 1] + 1);  // a new scene each time
      }
      QVERIFY2(stats[i].contains(QString("live: step %1/120").arg(steps[i])), qPrintable(stats[i]));
      QVERIFY2(stats[i].startsWith(view.backend() + "  "), qPrintable(stats[i]));
    }
    QVERIFY(runningEachTime);
    // Done: the trained scene replaces the last snapshot; no preview is left over.
    QVERIFY(r.preview(train).isEmpty());
    QVERIFY(!r.outputInfo(train).contains("preview"));
    QVERIFY(r.value(train, "scene").get() != values.last());
    QCOMPARE(view.sceneChanges(), sceneChanges.last() + 1);
    QVERIFY2(!view.stats().contains("live"), qPrintable(view.stats()));
    QCOMPARE(r.previewsReceived(), steps.size());

    // A re-run from the cache sends no previews (nothing trains) and keeps the scene.
    const int received = r.previewsReceived();
    r.runTo({train});
    QVERIFY(r.wait(300000));
    QCOMPARE(g.runState(train.toStdString())->state, QString("cached"));
    QCOMPARE(r.previewsReceived(), received);
  }

  // An image preview (e.g. a generator's decoded latents) shows in the image view the same way.
  void imagePreviewsShowInTheImageView() {
    g_acknowledged = 0;
    GraphController g;
    g.setRegistry(&latentRegistry());
    const QString node = g.addNode("test.latents", 0, 0);
    QVERIFY(!node.isEmpty());
    RunController r(latentRegistry());
    r.setGraph(&g);
    r.setOutDir(tmp_.filePath("latents"));
    ImageView view;
    follow(view, r, node, "", QSizeF(100, 100));
    QList<QSize> sizes;
    QList<QColor> colours;
    connect(&r, &RunController::previewChanged, this, [&] {
      sizes << QSize(view.imageWidth(), view.imageHeight());
      colours << r.image(node, "", 0).pixelColor(0, 0);
      QCOMPARE(r.outputInfo(node)["kind"].toString(), QString("image"));
      QCOMPARE(r.outputInfo(node)["port"].toString(), QString("image"));
      g_acknowledged = g_acknowledged + 1;
    });
    r.run();
    QVERIFY(r.wait(60000));
    QCOMPARE(r.status(), QString("ok"));
    QCOMPARE(sizes, (QList<QSize>{{8, 4}, {12, 6}, {16, 8}}));
    QCOMPARE(colours[1], QColor(255, 64, 0));  // 0.25 in 8 bits
    QCOMPARE(QSize(view.imageWidth(), view.imageHeight()), QSize(20, 10));  // the output after the run
  }

  // The viewport renders through the CUDA rasterizer when the build has it and a device is
  // present, else on the CPU, and says which.
  void viewportNamesItsRenderDevice() {
#ifdef CAMGRAPH_WITH_CUDA
    const bool cuda = camgraph::cuda_available();
#else
    const bool cuda = false;
#endif
    qunsetenv("CAMGRAPH_VIEWPORT_DEVICE");
    SplatView view;
    QCOMPARE(view.backend(), cuda ? QString("CUDA") : QString("CPU"));
    QCOMPARE(SplatView::cudaRenderAvailable(), cuda);
    qputenv("CAMGRAPH_VIEWPORT_DEVICE", "cpu");
    SplatView forced;
    QCOMPARE(forced.backend(), QString("CPU"));
    qunsetenv("CAMGRAPH_VIEWPORT_DEVICE");
  }
};

QTEST_MAIN(RunControllerTest)
#include "run_controller_tests.moc"
