// Video files read back through FFmpeg's libav* (library camgraph_video_formats, built when the build
// finds libavformat / libavcodec / libswscale). One decoder for every part that reads a clip: the label
// check of dataset.qc (grey frames), the batch runner's resume check (frame counts) and
// `camgraph-cli dataset report` (counts and contact-sheet thumbnails).
//
// Bounds: a clip is read frame by frame and handed to the caller, so the reader itself holds one
// decoded frame; `VideoLimits` caps the frame size, the number of frames and the bytes handed out, which
// is what a caller that keeps every frame will hold. Every error is a VideoError whose message starts
// with the quoted file name and, past the header, the frame index.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace camgraph::video {

struct VideoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the container says about its best video stream (nothing decoded).
struct VideoStreamInfo {
  int width = 0;
  int height = 0;
  double fps = 0;               // average frame rate, else the stream's base rate; 0 when unknown
  int64_t declared_frames = 0;  // the container's frame count; 0 when it has none
  double duration_s = 0;        // 0 when unknown
  std::string codec;            // libavcodec's short name ("h264")
};

enum class Pixels { Gray8, Rgb24, None };  // None: decode only (counting)

struct VideoLimits {
  int64_t max_frame_pixels = int64_t(1) << 26;  // width x height of one decoded frame
  size_t max_frames = 20000;
  size_t max_bytes = size_t(2) << 30;  // converted bytes handed to the caller, all frames together
};

// One converted frame, valid during the callback: `channels` bytes per pixel, rows `stride` apart.
struct FrameView {
  int width = 0;
  int height = 0;
  int channels = 0;
  size_t stride = 0;
  const uint8_t* data = nullptr;
  size_t index = 0;   // decode order, 0-based
  double time_s = 0;  // presentation time from the stream's start; index / fps when the file has none
};

// Opens the file and reads the stream's header. Throws VideoError: cannot open, no video stream, no
// decoder for its codec in this FFmpeg.
VideoStreamInfo probe_video(const std::string& file);

// Decodes every frame of the best video stream in presentation order and hands each to `on_frame`,
// converted to `pixels` and scaled to out_width x out_height (0 = the frame's own size; one of them 0
// keeps the aspect ratio); `on_frame` returns false to stop early. With Pixels::None nothing is
// converted and `data` is null. Returns the frames decoded. Throws VideoError for the problems of
// probe_video, a frame size that is invalid or over the limits, a stream whose frames change size or
// pixel format midway, more frames or bytes than `limits` allow, and a clip with no decodable frame.
size_t decode_video(const std::string& file, Pixels pixels, const std::function<bool(const FrameView&)>& on_frame,
                    const VideoLimits& limits = {}, int out_width = 0, int out_height = 0);

// The number of frames that decode (decode_video without conversion).
size_t count_video_frames(const std::string& file, const VideoLimits& limits = {});

// A baseline JPEG of one RGB frame (libavcodec's MJPEG encoder, quality 1 best .. 31 worst).
std::string encode_jpeg(const FrameView& rgb, int quality = 4);

}  // namespace camgraph::video
