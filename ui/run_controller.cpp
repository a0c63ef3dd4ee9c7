// ATen before any Qt header: Qt's `slots` macro breaks torch headers.
#include <ATen/ATen.h>

#include "run_controller.h"
#include "app_registry.h"
#include "video_frames.h"

#include <QCoreApplication>
#include <algorithm>
#include <functional>
#include <set>
#include <limits>
#include <cstring>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include "camgraph/evaluator.h"
#include "camgraph/node_context.h"
#include "camgraph/spec.h"
#include "camgraph/values.h"

namespace camgraph::ui {
namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

QVariant toVariant(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_string()) return qs(j.get<std::string>());
  return qs(j.dump());
}

// [H, W, C] float in [0, 1] (C = 1, 3 or 4) -> 8-bit QImage (RGBA keeps straight alpha).
QImage toImage(const at::Tensor& hwc) {
  at::Tensor t = hwc.detach().to(at::kCPU).to(at::kFloat);
  if (t.dim() == 2) t = t.unsqueeze(2);
  const int h = int(t.size(0)), w = int(t.size(1)), c = int(t.size(2));
  at::Tensor rgba;
  if (c == 1) rgba = at::cat({t, t, t, at::ones_like(t)}, 2);
  else if (c == 3) rgba = at::cat({t, at::ones({h, w, 1})}, 2);
  else rgba = t.narrow(2, 0, 4);
  rgba = rgba.clamp(0, 1).mul(255).round().to(at::kByte).contiguous();
  QImage img(w, h, QImage::Format_RGBA8888);
  const uint8_t* src = rgba.data_ptr<uint8_t>();
  for (int y = 0; y < h; ++y) std::memcpy(img.scanLine(y), src + size_t(y) * w * 4, size_t(w) * 4);
  return img;
}

QString kindOf(const Value& v) {
  if (!v) return "none";
  switch (v->type()) {
    case PortType::Image:
    case PortType::Mask: return "image";
    case PortType::FrameSequence: return "frames";
    case PortType::SplatScene: return "splat";
    case PortType::Text: return "text";
    case PortType::Record: return "record";
    case PortType::Camera:
    case PortType::CameraPath: return "camera";
    default: return "none";
  }
}

}  // namespace

RunController::RunController(QObject* parent) : RunController(appRegistry(), parent) {}

RunController::RunController(const Registry& registry, QObject* parent)
    : QObject(parent),
      registry_(&registry),
      evaluator_(std::make_unique<Evaluator>(registry)),
      cancel_(std::make_unique<CancelToken>()) {
  debounce_.setSingleShot(true);
  debounce_.setInterval(400);
  connect(&debounce_, &QTimer::timeout, this, [this] {
    if (running()) {
      rerun_ = true;
      cancel();
    } else {
      start({}, false);  // live re-runs keep the seeds (re-rolling would edit, and re-run, forever)
    }
  });
}

RunController::~RunController() {
  if (thread_) {
    cancel_->cancel();
    thread_->wait();
  }
}

void RunController::setGraph(GraphController* g) {
  if (graph_ == g) return;
  if (graph_) disconnect(graph_, nullptr, this, nullptr);
  graph_ = g;
  if (graph_) {
    connect(graph_, &GraphController::graphEdited, this, [this] {
      if (live_ && !rerolling_) debounce_.start();
    });
    connect(graph_, &GraphController::documentReplaced, this, [this] {
      {
        QMutexLocker lock(&mutex_);  // not held while emitting: views read values back
        outputs_.clear();
        previews_.clear();
      }
      curves_.clear();
      ++revision_;
      emit outputsChanged();
    });
  }
  emit graphChanged();
}

void RunController::setLiveMode(bool on) {
  if (live_ == on) return;
  live_ = on;
  emit liveModeChanged();
  if (on) debounce_.start();
}

QString RunController::outDir() const {
  if (!out_dir_.isEmpty()) return out_dir_;
  return (graph_ ? graph_->graphDir() : QDir::currentPath()) + "/out";
}

