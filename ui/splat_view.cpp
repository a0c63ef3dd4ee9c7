// SplatView: renders a SplatSceneValue with the project's rasterizer (nodes/splat/raster) from an
// orbit camera. While the camera moves it renders at a third of the resolution, then refines.
#include <ATen/ATen.h>

#include <QElapsedTimer>
#include <QPainter>
#include <cmath>

#include "camgraph/values.h"
#include "preview_items.h"
#include "splat/raster/render.h"

namespace camgraph::ui {
namespace {

Vec3 v3(const QVector3D& v) { return {v.x(), v.y(), v.z()}; }

}  // namespace

SplatView::SplatView(QQuickItem* parent) : QQuickPaintedItem(parent) {
  refine_.setSingleShot(true);
  refine_.setInterval(150);
  connect(&refine_, &QTimer::timeout, this, [this] { render(false); });
  connect(this, &SplatView::sourceChanged, this, [this] { render(false); });
  connect(this, &SplatView::viewChanged, this, [this] { update(); });
  connect(this, &QQuickItem::widthChanged, this, &SplatView::scheduleRender);
  connect(this, &QQuickItem::heightChanged, this, &SplatView::scheduleRender);
}

void SplatView::home() {
  const Value v = runner_ ? runner_->value(node_, port_) : nullptr;
  const auto* scene = dynamic_cast<const SplatSceneValue*>(v.get());
  if (!scene || !scene->count()) return;
  const at::Tensor means = scene->means.detach().to(at::kCPU).to(at::kFloat);
  const at::Tensor centre = std::get<0>(means.median(0));
  target_ = QVector3D(centre[0].item<float>(), centre[1].item<float>(), centre[2].item<float>());
  // Radius that holds 90% of the points.
  const at::Tensor d = (means - centre).norm(2, 1);
  const double r90 = std::get<0>(d.kthvalue(std::max<int64_t>(1, int64_t(d.size(0) * 0.9)))).item<float>();
  distance_ = std::max(0.1, r90 * 2.2);
  // World up: the average of the training cameras' up directions (-y of the camera, OpenCV axes).
  if (!scene->training_cameras.empty()) {
    QVector3D up;
    for (const Camera& c : scene->training_cameras) {
      const Mat4 c2w = c.camera_to_world();
      up += QVector3D(-c2w[1], -c2w[5], -c2w[9]);
    }
    if (up.length() > 1e-6) up_ = up.normalized();
  }
  homed_ = true;
}

void SplatView::orbit(double dx, double dy) {
  yaw_ -= dx * 0.01;
  pitch_ = std::clamp(pitch_ + dy * 0.01, -1.5, 1.5);
  render(true);
  refine_.start();
}

void SplatView::pan(double dx, double dy) {
  // Move the target in the view plane, scaled with the distance.
  const QVector3D fwd = QVector3D(std::cos(pitch_) * std::cos(yaw_), std::cos(pitch_) * std::sin(yaw_), std::sin(pitch_));
  QVector3D right = QVector3D::crossProduct(fwd, up_).normalized();
  QVector3D upv = QVector3D::crossProduct(right, fwd).normalized();
  const float k = float(distance_ * 0.002);
  target_ += -right * float(dx) * k + upv * float(dy) * k;
  render(true);
  refine_.start();
}

void SplatView::dolly(double factor) {
  distance_ = std::clamp(distance_ * factor, 1e-3, 1e4);
  render(true);
  refine_.start();
}

void SplatView::scheduleRender() { refine_.start(); }

void SplatView::render(bool preview) {
  const Value v = runner_ ? runner_->value(node_, port_) : nullptr;
  const auto* scene = dynamic_cast<const SplatSceneValue*>(v.get());
  if (!scene || !scene->count() || width() < 8 || height() < 8) {
    frame_ = QImage();
    stats_.clear();
    emit rendered();
    update();
    return;
  }
  if (!homed_) home();
  // Orbit frame: an arbitrary basis with up_ as z.
  QVector3D ref = std::abs(up_.x()) < 0.9 ? QVector3D(1, 0, 0) : QVector3D(0, 1, 0);
  const QVector3D ex = QVector3D::crossProduct(up_, ref).normalized();
  const QVector3D ey = QVector3D::crossProduct(up_, ex).normalized();
  const QVector3D dir = (ex * float(std::cos(yaw_)) + ey * float(std::sin(yaw_))) * float(std::cos(pitch_)) +
                        up_ * float(std::sin(pitch_));
  const QVector3D eye = target_ + dir * float(distance_);
  const int div = preview ? 3 : 1;
  const int w = std::max(8, int(width()) / div), h = std::max(8, int(height()) / div);
  const Camera cam = Camera::from_fov(w, h, 50.0, Camera::look_at(v3(eye), v3(target_), v3(up_)));
  splat::RenderSettings settings;
  settings.sh_degree = scene->sh_degree();
  settings.background = {0.12f, 0.125f, 0.135f};
  QElapsedTimer t;
  t.start();
  try {
    auto f = [](const at::Tensor& x) { return x.detach().to(at::kCPU).to(at::kFloat).contiguous(); };
    at::NoGradGuard no_grad;
    const splat::RenderOutput out = splat::render(f(scene->means), f(scene->log_scales), f(scene->quats),
                                                  f(scene->opacity_logits), f(scene->sh),
                                                  splat::to_render_camera(cam), settings);
    const at::Tensor rgb = out.rgb.clamp(0, 1).mul(255).round().to(at::kByte).contiguous();
    QImage img(w, h, QImage::Format_RGB888);
    for (int y = 0; y < h; ++y) std::memcpy(img.scanLine(y), rgb.data_ptr<uint8_t>() + size_t(y) * w * 3, size_t(w) * 3);
    frame_ = img;
  } catch (const std::exception& e) {
    stats_ = tr("render failed: %1").arg(QString::fromUtf8(e.what()));
    emit rendered();
    return;
  }
  // Training cameras as frusta, projected with the same camera.
  frame_ = frame_.scaled(int(width()), int(height()), Qt::IgnoreAspectRatio,
                         preview ? Qt::FastTransformation : Qt::SmoothTransformation);
  if (show_cameras_) {
    QPainter p(&frame_);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(QPen(QColor(79, 224, 122, 200), 1));
    const Camera view = Camera::from_fov(int(width()), int(height()), 50.0, cam.world_to_camera);
    auto project = [&](const Vec3& w, QPointF& out) {
      const Mat4& m = view.world_to_camera;
      const double x = m[0] * w[0] + m[1] * w[1] + m[2] * w[2] + m[3];
      const double y = m[4] * w[0] + m[5] * w[1] + m[6] * w[2] + m[7];
      const double z = m[8] * w[0] + m[9] * w[1] + m[10] * w[2] + m[11];
      if (z < 1e-3) return false;
      out = QPointF(view.fx * x / z + view.cx, view.fy * y / z + view.cy);
      return true;
    };
    const double size = distance_ * 0.04;
    for (const Camera& c : scene->training_cameras) {
      const Mat4 c2w = c.camera_to_world();
      auto toWorld = [&](double x, double y, double z) {
        return Vec3{c2w[0] * x + c2w[1] * y + c2w[2] * z + c2w[3], c2w[4] * x + c2w[5] * y + c2w[6] * z + c2w[7],
                    c2w[8] * x + c2w[9] * y + c2w[10] * z + c2w[11]};
      };
      QPointF o, q[4];
      if (!project(toWorld(0, 0, 0), o)) continue;
      const double hw = size * c.width / (2 * c.fx), hh = size * c.height / (2 * c.fy);
      const double corners[4][2] = {{-hw, -hh}, {hw, -hh}, {hw, hh}, {-hw, hh}};
      bool ok = true;
      for (int i = 0; i < 4; ++i) ok = ok && project(toWorld(corners[i][0], corners[i][1], size), q[i]);
      if (!ok) continue;
      for (int i = 0; i < 4; ++i) {
        p.drawLine(o, q[i]);
        p.drawLine(q[i], q[(i + 1) % 4]);
      }
    }
  }
  stats_ = tr("%1 Gaussians  %2x%3  %4 ms%5")
               .arg(scene->count()).arg(w).arg(h).arg(t.elapsed())
               .arg(preview ? tr("  (preview)") : QString());
  emit rendered();
  update();
}

void SplatView::paint(QPainter* p) {
  p->fillRect(boundingRect(), QColor("#1f2023"));
  if (!frame_.isNull()) p->drawImage(boundingRect(), frame_);
}

}  // namespace camgraph::ui
