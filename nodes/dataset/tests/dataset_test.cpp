// dataset family: encoded files probe and decode back as written; annotations read back as written.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unistd.h>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/node_context.h"
#include "camgraph/output_files.h"
#include "camgraph/values.h"
#include "dataset.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}
#include <sys/wait.h>

#include "metadata_index.h"
#include "node_runner.h"
#include "test_support.h"

using namespace camgraph;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Runs one node directly (no graph) with the given inputs; output files go under `out`.
std::map<std::string, Value> run_node(const std::string& type, const json& params, std::map<std::string, Value> inputs,
                                      const fs::path& out) {
  return camgraph::testing::run_node(builtin_registry(), type, params, std::move(inputs), out);
}

// A moving colour gradient, [n, h, w, 3] in [0, 1].
std::shared_ptr<FrameSequenceValue> gradient_sequence(int n, int w, int h) {
  auto seq = std::make_shared<FrameSequenceValue>();
  at::Tensor x = at::linspace(0, 1, w).view({1, 1, w});
  at::Tensor y = at::linspace(0, 1, h).view({1, h, 1});
  at::Tensor t = at::arange(n, at::kFloat).view({n, 1, 1}) / float(n);
  at::Tensor r = at::frac(x + t).expand({n, h, w});
  at::Tensor g = (0.2 + 0.6 * y).expand({n, h, w});
  at::Tensor b = (0.5 + 0.4 * at::sin(6.0 * (x + y) + 3.0 * t)).expand({n, h, w});
  // Smooth the wrap of the red ramp a little so the codec sees natural content.
  seq->frames = at::stack({0.1 + 0.8 * r, g, b}, 3).to(at::kFloat).contiguous();
  seq->fps = 24;
  return seq;
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

bool have_ffprobe() { return std::system("ffprobe -version > /dev/null 2>&1") == 0; }

json probe_stream(const fs::path& file) {
  const json j = json::parse(run_command("ffprobe -v error -show_streams -of json '" + file.string() + "'"));
  return j.at("streams").at(0);
}

// Decodes every frame of the first video stream to RGB24 [n, h, w, 3] float in [0, 1].
at::Tensor decode_rgb(const fs::path& file) {
  AVFormatContext* fmt = nullptr;
  if (avformat_open_input(&fmt, file.string().c_str(), nullptr, nullptr) < 0) return {};
  avformat_find_stream_info(fmt, nullptr);
  const int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const AVCodec* dec = avcodec_find_decoder(fmt->streams[si]->codecpar->codec_id);
  AVCodecContext* c = avcodec_alloc_context3(dec);
  avcodec_parameters_to_context(c, fmt->streams[si]->codecpar);
  avcodec_open2(c, dec, nullptr);
  AVPacket* pkt = av_packet_alloc();
  AVFrame* f = av_frame_alloc();
  SwsContext* sws = nullptr;
  std::vector<at::Tensor> frames;
  auto drain = [&]() {
    while (avcodec_receive_frame(c, f) == 0) {
      if (!sws) {
        sws = sws_getContext(f->width, f->height, AVPixelFormat(f->format), f->width, f->height, AV_PIX_FMT_RGB24,
                             SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
        const int* k = sws_getCoefficients(SWS_CS_ITU709);
        sws_setColorspaceDetails(sws, k, 0, k, 1, 0, 1 << 16, 1 << 16);
      }
      at::Tensor rgb = at::empty({f->height, f->width, 3}, at::kByte);
      uint8_t* dst[1] = {rgb.data_ptr<uint8_t>()};
      const int stride[1] = {3 * f->width};
      sws_scale(sws, f->data, f->linesize, 0, f->height, dst, stride);
      frames.push_back(rgb.to(at::kFloat) / 255.0f);
    }
  };
  while (av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == si) {
      avcodec_send_packet(c, pkt);
      drain();
    }
    av_packet_unref(pkt);
  }
  avcodec_send_packet(c, nullptr);
  drain();
  sws_freeContext(sws);
  av_frame_free(&f);
  av_packet_free(&pkt);
  avcodec_free_context(&c);
  avformat_close_input(&fmt);
  return frames.empty() ? at::Tensor() : at::stack(frames);
}

double psnr(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (a - b).pow(2).mean().item<double>();
  return 10.0 * std::log10(1.0 / std::max(mse, 1e-12));
}

}  // namespace

