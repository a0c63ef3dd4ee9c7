#include "video_frames.h"

#include <algorithm>
#include <cstring>

#ifdef CAMGRAPH_HAVE_VIDEO_FORMATS
#include "camgraph/formats/video_reader.h"
#endif

namespace camgraph::ui {

bool VideoFrames::open(const QString& file, QString* error, qint64 maxBytes) {
  frames_.clear();
  truncated_ = false;
#ifndef CAMGRAPH_HAVE_VIDEO_FORMATS
  (void)maxBytes;
  if (error) *error = QStringLiteral("this build has no FFmpeg (libav*): cannot decode %1").arg(file);
  return false;
#else
  // The shared reader (camgraph/formats/video_reader.h): its messages name the file and the problem.
  try {
    const std::string path = file.toStdString();
    fps_ = video::probe_video(path).fps;
    qint64 bytes = 0;
    video::decode_video(path, video::Pixels::Rgb24, [&](const video::FrameView& f) {
      QImage img(f.width, f.height, QImage::Format_RGB888);
      if (img.isNull()) return false;
      bytes += img.sizeInBytes();
      if (bytes > maxBytes) {
        truncated_ = true;
        return false;
      }
      for (int y = 0; y < f.height; ++y)
        std::memcpy(img.scanLine(y), f.data + size_t(y) * f.stride, size_t(f.width) * 3);
      frames_.push_back(std::move(img));
      return true;
    });
  } catch (const video::VideoError& e) {
    if (error) *error = QString::fromStdString(e.what());
    frames_.clear();
    return false;
  }
  if (frames_.empty()) {
    if (error) *error = QStringLiteral("%1: the first frame does not fit in %2 bytes").arg(file).arg(maxBytes);
    return false;
  }
  return true;
#endif
}

}  // namespace camgraph::ui
