#include "preview_items.h"

#include <QPainter>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

namespace camgraph::ui {

// ---------------------------------------------------------------- ImageView

ImageView::ImageView(QQuickItem* parent) : QQuickPaintedItem(parent) {
  setAntialiasing(false);
  connect(this, &ImageView::sourceChanged, this, &ImageView::reload);
  connect(this, &QQuickItem::widthChanged, this, [this] {
    if (!fitted_) fit();
  });
  connect(this, &QQuickItem::heightChanged, this, [this] {
    if (!fitted_) fit();
  });
}

void ImageView::reload() { setImage(runner_ && !node_.isEmpty() ? runner_->image(node_, port_, frame_) : QImage()); }

void ImageView::setImage(const QImage& image) {
  const bool sizeChanged = image.size() != image_.size();
  image_ = image;
  if (sizeChanged) {
    fitted_ = false;
    fit();
    emit imageChanged();
  }
  update();
}

void ImageView::fit() {
  if (image_.isNull() || width() <= 0 || height() <= 0) return;
  scale_ = std::min(width() / image_.width(), height() / image_.height()) * 0.95;
  ox_ = (width() - image_.width() * scale_) / 2;
  oy_ = (height() - image_.height() * scale_) / 2;
  fitted_ = true;
  emit viewChanged();
  update();
}

void ImageView::actualSize() { zoomAt(width() / 2, height() / 2, 1.0 / scale_); }

void ImageView::zoomAt(double x, double y, double factor) {
  const double s = std::clamp(scale_ * factor, 0.02, 64.0);
  // Keep the image point under the cursor fixed.
  ox_ = x - (x - ox_) * s / scale_;
  oy_ = y - (y - oy_) * s / scale_;
  scale_ = s;
  fitted_ = true;
  emit viewChanged();
  update();
}

void ImageView::panBy(double dx, double dy) {
  ox_ += dx;
  oy_ += dy;
  update();
}

QString ImageView::pixelAt(double x, double y) const {
  if (image_.isNull()) return {};
  const int px = int(std::floor((x - ox_) / scale_)), py = int(std::floor((y - oy_) / scale_));
  if (px < 0 || py < 0 || px >= image_.width() || py >= image_.height()) return {};
  const QColor c = image_.pixelColor(px, py);
  return QStringLiteral("x %1  y %2   R %3  G %4  B %5  A %6")
      .arg(px)
      .arg(py)
      .arg(c.redF(), 0, 'f', 3)
      .arg(c.greenF(), 0, 'f', 3)
      .arg(c.blueF(), 0, 'f', 3)
      .arg(c.alphaF(), 0, 'f', 3);
}

void ImageView::paint(QPainter* p) {
  p->fillRect(boundingRect(), QColor("#1e1f22"));
  if (image_.isNull()) return;
  const QRectF target(ox_, oy_, image_.width() * scale_, image_.height() * scale_);
  // Alpha checkerboard under the image (16 px cells on screen).
  p->save();
  p->setClipRect(target.intersected(boundingRect()));
  const int cell = 12;
  for (int y = int(target.top()) / cell * cell - cell; y < target.bottom(); y += cell)
    for (int x = int(target.left()) / cell * cell - cell; x < target.right(); x += cell)
      p->fillRect(QRectF(x, y, cell, cell), ((x / cell + y / cell) & 1) ? QColor("#9a9a9a") : QColor("#6a6a6a"));
  p->restore();
  p->setRenderHint(QPainter::SmoothPixmapTransform, scale_ < 2);
  p->drawImage(target, image_);
}

// ---------------------------------------------------------------- PlotView

PlotView::PlotView(QQuickItem* parent) : QQuickPaintedItem(parent), plot_(std::make_unique<QCustomPlot>()) {
  plot_->setAttribute(Qt::WA_DontShowOnScreen);
  plot_->setBackground(QColor("#1e1f22"));
  auto style = [](QCPAxis* a, const QString& label) {
    a->setLabel(label);
    a->setBasePen(QPen(QColor("#8a8f98")));
    a->setTickPen(QPen(QColor("#8a8f98")));
    a->setSubTickPen(QPen(QColor("#8a8f98")));
    a->setTickLabelColor(QColor("#c8ccd4"));
    a->setLabelColor(QColor("#c8ccd4"));
    a->grid()->setPen(QPen(QColor("#34363c")));
  };
  // Top: loss (left) and held-out PSNR (right); bottom: Gaussian count. Shared step axis.
  QCPAxisRect* top = plot_->axisRect();
  auto* bottom = new QCPAxisRect(plot_.get());
  plot_->plotLayout()->addElement(1, 0, bottom);
  style(top->axis(QCPAxis::atBottom), "");
  style(top->axis(QCPAxis::atLeft), "loss");
  style(top->axis(QCPAxis::atRight), "PSNR dB");
  top->axis(QCPAxis::atRight)->setVisible(true);
  style(bottom->axis(QCPAxis::atBottom), "step");
  style(bottom->axis(QCPAxis::atLeft), "Gaussians");
  connect(top->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::rangeChanged),
          bottom->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::setRange));
  auto* loss = plot_->addGraph(top->axis(QCPAxis::atBottom), top->axis(QCPAxis::atLeft));
  loss->setPen(QPen(QColor("#4fa3e0"), 1.5));
  loss->setName("loss");
  auto* psnr = plot_->addGraph(top->axis(QCPAxis::atBottom), top->axis(QCPAxis::atRight));
  psnr->setPen(QPen(QColor("#e0a24f"), 1.5));
  psnr->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
  psnr->setName("PSNR");
  auto* gaussians = plot_->addGraph(bottom->axis(QCPAxis::atBottom), bottom->axis(QCPAxis::atLeft));
  gaussians->setPen(QPen(QColor("#c04fe0"), 1.5));
  gaussians->setName("Gaussians");
  plot_->legend->setVisible(true);
  plot_->legend->setBrush(QColor(30, 31, 34, 200));
  plot_->legend->setTextColor(QColor("#c8ccd4"));
  connect(this, &PlotView::sourceChanged, this, &PlotView::refresh);
}

