#include "matting/refine.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace camgraph::matting {

namespace {

cv::Mat box(const cv::Mat& m, int r) {
  cv::Mat out;
  cv::boxFilter(m, out, CV_32F, cv::Size(2 * r + 1, 2 * r + 1), cv::Point(-1, -1), true, cv::BORDER_REFLECT);
  return out;
}

cv::Mat known_weight(const cv::Mat& trimap, unsigned char value) {
  cv::Mat w;
  cv::compare(trimap, value, w, cv::CMP_EQ);
  w.convertTo(w, CV_32F, 1.0 / 255);
  return w;
}

// Sure foreground and background (CV_8U masks), each eroded by `kernel` when given; the rest unknown.
cv::Mat make_trimap(cv::Mat fg, cv::Mat bg, const cv::Mat& kernel) {
  if (!kernel.empty()) {
    cv::erode(fg, fg, kernel);
    cv::erode(bg, bg, kernel);
  }
  cv::Mat t(fg.size(), CV_8U, cv::Scalar(kTrimapUnknown));
  t.setTo(kTrimapFg, fg);
  t.setTo(kTrimapBg, bg);
  return t;
}

}  // namespace

cv::Mat guided_filter(const cv::Mat& guide, const cv::Mat& src, int r, double eps) {
  CV_Assert(src.type() == CV_32FC1 && guide.size() == src.size());
  CV_Assert(guide.type() == CV_32FC1 || guide.type() == CV_32FC3);
  if (guide.channels() == 1) {
    const cv::Mat mI = box(guide, r), mp = box(src, r);
    const cv::Mat varI = box(guide.mul(guide), r) - mI.mul(mI);
    const cv::Mat covIp = box(guide.mul(src), r) - mI.mul(mp);
    const cv::Mat a = covIp / (varI + eps);
    const cv::Mat b = mp - a.mul(mI);
    return box(a, r).mul(guide) + box(b, r);
  }
  std::vector<cv::Mat> I(3);
  cv::split(guide, I);
  cv::Mat mI[3], mIp[3], c[3][3];
  const cv::Mat mp = box(src, r);
  for (int i = 0; i < 3; ++i) {
    mI[i] = box(I[i], r);
    mIp[i] = box(I[i].mul(src), r) - mI[i].mul(mp);  // cov(I_i, p)
  }
  for (int i = 0; i < 3; ++i)
    for (int j = i; j < 3; ++j) c[i][j] = box(I[i].mul(I[j]), r) - mI[i].mul(mI[j]);  // cov(I_i, I_j)
  cv::Mat a[3], b(src.size(), CV_32F);
  for (auto& m : a) m.create(src.size(), CV_32F);
  for (int y = 0; y < src.rows; ++y)
    for (int x = 0; x < src.cols; ++x) {
      // Sigma + eps I, inverted by cofactors (symmetric 3x3).
      const double s00 = c[0][0].at<float>(y, x) + eps, s01 = c[0][1].at<float>(y, x), s02 = c[0][2].at<float>(y, x);
      const double s11 = c[1][1].at<float>(y, x) + eps, s12 = c[1][2].at<float>(y, x),
                   s22 = c[2][2].at<float>(y, x) + eps;
      const double i00 = s11 * s22 - s12 * s12, i01 = s02 * s12 - s01 * s22, i02 = s01 * s12 - s02 * s11;
      const double i11 = s00 * s22 - s02 * s02, i12 = s01 * s02 - s00 * s12, i22 = s00 * s11 - s01 * s01;
      const double det = s00 * i00 + s01 * i01 + s02 * i02;
      const double v0 = mIp[0].at<float>(y, x), v1 = mIp[1].at<float>(y, x), v2 = mIp[2].at<float>(y, x);
      const double a0 = (i00 * v0 + i01 * v1 + i02 * v2) / det;
      const double a1 = (i01 * v0 + i11 * v1 + i12 * v2) / det;
      const double a2 = (i02 * v0 + i12 * v1 + i22 * v2) / det;
      a[0].at<float>(y, x) = float(a0);
      a[1].at<float>(y, x) = float(a1);
      a[2].at<float>(y, x) = float(a2);
      b.at<float>(y, x) = float(mp.at<float>(y, x) - a0 * mI[0].at<float>(y, x) - a1 * mI[1].at<float>(y, x) -
                                a2 * mI[2].at<float>(y, x));
    }
  cv::Mat q = box(b, r);
  for (int i = 0; i < 3; ++i) q += box(a[i], r).mul(I[i]);
  return q;
}