TEST(EncodeVideo, H264Mp4ProbesAsWrittenAndDecodesBackAbove30dB) {
  const fs::path dir = temp_dir("dataset-h264");
  auto seq = gradient_sequence(17, 64, 48);
  auto out = run_node("encode.video", {{"codec", "h264"}, {"crf", 18}, {"preset", "veryfast"}, {"path", "clips/a.mp4"}},
                      {{"frames", seq}}, dir);
  const json rec = std::dynamic_pointer_cast<const RecordValue>(out.at("video"))->record;
  const fs::path file = dir / "clips" / "a.mp4";
  ASSERT_TRUE(fs::exists(file));
  EXPECT_EQ(rec["width"], 64);
  EXPECT_EQ(rec["height"], 48);
  EXPECT_EQ(rec["frames"], 17);
  EXPECT_EQ(rec["crf"], 18);
  EXPECT_EQ(rec["even"], "none");
  // No temporary files left in the folder.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir / "clips")) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);

  const at::Tensor back = decode_rgb(file);
  ASSERT_TRUE(back.defined());
  ASSERT_EQ(back.size(0), 17);
  ASSERT_EQ(back.size(1), 48);
  ASSERT_EQ(back.size(2), 64);
  const double p = psnr(back, seq->frames);
  EXPECT_GT(p, 30.0) << "PSNR " << p;
  RecordProperty("psnr_db", std::to_string(p));

  if (!have_ffprobe()) GTEST_SKIP() << "ffprobe not found: stream metadata not checked";
  const json s = probe_stream(file);
  EXPECT_EQ(s["codec_name"], "h264");
  EXPECT_EQ(s["pix_fmt"], "yuv420p");
  EXPECT_EQ(s["width"], 64);
  EXPECT_EQ(s["height"], 48);
  EXPECT_EQ(s.value("nb_frames", ""), "17");
  EXPECT_EQ(s.value("color_space", ""), "bt709");
  EXPECT_EQ(s.value("color_range", ""), "tv");
  EXPECT_EQ(s.value("color_primaries", ""), "bt709");
  EXPECT_EQ(s.value("r_frame_rate", ""), "24/1");
  // +faststart: the moov atom comes before mdat.
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_NE(bytes.find("moov"), std::string::npos);
  EXPECT_LT(bytes.find("moov"), bytes.find("mdat"));
}

TEST(EncodeVideo, OddSizesArePaddedOrCroppedToEven) {
  const fs::path dir = temp_dir("dataset-odd");
  auto seq = gradient_sequence(5, 63, 47);
  auto padded = run_node("encode.video", {{"path", "pad.mp4"}, {"preset", "ultrafast"}}, {{"frames", seq}}, dir);
  const json pr = std::dynamic_pointer_cast<const RecordValue>(padded.at("video"))->record;
  EXPECT_EQ(pr["width"], 64);
  EXPECT_EQ(pr["height"], 48);
  EXPECT_EQ(pr["even"], "padded");
  auto cropped = run_node("encode.video", {{"path", "crop.mp4"}, {"even", "crop"}, {"preset", "ultrafast"}},
                          {{"frames", seq}}, dir);
  const json cr = std::dynamic_pointer_cast<const RecordValue>(cropped.at("video"))->record;
  EXPECT_EQ(cr["width"], 62);
  EXPECT_EQ(cr["height"], 46);
  EXPECT_EQ(cr["even"], "cropped");
  const at::Tensor back = decode_rgb(dir / "crop.mp4");
  ASSERT_TRUE(back.defined());
  EXPECT_EQ(back.size(1), 46);
  EXPECT_EQ(back.size(2), 62);
  EXPECT_GT(psnr(back, seq->frames.slice(1, 0, 46).slice(2, 0, 62)), 30.0);
  if (!have_ffprobe()) GTEST_SKIP() << "ffprobe not found";
  EXPECT_EQ(probe_stream(dir / "pad.mp4")["width"], 64);
  EXPECT_EQ(probe_stream(dir / "pad.mp4")["height"], 48);
}