void RunController::setOutDir(const QString& d) {
  out_dir_ = d;
  emit outDirChanged();
}

void RunController::append(const QString& line) {
  log_.append(QDateTime::currentDateTime().toString("HH:mm:ss  ") + line);
  while (log_.size() > 2000) log_.removeFirst();
  emit logChanged();
}

void RunController::clearLog() {
  log_.clear();
  emit logChanged();
}

void RunController::run() { runTo({}); }

void RunController::runSelected() {
  if (graph_ && !graph_->selection().isEmpty()) runTo(graph_->selection());
}

void RunController::cancel() {
  if (!thread_) return;
  cancel_->cancel();
  append(tr("cancelling..."));
}

void RunController::runTo(const QStringList& targets) { start(targets, true); }

void RunController::start(const QStringList& targets, bool rerollSeeds) {
  if (!graph_ || thread_) return;
  if (rerollSeeds) {
    // Seeds marked "re-roll each run" (and not locked) get new values first, as one undo step.
    rerolling_ = true;
    const QStringList rolled = graph_->rerollSeeds();
    rerolling_ = false;
    for (const QString& r : rolled)
      append(tr("seed %1 = %2").arg(r, graph_->paramValue(r.section('.', 0, -2), r.section('.', -1)).toString()));
  }
  RunOptions opt;
  for (const QString& t : targets) opt.targets.push_back(t.toStdString());
  opt.graph_dir = graph_->graphDir().toStdString();
  opt.out_dir = outDir().toStdString();
  cancel_ = std::make_unique<CancelToken>();
  opt.cancel = cancel_.get();
  opt.previews = true;  // intermediate values (training snapshots) for the live previews
  // For each node and value type: the output port a preview of that type stands in for.
  auto previewPorts = std::make_shared<std::map<std::string, std::map<PortType, std::string>>>();
  for (const NodeInstance& n : graph_->document().graph.nodes)
    if (const NodeSpec* spec = graph_->registry().find(n.type))
      for (const PortSpec& o : spec->outputs) (*previewPorts)[n.id].emplace(o.type, o.name);
  opt.on_event = [this, previewPorts](const Event& e) {
    // Worker thread: outputs are read here (the evaluator is not touched by the GUI thread).
    if (e.kind == EventKind::Preview) {
      // Not forwarded event by event: the latest value per node is kept and the GUI notified once.
      std::string port = "preview";
      if (auto n = previewPorts->find(e.node); n != previewPorts->end() && e.value)
        if (auto p = n->second.find(e.value->type()); p != n->second.end()) port = p->second;
      offerPreview(e, port);
      return;
    }
    if (e.kind == EventKind::NodeStarted) {
      QMutexLocker lock(&mutex_);
      previews_.erase(e.node);  // a preview from an earlier run does not stand in for this one
    }
    if (e.kind == EventKind::NodeDone || e.kind == EventKind::NodeCached) store(e.node, evaluator_->outputs(e.node));
    QMetaObject::invokeMethod(
        this, [this, e] { handle(e); }, Qt::QueuedConnection);
  };
  graph_->clearRunStates();
  // Everything a run will consider shows as queued until its event arrives.
  for (const NodeInstance& n : graph_->document().graph.nodes)
    if (!n.bypass) graph_->setRunState(qs(n.id), {"queued", 0, {}, 0});
  const Graph graph = graph_->document().graph;
  status_.clear();
  elapsed_ = 0;
  append(targets.isEmpty() ? tr("run") : tr("run to %1").arg(targets.join(", ")));
  thread_ = QThread::create([this, graph, opt] {
    RunResult r;
    try {
      r = evaluator_->run(graph, opt);
    } catch (const std::exception& e) {
      r.ok = false;
      r.problems.push_back({"", "", "", e.what()});
    }
    QMetaObject::invokeMethod(
        this,
        [this, r] {
          for (const Problem& p : r.problems) {
            append(tr("error: %1").arg(qs(p.to_string())));
            if (!p.node.empty()) graph_->setRunState(qs(p.node), {"failed", 0, qs(p.message), 0});
          }
          // Nodes the run did not reach lose the "queued" mark.
          for (const NodeInstance& n : graph_->document().graph.nodes)
            if (const NodeRunState* s = graph_->runState(n.id); s && s->state == "queued")
              graph_->setRunState(qs(n.id), {});
          status_ = r.cancelled ? "cancelled" : r.ok ? "ok" : "failed";
          elapsed_ = r.seconds;
          append(tr("run %1 in %2 s").arg(status_).arg(r.seconds, 0, 'f', 2));
          thread_->wait();
          thread_->deleteLater();
          thread_ = nullptr;
          emit runningChanged();
          emit finished(status_);
          if (rerun_) {
            rerun_ = false;
            debounce_.start();
          }
        },
        Qt::QueuedConnection);
  });
  emit runningChanged();
  thread_->start();
}

