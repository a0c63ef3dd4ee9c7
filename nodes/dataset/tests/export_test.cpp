// dataset.export (CogVideoX lists, WebDataset ustar shards read back with tar and ffprobe) and
// multi-shot annotation (sequence.join's record -> caption and shots in metadata.jsonl).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "camgraph/node_context.h"
#include "camgraph/values.h"
#include "dataset.h"
#include "node_runner.h"
#include "test_support.h"

namespace camgraph {
void register_dataset_nodes(Registry& r);
}

using namespace camgraph;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::map<std::string, Value> run_node(const std::string& type, const json& params, std::map<std::string, Value> inputs,
                                      const fs::path& out) {
  static Registry reg = [] {
    Registry r;
    register_dataset_nodes(r);
    return r;
  }();
  return camgraph::testing::run_node(reg, type, params, std::move(inputs), out);
}

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t k;
  while ((k = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, k);
  ::pclose(p);
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<FrameSequenceValue> frames(int n, float shade) {
  auto seq = std::make_shared<FrameSequenceValue>();
  at::Tensor x = at::linspace(0, 1, 32).view({1, 1, 32, 1});
  at::Tensor t = at::arange(n, at::kFloat).view({n, 1, 1, 1}) / float(n);
  seq->frames = (shade * at::frac(x + t) * at::ones({n, 24, 32, 3})).contiguous();
  seq->fps = 12;
  for (int i = 0; i < n; ++i) {
    Camera c;
    c.width = 32;
    c.height = 24;
    c.fx = c.fy = 30;
    c.cx = 16;
    c.cy = 12;
    c.world_to_camera[3] = 0.1 * i;
    seq->cameras.push_back(c);
  }
  return seq;
}

std::shared_ptr<RecordValue> record(const json& j) {
  auto r = std::make_shared<RecordValue>();
  r->record = j;
  return r;
}

std::shared_ptr<TextValue> text(const std::string& s) {
  auto t = std::make_shared<TextValue>();
  t->text = s;
  return t;
}

}  // namespace

TEST(UstarHeader, ChecksumAndFieldsFollowPosix) {
  const std::string h = camgraph::dataset::ustar_header("abc.txt", 1234);
  ASSERT_EQ(h.size(), 512u);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? unsigned(' ') : static_cast<unsigned char>(h[i]);
  EXPECT_EQ(std::stoul(h.substr(148, 6), nullptr, 8), sum);
  EXPECT_EQ(std::stoul(h.substr(124, 11), nullptr, 8), 1234u);
  EXPECT_EQ(h.substr(257, 5), "ustar");
  EXPECT_THROW(camgraph::dataset::ustar_header(std::string(101, 'x'), 1), std::exception);
}

TEST(DatasetExport, CogVideoXListsAndWebDatasetShards) {
  const fs::path dir = temp_dir("dataset_export");
  const std::vector<std::pair<std::string, bool>> items = {{"a", true}, {"b.2", true}, {"c", false}};
  for (const auto& [id, pass] : items) {
    auto seq = frames(6, id == "a" ? 1.0f : 0.7f);
    auto video = run_node("encode.video", {{"path", "enc_" + id + ".mp4"}, {"preset", "ultrafast"}}, {{"frames", seq}},
                          dir)
                     .at("video");
    run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", id}},
             {{"frames", seq}, {"video", video}, {"scene", text("scene " + id)}, {"qc", record({{"pass", pass}})}},
             dir);
  }
  auto out = run_node("dataset.export", {{"folder", "ds"}, {"shard_size", 1}}, {}, dir);
  const json rec = std::static_pointer_cast<const RecordValue>(out.at("export"))->record;
  EXPECT_EQ(rec["items"], 2);
  EXPECT_EQ(rec["skipped_qc_failed"], 1);
  EXPECT_EQ(slurp(dir / "ds" / "prompts.txt"), "scene a, static camera\nscene b.2, static camera\n");
  EXPECT_EQ(slurp(dir / "ds" / "videos.txt"), "videos/a.mp4\nvideos/b.2.mp4\n");
  ASSERT_TRUE(fs::exists(dir / "ds" / "webdataset" / "shard-000001.tar"));
  EXPECT_FALSE(fs::exists(dir / "ds" / "webdataset" / "shard-000002.tar"));

  if (std::system("tar --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "tar not installed";
  const fs::path shard = dir / "ds" / "webdataset" / "shard-000001.tar";
  EXPECT_EQ(run_command("tar -tf '" + shard.string() + "'"),
            "b_2.mp4\nb_2.txt\nb_2.json\nb_2.poses.txt\nb_2.cameras.json\n");
  EXPECT_EQ(run_command("tar -xOf '" + shard.string() + "' b_2.txt"), "scene b.2, static camera\n");
  const json line = json::parse(run_command("tar -xOf '" + shard.string() + "' b_2.json"));
  EXPECT_EQ(line["id"], "b.2");
  EXPECT_EQ(run_command("tar -xOf '" + shard.string() + "' b_2.poses.txt"), slurp(dir / "ds" / "poses" / "b.2.txt"));
  // The video member is the file, byte for byte, and probes as H.264.
  std::system(("tar -xOf '" + shard.string() + "' b_2.mp4 > '" + (dir / "x.mp4").string() + "'").c_str());
  EXPECT_EQ(slurp(dir / "x.mp4"), slurp(dir / "ds" / "videos" / "b.2.mp4"));
  if (std::system("ffprobe -version > /dev/null 2>&1") == 0) {
    const json probe = json::parse(
        run_command("ffprobe -v error -show_streams -of json '" + (dir / "x.mp4").string() + "'"));
    EXPECT_EQ(probe["streams"][0]["codec_name"], "h264");
    EXPECT_EQ(probe["streams"][0]["width"], 32);
  }
  // include_qc_failed; a second run replaces its own files.
  out = run_node("dataset.export", {{"folder", "ds"}, {"format", "cogvideox"}, {"include_qc_failed", true}}, {}, dir);
  EXPECT_EQ(std::static_pointer_cast<const RecordValue>(out.at("export"))->record["items"], 3);
  EXPECT_THROW(run_node("dataset.export", {{"folder", "missing"}}, {}, dir), std::exception);
}

TEST(DatasetAnnotate, MultiShotCaptionAndShotRanges) {
  const fs::path dir = temp_dir("dataset_shots");
  auto seq = frames(10, 1.0f);
  const json shots = {{"shots",
                       {{{"index", 0}, {"caption", "camera pans left"}, {"frames", {0, 5}}},
                        {{"index", 1}, {"caption", "camera dollies in"}, {"frames", {3, 9}}}}},
                      {"transitions", {{{"type", "dissolve"}, {"after_shot", 0}, {"frames", {3, 5}}}}}};
  auto out = run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "m"}},
                      {{"frames", seq}, {"scene", text("a courtyard")}, {"shots", record(shots)}}, dir);
  const json item = std::static_pointer_cast<const RecordValue>(out.at("item"))->record;
  EXPECT_EQ(item["text"], "a courtyard, camera pans left, then dissolve to camera dollies in");
  EXPECT_EQ(item["shots"][1]["frames"], json({3, 9}));
  EXPECT_EQ(item["transitions"][0]["type"], "dissolve");
  const json line = json::parse(slurp(dir / "ds" / "metadata.jsonl"));
  EXPECT_EQ(line["shots"], shots["shots"]);
  EXPECT_THROW(run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "n"}},
                        {{"frames", seq}, {"shots", record({{"x", 1}})}}, dir),
               std::exception);
}
