// Decoded frames of an encoded video (encode.video's file) for the preview's frame player.
// Decoded through the shared libav reader (camgraph/formats/video_reader.h) in builds with FFmpeg;
// without it, open() says so.
#pragma once
#include <QImage>
#include <QString>
#include <vector>

namespace camgraph::ui {

class VideoFrames {
 public:
  // Decodes every frame (RGB) up to `maxBytes` of images; false with `error` set on failure.
  bool open(const QString& file, QString* error, qint64 maxBytes = 1024LL << 20);
  int count() const { return int(frames_.size()); }
  double fps() const { return fps_; }
  bool truncated() const { return truncated_; }
  QImage frame(int i) const { return frames_.empty() ? QImage() : frames_[size_t(std::clamp(i, 0, count() - 1))]; }

 private:
  std::vector<QImage> frames_;
  double fps_ = 0;
  bool truncated_ = false;
};

}  // namespace camgraph::ui
