#include "interp/flow_fallback.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace camgraph::interp {

namespace {

cv::Mat to_gray8(const cv::Mat& rgb) {
  cv::Mat g, g8;
  cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
  g.convertTo(g8, CV_8U, 255.0);
  return g8;
}

// |F_ab(x) + F_ba(x + F_ab(x))| for every pixel x of frame a.
cv::Mat consistency_error(const cv::Mat& f_ab, const cv::Mat& f_ba) {
  const cv::Mat back = warp_by_flow(f_ba, f_ab);
  cv::Mat err(f_ab.size(), CV_32FC1);
  for (int y = 0; y < f_ab.rows; ++y) {
    const auto* a = f_ab.ptr<cv::Vec2f>(y);
    const auto* b = back.ptr<cv::Vec2f>(y);
    auto* e = err.ptr<float>(y);
    for (int x = 0; x < f_ab.cols; ++x) {
      const float dx = a[x][0] + b[x][0], dy = a[x][1] + b[x][1];
      e[x] = std::sqrt(dx * dx + dy * dy);
    }
  }
  return err;
}

// |I_a(x) - I_b(x + F_ab(x))|, mean over channels, for every pixel x of frame a.
cv::Mat photometric_error(const cv::Mat& a, const cv::Mat& b, const cv::Mat& f_ab) {
  cv::Mat d;
  cv::absdiff(a, warp_by_flow(b, f_ab), d);
  cv::Mat err;
  cv::transform(d, err, cv::Matx13f(1.f / 3, 1.f / 3, 1.f / 3));
  return err;
}

}  // namespace

