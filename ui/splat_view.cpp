// SplatView: renders a SplatSceneValue from an orbit camera with the renderer the node registry
// holds for SplatScene values (Registry::find_renderer; the splat family registers its rasterizer),
// so the editor links no family. While the camera moves it renders at a third of the resolution,
// then refines. Device: CUDA when the renderer says it is available (a build with the kernels and a
// device present), else the CPU; CAMGRAPH_VIEWPORT_DEVICE=cpu forces the CPU, and a failed CUDA
// render falls back to it. The scene is prepared (uploaded) once per scene and device.
#include <ATen/ATen.h>

#include <QElapsedTimer>
#include <QPainter>
#include <QPolygonF>
#include <QTransform>
#include <cmath>
#include <cstring>
#include <functional>

#include "app_registry.h"
#include "camgraph/preview.h"
#include "camgraph/spec.h"
#include "camgraph/values.h"
#include "preview_items.h"

namespace camgraph::ui {
namespace {

Vec3 v3(const QVector3D& v) { return {v.x(), v.y(), v.z()}; }

QImage toQImage(const PreviewImage& img) {
  QImage out(img.width, img.height, QImage::Format_RGBA8888);
  for (int y = 0; y < img.height; ++y)
    std::memcpy(out.scanLine(y), img.rgba.data() + size_t(y) * img.width * 4, size_t(img.width) * 4);
  return out;
}

bool cpuForced() { return qEnvironmentVariable("CAMGRAPH_VIEWPORT_DEVICE").compare("cpu", Qt::CaseInsensitive) == 0; }

// Draws the overlays over a rendered frame, projected with the viewport's camera: frusta of
// cameras (training cameras, a camera path with its track) and billboards in place with their cutouts.
class OverlayPainter {
 public:
  OverlayPainter(QImage& frame, const Camera& view, double frustumSize) : p_(&frame), view_(view), size_(frustumSize) {
    p_.setRenderHint(QPainter::Antialiasing);
    p_.setRenderHint(QPainter::SmoothPixmapTransform);
  }

  bool project(const Vec3& w, QPointF& out) const {
    const Mat4& m = view_.world_to_camera;
    const double x = m[0] * w[0] + m[1] * w[1] + m[2] * w[2] + m[3];
    const double y = m[4] * w[0] + m[5] * w[1] + m[6] * w[2] + m[7];
    const double z = m[8] * w[0] + m[9] * w[1] + m[10] * w[2] + m[11];
    if (z < 1e-3) return false;
    out = QPointF(view_.fx * x / z + view_.cx, view_.fy * y / z + view_.cy);
    return true;
  }

  // A camera as a small pyramid (apex at its centre); false when part of it is behind the viewer.
  bool frustum(const Camera& c, double scale) {
    const Mat4 c2w = c.camera_to_world();
    auto toWorld = [&](double x, double y, double z) {
      return Vec3{c2w[0] * x + c2w[1] * y + c2w[2] * z + c2w[3], c2w[4] * x + c2w[5] * y + c2w[6] * z + c2w[7],
                  c2w[8] * x + c2w[9] * y + c2w[10] * z + c2w[11]};
    };
    QPointF o, q[4];
    if (!project(toWorld(0, 0, 0), o)) return false;
    const double s = size_ * scale, hw = s * c.width / (2 * c.fx), hh = s * c.height / (2 * c.fy);
    const double corners[4][2] = {{-hw, -hh}, {hw, -hh}, {hw, hh}, {-hw, hh}};
    for (int i = 0; i < 4; ++i)
      if (!project(toWorld(corners[i][0], corners[i][1], s), q[i])) return false;
    for (int i = 0; i < 4; ++i) {
      p_.drawLine(o, q[i]);
      p_.drawLine(q[i], q[(i + 1) % 4]);
    }
    return true;
  }

