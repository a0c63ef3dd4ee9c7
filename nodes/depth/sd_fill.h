// Hole colours of a rendered fill view by Stable Diffusion inpainting (the sd family's Pipeline:
// img2img with a mask on an ordinary SD 1.5 checkpoint), for depth.lift's fill_method = sd.
//
//   rgb [H, W, 3] in [0, 1] (holes already prefilled by Telea: the init image), holes [H, W] bool
//   -> resized to multiples of 8 (bilinear; mask nearest, dilated by `dilate` px), generated with
//      init_image = rgb, mask = holes, then back to H x W; holes take the result, a `dilate` px band
//      around them fades into it (feathered seam), pixels farther away are kept exactly.
// Available when the sd family is built (sd_fill_available()); otherwise sd_inpaint throws.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <string>

namespace camgraph::depth {

struct SdFillOptions {
  std::filesystem::path checkpoint;  // single file or diffusers folder
  std::filesystem::path vae;         // optional separate VAE
  std::filesystem::path merges;      // CLIP merges for single files
  std::string prompt, negative_prompt;
  int steps = 20;
  double strength = 1.0;  // 1: the holes are generated from noise (the known region is kept by the mask)
  double cfg = 7.0;
  uint64_t seed = 0;
  int dilate = 2;  // grow the mask so the seam is regenerated too
};

bool sd_fill_available();
at::Tensor sd_inpaint(const at::Tensor& rgb, const at::Tensor& holes, const SdFillOptions& o, c10::Device device);

}  // namespace camgraph::depth
