// Colour grade and motion blur.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "grade.h"

namespace camgraph::grade {

namespace {

at::Tensor srgb_to_linear(const at::Tensor& v) {
  return at::where(v <= 0.04045, v / 12.92, at::pow((v + 0.055) / 1.055, 2.4));
}
at::Tensor linear_to_srgb(const at::Tensor& v) {
  const at::Tensor c = v.clamp_min(0);
  return at::where(c <= 0.0031308, c * 12.92, 1.055 * at::pow(c, 1.0 / 2.4) - 0.055);
}

}  // namespace

at::Tensor grade_frames(const at::Tensor& frames, const GradeParams& p, const CubeLut* lut) {
  at::Tensor rgb = frames.slice(-1, 0, 3).to(at::kCPU, at::kFloat).contiguous();
  if (p.temperature != 0 || p.tint != 0) {
    double g[3] = {1 + 0.25 * p.temperature, 1 - 0.25 * p.tint, 1 - 0.25 * p.temperature};
    const double y = 0.2126 * g[0] + 0.7152 * g[1] + 0.0722 * g[2];
    const at::Tensor gains = at::tensor({float(g[0] / y), float(g[1] / y), float(g[2] / y)});
    rgb = linear_to_srgb(srgb_to_linear(rgb) * gains);
  }
  if (p.brightness != 0) rgb = rgb + float(p.brightness);
  if (p.contrast != 1) rgb = (rgb - 0.5f) * float(p.contrast) + 0.5f;
  if (p.saturation != 1) {
    const at::Tensor y =
        (rgb.select(-1, 0) * 0.2126f + rgb.select(-1, 1) * 0.7152f + rgb.select(-1, 2) * 0.0722f).unsqueeze(-1);
    rgb = y + (rgb - y) * float(p.saturation);
  }
  rgb = rgb.clamp(0, 1).contiguous();
  if (lut && p.lut_strength > 0) {
    at::Tensor out = rgb.clone();
    float* data = out.data_ptr<float>();
    const int64_t pixels = out.numel() / 3;
    at::parallel_for(0, pixels, 4096, [&](int64_t a, int64_t b) { lut->apply(data + 3 * a, size_t(b - a)); });
    rgb = (out * float(p.lut_strength) + rgb * float(1 - p.lut_strength)).clamp(0, 1);
  }
  if (frames.size(-1) == 4) rgb = at::cat({rgb, frames.slice(-1, 3, 4).to(at::kCPU, at::kFloat)}, -1);
  return rgb.contiguous();
}

at::Tensor blur_from_subframes(const at::Tensor& frames, int subframes, double shutter_angle) {
  const int64_t n = frames.size(0) / subframes;
  const int open = std::max(1, int(std::lround(subframes * shutter_angle / 360.0)));
  const at::Tensor groups =
      frames.slice(0, 0, n * subframes).view({n, subframes, frames.size(1), frames.size(2), frames.size(3)});
  return groups.slice(1, 0, open).mean(1).contiguous();
}

at::Tensor blur_from_flow(const at::Tensor& frames, double shutter_angle, int samples) {
  const int64_t n = frames.size(0), h = frames.size(1), w = frames.size(2), ch = frames.size(3);
  const at::Tensor f = frames.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor luma = (f.select(-1, 0) * 0.2126f + f.select(-1, 1) * 0.7152f + f.select(-1, 2) * 0.0722f) * 255.0f;
  const at::Tensor gray8 = luma.round().clamp(0, 255).to(at::kByte).contiguous();
  at::Tensor out = at::empty_like(f);
  if (n < 2) return f.clone();
  const double span = shutter_angle / 360.0;
  for (int64_t t = 0; t < n; ++t) {
    // Motion per frame interval at t: forward flow to t+1 (the last frame: minus the backward flow).
    const int64_t a = t + 1 < n ? t : t, b = t + 1 < n ? t + 1 : t - 1;
    const cv::Mat ga(int(h), int(w), CV_8UC1, gray8[a].data_ptr<uint8_t>());
    const cv::Mat gb(int(h), int(w), CV_8UC1, gray8[b].data_ptr<uint8_t>());
    cv::Mat flow;
    cv::calcOpticalFlowFarneback(ga, gb, flow, 0.5, 4, 15, 3, 5, 1.2, 0);
    if (t + 1 >= n) flow = -flow;
    const cv::Mat img(int(h), int(w), CV_32FC(int(ch)), f[t].data_ptr<float>());
    cv::Mat acc = cv::Mat::zeros(int(h), int(w), CV_32FC(int(ch)));
    cv::Mat mx(int(h), int(w), CV_32FC1), my(int(h), int(w), CV_32FC1), tap;
    for (int s = 0; s < samples; ++s) {
      // Offsets spread evenly over [-span/2, span/2] of the interval; a pixel gathers the colours the
      // scene passes over it during the open shutter (p - s * flow).
      const double k = samples == 1 ? 0.0 : span * (double(s) / (samples - 1) - 0.5);
      for (int y = 0; y < h; ++y) {
        const cv::Vec2f* fl = flow.ptr<cv::Vec2f>(y);
        float* px = mx.ptr<float>(y);
        float* py = my.ptr<float>(y);
        for (int x = 0; x < w; ++x) {
          px[x] = float(x - k * fl[x][0]);
          py[x] = float(y - k * fl[x][1]);
        }
      }
      cv::remap(img, tap, mx, my, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
      acc += tap;
    }
    acc /= double(samples);
    std::memcpy(out[t].data_ptr<float>(), acc.ptr<float>(), size_t(h * w * ch) * sizeof(float));
  }
  return out;
}

}  // namespace camgraph::grade
