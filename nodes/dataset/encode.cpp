// encode.video: libavformat/libavcodec/libswscale, written to a temporary file and committed.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "camgraph/node_context.h"
#include "dataset.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

namespace camgraph::dataset {

namespace fs = std::filesystem;

namespace {

std::string av_error(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

// Owns every libav object of one encode; frees them on any exit (ctx.fail throws).
struct Encoder {
  AVFormatContext* fmt = nullptr;
  AVCodecContext* codec = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  SwsContext* sws = nullptr;
  bool file_open = false;
  fs::path temp;
  bool committed = false;

  ~Encoder() {
    if (sws) sws_freeContext(sws);
    if (packet) av_packet_free(&packet);
    if (frame) av_frame_free(&frame);
    if (codec) avcodec_free_context(&codec);
    if (fmt) {
      if (file_open) avio_closep(&fmt->pb);
      avformat_free_context(fmt);
    }
    if (!committed && !temp.empty()) {
      std::error_code ec;
      fs::remove(temp, ec);
    }
  }
};

// Sends `f` (nullptr flushes) and writes every packet the encoder returns.
void encode_and_write(NodeContext& ctx, Encoder& e, AVStream* st, AVFrame* f) {
  int ret = avcodec_send_frame(e.codec, f);
  if (ret < 0) ctx.fail("codec", "encoding failed: " + av_error(ret));
  while (true) {
    ret = avcodec_receive_packet(e.codec, e.packet);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) ctx.fail("codec", "encoding failed: " + av_error(ret));
    av_packet_rescale_ts(e.packet, e.codec->time_base, st->time_base);
    e.packet->stream_index = st->index;
    ret = av_interleaved_write_frame(e.fmt, e.packet);
    if (ret < 0) ctx.fail("path", "writing failed: " + av_error(ret));
  }
}

// What the parameters and the frames ask for.
struct EncodeSettings {
  std::string codec_name, preset, even_mode, container;
  const char* encoder_name = nullptr;
  const AVCodec* enc = nullptr;
  AVPixelFormat pix_fmt = AV_PIX_FMT_YUV420P;
  double fps = 0;
  int crf = 0;
  bool overwrite = false;
  fs::path path;
  int in_w = 0, in_h = 0;  // the frames' size
  int w = 0, h = 0;        // the video's: even
};

EncodeSettings encode_settings(NodeContext& ctx, const FrameSequenceValue& seq) {
  EncodeSettings s;
  s.codec_name = ctx.param_string("codec");
  s.fps = ctx.param_float("fps") > 0 ? ctx.param_float("fps") : seq.fps;
  if (!(s.fps > 0)) ctx.fail("fps", "the sequence has no frame rate; set fps");
  s.crf = int(ctx.param_int("crf"));
  s.preset = ctx.param_string("preset");
  s.even_mode = ctx.param_string("even");
  s.overwrite = ctx.param_bool("overwrite");
  s.path = ctx.output_path("path");

  std::string ext = s.path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  if (ext == ".mp4") s.container = "mp4";
  else if (ext == ".mov") s.container = "mov";
  else if (ext == ".mkv") s.container = "matroska";
  else ctx.fail("path", "'" + s.path.filename().string() + "': use .mp4, .mov or .mkv");
  if (s.codec_name == "ffv1" && s.container != "matroska")
    ctx.fail("path", "ffv1 is written to Matroska: use a .mkv path");

  s.encoder_name = s.codec_name == "h264" ? "libx264" : s.codec_name == "h265" ? "libx265" : "ffv1";
  s.enc = avcodec_find_encoder_by_name(s.encoder_name);
  if (!s.enc) ctx.fail("codec", std::string("encoder ") + s.encoder_name + " is not available in this FFmpeg build");
  s.pix_fmt = s.codec_name == "ffv1" ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;

  // Even dimensions (4:2:0 needs them; applied to every codec so outputs are alike).
  s.in_h = int(seq.frames.size(1));
  s.in_w = int(seq.frames.size(2));
  s.w = s.in_w;
  s.h = s.in_h;
  if (s.even_mode == "pad") {
    s.w += s.w % 2;
    s.h += s.h % 2;
  } else {
    s.w -= s.w % 2;
    s.h -= s.h % 2;
  }
  if (s.w < 2 || s.h < 2) ctx.fail("even", "the frames are too small to encode");
  return s;
}

// Size, rate, BT.709 limited range and the codec's own options.
void configure_codec(AVCodecContext* codec, const AVFormatContext* fmt, const EncodeSettings& s, AVRational rate) {
  codec->width = s.w;
  codec->height = s.h;
  codec->pix_fmt = s.pix_fmt;
  codec->framerate = rate;
  codec->time_base = av_inv_q(rate);
  codec->color_primaries = AVCOL_PRI_BT709;
  codec->color_trc = AVCOL_TRC_BT709;
  codec->colorspace = AVCOL_SPC_BT709;
  codec->color_range = AVCOL_RANGE_MPEG;
  codec->sample_aspect_ratio = AVRational{1, 1};
  if (fmt->oformat->flags & AVFMT_GLOBALHEADER) codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  // Let the encoder pick its thread count (what the ffmpeg CLI does; libavcodec's default is 1).
  codec->thread_count = 0;
  if (s.codec_name == "h264" || s.codec_name == "h265") {
    av_opt_set(codec->priv_data, "preset", s.preset.c_str(), 0);
    av_opt_set(codec->priv_data, "crf", std::to_string(s.crf).c_str(), 0);
    if (s.codec_name == "h265") av_opt_set(codec->priv_data, "x265-params", "log-level=error", 0);
  } else {
    codec->gop_size = 1;
    av_opt_set_int(codec->priv_data, "level", 3, 0);
    av_opt_set_int(codec->priv_data, "slicecrc", 1, 0);
  }
}

// The container in e.temp with one video stream, its header written; returns the stream.
AVStream* open_output(NodeContext& ctx, Encoder& e, const EncodeSettings& s) {
  int ret = avformat_alloc_output_context2(&e.fmt, nullptr, s.container.c_str(), e.temp.string().c_str());
  if (ret < 0 || !e.fmt) ctx.fail("path", "cannot create a " + s.container + " file: " + av_error(ret));
  AVStream* st = avformat_new_stream(e.fmt, nullptr);
  e.codec = avcodec_alloc_context3(s.enc);
  if (!st || !e.codec) ctx.fail("codec", "out of memory");

  const AVRational rate = av_d2q(s.fps, 1000000);
  configure_codec(e.codec, e.fmt, s, rate);
  ret = avcodec_open2(e.codec, s.enc, nullptr);
  if (ret < 0) ctx.fail("codec", std::string("cannot open encoder ") + s.encoder_name + ": " + av_error(ret));
  ret = avcodec_parameters_from_context(st->codecpar, e.codec);
  if (ret < 0) ctx.fail("codec", "codec parameters: " + av_error(ret));
  st->time_base = e.codec->time_base;
  st->avg_frame_rate = rate;
  if (s.codec_name == "h265" && s.container != "matroska") st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');

  ret = avio_open(&e.fmt->pb, e.temp.string().c_str(), AVIO_FLAG_WRITE);
  if (ret < 0) ctx.fail("path", "cannot open " + e.temp.string() + ": " + av_error(ret));
  e.file_open = true;
  AVDictionary* opts = nullptr;
  if (s.container == "mp4" || s.container == "mov") av_dict_set(&opts, "movflags", "+faststart", 0);
  ret = avformat_write_header(e.fmt, &opts);
  av_dict_free(&opts);
  if (ret < 0) ctx.fail("path", "cannot write the header: " + av_error(ret));
  return st;
}

// The reused YUV frame, the packet and the RGB to YUV conversion.
void allocate_frame(NodeContext& ctx, Encoder& e, const EncodeSettings& s) {
  e.frame = av_frame_alloc();
  e.packet = av_packet_alloc();
  if (!e.frame || !e.packet) ctx.fail("codec", "out of memory");
  e.frame->format = s.pix_fmt;
  e.frame->width = s.w;
  e.frame->height = s.h;
  e.frame->color_primaries = AVCOL_PRI_BT709;
  e.frame->color_trc = AVCOL_TRC_BT709;
  e.frame->colorspace = AVCOL_SPC_BT709;
  e.frame->color_range = AVCOL_RANGE_MPEG;
  const int ret = av_frame_get_buffer(e.frame, 0);
  if (ret < 0) ctx.fail("codec", "frame buffer: " + av_error(ret));

  // Full-range RGB in, BT.709 limited-range YUV out.
  e.sws = sws_getContext(s.w, s.h, AV_PIX_FMT_RGB24, s.w, s.h, s.pix_fmt,
                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
  if (!e.sws) ctx.fail("codec", "no RGB to YUV conversion for this size");
  const int* coeffs = sws_getCoefficients(SWS_CS_ITU709);
  sws_setColorspaceDetails(e.sws, coeffs, 1, coeffs, 0, 0, 1 << 16, 1 << 16);
}

// 8-bit RGB, evened (pad repeats the last row/column, crop drops it), one frame at a time into one
// reused buffer: no copy of the whole sequence, no per-frame temporaries on the CPU path.
void encode_frames(NodeContext& ctx, Encoder& e, AVStream* st, const FrameSequenceValue& seq, const EncodeSettings& s) {
  const int n = seq.count(), w = s.w, h = s.h, in_w = s.in_w, in_h = s.in_h;
  std::vector<uint8_t> rgb8(size_t(3) * w * h);
  const int channels = int(seq.frames.size(3));
  for (int i = 0; i < n; ++i) {
    ctx.check_cancelled();
    at::Tensor img = seq.frames[i];
    if (!img.device().is_cpu() || img.scalar_type() != at::kFloat) img = img.to(at::kCPU, at::kFloat);
    img = img.contiguous();
    const float* src_px = img.data_ptr<float>();
    at::parallel_for(0, h, 16, [&](int64_t y0, int64_t y1) {
      for (int64_t y = y0; y < y1; ++y) {
        const float* row = src_px + std::min<int64_t>(y, in_h - 1) * in_w * channels;
        uint8_t* out = rgb8.data() + y * 3 * w;
        for (int x = 0; x < w; ++x) {
          const float* p = row + std::min(x, in_w - 1) * channels;
          for (int c = 0; c < 3; ++c) {
            const float v = p[c] > 0.0f ? (p[c] < 1.0f ? p[c] : 1.0f) : 0.0f;  // NaN -> 0
            out[3 * x + c] = uint8_t(v * 255.0f + 0.5f);
          }
        }
      }
    });
    const int ret = av_frame_make_writable(e.frame);
    if (ret < 0) ctx.fail("codec", "frame buffer: " + av_error(ret));
    const uint8_t* src[1] = {rgb8.data()};
    const int src_stride[1] = {3 * w};
    sws_scale(e.sws, src, src_stride, 0, h, e.frame->data, e.frame->linesize);
    e.frame->pts = i;
    encode_and_write(ctx, e, st, e.frame);
    ctx.progress(double(i + 1) / n);
  }
}

// Flushes the encoder, finishes the file and moves it into place.
void finish_file(NodeContext& ctx, Encoder& e, AVStream* st, const fs::path& path) {
  encode_and_write(ctx, e, st, nullptr);
  const int ret = av_write_trailer(e.fmt);
  if (ret < 0) ctx.fail("path", "cannot finish the file: " + av_error(ret));
  avio_closep(&e.fmt->pb);
  e.file_open = false;
  ctx.guard("path", [&] { ctx.files().commit(e.temp, path); });
  e.committed = true;
}

}  // namespace

void encode_video_execute(NodeContext& ctx) {
  auto seq = ctx.input<FrameSequenceValue>("frames");
  const int n = seq->count();
  if (n == 0) ctx.fail_port("frames", "the sequence has no frames");
  const EncodeSettings s = encode_settings(ctx, *seq);
  ctx.guard("path", [&] { ctx.files().check_writable(s.path, s.overwrite); });
  std::error_code ec;
  fs::create_directories(s.path.parent_path(), ec);

  // libav prints per-encode statistics at INFO; keep warnings and errors only.
  if (av_log_get_level() > AV_LOG_WARNING) av_log_set_level(AV_LOG_WARNING);
  Encoder e;
  e.temp = ctx.files().temp_path_for(s.path);
  AVStream* st = open_output(ctx, e, s);
  allocate_frame(ctx, e, s);
  encode_frames(ctx, e, st, *seq, s);
  finish_file(ctx, e, st, s.path);

  std::string even_done = "none";
  if (s.w != s.in_w || s.h != s.in_h) even_done = s.even_mode == "pad" ? "padded" : "cropped";
  if (seq->frames.size(3) == 4) ctx.warn("alpha channel dropped");
  ctx.set_record("video", {{"file", s.path.string()},
                           {"codec", s.codec_name},
                           {"encoder", s.encoder_name},
                           {"width", s.w},
                           {"height", s.h},
                           {"input_width", s.in_w},
                           {"input_height", s.in_h},
                           {"even", even_done},
                           {"fps", s.fps},
                           {"frames", n},
                           {"crf", s.codec_name == "ffv1" ? json(nullptr) : json(s.crf)},
                           {"pix_fmt", s.codec_name == "ffv1" ? "yuv444p" : "yuv420p"},
                           {"colour", "bt709 limited range"}});
}

}  // namespace camgraph::dataset
