// Label truth: one clip per camera motion type, from camera.path's cameras, ray-traced through a small
// textured room (ground, walls, a box), encoded with encode.video (H.264), decoded and classified by
// dataset.qc's label check; the agreement table is printed and asserted.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>

#include "camgraph/node_context.h"
#include "camgraph/values.h"
#include "node_runner.h"
#include "test_support.h"

namespace camgraph {
void register_qc_nodes(Registry& r);
void register_dataset_nodes(Registry& r);
void register_camera_nodes(Registry& r);
}  // namespace camgraph

using namespace camgraph;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const Registry& registry() {
  static Registry r = [] {
    Registry x;
    register_qc_nodes(x);
    register_dataset_nodes(x);
    register_camera_nodes(x);
    return x;
  }();
  return r;
}

std::map<std::string, Value> run_node(const std::string& type, const json& params, std::map<std::string, Value> inputs,
                                      const fs::path& out) {
  return camgraph::testing::run_node(registry(), type, params, std::move(inputs), out);
}

double cell_value(double x, double y, double z) {
  const auto ix = int64_t(std::floor(x / 0.15)), iy = int64_t(std::floor(y / 0.15)), iz = int64_t(std::floor(z / 0.15));
  uint64_t h = uint64_t(ix) * 0x9E3779B97F4A7C15ull ^ uint64_t(iy) * 0xC2B2AE3D27D4EB4Full ^
               uint64_t(iz) * 0x165667B19E3779F9ull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return 0.15 + 0.8 * double(h % 1000) / 1000.0;
}

// Room (z up): ground z = 0, ceiling z = 4, walls x = -4 / 6, y = -4 / 4, a box [-0.3, 0.3]^2 x [0, 0.8].
double trace(const Vec3& o, const Vec3& d) {
  double best = 1e30;
  auto plane = [&](int axis, double at) {
    if (std::abs(d[size_t(axis)]) < 1e-12) return;
    const double t = (at - o[size_t(axis)]) / d[size_t(axis)];
    if (t > 1e-6 && t < best) best = t;
  };
  plane(2, 0);
  plane(2, 4);
  plane(0, -4);
  plane(0, 6);
  plane(1, -4);
  plane(1, 4);
  const double lo[3] = {-0.3, -0.3, 0}, hi[3] = {0.3, 0.3, 0.8};
  double t0 = -1e30, t1 = 1e30;
  for (int a = 0; a < 3; ++a) {
    if (std::abs(d[size_t(a)]) < 1e-12) {
      if (o[size_t(a)] < lo[a] || o[size_t(a)] > hi[a]) t0 = 1e30;
      continue;
    }
    double ta = (lo[a] - o[size_t(a)]) / d[size_t(a)], tb = (hi[a] - o[size_t(a)]) / d[size_t(a)];
    if (ta > tb) std::swap(ta, tb);
    t0 = std::max(t0, ta);
    t1 = std::min(t1, tb);
  }
  if (t0 <= t1 && t0 > 1e-6 && t0 < best) best = t0;
  const Vec3 p{o[0] + best * d[0], o[1] + best * d[1], o[2] + best * d[2]};
  return cell_value(p[0] + 1e-4, p[1] + 1e-4, p[2] + 1e-4);
}

std::shared_ptr<FrameSequenceValue> render(const CameraPathValue& path) {
  const int n = int(path.cameras.size()), w = path.cameras[0].width, h = path.cameras[0].height;
  auto seq = std::make_shared<FrameSequenceValue>();
  seq->frames = at::empty({n, h, w, 3}, at::kFloat);
  auto f = seq->frames.accessor<float, 4>();
  for (int i = 0; i < n; ++i) {
    const Camera& c = path.cameras[size_t(i)];
    const Mat4& m = c.world_to_camera;
    const Vec3 o = c.position();
    for (int v = 0; v < h; ++v)
      for (int u = 0; u < w; ++u) {
        double acc = 0;
        for (int s = 0; s < 4; ++s) {
          const double x = (u + 0.25 + 0.5 * (s % 2) - c.cx) / c.fx, y = (v + 0.25 + 0.5 * (s / 2) - c.cy) / c.fy;
          // Direction in the world: R^T (x, y, 1).
          const Vec3 d{m[0] * x + m[4] * y + m[8], m[1] * x + m[5] * y + m[9], m[2] * x + m[6] * y + m[10]};
          acc += trace(o, d);
        }
        const float g = float(acc / 4);
        f[i][v][u][0] = g;
        f[i][v][u][1] = 0.9f * g + 0.05f;
        f[i][v][u][2] = 1.0f - 0.8f * g;
      }
    seq->cameras.push_back(c);
  }
  seq->fps = path.fps;
  return seq;
}