TEST(EncodeVideo, Ffv1MkvIsNearLosslessAndErrorsNameTheParameter) {
  const fs::path dir = temp_dir("dataset-ffv1");
  auto seq = gradient_sequence(4, 32, 16);
  run_node("encode.video", {{"codec", "ffv1"}, {"path", "a.mkv"}}, {{"frames", seq}}, dir);
  const at::Tensor back = decode_rgb(dir / "a.mkv");
  ASSERT_TRUE(back.defined());
  EXPECT_EQ(back.size(0), 4);
  EXPECT_GT(psnr(back, seq->frames), 40.0);  // lossless codec; only the YUV conversion rounds
  const std::string e1 = error_of([&] {
    run_node("encode.video", {{"codec", "ffv1"}, {"path", "b.mp4"}}, {{"frames", seq}}, dir);
  });
  EXPECT_NE(e1.find("'path'"), std::string::npos) << e1;
  const std::string e2 = error_of([&] { run_node("encode.video", {{"path", "b.avi"}}, {{"frames", seq}}, dir); });
  EXPECT_NE(e2.find("'path'"), std::string::npos) << e2;
  // A file CamGraph did not write is not replaced.
  write_file_atomic(dir / "mine.mp4", "user data");
  const std::string e3 = error_of([&] { run_node("encode.video", {{"path", "mine.mp4"}}, {{"frames", seq}}, dir); });
  EXPECT_NE(e3.find("'path'"), std::string::npos) << e3;
  EXPECT_EQ(read_file(dir / "mine.mp4"), "user data");
}

TEST(EncodeVideo, H265Mp4WhenTheEncoderIsThere) {
  if (!avcodec_find_encoder_by_name("libx265")) {
    // The node must then say which parameter and which encoder.
    const fs::path dir = temp_dir("dataset-h265-missing");
    const std::string e = error_of([&] {
      run_node("encode.video", {{"codec", "h265"}, {"path", "a.mp4"}}, {{"frames", gradient_sequence(3, 16, 16)}}, dir);
    });
    EXPECT_NE(e.find("'codec'"), std::string::npos) << e;
    EXPECT_NE(e.find("libx265"), std::string::npos) << e;
    GTEST_SKIP() << "libx265 is not in this FFmpeg build";
  }
  const fs::path dir = temp_dir("dataset-h265");
  auto seq = gradient_sequence(9, 64, 48);
  run_node("encode.video", {{"codec", "h265"}, {"crf", 20}, {"preset", "ultrafast"}, {"path", "a.mp4"}},
           {{"frames", seq}}, dir);
  const at::Tensor back = decode_rgb(dir / "a.mp4");
  ASSERT_TRUE(back.defined());
  ASSERT_EQ(back.size(0), 9);
  EXPECT_GT(psnr(back, seq->frames), 30.0);
  if (!have_ffprobe()) GTEST_SKIP() << "ffprobe not found";
  const json st = probe_stream(dir / "a.mp4");
  EXPECT_EQ(st["codec_name"], "hevc");
  EXPECT_EQ(st.value("codec_tag_string", ""), "hvc1");
  EXPECT_EQ(st.value("color_space", ""), "bt709");
  EXPECT_EQ(st.value("color_range", ""), "tv");
}

TEST(Caption, CameraBenchVerbsThenAndWhile) {
  using dataset::describe_motion;
  EXPECT_EQ(describe_motion(json::array()), "static camera");
  EXPECT_EQ(describe_motion(json::parse(R"([{"type": "static", "speed": "none", "frames": [0, 16]}])")),
            "static camera");
  EXPECT_EQ(
      describe_motion(json::parse(R"([{"type": "pan", "direction": "left", "speed": "slow", "frames": [0, 16]}])")),
      "camera pans left slowly");
  EXPECT_EQ(describe_motion(json::parse(R"([{"type": "dolly", "direction": "in", "speed": "medium", "frames": [17, 32]},
                                             {"type": "tilt", "direction": "up", "speed": "fast", "frames": [0, 16]}])")),
            "camera tilts up quickly, then dollies in");
  EXPECT_EQ(describe_motion(json::parse(R"([{"type": "pan", "direction": "right", "frames": [0, 24]},
                                             {"type": "dolly", "direction": "in", "frames": [16, 48]}])")),
            "camera pans right while dollying in");
  EXPECT_EQ(dataset::format_caption("{scene}, {subject}, {motion}", "", "a red fox", "static camera"),
            "a red fox, static camera");
}

