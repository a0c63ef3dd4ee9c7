// libFuzzer harness: our wrapper around FFmpeg's demuxers and decoders (formats/video: decode_video,
// through nodes/qc/label_truth.cpp's decode_gray, which reads a finished clip back to check its
// camera-motion label; the batch resume check and the dataset report use the same reader). FFmpeg
// itself is Debian's uninstrumented build; what is fuzzed is the wrapper: its size, format-change and
// total bounds, its scaler set-up, its frame copies and the freeing of what it opened. Documented
// outcome: grey frames of one positive size, or std::runtime_error (video::VideoError) naming the file.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

extern "C" {
#include <libavutil/log.h>
}

#include "camgraph/formats/video_reader.h"
#include "fuzz_support.h"
#include "qc/label_truth.h"
#include "reader_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (av_log_set_level(AV_LOG_QUIET), true);  // FFmpeg's complaints about each input
  (void)quiet;
  const camgraph::fuzz::InputFile file(data, size);
  if (!file.ok()) return 0;
  camgraph::fuzz::expect_documented<std::runtime_error>(file.path(), [&] {
    const std::vector<cv::Mat> frames = camgraph::qc::decode_gray(file.path());
    if (frames.empty()) std::abort();
    for (const cv::Mat& f : frames)
      if (f.type() != CV_8UC1 || f.size() != frames[0].size() || f.empty()) std::abort();
  });
  // The other entry points the dataset report and batch resume use: the header alone, and RGB frames
  // scaled to a thumbnail width (the scaler's output size and the frame times).
  namespace video = camgraph::video;
  camgraph::fuzz::expect_documented<std::runtime_error>(file.path(), [&] {
    const video::VideoStreamInfo info = video::probe_video(file.path());
    if (info.width < 0 || info.height < 0) std::abort();
  });
  camgraph::fuzz::expect_documented<std::runtime_error>(file.path(), [&] {
    size_t seen = 0;
    video::decode_video(
        file.path(), video::Pixels::Rgb24,
        [&](const video::FrameView& f) {
          if (f.width != 17 || f.height < 1 || f.channels != 3 || f.stride != size_t(17 * 3) || !f.data) std::abort();
          if (f.index != seen++) std::abort();
          return seen < 64;
        },
        {}, 17, 0);
  });
  return 0;
}
