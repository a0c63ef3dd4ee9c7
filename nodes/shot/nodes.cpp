// shot family: shot.billboard (places RGBA cutouts in a splat scene) and shot.render (splat +
// billboards along a camera path, every k-th frame for keyframe interpolation, full-rate ground truth).
#include <ATen/ATen.h>

#include <chrono>
#include <cmath>

#include "camera/geometry.h"
#include "camgraph/node_context.h"
#include "shot/compositor.h"
#include "splat/raster/render.h"

namespace camgraph {

using namespace camgraph::cam;
using namespace camgraph::shot;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The scene's Gaussians on the CPU, once per node run.
struct Gaussians {
  at::Tensor means, log_scales, quats, opacity_logits, sh;  // [N, 3], [N, 3], [N, 4], [N], [N, K, 3]
  int sh_degree = 0;
  Gaussians(const SplatSceneValue& s, int degree)
      : means(s.means.to(at::kCPU)),
        log_scales(s.log_scales.to(at::kCPU)),
        quats(s.quats.to(at::kCPU)),
        opacity_logits(s.opacity_logits.to(at::kCPU)),
        sh(s.sh.to(at::kCPU)),
        sh_degree(degree < 0 ? s.sh_degree() : std::min(degree, s.sh_degree())) {}
};

// Splat layer for one camera: premultiplied colour (rendered over black), alpha, depth; only the
// Gaussians in `subset` ([N] bool) when it is defined.
Layer render_splats(const Gaussians& g, const Camera& c, const at::Tensor& subset = {}) {
  splat::RenderSettings s;
  s.background = {0, 0, 0};
  s.sh_degree = g.sh_degree;
  splat::RenderOutput out;
  {
    at::NoGradGuard no_grad;
    if (subset.defined()) {
      const at::Tensor idx = at::nonzero(subset).view(-1);  // [M]
      if (idx.numel() == 0) return empty_layer(c.height, c.width);
      out = splat::render(g.means.index_select(0, idx), g.log_scales.index_select(0, idx), g.quats.index_select(0, idx),
                          g.opacity_logits.index_select(0, idx), g.sh.index_select(0, idx), splat::to_render_camera(c),
                          s);
    } else {
      out = splat::render(g.means, g.log_scales, g.quats, g.opacity_logits, g.sh, splat::to_render_camera(c), s);
    }
  }
  Layer l;
  // The renderer clamps colour at 0 per Gaussian; premultiplied colour cannot exceed alpha.
  l.alpha = out.alpha.contiguous();
  l.rgb = at::minimum(out.rgb.clamp_min(0), l.alpha.unsqueeze(2)).contiguous();
  l.depth = out.depth.contiguous();
  return l;
}

// ---- shot.billboard -------------------------------------------------------------------------

void billboard_execute(NodeContext& ctx) {
  auto image = ctx.input<ImageValue>("image");
  at::Tensor rgba = image->pixels.to(at::kCPU, at::kFloat);  // [h, w, C]
  if (ctx.has_input("mask")) {
    auto mask = ctx.input<MaskValue>("mask");
    if (mask->mask.size(0) != image->height() || mask->mask.size(1) != image->width())
      ctx.fail_port("mask", "the mask is " + std::to_string(mask->mask.size(1)) + "x" +
                                std::to_string(mask->mask.size(0)) + " but the image is " +
                                std::to_string(image->width()) + "x" + std::to_string(image->height()));
    rgba = at::cat({rgba.slice(2, 0, 3), mask->mask.to(at::kCPU, at::kFloat).unsqueeze(2)}, 2);
  } else if (!image->has_alpha()) {
    ctx.fail_port("image", "the cutout has no alpha channel; connect an RGBA image (matting) or a mask");
  }
  rgba = rgba.contiguous();
  const ContentBox cb = content_box(rgba.select(2, 3), ctx.param_float("alpha_threshold"));
  if (cb.empty) ctx.fail_port("image", "the cutout is fully transparent (no alpha above alpha_threshold)");

  std::shared_ptr<const SplatSceneValue> scene;
  if (ctx.has_input("scene")) scene = ctx.input<SplatSceneValue>("scene");
  Billboard b;
  b.up = ctx.guard("up", [&] {
    return resolve_up(ctx.param_string("up"), scene ? scene->training_cameras : std::vector<Camera>{});
  });
  json pick_info;
  if (ctx.param_string("foot_mode") == "pick") {
    if (!scene) ctx.fail("foot_mode", "foot_mode = pick needs the 'scene' input (its depth and training cameras)");
    const int view = int(ctx.param_int("pick_view"));
    if (view >= int(scene->training_cameras.size()))
      ctx.fail("pick_view", "view " + std::to_string(view) + " does not exist (the scene has " +
                                std::to_string(scene->training_cameras.size()) + " training cameras)");
    Camera c = scene->training_cameras[size_t(view)];
    if (c.width > 512) c = c.resized(512, std::max(1, int(std::lround(c.height * 512.0 / c.width))));
    const Layer l = render_splats(Gaussians(*scene, 0), c);
    const int px = std::clamp(int(ctx.param_float("pick_u") * c.width), 0, c.width - 1);
    const int py = std::clamp(int(ctx.param_float("pick_v") * c.height), 0, c.height - 1);
    // Median depth of the opaque pixels in a 5x5 window (robust to splat edges).
    const at::Tensor win_a = l.alpha.slice(0, std::max(0, py - 2), py + 3).slice(1, std::max(0, px - 2), px + 3);
    const at::Tensor win_d = l.depth.slice(0, std::max(0, py - 2), py + 3).slice(1, std::max(0, px - 2), px + 3);
    const at::Tensor good = win_d.masked_select(win_a > 0.5f);
    if (good.numel() == 0)
      ctx.fail("pick_u", "nothing opaque in the splat render at that image location of view " + std::to_string(view));
    const double z = std::get<0>(good.median(0)).item<double>();
    const Pose pose = Pose::from_world_to_camera(c.world_to_camera);
    const Vec3 d{(px + 0.5 - c.cx) / c.fx, (py + 0.5 - c.cy) / c.fy, 1};
    b.foot = pose.C + z * mat3_apply(pose.R, d);
    pick_info = {{"view", view}, {"pixel", {px, py}}, {"image_size", {c.width, c.height}}, {"depth", z}};
  } else {
    b.foot = {ctx.param_float("foot_x"), ctx.param_float("foot_y"), ctx.param_float("foot_z")};
  }
  b.height = ctx.param_float("height");
  b.faces_camera = ctx.param_string("facing") == "camera";
  {
    // Fixed facing: yaw about up from a reference horizontal axis (world x, or y when up is x).
    Vec3 ref = std::abs(b.up[0]) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
    ref = normalised(ref - dot(ref, b.up) * b.up);
    b.normal = mat3_apply(axis_angle(b.up, ctx.param_float("yaw") * M_PI / 180), ref);
  }
  b.cutout_width = image->width();
  b.cutout_height = image->height();
  b.content = cb.box;
  b.foot_px = cb.foot;

  // Chain: append to upstream billboards and cutouts.
  json list = json::array();
  std::vector<at::Tensor> cutouts;
  if (ctx.has_input("billboards") != ctx.has_input("cutouts"))
    ctx.fail_port("billboards", "connect both 'billboards' and 'cutouts' from the previous shot.billboard, or neither");
  if (ctx.has_input("billboards")) {
    const json& rec = ctx.input<RecordValue>("billboards")->record;
    if (!rec.contains("billboards") || !rec["billboards"].is_array())
      ctx.fail_port("billboards", "expected the record of a shot.billboard node");
    list = rec["billboards"];
    auto prev = ctx.input<FrameSequenceValue>("cutouts");
    for (int i = 0; i < prev->count(); ++i) cutouts.push_back(prev->frames[i]);
    if (size_t(prev->count()) != list.size())
      ctx.fail_port("cutouts", "the cutouts (" + std::to_string(prev->count()) + ") do not match the billboards (" +
                                   std::to_string(list.size()) + ")");
  }
  b.cutout = int(cutouts.size());
  json entry = b.to_json();
  entry["shadow"] = {{"enabled", ctx.param_bool("shadow")},
                     {"strength", ctx.param_float("shadow_strength")},
                     {"radius", ctx.param_float("shadow_radius") * b.height}};
  entry["colour_match"] = {{"mode", ctx.param_string("colour_match")}, {"strength", ctx.param_float("match_strength")}};
  entry["name"] = ctx.node_id();
  if (!pick_info.is_null()) entry["picked"] = pick_info;
  list.push_back(entry);
  cutouts.push_back(rgba);

  // One sequence, padded with transparent pixels to the largest cutout (each billboard knows its size).
  int64_t H = 0, W = 0;
  for (const auto& c : cutouts) H = std::max(H, c.size(0)), W = std::max(W, c.size(1));
  std::vector<at::Tensor> padded;
  for (const auto& c : cutouts) {
    at::Tensor p = at::zeros({H, W, 4}, at::kFloat);
    p.slice(0, 0, c.size(0)).slice(1, 0, c.size(1)).copy_(c);
    padded.push_back(p);
  }
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = at::stack(padded);  // [N, H, W, 4] straight alpha
  seq->fps = 1;
  ctx.set_record("billboards", {{"billboards", list}});
  ctx.set_output("cutouts", seq);
}

// ---- shot.render ----------------------------------------------------------------------------

struct PlacedBillboard {
  Billboard b;
  at::Tensor cutout;  // [h, w, 4] straight alpha, colour-matched
  json settings;
};

// The billboards with their cutouts (CPU, RGBA), when connected.
std::vector<PlacedBillboard> placed_billboards(NodeContext& ctx) {
  std::vector<PlacedBillboard> placed;
  if (!ctx.has_input("billboards")) return placed;
  if (!ctx.has_input("cutouts"))
    ctx.fail_port("cutouts", "billboards need their cutouts (connect shot.billboard's 'cutouts')");
  const json& rec = ctx.input<RecordValue>("billboards")->record;
  auto cut = ctx.input<FrameSequenceValue>("cutouts");
  const std::vector<Billboard> bbs = ctx.guard("billboards", [&] { return billboards_from_record(rec); });
  for (size_t i = 0; i < bbs.size(); ++i) {
    const Billboard& b = bbs[i];
    if (b.cutout < 0 || b.cutout >= cut->count() || b.cutout_height > cut->frames.size(1) ||
        b.cutout_width > cut->frames.size(2))
      ctx.fail_port("cutouts", "billboard " + std::to_string(i) + " refers to a cutout that is not in 'cutouts'");
    PlacedBillboard p;
    p.b = b;
    p.cutout = cut->frames[b.cutout]
                   .slice(0, 0, b.cutout_height)
                   .slice(1, 0, b.cutout_width)
                   .to(at::kCPU, at::kFloat)
                   .contiguous();
    if (p.cutout.size(2) != 4) ctx.fail_port("cutouts", "cutouts must be RGBA");
    p.settings = rec["billboards"][i];
    placed.push_back(p);
  }
  return placed;
}

// Colour match once, from the splats of the first frame (camera `c`) around each foot: it cannot
// flicker. Returns the gains per billboard; an empty list when no billboard asks for a match.
json match_colours(std::vector<PlacedBillboard>& placed, const Gaussians& gaussians, const Camera& c) {
  json matched = json::array();
  bool any_match = false;
  for (const auto& p : placed)
    any_match = any_match || p.settings.value("colour_match", json::object()).value("mode", "off") != "off";
  if (!any_match) return matched;
  const Layer l = render_splats(gaussians, c);
  for (auto& p : placed) {
    const json& cm = p.settings.value("colour_match", json::object());
    const std::string mode = cm.value("mode", std::string("off"));
    std::array<double, 3> g{1, 1, 1};
    const Projection f = project(c, p.b.foot);
    if (mode != "off" && f.z > 0) {
      const double radius = std::max(3.0, 0.5 * p.b.height * c.fy / f.z);
      g = colour_match_gains(p.cutout, l.rgb, l.alpha, f.u, f.v, radius, mode == "colour", cm.value("strength", 0.5));
      const at::Tensor gain = at::tensor({float(g[0]), float(g[1]), float(g[2])});
      p.cutout = at::cat({(p.cutout.slice(2, 0, 3) * gain).clamp(0, 1), p.cutout.slice(2, 3, 4)}, 2).contiguous();
    }
    matched.push_back({{"billboard", p.settings.value("name", std::string())}, {"mode", mode}, {"gains", g}});
  }
  return matched;
}

// One frame: splats and billboards composited over nothing, with the fraction of each billboard
// that is visible.
struct ShotFrame {
  Layer layer;
  json visible = json::array();
};

ShotFrame render_shot_frame(const Gaussians& gaussians, const std::vector<PlacedBillboard>& placed, const Camera& c,
                            int supersample) {
  // Billboards farthest first. Each splits off the remaining Gaussians behind its plane; the
  // layers are composited back to front: splats behind b1, b1, splats between b1 and b2, b2, ...
  std::vector<size_t> order(placed.size());
  for (size_t q = 0; q < order.size(); ++q) order[q] = q;
  const Vec3 eye = c.position();
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return norm(placed[a].b.foot - eye) > norm(placed[b].b.foot - eye); });
  auto shade = [&](Layer& l) {
    for (const auto& p : placed) {
      const json& sh = p.settings.value("shadow", json::object());
      if (sh.value("enabled", false))
        apply_contact_shadow(l, p.b, c, sh.value("strength", 0.5), sh.value("radius", 0.3));
    }
  };
  ShotFrame out;
  Layer& layer = out.layer;
  layer = empty_layer(c.height, c.width);
  std::vector<at::Tensor> seen(placed.size());  // per billboard: its alpha times the transmittance in front
  std::vector<double> own(placed.size(), 0.0);  // per billboard: its own coverage (alpha sum)
  at::Tensor remaining = at::ones({gaussians.means.size(0)}, at::kBool);
  auto put_in_front = [&](const Layer& l) {
    layer = over(l, layer);
    for (auto& v : seen)
      if (v.defined()) v = v * (1 - l.alpha);
  };
  for (size_t q : order) {
    const at::Tensor behind = remaining & behind_plane(gaussians.means, placed[q].b, eye);
    Layer back = render_splats(gaussians, c, behind);
    shade(back);
    put_in_front(back);
    remaining = remaining & ~behind;
    const Layer top = render_billboard(placed[q].b, placed[q].cutout, c, supersample);
    put_in_front(top);
    seen[q] = top.alpha;
    own[q] = top.alpha.sum().item<double>();
  }
  Layer front = render_splats(gaussians, c, placed.empty() ? at::Tensor() : remaining);
  shade(front);
  put_in_front(front);
  // Visible fraction: how much of each billboard's coverage is not hidden by what lies in front.
  for (size_t q = 0; q < placed.size(); ++q)
    out.visible.push_back(own[q] > 0 ? seen[q].sum().item<double>() / own[q] : 0.0);
  return out;
}

