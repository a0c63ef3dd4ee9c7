#include "depth/sd_fill.h"

#include <ATen/ATen.h>

#include <stdexcept>

#ifdef CAMGRAPH_DEPTH_HAVE_SD
#include "sd/pipeline.h"
#endif

namespace camgraph::depth {

#ifdef CAMGRAPH_DEPTH_HAVE_SD

bool sd_fill_available() { return true; }

at::Tensor sd_inpaint(const at::Tensor& rgb_in, const at::Tensor& holes, const SdFillOptions& o, c10::Device device) {
  const at::Tensor rgb = rgb_in.to(at::kCPU, at::kFloat).slice(2, 0, 3).contiguous();  // [H, W, 3]
  const int64_t H = rgb.size(0), W = rgb.size(1);
  const int64_t H8 = std::max<int64_t>(8, (H + 7) / 8 * 8), W8 = std::max<int64_t>(8, (W + 7) / 8 * 8);
  at::Tensor mask = holes.to(at::kCPU, at::kFloat).view({1, 1, H, W});
  if (o.dilate > 0) mask = at::max_pool2d(mask, {2 * o.dilate + 1, 2 * o.dilate + 1}, {1, 1}, {o.dilate, o.dilate});
  at::Tensor init = rgb.permute({2, 0, 1}).unsqueeze(0);  // [1, 3, H, W]
  if (H8 != H || W8 != W) {
    init = at::upsample_bilinear2d(init, {H8, W8}, false);
    mask = at::upsample_nearest2d(mask, {H8, W8});
  }
  sd::PipelineSources src;
  src.checkpoint = o.checkpoint;
  src.vae = o.vae;
  src.merges = o.merges;
  auto pipe = sd::cached_pipeline(src, device);
  sd::GenerateRequest r;
  r.prompt = o.prompt;
  r.negative_prompt = o.negative_prompt;
  r.steps = o.steps;
  r.cfg = o.cfg;
  r.seed = o.seed;
  r.width = int(W8);
  r.height = int(H8);
  r.init_image = init[0].permute({1, 2, 0}).contiguous();  // [H8, W8, 3]
  r.strength = o.strength;
  r.mask = mask[0][0].contiguous();                                              // [H8, W8], 1 = regenerate
  at::Tensor out = pipe->generate(r).images[0].permute({2, 0, 1}).unsqueeze(0);  // [1, 3, H8, W8]
  if (H8 != H || W8 != W) out = at::upsample_bilinear2d(out, {H, W}, false);
  out = out[0].permute({1, 2, 0}).clamp(0, 1);
  // Feathered composite: holes take the result, the `dilate` px band around them fades from it to
  // the rendered pixels (no hard seam), pixels farther away stay exactly as rendered.
  const at::Tensor hole_f = holes.to(at::kCPU, at::kFloat).view({1, 1, H, W});
  at::Tensor w = hole_f;
  if (o.dilate > 0)
    w = at::maximum(hole_f, at::avg_pool2d(hole_f, {2 * o.dilate + 1, 2 * o.dilate + 1}, {1, 1}, {o.dilate, o.dilate},
                                           false, false));
  w = w[0][0].unsqueeze(2);  // [H, W, 1]
  return (w * out + (1 - w) * rgb).contiguous();
}

#else

bool sd_fill_available() { return false; }

at::Tensor sd_inpaint(const at::Tensor&, const at::Tensor&, const SdFillOptions&, c10::Device) {
  throw std::runtime_error("this build has no Stable Diffusion (the sd family needs ICU and zlib development files)");
}

#endif

}  // namespace camgraph::depth