bool RunController::wait(int ms) {
  QElapsedTimer t;
  t.start();
  while ((running() || debounce_.isActive()) && t.elapsed() < ms)
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20), QThread::msleep(5);
  QCoreApplication::processEvents();
  return !running();
}

void RunController::store(const std::string& node, std::map<std::string, Value> outputs) {
  QMutexLocker lock(&mutex_);
  outputs_[node] = std::move(outputs);
}

void RunController::offerPreview(const Event& e, const std::string& port) {
  bool notify = false;
  {
    QMutexLocker lock(&mutex_);  // held only to swap a shared pointer: the worker never waits on the GUI
    previews_[e.node] = {e.value, port, e.message, e.data};
    notify = preview_pending_.insert(e.node).second;
  }
  if (notify) {
    const std::string node = e.node;
    QMetaObject::invokeMethod(
        this, [this, node] { previewArrived(node); }, Qt::QueuedConnection);
  }
}

void RunController::previewArrived(const std::string& node) {
  bool present = false;
  {
    QMutexLocker lock(&mutex_);
    preview_pending_.erase(node);
    present = previews_.count(node) > 0;
  }
  if (!present) return;  // the node was restarted or the document replaced meanwhile
  ++previews_received_;
  ++revision_;
  emit outputsChanged();  // views re-read (and re-render) first
  emit previewChanged(qs(node));
}

QVariantMap RunController::preview(const QString& node) const {
  QVariantMap m;
  QMutexLocker lock(&mutex_);
  auto it = previews_.find(node.toStdString());
  if (it == previews_.end()) return m;
  if (it->second.data.is_object())
    for (auto d = it->second.data.begin(); d != it->second.data.end(); ++d) m[qs(d.key())] = toVariant(d.value());
  m["label"] = qs(it->second.label);
  m["port"] = qs(it->second.port);
  return m;
}

