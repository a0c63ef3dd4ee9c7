// libav* reading and JPEG writing for camgraph/formats/video_reader.h.
#include "camgraph/formats/video_reader.h"

#include <algorithm>
#include <cmath>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

namespace camgraph::video {

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& why) { throw VideoError("'" + file + "': " + why); }

std::string av_error(int rc) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(rc, buf, sizeof buf);
  return buf;
}

// What a Decoder opened, freed by its own destructor: a member, so it is freed also when the
// Decoder's constructor throws (the Decoder's destructor would not run then).
struct DecoderHandles {
  AVFormatContext* fmt = nullptr;
  AVCodecContext* codec = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  SwsContext* scaler = nullptr;
  DecoderHandles() = default;
  DecoderHandles(const DecoderHandles&) = delete;
  DecoderHandles& operator=(const DecoderHandles&) = delete;
  ~DecoderHandles() {
    sws_freeContext(scaler);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    avformat_close_input(&fmt);
  }
};

// The demuxer and decoder of one file's best video stream.
struct Decoder : DecoderHandles {
  int stream = -1;

  Decoder(const std::string& file, bool open_codec) {
    if (const int rc = avformat_open_input(&fmt, file.c_str(), nullptr, nullptr); rc < 0)
      fail(file, "cannot open the file as a video (" + av_error(rc) + ")");
    if (const int rc = avformat_find_stream_info(fmt, nullptr); rc < 0)
      fail(file, "no stream information (" + av_error(rc) + "; a truncated or damaged file?)");
    stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (stream < 0) fail(file, "no video stream");
    const AVCodecID id = fmt->streams[stream]->codecpar->codec_id;
    const AVCodec* dec = avcodec_find_decoder(id);
    if (!dec) fail(file, std::string("no decoder for its codec (") + avcodec_get_name(id) + ") in this FFmpeg");
    if (!open_codec) return;
    codec = avcodec_alloc_context3(dec);
    if (!codec || avcodec_parameters_to_context(codec, fmt->streams[stream]->codecpar) < 0)
      fail(file, "cannot set up the decoder");
    if (avcodec_open2(codec, dec, nullptr) < 0) fail(file, "cannot open the decoder");
    packet = av_packet_alloc();
    frame = av_frame_alloc();
    if (!packet || !frame) fail(file, "out of memory for the decoder");
  }
};

std::pair<int, int> output_size(int w, int h, int out_w, int out_h) {
  if (out_w <= 0 && out_h <= 0) return {w, h};
  if (out_w <= 0) out_w = std::max(1, int(std::lround(double(w) * out_h / h)));
  if (out_h <= 0) out_h = std::max(1, int(std::lround(double(h) * out_w / w)));
  return {out_w, out_h};
}

}  // namespace

VideoStreamInfo probe_video(const std::string& file) {
  Decoder d(file, false);
  const AVStream* st = d.fmt->streams[d.stream];
  VideoStreamInfo info;
  info.width = st->codecpar->width;
  info.height = st->codecpar->height;
  const AVRational rate = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
  info.fps = rate.num && rate.den ? av_q2d(rate) : 0;
  info.declared_frames = std::max<int64_t>(0, st->nb_frames);
  if (st->duration != AV_NOPTS_VALUE && st->time_base.den)
    info.duration_s = double(st->duration) * av_q2d(st->time_base);
  else if (d.fmt->duration != AV_NOPTS_VALUE) info.duration_s = double(d.fmt->duration) / AV_TIME_BASE;
  if (const AVCodecDescriptor* desc = avcodec_descriptor_get(st->codecpar->codec_id)) info.codec = desc->name;
  return info;
}