namespace {

std::vector<Camera> test_cameras(int n) {
  std::vector<Camera> cams;
  for (int i = 0; i < n; ++i) {
    const double a = 0.1 * i + 0.123456789;
    Camera c = Camera::from_fov(64, 48, 50 + i,
                                Camera::look_at({4 * std::cos(a), 1.0 / 3.0, 4 * std::sin(a)}, {0, 0.5, 0}, {0, 1, 0}));
    c.cx += 0.37 * i;  // off-centre principal point
    cams.push_back(c);
  }
  return cams;
}

// Reads RealEstate10K poses the way the CameraCtrl loader does: skip line 1, split each line on
// spaces into floats, intrinsics from entries 1..4, the world-to-camera from entries 7.. as [3, 4].
struct ReadPose {
  double fx, fy, cx, cy;
  std::array<double, 12> w2c;
  long long ts;
};
std::vector<ReadPose> read_realestate10k(const std::string& text, std::string* first_line, int* bad_lines) {
  std::vector<ReadPose> out;
  std::stringstream in(text);
  std::string line;
  std::getline(in, *first_line);
  *bad_lines = 0;
  while (std::getline(in, line)) {
    std::vector<double> v;
    std::stringstream ls(line);
    std::string tok;
    while (std::getline(ls, tok, ' ')) v.push_back(std::stod(tok));
    if (v.size() != 19) {
      ++*bad_lines;
      continue;
    }
    ReadPose p{v[1], v[2], v[3], v[4], {}, static_cast<long long>(v[0])};
    for (int k = 0; k < 12; ++k) p.w2c[size_t(k)] = v[7 + size_t(k)];
    out.push_back(p);
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

TEST(Annotate, PosesRoundTripMetadataIsOneLinePerItemAndCaptionNamesTheMotion) {
  const fs::path dir = temp_dir("dataset-annotate");
  auto seq = gradient_sequence(17, 64, 48);
  seq->cameras = test_cameras(17);
  auto path = std::make_shared<CameraPathValue>();
  path->cameras = seq->cameras;
  path->motion = json::parse(R"([{"type": "pan", "direction": "left", "intensity": 0.2, "speed": "slow",
                                  "frames": [0, 16], "seconds": [0, 0.6667], "easing": "linear"}])");
  auto scene = std::make_shared<TextValue>();
  scene->text = "a sunlit forest clearing";
  auto subject = std::make_shared<TextValue>();
  subject->text = "a red fox";
  auto video = run_node("encode.video", {{"path", "tmp/clip.mp4"}, {"preset", "ultrafast"}}, {{"frames", seq}}, dir);

  std::map<std::string, Value> inputs = {
      {"frames", seq}, {"path", path}, {"scene", scene}, {"subject", subject}, {"video", video.at("video")}};
  auto out = run_node("dataset.annotate", {{"folder", "ds"}}, inputs, dir);
  const json item = std::dynamic_pointer_cast<const RecordValue>(out.at("item"))->record;
  const std::string id = item["id"];
  ASSERT_EQ(id.size(), 16u);
  EXPECT_EQ(item["file_name"], "videos/" + id + ".mp4");
  EXPECT_EQ(item["text"], "a sunlit forest clearing, a red fox, camera pans left slowly");
  EXPECT_EQ(item["frames"], 17);
  EXPECT_EQ(item["width"], 64);
  EXPECT_EQ(item["motion"], path->motion);
  const fs::path ds = dir / "ds";
  EXPECT_TRUE(fs::exists(ds / "videos" / (id + ".mp4")));
  EXPECT_EQ(read_file(ds / "videos" / (id + ".txt")), item["text"].get<std::string>() + "\n");

  // Poses: frames + 1 lines, 19 numbers each, our matrices back exactly.
  const std::string poses = read_file(ds / "poses" / (id + ".txt"));
  EXPECT_EQ(lines_of(poses).size(), 18u);
  std::string first;
  int bad = 0;
  const auto read = read_realestate10k(poses, &first, &bad);
  EXPECT_EQ(first, id);
  EXPECT_EQ(bad, 0);
  ASSERT_EQ(read.size(), 17u);
  for (size_t i = 0; i < read.size(); ++i) {
    const Camera& c = seq->cameras[i];
    EXPECT_EQ(read[i].fx, c.fx / c.width);
    EXPECT_EQ(read[i].fy, c.fy / c.height);
    EXPECT_EQ(read[i].cx, c.cx / c.width);
    EXPECT_EQ(read[i].cy, c.cy / c.height);
    EXPECT_EQ(read[i].ts, std::llround(double(i) * 1e6 / 24));
    for (size_t k = 0; k < 12; ++k) EXPECT_EQ(read[i].w2c[k], c.world_to_camera[k]) << "frame " << i << " entry " << k;
  }
  // cameras/<id>.json: K in pixels and the 3x4 world-to-camera.
  const json cams = json::parse(read_file(ds / "cameras" / (id + ".json")));
  EXPECT_EQ(cams["width"], 64);
  ASSERT_EQ(cams["frames"].size(), 17u);
  EXPECT_EQ(cams["frames"][3]["K"][0][2].get<double>(), seq->cameras[3].cx);
  EXPECT_EQ(cams["frames"][3]["world_to_camera"][2][3].get<double>(), seq->cameras[3].world_to_camera[11]);

  // Same inputs again: the same id, still one line. Another item adds a line.
  auto again = run_node("dataset.annotate", {{"folder", "ds"}}, inputs, dir);
  EXPECT_EQ(std::dynamic_pointer_cast<const RecordValue>(again.at("item"))->record["id"], id);
  EXPECT_EQ(lines_of(read_file(ds / "metadata.jsonl")).size(), 1u);
  inputs.erase("video");
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "clip_0002"}}, inputs, dir);
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "clip_0002"}}, inputs, dir);
  const auto meta = lines_of(read_file(ds / "metadata.jsonl"));
  ASSERT_EQ(meta.size(), 2u);
  int ours = 0;
  for (const auto& l : meta) {
    const json j = json::parse(l);
    EXPECT_TRUE(j.contains("text"));
    ours += j["file_name"] == "videos/clip_0002.mp4";
  }
  EXPECT_EQ(ours, 1);

  // An odd-sized render padded by the encoder: the item takes the video's size and fps; the pixel
  // intrinsics stay as they are, the normalised ones use the video's size.
  auto odd = gradient_sequence(5, 63, 47);
  odd->cameras = test_cameras(5);
  for (auto& c : odd->cameras) c.width = 63, c.height = 47;
  auto odd_video = run_node("encode.video", {{"path", "tmp/odd.mp4"}, {"preset", "ultrafast"}, {"fps", 16}},
                            {{"frames", odd}}, dir);
  auto odd_item = run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "odd"}},
                           {{"frames", odd}, {"video", odd_video.at("video")}}, dir);
  const json oi = std::dynamic_pointer_cast<const RecordValue>(odd_item.at("item"))->record;
  EXPECT_EQ(oi["width"], 64);
  EXPECT_EQ(oi["height"], 48);
  EXPECT_EQ(oi["fps"], 16.0);
  const auto odd_read = read_realestate10k(read_file(ds / "poses" / "odd.txt"), &first, &bad);
  ASSERT_EQ(odd_read.size(), 5u);
  EXPECT_EQ(odd_read[1].fx, odd->cameras[1].fx / 64);
  EXPECT_EQ(odd_read[1].ts, std::llround(1e6 / 16));

  // Without a path: static camera; a bad id names the parameter.
  auto st = run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "s1"}}, {{"frames", seq}}, dir);
  EXPECT_EQ(std::dynamic_pointer_cast<const RecordValue>(st.at("item"))->record["text"], "static camera");
  const std::string e = error_of([&] {
    run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "../x"}}, {{"frames", seq}}, dir);
  });
  EXPECT_NE(e.find("'item_id'"), std::string::npos) << e;
}

