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

class SplatView : public QQuickPaintedItem {
  Q_OBJECT
  QML_ELEMENT
  Q_PROPERTY(camgraph::ui::RunController* runner MEMBER runner_ NOTIFY sourceChanged)
  Q_PROPERTY(QString node MEMBER node_ NOTIFY sourceChanged)
  Q_PROPERTY(QString port MEMBER port_ NOTIFY sourceChanged)
  Q_PROPERTY(int revision MEMBER revision_ NOTIFY sourceChanged)
  Q_PROPERTY(bool showCameras MEMBER show_cameras_ NOTIFY viewChanged)
  Q_PROPERTY(QString stats READ stats NOTIFY rendered)

 public:
  explicit SplatView(QQuickItem* parent = nullptr);
  void paint(QPainter* painter) override;
  QString stats() const { return stats_; }

  Q_INVOKABLE void orbit(double dx, double dy);  // pixels of mouse motion
  Q_INVOKABLE void pan(double dx, double dy);
  Q_INVOKABLE void dolly(double factor);
  Q_INVOKABLE void home();  // frame the scene (or the first training camera's view)

 signals:
  void sourceChanged();
  void viewChanged();
  void rendered();

 private:
  void render(bool preview);
  void scheduleRender();
  RunController* runner_ = nullptr;
  QString node_, port_, stats_;
  int revision_ = 0;
  bool show_cameras_ = true, homed_ = false;
  double yaw_ = 0.6, pitch_ = 0.35, distance_ = 3;
  QVector3D target_, up_{0, 0, 1};
  QImage frame_;
  QTimer refine_;
};

}  // namespace camgraph::ui
