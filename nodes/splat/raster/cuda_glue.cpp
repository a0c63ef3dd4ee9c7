// Thin libtorch glue for the CUDA kernels: allocate outputs on the inputs' device, pass raw
// pointers, check the launch. Uses no ATen/cuda headers (it builds against a CPU-only libtorch)
// and runs everything on the default stream.
#ifdef CAMGRAPH_WITH_CUDA

#include <ATen/ATen.h>

#include "splat/raster/backends.h"
#include "splat/raster/cuda_kernels.h"

namespace camgraph::splat {

namespace {

void check(int error, const char* what) {
  TORCH_CHECK(error == 0, "splat raster: CUDA ", what, " failed: ", cuda::cuda_error_string(error));
}
const float* f(const at::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }
float* f(at::Tensor& t) { return t.data_ptr<float>(); }

cuda::RasterArgs raster_args(const RasterInputs& in, const TileBins& bins) {
  cuda::RasterArgs a{};
  a.width = in.width;
  a.height = in.height;
  a.tiles_x = (in.width + kTile - 1) / kTile;
  a.tiles_y = (in.height + kTile - 1) / kTile;
  for (int c = 0; c < 3; ++c) a.background[c] = in.background[c];
  a.tile_offsets = bins.tile_offsets.data_ptr<int>();
  a.gauss_ids = bins.gauss_ids.data_ptr<int>();
  a.means2d = f(in.means2d);
  a.conics = f(in.conics);
  a.colors = f(in.colors);
  a.opacities = f(in.opacities);
  a.depths = f(in.depths);
  return a;
}

}  // namespace

ProjectOutput project_fwd_cuda(const CamParams& cam, const at::Tensor& means, const at::Tensor& log_scales,
                               const at::Tensor& quats) {
  const int64_t n = means.size(0);
  const auto opts = means.options();
  ProjectOutput o{at::zeros({n, 2}, opts), at::zeros({n}, opts), at::zeros({n, 3}, opts),
                  at::zeros({n}, opts.dtype(at::kInt))};
  check(cuda::project_fwd(cam, (int)n, f(means), f(log_scales), f(quats), f(o.means2d), f(o.depths), f(o.conics),
                          o.radii.data_ptr<int>()),
        "projection");
  return o;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> project_bwd_cuda(const CamParams& cam, const at::Tensor& means,
                                                                const at::Tensor& log_scales, const at::Tensor& quats,
                                                                const at::Tensor& conics, const at::Tensor& radii,
                                                                const at::Tensor& v_means2d, const at::Tensor& v_depths,
                                                                const at::Tensor& v_conics) {
  auto v_means = at::zeros_like(means), v_scales = at::zeros_like(log_scales), v_quats = at::zeros_like(quats);
  check(cuda::project_bwd(cam, (int)means.size(0), f(means), f(log_scales), f(quats), f(conics), radii.data_ptr<int>(),
                          f(v_means2d), f(v_depths), f(v_conics), f(v_means), f(v_scales), f(v_quats)),
        "projection backward");
  return {v_means, v_scales, v_quats};
}

at::Tensor sh_fwd_cuda(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs) {
  auto colors = at::empty({means.size(0), 3}, means.options());
  check(cuda::sh_fwd(degree, campos, (int)means.size(0), (int)coeffs.size(1), f(means), f(coeffs), f(colors)), "SH");
  return colors;
}

std::tuple<at::Tensor, at::Tensor> sh_bwd_cuda(int degree, V3 campos, const at::Tensor& means, const at::Tensor& coeffs,
                                               const at::Tensor& colors, const at::Tensor& v_colors) {
  auto v_means = at::zeros_like(means), v_coeffs = at::zeros_like(coeffs);
  check(cuda::sh_bwd(degree, campos, (int)means.size(0), (int)coeffs.size(1), f(means), f(coeffs), f(colors),
                     f(v_colors), f(v_means), f(v_coeffs)),
        "SH backward");
  return {v_means, v_coeffs};
}

TileBins bin_tiles_cuda(const RasterInputs& in) {
  const int n = (int)in.means2d.size(0);
  const int tiles_x = (in.width + kTile - 1) / kTile, tiles_y = (in.height + kTile - 1) / kTile;
  const auto opts = in.means2d.options();
  auto counts = at::zeros({n}, opts.dtype(at::kInt));
  check(cuda::bin_count(n, tiles_x, tiles_y, f(in.means2d), f(in.conics), f(in.opacities), in.radii.data_ptr<int>(),
                        counts.data_ptr<int>()),
        "tile binning");
  const at::Tensor ends = counts.cumsum(0, at::kLong);
  const int64_t pairs = n > 0 ? ends[n - 1].item<int64_t>() : 0;
  auto keys = at::empty({pairs}, opts.dtype(at::kLong));
  auto gauss = at::empty({pairs}, opts.dtype(at::kInt));
  check(cuda::bin_fill(n, tiles_x, tiles_y, f(in.means2d), f(in.conics), f(in.opacities), in.radii.data_ptr<int>(),
                       f(in.depths), ends.data_ptr<int64_t>(), keys.data_ptr<int64_t>(), gauss.data_ptr<int>()),
        "tile binning");
  // Stable: equal depths keep Gaussian order, as on the CPU.
  const auto sorted = at::sort(keys, /*stable=*/true, /*dim=*/0, /*descending=*/false);
  const at::Tensor tile_of = std::get<0>(sorted).div(int64_t(1) << 32, "floor");
  const at::Tensor per_tile = at::bincount(tile_of, {}, (int64_t)tiles_x * tiles_y);
  TileBins bins;
  bins.tile_offsets = at::cat({at::zeros({1}, opts.dtype(at::kLong)), per_tile.cumsum(0)}).to(at::kInt);
  bins.gauss_ids = gauss.index_select(0, std::get<1>(sorted)).contiguous();
  return bins;
}

RasterOutput rasterize_fwd_cuda(const RasterInputs& in) {
  RasterOutput o = empty_raster_output(in);
  o.bins = bin_tiles_cuda(in);
  check(cuda::rasterize_fwd(raster_args(in, o.bins), f(o.rgb), f(o.alpha), f(o.depth), f(o.transmittance),
                            o.last_ids.data_ptr<int>()),
        "rasterization");
  return o;
}

RasterGrads rasterize_bwd_cuda(const RasterInputs& in, const RasterOutput& fwd, const at::Tensor& v_rgb,
                               const at::Tensor& v_alpha, const at::Tensor& v_depth) {
  const int64_t n = in.means2d.size(0);
  const auto opts = in.means2d.options();
  RasterGrads g{at::zeros({n, 2}, opts), at::zeros({n, 3}, opts), at::zeros({n, 3}, opts), at::zeros({n}, opts),
                at::zeros({n}, opts)};
  check(cuda::rasterize_bwd(raster_args(in, fwd.bins), f(fwd.depth), f(fwd.transmittance), fwd.last_ids.data_ptr<int>(),
                            f(v_rgb), f(v_alpha), f(v_depth), f(g.v_means2d), f(g.v_conics), f(g.v_colors),
                            f(g.v_opacities), f(g.v_depths)),
        "rasterization backward");
  return g;
}

}  // namespace camgraph::splat

#endif  // CAMGRAPH_WITH_CUDA