cv::Mat trimap_from_alpha(const cv::Mat& alpha, double fg_threshold, double bg_threshold, int erode_size) {
  CV_Assert(alpha.type() == CV_32FC1);
  return make_trimap(
      alpha >= fg_threshold, alpha <= bg_threshold,
      erode_size > 0 ? cv::getStructuringElement(cv::MORPH_RECT, cv::Size(erode_size, erode_size)) : cv::Mat());
}

cv::Mat trimap_from_mask(const cv::Mat& mask, int band) {
  CV_Assert(mask.type() == CV_8UC1);
  return make_trimap(
      mask != 0, mask == 0,
      band > 0 ? cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * band + 1, 2 * band + 1)) : cv::Mat());
}

cv::Mat propagate_colours(const cv::Mat& image, const cv::Mat& weight) {
  CV_Assert(image.type() == CV_32FC3 && weight.type() == CV_32FC1 && image.size() == weight.size());
  std::vector<cv::Mat> A{cv::Mat()}, W{weight};
  cv::Mat w3;
  cv::merge(std::vector<cv::Mat>{weight, weight, weight}, w3);
  A[0] = image.mul(w3);  // [H, W, 3] weighted colours
  while (std::min(A.back().rows, A.back().cols) > 2) {
    cv::Mat a, w;
    cv::pyrDown(A.back(), a);
    cv::pyrDown(W.back(), w);
    A.push_back(a);
    W.push_back(w);
  }
  // Above the coarsest level: the weighted mean colour of the whole image.
  const double wsum = cv::sum(weight)[0];
  const cv::Scalar total = cv::sum(A[0]);
  const cv::Vec3f mean = wsum > 0 ? cv::Vec3f(float(total[0] / wsum), float(total[1] / wsum), float(total[2] / wsum))
                                  : cv::Vec3f(0, 0, 0);
  cv::Mat C;  // filled colours at the current level
  for (int l = int(A.size()) - 1; l >= 0; --l) {
    cv::Mat up;
    if (!C.empty()) cv::pyrUp(C, up, A[size_t(l)].size());
    else up = cv::Mat(A[size_t(l)].size(), CV_32FC3, cv::Scalar(mean[0], mean[1], mean[2]));
    cv::Mat out(A[size_t(l)].size(), CV_32FC3);
    for (int y = 0; y < out.rows; ++y) {
      const auto* a = A[size_t(l)].ptr<cv::Vec3f>(y);
      const float* w = W[size_t(l)].ptr<float>(y);
      auto* o = out.ptr<cv::Vec3f>(y);
      const auto* u = up.ptr<cv::Vec3f>(y);
      for (int x = 0; x < out.cols; ++x) {
        const cv::Vec3f own = w[x] > 1e-6f ? a[x] / w[x] : cv::Vec3f(0, 0, 0);
        const float t = std::min(1.f, 4.f * w[x]);
        o[x] = own * t + u[x] * (1.f - t);
      }
    }
    C = out;
  }
  return C;
}

