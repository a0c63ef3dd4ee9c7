// render(): the three ops as torch autograd functions, chained.
#include "splat/raster/render.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "camgraph/camera.h"
#include "splat/raster/ops.h"

namespace camgraph::splat {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::Variable;
using torch::autograd::variable_list;

// Plain structs travel through the autograd context as byte tensors.
template <typename T>
at::Tensor pack(const T& v) {
  auto t = at::empty({(int64_t)sizeof(T)}, at::kByte);
  std::memcpy(t.data_ptr(), &v, sizeof(T));
  return t;
}
template <typename T>
T unpack(const at::IValue& v) {
  T out;
  std::memcpy(&out, v.toTensor().data_ptr(), sizeof(T));
  return out;
}

struct ProjectFn : public torch::autograd::Function<ProjectFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& means, const at::Tensor& log_scales,
                               const at::Tensor& quats, CamParams cam) {
    ProjectOutput o = project_fwd(cam, means, log_scales, quats);
    ctx->save_for_backward({means, log_scales, quats, o.conics, o.radii});
    ctx->saved_data["cam"] = pack(cam);
    ctx->mark_non_differentiable({o.radii});
    return {o.means2d, o.depths, o.conics, o.radii};
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    const auto s = ctx->get_saved_variables();
    auto [v_means, v_scales, v_quats] = project_bwd(unpack<CamParams>(ctx->saved_data["cam"]), s[0], s[1], s[2], s[3],
                                                    s[4], g[0], g[1], g[2]);
    return {v_means, v_scales, v_quats, Variable()};
  }
};

struct ShFn : public torch::autograd::Function<ShFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& means, const at::Tensor& coeffs, int degree,
                               V3 campos) {
    at::Tensor colors = sh_fwd(degree, campos, means, coeffs);
    ctx->save_for_backward({means, coeffs, colors});
    ctx->saved_data["degree"] = degree;
    ctx->saved_data["campos"] = pack(campos);
    return {colors};
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    const auto s = ctx->get_saved_variables();
    auto [v_means, v_coeffs] = sh_bwd((int)ctx->saved_data["degree"].toInt(), unpack<V3>(ctx->saved_data["campos"]),
                                      s[0], s[1], s[2], g[0]);
    return {v_means, v_coeffs, Variable(), Variable()};
  }
};

struct RasterSettings {
  float background[3];
  int width, height;
};

RasterInputs raster_inputs(const at::Tensor& means2d, const at::Tensor& conics, const at::Tensor& colors,
                           const at::Tensor& opacities, const at::Tensor& depths, const at::Tensor& radii,
                           const RasterSettings& rs) {
  RasterInputs in{means2d, conics, colors, opacities, depths, radii};
  in.background = {rs.background[0], rs.background[1], rs.background[2]};
  in.width = rs.width;
  in.height = rs.height;
  return in;
}

struct RasterFn : public torch::autograd::Function<RasterFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& means2d, const at::Tensor& conics,
                               const at::Tensor& colors, const at::Tensor& opacities, const at::Tensor& depths,
                               const at::Tensor& radii, RasterSettings rs) {
    RasterOutput o = rasterize_fwd(raster_inputs(means2d, conics, colors, opacities, depths, radii, rs));
    ctx->save_for_backward({means2d, conics, colors, opacities, depths, radii, o.bins.tile_offsets, o.bins.gauss_ids,
                            o.depth, o.transmittance, o.last_ids});
    ctx->saved_data["settings"] = pack(rs);
    return {o.rgb, o.alpha, o.depth};
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    const auto s = ctx->get_saved_variables();
    const RasterInputs in = raster_inputs(s[0], s[1], s[2], s[3], s[4], s[5],
                                          unpack<RasterSettings>(ctx->saved_data["settings"]));
    RasterOutput fwd;
    fwd.bins = TileBins{s[6], s[7]};
    fwd.depth = s[8];
    fwd.transmittance = s[9];
    fwd.last_ids = s[10];
    RasterGrads r = rasterize_bwd(in, fwd, g[0], g[1], g[2]);
    return {r.v_means2d, r.v_conics, r.v_colors, r.v_opacities, r.v_depths, Variable(), Variable()};
  }
};

}  // namespace

RenderOutput render(const at::Tensor& means, const at::Tensor& log_scales, const at::Tensor& quats,
                    const at::Tensor& opacity_logits, const at::Tensor& sh, const RenderCamera& camera,
                    const RenderSettings& settings) {
  TORCH_CHECK(means.defined() && means.dim() == 2, "splat render: means must be [N, 3]");
  const int64_t n = means.size(0);
  TORCH_CHECK(opacity_logits.defined() && opacity_logits.numel() == n, "splat render: opacity_logits must have ", n,
              " values, got shape ", opacity_logits.sizes());
  TORCH_CHECK(sh.defined() && sh.dim() == 3, "splat render: sh must be [N, K, 3]");
  const CamParams cam = make_cam_params(camera.viewmat, camera.fx, camera.fy, camera.cx, camera.cy, camera.width,
                                        camera.height, settings.eps2d, settings.near_plane, settings.far_plane);

  const auto proj = ProjectFn::apply(means, log_scales, quats, cam);
  const at::Tensor& means2d = proj[0];
  const at::Tensor& radii = proj[3];
  const at::Tensor colors = ShFn::apply(means, sh, settings.sh_degree, cam_position(cam))[0];
  const at::Tensor opacities = at::sigmoid(opacity_logits.reshape({n}));
  RasterSettings rs{
      {settings.background[0], settings.background[1], settings.background[2]}, camera.width, camera.height};
  const auto img = RasterFn::apply(means2d, proj[2], colors, opacities, proj[1], radii, rs);

  RenderOutput out{img[0], img[1], img[2], means2d, radii};
  if (out.means2d.requires_grad()) out.means2d.retain_grad();
  return out;
}

namespace {
std::atomic<int> g_cpu_threads{0};  // 0: default
}

void set_cpu_threads(int n) { g_cpu_threads = std::max(0, n); }

int cpu_threads() {
  const int n = g_cpu_threads.load();
  return n > 0 ? n : std::max(1, (int)std::thread::hardware_concurrency());
}

RenderCamera to_render_camera(const camgraph::Camera& camera) {
  RenderCamera rc;
  rc.width = camera.width;
  rc.height = camera.height;
  rc.fx = (float)camera.fx;
  rc.fy = (float)camera.fy;
  rc.cx = (float)camera.cx;
  rc.cy = (float)camera.cy;
  rc.viewmat = at::empty({4, 4}, at::kFloat);
  float* m = rc.viewmat.data_ptr<float>();
  for (int i = 0; i < 16; ++i) m[i] = (float)camera.world_to_camera[i];
  return rc;
}

}  // namespace camgraph::splat
