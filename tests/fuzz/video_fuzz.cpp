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
  return 0;
}
