// Concrete wire values. Includes ATen: include this only from node code and the engine's
// value/cache sources, never from headers that everything includes.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <map>
#include <string>
#include <vector>

#include "camgraph/camera.h"
#include "camgraph/value.h"

namespace camgraph {

// Serialised form of a value: JSON metadata and named tensors (stored as safetensors).
struct ValueArchive {
  nlohmann::json meta = nlohmann::json::object();
  std::map<std::string, at::Tensor> tensors;
};

Value load_value(PortType type, const ValueArchive& archive);  // throws on a malformed archive

enum class ColourSpace { SRGB, Linear };
const char* to_string(ColourSpace c);
ColourSpace colour_space_from_string(const std::string& s);

struct ImageValue final : ValueBase {
  at::Tensor pixels;  // [H, W, C] float32 in [0, 1], C = 3 (RGB) or 4 (RGBA, straight alpha)
  ColourSpace colour_space = ColourSpace::SRGB;

  int height() const { return static_cast<int>(pixels.size(0)); }
  int width() const { return static_cast<int>(pixels.size(1)); }
  int channels() const { return static_cast<int>(pixels.size(2)); }
  bool has_alpha() const { return channels() == 4; }

  PortType type() const override { return PortType::Image; }
  std::size_t byte_size() const override;
  nlohmann::json summary() const override;
  void save(ValueArchive& a) const override;
};

struct MaskValue final : ValueBase {
  at::Tensor mask;  // [H, W] float32 in [0, 1]

  PortType type() const override { return PortType::Mask; }
  std::size_t byte_size() const override;
  nlohmann::json summary() const override;
  void save(ValueArchive& a) const override;
};

struct FrameSequenceValue final : ValueBase {
  at::Tensor frames;  // [N, H, W, C] float32 in [0, 1], C = 3 or 4
  at::Tensor depth;   // [N, H, W] float32, optional (undefined when absent)
  double fps = 24.0;
  std::vector<Camera> cameras;  // empty, or one per frame
  ColourSpace colour_space = ColourSpace::SRGB;
  // Sparse 3D points seen by the frames (structure from motion), in the cameras' world
  // coordinates; optional (undefined when absent). The splat trainer initialises from them.
  at::Tensor points;         // [P, 3] float32
  at::Tensor point_colours;  // [P, 3] float32 RGB in [0, 1] (undefined, or one per point)
  // Each frame's time in seconds from the start of the clip it was read from (frames.load of a
  // video); empty when the frames do not come from a clip.
  std::vector<double> timestamps;

  int count() const { return frames.defined() ? static_cast<int>(frames.size(0)) : 0; }
  PortType type() const override { return PortType::FrameSequence; }
  std::size_t byte_size() const override;
  nlohmann::json summary() const override;
  void save(ValueArchive& a) const override;
};

// 3D Gaussians in the storage convention of the standard 3DGS PLY.
struct SplatSceneValue final : ValueBase {
  at::Tensor means;                      // [N, 3] world positions
  at::Tensor log_scales;                 // [N, 3] log of per-axis standard deviations
  at::Tensor quats;                      // [N, 4] rotation quaternions (w, x, y, z), not necessarily unit
  at::Tensor opacity_logits;             // [N] logit of opacity
  at::Tensor sh;                         // [N, K, 3] SH coefficients, K = (degree + 1)^2; sh[:, 0] is the DC term
  std::vector<Camera> training_cameras;  // may be empty
  nlohmann::json info = nlohmann::json::object();  // provenance, scene extent, etc.

  int count() const { return means.defined() ? static_cast<int>(means.size(0)) : 0; }
  int sh_degree() const;
  PortType type() const override { return PortType::SplatScene; }
  std::size_t byte_size() const override;
  nlohmann::json summary() const override;
  void save(ValueArchive& a) const override;
};

struct CameraValue final : ValueBase {
  Camera camera;
  PortType type() const override { return PortType::Camera; }
  std::size_t byte_size() const override { return sizeof(Camera); }
  nlohmann::json summary() const override;
  void save(ValueArchive& a) const override;
};

struct CameraPathValue final : ValueBase {
  std::vector<Camera> cameras;  // one per frame
  double fps = 24.0;
  nlohmann::json motion = nlohmann::json::array();  // structured motion description

  PortType type() const override { return PortType::CameraPath; }
  std::size_t byte_size() const override { return cameras.size() * sizeof(Camera); }
  nlohmann::json summary() const override;
  void save(ValueArchive& a) const override;
};

struct TextValue final : ValueBase {
  std::string text;
  PortType type() const override { return PortType::Text; }
  std::size_t byte_size() const override { return text.size(); }
  nlohmann::json summary() const override;
  void save(ValueArchive& a) const override;
};

struct RecordValue final : ValueBase {
  nlohmann::json record = nlohmann::json::object();
  PortType type() const override { return PortType::Record; }
  std::size_t byte_size() const override { return record.dump().size(); }
  nlohmann::json summary() const override;
  void save(ValueArchive& a) const override;
};

c10::Device to_torch_device(DeviceKind d);  // Auto is resolved by the engine before nodes run
bool cuda_available();

}  // namespace camgraph
