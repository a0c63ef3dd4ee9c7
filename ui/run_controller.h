// Runs the graph of a GraphController on a worker thread (the GUI never waits on the engine):
// node states, progress, elapsed time and errors go to the canvas; outputs are kept for the
// preview panel; training curves (progress event data) for the plots. Live mode re-runs,
// debounced, after each edit; the engine's cache makes that re-run only what changed.
// No torch in this header: values are converted to QImage/text in the .cpp.
#pragma once
#include <QImage>
#include <QMutex>
#include <QObject>
#include <QStringList>
#include <QThread>
#include <QTimer>
#include <QVariant>
#include <QtQml/qqmlregistration.h>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "camgraph/camera.h"
#include "camgraph/events.h"
#include "camgraph/value.h"
#include "graph_controller.h"

namespace camgraph {
struct CancelToken;
class Evaluator;
class Registry;
}  // namespace camgraph

namespace camgraph::ui {

// What the splat viewport draws over a scene, found among the nodes downstream of it (two links
// deep) by the overlays their specs declare on their outputs (PortSpec::overlay): the first
// "camera_path" (e.g. camera.path's path) and the longest "billboards" record (e.g. shot.billboard's
// chain) with the node and output holding its cutout images.
struct SceneOverlays {
  std::vector<camgraph::Camera> path;
  QString pathNode;
  nlohmann::json billboards = nlohmann::json::array();
  QString billboardNode;
  QString billboardImages;  // the output of billboardNode whose frame `cutout` each billboard shows
};

class RunController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  Q_PROPERTY(camgraph::ui::GraphController* graph READ graph WRITE setGraph NOTIFY graphChanged)
  Q_PROPERTY(bool running READ running NOTIFY runningChanged)
  Q_PROPERTY(bool liveMode READ liveMode WRITE setLiveMode NOTIFY liveModeChanged)
  Q_PROPERTY(QString status READ status NOTIFY runningChanged)  // last run: ok, failed, cancelled
  Q_PROPERTY(QStringList log READ log NOTIFY logChanged)
  Q_PROPERTY(int revision READ revision NOTIFY outputsChanged)  // bumps when outputs change
  Q_PROPERTY(QString outDir READ outDir WRITE setOutDir NOTIFY outDirChanged)
  Q_PROPERTY(double elapsed READ elapsed NOTIFY runningChanged)

 public:
  explicit RunController(QObject* parent = nullptr);  // with appRegistry() (app_registry.h)
  // With another node registry (tests with their own nodes); the graph's controller must use the
  // same registry.
  explicit RunController(const camgraph::Registry& registry, QObject* parent = nullptr);
  ~RunController() override;
  // The nodes this controller runs, and the preview renderers the viewport asks for.
  const camgraph::Registry& registry() const { return *registry_; }

  GraphController* graph() const { return graph_; }
  void setGraph(GraphController* g);
  bool running() const { return thread_ != nullptr; }
  bool liveMode() const { return live_; }
  void setLiveMode(bool on);
  QString status() const { return status_; }
  QStringList log() const { return log_; }
  int revision() const { return revision_; }
  QString outDir() const;  // default: <graph folder>/out
  void setOutDir(const QString& d);
  double elapsed() const { return elapsed_; }

  Q_INVOKABLE void run();  // output nodes (or leaves)
  Q_INVOKABLE void runTo(const QStringList& targets);
  Q_INVOKABLE void runSelected();
  Q_INVOKABLE void cancel();
  Q_INVOKABLE void clearLog();
  Q_INVOKABLE bool wait(int ms);  // for tests and shutdown: processes events until idle

  // Preview of a node's outputs: {ports:[{name,type,kind}], ...}; kind: image, frames, video (a
  // record naming a video file, e.g. encode.video's: its decoded frames), splat, text, record,
  // camera, none. For a port: {kind, width, height, frames, fps, text, summary}.
  Q_INVOKABLE QVariantMap outputInfo(const QString& node, const QString& port = {}) const;
  Q_INVOKABLE QVariantList curve(const QString& node) const;  // progress data points
  // Live previews (Preview events, e.g. splat.train's snapshots every preview_every steps): the
  // latest per node replaces that node's output of the same type in value()/outputInfo()/image()
  // until the node finishes (then its real outputs show) or starts again. {label, port, step, ...
  // the event's data}, or empty when the node has none.
  Q_INVOKABLE QVariantMap preview(const QString& node) const;
  int previewsReceived() const { return previews_received_; }  // notifications handled (coalesced)
  QImage image(const QString& node, const QString& port, int frame) const;
  camgraph::Value value(const QString& node, const QString& port) const;
  SceneOverlays overlaysFor(const QString& sceneNode) const;
  // Per-frame series in a record (e.g. dataset.qc): every list of numbers, named by its key path
  // ("sharpness" for sharpness.per_frame, "subject.mask_area"); nulls become NaN (gaps).
  static QVariantList frameSeriesOf(const nlohmann::json& record);
  Q_INVOKABLE QVariantList frameSeries(const QString& node, const QString& port = {}) const;

 signals:
  void graphChanged();
  void runningChanged();
  void liveModeChanged();
  void logChanged();
  void outputsChanged();
  void outDirChanged();
  void curveChanged(const QString& node);
  void previewChanged(const QString& node);  // a newer preview of `node` is available
  void finished(const QString& status);

 private:
  void start(const QStringList& targets, bool rerollSeeds);
  void handle(const camgraph::Event& e);
  void store(const std::string& node, std::map<std::string, camgraph::Value> outputs);
  // Worker thread: keeps the latest preview of the node and queues one notification for the GUI
  // thread unless one is already pending (coalescing: a slow GUI sees only the newest snapshot).
  void offerPreview(const camgraph::Event& e, const std::string& port);
  void previewArrived(const std::string& node);  // GUI thread
  void append(const QString& line);

  GraphController* graph_ = nullptr;
  const camgraph::Registry* registry_;
  std::unique_ptr<camgraph::Evaluator> evaluator_;
  std::unique_ptr<camgraph::CancelToken> cancel_;
  QThread* thread_ = nullptr;
  bool live_ = false, rerun_ = false, rerolling_ = false;
  QTimer debounce_;
  QString status_, out_dir_;
  QStringList log_;
  int revision_ = 0;
  double elapsed_ = 0;
  mutable QMutex mutex_;
  std::map<std::string, std::map<std::string, camgraph::Value>> outputs_;
  std::map<std::string, QVariantList> curves_;
  struct LivePreview {
    camgraph::Value value;
    std::string port;  // the node's output port of the value's type ("preview" when none)
    std::string label;
    nlohmann::json data;
  };
  std::map<std::string, LivePreview> previews_;  // under mutex_
  std::set<std::string> preview_pending_;        // under mutex_: nodes with a notification queued
  int previews_received_ = 0;
  // Decoded encoded videos (preview of encode.video), by file, re-decoded when the file changes.
  struct DecodedVideo;
  std::shared_ptr<const DecodedVideo> video(const QString& file) const;
  mutable std::map<QString, std::shared_ptr<const DecodedVideo>> videos_;
};

}  // namespace camgraph::ui
