// depth family: depth.estimate (MiDaS / Depth Anything V2 ONNX through OpenCV dnn, Depth Anything V2
// .pth through libtorch, or the
// weight-free layout prior), depth.lift (image + depth -> splat scene, displacement limit, hole
// filling, refinement) and depth.check_path (a camera path against that limit).
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "camgraph/error.h"
#include "camgraph/node_context.h"
#include "camgraph/output_files.h"
#include "depth/layout.h"
#include "depth/lift.h"
#include "depth/model.h"
#include "depth/sd_fill.h"

namespace camgraph {

namespace fs = std::filesystem;
using namespace camgraph::depth;

namespace {

cv::Mat to_rgb_mat(const at::Tensor& pixels) {  // [H, W, C] -> CV_32FC3 RGB
  at::Tensor t = pixels.detach().to(at::kCPU, at::kFloat).slice(2, 0, 3).contiguous();
  return cv::Mat(int(t.size(0)), int(t.size(1)), CV_32FC3, t.data_ptr<float>()).clone();
}

at::Tensor to_tensor(const cv::Mat& m) {  // CV_32FC1 -> [H, W]
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  return at::from_blob(c.data, {c.rows, c.cols}, at::kFloat).clone();
}

std::vector<std::string> kind_choices() {
  std::vector<std::string> n = {"auto"};
  for (const auto& k : model_kinds()) n.push_back(k.name);
  return n;
}

// ---- depth.estimate -------------------------------------------------------------------------

void estimate_execute(NodeContext& ctx) {
  auto img = ctx.input<ImageValue>("image");
  if (img->channels() < 3) ctx.fail_port("image", "expected an RGB or RGBA image");
  const cv::Mat rgb = to_rgb_mat(img->pixels);
  const int W = rgb.cols, H = rgb.rows;
  const double fov = ctx.param_float("fov");
  Intrinsics k;
  k.fy = 0.5 * H / std::tan(0.5 * fov * M_PI / 180);
  k.fx = k.fy;
  k.cx = 0.5 * W;
  k.cy = 0.5 * H;
  LayoutParams lp;
  lp.camera_height = ctx.param_float("camera_height");
  lp.horizon = ctx.param_float("horizon");
  lp.backdrop_distance = ctx.param_float("backdrop_distance");
  const double pitch = pitch_from_horizon(k, lp.horizon * H);
  if (std::abs(pitch) > 80 * M_PI / 180)
    ctx.fail("horizon", "puts the camera pitch beyond 80 degrees; move it towards the middle");

  std::string method = ctx.param_string("method");
  const std::string model_param = ctx.param_string("model_path");
  if (method == "model" && model_param.empty())
    ctx.fail("model_path",
             "method = model needs a depth network file: MiDaS v2.1 model-small.onnx or "
             "model-f6b98070.onnx (github.com/isl-org/MiDaS releases v2_1), a Depth Anything V2 .pth "
             "(huggingface.co/depth-anything) or its ONNX export (opset <= 16)");
  if (method == "auto") method = model_param.empty() ? "layout_prior" : "model";

  json rec = json::object();
  const cv::Mat layout = layout_depth(rgb.size(), k, lp);
  cv::Mat depth;
  cv::Mat raw;  // the network's prediction at image size
  if (method == "layout_prior") {
    depth = layout;
    rec["method"] = "layout_prior";
  } else {
    std::string kind_name = ctx.param_string("model_kind");
    fs::path file;
    try {
      file = ctx.input_path("model_path");
    } catch (const GraphError& e) {
      // A missing file: where it was looked for (the engine's message) and where the published one comes from.
      const std::string k = kind_name == "auto" ? kind_from_file_name(model_param) : kind_name;
      ctx.fail("model_path", e.problem().message + "; " +
                                 where_to_download(model_param, k.empty() ? "depth_anything_v2_relative" : k));
    }
    if (kind_name == "auto") {
      kind_name = kind_from_file_name(file);
      if (kind_name.empty())
        ctx.fail("model_kind", "cannot tell the model from the file name '" + file.filename().string() +
                                   "'; choose model_kind (midas_v21_small, midas_v21_384, depth_anything_v2_...)");
    }
    const ModelKind& kind = model_kind(kind_name);
    ctx.progress(0.1, "loading " + file.filename().string());
    std::shared_ptr<const DepthModel> model;
    try {
      model = load_model_cached(file, kind, int(ctx.param_int("input_size")), ctx.device() == DeviceKind::Cuda,
                                int(ctx.param_int("vit_heads")));
      ctx.progress(0.3, "running " + kind.name);
      raw = model->predict(rgb);
    } catch (const ModelError& e) {
      ctx.fail("model_path", e.what());
    }
    ctx.check_cancelled();
    double scale = ctx.param_float("scale"), shift = ctx.param_float("shift");
    const std::string fit = ctx.param_string("scale_mode");
    if (fit == "ground_fit") {
      // Ground pixels of the layout inside the bottom band of the image.
      cv::Mat mask = layout_ground_mask(rgb.size(), k, lp);
      const int band_top = int(std::lround(H * (1 - ctx.param_float("ground_band"))));
      mask.rowRange(0, std::clamp(band_top, 0, H)).setTo(0);
      const ScaleShift s = ctx.guard("scale_mode",
                                     "ground fit: ", [&] { return fit_to_ground(raw, kind.disparity, layout, mask); });
      scale = s.scale;
      shift = s.shift;
      rec["ground_fit"] = {{"samples", s.samples}, {"rms_relative", s.rms_relative}};
    } else if (fit == "none") {
      if (kind.disparity)
        ctx.fail("scale_mode", kind.name + " predicts relative disparity; metres need ground_fit or manual");
      scale = 1;
      shift = 0;
    }
    depth = apply_scale_shift(raw, kind.disparity, scale, shift);
    rec["method"] = "model";
    rec["model_kind"] = kind.name;
    rec["model_file"] = fs::absolute(file).lexically_normal().string();
    rec["model_hash"] = hash_file_hex(file);
    rec["backend"] = model->backend();
    if (!model->variant().empty()) rec["variant"] = model->variant();
    rec["output"] = kind.disparity ? "disparity" : "metres";
    rec["scale"] = scale;
    rec["shift"] = shift;
    rec["scale_mode"] = fit;
  }
  ctx.check_cancelled();

  const Camera cam = layout_camera(W, H, k, lp.camera_height, pitch);
  double dmin, dmax;
  cv::minMaxLoc(depth, &dmin, &dmax);
  std::vector<float> v(depth.begin<float>(), depth.end<float>());
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  rec["depth_min"] = dmin;
  rec["depth_max"] = dmax;
  rec["depth_median"] = v[v.size() / 2];
  rec["camera"] = cam.to_json();
  rec["pitch_degrees"] = pitch * 180 / M_PI;
  rec["layout"] = {
      {"camera_height", lp.camera_height}, {"horizon", lp.horizon}, {"backdrop_distance", lp.backdrop_distance}};

  // Preview: disparity normalised to [0, 1] (near bright).
  cv::Mat disp(depth.size(), CV_32F);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const float d = depth.at<float>(y, x);
      disp.at<float>(y, x) = d > 0 ? 1.f / d : 0.f;
    }
  double pmin, pmax;
  cv::minMaxLoc(disp, &pmin, &pmax);
  disp = (disp - pmin) / std::max(pmax - pmin, 1e-12);

