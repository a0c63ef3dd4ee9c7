// Pure canvas geometry, in canvas units (the nodes' coordinate system): wires as cubic Bezier
// segments with horizontal tangents (as NodeCanvas.qml draws them), distances to them, and the view
// transform that fits a rectangle into a view. No document and no Qt Quick: unit-tested headless.
#pragma once
#include <QList>
#include <QPointF>
#include <QRectF>
#include <QSizeF>
#include <QString>

namespace camgraph::ui {

// One segment of a wire between two of its control points (ports or reroute points).
struct WireSegment {
  QPointF a, c1, c2, b;  // start, control points, end
};
WireSegment wireSegment(QPointF a, QPointF b);
// Whether `p` lies within `radius` of the segment (the curve sampled as a 32-piece polyline).
bool wireSegmentNear(const WireSegment& s, QPointF p, double radius);
// SVG path data of the wire through `points` (at least two): "M x y C ... C ...".
QString wireSvgPath(const QList<QPointF>& points);
// The segment of the polyline `points` that `p` lengthens least when inserted into it.
int nearestPolylineSegment(const QList<QPointF>& points, QPointF p);

// Canvas -> view pixels: view = canvas * zoom + pan.
struct ViewTransform {
  double zoom = 1, panX = 0, panY = 0;
};
// The transform that shows `content` centred in a view of `view` pixels with at least `margin`
// pixels around it, with zoom clamped to [minZoom, maxZoom]; the pan is rounded to whole pixels.
// An empty content or view gives zoom 1 with the canvas origin at (margin, margin).
ViewTransform fitTransform(const QRectF& content, const QSizeF& view, double margin, double minZoom, double maxZoom);

}  // namespace camgraph::ui
