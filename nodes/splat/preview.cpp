#include "preview.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "camgraph/preview.h"
#include "camgraph/spec.h"
#include "camgraph/values.h"
#include "splat/raster/render.h"

namespace camgraph::splat {
namespace {

// The scene's tensors on the render device (float32, contiguous), uploaded once.
class PreparedSplats final : public PreparedPreview {
 public:
  PreparedSplats(const SplatSceneValue& scene, DeviceKind device) : device_(device), sh_degree_(scene.sh_degree()) {
    const at::Device dev = device == DeviceKind::Cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
    auto f = [&](const at::Tensor& x) { return x.detach().to(dev, at::kFloat).contiguous(); };
    means_ = f(scene.means);
    log_scales_ = f(scene.log_scales);
    quats_ = f(scene.quats);
    opacity_logits_ = f(scene.opacity_logits);
    sh_ = f(scene.sh);
  }

  PreviewImage render(const PreviewRequest& request) override {
    const auto start = std::chrono::steady_clock::now();
    at::NoGradGuard no_grad;
    RenderSettings settings;
    settings.sh_degree = sh_degree_;
    settings.background = request.background;
    RenderCamera rc = to_render_camera(request.camera);
    rc.viewmat = rc.viewmat.to(means_.device());
    const RenderOutput out = splat::render(means_, log_scales_, quats_, opacity_logits_, sh_, rc, settings);
    const at::Tensor rgb = out.rgb.clamp(0, 1).mul(255).round().to(at::kByte);
    const at::Tensor rgba = at::cat({rgb, at::full_like(rgb.narrow(2, 0, 1), 255)}, 2).to(at::kCPU).contiguous();
    PreviewImage img;
    img.height = int(rgba.size(0));
    img.width = int(rgba.size(1));
    img.rgba.resize(size_t(img.width) * img.height * 4);
    std::memcpy(img.rgba.data(), rgba.data_ptr<uint8_t>(), img.rgba.size());
    img.device = device_;
    img.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return img;
  }

 private:
  DeviceKind device_;
  int sh_degree_;
  at::Tensor means_, log_scales_, quats_, opacity_logits_, sh_;
};

// The rasterizer's CUDA kernels are compiled in (CAMGRAPH_WITH_CUDA) and a device is present.
bool cuda_render_available() {
#ifdef CAMGRAPH_WITH_CUDA
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

std::unique_ptr<PreparedPreview> prepare(const Value& value, DeviceKind device) {
  const auto* scene = dynamic_cast<const SplatSceneValue*>(value.get());
  if (!scene) throw std::invalid_argument("splat preview: the value is not a SplatScene");
  if (device == DeviceKind::Auto) device = cuda_render_available() ? DeviceKind::Cuda : DeviceKind::Cpu;
  if (device == DeviceKind::Cuda && !cuda_render_available())
    throw std::runtime_error("splat preview: this build or machine has no CUDA rasterizer");
  return std::make_unique<PreparedSplats>(*scene, device);
}

}  // namespace

void register_splat_preview(Registry& registry) {
  registry.add_renderer(PortType::SplatScene, {"splat rasterizer", cuda_render_available, prepare});
}

}  // namespace camgraph::splat
