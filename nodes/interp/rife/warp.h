// Backward warping as RIFE does it: sample `image` at (x + flow_x, y + flow_y), bilinear, border
// padding, align_corners = true. Computed in float32 (fp16 inputs are cast and cast back).
#pragma once
#include <ATen/core/Tensor.h>

namespace camgraph::interp {

// image [B, C, H, W], flow [B, 2, H, W] in pixels (x then y) -> [B, C, H, W]
at::Tensor backward_warp(const at::Tensor& image, const at::Tensor& flow);

}  // namespace camgraph::interp