void RunController::handle(const Event& e) {
  const QString id = qs(e.node);
  if (e.kind == EventKind::NodeDone || e.kind == EventKind::NodeCached || e.kind == EventKind::NodeFailed ||
      e.kind == EventKind::NodeSkipped) {
    // The node is over: its outputs (or nothing) replace the live preview. Dropped here, on the GUI
    // thread, so every preview notification queued before this event still finds its value.
    bool dropped = false;
    {
      QMutexLocker lock(&mutex_);
      dropped = previews_.erase(e.node) > 0;
    }
    if (dropped && (e.kind == EventKind::NodeFailed || e.kind == EventKind::NodeSkipped)) {
      ++revision_;  // the views drop the snapshot (done/cached bump the revision below)
      emit outputsChanged();
    }
  }
  NodeRunState s;
  if (const NodeRunState* old = graph_->runState(e.node)) s = *old;
  switch (e.kind) {
    case EventKind::NodeStarted:
      s = {"running", 0, {}, 0};
      curves_.erase(e.node);
      break;
    case EventKind::Progress: {
      s.state = "running";
      s.progress = e.fraction;
      s.message = qs(e.message);
      if (!e.data.empty() && e.data.is_object()) {
        QVariantMap point;
        for (auto it = e.data.begin(); it != e.data.end(); ++it) point[qs(it.key())] = toVariant(it.value());
        curves_[e.node].push_back(point);
        emit curveChanged(id);
      }
      break;
    }
    case EventKind::NodeDone:
    case EventKind::NodeCached: {
      s.state = e.kind == EventKind::NodeDone ? "done" : "cached";
      s.progress = 1;
      s.seconds = e.seconds;
      s.message.clear();
      QStringList parts;
      for (auto it = e.data.begin(); it != e.data.end(); ++it) {
        const auto& v = it.value();
        if (v.is_object() && v.contains("shape")) parts << qs(it.key() + " " + v["shape"].dump());
        else if (v.is_object() && v.contains("gaussians"))
          parts << qs(it.key()) + " " + QString::number(v["gaussians"].get<long long>()) + " gaussians";
      }
      graph_->setNodeSummary(id, parts.join("  "));
      append(tr("%1 %2 (%3 s)").arg(id, s.state).arg(e.seconds, 0, 'f', 2));
      ++revision_;
      emit outputsChanged();
      break;
    }
    case EventKind::NodeFailed:
      s.state = "failed";
      s.message = e.param.empty() ? qs(e.message) : tr("parameter '%1': %2").arg(qs(e.param), qs(e.message));
      s.seconds = e.seconds;
      append(tr("error: node '%1': %2").arg(id, s.message));
      break;
    case EventKind::NodeSkipped:
      s.state = "skipped";
      s.message = qs(e.message);
      break;
    case EventKind::Warning:
      append(tr("warning: %1%2").arg(id.isEmpty() ? QString() : id + ": ", qs(e.message)));
      return;
    case EventKind::RunStarted: append(tr("device %1").arg(qs(e.data.value("device", std::string("cpu"))))); return;
    case EventKind::RunFinished:
    case EventKind::Preview: return;
  }
  if (!id.isEmpty()) graph_->setRunState(id, s);
}

QVariantList RunController::curve(const QString& node) const {
  auto it = curves_.find(node.toStdString());
  return it == curves_.end() ? QVariantList{} : it->second;
}

Value RunController::value(const QString& node, const QString& port) const {
  QMutexLocker lock(&mutex_);
  if (auto pv = previews_.find(node.toStdString());
      pv != previews_.end() && (port.isEmpty() || port.toStdString() == pv->second.port))
    return pv->second.value;
  auto it = outputs_.find(node.toStdString());
  if (it == outputs_.end() || it->second.empty()) return nullptr;
  if (port.isEmpty()) return it->second.begin()->second;
  auto p = it->second.find(port.toStdString());
  return p == it->second.end() ? nullptr : p->second;
}

struct RunController::DecodedVideo {
  VideoFrames frames;
  QString error;
  QDateTime modified;
  qint64 size = 0;
};

