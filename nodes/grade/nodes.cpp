// grade family: grade.colour, grade.motion_blur.
#include <ATen/ATen.h>

#include "camgraph/node_context.h"
#include "grade.h"

namespace camgraph {

namespace grade {

void colour_execute(NodeContext& ctx) {
  auto seq = ctx.input<FrameSequenceValue>("frames");
  if (seq->count() == 0) ctx.fail_port("frames", "the sequence has no frames");
  GradeParams p;
  p.brightness = ctx.param_float("brightness");
  p.contrast = ctx.param_float("contrast");
  p.saturation = ctx.param_float("saturation");
  p.temperature = ctx.param_float("temperature");
  p.tint = ctx.param_float("tint");
  p.lut_strength = ctx.param_float("lut_strength");
  CubeLut lut;
  bool have_lut = false;
  if (!ctx.param_string("lut").empty()) {
    lut = ctx.guard("lut", [&] { return CubeLut::load(ctx.input_path("lut")); });
    lut.trilinear = ctx.param_string("lut_interpolation") == "trilinear";
    have_lut = true;
  }
  auto out = std::make_shared<FrameSequenceValue>(*seq);
  out->frames = grade_frames(seq->frames, p, have_lut ? &lut : nullptr);
  ctx.set_output("frames", out);
}

void motion_blur_execute(NodeContext& ctx) {
  auto seq = ctx.input<FrameSequenceValue>("frames");
  const int n = seq->count();
  if (n == 0) ctx.fail_port("frames", "the sequence has no frames");
  const double angle = ctx.param_float("shutter_angle");
  auto out = std::make_shared<FrameSequenceValue>(*seq);
  if (ctx.param_string("source") == "subframes") {
    const int k = int(ctx.param_int("subframes"));
    if (n % k != 0)
      ctx.fail("subframes", std::to_string(n) + " frames is not a multiple of " + std::to_string(k) +
                                " sub-frames per frame (render the path with frames x subframes)");
    out->frames = blur_from_subframes(seq->frames, k, angle);
    // Each output frame is the time its shutter opens: the group's first sub-frame.
    if (seq->depth.defined()) out->depth = seq->depth.slice(0, 0, n, k).contiguous();
    out->cameras.clear();
    for (size_t i = 0; i < seq->cameras.size(); i += size_t(k)) out->cameras.push_back(seq->cameras[i]);
    out->fps = seq->fps / k;
  } else {
    out->frames = blur_from_flow(seq->frames, angle, int(ctx.param_int("samples")));
  }
  ctx.set_output("frames", out);
}

}  // namespace grade

void register_grade_nodes(Registry& r) {
  r.add({.type = "grade.colour",
         .category = "Video",
         .title = "Colour Grade",
         .doc = "One colour transform for every frame of the clip: white balance (temperature, tint; in linear "
                "light), brightness, contrast, saturation, then a .cube LUT (1D, 3D with tetrahedral "
                "interpolation, DOMAIN_MIN/MAX, Resolve's 1D shaper + 3D). Cameras and depth pass through. "
                "Runs on the CPU by design (per-pixel work on host frames, before the CPU encoder).",
         .inputs = {{"frames", PortType::FrameSequence, "frames to grade (sRGB display values)"}},
         .outputs = {{"frames", PortType::FrameSequence, "graded frames"}},
         .params = {p_input_path("lut", "", "LUT (*.cube)", ".cube LUT applied after the corrections; empty = none"),
                    p_float("lut_strength", 1, 0, 1, "mix of the LUT's result with its input"),
                    p_enum("lut_interpolation", "tetrahedral", {"tetrahedral", "trilinear"},
                           "3D LUT interpolation (tetrahedral: Resolve/OCIO default; trilinear: cheaper, softer)"),
                    p_float("brightness", 0, -1, 1, "added to every channel"),
                    p_float("contrast", 1, 0, 4, "scale about mid grey (0.5)"),
                    p_float("saturation", 1, 0, 4, "0 = grey (BT.709 luma), 1 = unchanged"),
                    p_float("temperature", 0, -1, 1, "white balance: + warmer, - cooler"),
                    p_float("tint", 0, -1, 1, "white balance: + magenta, - green")},
         .execute = grade::colour_execute});
  r.add({.type = "grade.motion_blur",
         .category = "Video",
         .title = "Motion Blur",
         .doc = "Camera-shutter motion blur. subframes: the path was rendered with N sub-frames per frame; "
                "each output frame averages the sub-frames its shutter (angle/360 of the interval, opening at "
                "the frame time) is open for; fps / N, the cameras of the opening sub-frames. flow: each frame "
                "averaged along its optical flow (Farneback) over the open shutter, centred on the frame time.",
         .inputs = {{"frames", PortType::FrameSequence, "frames (sub-frames for source = subframes)"}},
         .outputs = {{"frames", PortType::FrameSequence, "blurred frames"}},
         .params = {p_enum("source", "subframes", {"subframes", "flow"}, "sub-frame renders or optical flow"),
                    p_float("shutter_angle", 180, 0, 360, "degrees of the frame interval the shutter is open"),
                    p_int("subframes", 4, 1, 64, "source = subframes: renders per output frame"),
                    p_int("samples", 8, 1, 64, "source = flow: taps along the motion")},
         .execute = grade::motion_blur_execute});
}

}  // namespace camgraph
