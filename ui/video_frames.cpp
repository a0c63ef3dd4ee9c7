#include "video_frames.h"

#include <algorithm>

#ifdef CAMGRAPH_HAVE_FFMPEG
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}
#endif

namespace camgraph::ui {

bool VideoFrames::open(const QString& file, QString* error, qint64 maxBytes) {
  frames_.clear();
  truncated_ = false;
#ifndef CAMGRAPH_HAVE_FFMPEG
  (void)maxBytes;
  if (error) *error = QStringLiteral("this build has no FFmpeg (libav*): cannot decode %1").arg(file);
  return false;
#else
  auto failWith = [&](const QString& why) {
    if (error) *error = QStringLiteral("%1: %2").arg(file, why);
    frames_.clear();
    return false;
  };
  AVFormatContext* fmt = nullptr;
  if (avformat_open_input(&fmt, file.toUtf8().constData(), nullptr, nullptr) < 0)
    return failWith("cannot open the file");
  struct Resources {
    AVFormatContext* fmt;
    AVCodecContext* codec = nullptr;
    AVPacket* packet = nullptr;
    AVFrame* decoded = nullptr;
    SwsContext* scaler = nullptr;
    ~Resources() {
      sws_freeContext(scaler);
      av_frame_free(&decoded);
      av_packet_free(&packet);
      avcodec_free_context(&codec);
      avformat_close_input(&fmt);
    }
  } r{fmt};
  if (avformat_find_stream_info(r.fmt, nullptr) < 0) return failWith("no stream information");
  const int stream = av_find_best_stream(r.fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream < 0) return failWith("no video stream");
  const AVStream* st = r.fmt->streams[stream];
  const AVCodec* decoder = avcodec_find_decoder(st->codecpar->codec_id);
  if (!decoder) return failWith("no decoder for its codec in this FFmpeg");
  r.codec = avcodec_alloc_context3(decoder);
  if (!r.codec || avcodec_parameters_to_context(r.codec, st->codecpar) < 0 ||
      avcodec_open2(r.codec, decoder, nullptr) < 0)
    return failWith("cannot open the decoder");
  const AVRational rate = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
  fps_ = rate.den ? av_q2d(rate) : 0;
  r.packet = av_packet_alloc();
  r.decoded = av_frame_alloc();
  qint64 bytes = 0;
  auto receive = [&] {
    while (!truncated_ && avcodec_receive_frame(r.codec, r.decoded) == 0) {
      const int w = r.decoded->width, h = r.decoded->height;
      r.scaler = sws_getCachedContext(r.scaler, w, h, AVPixelFormat(r.decoded->format), w, h, AV_PIX_FMT_RGB24,
                                      SWS_BILINEAR, nullptr, nullptr, nullptr);
      QImage img(w, h, QImage::Format_RGB888);
      if (!r.scaler || img.isNull()) return;
      uint8_t* dst[1] = {img.bits()};
      const int stride[1] = {int(img.bytesPerLine())};
      sws_scale(r.scaler, r.decoded->data, r.decoded->linesize, 0, h, dst, stride);
      bytes += img.sizeInBytes();
      if (bytes > maxBytes) {
        truncated_ = true;
        return;
      }
      frames_.push_back(std::move(img));
    }
  };
  while (!truncated_ && av_read_frame(r.fmt, r.packet) >= 0) {
    if (r.packet->stream_index == stream && avcodec_send_packet(r.codec, r.packet) >= 0) receive();
    av_packet_unref(r.packet);
  }
  avcodec_send_packet(r.codec, nullptr);
  receive();
  if (frames_.empty()) return failWith("no frames could be decoded");
  return true;
#endif
}

}  // namespace camgraph::ui
