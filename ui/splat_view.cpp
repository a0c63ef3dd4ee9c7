// SplatView: renders a SplatSceneValue with the project's rasterizer (nodes/splat/raster) from an
// orbit camera. While the camera moves it renders at a third of the resolution, then refines.
// Device: the rasterizer's CUDA kernels when the build has them (CAMGRAPH_WITH_CUDA, set by
// nodes/splat/raster when nvcc is found) and a CUDA device is present at run time; else the CPU
// kernels. CAMGRAPH_VIEWPORT_DEVICE=cpu forces the CPU. The scene is uploaded once per scene.
#include <ATen/ATen.h>

#include <QElapsedTimer>
#include <QPainter>
#include <QPolygonF>
#include <QTransform>
#include <cmath>

#include "camgraph/values.h"
#include "preview_items.h"
#include "splat/raster/render.h"

namespace camgraph::ui {
namespace {

Vec3 v3(const QVector3D& v) { return {v.x(), v.y(), v.z()}; }

}  // namespace

struct SplatView::SceneOnDevice {
  Value scene;  // keeps the uploaded scene alive and identifies it
  bool cuda = false;
  at::Tensor means, log_scales, quats, opacity_logits, sh;
};

bool SplatView::cudaRenderAvailable() {
#ifdef CAMGRAPH_WITH_CUDA
  if (qEnvironmentVariable("CAMGRAPH_VIEWPORT_DEVICE").compare("cpu", Qt::CaseInsensitive) == 0) return false;
  static const bool available = [] {
    try {
      return cuda_available();
    } catch (const std::exception&) {
      return false;
    }
  }();
  return available;
#else
  return false;
#endif
}

SplatView::SplatView(QQuickItem* parent) : QQuickPaintedItem(parent), cuda_(cudaRenderAvailable()) {
  refine_.setSingleShot(true);
  refine_.setInterval(150);
  connect(&refine_, &QTimer::timeout, this, [this] { render(false); });
  connect(this, &SplatView::sourceChanged, this, [this] { render(false); });
  connect(this, &SplatView::viewChanged, this, [this] { update(); });
  connect(this, &QQuickItem::widthChanged, this, &SplatView::scheduleRender);
  connect(this, &QQuickItem::heightChanged, this, &SplatView::scheduleRender);
}

void SplatView::basis(QVector3D& ex, QVector3D& ey) const {
  // Orbit frame: an arbitrary basis with up_ as z.
  const QVector3D ref = std::abs(up_.x()) < 0.9 ? QVector3D(1, 0, 0) : QVector3D(0, 1, 0);
  ex = QVector3D::crossProduct(up_, ref).normalized();
  ey = QVector3D::crossProduct(up_, ex).normalized();
}

QVector3D SplatView::eye() const {
  QVector3D ex, ey;
  basis(ex, ey);
  const QVector3D dir = (ex * float(std::cos(yaw_)) + ey * float(std::sin(yaw_))) * float(std::cos(pitch_)) +
                        up_ * float(std::sin(pitch_));
  return target_ + dir * float(distance_);
}

int SplatView::trainingCameras() const {
  const Value v = runner_ ? runner_->value(node_, port_) : nullptr;
  const auto* scene = dynamic_cast<const SplatSceneValue*>(v.get());
  return scene ? int(scene->training_cameras.size()) : 0;
}

QVector3D SplatView::trainingCameraPosition(int index) const {
  const Value v = runner_ ? runner_->value(node_, port_) : nullptr;
  const auto* scene = dynamic_cast<const SplatSceneValue*>(v.get());
  if (!scene || index < 0 || index >= int(scene->training_cameras.size())) return {};
  const Vec3 p = scene->training_cameras[size_t(index)].position();
  return QVector3D(p[0], p[1], p[2]);
}

QVector3D SplatView::forward() const { return (target_ - eye()).normalized(); }

void SplatView::frame(const QVector3D& eye, const QVector3D& target) {
  QVector3D ex, ey;
  basis(ex, ey);
  const QVector3D d = eye - target;
  distance_ = std::max(1e-3, double(d.length()));
  const QVector3D dir = d / float(distance_);
  pitch_ = std::asin(std::clamp(double(QVector3D::dotProduct(dir, up_)), -0.999, 0.999));
  yaw_ = std::atan2(QVector3D::dotProduct(dir, ey), QVector3D::dotProduct(dir, ex));
  target_ = target;
}

void SplatView::home() {
  const Value v = runner_ ? runner_->value(node_, port_) : nullptr;
  const auto* scene = dynamic_cast<const SplatSceneValue*>(v.get());
  if (!scene || !scene->count()) return;
  const at::Tensor means = scene->means.detach().to(at::kCPU).to(at::kFloat);
  const at::Tensor centre = std::get<0>(means.median(0));
  const QVector3D mid(centre[0].item<float>(), centre[1].item<float>(), centre[2].item<float>());
  // Radius that holds 90% of the points.
  const at::Tensor d = (means - centre).norm(2, 1);
  const double r90 = std::get<0>(d.kthvalue(std::max<int64_t>(1, int64_t(d.size(0) * 0.9)))).item<float>();
  scene_radius_ = std::max(1e-3, r90);
  fov_ = 50;
  if (scene->training_cameras.empty()) {
    target_ = mid;
    distance_ = std::max(0.1, r90 * 2.2);
    homed_ = true;
    return;
  }
  // World up: the average of the training cameras' up directions (-y of the camera, OpenCV axes).
  QVector3D up;
  for (const Camera& c : scene->training_cameras) {
    const Mat4 c2w = c.camera_to_world();
    up += QVector3D(-c2w[1], -c2w[5], -c2w[9]);
  }
  if (up.length() > 1e-6) up_ = up.normalized();
  // From the first training camera (the views the splats were fitted to are the sharp ones).
  const Camera& c = scene->training_cameras.front();
  const Mat4 c2w = c.camera_to_world();
  const QVector3D e(c2w[3], c2w[7], c2w[11]), fwd = QVector3D(c2w[2], c2w[6], c2w[10]).normalized();
  // Its own view direction (a view the Gaussians were fitted to), focused at the depth of the
  // scene centre so orbiting turns about the middle of the scene.
  const float ahead = QVector3D::dotProduct(mid - e, fwd);
  frame(e, e + fwd * std::max(float(scene_radius_) * 0.25f, ahead));
  if (c.fy > 0 && c.height > 0) fov_ = std::clamp(2 * std::atan(c.height / (2 * c.fy)) * 180 / M_PI, 10.0, 120.0);
  homed_ = true;
}

void SplatView::look(double dx, double dy) {
  const QVector3D e = eye();
  yaw_ += dx * 0.004;
  pitch_ = std::clamp(pitch_ + dy * 0.004, -1.5, 1.5);
  // Keep the eye where it is: move the target around it.
  QVector3D ex, ey;
  basis(ex, ey);
  const QVector3D dir = (ex * float(std::cos(yaw_)) + ey * float(std::sin(yaw_))) * float(std::cos(pitch_)) +
                        up_ * float(std::sin(pitch_));
  target_ = e - dir * float(distance_);
  render(true);
  refine_.start();
}

void SplatView::fly(double forwardSteps, double rightSteps, double upSteps) {
  const QVector3D f = forward();
  const QVector3D r = QVector3D::crossProduct(f, up_).normalized();
  const float step = float(scene_radius_ * 0.02);
  target_ += (f * float(forwardSteps) + r * float(rightSteps) + up_ * float(upSteps)) * step;
  render(true);
  refine_.start();
}

void SplatView::orbit(double dx, double dy) {
  yaw_ -= dx * 0.01;
  pitch_ = std::clamp(pitch_ + dy * 0.01, -1.5, 1.5);
  render(true);
  refine_.start();
}

void SplatView::pan(double dx, double dy) {
  // Move the target in the view plane, scaled with the distance.
  const QVector3D fwd = forward();
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
  if (!scene_ || scene_->scene != v) ++scene_changes_;
  if (!homed_) home();
  const QVector3D eye = this->eye();
  const int div = preview ? 3 : 1;
  const int w = std::max(8, int(width()) / div), h = std::max(8, int(height()) / div);
  const Camera cam = Camera::from_fov(w, h, fov_, Camera::look_at(v3(eye), v3(target_), v3(up_)));
  splat::RenderSettings settings;
  settings.sh_degree = scene->sh_degree();
  settings.background = {0.12f, 0.125f, 0.135f};
  QElapsedTimer t;
  t.start();
  for (;;) {
    try {
      if (!scene_ || scene_->scene != v || scene_->cuda != cuda_) {
        // Upload once per scene (and device): float32, contiguous, on the render device.
        auto up = std::make_shared<SceneOnDevice>();
        up->scene = v;
        up->cuda = cuda_;
        const at::Device dev = cuda_ ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
        auto f = [&](const at::Tensor& x) { return x.detach().to(dev, at::kFloat).contiguous(); };
        up->means = f(scene->means);
        up->log_scales = f(scene->log_scales);
        up->quats = f(scene->quats);
        up->opacity_logits = f(scene->opacity_logits);
        up->sh = f(scene->sh);
        scene_ = up;
      }
      at::NoGradGuard no_grad;
      splat::RenderCamera rc = splat::to_render_camera(cam);
      rc.viewmat = rc.viewmat.to(scene_->means.device());
      const splat::RenderOutput out = splat::render(scene_->means, scene_->log_scales, scene_->quats,
                                                    scene_->opacity_logits, scene_->sh, rc, settings);
      const at::Tensor rgb = out.rgb.clamp(0, 1).mul(255).round().to(at::kByte).to(at::kCPU).contiguous();
      QImage img(w, h, QImage::Format_RGB888);
      for (int y = 0; y < h; ++y) std::memcpy(img.scanLine(y), rgb.data_ptr<uint8_t>() + size_t(y) * w * 3, size_t(w) * 3);
      frame_ = img;
      break;
    } catch (const std::exception& e) {
      if (cuda_) {  // e.g. out of device memory: the CPU rasterizer still works
        qWarning("splat viewport: CUDA render failed (%s); rendering on the CPU", e.what());
        cuda_ = false;
        continue;
      }
      stats_ = tr("render failed: %1").arg(QString::fromUtf8(e.what()));
      emit rendered();
      return;
    }
  }
  // Overlays, projected with the same camera: training cameras (green) and the camera path
  // (orange, joined by its track) as frusta, billboards in place with their cutouts.
  frame_ = frame_.scaled(int(width()), int(height()), Qt::IgnoreAspectRatio,
                         preview ? Qt::FastTransformation : Qt::SmoothTransformation);
  path_drawn_ = billboards_drawn_ = 0;
  if (show_cameras_) {
    const SceneOverlays overlays = runner_->overlaysFor(node_);
    QPainter p(&frame_);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    const Camera view = Camera::from_fov(int(width()), int(height()), fov_, cam.world_to_camera);
    auto project = [&](const Vec3& w, QPointF& out) {
      const Mat4& m = view.world_to_camera;
      const double x = m[0] * w[0] + m[1] * w[1] + m[2] * w[2] + m[3];
      const double y = m[4] * w[0] + m[5] * w[1] + m[6] * w[2] + m[7];
      const double z = m[8] * w[0] + m[9] * w[1] + m[10] * w[2] + m[11];
      if (z < 1e-3) return false;
      out = QPointF(view.fx * x / z + view.cx, view.fy * y / z + view.cy);
      return true;
    };
    const double size = scene_radius_ * 0.06;
    auto frustum = [&](const Camera& c, double scale) {
      const Mat4 c2w = c.camera_to_world();
      auto toWorld = [&](double x, double y, double z) {
        return Vec3{c2w[0] * x + c2w[1] * y + c2w[2] * z + c2w[3], c2w[4] * x + c2w[5] * y + c2w[6] * z + c2w[7],
                    c2w[8] * x + c2w[9] * y + c2w[10] * z + c2w[11]};
      };
      QPointF o, q[4];
      if (!project(toWorld(0, 0, 0), o)) return false;
      const double s = size * scale, hw = s * c.width / (2 * c.fx), hh = s * c.height / (2 * c.fy);
      const double corners[4][2] = {{-hw, -hh}, {hw, -hh}, {hw, hh}, {-hw, hh}};
      for (int i = 0; i < 4; ++i)
        if (!project(toWorld(corners[i][0], corners[i][1], s), q[i])) return false;
      for (int i = 0; i < 4; ++i) {
        p.drawLine(o, q[i]);
        p.drawLine(q[i], q[(i + 1) % 4]);
      }
      return true;
    };
    p.setPen(QPen(QColor(79, 224, 122, 200), 1));
    for (const Camera& c : scene->training_cameras) frustum(c, 1);
    if (!overlays.path.empty()) {
      // The track through every camera, frusta at about a dozen frames (first and last included).
      p.setPen(QPen(QColor(255, 170, 60, 230), 1.5));
      QPointF prev;
      bool hasPrev = false;
      for (const Camera& c : overlays.path) {
        QPointF q;
        const bool ok = project(c.position(), q);
        if (ok && hasPrev) p.drawLine(prev, q);
        prev = q;
        hasPrev = ok;
      }
      const size_t n = overlays.path.size(), every = std::max<size_t>(1, n / 12);
      for (size_t i = 0; i < n; ++i)
        if ((i % every == 0 || i + 1 == n) && frustum(overlays.path[i], i == 0 ? 1.6 : 1.0)) ++path_drawn_;
    }
    const Vec3 viewEye = v3(eye);
    for (const auto& b : overlays.billboards) {
      if (!b.is_object() || !b.contains("foot") || !b.contains("content") || !b.contains("foot_px")) continue;
      auto vec = [](const nlohmann::json& j) { return QVector3D(j[0].get<float>(), j[1].get<float>(), j[2].get<float>()); };
      const QVector3D foot = vec(b["foot"]);
      const QVector3D up = b.contains("up") ? vec(b["up"]).normalized() : up_;
      const auto& box = b["content"];
      const double u0 = box[0].get<double>(), v0 = box[1].get<double>(), u1 = box[2].get<double>(), v1 = box[3].get<double>();
      const double fu = b["foot_px"][0].get<double>(), fv = b["foot_px"][1].get<double>();
      const double s = b.value("height", 1.0) / std::max(1e-6, v1 - v0);
      // Facing the viewer (camera) or its fixed normal; the cutout's right is view-forward x up.
      QVector3D towards = b.value("facing", std::string("camera")) == "fixed" && b.contains("normal")
                              ? -vec(b["normal"])
                              : foot - QVector3D(viewEye[0], viewEye[1], viewEye[2]);
      towards -= up * QVector3D::dotProduct(towards, up);
      if (towards.length() < 1e-6) continue;
      const QVector3D right = QVector3D::crossProduct(towards.normalized(), up).normalized();
      auto world = [&](double u, double v) {
        const QVector3D w = foot + right * float((u - fu) * s) + up * float((fv - v) * s);
        return Vec3{w.x(), w.y(), w.z()};
      };
      QPointF q[4];
      const double uv[4][2] = {{u0, v0}, {u1, v0}, {u1, v1}, {u0, v1}};
      bool ok = true;
      for (int i = 0; i < 4; ++i) ok = ok && project(world(uv[i][0], uv[i][1]), q[i]);
      if (!ok) continue;
      const QPolygonF quad({q[0], q[1], q[2], q[3]});
      const QImage cutout = runner_->image(overlays.billboardNode, "cutouts", b.value("cutout", 0));
      QTransform t;
      const QRectF src(u0, v0, u1 - u0, v1 - v0);
      if (!cutout.isNull() && QTransform::quadToQuad(QPolygonF({src.topLeft(), src.topRight(), src.bottomRight(), src.bottomLeft()}), quad, t)) {
        p.save();
        p.setTransform(t);
        p.drawImage(src, cutout, src);
        p.restore();
      }
      p.setPen(QPen(QColor(240, 90, 200, 230), 1.5, Qt::DashLine));
      p.setBrush(Qt::NoBrush);
      p.drawPolygon(quad);
      QPointF footPx;
      if (project(Vec3{foot.x(), foot.y(), foot.z()}, footPx)) p.drawEllipse(footPx, 3, 3);
      ++billboards_drawn_;
    }
  }
  // The device first, and the training step while this is a live snapshot of a running trainer.
  const QString live = runner_->preview(node_).value("label").toString();
  stats_ = tr("%1  %2 Gaussians  %3x%4  %5 ms%6%7")
               .arg(backend()).arg(scene->count()).arg(w).arg(h).arg(t.elapsed())
               .arg(preview ? tr("  (preview)") : QString())
               .arg(live.isEmpty() ? QString() : tr("  live: %1").arg(live));
  emit rendered();
  update();
}

void SplatView::paint(QPainter* p) {
  p->fillRect(boundingRect(), QColor("#1f2023"));
  if (!frame_.isNull()) p->drawImage(boundingRect(), frame_);
}

}  // namespace camgraph::ui
