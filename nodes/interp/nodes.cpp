// interp family: frames.interpolate (RIFE IFNet in libtorch when a weight file is given, else
// DIS optical-flow interpolation with occlusion weights; scene-cut guard; cameras follow).
#include <ATen/ATen.h>

#include <cmath>

#include "camgraph/node_context.h"
#include "interp/flow_fallback.h"
#include "interp/rife/rife_model.h"
#include "interp/schedule.h"

namespace camgraph {

namespace fs = std::filesystem;

namespace {

// [H, W, C] float tensor -> CV_32FC3 (first three channels; same order as stored, RGB).
cv::Mat to_mat3(const at::Tensor& frame) {
  at::Tensor t = frame.detach().to(at::kCPU, at::kFloat).slice(2, 0, 3).contiguous();
  return cv::Mat(int(t.size(0)), int(t.size(1)), CV_32FC3, t.data_ptr<float>()).clone();
}

at::Tensor from_mat3(const cv::Mat& m) {
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  return at::from_blob(c.data, {c.rows, c.cols, 3}, at::kFloat).clone();
}

void interpolate_execute(NodeContext& ctx) {
  auto in = ctx.input<FrameSequenceValue>("frames");
  const int n = in->count();
  if (n < 1) ctx.fail_port("frames", "the sequence is empty");
  if (in->frames.dim() != 4 || in->frames.size(3) < 3) ctx.fail_port("frames", "expected frames [N, H, W, 3 or 4]");
  if (!in->cameras.empty() && static_cast<int>(in->cameras.size()) != n)
    ctx.fail_port("frames",
                  "has " + std::to_string(in->cameras.size()) + " cameras for " + std::to_string(n) + " frames");

  const std::string mode = ctx.param_string("mode");
  const interp::Schedule sched = ctx.guard(mode == "target_fps" ? "target_fps" : "multiplier", [&] {
    return mode == "target_fps" ? interp::make_schedule(n, in->fps, 1, ctx.param_float("target_fps"))
                                : interp::make_schedule(n, in->fps, int(ctx.param_int("multiplier")), 0);
  });
  if (mode == "target_fps" && !(ctx.param_float("target_fps") > 0))
    ctx.fail("target_fps", "must be > 0 in target_fps mode");

  // Method.
  std::string method = ctx.param_string("method");
  const bool have_weights = !ctx.param_string("model_path").empty();
  if (method == "auto") method = have_weights ? "rife" : "flow";
  std::shared_ptr<interp::RifeModel> rife;
  const double scale = ctx.param_float("scale");
  json rec = json::object();
  if (method == "rife") {
    if (!have_weights)
      ctx.fail("model_path",
               "method 'rife' needs a weight file: download Practical-RIFE (e.g. 4.6 or 4.25) and point model_path at "
               "its train_log/flownet.pkl (or a .pth/.safetensors of the same tensors); method 'flow' needs none");
    const fs::path weights = ctx.input_path("model_path");
    const std::array<double, 5> allowed{0.25, 0.5, 1.0, 2.0, 4.0};
    if (std::find(allowed.begin(), allowed.end(), scale) == allowed.end())
      ctx.fail("scale", "must be one of 0.25, 0.5, 1, 2, 4 (0.5 for 4K frames)");
    ctx.progress(0.01, "loading " + weights.filename().string());
    rife = ctx.guard("model_path",
                     [&] { return interp::load_rife_cached(weights, ctx.torch_device(), ctx.param_bool("fp16")); });
    rec["model_file"] = fs::absolute(weights).lexically_normal().string();
    rec["rife_version"] = rife->version();
    rec["fp16"] = rife->half();
  }
  interp::FlowOptions fopt;
  fopt.preset = ctx.param_string("flow_preset") == "fast" ? 1 : ctx.param_string("flow_preset") == "ultrafast" ? 0 : 2;
  if (fopt.preset != 2) fopt.finest_scale = fopt.patch_stride = -1;  // fast presets keep their own settings
  const double cut_threshold = ctx.param_float("scene_cut_ssim");

  const at::Tensor frames = in->frames.to(at::kCPU, at::kFloat);
  const int64_t channels = frames.size(3);
  std::vector<at::Tensor> out(sched.size());
  json cuts = json::array();
  int k = 0;
  while (k < sched.size()) {
    const int i = sched.pair[k];
    int end = k;  // outputs [k, end) share pair i
    while (end < sched.size() && sched.pair[end] == i) ++end;
    bool need_pair = false;
    for (int j = k; j < end; ++j) need_pair |= sched.t[j] > 0;
    if (!need_pair) {
      for (int j = k; j < end; ++j) out[j] = frames[i];
      k = end;
      continue;
    }
    ctx.check_cancelled();
    ctx.progress(0.05 + 0.9 * i / std::max(1, n - 1), "pair " + std::to_string(i + 1) + " of " + std::to_string(n - 1));
    const at::Tensor f0 = frames[i], f1 = frames[i + 1];
    const cv::Mat m0 = to_mat3(f0), m1 = to_mat3(f1);
    bool cut = false;
    if (cut_threshold > 0) {
      const double sim = interp::scene_similarity(m0, m1);
      if (sim < cut_threshold) {
        cut = true;
        cuts.push_back({{"pair", json::array({i, i + 1})}, {"ssim", sim}});
      }
    }
    interp::FlowPair flows;
    if (!cut && method == "flow") flows = interp::compute_flow_pair(m0, m1, fopt);
    for (int j = k; j < end; ++j) {
      const double t = sched.t[j];
      if (t == 0) {
        out[j] = f0;
        continue;
      }
      if (cut || method == "duplicate") {
        out[j] = t <= 0.5 ? f0 : f1;
        continue;
      }
      at::Tensor rgb;
      if (method == "blend") rgb = f0.slice(2, 0, 3) * (1 - t) + f1.slice(2, 0, 3) * t;
      else if (method == "flow") rgb = from_mat3(interp::interpolate_flow(flows, float(t), fopt));
      else rgb = rife->interpolate(f0, f1, t, scale).to(at::kCPU);
      if (channels == 4) rgb = at::cat({rgb, f0.slice(2, 3, 4) * (1 - t) + f1.slice(2, 3, 4) * t}, 2);
      out[j] = rgb;
    }
    k = end;
  }
  if (!cuts.empty())
    ctx.warn(std::to_string(cuts.size()) + " scene cut(s) (SSIM below " + std::to_string(cut_threshold) +
             "): frames duplicated there instead of interpolated");

  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = at::stack(out).to(in->frames.device());
  seq->fps = sched.fps;
  seq->colour_space = in->colour_space;
  if (in->depth.defined()) {  // depth of the nearer input frame (no blending across edges)
    std::vector<at::Tensor> d;
    for (int j = 0; j < sched.size(); ++j) d.push_back(in->depth[sched.t[j] < 0.5 ? sched.pair[j] : sched.pair[j] + 1]);
    seq->depth = at::stack(d);
  }
  if (!in->cameras.empty())
    for (int j = 0; j < sched.size(); ++j)
      seq->cameras.push_back(sched.t[j] == 0 ? in->cameras[sched.pair[j]]
                                             : interp::interpolate_camera(in->cameras[sched.pair[j]],
                                                                          in->cameras[sched.pair[j] + 1], sched.t[j]));
  rec["method"] = method;
  rec["input_frames"] = n;
  rec["output_frames"] = sched.size();
  rec["fps"] = sched.fps;
  rec["scene_cuts"] = cuts;
  ctx.set_output("frames", seq);
  ctx.set_record("record", rec);
}

}  // namespace

void register_interp_nodes(Registry& r) {
  r.add(
      {.type = "frames.interpolate",
       .category = "Video",
       .title = "Interpolate Frames",
       .doc = "Adds in-between frames: RIFE (Practical-RIFE 4.x IFNet, version read from the weight file: "
              "flownet.pkl, .pth or .safetensors) or, without weights, DIS optical flow both ways with "
              "occlusion-aware blending. Multiplier or target fps; cameras are interpolated (slerp); a scene "
              "cut (SSIM below the threshold) duplicates instead of morphing. RIFE runs on the run's device; "
              "the optical-flow fallback runs on the CPU by design (OpenCV).",
       .inputs = {{"frames", PortType::FrameSequence, "frames [N, H, W, 3|4], fps, optional cameras/depth"}},
       .outputs = {{"frames", PortType::FrameSequence, "interpolated frames at the new fps"},
                   {"record", PortType::Record, "method, RIFE version, frame counts, scene cuts"}},
       .params =
           {p_enum("method", "auto", {"auto", "rife", "flow", "blend", "duplicate"},
                   "auto: RIFE when model_path is set, else optical flow"),
            p_input_path("model_path", "", "RIFE weights (*.pkl *.pth *.ckpt *.safetensors)",
                         "Practical-RIFE train_log/flownet.pkl (4.6, 4.14, 4.22, 4.25 layouts)"),
            p_enum("mode", "multiplier", {"multiplier", "target_fps"}, "how many frames to make"),
            p_int("multiplier", 2, 1, 64, "multiplier mode: frames per input interval (2 = double the fps)"),
            p_float("target_fps", 60, 0, 1000, "target_fps mode: output frame rate"),
            p_float("scale", 1.0, 0.25, 4.0, "RIFE: flow scale (0.25, 0.5, 1, 2, 4; 0.5 for 4K)"),
            p_bool("fp16", true, "RIFE on CUDA: half precision"),
            p_enum("flow_preset", "medium", {"medium", "fast", "ultrafast"},
                   "flow: DIS preset (medium refines to full resolution; fast/ultrafast are ~2x quicker, less exact)"),
            p_float("scene_cut_ssim", 0.35, 0, 1, "pairs less similar than this (SSIM) are duplicated; 0 = off")},
       .execute = interpolate_execute});
}

}  // namespace camgraph
