// Preview items painted in C++ (software-friendly QQuickPaintedItem):
// ImageView (images, masks and frame sequences: zoom to cursor, pan, alpha checkerboard, pixel
// readout), PlotView (QCustomPlot curves from progress event data: loss, PSNR, Gaussian count) and
// SplatView (a SplatScene rendered by the project's rasterizer; orbit/pan/zoom, progressive, with
// the training cameras drawn as frusta).
#pragma once
#include <QImage>
#include <QQuickPaintedItem>
#include <QTimer>
#include <QVector3D>
#include <QtQml/qqmlregistration.h>
#include <memory>

#include "run_controller.h"

class QCustomPlot;

namespace camgraph {
struct SplatSceneValue;
}

namespace camgraph::ui {

class ImageView : public QQuickPaintedItem {
  Q_OBJECT
  QML_ELEMENT
  Q_PROPERTY(camgraph::ui::RunController* runner MEMBER runner_ NOTIFY sourceChanged)
  Q_PROPERTY(QString node MEMBER node_ NOTIFY sourceChanged)
  Q_PROPERTY(QString port MEMBER port_ NOTIFY sourceChanged)
  Q_PROPERTY(int frame MEMBER frame_ NOTIFY sourceChanged)
  Q_PROPERTY(int revision MEMBER revision_ NOTIFY sourceChanged)
  Q_PROPERTY(double zoom READ zoom NOTIFY viewChanged)  // 1 = image pixel per screen pixel
  Q_PROPERTY(int imageWidth READ imageWidth NOTIFY imageChanged)
  Q_PROPERTY(int imageHeight READ imageHeight NOTIFY imageChanged)

 public:
  explicit ImageView(QQuickItem* parent = nullptr);
  void paint(QPainter* painter) override;
  double zoom() const { return scale_; }
  int imageWidth() const { return image_.width(); }
  int imageHeight() const { return image_.height(); }
  void setImage(const QImage& image);  // for callers that have an image already

  Q_INVOKABLE void zoomAt(double x, double y, double factor);
  Q_INVOKABLE void panBy(double dx, double dy);
  Q_INVOKABLE void fit();
  Q_INVOKABLE void actualSize();
  Q_INVOKABLE QString pixelAt(double x, double y) const;  // "x 12  y 40   R 0.812 G ... A 1.000"

 signals:
  void sourceChanged();
  void viewChanged();
  void imageChanged();

 private:
  void reload();
  RunController* runner_ = nullptr;
  QString node_, port_;
  int frame_ = 0, revision_ = 0;
  QImage image_;
  double scale_ = 1, ox_ = 0, oy_ = 0;
  bool fitted_ = false;
};

class PlotView : public QQuickPaintedItem {
  Q_OBJECT
  QML_ELEMENT
  Q_PROPERTY(camgraph::ui::RunController* runner READ runner WRITE setRunner NOTIFY sourceChanged)
  Q_PROPERTY(QString node MEMBER node_ NOTIFY sourceChanged)
  Q_PROPERTY(int points READ points NOTIFY pointsChanged)

 public:
  explicit PlotView(QQuickItem* parent = nullptr);
  ~PlotView() override;
  void paint(QPainter* painter) override;
  RunController* runner() const { return runner_; }
  void setRunner(RunController* r);
  int points() const { return points_; }

 signals:
  void sourceChanged();
  void pointsChanged();

 private:
  void refresh();
  RunController* runner_ = nullptr;
  QString node_;
  int points_ = 0;
  std::unique_ptr<QCustomPlot> plot_;
};

// Per-frame series (e.g. dataset.qc's record, RunController::frameSeries): one stacked plot per
// series, sharing the frame axis; NaN values (nulls) are gaps.
class SeriesPlotView : public QQuickPaintedItem {
  Q_OBJECT
  QML_ELEMENT
  Q_PROPERTY(QVariantList series READ series WRITE setSeries NOTIFY seriesChanged)  // [{name, values}]
  Q_PROPERTY(int plots READ plots NOTIFY seriesChanged)
  Q_PROPERTY(int frame MEMBER frame_ NOTIFY frameChanged)  // marked with a vertical line (-1: none)

 public:
  explicit SeriesPlotView(QQuickItem* parent = nullptr);
  ~SeriesPlotView() override;
  void paint(QPainter* painter) override;
  QVariantList series() const { return series_; }
  void setSeries(const QVariantList& s);
  int plots() const;
  QCustomPlot* plot() const { return plot_.get(); }

 signals:
  void seriesChanged();
  void frameChanged();

