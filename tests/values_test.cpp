// Values, safetensors, atomic outputs and cameras.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include "camgraph/output_files.h"
#include "camgraph/safetensors.h"
#include "camgraph/values.h"
#include "test_support.h"

using namespace camgraph;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {}  // namespace

TEST(Safetensors, RoundTripKeepsDtypesShapesAndMetadata) {
  std::map<std::string, at::Tensor> t = {
      {"f32", at::randn({3, 4})},   {"f16", at::randn({5}).to(at::kHalf)},
      {"i64", at::arange(7)},       {"u8", at::randint(0, 255, {2, 2, 2}).to(at::kByte)},
      {"scalar", at::tensor(3.5)},  // 0-dim, like a LoRA .alpha
      {"empty", at::zeros({0, 3})},
  };
  const std::string bytes = safetensors_serialize(t, {{"format", "pt"}});
  SafetensorsFile f = safetensors_parse(bytes, "mem");
  ASSERT_EQ(f.tensors.size(), t.size());
  for (const auto& [name, x] : t) {
    ASSERT_TRUE(f.tensors.count(name)) << name;
    EXPECT_EQ(f.tensors[name].scalar_type(), x.scalar_type()) << name;
    EXPECT_EQ(f.tensors[name].sizes(), x.sizes()) << name;
    EXPECT_TRUE(at::equal(f.tensors[name], x)) << name;
  }
  EXPECT_EQ(f.metadata["format"], "pt");
}

TEST(Safetensors, CorruptFilesGiveClearErrors) {
  const std::string good = safetensors_serialize({{"w", at::ones({4, 4})}});
  EXPECT_NE(error_of([&] { safetensors_parse(good.substr(0, 4), "a.safetensors"); }).find("shorter than"),
            std::string::npos);
  const std::string truncated = error_of([&] { safetensors_parse(good.substr(0, good.size() - 10), "b.safetensors"); });
  EXPECT_NE(truncated.find("b.safetensors"), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("tensor 'w'"), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("truncated"), std::string::npos) << truncated;
  std::string huge = good;
  huge[7] = char(0x7f);  // header length ~ 9e18
  EXPECT_NE(error_of([&] { safetensors_parse(huge, "c"); }).find("exceeds 100 MB"), std::string::npos);
  std::string not_json = good;
  not_json[8] = '#';
  EXPECT_NE(error_of([&] { safetensors_parse(not_json, "d"); }).find("not JSON"), std::string::npos);
}

TEST(Values, EveryTypeRoundTripsThroughAnArchive) {
  Camera cam;
  cam.width = 64;
  cam.height = 48;
  cam.fx = cam.fy = 50;
  cam.cx = 32;
  cam.cy = 24;
  cam.world_to_camera[3] = 1.5;

  std::vector<Value> values;
  {
    auto v = std::make_shared<ImageValue>();
    v->pixels = at::rand({5, 6, 4});
    v->colour_space = ColourSpace::Linear;
    values.push_back(v);
  }
  {
    auto v = std::make_shared<FrameSequenceValue>();
    v->frames = at::rand({2, 5, 6, 3});
    v->depth = at::rand({2, 5, 6});
    v->fps = 16;
    v->cameras = {cam, cam};
    values.push_back(v);
  }
  {
    auto v = std::make_shared<SplatSceneValue>();
    v->means = at::randn({10, 3});
    v->log_scales = at::randn({10, 3});
    v->quats = at::randn({10, 4});
    v->opacity_logits = at::randn({10});
    v->sh = at::randn({10, 16, 3});
    v->training_cameras = {cam};
    v->info = {{"extent", 2.5}};
    values.push_back(v);
  }
  {
    auto v = std::make_shared<CameraPathValue>();
    v->cameras = {cam, cam.resized(32, 24)};
    v->fps = 24;
    v->motion = json::array({{{"type", "pan"}, {"direction", "left"}}});
    values.push_back(v);
  }
  {
    auto v = std::make_shared<TextValue>();
    v->text = "forest, knight by a river";
    values.push_back(v);
  }
  {
    // Views with the sparse points of structure from motion.
    auto v = std::make_shared<FrameSequenceValue>();
    v->frames = at::rand({2, 5, 6, 3});
    v->cameras = {cam, cam};
    v->points = at::randn({7, 3});
    v->point_colours = at::rand({7, 3});
    values.push_back(v);
  }
  for (const auto& v : values) {
    ValueArchive a;
    v->save(a);
    // Through bytes, as the disk cache stores it.
    SafetensorsFile f = safetensors_parse(safetensors_serialize(a.tensors, {{"m", a.meta.dump()}}), "mem");
    ValueArchive b{json::parse(f.metadata["m"]), f.tensors};
    Value back = load_value(v->type(), b);
    EXPECT_EQ(back->summary(), v->summary()) << to_string(v->type());
    ValueArchive c;
    back->save(c);
    EXPECT_EQ(c.meta, a.meta);
    for (const auto& [k, t] : a.tensors) EXPECT_TRUE(at::equal(c.tensors.at(k), t)) << k;
  }
  EXPECT_EQ(std::dynamic_pointer_cast<const SplatSceneValue>(values[2])->sh_degree(), 3);
  EXPECT_EQ(values.back()->summary()["points"], 7);
}

