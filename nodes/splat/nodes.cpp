// splat family nodes: scene.procedural, splat.train, splat.render, splat.load_ply, splat.save_ply.
#include <ATen/ATen.h>

#include <cmath>
#include <numeric>

#include "camgraph/evaluator.h"
#include "camgraph/node_context.h"
#include "preview.h"
#include "procedural_scene.h"
#include "splat/io/dataset.h"
#include "splat/io/ply.h"
#include "splat/raster/render.h"
#include "splat/train/trainer.h"

namespace camgraph {

namespace fs = std::filesystem;
using namespace camgraph::splat;

namespace {

std::shared_ptr<SplatSceneValue> scene_from_gaussians(const GaussianSet& g) {
  auto scene = std::make_shared<SplatSceneValue>();
  scene->means = g.means;
  scene->log_scales = g.log_scales;
  scene->quats = g.quats;
  scene->opacity_logits = g.opacity_logits;
  scene->sh = g.sh;
  return scene;
}

// ---- scene.procedural -----------------------------------------------------------------------

void procedural_execute(NodeContext& ctx) {
  const int views = int(ctx.param_int("views"));
  const std::vector<Camera> cams = courtyard_ring(
      views, int(ctx.param_int("rings")), int(ctx.param_int("width")), int(ctx.param_int("height")),
      ctx.param_float("fov"), ctx.param_float("radius"), ctx.param_float("min_height"), ctx.param_float("max_height"));
  std::vector<at::Tensor> frames, depths;
  for (int i = 0; i < views; ++i) {
    ctx.check_cancelled();
    ProceduralRender r = render_courtyard(cams[size_t(i)], int(ctx.param_int("samples")));
    frames.push_back(r.rgb);
    depths.push_back(r.depth);
    ctx.progress(double(i + 1) / views, "view " + std::to_string(i + 1) + "/" + std::to_string(views));
  }
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = at::stack(frames);  // [N, H, W, 3]
  seq->depth = at::stack(depths);   // [N, H, W]
  seq->cameras = cams;
  seq->fps = 1;
  ctx.set_output("views", seq);
}

// ---- splat.train ----------------------------------------------------------------------------

SplatDataset dataset_from_views(NodeContext& ctx, const FrameSequenceValue& seq, int holdout_every) {
  if (seq.cameras.size() != size_t(seq.count()))
    ctx.fail_port("views", "the frames carry " + std::to_string(seq.cameras.size()) + " cameras for " +
                               std::to_string(seq.count()) + " frames; training needs one camera per frame");
  if (seq.count() < 2) ctx.fail_port("views", "training needs at least 2 views");
  SplatDataset d;
  d.normalisation = camera_normalisation(seq.cameras, true, &d.extent);
  for (int i = 0; i < seq.count(); ++i) {
    TrainView v;
    v.name = "view_" + std::to_string(i);
    v.image = seq.frames[i].slice(2, 0, 3).to(at::kFloat).contiguous();  // [H, W, 3]; the trainer moves it once
    v.camera = seq.cameras[size_t(i)];
    v.camera.world_to_camera = normalise_world_to_camera(v.camera.world_to_camera, d.normalisation);
    (holdout_every > 0 && i % holdout_every == 0 ? d.test : d.train).push_back(std::move(v));
  }
  if (seq.points.defined() && seq.points.numel() > 0) {
    // Sparse points on the wire (sfm.colmap): the initial Gaussians for init = auto / points.
    if (seq.points.dim() != 2 || seq.points.size(1) != 3)
      ctx.fail_port("views", "the views' sparse points must be [P, 3], got " + c10::str(seq.points.sizes()));
    if (seq.point_colours.defined() && !seq.point_colours.sizes().equals(seq.points.sizes()))
      ctx.fail_port("views", "the views' point colours " + c10::str(seq.point_colours.sizes()) +
                                 " do not match the points " + c10::str(seq.points.sizes()));
    const auto& n = d.normalisation;
    const at::Tensor centre = at::tensor({float(n.centre[0]), float(n.centre[1]), float(n.centre[2])});
    d.points = ((seq.points.to(at::kCPU, at::kFloat) - centre) * float(n.scale)).contiguous();  // [P, 3]
    d.point_colours = seq.point_colours.defined() ? seq.point_colours.to(at::kCPU, at::kFloat).contiguous()
                                                  : at::full({d.points.size(0), 3}, 0.5f);
  }
  if (d.train.empty()) ctx.fail("holdout_every", "every view was held out; nothing is left to train on");
  return d;
}

TrainOptions train_options(NodeContext& ctx) {
  TrainOptions o;
  o.iterations = int(ctx.param_int("steps"));
  o.seed = ctx.param_seed("seed");
  const auto bg = ctx.param_colour("background");
  o.background = {float(bg[0]), float(bg[1]), float(bg[2])};
  const std::string init = ctx.param_string("init");
  o.init = init == "points" || init == "ply" ? InitMode::kPoints
           : init == "random"                ? InitMode::kRandom
                                             : InitMode::kAuto;
  o.random_points = ctx.param_int("random_points");
  o.sh_degree = int(ctx.param_int("sh_degree"));
  o.sh_degree_interval = int(ctx.param_int("sh_degree_interval"));
  o.num_downscales = int(ctx.param_int("num_downscales"));
  o.resolution_schedule = int(ctx.param_int("resolution_schedule"));
  o.strategy = ctx.param_string("strategy") == "mcmc" ? DensifyStrategy::kMcmc : DensifyStrategy::kDefault;
  o.max_gaussians = ctx.param_int("max_gaussians");
  o.refine_start = int(ctx.param_int("refine_start"));
  o.refine_stop = int(ctx.param_int("refine_stop"));
  o.refine_every = int(ctx.param_int("refine_every"));
  o.opacity_reset_every = int(ctx.param_int("opacity_reset_every"));
  o.grad_threshold = ctx.param_float("grad_threshold");
  o.eval_every = int(ctx.param_int("eval_every"));
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    ctx.fail("steps", e.what());
  }
  return o;
}

// The run's device for training. The engine resolves `auto` before nodes run (a bare context may
// still carry it: CUDA when there is one, else the CPU); CUDA on a machine without it fails here.
c10::Device train_device(const NodeContext& ctx) {
  // Resolved by the engine in a graph run; a node run on its own may still say auto.
  const DeviceKind kind = resolve_device(ctx.device());
  if (kind == DeviceKind::Cuda && !cuda_available())
    ctx.fail("",
             "splat.train was asked to train on CUDA, but this libtorch or this machine has no CUDA device; "
             "run with --device cpu (or auto, which uses the CPU when there is no GPU), or build against a "
             "CUDA libtorch on a machine with an NVIDIA GPU (see README)");
  return to_torch_device(kind);
}

void train_execute(NodeContext& ctx) {
  const c10::Device device = train_device(ctx);
  const int holdout = int(ctx.param_int("holdout_every"));
  SplatDataset data;
  const std::string dataset_param = ctx.param_string("dataset");
  if (ctx.has_input("views") && !dataset_param.empty())
    ctx.fail("dataset", "both the 'views' input and the 'dataset' parameter are set; use one");
  if (ctx.has_input("views")) {
    data = dataset_from_views(ctx, *ctx.input<FrameSequenceValue>("views"), holdout);
    if (ctx.param_string("init") == "ply") {
      const fs::path p = ctx.input_path("init_ply");
      PointCloud pc;
      try {
        pc = read_point_cloud_ply(p);
      } catch (const std::exception& e) {
        ctx.fail("init_ply", e.what());
      }
      const auto& n = data.normalisation;
      data.points = (pc.xyz.to(at::kFloat) - at::tensor({float(n.centre[0]), float(n.centre[1]), float(n.centre[2])})) *
                    float(n.scale);  // [P, 3]
      data.point_colours = pc.colours;
    } else if (ctx.param_string("init") == "points" && !data.points.defined()) {
      ctx.fail("init", "the connected views carry no sparse points (sfm.colmap's do); use auto, random or ply");
    }
  } else if (!dataset_param.empty()) {
    DatasetOptions opt;
    opt.downscale = int(ctx.param_int("downscale"));
    opt.max_images = int(ctx.param_int("max_images"));
    opt.holdout_every = holdout;
    opt.random_points = int(ctx.param_int("random_points"));
    opt.seed = ctx.param_seed("seed");
    const std::string init = ctx.param_string("init");
    opt.init = init == "ply" ? "ply:" + ctx.input_path("init_ply").string() : init;
    try {
      data = load_dataset(ctx.input_path("dataset"), opt, [&](const std::string& w) { ctx.warn(w); });
    } catch (const GraphError&) {
      throw;
    } catch (const std::exception& e) {
      ctx.fail("dataset", e.what());
    }
  } else {
    ctx.fail("dataset", "no training images: connect 'views' or set 'dataset' (a COLMAP folder or transforms.json)");
  }

  const TrainOptions options = train_options(ctx);
  const std::string ckpt_param = ctx.param_string("checkpoint");
  const fs::path ckpt = ckpt_param.empty() ? fs::path() : ctx.output_path("checkpoint");
  std::unique_ptr<Trainer> trainer;
  std::error_code ec;
  if (!ckpt.empty() && fs::exists(ckpt, ec)) {
    try {
      trainer = std::make_unique<Trainer>(Trainer::resume(ckpt, data, device));
    } catch (const std::exception& e) {
      ctx.fail("checkpoint", std::string("cannot resume: ") + e.what());
    }
    if (trainer->options().to_json() != options.to_json())
      ctx.fail("checkpoint",
               ckpt.string() + " was written with other training options; remove it or choose another path");
    ctx.warn("resuming from " + ckpt.string() + " at step " + std::to_string(trainer->step_count()));
  } else {
    trainer = std::make_unique<Trainer>(data, options, device);
  }

  // The training cameras in world coordinates (for the scene and its previews).
  std::vector<Camera> world_cameras;
  const SceneNormalisation& n = data.normalisation;
  for (const auto* views : {&data.train, &data.test})
    for (const auto& v : *views) {
      // Back to world coordinates: normalised t' = s (R c + t), so t = t' / s - R c.
      Camera c = v.camera;
      Mat4 m = c.world_to_camera;
      for (int r = 0; r < 3; ++r) m[r * 4 + 3] /= n.scale;
      for (int r = 0; r < 3; ++r)
        m[r * 4 + 3] -= m[r * 4 + 0] * n.centre[0] + m[r * 4 + 1] * n.centre[1] + m[r * 4 + 2] * n.centre[2];
      c.world_to_camera = m;
      world_cameras.push_back(c);
    }
  // A scene of the trainer's current Gaussians: gaussians_world() detaches and copies every tensor,
  // so the trainer's later in-place updates do not reach it.
  auto current_scene = [&](const json& info) {
    auto scene = scene_from_gaussians(trainer->gaussians_world());
    scene->training_cameras = world_cameras;
    scene->info = info;
    return scene;
  };

  RunCallbacks cb;
  const int progress_every = std::max(1, options.iterations / 200);
  // Live previews (only when the run asks for them: headless runs copy nothing): a snapshot of the
  // scene every preview_every steps, as a Preview event. The trainer calls back at a step that is a
  // multiple of both intervals.
  const int preview_every = ctx.wants_previews() ? int(ctx.param_int("preview_every")) : 0;
  cb.progress_every = preview_every > 0 ? std::gcd(progress_every, preview_every) : progress_every;
  cb.cancelled = [&] { return ctx.cancelled(); };
  if (!ckpt.empty()) {
    cb.checkpoint_path = ckpt;
    cb.checkpoint_every = int(ctx.param_int("checkpoint_every"));
  }
  json curve = json::array();
  cb.progress = [&](const TrainProgress& p) {
    if (preview_every > 0 && p.step % preview_every == 0 && p.step < p.total) {
      const json info = {{"preview_step", p.step}, {"total", p.total}, {"gaussians", p.gaussians}};
      ctx.preview(current_scene(info), "step " + std::to_string(p.step) + "/" + std::to_string(p.total),
                  {{"step", p.step}, {"total", p.total}, {"gaussians", p.gaussians}});
    }
    if (p.step % progress_every != 0 && p.step != p.total) return;
    json point = {{"step", p.step},           {"loss", p.loss},
                  {"gaussians", p.gaussians}, {"seconds_per_step", p.seconds_per_step},
                  {"sh_degree", p.sh_degree}, {"width", p.width},
                  {"height", p.height}};
    if (std::isfinite(p.psnr)) point["psnr"] = p.psnr;
    curve.push_back(point);
    char msg[160];
    std::snprintf(msg, sizeof msg, "step %d/%d  loss %.4f  %lld gaussians  %.3f s/step", p.step, p.total, p.loss,
                  static_cast<long long>(p.gaussians), p.seconds_per_step);
    ctx.progress(double(p.step) / p.total, msg, point);
  };
  const TrainProgress final_progress = trainer->run(cb);
  ctx.check_cancelled();

  json metrics = {{"steps", final_progress.step},
                  {"gaussians", trainer->num_gaussians()},
                  {"seconds_per_step", final_progress.seconds_per_step},
                  {"train_views", data.train.size()},
                  {"test_views", data.test.size()},
                  {"curve", curve},
                  {"options", options.to_json()}};
  if (!data.test.empty()) {
    const EvalResult ev = trainer->evaluate();
    metrics["test_psnr"] = ev.psnr;
    metrics["test_ssim"] = ev.ssim;
    metrics["test_l1"] = ev.l1;
  }

  auto scene = current_scene({{"extent", data.extent / n.scale},
                              {"centre", n.centre},
                              {"trainer", metrics["options"]},
                              {"test_psnr", metrics.value("test_psnr", json(nullptr))}});
  auto rec = std::make_shared<RecordValue>();
  rec->record = metrics;
  ctx.set_output("scene", scene);
  ctx.set_output("metrics", rec);
}

// ---- splat.render ---------------------------------------------------------------------------

void render_execute(NodeContext& ctx) {
  auto scene = ctx.input<SplatSceneValue>("scene");
  auto path = ctx.input<CameraPathValue>("path");
  if (path->cameras.empty()) ctx.fail_port("path", "the camera path has no frames");
  if (scene->count() == 0) ctx.fail_port("scene", "the splat scene has no Gaussians");
  const int width = int(ctx.param_int("width")), height = int(ctx.param_int("height"));
  const auto bg = ctx.param_colour("background");
  RenderSettings s;
  s.background = {float(bg[0]), float(bg[1]), float(bg[2])};
  const int degree = int(ctx.param_int("sh_degree"));
  s.sh_degree = degree < 0 ? scene->sh_degree() : std::min(degree, scene->sh_degree());
  const bool with_alpha = ctx.param_bool("alpha");
  const c10::Device dev = ctx.torch_device();
  const at::Tensor means = scene->means.to(dev), scales = scene->log_scales.to(dev), quats = scene->quats.to(dev),
                   opac = scene->opacity_logits.to(dev), sh = scene->sh.to(dev);
  std::vector<at::Tensor> frames, depths;
  std::vector<Camera> cams;
  const int n = int(path->cameras.size());
  for (int i = 0; i < n; ++i) {
    ctx.check_cancelled();
    Camera c = path->cameras[size_t(i)];
    if (width > 0 && height > 0) c = c.resized(width, height);
    RenderCamera rc = to_render_camera(c);
    rc.viewmat = rc.viewmat.to(dev);
    RenderOutput out;
    {
      at::NoGradGuard no_grad;
      out = render(means, scales, quats, opac, sh, rc, s);
    }
    at::Tensor rgb = out.rgb.clamp(0, 1);
    frames.push_back(with_alpha ? at::cat({rgb, out.alpha.unsqueeze(2)}, 2) : rgb);
    depths.push_back(out.depth);
    cams.push_back(c);
    ctx.progress(double(i + 1) / n, "frame " + std::to_string(i + 1) + "/" + std::to_string(n));
  }
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = at::stack(frames);
  seq->depth = at::stack(depths);
  seq->cameras = cams;
  seq->fps = path->fps;
  ctx.set_output("frames", seq);
}

// ---- PLY ------------------------------------------------------------------------------------

GaussianSet to_gaussians(const SplatSceneValue& s) {
  GaussianSet g;
  g.means = s.means.to(at::kCPU);
  g.log_scales = s.log_scales.to(at::kCPU);
  g.quats = s.quats.to(at::kCPU);
  g.opacity_logits = s.opacity_logits.to(at::kCPU);
  g.sh = s.sh.to(at::kCPU);
  return g;
}

void load_ply_execute(NodeContext& ctx) {
  const fs::path p = ctx.input_path("path");
  const GaussianSet g = ctx.guard("path", [&] { return read_gaussian_ply(p); });
  auto scene = scene_from_gaussians(g);
  scene->info = {{"source", p.string()}};
  ctx.set_output("scene", scene);
}

void save_ply_execute(NodeContext& ctx) {
  auto scene = ctx.input<SplatSceneValue>("scene");
  const fs::path p = ctx.output_path("path");
  if (p.extension() != ".ply") ctx.fail("path", "'" + p.filename().string() + "' should end in .ply");
  ctx.guard("path",
            [&] { ctx.files().write(p, gaussian_ply_bytes(to_gaussians(*scene)), ctx.param_bool("overwrite")); });
  ctx.set_record("files", {{"files", {p.string()}}, {"gaussians", scene->count()}});
}

}  // namespace

