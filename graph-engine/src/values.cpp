#include "camgraph/values.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <stdexcept>

namespace camgraph {

const char* to_string(DeviceKind d) {
  switch (d) {
    case DeviceKind::Auto: return "auto";
    case DeviceKind::Cpu: return "cpu";
    case DeviceKind::Cuda: return "cuda";
  }
  return "?";
}

bool parse_device(const std::string& s, DeviceKind& out) {
  if (s == "auto") out = DeviceKind::Auto;
  else if (s == "cpu") out = DeviceKind::Cpu;
  else if (s == "cuda") out = DeviceKind::Cuda;
  else return false;
  return true;
}

bool cuda_available() { return torch::cuda::is_available(); }

c10::Device to_torch_device(DeviceKind d) {
  return d == DeviceKind::Cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
}

const char* to_string(ColourSpace c) { return c == ColourSpace::Linear ? "linear" : "srgb"; }

ColourSpace colour_space_from_string(const std::string& s) {
  if (s == "srgb") return ColourSpace::SRGB;
  if (s == "linear") return ColourSpace::Linear;
  throw std::runtime_error("unknown colour space '" + s + "'");
}

namespace {
std::size_t tensor_bytes(const at::Tensor& t) { return t.defined() ? std::size_t(t.numel()) * t.element_size() : 0; }
nlohmann::json shape_of(const at::Tensor& t) {
  return t.defined() ? nlohmann::json(t.sizes().vec()) : nlohmann::json(nullptr);
}
nlohmann::json cameras_json(const std::vector<Camera>& cams) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& c : cams) a.push_back(c.to_json());
  return a;
}
std::vector<Camera> cameras_from(const nlohmann::json& a) {
  std::vector<Camera> out;
  if (a.is_array())
    for (const auto& c : a) out.push_back(Camera::from_json(c));
  return out;
}
const at::Tensor& need(const ValueArchive& a, const std::string& name) {
  auto it = a.tensors.find(name);
  if (it == a.tensors.end()) throw std::runtime_error("value archive lacks tensor '" + name + "'");
  return it->second;
}
at::Tensor maybe(const ValueArchive& a, const std::string& name) {
  auto it = a.tensors.find(name);
  return it == a.tensors.end() ? at::Tensor() : it->second;
}
}  // namespace

// Image ------------------------------------------------------------------------------------
std::size_t ImageValue::byte_size() const { return tensor_bytes(pixels); }
nlohmann::json ImageValue::summary() const {
  return {{"type", "Image"}, {"shape", shape_of(pixels)}, {"colour_space", to_string(colour_space)}};
}
void ImageValue::save(ValueArchive& a) const {
  a.tensors["pixels"] = pixels;
  a.meta["colour_space"] = to_string(colour_space);
}

// Mask -------------------------------------------------------------------------------------
std::size_t MaskValue::byte_size() const { return tensor_bytes(mask); }
nlohmann::json MaskValue::summary() const { return {{"type", "Mask"}, {"shape", shape_of(mask)}}; }
void MaskValue::save(ValueArchive& a) const { a.tensors["mask"] = mask; }

// FrameSequence ----------------------------------------------------------------------------
std::size_t FrameSequenceValue::byte_size() const {
  return tensor_bytes(frames) + tensor_bytes(depth) + tensor_bytes(points) + tensor_bytes(point_colours);
}
nlohmann::json FrameSequenceValue::summary() const {
  nlohmann::json s = {{"type", "FrameSequence"},
                      {"shape", shape_of(frames)},
                      {"fps", fps},
                      {"cameras", cameras.size()},
                      {"has_depth", depth.defined()}};
  if (points.defined()) s["points"] = points.size(0);
  if (!timestamps.empty()) s["timestamps"] = {timestamps.front(), timestamps.back()};
  return s;
}
void FrameSequenceValue::save(ValueArchive& a) const {
  a.tensors["frames"] = frames;
  if (depth.defined()) a.tensors["depth"] = depth;
  if (points.defined()) a.tensors["points"] = points;
  if (point_colours.defined()) a.tensors["point_colours"] = point_colours;
  a.meta["fps"] = fps;
  a.meta["cameras"] = cameras_json(cameras);
  a.meta["colour_space"] = to_string(colour_space);
  if (!timestamps.empty()) a.meta["timestamps"] = timestamps;
}