// The rendered frames by path index; a sequence of some of them.
struct RenderedFrames {
  std::vector<at::Tensor> frames, depths;
  std::vector<Camera> cams;

  std::shared_ptr<FrameSequenceValue> sequence(const std::vector<int>& which, double fps) const {
    auto seq = std::make_shared<FrameSequenceValue>();
    std::vector<at::Tensor> f, d;
    for (int i : which) {
      f.push_back(frames[size_t(i)]);
      d.push_back(depths[size_t(i)]);
      seq->cameras.push_back(cams[size_t(i)]);
    }
    seq->frames = at::stack(f);
    seq->depth = at::stack(d);
    seq->fps = fps;
    return seq;
  }
};

void shot_render_execute(NodeContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  auto scene = ctx.input<SplatSceneValue>("scene");
  auto path = ctx.input<CameraPathValue>("path");
  if (path->cameras.empty()) ctx.fail_port("path", "the camera path has no frames");
  if (scene->count() == 0) ctx.fail_port("scene", "the splat scene has no Gaussians");
  const int width = int(ctx.param_int("width")), height = int(ctx.param_int("height"));
  if ((width > 0) != (height > 0)) ctx.fail("width", "set both width and height, or neither (0: the path's size)");
  const auto bg = ctx.param_colour("background");
  const at::Tensor bg_t = at::tensor({float(bg[0]), float(bg[1]), float(bg[2])});
  const int k = int(ctx.param_int("every"));
  const bool keep_gt = ctx.param_bool("ground_truth");
  const bool with_alpha = ctx.param_bool("alpha");
  const int ss = int(ctx.param_int("supersample"));
  const Gaussians gaussians(*scene, int(ctx.param_int("sh_degree")));
  std::vector<PlacedBillboard> placed = placed_billboards(ctx);

  const int n = int(path->cameras.size());
  std::vector<int> indices;
  for (int i = 0; i < n; i += k) indices.push_back(i);
  if (k > 1 && (n - 1) % k != 0)
    ctx.warn("the path has " + std::to_string(n) + " frames: with every = " + std::to_string(k) +
             " the last frame is not rendered (use 4n+1 frames with every = 4)");
  std::vector<int> todo;
  if (keep_gt)
    for (int i = 0; i < n; ++i) todo.push_back(i);
  else todo = indices;

  auto frame_camera = [&](int i) {
    return width > 0 ? path->cameras[size_t(i)].resized(width, height) : path->cameras[size_t(i)];
  };
  const json matched = match_colours(placed, gaussians, frame_camera(todo[0]));

  const size_t total = static_cast<size_t>(n);
  RenderedFrames out{std::vector<at::Tensor>(total), std::vector<at::Tensor>(total), std::vector<Camera>(total)};
  json visible = json::array();
  for (size_t j = 0; j < todo.size(); ++j) {
    ctx.check_cancelled();
    const int i = todo[j];
    const Camera c = frame_camera(i);
    const ShotFrame f = render_shot_frame(gaussians, placed, c, ss);
    visible.push_back(f.visible);
    const Layer& layer = f.layer;
    const at::Tensor rgb = (layer.rgb + (1 - layer.alpha.unsqueeze(2)) * bg_t).clamp(0, 1);
    out.frames[size_t(i)] = with_alpha ? at::cat({rgb, layer.alpha.unsqueeze(2)}, 2) : rgb;
    out.depths[size_t(i)] = layer.depth;
    out.cams[size_t(i)] = c;
    ctx.progress(double(j + 1) / todo.size(), "frame " + std::to_string(j + 1) + "/" + std::to_string(todo.size()));
  }
  ctx.set_output("frames", out.sequence(indices, path->fps / k));
  if (keep_gt) {
    std::vector<int> all(total);
    for (int i = 0; i < n; ++i) all[size_t(i)] = i;
    ctx.set_output("ground_truth", out.sequence(all, path->fps));
  } else {
    auto empty = std::make_shared<FrameSequenceValue>();
    const at::Tensor f0 = out.frames[size_t(indices[0])];
    empty->frames = at::zeros({0, f0.size(0), f0.size(1), f0.size(2)}, at::kFloat);
    empty->fps = path->fps;
    ctx.set_output("ground_truth", empty);
  }
  ctx.set_record("info", {{"frames", indices},
                          {"every", k},
                          {"path_frames", n},
                          {"ground_truth", keep_gt},
                          {"fps", path->fps / k},
                          {"billboards", placed.size()},
                          {"colour_match", matched},
                          {"billboard_visible_fraction", visible},
                          {"motion", path->motion},
                          {"seconds", seconds_since(t0)},
                          {"seconds_per_frame", seconds_since(t0) / todo.size()}});
}

}  // namespace

