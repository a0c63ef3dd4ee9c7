// Checks and device dispatch for the ops in ops.h.
#include <ATen/ATen.h>

#include "splat/raster/backends.h"

namespace camgraph::splat {

namespace {

void check_float(const at::Tensor& t, const char* name, at::IntArrayRef shape_tail, const at::Device& dev) {
  TORCH_CHECK(t.defined(), "splat raster: ", name, " is undefined");
  TORCH_CHECK(t.scalar_type() == at::kFloat, "splat raster: ", name, " must be float32, got ", t.scalar_type());
  TORCH_CHECK(t.device() == dev, "splat raster: ", name, " is on ", t.device(), ", expected ", dev);
  TORCH_CHECK(t.dim() == (int64_t)shape_tail.size() + 1, "splat raster: ", name, " must have ", shape_tail.size() + 1,
              " dims, got shape ", t.sizes());
  for (size_t i = 0; i < shape_tail.size(); ++i)
    TORCH_CHECK(shape_tail[i] < 0 || t.size(i + 1) == shape_tail[i], "splat raster: ", name, " has shape ", t.sizes(),
                ", expected [N", shape_tail, "]");
}

void check_rows(const at::Tensor& t, const char* name, int64_t n) {
  TORCH_CHECK(t.size(0) == n, "splat raster: ", name, " has ", t.size(0), " rows, expected ", n);
}

void check_int_rows(const at::Tensor& t, const char* name, int64_t n, const at::Device& dev) {
  TORCH_CHECK(t.defined() && t.scalar_type() == at::kInt && t.dim() == 1 && t.size(0) == n && t.device() == dev,
              "splat raster: ", name, " must be int32 [", n, "] on ", dev);
}

at::Tensor c(const at::Tensor& t) { return t.contiguous(); }

// Whether to run on CUDA; a CUDA tensor in a build without CUDA is a clear error.
bool use_cuda(const at::Tensor& t) {
  if (t.is_cuda()) {
#ifdef CAMGRAPH_WITH_CUDA
    return true;
#else
    TORCH_CHECK(false,
                "splat raster: got a CUDA tensor, but this build of CamGraph has no CUDA kernels "
                "(nvcc was not found at configure time)");
#endif
  }
  TORCH_CHECK(t.is_cpu(), "splat raster: unsupported device ", t.device());
  return false;
}

#ifdef CAMGRAPH_WITH_CUDA
#define CG_DISPATCH(t, fn, ...) (use_cuda(t) ? fn##_cuda(__VA_ARGS__) : fn##_cpu(__VA_ARGS__))
#else
#define CG_DISPATCH(t, fn, ...) (use_cuda(t), fn##_cpu(__VA_ARGS__))
#endif

RasterInputs checked(const RasterInputs& in) {
  const auto dev = in.means2d.device();
  const int64_t n = in.means2d.size(0);
  check_float(in.means2d, "means2d", {2}, dev);
  check_float(in.conics, "conics", {3}, dev);
  check_float(in.colors, "colors", {3}, dev);
  check_float(in.opacities, "opacities", {}, dev);
  check_float(in.depths, "depths", {}, dev);
  check_rows(in.conics, "conics", n);
  check_rows(in.colors, "colors", n);
  check_rows(in.opacities, "opacities", n);
  check_rows(in.depths, "depths", n);
  check_int_rows(in.radii, "radii", n, dev);
  TORCH_CHECK(in.width > 0 && in.height > 0, "splat raster: image size must be positive, got ", in.width, "x",
              in.height);
  RasterInputs r = in;
  r.means2d = c(in.means2d);
  r.conics = c(in.conics);
  r.colors = c(in.colors);
  r.opacities = c(in.opacities);
  r.depths = c(in.depths);
  r.radii = c(in.radii);
  return r;
}

void check_image_grad(const at::Tensor& t, const char* name, const RasterInputs& in, int channels) {
  if (!t.defined()) return;
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.device() == in.means2d.device(), "splat raster: ", name,
              " must be float32 on ", in.means2d.device());
  TORCH_CHECK(t.numel() == (int64_t)in.width * in.height * channels, "splat raster: ", name, " has shape ", t.sizes(),
              ", expected ", in.height, "x", in.width, "x", channels);
}

}  // namespace

RasterOutput empty_raster_output(const RasterInputs& in) {
  const auto opts = in.means2d.options();
  RasterOutput o;
  o.rgb = at::empty({in.height, in.width, 3}, opts);
  o.alpha = at::empty({in.height, in.width}, opts);
  o.depth = at::empty({in.height, in.width}, opts);
  o.transmittance = at::empty({in.height, in.width}, opts);
  o.last_ids = at::empty({in.height, in.width}, opts.dtype(at::kInt));
  return o;
}