TEST(OutputFiles, WritesAtomicallyAndProtectsUserFiles) {
  const fs::path dir = temp_dir("values-outputs");
  OutputFiles out(dir);
  out.write(dir / "a.txt", "first");
  EXPECT_EQ(read_file(dir / "a.txt"), "first");
  out.write(dir / "a.txt", "second");  // ours: may be replaced
  EXPECT_EQ(read_file(dir / "a.txt"), "second");

  { std::ofstream(dir / "user.txt") << "precious"; }
  const std::string e = error_of([&] { out.write(dir / "user.txt", "clobber"); });
  EXPECT_NE(e.find("user.txt already exists"), std::string::npos) << e;
  EXPECT_EQ(read_file(dir / "user.txt"), "precious");
  out.write(dir / "user.txt", "clobber", /*overwrite=*/true);
  EXPECT_EQ(read_file(dir / "user.txt"), "clobber");

  // A file we wrote but the user edited since is protected too; a new run sees the manifest.
  { std::ofstream(dir / "a.txt") << "edited by hand"; }
  OutputFiles next_run(dir);
  EXPECT_THROW(next_run.write(dir / "a.txt", "third"), std::runtime_error);
  EXPECT_EQ(read_file(dir / "a.txt"), "edited by hand");

  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << "temporary left behind";
}

TEST(OutputFiles, SeveralProcessesWritingIntoOneFolderLoseNoManifestEntry) {
  const fs::path dir = temp_dir("values-outputs-procs");
  constexpr int kProcesses = 4, kFilesEach = 25;
  const int failed = camgraph::testing::run_in_processes(kProcesses, [&](int p) {
    OutputFiles out(dir);  // each process opened the folder before the others wrote
    for (int i = 0; i < kFilesEach; ++i)
      out.write(dir / ("p" + std::to_string(p) + "-" + std::to_string(i) + ".txt"), std::to_string(p * 1000 + i));
    // A file another process wrote (and recorded) may be replaced without `overwrite`.
    if (p > 0) {
      while (!fs::exists(dir / "p0-24.txt")) ::usleep(1000);
      out.write(dir / ("p0-" + std::to_string(p) + ".txt"), "replaced by " + std::to_string(p));
    }
  });
  EXPECT_EQ(failed, 0) << "a writer process failed";
  const json manifest = json::parse(read_file(dir / ".camgraph-outputs.json"));
  EXPECT_EQ(manifest["files"].size(), size_t(kProcesses * kFilesEach));
  OutputFiles next_run(dir);
  for (int p = 0; p < kProcesses; ++p)
    for (int i = 0; i < kFilesEach; ++i)
      EXPECT_TRUE(next_run.was_written_by_us(dir / ("p" + std::to_string(p) + "-" + std::to_string(i) + ".txt")))
          << p << "-" << i;
}

TEST(Camera, OpenGlPoseConvertsToOpenCvWorldToCamera) {
  // A camera at (0, 0, 5) looking down -Z (OpenGL identity rotation): the origin is 5 units in
  // front of it, so in OpenCV camera coordinates the origin has z = +5.
  Mat4 c2w = mat4_identity();
  c2w[11] = 5;
  Camera c;
  c.world_to_camera = Camera::world_to_camera_from_opengl_c2w(c2w);
  const auto& m = c.world_to_camera;
  EXPECT_DOUBLE_EQ(m[11], 5.0);  // z of the origin
  EXPECT_DOUBLE_EQ(m[5], -1.0);  // y flipped
  const Vec3 pos = c.position();
  EXPECT_NEAR(pos[2], 5.0, 1e-12);
  c.width = 100;
  c.height = 50;
  c.fx = c.fy = 80;
  c.cx = 50;
  c.cy = 25;
  Camera half = c.resized(50, 25);
  EXPECT_DOUBLE_EQ(half.fx, 40);
  EXPECT_DOUBLE_EQ(half.cx, 25);
  EXPECT_EQ(Camera::from_json(c.to_json()), c);
  EXPECT_THROW(Camera::from_json({{"width", 1}}), std::runtime_error);
}
