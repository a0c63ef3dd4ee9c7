// Alpha refinement shared by the keying fallback and the model path: guided filter, trimaps,
// colour propagation, closed-form alpha from local foreground/background colours, and colour
// decontamination. Images are cv::Mat CV_32FC3 RGB in [0, 1]; alphas CV_32FC1 in [0, 1];
// trimaps CV_8UC1 with 0 = background, 128 = unknown, 255 = foreground.
#pragma once
#include <opencv2/core.hpp>

namespace camgraph::matting {

constexpr unsigned char kTrimapBg = 0, kTrimapUnknown = 128, kTrimapFg = 255;

// He et al.'s guided filter (ECCV 2010), with a colour guide (CV_32FC3) or a grey one (CV_32FC1);
// src CV_32FC1. Window (2r+1)^2, regulariser eps (in squared guide units).
cv::Mat guided_filter(const cv::Mat& guide, const cv::Mat& src, int r, double eps);

// Trimap from a soft alpha: foreground where alpha >= fg_threshold, background where
// alpha <= bg_threshold, both eroded by erode_size pixels (0: no erosion); the rest unknown.
cv::Mat trimap_from_alpha(const cv::Mat& alpha, double fg_threshold, double bg_threshold, int erode_size);

// Trimap from a hard mask (CV_8UC1, non-zero = foreground): an unknown band of `band` pixels on
// each side of the boundary.
cv::Mat trimap_from_mask(const cv::Mat& mask, int band);

// Fills every pixel with the colour of the nearest (in a multi-scale sense) pixels where
// weight > 0: push-pull over a Gaussian pyramid. weight CV_32FC1 in [0, 1].
cv::Mat propagate_colours(const cv::Mat& image, const cv::Mat& weight);

struct RefineOptions {
  double min_contrast = 0.08;  // |F - B| below this: keep the prior alpha (the colour line is ill-posed)
  int smooth_radius = 2;       // guided-filter smoothing of the estimated alpha (0: none)
  double smooth_eps = 1e-3;
};

// Alpha in the trimap's unknown region: local foreground colour F and background colour B are
// propagated from the known regions, and alpha is the projection of I - B onto F - B (the
// closed-form solution of I = alpha F + (1 - alpha) B for known F, B), then smoothed with the
// guided filter. `prior` (CV_32FC1) is used where F and B are too alike. Known regions keep 0 / 1.
// `background` (optional, CV_32FC3): a known background image (plain-background keying).
cv::Mat refine_alpha(const cv::Mat& image, const cv::Mat& trimap, const cv::Mat& prior, const RefineOptions& opt = {},
                     const cv::Mat& background = cv::Mat());

// Foreground colour with the background spill removed: F = (I - (1 - alpha) B) / alpha where
// alpha is large enough, blended towards the propagated foreground colour where alpha is small.
// `background` as in refine_alpha (empty: propagated from alpha == 0 pixels).
cv::Mat decontaminate(const cv::Mat& image, const cv::Mat& alpha, const cv::Mat& background = cv::Mat());

}  // namespace camgraph::matting