// SplatScene -------------------------------------------------------------------------------
int SplatSceneValue::sh_degree() const {
  if (!sh.defined()) return 0;
  const int64_t k = sh.size(1);
  for (int d = 0; d <= 4; ++d)
    if ((d + 1) * (d + 1) == k) return d;
  return -1;
}
std::size_t SplatSceneValue::byte_size() const {
  return tensor_bytes(means) + tensor_bytes(log_scales) + tensor_bytes(quats) + tensor_bytes(opacity_logits) +
         tensor_bytes(sh);
}
nlohmann::json SplatSceneValue::summary() const {
  return {{"type", "SplatScene"},
          {"gaussians", count()},
          {"sh_degree", sh_degree()},
          {"training_cameras", training_cameras.size()}};
}
void SplatSceneValue::save(ValueArchive& a) const {
  a.tensors["means"] = means;
  a.tensors["log_scales"] = log_scales;
  a.tensors["quats"] = quats;
  a.tensors["opacity_logits"] = opacity_logits;
  a.tensors["sh"] = sh;
  a.meta["training_cameras"] = cameras_json(training_cameras);
  a.meta["info"] = info;
}

// Camera, CameraPath, Text, Record ---------------------------------------------------------
nlohmann::json CameraValue::summary() const { return {{"type", "Camera"}, {"camera", camera.to_json()}}; }
void CameraValue::save(ValueArchive& a) const { a.meta["camera"] = camera.to_json(); }

nlohmann::json CameraPathValue::summary() const {
  return {{"type", "CameraPath"}, {"frames", cameras.size()}, {"fps", fps}, {"motion", motion}};
}
void CameraPathValue::save(ValueArchive& a) const {
  a.meta["cameras"] = cameras_json(cameras);
  a.meta["fps"] = fps;
  a.meta["motion"] = motion;
}

nlohmann::json TextValue::summary() const {
  return {{"type", "Text"}, {"text", text.size() > 200 ? text.substr(0, 200) + "..." : text}};
}
void TextValue::save(ValueArchive& a) const { a.meta["text"] = text; }

nlohmann::json RecordValue::summary() const { return {{"type", "Record"}, {"keys", record.size()}}; }
void RecordValue::save(ValueArchive& a) const { a.meta["record"] = record; }

// ------------------------------------------------------------------------------------------
Value load_value(PortType type, const ValueArchive& a) {
  const auto& m = a.meta;
  switch (type) {
    case PortType::Image: {
      auto v = std::make_shared<ImageValue>();
      v->pixels = need(a, "pixels");
      v->colour_space = colour_space_from_string(m.value("colour_space", "srgb"));
      return v;
    }
    case PortType::Mask: {
      auto v = std::make_shared<MaskValue>();
      v->mask = need(a, "mask");
      return v;
    }
    case PortType::FrameSequence: {
      auto v = std::make_shared<FrameSequenceValue>();
      v->frames = need(a, "frames");
      v->depth = maybe(a, "depth");
      v->points = maybe(a, "points");
      v->point_colours = maybe(a, "point_colours");
      v->fps = m.value("fps", 24.0);
      v->cameras = cameras_from(m.value("cameras", nlohmann::json::array()));
      v->colour_space = colour_space_from_string(m.value("colour_space", "srgb"));
      if (m.contains("timestamps")) {
        const nlohmann::json& t = m["timestamps"];
        if (!t.is_array() || t.size() != size_t(v->count()))
          throw std::runtime_error("FrameSequence: timestamps must list one number per frame");
        for (const auto& x : t) {
          if (!x.is_number()) throw std::runtime_error("FrameSequence: a timestamp is not a number");
          v->timestamps.push_back(x.get<double>());
        }
      }
      return v;
    }
    case PortType::SplatScene: {
      auto v = std::make_shared<SplatSceneValue>();
      v->means = need(a, "means");
      v->log_scales = need(a, "log_scales");
      v->quats = need(a, "quats");
      v->opacity_logits = need(a, "opacity_logits");
      v->sh = need(a, "sh");
      v->training_cameras = cameras_from(m.value("training_cameras", nlohmann::json::array()));
      v->info = m.value("info", nlohmann::json::object());
      return v;
    }
    case PortType::Camera: {
      auto v = std::make_shared<CameraValue>();
      v->camera = Camera::from_json(m.at("camera"));
      return v;
    }
    case PortType::CameraPath: {
      auto v = std::make_shared<CameraPathValue>();
      v->cameras = cameras_from(m.at("cameras"));
      v->fps = m.value("fps", 24.0);
      v->motion = m.value("motion", nlohmann::json::array());
      return v;
    }
    case PortType::Text: {
      auto v = std::make_shared<TextValue>();
      v->text = m.at("text").get<std::string>();
      return v;
    }
    case PortType::Record: {
      auto v = std::make_shared<RecordValue>();
      v->record = m.at("record");
      return v;
    }
    case PortType::Any: break;
  }
  throw std::runtime_error("cannot load a value of type " + std::string(to_string(type)));
}

}  // namespace camgraph