  void trainingCameras(const std::vector<Camera>& cameras) {
    p_.setPen(QPen(QColor(79, 224, 122, 200), 1));
    for (const Camera& c : cameras) frustum(c, 1);
  }

  // The track through every camera, frusta at about a dozen frames (first and last included);
  // returns the frusta drawn.
  int cameraPath(const std::vector<Camera>& path) {
    if (path.empty()) return 0;
    p_.setPen(QPen(QColor(255, 170, 60, 230), 1.5));
    QPointF prev;
    bool hasPrev = false;
    for (const Camera& c : path) {
      QPointF q;
      const bool ok = project(c.position(), q);
      if (ok && hasPrev) p_.drawLine(prev, q);
      prev = q;
      hasPrev = ok;
    }
    int drawn = 0;
    const size_t n = path.size(), every = std::max<size_t>(1, n / 12);
    for (size_t i = 0; i < n; ++i)
      if ((i % every == 0 || i + 1 == n) && frustum(path[i], i == 0 ? 1.6 : 1.0)) ++drawn;
    return drawn;
  }

  // One billboard record (docs/camera-motion.md) standing at its foot, facing the viewer at `eye`
  // (or its fixed normal), its cutout mapped onto it; false when it is not drawn.
  bool billboard(const nlohmann::json& b, const QVector3D& eye, const QVector3D& worldUp,
                 const std::function<QImage(int)>& cutoutImage) {
    if (!b.is_object() || !b.contains("foot") || !b.contains("content") || !b.contains("foot_px")) return false;
    auto vec = [](const nlohmann::json& j) {
      return QVector3D(j[0].get<float>(), j[1].get<float>(), j[2].get<float>());
    };
    const QVector3D foot = vec(b["foot"]);
    const QVector3D up = b.contains("up") ? vec(b["up"]).normalized() : worldUp;
    const auto& box = b["content"];
    const double u0 = box[0].get<double>(), v0 = box[1].get<double>(), u1 = box[2].get<double>(),
                 v1 = box[3].get<double>();
    const double fu = b["foot_px"][0].get<double>(), fv = b["foot_px"][1].get<double>();
    const double s = b.value("height", 1.0) / std::max(1e-6, v1 - v0);
    // Facing the viewer (camera) or its fixed normal; the cutout's right is view-forward x up.
    QVector3D towards = b.value("facing", std::string("camera")) == "fixed" && b.contains("normal") ? -vec(b["normal"])
                                                                                                    : foot - eye;
    towards -= up * QVector3D::dotProduct(towards, up);
    if (towards.length() < 1e-6) return false;
    const QVector3D right = QVector3D::crossProduct(towards.normalized(), up).normalized();
    auto world = [&](double u, double v) {
      const QVector3D w = foot + right * float((u - fu) * s) + up * float((fv - v) * s);
      return Vec3{w.x(), w.y(), w.z()};
    };
    QPointF q[4];
    const double uv[4][2] = {{u0, v0}, {u1, v0}, {u1, v1}, {u0, v1}};
    for (int i = 0; i < 4; ++i)
      if (!project(world(uv[i][0], uv[i][1]), q[i])) return false;
    const QPolygonF quad({q[0], q[1], q[2], q[3]});
    const QImage cutout = cutoutImage(b.value("cutout", 0));
    QTransform t;
    const QRectF src(u0, v0, u1 - u0, v1 - v0);
    if (!cutout.isNull() &&
        QTransform::quadToQuad(QPolygonF({src.topLeft(), src.topRight(), src.bottomRight(), src.bottomLeft()}), quad,
                               t)) {
      p_.save();
      p_.setTransform(t);
      p_.drawImage(src, cutout, src);
      p_.restore();
    }
    p_.setPen(QPen(QColor(240, 90, 200, 230), 1.5, Qt::DashLine));
    p_.setBrush(Qt::NoBrush);
    p_.drawPolygon(quad);
    QPointF footPx;
    if (project(Vec3{foot.x(), foot.y(), foot.z()}, footPx)) p_.drawEllipse(footPx, 3, 3);
    return true;
  }

