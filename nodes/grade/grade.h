// grade family: colour grade (corrections + .cube LUT) and motion blur, as plain functions the nodes
// call and the tests check. Frames are [N, H, W, C] float in [0, 1]; alpha (C = 4) passes unchanged.
#pragma once
#include <ATen/core/Tensor.h>

#include "lut.h"

namespace camgraph {
class NodeContext;
}

namespace camgraph::grade {

struct GradeParams {
  double brightness = 0;    // added to display values, -1..1
  double contrast = 1;      // about mid grey 0.5
  double saturation = 1;    // 0 = BT.709 luma grey
  double temperature = 0;   // -1 (cool) .. 1 (warm): linear-light gains R 1+0.25 t, B 1-0.25 t
  double tint = 0;          // -1 (green) .. 1 (magenta): linear-light gain G 1-0.25 m
  double lut_strength = 1;  // mix of the LUT's result with its input
};

// The same transform for every pixel of every frame: white balance (in linear light, gains normalised
// to keep the luminance of white), brightness, contrast, saturation, clamp to [0, 1], then the LUT.
at::Tensor grade_frames(const at::Tensor& frames, const GradeParams& p, const CubeLut* lut);

// Shutter from sub-frame renders: frames hold `subframes` renders per output frame; output frame k is the
// mean of the first round(subframes * shutter_angle / 360) (at least 1) of its group.
at::Tensor blur_from_subframes(const at::Tensor& frames, int subframes, double shutter_angle);
// Shutter from optical flow (Farneback, OpenCV): each frame is averaged along its motion over
// shutter_angle / 360 of the frame interval, centred on the frame time, with `samples` taps.
at::Tensor blur_from_flow(const at::Tensor& frames, double shutter_angle, int samples);

void colour_execute(NodeContext& ctx);
void motion_blur_execute(NodeContext& ctx);

}  // namespace camgraph::grade