struct Clip {
  std::shared_ptr<const CameraPathValue> path;
  std::shared_ptr<FrameSequenceValue> frames;
  Value video;
};

Clip make_clip(const fs::path& dir, const std::string& type, const std::string& direction,
               const json& extra = json::object()) {
  Clip c;
  json p = {{"frames", 13},  {"width", 160},   {"height", 120},          {"fps", 12},        {"fov", 60},
            {"extent", 2.0}, {"motion", type}, {"direction", direction}, {"intensity", 0.5}, {"easing", "linear"}};
  p.update(extra);
  c.path = std::static_pointer_cast<const CameraPathValue>(run_node("camera.path", p, {}, dir).at("path"));
  c.frames = render(*c.path);
  c.video = run_node("encode.video", {{"preset", "veryfast"}, {"path", type + "_" + direction + ".mp4"}},
                     {{"frames", c.frames}}, dir)
                .at("video");
  return c;
}

json label_check(const fs::path& dir, const Clip& c, const std::string& mode = "report",
                 const std::string& up = "auto") {
  auto out = run_node("dataset.qc", {{"label_check", mode}, {"sharpness_ratio_min", 0.0}, {"label_up", up}},
                      {{"frames", c.frames}, {"video", c.video}, {"path", c.path}}, dir);
  return std::static_pointer_cast<const RecordValue>(out.at("qc"))->record;
}

}  // namespace

TEST(LabelTruth, OneRenderedClipPerMotionType) {
  const fs::path dir = temp_dir("label_truth");
  const std::vector<std::pair<std::string, std::string>> motions = {{"static", "auto"},
                                                                    {"pan", "left"},
                                                                    {"pan", "right"},
                                                                    {"tilt", "up"},
                                                                    {"tilt", "down"},
                                                                    {"roll", "clockwise"},
                                                                    {"roll", "counterclockwise"},
                                                                    {"truck", "left"},
                                                                    {"truck", "right"},
                                                                    {"pedestal", "up"},
                                                                    {"pedestal", "down"},
                                                                    {"dolly", "in"},
                                                                    {"dolly", "out"},
                                                                    {"zoom", "in"},
                                                                    {"zoom", "out"},
                                                                    {"orbit", "left"},
                                                                    {"orbit", "right"},
                                                                    {"crane", "up"},
                                                                    {"crane", "down"}};
  int agree = 0, basic_agree = 0, basic = 0;
  std::string table;
  for (const auto& [type, dir_name] : motions) {
    const Clip c = make_clip(dir, type, dir_name);
    const json rec = label_check(dir, c);
    ASSERT_TRUE(rec.contains("label_truth")) << rec.dump();
    const json& lt = rec["label_truth"];
    const bool ok = lt["agrees"].get<bool>();
    agree += ok;
    const bool is_basic = type != "orbit" && type != "crane";
    basic += is_basic;
    basic_agree += is_basic && ok;
    table += type + " " + dir_name + " -> " + lt["estimate"]["type"].get<std::string>() + " " +
             lt["estimate"]["direction"].get<std::string>() + (ok ? "  ok" : "  MISMATCH") + "  (parallax " +
             std::to_string(lt["estimate"]["parallax"].get<double>()) + ", shift " +
             std::to_string(lt["estimate"]["shift_x_px"].get<double>()) + "/" +
             std::to_string(lt["estimate"]["shift_y_px"].get<double>()) + " px, roll " +
             std::to_string(lt["estimate"]["roll_deg"].get<double>()) + " deg, log scale " +
             std::to_string(lt["estimate"]["log_scale"].get<double>()) + ")\n";
  }
  std::cout << "label truth agreement " << agree << "/" << motions.size() << " (basic types " << basic_agree << "/"
            << basic << ")\n"
            << table;
  RecordProperty("agreement", std::to_string(agree) + "/" + std::to_string(motions.size()));
  EXPECT_EQ(basic_agree, basic) << table;
  EXPECT_EQ(agree, int(motions.size())) << table;
}

TEST(LabelTruth, QcRejectsAClipWhoseLabelDoesNotMatch) {
  const fs::path dir = temp_dir("label_truth_reject");
  Clip c = make_clip(dir, "pan", "left");
  json rec = label_check(dir, c, "reject");
  EXPECT_TRUE(rec["pass"].get<bool>()) << rec.dump();
  // Same video, a path that claims a tilt up.
  auto wrong = std::make_shared<CameraPathValue>(*c.path);
  wrong->motion = json::array({{{"type", "tilt"}, {"direction", "up"}, {"frames", {0, 12}}}});
  c.path = wrong;
  rec = label_check(dir, c, "reject");
  EXPECT_FALSE(rec["pass"].get<bool>());
  EXPECT_FALSE(rec["label_truth"]["agrees"].get<bool>());
  EXPECT_NE(rec["failures"].back().get<std::string>().find("label truth"), std::string::npos);
  // report: the mismatch is recorded, the item passes.
  rec = label_check(dir, c, "report");
  EXPECT_TRUE(rec["pass"].get<bool>());
  EXPECT_FALSE(rec["label_truth"]["agrees"].get<bool>());
}