CamParams make_cam_params(const at::Tensor& viewmat, float fx, float fy, float cx, float cy, int width, int height,
                          float eps2d, float near_plane, float far_plane) {
  TORCH_CHECK(viewmat.defined() && viewmat.dim() == 2 && viewmat.size(0) == 4 && viewmat.size(1) == 4,
              "splat raster: viewmat must be [4, 4]");
  TORCH_CHECK(width > 0 && height > 0 && fx > 0 && fy > 0, "splat raster: bad camera (", width, "x", height, ", fx ",
              fx, ", fy ", fy, ")");
  TORCH_CHECK(near_plane > 0.f && far_plane > near_plane, "splat raster: need 0 < near_plane < far_plane, got ",
              near_plane, ", ", far_plane);
  const auto v = viewmat.detach().to(at::kCPU, at::kFloat).contiguous();
  const float* m = v.data_ptr<float>();
  CamParams cam{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) cam.R[3 * i + j] = m[4 * i + j];
    cam.t[i] = m[4 * i + 3];
  }
  cam.fx = fx;
  cam.fy = fy;
  cam.cx = cx;
  cam.cy = cy;
  cam.width = width;
  cam.height = height;
  cam.eps2d = eps2d;
  cam.near_plane = near_plane;
  cam.far_plane = far_plane;
  return cam;
}

ProjectOutput project_fwd(const CamParams& cam, const at::Tensor& means, const at::Tensor& log_scales,
                          const at::Tensor& quats) {
  const auto dev = means.device();
  check_float(means, "means", {3}, dev);
  check_float(log_scales, "log_scales", {3}, dev);
  check_float(quats, "quats", {4}, dev);
  check_rows(log_scales, "log_scales", means.size(0));
  check_rows(quats, "quats", means.size(0));
  return CG_DISPATCH(means, project_fwd, cam, c(means), c(log_scales), c(quats));
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> project_bwd(const CamParams& cam, const at::Tensor& means,
                                                           const at::Tensor& log_scales, const at::Tensor& quats,
                                                           const at::Tensor& conics, const at::Tensor& radii,
                                                           const at::Tensor& v_means2d, const at::Tensor& v_depths,
                                                           const at::Tensor& v_conics) {
  const auto dev = means.device();
  const int64_t n = means.size(0);
  check_float(v_means2d, "v_means2d", {2}, dev);
  check_float(v_depths, "v_depths", {}, dev);
  check_float(v_conics, "v_conics", {3}, dev);
  check_int_rows(radii, "radii", n, dev);
  return CG_DISPATCH(means, project_bwd, cam, c(means), c(log_scales), c(quats), c(conics), c(radii), c(v_means2d),
                     c(v_depths), c(v_conics));
}

namespace {
void check_sh(int degree, const at::Tensor& means, const at::Tensor& coeffs) {
  check_float(means, "means", {3}, means.device());
  check_float(coeffs, "sh", {-1, 3}, means.device());
  check_rows(coeffs, "sh", means.size(0));
  TORCH_CHECK(degree >= 0 && degree <= 3, "splat raster: sh degree must be 0..3, got ", degree);
  TORCH_CHECK(coeffs.size(1) >= sh_num_bases(degree), "splat raster: sh degree ", degree, " needs ",
              sh_num_bases(degree), " coefficients per colour, got ", coeffs.size(1));
}
}  // namespace

at::Tensor sh_fwd(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs) {
  check_sh(degree, means, coeffs);
  return CG_DISPATCH(means, sh_fwd, degree, campos, c(means), c(coeffs));
}

std::tuple<at::Tensor, at::Tensor> sh_bwd(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs,
                                          const at::Tensor& colors, const at::Tensor& v_colors) {
  check_sh(degree, means, coeffs);
  check_float(v_colors, "v_colors", {3}, means.device());
  return CG_DISPATCH(means, sh_bwd, degree, campos, c(means), c(coeffs), c(colors), c(v_colors));
}

TileBins bin_tiles(const RasterInputs& in) {
  const RasterInputs r = checked(in);
  return CG_DISPATCH(r.means2d, bin_tiles, r);
}

RasterOutput rasterize_fwd(const RasterInputs& in) {
  const RasterInputs r = checked(in);
  return CG_DISPATCH(r.means2d, rasterize_fwd, r);
}

RasterGrads rasterize_bwd(const RasterInputs& in, const RasterOutput& fwd, const at::Tensor& v_rgb,
                          const at::Tensor& v_alpha, const at::Tensor& v_depth) {
  const RasterInputs r = checked(in);
  TORCH_CHECK(v_rgb.defined(), "splat raster: v_rgb is undefined");
  check_image_grad(v_rgb, "v_rgb", r, 3);
  check_image_grad(v_alpha, "v_alpha", r, 1);
  check_image_grad(v_depth, "v_depth", r, 1);
  const int tiles = ((r.width + kTile - 1) / kTile) * ((r.height + kTile - 1) / kTile);
  TORCH_CHECK(fwd.bins.tile_offsets.defined() && fwd.bins.tile_offsets.numel() == tiles + 1,
              "splat raster: tile bins do not match the image size");
  const int64_t pixels = (int64_t)r.width * r.height;
  TORCH_CHECK(fwd.transmittance.numel() == pixels && fwd.last_ids.numel() == pixels && fwd.depth.numel() == pixels,
              "splat raster: forward state does not match the image size");
  auto opt = [](const at::Tensor& t) { return t.defined() ? t.contiguous() : t; };
  return CG_DISPATCH(r.means2d, rasterize_bwd, r, fwd, v_rgb.contiguous(), opt(v_alpha), opt(v_depth));
}

}  // namespace camgraph::splat