 private:
  QPainter p_;
  const Camera& view_;
  double size_;
};

}  // namespace

struct SplatView::SceneOnDevice {
  Value scene;  // keeps the prepared scene's value alive and identifies it
  bool cuda = false;
  std::unique_ptr<PreparedPreview> prepared;
};

bool SplatView::cudaRenderAvailable() {
  if (cpuForced()) return false;
  const ValueRenderer* renderer = appRegistry().find_renderer(PortType::SplatScene);
  return renderer && renderer->cuda_available();
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
  QElapsedTimer t;
  t.start();
  QString error;
  if (!renderScene(v, cam, error)) {
    stats_ = tr("render failed: %1").arg(error);
    emit rendered();
    return;
  }
  frame_ = frame_.scaled(int(width()), int(height()), Qt::IgnoreAspectRatio,
                         preview ? Qt::FastTransformation : Qt::SmoothTransformation);
  path_drawn_ = billboards_drawn_ = 0;
  if (show_cameras_) drawOverlays(*scene, cam, eye);
  // The device first, and the training step while this is a live snapshot of a running trainer.
  const QString live = runner_->preview(node_).value("label").toString();
  stats_ = tr("%1  %2 Gaussians  %3x%4  %5 ms%6%7")
               .arg(backend())
               .arg(scene->count())
               .arg(w)
               .arg(h)
               .arg(t.elapsed())
               .arg(preview ? tr("  (preview)") : QString())
               .arg(live.isEmpty() ? QString() : tr("  live: %1").arg(live));
  emit rendered();
  update();
}

bool SplatView::renderScene(const Value& v, const Camera& cam, QString& error) {
  const ValueRenderer* renderer = runner_->registry().find_renderer(v->type());
  if (!renderer) {
    const std::string_view type = to_string(v->type());
    error = tr("no preview renderer for %1 values").arg(QString::fromUtf8(type.data(), int(type.size())));
    return false;
  }
  PreviewRequest request{cam, {0.12f, 0.125f, 0.135f}};
  for (;;) {
    try {
      if (!scene_ || scene_->scene != v || scene_->cuda != cuda_) {
        // Prepared once per scene (and device): the renderer uploads it.
        auto up = std::make_shared<SceneOnDevice>();
        up->scene = v;
        up->cuda = cuda_;
        up->prepared = renderer->prepare(v, cuda_ ? DeviceKind::Cuda : DeviceKind::Cpu);
        scene_ = up;
      }
      frame_ = toQImage(scene_->prepared->render(request));
      return true;
    } catch (const std::exception& e) {
      if (cuda_) {  // e.g. out of device memory: the CPU renderer still works
        qWarning("splat viewport: CUDA render failed (%s); rendering on the CPU", e.what());
        cuda_ = false;
        continue;
      }
      error = QString::fromUtf8(e.what());
      return false;
    }
  }
}

void SplatView::drawOverlays(const SplatSceneValue& scene, const Camera& cam, const QVector3D& eye) {
  const SceneOverlays overlays = runner_->overlaysFor(node_);
  const Camera view = Camera::from_fov(int(width()), int(height()), fov_, cam.world_to_camera);
  OverlayPainter painter(frame_, view, scene_radius_ * 0.06);
  painter.trainingCameras(scene.training_cameras);
  path_drawn_ = painter.cameraPath(overlays.path);
  auto cutout = [&](int index) { return runner_->image(overlays.billboardNode, overlays.billboardImages, index); };
  for (const auto& b : overlays.billboards)
    if (painter.billboard(b, eye, up_, cutout)) ++billboards_drawn_;
}

void SplatView::paint(QPainter* p) {
  p->fillRect(boundingRect(), QColor("#1f2023"));
  if (!frame_.isNull()) p->drawImage(boundingRect(), frame_);
}

}  // namespace camgraph::ui
