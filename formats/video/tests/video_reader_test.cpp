// camgraph_video_formats on the committed media seeds of the video fuzz harness
// (tests/fuzz/corpus/video: testsrc, 32x24, 8 fps, 5 frames, made by make_media_seeds.sh).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "camgraph/formats/video_reader.h"

namespace fs = std::filesystem;
using namespace camgraph::video;

namespace {

std::string seed(const std::string& name) {
  return (fs::path(CAMGRAPH_SOURCE_DIR) / "tests/fuzz/corpus/video" / name).string();
}

std::vector<std::vector<uint8_t>> decode_all(const std::string& file, Pixels px, int ow = 0, int oh = 0,
                                             int* w = nullptr, int* h = nullptr) {
  std::vector<std::vector<uint8_t>> frames;
  decode_video(
      file, px,
      [&](const FrameView& f) {
        EXPECT_EQ(f.index, frames.size());
        frames.emplace_back(f.data, f.data + f.stride * f.height);
        if (w) *w = f.width;
        if (h) *h = f.height;
        return true;
      },
      {}, ow, oh);
  return frames;
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  EXPECT_EQ(a.size(), b.size());
  double s = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) s += std::abs(int(a[i]) - int(b[i]));
  return a.empty() ? 0 : s / double(a.size());
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const VideoError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(VideoReader, ProbeReadsTheHeaderOfEveryContainer) {
  for (const char* name : {"h264_5frames.mp4", "mpeg4_5frames.avi", "ffv1_5frames.mkv", "raw_5frames.y4m"}) {
    const VideoStreamInfo info = probe_video(seed(name));
    EXPECT_EQ(info.width, 32) << name;
    EXPECT_EQ(info.height, 24) << name;
    EXPECT_NEAR(info.fps, 8.0, 1e-6) << name;
    EXPECT_FALSE(info.codec.empty()) << name;
  }
  EXPECT_EQ(probe_video(seed("h264_5frames.mp4")).codec, "h264");
  EXPECT_EQ(probe_video(seed("h264_5frames.mp4")).declared_frames, 5);
}

TEST(VideoReader, EveryCodecDecodesToItsFrameCountAndTheSamePictures) {
  int w = 0, h = 0;
  const auto raw = decode_all(seed("raw_5frames.y4m"), Pixels::Rgb24, 0, 0, &w, &h);
  ASSERT_EQ(raw.size(), 5u);
  EXPECT_EQ(w, 32);
  EXPECT_EQ(h, 24);
  // testsrc moves between frames: consecutive raw frames differ.
  EXPECT_GT(mean_abs_diff(raw[0], raw[4]), 1.0);
  for (const char* name : {"h264_5frames.mp4", "mpeg4_5frames.avi", "ffv1_5frames.mkv", "anim_5frames.gif"}) {
    const auto frames = decode_all(seed(name), Pixels::Rgb24);
    ASSERT_EQ(frames.size(), 5u) << name;
    EXPECT_EQ(count_video_frames(seed(name)), 5u) << name;
    // Lossy codecs and the GIF palette at 32x24 stay close to the raw frames, frame by frame.
    for (size_t i = 0; i < 5; ++i) EXPECT_LT(mean_abs_diff(frames[i], raw[i]), 24.0) << name << " frame " << i;
  }
}

TEST(VideoReader, FramesCarryTheirPresentationTimes) {
  for (const char* name : {"h264_5frames.mp4", "mpeg4_5frames.avi", "ffv1_5frames.mkv", "raw_5frames.y4m"}) {
    std::vector<double> times;
    decode_video(seed(name), Pixels::None, [&](const FrameView& f) {
      times.push_back(f.time_s);
      return true;
    });
    ASSERT_EQ(times.size(), 5u) << name;
    for (size_t i = 0; i < times.size(); ++i) EXPECT_NEAR(times[i], i / 8.0, 1e-6) << name << " frame " << i;
  }
}

TEST(VideoReader, GreyAndScaledOutput) {
  int w = 0, h = 0;
  const auto grey = decode_all(seed("h264_5frames.mp4"), Pixels::Gray8, 0, 0, &w, &h);
  ASSERT_EQ(grey.size(), 5u);
  EXPECT_EQ(grey[0].size(), size_t(32 * 24));
  const auto half = decode_all(seed("h264_5frames.mp4"), Pixels::Rgb24, 16, 0, &w, &h);
  EXPECT_EQ(w, 16);
  EXPECT_EQ(h, 12);  // the aspect ratio kept
  EXPECT_EQ(half[0].size(), size_t(16 * 12 * 3));
}

TEST(VideoReader, TheCallbackStopsDecoding) {
  size_t seen = 0;
  const size_t n = decode_video(seed("ffv1_5frames.mkv"), Pixels::Gray8, [&](const FrameView&) { return ++seen < 2; });
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(seen, 2u);
}

TEST(VideoReader, BadFilesAndLimitsAreErrorsNamingTheFile) {
  const std::string missing = (fs::temp_directory_path() / "camgraph-no-such-video.mp4").string();
  EXPECT_NE(error_of([&] { probe_video(missing); }).find("'" + missing + "': cannot open"), std::string::npos);
  const std::string midstream = error_of([&] { count_video_frames(seed("size_change.h264")); });
  EXPECT_NE(midstream.find("size_change.h264"), std::string::npos) << midstream;
  EXPECT_NE(midstream.find("changes midstream"), std::string::npos) << midstream;
  VideoLimits three;
  three.max_frames = 3;
  const std::string many = error_of([&] { count_video_frames(seed("h264_5frames.mp4"), three); });
  EXPECT_NE(many.find("frame 3: the video has more frames"), std::string::npos) << many;
  VideoLimits small;
  small.max_frame_pixels = 100;
  EXPECT_NE(error_of([&] { count_video_frames(seed("h264_5frames.mp4"), small); }).find("invalid size 32x24"),
            std::string::npos);
  // A file FFmpeg opens that holds no video (SubViewer subtitles, found by the fuzzer: the reader leaked
  // the opened demuxer when it refused it; the sanitizer run checks leaks in this program).
  const std::string subtitles = error_of([&] { probe_video(seed("no_video_stream_script.txt")); });
  EXPECT_NE(subtitles.find("no_video_stream_script.txt': no video stream"), std::string::npos) << subtitles;
  EXPECT_THROW(count_video_frames(seed("no_video_stream_script.txt")), VideoError);
  // Not a video at all.
  const fs::path text = fs::temp_directory_path() / "camgraph-video-reader-not-a-video.mp4";
  std::ofstream(text) << "hello";
  EXPECT_NE(error_of([&] { count_video_frames(text.string()); }).find(text.string()), std::string::npos);
  fs::remove(text);
  // A truncated MP4 (its index cut off) is refused or decodes fewer frames, never more.
  size_t truncated = 0;
  const std::string cut = error_of([&] { truncated = count_video_frames(seed("h264_truncated_half.mp4")); });
  EXPECT_TRUE(!cut.empty() || truncated < 5u) << truncated;
}

TEST(VideoReader, JpegThumbnailsDecodeBackToTheFrame) {
  std::vector<uint8_t> rgb;
  int w = 0, h = 0;
  decode_video(seed("raw_5frames.y4m"), Pixels::Rgb24, [&](const FrameView& f) {
    rgb.assign(f.data, f.data + f.stride * f.height);
    w = f.width, h = f.height;
    return false;
  });
  FrameView view{w, h, 3, size_t(w) * 3, rgb.data(), 0};
  const std::string jpeg = encode_jpeg(view, 2);
  ASSERT_GT(jpeg.size(), 100u);
  EXPECT_EQ(uint8_t(jpeg[0]), 0xFF);
  EXPECT_EQ(uint8_t(jpeg[1]), 0xD8);  // SOI
  const fs::path file = fs::temp_directory_path() / "camgraph-video-reader-thumb.jpg";
  std::ofstream(file, std::ios::binary) << jpeg;
  const auto back = decode_all(file.string(), Pixels::Rgb24);
  fs::remove(file);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_LT(mean_abs_diff(back[0], rgb), 12.0);
  EXPECT_THROW(encode_jpeg(FrameView{}), VideoError);
}