TEST(MetadataShards, WritersUseTheirOwnShardAndIndexMergesWithoutLossOrDuplicates) {
  const fs::path dir = temp_dir("dataset-shards");
  auto seq = gradient_sequence(3, 16, 16);
  seq->cameras = test_cameras(3);
  // A writer named by the parameter leaves metadata.jsonl alone.
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "a"}, {"writer", "w1"}}, {{"frames", seq}}, dir);
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "b"}, {"writer", "w2"}}, {{"frames", seq}}, dir);
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "a"}, {"writer", "w2"}}, {{"frames", seq}}, dir);
  const fs::path ds = dir / "ds";
  EXPECT_FALSE(fs::exists(ds / "metadata.jsonl"));
  EXPECT_EQ(lines_of(read_file(ds / "metadata.d" / "w1.jsonl")).size(), 1u);
  EXPECT_EQ(lines_of(read_file(ds / "metadata.d" / "w2.jsonl")).size(), 2u);
  const std::string e = error_of([&] {
    run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "c"}, {"writer", "../x"}}, {{"frames", seq}}, dir);
  });
  EXPECT_NE(e.find("'writer'"), std::string::npos) << e;

  // Index: one line per file_name ("a" from w2 replaces w1's), shards removed, a re-run changes nothing.
  auto report = dataset::index_dataset_metadata(ds);
  EXPECT_EQ(report.shards, 2u);
  EXPECT_EQ(report.items, 2u);
  EXPECT_EQ(report.replaced, 1u);
  EXPECT_EQ(report.missing_files.size(), 2u);  // no videos were connected
  EXPECT_FALSE(fs::exists(ds / "metadata.d" / "w1.jsonl"));
  const std::string merged = read_file(ds / "metadata.jsonl");
  EXPECT_EQ(lines_of(merged).size(), 2u);
  report = dataset::index_dataset_metadata(ds);
  EXPECT_EQ(report.shards, 0u);
  EXPECT_EQ(read_file(ds / "metadata.jsonl"), merged);
  // metadata.jsonl is recorded in the run's manifest (the root above ds): a later single-writer run may update it.
  run_node("dataset.annotate", {{"folder", "ds"}, {"item_id", "c"}}, {{"frames", seq}}, dir);
  EXPECT_EQ(lines_of(read_file(ds / "metadata.jsonl")).size(), 3u);
}