QVariantMap RunController::outputInfo(const QString& node, const QString& port) const {
  QVariantMap m;
  QVariantList ports;
  {
    QMutexLocker lock(&mutex_);
    std::map<std::string, Value> shown;
    if (auto it = outputs_.find(node.toStdString()); it != outputs_.end()) shown = it->second;
    if (auto pv = previews_.find(node.toStdString()); pv != previews_.end()) {
      shown[pv->second.port] = pv->second.value;  // the live preview stands in for that output
      m["preview"] = qs(pv->second.label);
    }
    for (const auto& [name, v] : shown)
      ports.push_back(
          QVariantMap{{"name", qs(name)}, {"type", qs(std::string(to_string(v->type())))}, {"kind", kindOf(v)}});
  }
  m["ports"] = ports;
  QString p = port;
  if (p.isEmpty() && !ports.isEmpty()) {
    // Prefer something visual: images and frames, then splat scenes, then the first port.
    p = ports.first().toMap()["name"].toString();
    int best = 0;
    for (const QVariant& x : ports) {
      const QString kind = x.toMap()["kind"].toString();
      const int rank = kind == "image" || kind == "frames" ? 2 : kind == "splat" ? 1 : 0;
      if (rank > best) best = rank, p = x.toMap()["name"].toString();
    }
  }
  const Value v = value(node, p);
  m["port"] = p;
  m["kind"] = kindOf(v);
  if (!v) return m;
  m["summary"] = qs(v->summary().dump());
  if (auto* img = dynamic_cast<const ImageValue*>(v.get())) {
    m["width"] = img->width();
    m["height"] = img->height();
    m["frames"] = 1;
    m["channels"] = img->channels();
  } else if (auto* mask = dynamic_cast<const MaskValue*>(v.get())) {
    m["width"] = int(mask->mask.size(1));
    m["height"] = int(mask->mask.size(0));
    m["frames"] = 1;
    m["channels"] = 1;
  } else if (auto* seq = dynamic_cast<const FrameSequenceValue*>(v.get())) {
    m["frames"] = seq->count();
    m["fps"] = seq->fps;
    if (seq->count()) {
      m["width"] = int(seq->frames.size(2));
      m["height"] = int(seq->frames.size(1));
      m["channels"] = int(seq->frames.size(3));
    }
  } else if (auto* text = dynamic_cast<const TextValue*>(v.get())) {
    m["text"] = qs(text->text);
  } else if (auto* rec = dynamic_cast<const RecordValue*>(v.get())) {
    m["text"] = qs(rec->record.dump(2));
    if (rec->record.is_object() && rec->record.contains("file") && rec->record["file"].is_string()) {
      static const QStringList videoSuffixes{"mp4", "mkv", "mov", "avi", "webm", "m4v"};
      const QString file = qs(rec->record["file"].get<std::string>());
      if (videoSuffixes.contains(QFileInfo(file).suffix().toLower())) {
        m["file"] = file;
        const auto decoded = video(file);
        if (decoded && decoded->error.isEmpty()) {
          m["kind"] = "video";
          m["frames"] = decoded->frames.count();
          m["fps"] = decoded->frames.fps();
          m["width"] = decoded->frames.frame(0).width();
          m["height"] = decoded->frames.frame(0).height();
          m["channels"] = 3;
          m["truncated"] = decoded->frames.truncated();
        } else if (decoded) {
          m["videoError"] = decoded->error;
          m["text"] = tr("Cannot preview the video: %1").arg(decoded->error) + "\n\n" + m["text"].toString();
        }
      }
    }
  } else if (auto* splat = dynamic_cast<const SplatSceneValue*>(v.get())) {
    m["gaussians"] = splat->count();
    m["text"] = qs(v->summary().dump(2));
  } else {
    m["text"] = qs(v->summary().dump(2));
  }
  return m;
}

SceneOverlays RunController::overlaysFor(const QString& sceneNode) const {
  // Downstream of the scene (two links deep), plus what feeds those nodes (a placer wired into
  // camera.path or shot.render but not to the scene itself).
  SceneOverlays o;
  if (!graph_) return o;
  const Graph& g = graph_->document().graph;
  std::vector<std::string> frontier{sceneNode.toStdString()}, downstream;
  std::set<std::string> seen{sceneNode.toStdString()};
  for (int depth = 0; depth < 2; ++depth) {
    std::vector<std::string> next;
    for (const std::string& from : frontier)
      for (const Link& l : g.links)
        if (l.from.node == from && seen.insert(l.to.node).second) next.push_back(l.to.node);
    downstream.insert(downstream.end(), next.begin(), next.end());
    frontier = next;
  }
  std::vector<std::string> feeders;
  for (const std::string& id : downstream)
    for (const Link& l : g.links)
      if (l.to.node == id && seen.insert(l.from.node).second) feeders.push_back(l.from.node);
  QMutexLocker lock(&mutex_);
  // What each node's spec declares (PortSpec::overlay), read from its outputs of the last run.
  auto look = [&](const std::string& id, bool paths) {
    auto it = outputs_.find(id);
    const NodeInstance* node = g.node(id);
    const NodeSpec* spec = node ? registry_->find(node->type) : nullptr;
    if (it == outputs_.end() || !spec) return;
    for (const auto& [name, v] : it->second) {
      const PortSpec* port = spec->output(name);
      if (!port || port->overlay.empty()) continue;
      if (port->overlay.kind == "camera_path") {
        const auto* path = dynamic_cast<const CameraPathValue*>(v.get());
        if (paths && path && o.path.empty() && !path->cameras.empty()) {
          o.path = path->cameras;
          o.pathNode = qs(id);
        }
      } else if (port->overlay.kind == "billboards") {
        const auto* rec = dynamic_cast<const RecordValue*>(v.get());
        if (rec && rec->record.is_object() && rec->record.contains("billboards") &&
            rec->record["billboards"].is_array() && it->second.count(port->overlay.images) &&
            rec->record["billboards"].size() > o.billboards.size()) {
          o.billboards = rec->record["billboards"];
          o.billboardNode = qs(id);
          o.billboardImages = qs(port->overlay.images);
        }
      }
    }
  };
  for (const std::string& id : downstream) look(id, true);
  for (const std::string& id : feeders) look(id, false);
  return o;
}