size_t decode_video(const std::string& file, Pixels pixels, const std::function<bool(const FrameView&)>& on_frame,
                    const VideoLimits& limits, int out_width, int out_height) {
  Decoder d(file, true);
  const AVPixelFormat target = pixels == Pixels::Gray8 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
  const int channels = pixels == Pixels::Gray8 ? 1 : pixels == Pixels::Rgb24 ? 3 : 0;
  const AVStream* st = d.fmt->streams[d.stream];
  const AVRational rate = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
  const double fps = rate.num && rate.den ? av_q2d(rate) : 0;
  const int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  // Presentation time from the stream's start, else the frame's place at the nominal rate.
  auto frame_time = [&](const AVFrame& f, size_t index) {
    if (f.best_effort_timestamp != AV_NOPTS_VALUE && st->time_base.den)
      return double(f.best_effort_timestamp - start) * av_q2d(st->time_base);
    return fps > 0 ? double(index) / fps : 0.0;
  };
  std::vector<uint8_t> buffer;
  FrameView view;
  view.channels = channels;
  int width = 0, height = 0, format = -1;
  size_t count = 0, bytes = 0;
  bool stop = false;
  // Every frame goes through one scaler made for the first frame: a stream whose frames change size
  // or format midway is refused, as are sizes and totals past the limits.
  auto drain = [&] {
    while (!stop && avcodec_receive_frame(d.codec, d.frame) == 0) {
      const AVFrame* f = d.frame;
      const std::string at = "frame " + std::to_string(count) + ": ";
      if (count == 0) {
        width = f->width, height = f->height, format = f->format;
        if (width <= 0 || height <= 0 || int64_t(width) * height > limits.max_frame_pixels)
          fail(file, at + "invalid size " + std::to_string(width) + "x" + std::to_string(height));
        std::tie(view.width, view.height) = output_size(width, height, out_width, out_height);
        if (int64_t(view.width) * view.height > limits.max_frame_pixels)
          fail(file, at + "output size " + std::to_string(view.width) + "x" + std::to_string(view.height) +
                         " is over the limit");
        if (channels) {
          d.scaler = sws_getContext(width, height, AVPixelFormat(format), view.width, view.height, target, SWS_BILINEAR,
                                    nullptr, nullptr, nullptr);
          if (!d.scaler) fail(file, at + "cannot convert its pixel format");
          view.stride = size_t(view.width) * channels;
          buffer.resize(view.stride * view.height);
          view.data = buffer.data();
        }
      } else if (f->width != width || f->height != height || f->format != format) {
        fail(file, at + "size or pixel format changes midstream (" + std::to_string(f->width) + "x" +
                       std::to_string(f->height) + ", first frame " + std::to_string(width) + "x" +
                       std::to_string(height) + ")");
      }
      bytes += buffer.size();
      if (count >= limits.max_frames || bytes > limits.max_bytes)
        fail(file, at + "the video has more frames than this reader decodes (" + std::to_string(limits.max_frames) +
                       " frames or " + std::to_string(limits.max_bytes >> 20) + " MiB of pixels)");
      if (channels) {
        uint8_t* dst[1] = {buffer.data()};
        const int stride[1] = {int(view.stride)};
        sws_scale(d.scaler, f->data, f->linesize, 0, height, dst, stride);
      }
      view.index = count;
      view.time_s = frame_time(*f, count);
      ++count;
      if (!on_frame(view)) stop = true;
    }
  };
  while (!stop && av_read_frame(d.fmt, d.packet) >= 0) {
    if (d.packet->stream_index == d.stream && avcodec_send_packet(d.codec, d.packet) >= 0) drain();
    av_packet_unref(d.packet);
  }
  if (!stop) {
    avcodec_send_packet(d.codec, nullptr);
    drain();
  }
  if (count == 0) fail(file, "no frames could be decoded");
  return count;
}

size_t count_video_frames(const std::string& file, const VideoLimits& limits) {
  return decode_video(
      file, Pixels::None, [](const FrameView&) { return true; }, limits);
}

std::string encode_jpeg(const FrameView& rgb, int quality) {
  if (rgb.channels != 3 || !rgb.data || rgb.width <= 0 || rgb.height <= 0)
    throw VideoError("encode_jpeg: needs an RGB frame");
  const AVCodec* enc = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!enc) throw VideoError("encode_jpeg: this FFmpeg has no MJPEG encoder");
  struct Encoder {
    AVCodecContext* c = nullptr;
    AVFrame* f = nullptr;
    AVPacket* p = nullptr;
    SwsContext* s = nullptr;
    ~Encoder() {
      sws_freeContext(s);
      av_packet_free(&p);
      av_frame_free(&f);
      avcodec_free_context(&c);
    }
  } e;
  e.c = avcodec_alloc_context3(enc);
  e.f = av_frame_alloc();
  e.p = av_packet_alloc();
  if (!e.c || !e.f || !e.p) throw VideoError("encode_jpeg: out of memory");
  e.c->width = rgb.width;
  e.c->height = rgb.height;
  e.c->pix_fmt = AV_PIX_FMT_YUVJ420P;
  e.c->time_base = AVRational{1, 25};
  e.c->flags |= AV_CODEC_FLAG_QSCALE;
  e.c->global_quality = std::clamp(quality, 1, 31) * FF_QP2LAMBDA;
  if (avcodec_open2(e.c, enc, nullptr) < 0) throw VideoError("encode_jpeg: cannot open the MJPEG encoder");
  e.f->format = e.c->pix_fmt;
  e.f->width = rgb.width;
  e.f->height = rgb.height;
  e.f->quality = e.c->global_quality;
  if (av_frame_get_buffer(e.f, 0) < 0) throw VideoError("encode_jpeg: out of memory");
  // Full-range 4:2:0 (what YUVJ420P means) through swscale's plain YUV420P with a full-range output,
  // as swscale warns about the deprecated J formats.
  e.s = sws_getContext(rgb.width, rgb.height, AV_PIX_FMT_RGB24, rgb.width, rgb.height, AV_PIX_FMT_YUV420P, SWS_BILINEAR,
                       nullptr, nullptr, nullptr);
  if (!e.s) throw VideoError("encode_jpeg: cannot convert RGB to YUV");
  const int* bt601 = sws_getCoefficients(SWS_CS_ITU601);
  sws_setColorspaceDetails(e.s, bt601, 1, bt601, 1, 0, 1 << 16, 1 << 16);
  const uint8_t* src[1] = {rgb.data};
  const int stride[1] = {int(rgb.stride)};
  sws_scale(e.s, src, stride, 0, rgb.height, e.f->data, e.f->linesize);
  std::string out;
  if (avcodec_send_frame(e.c, e.f) < 0 || avcodec_send_frame(e.c, nullptr) < 0)
    throw VideoError("encode_jpeg: the encoder refused the frame");
  while (avcodec_receive_packet(e.c, e.p) == 0) {
    out.append(reinterpret_cast<const char*>(e.p->data), size_t(e.p->size));
    av_packet_unref(e.p);
  }
  if (out.empty()) throw VideoError("encode_jpeg: the encoder wrote nothing");
  return out;
}

}  // namespace camgraph::video