TEST(MetadataShards, ManyProcessesWritingAtOnceLoseNoLine) {
  const fs::path ds = temp_dir("dataset-shards-procs");
  constexpr int kWriters = 4, kItems = 20;
  const int failed = camgraph::testing::run_in_processes(kWriters, [&](int w) {
    OutputFiles files(ds);
    const fs::path shard = dataset::metadata_file_for_writer(ds, "w" + std::to_string(w));
    fs::create_directories(shard.parent_path());
    for (int i = 0; i < kItems; ++i) {
      // Items 0..4 are written by every writer: the merge keeps one line each.
      const int item = i < 5 ? i : w * 100 + i;
      const json line = {{"file_name", "videos/" + std::to_string(item) + ".mp4"}, {"writer", w}};
      files.write(shard, dataset::upsert_jsonl_line(fs::exists(shard) ? read_file(shard) : "", line));
    }
  });
  EXPECT_EQ(failed, 0) << "a writer process failed";
  const auto report = dataset::index_dataset_metadata(ds);
  EXPECT_EQ(report.shards, size_t(kWriters));
  EXPECT_EQ(report.items, size_t(5 + kWriters * (kItems - 5)));
  EXPECT_EQ(report.replaced, size_t(5 * (kWriters - 1)));
  std::set<std::string> names;
  for (const auto& l : lines_of(read_file(ds / "metadata.jsonl"))) {
    const json j = json::parse(l);
    EXPECT_TRUE(names.insert(j["file_name"].get<std::string>()).second) << "duplicate " << j["file_name"];
    if (j["file_name"] == "videos/0.mp4") {
      EXPECT_EQ(j["writer"], kWriters - 1);  // the last shard by name wins
    }
  }
  EXPECT_EQ(names.size(), report.items);
}