  const c10::Device dev = ctx.torch_device();
  auto view = std::make_shared<FrameSequenceValue>();
  view->frames = img->pixels.to(at::kFloat).unsqueeze(0).to(dev);  // [1, H, W, C]
  view->depth = to_tensor(depth).unsqueeze(0).to(dev);             // [1, H, W]
  view->cameras = {cam};
  view->fps = 1;
  view->colour_space = img->colour_space;
  auto preview = std::make_shared<ImageValue>();
  preview->pixels = to_tensor(disp).unsqueeze(2).expand({H, W, 3}).contiguous().to(dev);
  ctx.set_output("view", view);
  ctx.set_output("preview", preview);
  ctx.set_record("record", rec);
  ctx.progress(1.0);
}

// ---- depth.lift -----------------------------------------------------------------------------

void lift_execute(NodeContext& ctx) {
  auto seq = ctx.input<FrameSequenceValue>("view");
  const int frame = int(ctx.param_int("frame"));
  if (seq->count() == 0) ctx.fail_port("view", "no frames");
  if (frame >= seq->count())
    ctx.fail("frame",
             "frame " + std::to_string(frame) + " does not exist (the input has " + std::to_string(seq->count()) + ")");
  if (!seq->depth.defined())
    ctx.fail_port("view", "the frames carry no depth; connect depth.estimate, scene.procedural or splat.render");
  Camera cam;
  if (ctx.has_input("camera")) {
    cam = ctx.input<CameraValue>("camera")->camera;
  } else {
    if (size_t(frame) >= seq->cameras.size()) ctx.fail_port("view", "the frames carry no camera; connect a camera");
    cam = seq->cameras[size_t(frame)];
  }
  const at::Tensor px = seq->frames[frame].to(at::kCPU, at::kFloat);  // [H, W, C]
  at::Tensor z = seq->depth[frame].to(at::kCPU, at::kFloat);          // [H, W]
  const double empty = ctx.param_float("empty_depth");
  if (empty > 0) z = at::where((z > 0) & at::isfinite(z), z, at::full_like(z, empty));  // sky: a far backdrop
  const int H = int(px.size(0)), W = int(px.size(1));
  if (cam.width != W || cam.height != H) cam = cam.resized(W, H);
  at::Tensor valid;
  if (px.size(2) == 4) valid = px.select(2, 3) >= 0.5;

  LiftOptions o;
  o.block = int(ctx.param_int("block"));
  o.discontinuity = ctx.param_float("discontinuity");
  o.footprint = ctx.param_float("footprint");
  o.thickness = ctx.param_float("thickness");
  o.opacity = ctx.param_float("opacity");
  o.max_depth = ctx.param_float("max_depth");
  LiftStats stats;
  ctx.progress(0.05, "lifting");
  splat::GaussianSet g = lift(px, z, cam, o, valid, &stats);
  if (g.size() == 0) ctx.fail_port("view", "no pixel has a usable depth (all <= 0, masked or beyond max_depth)");
  const at::Tensor zv = z.masked_select(z > 0);
  const double median = zv.numel() ? zv.median().item<double>() : 1.0;

  const double threshold = ctx.param_float("hole_threshold");
  const double search = ctx.param_float("limit_search") * median;
  ctx.progress(0.2, "displacement limit");
  DisplacementLimit lim = displacement_limit(g, cam, median, threshold, search);
  ctx.check_cancelled();

  // Hole filling: views beyond the limit, rendered, inpainted, and their holes lifted.
  json fill = json::array();
  std::vector<RefineView> views;
  const at::Tensor src_rgb = px.slice(2, 0, 3).contiguous();
  views.push_back({cam, src_rgb, valid.defined() ? valid.to(at::kFloat) : at::Tensor()});
  const int fill_views = int(ctx.param_int("fill_views"));
  const bool sd_fill = ctx.param_string("fill_method") == "sd";
  SdFillOptions sdo;
  if (fill_views > 0 && sd_fill) {
    if (!sd_fill_available())
      ctx.fail("fill_method", "sd: this build has no Stable Diffusion (the sd family was not built)");
    if (ctx.param_string("sd_checkpoint").empty())
      ctx.fail("sd_checkpoint",
               "fill_method = sd needs an SD 1.5 checkpoint (single .safetensors/.ckpt or a diffusers folder)");
    sdo.checkpoint = ctx.input_path("sd_checkpoint");
    if (!ctx.param_string("sd_merges").empty()) sdo.merges = ctx.input_path("sd_merges");
    sdo.prompt = ctx.param_string("sd_prompt");
    sdo.negative_prompt = ctx.param_string("sd_negative_prompt");
    sdo.steps = int(ctx.param_int("sd_steps"));
    sdo.strength = ctx.param_float("sd_strength");
    sdo.seed = ctx.param_seed("sd_seed");
  }
  if (fill_views > 0) {
    const double dist = std::max(lim.limit, 1e-3 * median) * ctx.param_float("fill_distance");
    static const char* dirs[] = {"right", "left", "up", "down", "back", "forward", "right", "left"};
    for (int i = 0; i < fill_views; ++i) {
      ctx.check_cancelled();
      const double d = dist * (i >= 6 ? 2 : 1);
      const Camera vc = moved_camera(cam, dirs[i], d);
      RenderedView r = render_view(g, vc);
      const at::Tensor holes = r.alpha < 0.5;
      const double frac = holes.to(at::kDouble).mean().item<double>();
      at::Tensor rgb = r.rgb, depth = r.depth / r.alpha.clamp_min(1e-6);  // expected depth of the covered part
      depth = at::where(holes, at::zeros_like(depth), depth);
      inpaint_view(rgb, depth, holes, ctx.param_float("inpaint_radius"));
      if (sd_fill && frac > 0) {
        // Telea's colours are the init image; SD regenerates the (dilated) holes.
        SdFillOptions vo = sdo;
        vo.seed = sdo.seed + uint64_t(i);
        try {
          rgb = sd_inpaint(rgb, holes, vo, ctx.torch_device());
        } catch (const GraphError&) {
          throw;
        } catch (const std::exception& e) {
          // Loading problems belong to the checkpoint (or its merges file); anything else to the node.
          const std::string msg = e.what();
          const bool merges = msg.find("merges") != std::string::npos;
          const bool loading = merges || msg.find(sdo.checkpoint.string()) != std::string::npos;
          ctx.fail(merges    ? "sd_merges"
                   : loading ? "sd_checkpoint"
                             : "",
                   "SD inpainting of fill view " + std::to_string(i + 1) + ": " + msg);
        }
      }
      LiftOptions ho = o;
      splat::GaussianSet add = lift(rgb, depth, vc, ho, holes);
      g = concat(g, add);
      views.push_back({vc, rgb, at::Tensor()});
      fill.push_back({{"direction", dirs[i]},
                      {"distance", d},
                      {"hole_fraction", frac},
                      {"added", add.size()},
                      {"method", sd_fill ? "sd" : "telea"}});
      ctx.progress(0.3 + 0.3 * (i + 1) / fill_views, "filled view " + std::to_string(i + 1));
    }
  }
  const int steps = int(ctx.param_int("refine_steps"));
  double refine_l1 = std::nan("");
  if (steps > 0) {
    ctx.progress(0.6, "refining");
    refine_l1 = refine(g, views, steps, median, [&] { return ctx.cancelled(); });
    ctx.check_cancelled();
  }
  if (fill_views > 0 || steps > 0) lim = displacement_limit(g, cam, median, threshold, search);

  // Source-view fidelity.
  const RenderedView back = render_view(g, cam);
  const double mse = (back.rgb - src_rgb).pow(2).mean().item<double>();
  const double psnr = 10 * std::log10(1 / std::max(mse, 1e-12));

  const Mat4 c2w = cam.camera_to_world();
  const Vec3 C = cam.position(), fwd{c2w[2], c2w[6], c2w[10]};
  const json lift_info = {
      {"max_displacement", lim.limit},  {"hole_threshold", threshold}, {"per_direction", lim.per_direction},
      {"source_camera", cam.to_json()}, {"median_depth", median},      {"source_psnr", psnr}};
  auto scene = std::make_shared<SplatSceneValue>();
  const c10::Device dev = ctx.torch_device();
  scene->means = g.means.to(dev);
  scene->log_scales = g.log_scales.to(dev);
  scene->quats = g.quats.to(dev);
  scene->opacity_logits = g.opacity_logits.to(dev);
  scene->sh = g.sh.to(dev);
  scene->training_cameras = {cam};
  scene->info = {{"extent", median},
                 {"centre", {C[0] + median * fwd[0], C[1] + median * fwd[1], C[2] + median * fwd[2]}},
                 {"lift", lift_info}};
  json rec = lift_info;
  rec["gaussians"] = g.size();
  rec["block_gaussians"] = stats.block_gaussians;
  rec["pixel_gaussians"] = stats.pixel_gaussians;
  rec["split_blocks"] = stats.split_blocks;
  rec["edge_pixels"] = stats.edge_pixels;
  rec["fill_views"] = fill;
  if (steps > 0) rec["refine_l1"] = refine_l1;
  ctx.set_output("scene", scene);
  ctx.set_record("record", rec);
  ctx.progress(1.0);
}

// ---- depth.check_path -----------------------------------------------------------------------

void check_path_execute(NodeContext& ctx) {
  auto scene = ctx.input<SplatSceneValue>("scene");
  auto path = ctx.input<CameraPathValue>("path");
  const json& info = scene->info;
  if (!info.contains("lift") || !info["lift"].contains("per_direction") || !info["lift"].contains("source_camera"))
    ctx.fail_port("scene", "the scene carries no displacement limit; it must come from depth.lift");
  const Camera src = Camera::from_json(info["lift"]["source_camera"]);
  const json& per = info["lift"]["per_direction"];
  auto lim = [&](const char* d) { return std::max(per.value(d, 0.0), 1e-9); };
  const Mat4& w2c = src.world_to_camera;
  const Vec3 C0 = src.position();
  json ratios = json::array(), over = json::array();
  double worst = 0;
  for (size_t i = 0; i < path->cameras.size(); ++i) {
    const Vec3 C = path->cameras[i].position();
    const double d[3] = {C[0] - C0[0], C[1] - C0[1], C[2] - C0[2]};
    double a[3];  // displacement in source camera axes
    for (int r = 0; r < 3; ++r)
      a[r] = w2c[size_t(r * 4)] * d[0] + w2c[size_t(r * 4 + 1)] * d[1] + w2c[size_t(r * 4 + 2)] * d[2];
    const double lx = a[0] >= 0 ? lim("right") : lim("left");
    const double ly = a[1] >= 0 ? lim("down") : lim("up");
    const double lz = a[2] >= 0 ? lim("forward") : lim("back");
    const double ratio = std::sqrt(std::pow(a[0] / lx, 2) + std::pow(a[1] / ly, 2) + std::pow(a[2] / lz, 2));
    ratios.push_back(ratio);
    worst = std::max(worst, ratio);
    if (ratio > 1) over.push_back(i);
  }
  json rec = {{"max_ratio", worst},
              {"ratios", ratios},
              {"frames_over", over},
              {"ok", over.empty()},
              {"hole_threshold", info["lift"].value("hole_threshold", 0.0)}};
  if (!over.empty()) {
    const std::string msg = "the camera moves past the lift's hole limit at " + std::to_string(over.size()) + " of " +
                            std::to_string(path->cameras.size()) + " frames (worst: " + std::to_string(worst) +
                            " x the limit; first: frame " + std::to_string(over[0].get<int>()) + ")";
    if (ctx.param_string("on_exceed") == "fail") ctx.fail("on_exceed", msg);
    ctx.warn(msg);
  }
  ctx.set_output("path", path);
  ctx.set_record("record", rec);
}

}  // namespace

