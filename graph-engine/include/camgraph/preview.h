// Previews keyed by value type: a node family registers how the editor renders its values (a
// splat scene seen from a camera) in its register_<family>_nodes, with Registry::add_renderer;
// the editor asks the registry it was given (Registry::find_renderer) and so links no family.
// No torch here: images come back as 8-bit RGBA.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "camgraph/camera.h"
#include "camgraph/value.h"

namespace camgraph {

struct PreviewRequest {
  Camera camera;                                   // pose and intrinsics; the image is camera.width x camera.height
  std::array<float, 3> background{0.f, 0.f, 0.f};  // linear RGB in [0, 1]
};

// Row-major RGBA, width * height * 4 bytes, opaque where the renderer has a background.
struct PreviewImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgba;
  DeviceKind device = DeviceKind::Cpu;  // where it was rendered
  double ms = 0;                        // render time, the upload excluded
};

// One value made ready to render on one device (uploaded once, rendered for many cameras).
class PreparedPreview {
 public:
  virtual ~PreparedPreview() = default;
  // Throws on failure (e.g. out of device memory; the caller may prepare again on the CPU).
  virtual PreviewImage render(const PreviewRequest& request) = 0;
};

// How values of one type are rendered for the viewport.
struct ValueRenderer {
  std::string name;                      // for messages, e.g. "splat rasterizer"
  std::function<bool()> cuda_available;  // whether prepare(value, Cuda) can work in this process
  // Makes `value` ready on `device` (Cpu or Cuda); throws when it cannot (a value of another type).
  std::function<std::unique_ptr<PreparedPreview>(const Value& value, DeviceKind device)> prepare;
};

}  // namespace camgraph
