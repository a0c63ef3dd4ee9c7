#include "canvas_geometry.h"

#include <algorithm>
#include <cmath>

namespace camgraph::ui {

WireSegment wireSegment(QPointF a, QPointF b) {
  const double dx = std::max(40.0, std::abs(b.x() - a.x()) * 0.5);
  return {a, QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b};
}

bool wireSegmentNear(const WireSegment& s, QPointF p, double radius) {
  constexpr int kSamples = 32;
  QPointF prev = s.a;
  for (int i = 1; i <= kSamples; ++i) {
    const double t = double(i) / kSamples, u = 1 - t;
    const QPointF q = u * u * u * s.a + 3 * u * u * t * s.c1 + 3 * u * t * t * s.c2 + t * t * t * s.b;
    // Distance from p to the piece prev-q.
    const QPointF d = q - prev, w = p - prev;
    const double len2 = d.x() * d.x() + d.y() * d.y();
    const double f = len2 > 0 ? std::clamp((w.x() * d.x() + w.y() * d.y()) / len2, 0.0, 1.0) : 0;
    const QPointF e = prev + f * d - p;
    if (e.x() * e.x() + e.y() * e.y() <= radius * radius) return true;
    prev = q;
  }
  return false;
}

QString wireSvgPath(const QList<QPointF>& points) {
  if (points.isEmpty()) return {};
  QString path = QStringLiteral("M %1 %2").arg(points[0].x()).arg(points[0].y());
  for (int k = 0; k + 1 < points.size(); ++k) {
    const WireSegment s = wireSegment(points[k], points[k + 1]);
    path += QStringLiteral(" C %1 %2 %3 %4 %5 %6")
                .arg(s.c1.x())
                .arg(s.c1.y())
                .arg(s.c2.x())
                .arg(s.c2.y())
                .arg(s.b.x())
                .arg(s.b.y());
  }
  return path;
}

int nearestPolylineSegment(const QList<QPointF>& points, QPointF p) {
  auto dist = [](QPointF a, QPointF b) { return std::hypot(a.x() - b.x(), a.y() - b.y()); };
  int best = 0;
  double bestCost = 1e300;
  for (int k = 0; k + 1 < points.size(); ++k) {
    const double cost = dist(points[k], p) + dist(p, points[k + 1]) - dist(points[k], points[k + 1]);
    if (cost < bestCost) bestCost = cost, best = k;
  }
  return best;
}

ViewTransform fitTransform(const QRectF& content, const QSizeF& view, double margin, double minZoom, double maxZoom) {
  if (content.width() <= 0 || content.height() <= 0 || view.width() <= 0 || view.height() <= 0)
    return {1, margin, margin};
  const double fit = std::min((view.width() - 2 * margin) / content.width(),
                              (view.height() - 2 * margin) / content.height());
  const double zoom = std::clamp(fit, minZoom, maxZoom);
  // Whole-pixel pan: crisp text and grid, and canvas points at 100% map to whole pixels and back.
  return {zoom, std::round((view.width() - content.width() * zoom) / 2 - content.x() * zoom),
          std::round((view.height() - content.height() * zoom) / 2 - content.y() * zoom)};
}

}  // namespace camgraph::ui