void register_splat_nodes(Registry& r) {
  splat::register_splat_preview(r);  // the editor viewport's SplatScene renderer
  r.add({.type = "scene.procedural",
         .category = "Source",
         .title = "Procedural Courtyard",
         .doc = "Ray-traces a small textured courtyard (brick walls, stone floor, sphere, boxes, pillar; "
                "+Z up) from a ring of cameras: training views with exact cameras and depth, no data needed.",
         .outputs = {{"views", PortType::FrameSequence, "rendered views with one camera each, and depth"}},
         .params = {p_int("views", 24, 2, 1000, "number of cameras on the ring"),
                    p_int("rings", 2, 1, 8, "camera heights, spread between min_height and max_height"),
                    p_int("width", 128, 8, 4096, "image width"), p_int("height", 96, 8, 4096, "image height"),
                    p_float("fov", 60, 5, 150, "vertical field of view, degrees"),
                    p_float("radius", 2.3, 0.2, 2.9, "ring radius (walls at 3 m)"),
                    p_float("min_height", 0.8, 0.05, 2.1, "lowest camera height"),
                    p_float("max_height", 1.8, 0.05, 2.1, "highest camera height"),
                    p_int("samples", 2, 1, 8, "supersampling per axis (anti-aliasing)")},
         .execute = procedural_execute});
  r.add(
      {.type = "splat.train",
       .category = "3D",
       .title = "Splat Trainer",
       .doc = "Trains a 3D Gaussian Splatting scene (L1 + 0.2 D-SSIM, Adam, SH warm-up, adaptive density "
              "control or MCMC) from views with cameras, a COLMAP folder or a transforms.json. Every "
              "holdout_every-th view is held out for PSNR/SSIM.",
       .inputs = {{"views", PortType::FrameSequence, "training images with one camera per frame", true}},
       .outputs = {{"scene", PortType::SplatScene, "trained Gaussians (world coordinates)"},
                   {"metrics", PortType::Record, "loss curve, held-out PSNR/SSIM, timing"}},
       .params = {p_input_path("dataset", "", "COLMAP folder or transforms.json (*.json)",
                               "COLMAP folder or transforms.json, when 'views' is not connected"),
                  p_int("downscale", 1, 1, 64, "dataset images: integer downscale factor"),
                  p_int("max_images", 0, 0, 100000, "dataset images: use at most this many (0: all)"),
                  p_int("holdout_every", 8, 0, 1000, "hold out every n-th view for evaluation (0: none)"),
                  p_int("steps", 2000, 1, 1000000, "training steps"),
                  p_seed("seed", 0, "seed for initialisation, view order and densification"),
                  p_colour("background", "#000000", "background colour behind the Gaussians"),
                  p_enum("init", "auto", {"auto", "points", "ply", "random"},
                         "initial Gaussians: auto = the dataset's sparse points when it has them, else random in the "
                         "scene bounds; ply = the point cloud in init_ply"),
                  p_input_path("init_ply", "", "Point clouds (*.ply)",
                               "point cloud for init = ply (dataset training only)"),
                  p_int("random_points", 20000, 1, 10000000, "random initialisation: number of Gaussians"),
                  p_int("sh_degree", 3, 0, 3, "spherical-harmonics degree"),
                  p_int("sh_degree_interval", 1000, 1, 1000000, "raise the SH degree every n steps"),
                  p_int("num_downscales", 0, 0, 6, "train at 1/2^n resolution first"),
                  p_int("resolution_schedule", 3000, 1, 1000000, "halve the downscale every n steps"),
                  p_enum("strategy", "adc", {"adc", "mcmc"}, "densification: adaptive density control (3DGS) or MCMC"),
                  p_int("max_gaussians", 1000000, 1, 100000000, "cap on the number of Gaussians"),
                  p_int("refine_start", 500, 0, 1000000, "densify from this step"),
                  p_int("refine_stop", 15000, 0, 1000000, "densify until this step"),
                  p_int("refine_every", 100, 1, 100000, "densify every n steps"),
                  p_int("opacity_reset_every", 3000, 0, 1000000, "reset opacities every n steps (0: never)"),
                  p_float("grad_threshold", 0.0002, 0, 1, "view-space gradient threshold for densification"),
                  p_int("eval_every", 0, 0, 1000000, "evaluate held-out views every n steps (0: at the end)"),
                  p_output_path("checkpoint", "",
                                "checkpoint file (relative: under the output folder); resumes when it exists"),
                  p_int("checkpoint_every", 1000, 1, 1000000, "save the checkpoint every n steps"),
                  outputs_unaffected(p_int("preview_every", 100, 0, 1000000,
                                           "editor: send a snapshot of the scene for the live viewport every n steps "
                                           "(0: never; headless runs send none)"))},
       .execute = train_execute});
  r.add({.type = "splat.render",
         .category = "3D",
         .title = "Splat Render",
         .doc = "Renders a splat scene along a camera path: RGB (optionally with alpha), depth, one camera per frame.",
         .inputs = {{"scene", PortType::SplatScene, "Gaussians to render"},
                    {"path", PortType::CameraPath, "one camera per frame"}},
         .outputs = {{"frames", PortType::FrameSequence, "rendered frames with cameras and depth"}},
         .params = {p_int("width", 0, 0, 16384, "output width (0: the cameras' own size)"),
                    p_int("height", 0, 0, 16384, "output height (0: the cameras' own size)"),
                    p_colour("background", "#000000", "background colour"),
                    p_int("sh_degree", -1, -1, 3, "SH degree to evaluate (-1: the scene's)"),
                    p_bool("alpha", false, "output RGBA frames (alpha = accumulated opacity)")},
         .execute = render_execute});
  r.add({.type = "splat.load_ply",
         .category = "3D",
         .title = "Load Splat PLY",
         .doc = "Reads a standard 3DGS PLY (any SH degree) trained by CamGraph or elsewhere.",
         .outputs = {{"scene", PortType::SplatScene, "the Gaussians"}},
         .params = {p_input_path("path", "", "Gaussian splats (*.ply)", "3DGS .ply file")},
         .execute = load_ply_execute});
  r.add({.type = "splat.save_ply",
         .category = "Output",
         .title = "Save Splat PLY",
         .doc = "Writes the standard 3DGS PLY (x y z, nx ny nz, f_dc, f_rest, opacity, scale, rot) that common viewers "
                "open.",
         .inputs = {{"scene", PortType::SplatScene, "Gaussians to write"}},
         .outputs = {{"files", PortType::Record, "the file written"}},
         .params = {p_output_path("path", "scene.ply", "file to write (relative: under the run's output folder)"),
                    p_bool("overwrite", false, "replace an existing file that CamGraph did not write")},
         .is_output = true,
         .execute = save_ply_execute});
}

}  // namespace camgraph