cv::Mat refine_alpha(const cv::Mat& image, const cv::Mat& trimap, const cv::Mat& prior, const RefineOptions& opt,
                     const cv::Mat& background) {
  CV_Assert(image.type() == CV_32FC3 && trimap.type() == CV_8UC1 && image.size() == trimap.size());
  cv::Mat alpha = prior.empty() ? cv::Mat(image.size(), CV_32F, cv::Scalar(0.5)) : prior.clone();
  const cv::Mat fgw = known_weight(trimap, kTrimapFg), bgw = known_weight(trimap, kTrimapBg);
  const cv::Mat unknown = trimap == kTrimapUnknown;
  if (cv::countNonZero(fgw) > 0 && (cv::countNonZero(bgw) > 0 || !background.empty())) {
    const cv::Mat F = propagate_colours(image, fgw);  // [H, W, 3]
    const cv::Mat B = background.empty() ? propagate_colours(image, bgw) : background;
    const double c2 = opt.min_contrast * opt.min_contrast;
    for (int y = 0; y < image.rows; ++y) {
      const auto* I = image.ptr<cv::Vec3f>(y);
      const auto* f = F.ptr<cv::Vec3f>(y);
      const auto* b = B.ptr<cv::Vec3f>(y);
      const auto* u = unknown.ptr<unsigned char>(y);
      float* a = alpha.ptr<float>(y);
      for (int x = 0; x < image.cols; ++x) {
        if (!u[x]) continue;
        const cv::Vec3f d = f[x] - b[x];
        const double n2 = d.dot(d);
        if (n2 >= c2) a[x] = float(std::clamp((I[x] - b[x]).dot(d) / n2, 0.0, 1.0));
      }
    }
    alpha.setTo(1.0, trimap == kTrimapFg);  // the known values take part in the smoothing
    alpha.setTo(0.0, trimap == kTrimapBg);
    if (opt.smooth_radius > 0) {
      const cv::Mat s = guided_filter(image, alpha, opt.smooth_radius, opt.smooth_eps);
      s.copyTo(alpha, unknown);
    }
  }
  alpha.setTo(1.0, trimap == kTrimapFg);
  alpha.setTo(0.0, trimap == kTrimapBg);
  cv::min(cv::max(alpha, 0.0), 1.0, alpha);
  return alpha;
}

cv::Mat decontaminate(const cv::Mat& image, const cv::Mat& alpha, const cv::Mat& background) {
  CV_Assert(image.type() == CV_32FC3 && alpha.type() == CV_32FC1 && image.size() == alpha.size());
  cv::Mat bgw, fgw;
  cv::Mat(alpha <= 1.0 / 255).convertTo(bgw, CV_32F, 1.0 / 255);
  cv::Mat(alpha >= 0.95).convertTo(fgw, CV_32F, 1.0 / 255);
  if (cv::countNonZero(fgw) == 0) cv::Mat(alpha >= 0.5).convertTo(fgw, CV_32F, 1.0 / 255);
  if (cv::countNonZero(fgw) == 0 || (background.empty() && cv::countNonZero(bgw) == 0)) return image.clone();
  const cv::Mat B = background.empty() ? propagate_colours(image, bgw) : background;
  const cv::Mat Fp = propagate_colours(image, fgw);  // [H, W, 3] nearby confident foreground colour
  cv::Mat out = image.clone();
  for (int y = 0; y < image.rows; ++y) {
    const auto* I = image.ptr<cv::Vec3f>(y);
    const auto* b = B.ptr<cv::Vec3f>(y);
    const auto* fp = Fp.ptr<cv::Vec3f>(y);
    const float* a = alpha.ptr<float>(y);
    auto* o = out.ptr<cv::Vec3f>(y);
    for (int x = 0; x < image.cols; ++x) {
      if (a[x] >= 0.99f) continue;
      cv::Vec3f f = (I[x] - b[x] * (1.f - a[x])) / std::max(a[x], 1e-3f);
      for (int c = 0; c < 3; ++c) f[c] = std::clamp(f[c], 0.f, 1.f);
      const float w = std::clamp((a[x] - 0.05f) / 0.25f, 0.f, 1.f);  // trust the unmixing above ~0.3
      o[x] = f * w + fp[x] * (1.f - w);
    }
  }
  return out;
}

}  // namespace camgraph::matting
