// frames.load from a video file: the frame range, stride, target frame rate and scale a user asks
// for, read through the shared libav reader (camgraph/formats/video_reader.h).
#include <ATen/ATen.h>

#include <cmath>
#include <cstring>

#include "camgraph/node_context.h"
#include "video_load.h"

#ifdef CAMGRAPH_HAVE_VIDEO_FORMATS
#include "camgraph/formats/video_reader.h"
#endif

namespace camgraph::io {

namespace fs = std::filesystem;

namespace {
// The 8-bit frames kept, all together (the float sequence is four times this).
constexpr size_t kMaxKeptBytes = size_t(2) << 30;
}  // namespace

void load_video_frames(NodeContext& ctx, FrameSequenceValue& seq) {
  const fs::path file = ctx.input_path("video");
#ifndef CAMGRAPH_HAVE_VIDEO_FORMATS
  (void)seq;
  ctx.fail("video", "this build has no FFmpeg (libav*): cannot read '" + file.string() + "'");
#else
  const int64_t start = ctx.param_int("start_frame"), end = ctx.param_int("end_frame");
  const int64_t stride = ctx.param_int("stride"), max_frames = ctx.param_int("max_frames");
  const double target_fps = ctx.param_float("target_fps"), scale = ctx.param_float("scale");
  if (end > 0 && end <= start)
    ctx.fail("end_frame", "end_frame " + std::to_string(end) + " is not after start_frame " + std::to_string(start));
  const video::VideoStreamInfo info = ctx.guard("video", [&] { return video::probe_video(file.string()); });
  const double source_fps = info.fps > 0 ? info.fps : 0;
  const double picked_fps = source_fps > 0 ? source_fps / double(stride) : 0;
  if (target_fps > 0 && picked_fps > 0 && target_fps > picked_fps * (1 + 1e-6))
    ctx.fail("target_fps", "the clip gives " + std::to_string(picked_fps) + " fps at stride " + std::to_string(stride) +
                               "; a higher rate would repeat frames (use frames.interpolate)");
  if (target_fps > 0 && source_fps <= 0)
    ctx.fail("target_fps", "'" + file.string() + "' does not say its frame rate, so it cannot be resampled");
  int out_w = 0, out_h = 0;
  if (std::abs(scale - 1.0) > 1e-9) {
    out_w = std::max(1, int(std::lround(info.width * scale)));
    out_h = std::max(1, int(std::lround(info.height * scale)));
  }
  std::vector<at::Tensor> kept;
  seq.timestamps.clear();
  size_t kept_bytes = 0, decoded = 0;
  double next_time = -1;  // target_fps: the time the next kept frame should show
  const double half_period = source_fps > 0 ? 0.5 / source_fps : 0;
  ctx.guard("video", [&] {
    video::decode_video(
        file.string(), video::Pixels::Rgb24,
        [&](const video::FrameView& f) {
          ctx.check_cancelled();
          decoded = f.index + 1;
          const int64_t i = int64_t(f.index);
          if (end > 0 && i >= end) return false;
          if (i < start || (i - start) % stride != 0) return true;
          if (target_fps > 0) {
            if (next_time < 0) next_time = f.time_s;
            if (f.time_s + half_period < next_time) return true;  // before the next output time
            while (next_time <= f.time_s + half_period) next_time += 1.0 / target_fps;
          }
          kept_bytes += f.stride * size_t(f.height);
          if (kept_bytes > kMaxKeptBytes)
            ctx.fail("video", "'" + file.string() + "': more than " + std::to_string(kMaxKeptBytes >> 20) +
                                  " MiB of frames at frame " + std::to_string(i) +
                                  "; read fewer (max_frames, end_frame, stride, target_fps) or smaller (scale)");
          at::Tensor t = at::empty({f.height, f.width, 3}, at::kByte);
          for (int y = 0; y < f.height; ++y)
            std::memcpy(t.data_ptr<uint8_t>() + size_t(y) * f.width * 3, f.data + size_t(y) * f.stride,
                        size_t(f.width) * 3);
          kept.push_back(t);
          seq.timestamps.push_back(f.time_s);
          if (kept.size() % 16 == 0) ctx.progress(-1, std::to_string(kept.size()) + " frames");
          return !(max_frames > 0 && int64_t(kept.size()) >= max_frames);
        },
        {}, out_w, out_h);
  });
  if (kept.empty())
    ctx.fail("start_frame", "'" + file.string() + "' has " + std::to_string(decoded) +
                                " decodable frame(s); none is at or after start_frame " + std::to_string(start));
  if (info.declared_frames > 0 && end == 0 && max_frames == 0 && int64_t(decoded) < info.declared_frames)
    ctx.warn("'" + file.string() + "' decodes to " + std::to_string(decoded) + " frames but its container declares " +
             std::to_string(info.declared_frames) + " (a truncated or damaged file?)");
  seq.frames = at::stack(kept).to(at::kFloat).div_(255.0f).to(ctx.torch_device());  // [N, H, W, 3]
  seq.fps = target_fps > 0 ? target_fps : picked_fps > 0 ? picked_fps : ctx.param_float("fps");
#endif
}

}  // namespace camgraph::io
