// shot.billboard + shot.render on small synthetic splat scenes: the foot point stays on its scene
// point in every frame, nearer splats hide the character, static shots render identical frames,
// every-k-th rendering matches the full-rate ground truth, picking, shadow, premultiplied edges,
// and camera.path's framing check.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>

#include "camera/motion.h"
#include "camgraph/builtin_nodes.h"
#include "camgraph/error.h"
#include "camgraph/node_context.h"
#include "camgraph/values.h"

using namespace camgraph;
using namespace camgraph::cam;
namespace fs = std::filesystem;

namespace {

const double kSH0 = 0.28209479177387814;

// Gaussians on a regular grid spanning two axes (flat along the third), one colour.
struct Cloud {
  std::vector<float> means, scales, colours;
  void grid(Vec3 origin, Vec3 a, Vec3 b, int na, int nb, Vec3 log_scale, Vec3 rgb) {
    for (int i = 0; i < na; ++i)
      for (int j = 0; j < nb; ++j) {
        const Vec3 p = origin + double(i) * a + double(j) * b;
        for (int c = 0; c < 3; ++c) {
          means.push_back(float(p[size_t(c)]));
          scales.push_back(float(log_scale[size_t(c)]));
          colours.push_back(float((rgb[size_t(c)] - 0.5) / kSH0));
        }
      }
  }
  std::shared_ptr<SplatSceneValue> scene() const {
    auto s = std::make_shared<SplatSceneValue>();
    const int64_t n = int64_t(means.size() / 3);
    s->means = at::tensor(means).view({n, 3});
    s->log_scales = at::tensor(scales).view({n, 3});
    s->quats = at::zeros({n, 4});
    s->quats.select(1, 0).fill_(1);
    s->opacity_logits = at::full({n}, 5.0f);
    s->sh = at::tensor(colours).view({n, 1, 3});
    s->info = {{"extent", 3.0}, {"centre", {0, 0, 0}}};
    return s;
  }
};

// A grey ground (z = 0) over [-3, 3]^2: Gaussians 0.05 apart, sigma 0.035. (The splat depth is the
// alpha-weighted depth of Gaussian centres, so surface points read from it are within about one
// Gaussian radius of the true surface.)
Cloud ground() {
  Cloud c;
  c.grid({-3, -3, 0}, {0.05, 0, 0}, {0, 0.05, 0}, 121, 121, {std::log(0.035), std::log(0.035), std::log(0.003)},
         {0.5, 0.5, 0.5});
  return c;
}

// A green vertical panel in the plane x = x0, y in [-0.4, 0.4], z in [0, 1.2].
void add_panel(Cloud& c, double x0) {
  c.grid({x0, -0.4, 0}, {0, 0.04, 0}, {0, 0, 0.04}, 21, 31, {std::log(0.004), std::log(0.035), std::log(0.035)},
         {0.1, 0.8, 0.1});
}

// A red character: 40 x 80 image, opaque rectangle u in [10, 30), v in [10, 70).
std::shared_ptr<ImageValue> red_cutout(Vec3 rgb = {0.9, 0.1, 0.1}) {
  auto img = std::make_shared<ImageValue>();
  img->pixels = at::zeros({80, 40, 4});
  for (int c = 0; c < 3; ++c) img->pixels.slice(0, 10, 70).slice(1, 10, 30).select(2, c).fill_(float(rgb[size_t(c)]));
  img->pixels.slice(0, 10, 70).slice(1, 10, 30).select(2, 3).fill_(1.0f);
  return img;
}

fs::path temp_dir() {
  fs::path p = fs::temp_directory_path() / ("camgraph-shot-tests-" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

std::map<std::string, Value> run_node(const std::string& type, const json& params,
                                      std::map<std::string, Value> inputs) {
  const NodeSpec* spec = builtin_registry().find(type);
  if (!spec) throw std::runtime_error("no node " + type);
  NodeInstance node;
  node.id = "n";
  node.type = type;
  node.params = params;
  OutputFiles files(temp_dir());
  NodeContext::Setup s;
  s.node = &node;
  s.spec = spec;
  s.inputs = std::move(inputs);
  s.output_files = &files;
  s.out_dir = temp_dir();
  NodeContext ctx(s);
  spec->execute(ctx);
  return ctx.outputs();
}

template <class V>
std::shared_ptr<const V> as(const Value& v) {
  return std::dynamic_pointer_cast<const V>(v);
}

std::shared_ptr<CameraPathValue> path_of(const std::vector<Camera>& cams) {
  auto p = std::make_shared<CameraPathValue>();
  p->cameras = cams;
  p->fps = 8;
  return p;
}

std::vector<Camera> orbit_cams(Vec3 eye, Vec3 target, int frames, double intensity, const std::string& type = "orbit") {
  MotionPrimitive m;
  m.type = type;
  m.direction = "right";
  m.intensity = intensity;
  m.easing = "linear";
  MotionScene s;
  s.target = target;
  s.extent = 3;
  return motion_path(Pose::look_at(eye, target, {0, 0, 1}), ShotIntrinsics{96, 72, 60}, s, {m}, frames, 8).cameras;
}

std::map<std::string, Value> place(const std::shared_ptr<ImageValue>& img, json params = json::object(),
                                   std::map<std::string, Value> extra = {}) {
  params.merge_patch({{"height", 1.0}});
  extra["image"] = img;
  return run_node("shot.billboard", params, extra);
}

bool is_red(const at::Tensor& frame, int v, int u) {
  return frame[v][u][0].item<float>() > 0.6f && frame[v][u][1].item<float>() < 0.35f;
}

}  // namespace

TEST(ShotBillboard, RecordsThePlacementAndChains) {
  auto one = place(red_cutout(), {{"foot_x", 0.5}, {"foot_y", -0.5}, {"shadow", false}});
  const json rec = as<RecordValue>(one.at("billboards"))->record;
  ASSERT_EQ(rec["billboards"].size(), 1u);
  const Billboard b = Billboard::from_json(rec["billboards"][0]);
  EXPECT_EQ(b.content, (std::array<double, 4>{10, 10, 30, 70}));
  EXPECT_NEAR(b.foot_px[0], 20, 1e-9);
  EXPECT_NEAR(b.foot_px[1], 70, 1e-9);
  EXPECT_NEAR(b.world_per_pixel(), 1.0 / 60, 1e-12);
  // The content box's top-centre pixel is `height` above the foot.
  const Vec3 top = b.point(20, 10, {5, 0, 1});
  EXPECT_NEAR(norm(top - Vec3{0.5, -0.5, 1.0}), 0, 1e-12);
  // A second placer appends (different cutout size: padded sequence).
  auto small = std::make_shared<ImageValue>();
  small->pixels = at::ones({30, 20, 4});
  auto two = place(small, {{"foot_x", -1.0}}, {{"billboards", one.at("billboards")}, {"cutouts", one.at("cutouts")}});
  const json rec2 = as<RecordValue>(two.at("billboards"))->record;
  ASSERT_EQ(rec2["billboards"].size(), 2u);
  EXPECT_EQ(rec2["billboards"][1]["cutout"], 1);
  EXPECT_EQ(as<FrameSequenceValue>(two.at("cutouts"))->frames.sizes(), (std::vector<int64_t>{2, 80, 40, 4}));
  // No alpha: a clear error naming the port.
  auto rgb = std::make_shared<ImageValue>();
  rgb->pixels = at::ones({8, 8, 3});
  try {
    place(rgb);
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("no alpha channel"), std::string::npos) << e.what();
  }
}

TEST(ShotRender, FootPointStaysOnItsScenePointInEveryFrame) {
  const auto scene = ground().scene();
  const Vec3 foot{0.3, -0.2, 0};
  auto bb = place(red_cutout(), {{"foot_x", foot[0]}, {"foot_y", foot[1]}, {"foot_z", 0.0}, {"shadow", false}});
  const auto cams = orbit_cams({3.2, 0.5, 1.6}, {0.3, -0.2, 0.5}, 5, 1.0);
  auto out = run_node(
      "shot.render", {{"supersample", 2}},
      {{"scene", scene}, {"path", path_of(cams)}, {"billboards", bb.at("billboards")}, {"cutouts", bb.at("cutouts")}});
  auto plain = run_node("shot.render", json::object(), {{"scene", scene}, {"path", path_of(cams)}});
  const auto frames = as<FrameSequenceValue>(out.at("frames"));
  const auto bare = as<FrameSequenceValue>(plain.at("frames"));
  ASSERT_EQ(frames->count(), 5);
  for (int i = 0; i < 5; ++i) {
    const Camera& c = frames->cameras[size_t(i)];
    const Projection f = project(c, foot);
    const at::Tensor fr = frames->frames[i];
    // The lowest row of red pixels ends at the foot's projection; its centre is the foot's u.
    int lowest = -1;
    double u_sum = 0;
    int u_count = 0;
    for (int v = 0; v < c.height; ++v)
      for (int u = 0; u < c.width; ++u)
        if (is_red(fr, v, u)) lowest = std::max(lowest, v);
    ASSERT_GE(lowest, 0) << "frame " << i;
    for (int u = 0; u < c.width; ++u)
      if (is_red(fr, lowest, u)) u_sum += u + 0.5, ++u_count;
    EXPECT_NEAR(lowest + 1.0, f.v, 1.5) << "frame " << i;
    EXPECT_NEAR(u_sum / u_count, f.u, 1.5) << "frame " << i;
    // The scene point under the foot pixel (splat depth, no billboard) is the foot point.
    const int pu = int(f.u), pv = int(f.v);
    const double z = bare->depth[i][pv][pu].item<double>();
    const Pose pose = Pose::from_world_to_camera(c.world_to_camera);
    const Vec3 hit = pose.C + z * mat3_apply(pose.R, {(pu + 0.5 - c.cx) / c.fx, (pv + 0.5 - c.cy) / c.fy, 1});
    // The splat depth is good to about a pixel: one pixel is `pixel` wide at that depth and
    // pixel / sin(elevation) long on the ground.
    const double pixel = z / c.fy, sin_elev = pose.C[2] / norm(pose.C - foot);
    EXPECT_LT(std::abs(hit[2]), pixel) << "frame " << i;
    EXPECT_LT(norm(hit - foot), 1.5 * pixel / sin_elev) << "frame " << i;
  }
}

TEST(ShotRender, NearerSplatsHideTheCharacterAndFartherOnesDoNot) {
  const Vec3 eye{4, 0, 0.8}, centre{0, 0, 0.5};
  const std::vector<Camera> cams{Camera::from_fov(96, 72, 50, Camera::look_at(eye, centre, {0, 0, 1}))};
  auto bb = place(red_cutout(), {{"shadow", false}});
  const Projection p = project(cams[0], centre);
  auto render = [&](const std::shared_ptr<SplatSceneValue>& s) {
    return run_node(
        "shot.render", json::object(),
        {{"scene", s}, {"path", path_of(cams)}, {"billboards", bb.at("billboards")}, {"cutouts", bb.at("cutouts")}});
  };
  Cloud open = ground(), in_front = ground(), behind = ground();
  add_panel(in_front, 1.5);
  add_panel(behind, -1.5);
  auto a = render(open.scene()), b = render(in_front.scene()), c = render(behind.scene());
  const at::Tensor fa = as<FrameSequenceValue>(a.at("frames"))->frames[0],
                   fb = as<FrameSequenceValue>(b.at("frames"))->frames[0],
                   fc = as<FrameSequenceValue>(c.at("frames"))->frames[0];
  EXPECT_TRUE(is_red(fa, int(p.v), int(p.u)));
  EXPECT_TRUE(is_red(fc, int(p.v), int(p.u)));
  EXPECT_FALSE(is_red(fb, int(p.v), int(p.u)));
  EXPECT_GT(fb[int(p.v)][int(p.u)][1].item<float>(), 0.5f);  // the green panel
  // Depth: the billboard's (distance 4 along the axis) in a and c, the panel's (2.5) in b.
  EXPECT_NEAR(as<FrameSequenceValue>(a.at("frames"))->depth[0][int(p.v)][int(p.u)].item<float>(), 4.0, 0.05);
  EXPECT_NEAR(as<FrameSequenceValue>(b.at("frames"))->depth[0][int(p.v)][int(p.u)].item<float>(), 2.5, 0.1);
  const auto vis = [](const std::map<std::string, Value>& o) {
    return as<RecordValue>(o.at("info"))->record["billboard_visible_fraction"][0][0].get<double>();
  };
  // Unoccluded: all but the bottom row's anti-aliased overlap with the ground in front of the feet.
  EXPECT_GT(vis(a), 0.9);
  EXPECT_NEAR(vis(c), vis(a), 1e-6);
  EXPECT_LT(vis(b), 0.3);
}

TEST(ShotRender, SeveralBillboardsAndSplatsInterleaveByDepth) {
  // Camera at x = 4; a narrow red character at x = 0 (height 1), a green panel at x = -0.5 (height
  // 1.2), a wide blue character at x = -1 (height 1.5): front to back red, green, blue.
  const std::vector<Camera> cams{Camera::from_fov(192, 144, 50, Camera::look_at({4, 0, 0.8}, {0, 0, 0.5}, {0, 0, 1}))};
  auto narrow = std::make_shared<ImageValue>();
  narrow->pixels = at::zeros({80, 40, 4});
  narrow->pixels.slice(0, 10, 70).slice(1, 15, 25).copy_(at::tensor({0.9f, 0.1f, 0.1f, 1.0f}));
  auto red = place(narrow, {{"shadow", false}});
  auto blue = run_node(
      "shot.billboard", {{"foot_x", -1.0}, {"height", 1.5}, {"shadow", false}},
      {{"image", red_cutout({0.1, 0.1, 0.9})}, {"billboards", red.at("billboards")}, {"cutouts", red.at("cutouts")}});
  Cloud cl = ground();
  add_panel(cl, -0.5);
  auto out = run_node("shot.render", json::object(),
                      {{"scene", cl.scene()},
                       {"path", path_of(cams)},
                       {"billboards", blue.at("billboards")},
                       {"cutouts", blue.at("cutouts")}});
  const at::Tensor f = as<FrameSequenceValue>(out.at("frames"))->frames[0];
  auto pixel = [&](Vec3 p) {
    const Projection q = project(cams[0], p);
    return f[int(q.v)][int(q.u)];
  };
  const at::Tensor r = pixel({0, 0, 0.5}), b = pixel({-1, 0, 1.4}), g = pixel({-1, 0.2, 0.9});
  EXPECT_GT(r[0].item<float>(), 0.8f);  // red in front of everything
  EXPECT_LT(r[2].item<float>(), 0.2f);
  EXPECT_GT(b[2].item<float>(), 0.8f);  // blue above the panel and the red character
  EXPECT_LT(b[0].item<float>(), 0.2f);
  EXPECT_GT(g[1].item<float>(), 0.6f);  // the panel hides the blue character's lower part
  EXPECT_LT(g[2].item<float>(), 0.3f);
  const json vis = as<RecordValue>(out.at("info"))->record["billboard_visible_fraction"][0];
  EXPECT_GT(vis[0].get<double>(), 0.9);  // red: record order
  EXPECT_LT(vis[1].get<double>(), 0.5);  // blue: mostly behind the panel
}

TEST(ShotRender, StaticShotRendersIdenticalFrames) {
  Cloud cl = ground();
  add_panel(cl, -1.0);
  const Vec3 eye{3, 1, 1.2};
  MotionScene s;
  const auto cams =
      motion_path(Pose::look_at(eye, {0, 0, 0.4}, {0, 0, 1}), ShotIntrinsics{80, 60, 60}, s, {}, 4, 8).cameras;
  auto bb = place(red_cutout(), {{"foot_x", 0.2}});
  auto out = run_node("shot.render", {{"background", "#336699"}},
                      {{"scene", cl.scene()},
                       {"path", path_of(cams)},
                       {"billboards", bb.at("billboards")},
                       {"cutouts", bb.at("cutouts")}});
  const auto f = as<FrameSequenceValue>(out.at("frames"));
  ASSERT_EQ(f->count(), 4);
  for (int i = 1; i < 4; ++i) {
    EXPECT_TRUE(at::equal(f->frames[i], f->frames[0])) << "frame " << i;
    EXPECT_TRUE(at::equal(f->depth[i], f->depth[0])) << "frame " << i;
  }
  // Background colour where nothing is (top rows look above the ground and panel).
  EXPECT_NEAR(f->frames[0][0][0][2].item<float>(), 0x99 / 255.0, 1e-6);
}

TEST(ShotRender, EveryKthFrameMatchesTheGroundTruth) {
  const auto cams = orbit_cams({3, 0, 1.2}, {0, 0, 0.3}, 9, 0.5, "pan");
  auto out = run_node("shot.render",
                      {{"every", 4}, {"ground_truth", true}, {"width", 64}, {"height", 48}, {"alpha", true}},
                      {{"scene", ground().scene()}, {"path", path_of(cams)}});
  const auto f = as<FrameSequenceValue>(out.at("frames"));
  const auto gt = as<FrameSequenceValue>(out.at("ground_truth"));
  ASSERT_EQ(f->count(), 3);
  ASSERT_EQ(gt->count(), 9);
  EXPECT_EQ(f->frames.size(3), 4);
  EXPECT_DOUBLE_EQ(f->fps, 2.0);
  for (int j = 0; j < 3; ++j) {
    EXPECT_TRUE(at::equal(f->frames[j], gt->frames[4 * j]));
    EXPECT_EQ(f->cameras[size_t(j)], cams[size_t(4 * j)].resized(64, 48));
  }
  EXPECT_EQ(as<RecordValue>(out.at("info"))->record["frames"], json({0, 4, 8}));
  auto no_gt = run_node("shot.render", {{"every", 4}}, {{"scene", ground().scene()}, {"path", path_of(cams)}});
  EXPECT_EQ(as<FrameSequenceValue>(no_gt.at("ground_truth"))->count(), 0);
}

TEST(ShotBillboard, PicksTheFootThroughTheSplatDepth) {
  auto scene = ground().scene();
  scene->training_cameras = {Camera::from_fov(64, 48, 60, Camera::look_at({2, 1, 2}, {0.5, -0.5, 0}, {0, 0, 1}))};
  auto out = place(red_cutout(), {{"foot_mode", "pick"}, {"pick_u", 0.5}, {"pick_v", 0.5}}, {{"scene", scene}});
  const json rec = as<RecordValue>(out.at("billboards"))->record["billboards"][0];
  const Billboard b = Billboard::from_json(rec);
  EXPECT_EQ(rec["picked"]["pixel"], json({32, 24}));
  // The ground point under pixel (32, 24)'s centre, exactly: the ray meets z = 0.
  const Camera& c = scene->training_cameras[0];
  const Pose pose = Pose::from_world_to_camera(c.world_to_camera);
  const Vec3 d = mat3_apply(pose.R, {(32.5 - c.cx) / c.fx, (24.5 - c.cy) / c.fy, 1});
  const Vec3 exact = pose.C + (-pose.C[2] / d[2]) * d;
  const double pixel = -pose.C[2] / d[2] / c.fy, sin_elev = pose.C[2] / norm(pose.C - exact);
  EXPECT_LT(std::abs(b.foot[2]), pixel);  // the splat depth is good to about a pixel
  EXPECT_LT(norm(b.foot - exact), pixel / sin_elev);
  EXPECT_LT(norm(exact - Vec3{0.5, -0.5, 0}), pixel / sin_elev);  // half a pixel from the look-at point
  try {
    place(red_cutout(), {{"foot_mode", "pick"}, {"pick_view", 3}}, {{"scene", scene}});
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("pick_view"), std::string::npos) << e.what();
  }
}