void register_shot_nodes(Registry& r) {
  r.add({.type = "shot.billboard",
         .category = "Shot",
         .title = "Billboard Placer",
         .doc = "Places an RGBA cutout (e.g. from matting) in a splat scene: foot point on the ground (world "
                "coordinates, or picked at an image location of a training view through the splat depth), height "
                "in world units, upright billboard turning to the camera or fixed. Chain several placers for "
                "several billboards; shot.render draws them.",
         .inputs = {{"image", PortType::Image, "the cutout: RGBA (straight alpha), or RGB with 'mask'"},
                    {"mask", PortType::Mask, "alpha for an RGB image", true},
                    {"scene", PortType::SplatScene, "splat scene: for foot_mode = pick and up = cameras", true},
                    {"billboards", PortType::Record, "billboards of a previous placer (chain)", true},
                    {"cutouts", PortType::FrameSequence, "cutouts of a previous placer (chain)", true}},
         .outputs = {with_overlay({"billboards", PortType::Record,
                                   "placements: {\"billboards\": [...]} (see docs/camera-motion.md)"},
                                  "billboards", "cutouts"),
                     {"cutouts", PortType::FrameSequence, "the cutout images, one frame per billboard (RGBA, padded)"}},
         .params = {p_enum("foot_mode", "world", {"world", "pick"},
                           "foot point: world coordinates, or picked in a training view"),
                    p_float("foot_x", 0, -1e6, 1e6, "world foot point x"),
                    p_float("foot_y", 0, -1e6, 1e6, "world foot point y"),
                    p_float("foot_z", 0, -1e6, 1e6, "world foot point z"),
                    p_int("pick_view", 0, 0, 100000, "pick: training camera index"),
                    p_float("pick_u", 0.5, 0, 1, "pick: horizontal image position, 0 (left) .. 1 (right)"),
                    p_float("pick_v", 0.8, 0, 1, "pick: vertical image position, 0 (top) .. 1 (bottom)"),
                    p_float("height", 0.6, 1e-4, 1e6, "character height in world units (the cutout's opaque part)"),
                    p_enum("facing", "camera", {"camera", "fixed"},
                           "camera: upright billboard turning to the camera; fixed: yaw"),
                    p_float("yaw", 0, -360, 360,
                            "fixed facing: normal direction about up, degrees from world x (y when up is x)"),
                    p_enum("up", "+z", up_choices(), "world up (cameras: mean of the training cameras' -y axes)"),
                    p_float("alpha_threshold", 0.05, 0, 1, "alpha above which a cutout pixel is part of the character"),
                    p_bool("shadow", true, "soft contact shadow on the ground around the foot"),
                    p_float("shadow_strength", 0.45, 0, 1, "shadow darkening at the foot"),
                    p_float("shadow_radius", 0.25, 0.01, 5, "shadow radius, as a fraction of the height"),
                    p_enum("colour_match", "off", {"off", "brightness", "colour"},
                           "match the cutout's brightness (or colour) to the scene around the foot (first frame)"),
                    p_float("match_strength", 0.5, 0, 1, "0: no change, 1: full match")},
         .execute = billboard_execute});
  r.add({.type = "shot.render",
         .category = "Shot",
         .title = "Frame Render",
         .doc = "Renders splats and billboards along a camera path: RGB (or RGBA), depth, one camera per frame. "
                "Billboards are placed at their depth per pixel (the Gaussians are split by each billboard's plane and "
                "composited back to front, so nearer splats hide the character), premultiplied, with anti-aliased "
                "edges. every = k renders frames 0, k, 2k, ... (keyframes for interpolation); "
                "ground_truth keeps all frames as a second output.",
         .inputs = {{"scene", PortType::SplatScene, "Gaussians to render"},
                    {"path", PortType::CameraPath, "one camera per frame"},
                    {"billboards", PortType::Record, "placements from shot.billboard", true},
                    {"cutouts", PortType::FrameSequence, "cutouts from shot.billboard", true}},
         .outputs = {{"frames", PortType::FrameSequence, "rendered frames (every k-th), cameras and depth"},
                     {"ground_truth", PortType::FrameSequence, "all frames when ground_truth is on (else empty)"},
                     {"info", PortType::Record,
                      "rendered frame indices, billboard visibility, colour-match gains, timing"}},
         .params = {p_int("width", 0, 0, 16384, "output width (0: the path's size)"),
                    p_int("height", 0, 0, 16384, "output height (0: the path's size)"),
                    p_colour("background", "#000000", "background colour"),
                    p_int("sh_degree", -1, -1, 3, "SH degree to evaluate (-1: the scene's)"),
                    p_bool("alpha", false, "output RGBA frames"),
                    p_int("every", 1, 1, 1000, "render every k-th frame (keyframes for the interpolation node)"),
                    p_bool("ground_truth", false, "also output every frame (full-rate ground truth)"),
                    p_int("supersample", 2, 1, 4, "billboard samples per pixel and axis (anti-aliased edges)")},
         .execute = shot_render_execute});
}

}  // namespace camgraph