TEST(MetadataShards, LinesThatAreNotItemsAreKeptAndReported) {
  const fs::path ds = temp_dir("dataset-shards-bad");
  { std::ofstream(ds / "metadata.jsonl") << "{\"file_name\": \"videos/x.mp4\"}\nnot json\n"; }
  fs::create_directories(ds / "metadata.d");
  { std::ofstream(ds / "metadata.d" / "w.jsonl") << "{\"file_name\": \"videos/y.mp4\"}\n"; }
  OutputFiles files(ds);
  // metadata.jsonl was not written by CamGraph: the merge refuses to replace it, naming the file.
  std::string e = error_of([&] { dataset::index_dataset_metadata(ds, files); });
  EXPECT_NE(e.find("metadata.jsonl"), std::string::npos) << e;
  EXPECT_TRUE(fs::exists(ds / "metadata.d" / "w.jsonl")) << "a failed merge must keep the shards";
  fs::rename(ds / "metadata.jsonl", ds / "old.jsonl");
  files.write(ds / "metadata.jsonl", read_file(ds / "old.jsonl"));
  const auto report = dataset::index_dataset_metadata(ds, files);
  EXPECT_EQ(report.items, 3u);
  EXPECT_EQ(report.bad_lines, 1u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("line 2"), std::string::npos) << report.warnings[0];
}

namespace {
json prov_node(const std::string& type, json params, json inputs = json::object()) {
  return {{"type", type}, {"version", 1}, {"params", std::move(params)}, {"inputs", std::move(inputs)}};
}
// A shot graph's provenance as the evaluator writes it (hand-made: the test changes one thing at a time).
json shot_provenance(double path_fps, int scene_views, const std::string& character_file) {
  json nodes = {
      {"scene", prov_node("scene.procedural", {{"views", scene_views}})},
      {"img", prov_node("image.load", {{"path", character_file}})},
      {"bb", prov_node("shot.billboard", {{"height", 1.7}}, {{"image", "img.image"}, {"scene", "scene.views"}})},
      {"path", prov_node("camera.path", {{"fps", path_fps}})},
      {"render", prov_node("shot.render", json::object(), {{"billboards", "bb.billboards"}, {"path", "path.path"}})},
      {"interp", prov_node("frames.interpolate",
                           {{"method", "auto"}, {"model_path", ""}, {"mode", "multiplier"}, {"multiplier", 3}},
                           {{"frames", "render.frames"}})},
      {"enc", prov_node("encode.video", {{"codec", "h264"}, {"crf", 18}, {"preset", "slow"}, {"even", "pad"}},
                        {{"frames", "interp.frames"}})},
      {"ann", prov_node("dataset.annotate", json::object(), {{"frames", "interp.frames"}, {"video", "enc.video"}})},
      {"other", prov_node("text.prompt", {{"seed", 9}})}};
  return {{"camgraph", "0.1.0"},
          {"graph_hash", "0123456789abcdef0123456789abcdef"},
          {"nodes", nodes},
          {"files",
           {{"img.path", {{"path", character_file}, {"xxh3", "00000000000000aa"}}},
            {"other.file", {{"path", "x"}, {"xxh3", "1"}}}}},
          {"seeds", {{"scene.seed", 7}, {"other.seed", 9}}}};
}
}  // namespace