 private:
  void rebuild();
  QVariantList series_;
  int frame_ = -1;
  std::unique_ptr<QCustomPlot> plot_;
};

class SplatView : public QQuickPaintedItem {
  Q_OBJECT
  QML_ELEMENT
  Q_PROPERTY(camgraph::ui::RunController* runner MEMBER runner_ NOTIFY sourceChanged)
  Q_PROPERTY(QString node MEMBER node_ NOTIFY sourceChanged)
  Q_PROPERTY(QString port MEMBER port_ NOTIFY sourceChanged)
  Q_PROPERTY(int revision MEMBER revision_ NOTIFY sourceChanged)
  Q_PROPERTY(bool showCameras MEMBER show_cameras_ NOTIFY viewChanged)
  Q_PROPERTY(bool flyMode MEMBER fly_ NOTIFY viewChanged)  // drag looks around, WASD/QE move
  Q_PROPERTY(QString stats READ stats NOTIFY rendered)
  Q_PROPERTY(int pathCameras READ pathCameras NOTIFY rendered)  // camera path frusta drawn
  Q_PROPERTY(int billboards READ billboards NOTIFY rendered)    // billboards drawn in place
  // "CUDA" when the SplatScene renderer of the app's registry can use CUDA (a build with the CUDA
  // rasterizer and a device present) and CAMGRAPH_VIEWPORT_DEVICE is not "cpu", else "CPU"; falls
  // back to "CPU" if a CUDA render fails.
  Q_PROPERTY(QString backend READ backend NOTIFY rendered)
  // Counts the different scenes rendered (a new live training snapshot, a finished run).
  Q_PROPERTY(int sceneChanges READ sceneChanges NOTIFY rendered)

 public:
  explicit SplatView(QQuickItem* parent = nullptr);
  void paint(QPainter* painter) override;
  QString stats() const { return stats_; }
  int pathCameras() const { return path_drawn_; }
  int billboards() const { return billboards_drawn_; }
  QString backend() const { return cuda_ ? QStringLiteral("CUDA") : QStringLiteral("CPU"); }
  int sceneChanges() const { return scene_changes_; }
  // What the viewport picks at start: CUDA when the renderer has it (see backend).
  static bool cudaRenderAvailable();

  Q_INVOKABLE void orbit(double dx, double dy);  // pixels of mouse motion
  Q_INVOKABLE void pan(double dx, double dy);
  Q_INVOKABLE void dolly(double factor);
  // Fly camera: look turns the view about the eye (pixels of mouse motion); fly moves the eye
  // (and what it looks at) along the view's forward, right and up, in steps of 2% of the scene.
  Q_INVOKABLE void look(double dx, double dy);
  Q_INVOKABLE void fly(double forward, double right, double up);
  // Starts inside the scene: the first training camera's view (position, direction, field of
  // view), orbiting about the point at the depth of the scene centre (median of the Gaussians).
  // Without training cameras: an orbit framing 90% of the Gaussians.
  Q_INVOKABLE void home();
  Q_INVOKABLE QVector3D eye() const;
  Q_INVOKABLE int trainingCameras() const;
  Q_INVOKABLE QVector3D trainingCameraPosition(int index) const;
  Q_INVOKABLE QVector3D forward() const;  // unit view direction

 signals:
  void sourceChanged();
  void viewChanged();
  void rendered();

 private:
  void render(bool preview);
  // Renders `scene` into frame_ with the registry's renderer (CUDA falling back to the CPU).
  bool renderScene(const camgraph::Value& scene, const camgraph::Camera& camera, QString& error);
  // Training cameras, the camera path and billboards declared downstream (RunController::overlaysFor).
  void drawOverlays(const camgraph::SplatSceneValue& scene, const camgraph::Camera& camera, const QVector3D& eye);
  void scheduleRender();
  void frame(const QVector3D& eye, const QVector3D& target);  // sets the orbit from an eye and a target
  void basis(QVector3D& ex, QVector3D& ey) const;
  RunController* runner_ = nullptr;
  QString node_, port_, stats_;
  int revision_ = 0, path_drawn_ = 0, billboards_drawn_ = 0;
  bool show_cameras_ = true, homed_ = false, fly_ = false;
  double yaw_ = 0.6, pitch_ = 0.35, distance_ = 3, fov_ = 50, scene_radius_ = 1;
  QVector3D target_, up_{0, 0, 1};
  QImage frame_;
  QTimer refine_;
  bool cuda_ = false;
  int scene_changes_ = 0;
  // The scene prepared by the renderer on the render device, once per scene and device.
  struct SceneOnDevice;
  std::shared_ptr<SceneOnDevice> scene_;
};

}  // namespace camgraph::ui