TEST(ShotRender, PremultipliedAntiAliasedEdgesAndContactShadow) {
  // A white character against the empty sky: colour equals alpha (premultiplied over black).
  const Vec3 eye{3, 0, 1.2};
  const std::vector<Camera> cams{Camera::from_fov(96, 72, 40, Camera::look_at(eye, {0, 0, 0.9}, {0, 0, 1}))};
  auto white = place(red_cutout({1, 1, 1}), {{"shadow", true}});
  auto out = run_node("shot.render", {{"alpha", true}},
                      {{"scene", ground().scene()},
                       {"path", path_of(cams)},
                       {"billboards", white.at("billboards")},
                       {"cutouts", white.at("cutouts")}});
  const at::Tensor f = as<FrameSequenceValue>(out.at("frames"))->frames[0];  // [H, W, 4]
  const Projection top = project(cams[0], {0, 0, 1.0});
  ASSERT_LT(top.v, 36);                                  // the top of the character is above the horizon
  const at::Tensor sky = f.slice(0, 0, int(top.v) + 4);  // rows above and at the head: no ground behind
  const at::Tensor a = sky.select(2, 3);
  EXPECT_LT((sky.select(2, 0) - a).abs().max().item<float>(), 1e-5f);
  const int64_t partial = ((a > 0.05f) & (a < 0.95f)).sum().item<int64_t>();
  EXPECT_GT(partial, 3);  // anti-aliased edges
  // Contact shadow: the ground next to the foot is darker than without it; far ground is unchanged.
  auto no_shadow = place(red_cutout({1, 1, 1}), {{"shadow", false}});
  auto out2 = run_node("shot.render", {{"alpha", true}},
                       {{"scene", ground().scene()},
                        {"path", path_of(cams)},
                        {"billboards", no_shadow.at("billboards")},
                        {"cutouts", no_shadow.at("cutouts")}});
  const at::Tensor g = as<FrameSequenceValue>(out2.at("frames"))->frames[0];
  // 0.12 in front of the foot (below it in the image, not covered by the character): expected
  // darkening up to 0.45 * exp(-2 (0.12 / 0.25)^2) = 0.28.
  const Projection beside = project(cams[0], {0.12, 0.0, 0}), far = project(cams[0], {-2.5, 1.5, 0});
  const int bu = int(beside.u), bv = int(beside.v);
  const float shaded = f[bv][bu][1].item<float>(), lit = g[bv][bu][1].item<float>();
  // The documented factor on the surface point that the splat depth gives at that pixel.
  const Camera& c = cams[0];
  const Pose pose = Pose::from_world_to_camera(c.world_to_camera);
  const double z = as<FrameSequenceValue>(out2.at("frames"))->depth[0][bv][bu].item<double>();
  const Vec3 s = pose.C + z * mat3_apply(pose.R, {(bu + 0.5 - c.cx) / c.fx, (bv + 0.5 - c.cy) / c.fy, 1});
  const double r = std::hypot(s[0], s[1]), h = s[2];
  const double expected = 1 - 0.45 * std::exp(-2 * std::pow(r / 0.25, 2)) * std::exp(-std::pow(h / 0.25, 2));
  EXPECT_NEAR(shaded / lit, expected, 1e-4);
  // A visible shadow just below the foot (rows under the character, where it does not cover the ground).
  const Projection foot = project(c, {0, 0, 0});
  const at::Tensor ratio =
      f.slice(0, int(foot.v) + 1, int(foot.v) + 6).slice(1, int(foot.u) - 6, int(foot.u) + 7).select(2, 1) /
      g.slice(0, int(foot.v) + 1, int(foot.v) + 6).slice(1, int(foot.u) - 6, int(foot.u) + 7).select(2, 1);
  EXPECT_LT(ratio.min().item<float>(), 0.8f);  // at least 20 % darker (1.0 without the shadow)
  EXPECT_LE(ratio.max().item<float>(), 1.0f + 1e-6f);
  EXPECT_NEAR(f[int(far.v)][int(far.u)][1].item<float>(), g[int(far.v)][int(far.u)][1].item<float>(), 1e-6);
}