TEST(Provenance, ItemRecordsUpstreamVersionsFilesSeedsRenderRateAndEncoder) {
  json item;
  const json video = {{"codec", "h264"}, {"encoder", "libx264"}, {"pix_fmt", "yuv420p"}, {"crf", 18}};
  dataset::add_provenance(item, shot_provenance(8, 32, "knight.png"), "ann", 24, video);
  EXPECT_EQ(item["provenance"]["graph_hash"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(item["provenance"]["camgraph"], "0.1.0");
  const json& versions = item["provenance"]["node_versions"];
  EXPECT_EQ(versions.size(), 7u) << versions.dump();  // everything upstream of "ann", not "other"
  EXPECT_EQ(versions["interp"], "frames.interpolate@1");
  EXPECT_FALSE(versions.contains("other"));
  EXPECT_EQ(item["provenance"]["files"], json({{"img.path", {{"path", "knight.png"}, {"xxh3", "00000000000000aa"}}}}));
  EXPECT_EQ(item["seeds"], json({{"scene.seed", 7}}));
  EXPECT_EQ(item["interpolation"]["method"], "flow");  // auto without a model file
  EXPECT_EQ(item["interpolation"]["factor"], 3.0);
  EXPECT_EQ(item["render_fps"], 8.0);
  EXPECT_EQ(item["encoder"]["preset"], "slow");
  EXPECT_EQ(item["encoder"]["encoder"], "libx264");
  ASSERT_TRUE(item.contains("scene_id") && item.contains("character_id"));

  // Another camera move of the same scene and character: same ids. Another scene or character: new ids.
  json moved, other_scene, other_character;
  dataset::add_provenance(moved, shot_provenance(12, 32, "knight.png"), "ann", 24, video);
  dataset::add_provenance(other_scene, shot_provenance(8, 16, "knight.png"), "ann", 24, video);
  dataset::add_provenance(other_character, shot_provenance(8, 32, "witch.png"), "ann", 24, video);
  EXPECT_EQ(moved["scene_id"], item["scene_id"]);
  EXPECT_EQ(moved["character_id"], item["character_id"]);
  EXPECT_NE(other_scene["scene_id"], item["scene_id"]);
  EXPECT_EQ(other_scene["character_id"], item["character_id"]);  // the billboard's image, not its scene
  EXPECT_NE(other_character["character_id"], item["character_id"]);
  EXPECT_EQ(other_character["scene_id"], item["scene_id"]);

  // Outside a graph run there is no provenance: nothing is invented.
  json bare;
  dataset::add_provenance(bare, json::object(), "ann", 24, video);
  EXPECT_TRUE(bare.is_null());
}

TEST(Provenance, AGraphRunWritesItIntoMetadata) {
  const fs::path dir = temp_dir("dataset-provenance");
  const std::string graph_text = R"({"format": "camgraph", "version": 1, "graph": {
    "nodes": [
      {"id": "views", "type": "scene.procedural", "version": 1, "params": {"views": 3, "rings": 1, "width": 32, "height": 24, "samples": 1}},
      {"id": "twice", "type": "frames.interpolate", "version": 1, "params": {"method": "blend", "multiplier": 2}},
      {"id": "enc", "type": "encode.video", "version": 1, "params": {"path": "clip.mp4", "preset": "ultrafast", "crf": CRF}},
      {"id": "ann", "type": "dataset.annotate", "version": 1, "params": {"folder": "ds", "item_id": "item"}}],
    "links": [{"from": "views.views", "to": "twice.frames"}, {"from": "twice.frames", "to": "enc.frames"},
              {"from": "twice.frames", "to": "ann.frames"}, {"from": "enc.video", "to": "ann.video"}]}})";
  auto run = [&](int crf) {
    std::string text = graph_text;
    text.replace(text.find("CRF"), 3, std::to_string(crf));
    const GraphDocument doc = load_cgraph_text(text, builtin_registry());
    Evaluator ev(builtin_registry());
    RunOptions opt;
    opt.device = DeviceKind::Cpu;
    opt.out_dir = dir;
    const RunResult r = ev.run(doc.graph, opt);
    for (const auto& [id, n] : r.nodes) EXPECT_NE(n.state, NodeState::Failed) << id << ": " << n.error;
    const auto lines = lines_of(read_file(dir / "ds" / "metadata.jsonl"));
    EXPECT_EQ(lines.size(), 1u);
    return lines.empty() ? json() : json::parse(lines[0]);
  };
  const json a = run(18), b = run(23);
  ASSERT_TRUE(a.contains("provenance")) << a.dump();
  EXPECT_EQ(a["provenance"]["graph_hash"].get<std::string>().size(), 32u);
  EXPECT_EQ(a["provenance"]["node_versions"]["twice"], "frames.interpolate@1");
  EXPECT_EQ(a["interpolation"]["factor"], 2.0);
  EXPECT_DOUBLE_EQ(a["render_fps"].get<double>() * 2, a["fps"].get<double>());
  EXPECT_EQ(a["encoder"]["crf"], 18);
  EXPECT_EQ(b["encoder"]["crf"], 23);
  EXPECT_NE(a["provenance"]["graph_hash"], b["provenance"]["graph_hash"]);
  EXPECT_EQ(a["scene_id"], b["scene_id"]);
}