// Cameras pitched down 30 degrees (and a level one for contrast), the orbit around a target point close
// to the camera: a yaw about the world vertical turns the image (apparent roll ~ yaw * sin(pitch)), so
// the image-plane classifier (label_up = none) can take pans and orbits for rolls; the gravity-aligned
// decomposition (label_up = auto: world up from the first camera) must not.
TEST(LabelTruth, PitchedCamerasInTheGravityFrame) {
  const fs::path dir = temp_dir("label_truth_pitched");
  struct Setup {
    std::string name;
    json params;
  };
  // Pitch: atan(dz / horizontal distance) to the target (0, 0, 0.4).
  const std::vector<Setup> setups = {
      {"pitch 30",
       {{"eye_x", 2.0}, {"eye_y", 0.0}, {"eye_z", 0.4 + 2.0 * std::tan(30 * M_PI / 180)}, {"target", "point"}}},
      {"pitch 25 near",
       {{"eye_x", 1.1},
        {"eye_y", -0.6},
        {"eye_z", 0.4 + std::hypot(1.1, 0.6) * std::tan(25 * M_PI / 180)},
        {"target", "point"}}},
      {"level", {{"eye_x", 2.0}, {"eye_y", 0.0}, {"eye_z", 0.4}, {"target", "point"}}}};
  const std::vector<std::pair<std::string, std::string>> motions = {
      {"pan", "left"},   {"pan", "right"},   {"orbit", "left"}, {"orbit", "right"},
      {"truck", "left"}, {"truck", "right"}, {"tilt", "up"},    {"tilt", "down"}};
  int agree = 0, image_agree = 0, total = 0, pitched_agree = 0, pitched = 0;
  std::string table;
  for (const auto& s : setups)
    for (const auto& [type, dir_name] : motions) {
      const Clip c = make_clip(dir, type, dir_name, s.params);
      const json g = label_check(dir, c, "report", "auto")["label_truth"];
      const json im = label_check(dir, c, "report", "none")["label_truth"];
      ASSERT_EQ(g["estimate"]["frame"], "gravity") << g.dump();
      ASSERT_EQ(im["estimate"]["frame"], "image") << im.dump();
      const bool ok = g["agrees"].get<bool>(), image_ok = im["agrees"].get<bool>();
      ++total;
      agree += ok;
      image_agree += image_ok;
      const bool is_pitched = s.name != "level";
      pitched += is_pitched;
      pitched_agree += is_pitched && ok;
      // Level: the truck past the far wall is nearly a homography (the essential matrix can take it for a
      // turn), so it is reported, not asserted; every other level clip must agree.
      if (!is_pitched && type != "truck") {
        EXPECT_TRUE(ok) << s.name << ": " << type << " " << dir_name;
      }
      const json& e = g["estimate"];
      table += s.name + ": " + type + " " + dir_name + " -> " + e["type"].get<std::string>() + " " +
               e["direction"].get<std::string>() + (ok ? "  ok" : "  MISMATCH") +
               "  (image frame: " + im["estimate"]["type"].get<std::string>() + " " +
               im["estimate"]["direction"].get<std::string>() + (image_ok ? " ok" : " MISMATCH") + "; parallax " +
               std::to_string(e["parallax"].get<double>()) + ", rotation pan/tilt/roll " +
               std::to_string(e["rotation_deg"]["pan"].get<double>()) + "/" +
               std::to_string(e["rotation_deg"]["tilt"].get<double>()) + "/" +
               std::to_string(e["rotation_deg"]["roll"].get<double>()) + " deg, translation right/up/forward " +
               std::to_string(e["translation_px"]["right"].get<double>()) + "/" +
               std::to_string(e["translation_px"]["up"].get<double>()) + "/" +
               std::to_string(e["translation_px"]["forward"].get<double>()) + " px)\n";
      // A pure pan is a rotation about the world vertical: the roll about the optical axis stays small.
      if (type == "pan") {
        EXPECT_LT(std::abs(e["rotation_deg"]["roll"].get<double>()),
                  0.25 * std::abs(e["rotation_deg"]["pan"].get<double>()))
            << table;
      }
    }
  std::cout << "label truth agreement " << agree << "/" << total << ", pitched " << pitched_agree << "/" << pitched
            << " (image frame " << image_agree << "/" << total << ")\n"
            << table;
  RecordProperty("agreement", std::to_string(agree) + "/" + std::to_string(total));
  EXPECT_EQ(pitched_agree, pitched) << table;
}