PlotView::~PlotView() = default;

void PlotView::setRunner(RunController* r) {
  if (runner_ == r) return;
  if (runner_) disconnect(runner_, nullptr, this, nullptr);
  runner_ = r;
  if (runner_)
    connect(runner_, &RunController::curveChanged, this, [this](const QString& n) {
      if (n == node_) refresh();
    });
  emit sourceChanged();
}

void PlotView::refresh() {
  const QVariantList curve = runner_ ? runner_->curve(node_) : QVariantList{};
  QVector<double> step, loss, psnrStep, psnr, gaussians;
  for (const QVariant& v : curve) {
    const QVariantMap m = v.toMap();
    if (!m.contains("step")) continue;
    const double s = m["step"].toDouble();
    if (m.contains("loss")) step << s, loss << m["loss"].toDouble();
    if (m.contains("psnr")) psnrStep << s, psnr << m["psnr"].toDouble();
    if (m.contains("gaussians")) gaussians << m["gaussians"].toDouble();
  }
  plot_->graph(0)->setData(step, loss, true);
  plot_->graph(1)->setData(psnrStep, psnr, true);
  plot_->graph(2)->setData(step.mid(0, gaussians.size()), gaussians, true);
  for (int i = 0; i < 3; ++i) plot_->graph(i)->rescaleAxes(i == 1);
  plot_->graph(0)->rescaleKeyAxis();
  points_ = int(step.size());
  emit pointsChanged();
  update();
}

void PlotView::paint(QPainter* p) {
  const int w = int(width()), h = int(height());
  if (w <= 0 || h <= 0) return;
  plot_->resize(w, h);
  p->drawPixmap(0, 0, plot_->toPixmap(w, h));
}

// ---------------------------------------------------------------- SeriesPlotView

SeriesPlotView::SeriesPlotView(QQuickItem* parent) : QQuickPaintedItem(parent), plot_(std::make_unique<QCustomPlot>()) {
  plot_->setBackground(QColor("#1b1c1f"));
  connect(this, &SeriesPlotView::frameChanged, this, [this] { rebuild(); });
}

SeriesPlotView::~SeriesPlotView() = default;

void SeriesPlotView::setSeries(const QVariantList& s) {
  if (s == series_) return;
  series_ = s;
  rebuild();
  emit seriesChanged();
}

int SeriesPlotView::plots() const { return plot_->graphCount(); }

void SeriesPlotView::rebuild() {
  static const QColor colours[] = {QColor("#4fa3e0"), QColor("#e0a24f"), QColor("#c04fe0"),
                                   QColor("#4fe07a"), QColor("#e05a4f"), QColor("#d8d84f")};
  plot_->clearGraphs();
  plot_->clearItems();
  plot_->plotLayout()->clear();
  const int n = int(std::min<qsizetype>(series_.size(), 6));
  QCPAxisRect* first = nullptr;
  for (int i = 0; i < n; ++i) {
    const QVariantMap m = series_[i].toMap();
    auto* rect = new QCPAxisRect(plot_.get());
    plot_->plotLayout()->addElement(i, 0, rect);
    for (QCPAxis* a : {rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft)}) {
      a->setBasePen(QPen(QColor("#8a8f98")));
      a->setTickPen(QPen(QColor("#8a8f98")));
      a->setSubTickPen(QPen(QColor("#5a5d65")));
      a->setTickLabelColor(QColor("#c8ccd4"));
      a->setLabelColor(QColor("#c8ccd4"));
      a->grid()->setPen(QPen(QColor("#34363c")));
    }
    rect->axis(QCPAxis::atLeft)->setLabel(m["name"].toString());
    rect->axis(QCPAxis::atBottom)->setLabel(i == n - 1 ? QStringLiteral("frame") : QString());
    if (first)
      connect(first->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::rangeChanged),
              rect->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::setRange));
    else first = rect;
    QVector<double> x, y;
    const QVariantList values = m["values"].toList();
    for (int k = 0; k < values.size(); ++k) x << k, y << values[k].toDouble();
    auto* g = plot_->addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    g->setPen(QPen(colours[i % 6], 1.5));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 3));
    g->setName(m["name"].toString());
    g->setData(x, y, true);
    g->rescaleAxes();
    QCPRange r = rect->axis(QCPAxis::atLeft)->range();
    if (r.size() <= 0) r = QCPRange(r.lower - 1, r.upper + 1);
    rect->axis(QCPAxis::atLeft)->setRange(r.lower - r.size() * 0.08, r.upper + r.size() * 0.08);
    rect->axis(QCPAxis::atBottom)->setRange(-0.5, std::max(1, int(values.size()) - 1) + 0.5);
    if (frame_ >= 0) {
      auto* line = new QCPItemStraightLine(plot_.get());
      line->setClipAxisRect(rect);
      line->point1->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
      line->point2->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
      line->point1->setCoords(frame_, 0);
      line->point2->setCoords(frame_, 1);
      line->setPen(QPen(QColor(255, 255, 255, 120), 1, Qt::DashLine));
    }
  }
  update();
}

void SeriesPlotView::paint(QPainter* p) {
  const int w = int(width()), h = int(height());
  if (w <= 0 || h <= 0) return;
  plot_->resize(w, h);
  p->drawPixmap(0, 0, plot_->toPixmap(w, h));
}

}  // namespace camgraph::ui