TEST(ShotRender, ColourMatchMovesTheCharacterTowardsTheScene) {
  const std::vector<Camera> cams{Camera::from_fov(96, 72, 50, Camera::look_at({3, 0, 1.2}, {0, 0, 0.4}, {0, 0, 1}))};
  auto matched = place(red_cutout({0.9, 0.9, 0.9}),
                       {{"shadow", false}, {"colour_match", "brightness"}, {"match_strength", 1.0}});
  auto out = run_node("shot.render", json::object(),
                      {{"scene", ground().scene()},
                       {"path", path_of(cams)},
                       {"billboards", matched.at("billboards")},
                       {"cutouts", matched.at("cutouts")}});
  const json gains = as<RecordValue>(out.at("info"))->record["colour_match"][0]["gains"];
  // Grey ground (0.5) vs a 0.9 character at full strength: gain ~0.5 / 0.9.
  EXPECT_NEAR(gains[0].get<double>(), 0.5 / 0.9, 0.06);
  EXPECT_DOUBLE_EQ(gains[0].get<double>(), gains[2].get<double>());
}

TEST(CameraPathFraming, ReportsAndFailsWhenTheCharacterLeaves) {
  auto bb = place(red_cutout(), {{"shadow", false}});
  auto run = [&](const std::string& framing, double intensity) {
    return run_node("camera.path",
                    {{"motion", "pan"},
                     {"direction", "left"},
                     {"intensity", intensity},
                     {"frames", 9},
                     {"eye_x", 4.0},
                     {"eye_y", 0.0},
                     {"eye_z", 0.8},
                     {"target_z", 0.5},
                     {"framing", framing},
                     {"width", 96},
                     {"height", 72}},
                    {{"billboards", bb.at("billboards")}});
  };
  const json small = as<RecordValue>(run("report", 0.05).at("framing"))->record;
  EXPECT_TRUE(small["all_inside"].get<bool>());
  const json big = as<RecordValue>(run("report", 0.8).at("framing"))->record;
  EXPECT_FALSE(big["all_inside"].get<bool>());
  EXPECT_TRUE(big["inside"][0].get<bool>());
  EXPECT_FALSE(big["inside"][8].get<bool>());
  // Monotone: once out during a pan away, it stays out.
  const int first_out = big["frames_outside"][0].get<int>();
  for (int i = first_out; i < 9; ++i) EXPECT_FALSE(big["inside"][size_t(i)].get<bool>());
  try {
    run("fail", 0.8);
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("leaves the frame"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("framing"), std::string::npos) << e.what();
  }
}