void register_depth_nodes(Registry& r) {
  r.add(
      {.type = "depth.estimate",
       .category = "3D",
       .title = "Estimate Depth",
       .doc = "Monocular depth in metres: MiDaS v2.1 or Depth Anything V2 ONNX through OpenCV dnn, Depth Anything V2 "
              ".pth through libtorch (relative output "
              "scaled by a ground-plane fit or by hand), or, without a model, the layout prior (ground plane up to "
              "the horizon, a backdrop beyond). The view carries the image, its depth and the camera.",
       .inputs = {{"image", PortType::Image, "RGB or RGBA image"}},
       .outputs = {{"view", PortType::FrameSequence, "one frame: the image, depth (camera z, metres) and camera"},
                   {"preview", PortType::Image, "normalised disparity (near is bright)"},
                   {"record", PortType::Record, "method, model file and hash, scale/shift, fit quality, depth range"}},
       .params = {p_enum("method", "auto", {"auto", "layout_prior", "model"},
                         "auto: the model when model_path is set, else the layout prior"),
                  p_input_path("model_path", "", "Depth models (*.onnx *.pth)",
                               "MiDaS v2.1 ONNX, Depth Anything V2 .pth (libtorch) or ONNX export"),
                  p_enum("model_kind", "auto", kind_choices(), "network contract (auto: from the file name)"),
                  p_int("input_size", 0, 0, 4096,
                        "network input (MiDaS side, Depth Anything short side; 0: 256/384/518)"),
                  p_int("vit_heads", 0, 0, 64,
                        "Depth Anything .pth: attention heads of its ViT (0: hidden / 64, as every published model)"),
                  p_enum("scale_mode", "ground_fit", {"ground_fit", "manual", "none"},
                         "relative output to metres: fit to the layout's ground plane, scale/shift by hand, or none "
                         "(metric models)"),
                  p_float("scale", 1, -1e6, 1e6,
                          "manual: depth = 1 / (scale r + shift) for disparity, scale r + shift for metric"),
                  p_float("shift", 0, -1e6, 1e6, "manual: see scale"),
                  p_float("ground_band", 0.25, 0.02, 1,
                          "ground fit: bottom fraction of the image assumed to show the ground"),
                  p_float("fov", 60, 5, 150, "vertical field of view, degrees"),
                  p_float("camera_height", 1.6, 0.01, 1000, "camera height above the ground, metres"),
                  p_float("horizon", 0.45, -2, 3, "horizon row as a fraction of the image height (0 top, 1 bottom)"),
                  p_float("backdrop_distance", 30, 0.1, 1e5,
                          "layout prior: horizontal distance of the backdrop, metres")},
       .execute = estimate_execute});
  r.add(
      {.type = "depth.lift",
       .category = "3D",
       .title = "Lift to Splats",
       .doc = "Image + depth + camera -> Gaussian splats: one per pixel or block, sized to the pixel footprint, "
              "flat along the depth surface, split at depth discontinuities. Reports how far the camera can move "
              "before disoccluded holes exceed hole_threshold of the frame (scene.info.lift, checked by "
              "depth.check_path); optional hole filling (rendered extra views + OpenCV inpainting) and refinement.",
       .inputs = {{"view", PortType::FrameSequence, "frames with depth and cameras (depth.estimate, scene.procedural)"},
                  {"camera", PortType::Camera, "overrides the frame's camera", true}},
       .outputs = {{"scene", PortType::SplatScene,
                    "Gaussians (world coordinates), the source camera as training camera"},
                   {"record", PortType::Record, "Gaussian counts, displacement limit per direction, source PSNR"}},
       .params =
           {p_int("frame", 0, 0, 1000000, "which frame of the input to lift"),
            p_int("block", 1, 1, 64, "pixels per Gaussian side (blocks with an edge are split to pixels)"),
            p_float("discontinuity", 0.04, 0.001, 10, "relative depth jump between neighbours that is an edge"),
            p_float("footprint", 0.6, 0.1, 4, "Gaussian std. dev. along the surface, in pixel footprints"),
            p_float("thickness", 0.1, 0.001, 1, "std. dev. across the surface relative to the footprint"),
            p_float("opacity", 0.98, 0.01, 0.9999, "opacity of each Gaussian"),
            p_float("max_depth", 0, 0, 1e6, "drop pixels deeper than this (0: keep all)"),
            p_float("empty_depth", 0, 0, 1e6, "pixels without depth (sky: depth 0) go to this distance (0: dropped)"),
            p_float("hole_threshold", 0.02, 0.0001, 1,
                    "hole fraction of the frame that defines the displacement limit"),
            p_float("limit_search", 0.5, 0.001, 100, "search the limit up to this x the median depth"),
            p_int("fill_views", 0, 0, 8, "extra views beyond the limit whose holes are inpainted and lifted"),
            p_float("fill_distance", 1.5, 0.1, 20, "extra views at this x the limit (views 7-8 at twice that)"),
            p_enum(
                "fill_method", "telea", {"telea", "sd"},
                "hole colours: OpenCV Telea inpainting, or Stable Diffusion inpainting (sd_checkpoint) over Telea's"),
            // Not content-hashed (gigabytes): the cache stamp below keys it on size + mtime.
            ParamSpec{"sd_checkpoint",
                      ParamType::Path,
                      "",
                      {},
                      {},
                      {},
                      "fill_method = sd: SD 1.5 single file or diffusers folder",
                      "SD checkpoints (*.safetensors *.ckpt);;dir"},
            p_input_path("sd_merges", "", "CLIP merges (*.txt *.gz)",
                         "fill_method = sd, single files: CLIP's BPE merges"),
            p_text("sd_prompt", "", "fill_method = sd: what the revealed background shows"),
            p_text("sd_negative_prompt", "", "fill_method = sd: negative prompt"),
            p_int("sd_steps", 20, 1, 200, "fill_method = sd: sampler steps"),
            p_float("sd_strength", 1.0, 0.05, 1.0, "fill_method = sd: img2img strength inside the holes"),
            p_seed("sd_seed", 0, "fill_method = sd: seed (fill view i uses seed + i)"),
            p_float("inpaint_radius", 5, 1, 50, "OpenCV inpainting radius, pixels"),
            p_int("refine_steps", 0, 0, 100000, "photometric refinement steps on the source (and filled) views")},
       .execute = lift_execute,
       .cache_stamp = [](const json& params, const fs::path& graph_dir) -> json {
         const std::string ckpt = params.value("sd_checkpoint", "");
         if (params.value("fill_method", "") != "sd" || ckpt.empty()) return nullptr;
         const fs::path p = fs::path(ckpt).is_relative() ? graph_dir / ckpt : fs::path(ckpt);
         return {{"sd_checkpoint", file_stamp(p)}};
       }});
  r.add({.type = "depth.check_path",
         .category = "Camera",
         .title = "Check Path Against Lift",
         .doc = "Checks each camera of a path against a lifted scene's displacement limit (direction-aware: the "
                "displacement in source camera axes over the per-direction limits); passes the path through.",
         .inputs = {{"scene", PortType::SplatScene, "scene from depth.lift"},
                    {"path", PortType::CameraPath, "camera path to check"}},
         .outputs = {with_overlay({"path", PortType::CameraPath, "the same path"}, "camera_path"),
                     {"record", PortType::Record, "per frame ratio to the limit (> 1: holes above the threshold)"}},
         .params = {p_enum("on_exceed", "report", {"report", "fail"},
                           "a frame beyond the limit: warn, or fail the node")},
         .execute = check_path_execute});
}

}  // namespace camgraph