QVariantList RunController::frameSeriesOf(const nlohmann::json& record) {
  QVariantList out;
  std::function<void(const nlohmann::json&, const std::string&)> walk = [&](const nlohmann::json& j,
                                                                            const std::string& path) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) walk(it.value(), path.empty() ? it.key() : path + "." + it.key());
    } else if (j.is_array() && j.size() >= 2) {
      QVariantList values;
      bool numeric = true;
      int finite = 0;
      for (const auto& x : j) {
        if (x.is_number()) values << x.get<double>(), ++finite;
        else if (x.is_null()) values << std::numeric_limits<double>::quiet_NaN();
        else numeric = false;
      }
      if (!numeric || !finite) return;
      std::string name = path;
      const std::string suffix = ".per_frame";
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        name.resize(name.size() - suffix.size());
      out.push_back(QVariantMap{{"name", qs(name)}, {"values", values}});
    }
  };
  walk(record, "");
  return out;
}

QVariantList RunController::frameSeries(const QString& node, const QString& port) const {
  const Value v = value(node, port.isEmpty() ? outputInfo(node)["port"].toString() : port);
  auto* rec = dynamic_cast<const RecordValue*>(v.get());
  return rec ? frameSeriesOf(rec->record) : QVariantList{};
}

std::shared_ptr<const RunController::DecodedVideo> RunController::video(const QString& file) const {
  const QFileInfo info(QDir(outDir()).absoluteFilePath(file));
  auto it = videos_.find(info.absoluteFilePath());
  if (it != videos_.end() && it->second->modified == info.lastModified() && it->second->size == info.size())
    return it->second;
  auto d = std::make_shared<DecodedVideo>();
  d->modified = info.lastModified();
  d->size = info.size();
  if (!info.exists()) d->error = tr("%1 does not exist").arg(info.absoluteFilePath());
  else d->frames.open(info.absoluteFilePath(), &d->error);
  if (videos_.size() > 4) videos_.clear();  // a few clips at most (they are decoded in full)
  videos_[info.absoluteFilePath()] = d;
  return d;
}

QImage RunController::image(const QString& node, const QString& port, int frame) const {
  const Value v = value(node, port);
  if (!v) return {};
  if (auto* rec = dynamic_cast<const RecordValue*>(v.get());
      rec && rec->record.is_object() && rec->record.contains("file") && rec->record["file"].is_string()) {
    const auto decoded = video(qs(rec->record["file"].get<std::string>()));
    return decoded && decoded->error.isEmpty() ? decoded->frames.frame(frame) : QImage();
  }
  if (auto* img = dynamic_cast<const ImageValue*>(v.get())) return toImage(img->pixels);
  if (auto* mask = dynamic_cast<const MaskValue*>(v.get())) return toImage(mask->mask);
  if (auto* seq = dynamic_cast<const FrameSequenceValue*>(v.get())) {
    if (!seq->count()) return {};
    return toImage(seq->frames[std::clamp(frame, 0, seq->count() - 1)]);
  }
  return {};
}

}  // namespace camgraph::ui