cv::Mat warp_by_flow(const cv::Mat& image, const cv::Mat& flow, bool cubic) {
  cv::Mat map(flow.size(), CV_32FC2);
  for (int y = 0; y < flow.rows; ++y) {
    const auto* f = flow.ptr<cv::Vec2f>(y);
    auto* m = map.ptr<cv::Vec2f>(y);
    for (int x = 0; x < flow.cols; ++x) m[x] = cv::Vec2f(x + f[x][0], y + f[x][1]);
  }
  cv::Mat out;
  cv::remap(image, out, map, cv::noArray(), cubic ? cv::INTER_CUBIC : cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

FlowPair compute_flow_pair(const cv::Mat& image0, const cv::Mat& image1, const FlowOptions& o) {
  if (image0.size() != image1.size() || image0.type() != CV_32FC3 || image1.type() != CV_32FC3)
    throw std::invalid_argument("compute_flow_pair: two CV_32FC3 images of one size expected");
  FlowPair p;
  p.image0 = image0;
  p.image1 = image1;
  const cv::Mat g0 = to_gray8(image0), g1 = to_gray8(image1);
  auto dis = cv::DISOpticalFlow::create(o.preset);
  if (o.finest_scale >= 0) dis->setFinestScale(o.finest_scale);
  if (o.patch_stride > 0) dis->setPatchStride(o.patch_stride);
  if (o.refinement_iterations >= 0) dis->setVariationalRefinementIterations(o.refinement_iterations);
  if (!o.variational_refinement) dis->setVariationalRefinementIterations(0);
  dis->calc(g0, g1, p.flow01);
  dis->calc(g1, g0, p.flow10);
  p.error0 = consistency_error(p.flow01, p.flow10);
  p.error1 = consistency_error(p.flow10, p.flow01);
  p.photo0 = photometric_error(image0, image1, p.flow01);
  p.photo1 = photometric_error(image1, image0, p.flow10);
  return p;
}

cv::Mat interpolate_blend(const cv::Mat& image0, const cv::Mat& image1, float t) {
  cv::Mat out;
  cv::addWeighted(image0, 1.0 - t, image1, t, 0.0, out);
  return out;
}

namespace {

// Forward splatting of flow `f` (frame a -> frame b) scaled by `s`: every pixel x of frame a lands
// on round(x + s f(x)); where several land, the one with the smallest forward-backward error wins.
// Returns the winning source flow per target pixel and its error (infinity where nothing landed).
void splat_flow(const cv::Mat& f, const cv::Mat& err, float s, cv::Mat& flow_out, cv::Mat& err_out) {
  flow_out = cv::Mat::zeros(f.size(), CV_32FC2);
  err_out = cv::Mat(f.size(), CV_32FC1, cv::Scalar(std::numeric_limits<float>::infinity()));
  for (int y = 0; y < f.rows; ++y) {
    const auto* fr = f.ptr<cv::Vec2f>(y);
    const auto* er = err.ptr<float>(y);
    for (int x = 0; x < f.cols; ++x) {
      const int tx = static_cast<int>(std::lround(x + s * fr[x][0]));
      const int ty = static_cast<int>(std::lround(y + s * fr[x][1]));
      if (tx < 0 || ty < 0 || tx >= f.cols || ty >= f.rows) continue;
      float& best = err_out.at<float>(ty, tx);
      if (er[x] < best) {
        best = er[x];
        flow_out.at<cv::Vec2f>(ty, tx) = fr[x];
      }
    }
  }
}

// Fills pixels where `valid` is 0 with the mean of valid neighbours in growing boxes
// (normalised box filtering); pixels still empty after the largest box keep valid = 0.
void fill_holes(cv::Mat& flow, cv::Mat& valid) {
  int k = 5;
  for (int iter = 0; iter < 7 && cv::countNonZero(valid) < static_cast<int>(valid.total()); ++iter, k = 2 * k + 1) {
    cv::Mat w, wf, sum, wsum;
    valid.convertTo(w, CV_32F);
    cv::Mat w2;
    cv::merge(std::vector<cv::Mat>{w, w}, w2);
    wf = flow.mul(w2);
    cv::blur(wf, sum, cv::Size(k, k));
    cv::blur(w, wsum, cv::Size(k, k));
    for (int y = 0; y < flow.rows; ++y) {
      auto* v = valid.ptr<uint8_t>(y);
      auto* fl = flow.ptr<cv::Vec2f>(y);
      const auto* sm = sum.ptr<cv::Vec2f>(y);
      const auto* ws = wsum.ptr<float>(y);
      for (int x = 0; x < flow.cols; ++x)
        if (!v[x] && ws[x] > 1e-6f) {
          fl[x] = sm[x] / ws[x];
          v[x] = 1;
        }
    }
  }
}

// Median filter of each flow component (medianBlur takes 1, 3 or 4 channels; size 3 or 5 on float).
void median_flow(cv::Mat& flow, int size) {
  std::vector<cv::Mat> c;
  cv::split(flow, c);
  for (auto& ch : c) cv::medianBlur(ch, ch, size);
  cv::merge(c, flow);
}

}  // namespace

cv::Mat interpolate_flow(const FlowPair& pair, float t, const FlowOptions& o) {
  if (t <= 0.f) return pair.image0.clone();
  if (t >= 1.f) return pair.image1.clone();
  FlowPair p = pair;
  if (o.input_median == 3 || o.input_median == 5) {
    p.flow01 = pair.flow01.clone();
    p.flow10 = pair.flow10.clone();
    median_flow(p.flow01, o.input_median);
    median_flow(p.flow10, o.input_median);
  }
  // Backward flows from time t. First guess per pixel: the linear combination of both flows
  // (Super SloMo); where a splatted flow landed it replaces the guess.
  cv::Mat ft0, ft1;
  cv::addWeighted(p.flow01, -(1.0 - t) * t, p.flow10, double(t) * t, 0.0, ft0);
  cv::addWeighted(p.flow01, (1.0 - t) * (1.0 - t), p.flow10, -double(t) * (1.0 - t), 0.0, ft1);
  if (o.splat) {
    cv::Mat s0, e0, s1, e1;
    splat_flow(p.flow01, p.error0, t, s0, e0);        // pixels of frame 0 moved to time t
    splat_flow(p.flow10, p.error1, 1.f - t, s1, e1);  // pixels of frame 1 moved back to time t
    cv::Mat a0(ft0.size(), CV_32FC2), a1(ft1.size(), CV_32FC2), valid(ft0.size(), CV_8U);
    for (int y = 0; y < ft0.rows; ++y)
      for (int x = 0; x < ft0.cols; ++x) {
        const float b0 = e0.at<float>(y, x), b1 = e1.at<float>(y, x);
        const bool v0 = std::isfinite(b0), v1 = std::isfinite(b1);
        valid.at<uint8_t>(y, x) = v0 || v1;
        if (v1 && (!v0 || b1 < b0)) {  // F_t0 = t F10(x1), F_t1 = -(1 - t) F10(x1)
          const cv::Vec2f f = s1.at<cv::Vec2f>(y, x);
          a0.at<cv::Vec2f>(y, x) = f * t;
          a1.at<cv::Vec2f>(y, x) = -f * (1.f - t);
        } else if (v0) {  // F_t0 = -t F01(x0), F_t1 = (1 - t) F01(x0)
          const cv::Vec2f f = s0.at<cv::Vec2f>(y, x);
          a0.at<cv::Vec2f>(y, x) = -f * t;
          a1.at<cv::Vec2f>(y, x) = f * (1.f - t);
        }
      }
    cv::Mat valid1 = valid.clone();
    fill_holes(a0, valid);
    fill_holes(a1, valid1);
    a0.copyTo(ft0, valid);
    a1.copyTo(ft1, valid1);
  }
  if (o.flow_median == 3 || o.flow_median == 5)
    for (int pass = 0; pass < o.flow_median_passes; ++pass) {
      median_flow(ft0, o.flow_median);
      median_flow(ft1, o.flow_median);
    }
  const cv::Mat w0 = warp_by_flow(p.image0, ft0, o.cubic_warp), w1 = warp_by_flow(p.image1, ft1, o.cubic_warp);
  cv::Mat e0 = warp_by_flow(p.error0, ft0), e1 = warp_by_flow(p.error1, ft1);
  const float inv_s2 = 1.f / (o.occlusion_sigma * o.occlusion_sigma);
  if (o.photometric_sigma > 0.f && !p.photo0.empty()) {
    // Both errors in one exponent: (e / sigma)^2 + (photo / photometric_sigma)^2.
    const float k = o.occlusion_sigma / o.photometric_sigma;
    const cv::Mat q0 = warp_by_flow(p.photo0, ft0), q1 = warp_by_flow(p.photo1, ft1);
    cv::Mat a, b;
    cv::magnitude(e0, q0 * k, a);
    cv::magnitude(e1, q1 * k, b);
    e0 = a;
    e1 = b;
  }
  cv::Mat out(w0.size(), CV_32FC3);
  for (int y = 0; y < out.rows; ++y) {
    const auto* a = w0.ptr<cv::Vec3f>(y);
    const auto* b = w1.ptr<cv::Vec3f>(y);
    const auto* ea = e0.ptr<float>(y);
    const auto* eb = e1.ptr<float>(y);
    auto* r = out.ptr<cv::Vec3f>(y);
    for (int x = 0; x < out.cols; ++x) {
      float wa = (1.f - t) * std::exp(-ea[x] * ea[x] * inv_s2);
      float wb = t * std::exp(-eb[x] * eb[x] * inv_s2);
      const float s = wa + wb;
      if (s < 1e-4f) wa = 1.f - t, wb = t;  // neither side is trusted: time-weighted average
      else wa /= s, wb /= s;
      r[x] = a[x] * wa + b[x] * wb;
    }
  }
  return out;
}

}  // namespace camgraph::interp
